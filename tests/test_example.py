"""`worktrail example DIR`: the sample workspace with a replayed, multi-author, rule-abiding Git history."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.git_env import isolate_git
from worktrail.cli import main
from worktrail.example import ExampleError, _rewrite_schema_line, build_example, sample_dir
from worktrail.load import load_workspace


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull})
    return env


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, env=clean_env(), capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch, tmp_path_factory):
    isolate_git(monkeypatch, tmp_path_factory)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    root: Path = tmp_path_factory.mktemp("example") / "demo"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        patch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
        result = CliRunner().invoke(main, ["example", str(root)])
    assert result.exit_code == 0, result.output
    return root, result.output


def commits(root: Path) -> list[tuple[str, str, str, str, dt.datetime, str]]:
    """(id, author email, committer email, author name, author date, subject), oldest first."""
    out = git(root, "log", "--reverse", "--format=%H%x00%ae%x00%ce%x00%an%x00%aI%x00%s")
    rows = []
    for line in out.splitlines():
        oid, author, committer, name, date, subject = line.split("\0")
        rows.append((oid, author, committer, name, dt.datetime.fromisoformat(date), subject))
    return rows


def tree_differences(sample: Path, root: Path) -> list[str]:
    """Files that differ between the sample and the example, beyond the documented difference:
    schema lines point at the example's own .schemas/ folder."""
    ours = {p.relative_to(sample).as_posix() for p in sample.rglob("*") if p.is_file()}
    theirs = {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] not in (".git", ".schemas")
    }
    diffs = [f"only in the sample: {rel}" for rel in sorted(ours - theirs)]
    diffs += [f"only in the example: {rel}" for rel in sorted(theirs - ours)]
    for rel in sorted(ours & theirs):
        expected = (sample / rel).read_bytes()
        if rel.endswith((".yaml", ".md")):
            expected = _rewrite_schema_line(expected.decode("utf-8"), rel).encode("utf-8")
        if (root / rel).read_bytes() != expected:
            diffs.append(f"differs: {rel}")
    return diffs


def test_example_creates_a_repository_with_many_commits_by_several_authors(demo):
    root, output = demo
    history = commits(root)
    assert len(history) > 100
    authors = {author for _, author, *_ in history}
    assert len(authors) >= 6
    assert f"{len(history)} commits by {len(authors)} people" in output


def test_the_example_validates_clean(demo):
    root, _ = demo
    result = CliRunner().invoke(main, ["-C", str(root), "validate", "--strict"])
    assert result.exit_code == 0, result.output


def test_the_first_commit_is_the_owner_adding_settings_people_teams_and_projects(demo):
    root, _ = demo
    first = commits(root)[0]
    assert first[1] == "marie@example.com"
    files = git(root, "show", "--name-only", "--format=", first[0]).split()
    assert "worktrail.yaml" in files
    assert any(f.startswith("people/") for f in files) and any(f.startswith("teams/") for f in files)
    assert "projects/acme-website/project.yaml" in files
    assert not any("/tasks/" in f or "/changes/" in f or "/time/" in f for f in files)
    start = git(root, "show", f"{first[0]}:projects/acme-website/project.yaml")
    assert "signed-off" not in start


def test_every_commit_is_by_a_known_person_who_is_also_the_committer(demo):
    root, _ = demo
    workspace = load_workspace(root).workspace
    assert workspace is not None
    emails = {e.casefold() for p in workspace.people.values() for e in p.emails}
    for oid, author, committer, *_ in commits(root):
        assert author.casefold() in emails, oid
        assert committer == author, oid


def test_author_dates_run_forward_through_january_to_march_2026(demo):
    root, _ = demo
    dates = [row[4] for row in commits(root)]
    assert dates == sorted(dates)
    assert dates[0].date() >= dt.date(2026, 1, 1)
    assert dates[-1].date() <= dt.date(2026, 3, 31)


def test_the_history_tells_the_story_of_the_sample(demo):
    root, _ = demo
    subjects = {(row[3], row[5]) for row in commits(root)}
    assert ("Karen Walsh", "cr: approve CR-2 in acme-website") in subjects
    assert ("Karen Walsh", "cr: reject CR-3 in acme-website") in subjects
    assert ("Nina Petrova", "cr: withdraw CR-4 in acme-website") in subjects
    assert ("Karen Walsh", "milestone: sign off discovery in acme-website") in subjects
    assert ("Tom Becker", "feedback: respond to discovery-sign-off in acme-website") in subjects
    assert any(name == "Raj Mehta" and s.startswith("time: log") for name, s in subjects)
    assert any(name == "Tom Becker" and s.startswith("task: APP-") and " due " in s for name, s in subjects)
    assert ("Nina Petrova", "comment: add c3 on WEB-3") in subjects


def test_the_final_tree_equals_the_sample_but_for_its_schema_lines(demo):
    root, _ = demo
    assert tree_differences(sample_dir(), root) == []
    line = (root / "projects/acme-website/tasks/WEB-3/comments/c3.md").read_text().splitlines()[1]
    assert line == "# yaml-language-server: $schema=../../../../../.schemas/comment.schema.json"
    assert (root / ".schemas/comment.schema.json").is_file()


def test_the_example_history_passes_the_audit(demo):
    root, _ = demo
    result = CliRunner().invoke(main, ["-C", str(root), "audit"])
    assert result.exit_code == 0, result.output


def test_example_refuses_a_folder_that_is_not_empty(tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine\n")
    result = CliRunner().invoke(main, ["example", str(target)])
    assert result.exit_code == 1
    assert "is not an empty folder" in result.output
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_sample_dir_is_the_sample_workspace():
    assert (sample_dir() / "worktrail.yaml").is_file()
    assert (sample_dir() / "projects" / "acme-website" / "project.yaml").is_file()


def small_sample(tmp_path: Path) -> Path:
    sample = tmp_path / "sample"
    shutil.copytree(sample_dir(), sample)
    # Fewer records, fewer commits: the rest of the sample is enough to follow.
    shutil.rmtree(sample / "projects" / "acme-app")
    shutil.rmtree(sample / "projects" / "acme-website" / "time")
    (sample / "projects" / "acme-website" / "expenses.yaml").unlink()
    return sample


def test_the_replay_follows_the_sample_when_the_sample_changes(tmp_path):
    sample = small_sample(tmp_path)
    (sample / "projects/acme-website/tasks/WEB-12/comments/c2.md").write_text(
        "---\n# yaml-language-server: $schema=../../../../../../schemas/comment.schema.json\n"
        "author: leo\ndate: 2026-02-07T10:00:00Z\n---\n\nA comment added to the sample.\n"
    )
    result = build_example(tmp_path / "demo", sample)
    assert tree_differences(sample, tmp_path / "demo") == []
    assert result.authors["leo"] > 0
    assert git(
        tmp_path / "demo", "log", "-1", "--format=%an", "--", "projects/acme-website/tasks/WEB-12/comments/c2.md"
    )


def test_a_sample_step_the_rules_refuse_stops_the_example_and_leaves_nothing(tmp_path):
    sample = small_sample(tmp_path)
    # A reader is never allowed to comment, so this history cannot be replayed.
    (sample / "projects/acme-website/tasks/WEB-1/comments/c3.md").write_text(
        "---\nauthor: david\ndate: 2026-01-05T10:00:00Z\n---\n\nA reader's comment.\n"
    )
    with pytest.raises(ExampleError, match=r"comment WEB-1/c3 as david .*david is a reader"):
        build_example(tmp_path / "demo", sample)
    assert not (tmp_path / "demo").exists()
