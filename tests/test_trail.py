"""The site trail (SPEC §3 "Trail"): history events shown only about what the audience sees, now and
before and after each event; raw commit messages only for viewers who see everything."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tests.audit_repo import base_repo, task_md
from worktrail.cli import main
from worktrail.load import load_workspace
from worktrail.policy import Policy
from worktrail.redact import default_audiences, redact
from worktrail.trail import read_candidates, trails_from


def build(ws: Path, out: Path, *extra: str) -> str:
    result = CliRunner().invoke(
        main, ["-C", str(ws), "build", "--out", str(out), *extra], env={"SOURCE_DATE_EPOCH": "1775000000"}
    )
    assert result.exit_code == 0, result.output
    return result.output


def site_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.rglob("*")) if p.is_file())


def test_an_old_title_from_when_a_task_was_hidden_never_reaches_a_site_that_did_not_see_it(tmp_path):
    repo, _ = base_repo(tmp_path / "repo")
    repo.write("projects/web/tasks/WEB-4.md", task_md("Quietly replace Vendor Zorblax", hidden=True, created_by="olga"))
    repo.commit("olga", "task: WEB-4 about Zorblax")
    repo.write("projects/web/tasks/WEB-4.md", task_md("Replace the search vendor", hidden=True, created_by="olga"))
    repo.commit("olga", "task: WEB-4 retitled")
    repo.write("projects/web/tasks/WEB-4.md", task_md("Replace the search vendor", created_by="olga"))
    repo.commit("olga", "task: WEB-4 shown to everyone")
    build(repo.root, tmp_path / "site")
    client = site_text(tmp_path / "site" / "acme")
    internal = site_text(tmp_path / "site" / "internal")
    assert "Replace the search vendor" in client
    assert "Zorblax" not in client
    assert "Zorblax" in internal, "managers saw the task all along, so they see its old title in its history"


def test_raw_commit_messages_reach_only_the_sites_of_viewers_who_see_everything(tmp_path):
    repo, _ = base_repo(tmp_path / "repo")
    text = (repo.root / "projects/web/tasks/WEB-1.md").read_text(encoding="utf-8")
    repo.write("projects/web/tasks/WEB-1.md", text.replace("status: open", "status: in-progress"))
    repo.commit("gus", "Started WEB-1 (the hush-hush codename is Bluebird)")
    build(repo.root, tmp_path / "site")
    assert "Bluebird" in site_text(tmp_path / "site" / "internal")
    for audience in ("acme", "gus", "gina"):
        assert "Bluebird" not in site_text(tmp_path / "site" / audience)
    assert "WEB-1: status open → in-progress" in site_text(tmp_path / "site" / "acme")


def test_the_trail_gives_raw_commit_messages_only_to_audiences_that_see_everything(example: Path) -> None:
    result = load_workspace(example)
    ws = result.workspace
    assert ws is not None
    audiences = default_audiences(ws)
    trails = trails_from(read_candidates(example, audiences, parallel=False), ws, audiences)
    policy = Policy(ws)
    for audience in audiences:
        events = trails.for_audience(audience.name)
        assert events, audience.name
        if redact(ws, audience, policy).sees_everything:
            assert all(event.message for event in events), audience.name
        else:
            assert all(event.message is None for event in events), audience.name
    assert any(redact(ws, audience, policy).sees_everything for audience in audiences)
    assert not all(redact(ws, audience, policy).sees_everything for audience in audiences)


def test_a_guest_sees_no_event_about_a_task_they_do_not_see(tmp_path):
    repo, _ = base_repo(tmp_path / "repo")
    text = (repo.root / "projects/web/tasks/WEB-2.md").read_text(encoding="utf-8")
    repo.write("projects/web/tasks/WEB-2.md", text.replace("status: open", "status: review"))
    repo.commit("gina", "WEB-2 ready for review")
    build(repo.root, tmp_path / "site")
    gus = (tmp_path / "site" / "gus" / "trail.html").read_text(encoding="utf-8")
    gina = (tmp_path / "site" / "gina" / "trail.html").read_text(encoding="utf-8")
    assert "WEB-2: status open → review" in gina
    assert "WEB-2" not in gus


def test_build_without_git_still_builds_and_says_there_is_no_trail(tmp_path):
    from shutil import copytree

    ws = tmp_path / "ws"
    copytree(Path(__file__).parent / "cases" / "base", ws)
    output = build(ws, tmp_path / "site")
    assert "the sites have no trail" in output
    assert (tmp_path / "site" / "internal" / "trail.html").is_file()


def test_no_trail_option_skips_the_history(tmp_path):
    repo, _ = base_repo(tmp_path / "repo")
    build(repo.root, tmp_path / "site", "--no-trail")
    assert "Start the workspace" not in site_text(tmp_path / "site" / "internal")


def test_the_project_page_shows_the_projects_own_history(tmp_path):
    from tests.audit_repo import project_yaml

    repo, _ = base_repo(tmp_path / "repo")
    repo.write("projects/web/project.yaml", project_yaml("signed-off", "carl"))
    repo.commit("carl", "Sign off beta")
    build(repo.root, tmp_path / "site")
    page = (tmp_path / "site" / "acme" / "projects" / "web" / "index.html").read_text(encoding="utf-8")
    assert "milestone beta signed off" in page
