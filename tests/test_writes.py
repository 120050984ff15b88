"""Role-checked write commands (SPEC §4): allowed for the roles the table allows, refused for the others.

Every case runs the real CLI on a small workspace in a fresh Git repository. A refused write exits 1,
names the rule, leaves every file byte-identical and makes no commit; an allowed one makes exactly
one commit, authored by the acting person, holding only the files it wrote.

People: managers olga (owner) and adam (admin) and user ulla of the internal team `studio`; user carl
and reader rita of the client team `acme`; guests gus and gina of the freelancer team `crew`.
Project web (key WEB): members studio, acme, gus, gina; client acme; default approvers olga, adam,
carl. WEB-1 is assigned to gus, WEB-2 to ulla, WEB-3 to gina. CR-1 is proposed by gus, CR-2 approved
by carl. Feedback f1 is by carl. Milestones m1 and m2 are open.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.git_env import isolate_git
from worktrail.cli import main
from worktrail.yamlio import parse_front_matter

ACTORS = ["olga", "adam", "ulla", "carl", "rita", "gus", "gina"]

EMAILS = {
    "olga": "olga@studio.test",
    "adam": "adam@studio.test",
    "ulla": "ulla@studio.test",
    "carl": "carl@acme.test",
    "rita": "rita@acme.test",
    "gus": "gus@crew.test",
    "gina": "gina@crew.test",
}
PEOPLE = {
    "olga": ("Olga Owner", "studio", "owner"),
    "adam": ("Adam Admin", "studio", "admin"),
    "ulla": ("Ulla User", "studio", "user"),
    "carl": ("Carl Client", "acme", "user"),
    "rita": ("Rita Reader", "acme", "reader"),
    "gus": ("Gus Guest", "crew", "guest"),
    "gina": ("Gina Guest", "crew", "guest"),
}

FILES = {
    "worktrail.yaml": "name: Test studio\ntimezone: Europe/Paris\nplan:\n  paid_seats: 10\n",
    "teams/studio.yaml": "name: Studio\nkind: internal\n",
    "teams/acme.yaml": "name: Acme\nkind: client\n",
    "teams/crew.yaml": "name: Crew\nkind: freelancer\n",
    "projects/web/project.yaml": (
        "name: Website\nkey: WEB\nstatus: active\nmembers: [studio, acme, gus, gina]\nclient: acme\n"
        "milestones:\n  - id: m1\n    title: First\n    status: open\n  - id: m2\n    title: Second\n"
    ),
    "projects/web/tasks/WEB-1.md": "---\ntitle: Write copy\nstatus: open\nassignee: gus\ncreated_by: adam\n---\n\nCopy.\n",
    "projects/web/tasks/WEB-2.md": (
        "---\ntitle: Build pages\nstatus: open\nassignee: ulla\ncreated_by: adam\n---\n\n"
        "Body with  two spaces,\n\n\ntrailing blank lines kept.\n\n"
    ),
    "projects/web/tasks/WEB-3.md": "---\ntitle: Photos\nstatus: open\nassignee: gina\ncreated_by: adam\n---\n",
    "projects/web/tasks/WEB-1/comments/c1.md": "---\nauthor: gus\ndate: 2026-02-01T10:00:00Z\n---\n\nStarted.\n",
    "projects/web/changes/CR-1.md": (
        "---\ntitle: Add a blog\nrequested_by: gus\nrequested_on: 2026-02-01\nstatus: proposed\n---\n\nPlease.\n"
    ),
    "projects/web/changes/CR-2.md": (
        "---\ntitle: Add a shop\nrequested_by: carl\nrequested_on: 2026-02-01\nstatus: approved\n"
        "decision:\n  by: carl\n  on: 2026-02-02\n---\n\nShop.\n"
    ),
    "projects/web/feedback/f1.md": "---\nauthor: carl\ndate: 2026-02-03\nrating: 4\n---\n\nGood.\n",
    "projects/web/time/2026-02.yaml": (
        "# hours of February\n- date: 2026-02-02\n  person: gus\n  task: WEB-1\n  hours: 2\n"
    ),
}
for _pid, (_name, _team, _role) in PEOPLE.items():
    FILES[f"people/{_pid}.yaml"] = f"name: {_name}\nteam: {_team}\nrole: {_role}\nemails: [{EMAILS[_pid]}]\n"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, **extra})
    return env


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, env=clean_env(), capture_output=True, text=True, check=True)
    return done.stdout


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch, tmp_path_factory):
    """No user or system Git configuration, and no GIT_* variables, reach the commands under test."""
    isolate_git(monkeypatch, tmp_path_factory)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root: Path = tmp_path_factory.mktemp("template") / "ws"
    write_files(root, FILES)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "--all")
    env = clean_env(
        GIT_AUTHOR_NAME="Olga Owner",
        GIT_AUTHOR_EMAIL=EMAILS["olga"],
        GIT_COMMITTER_NAME="Olga Owner",
        GIT_COMMITTER_EMAIL=EMAILS["olga"],
    )
    subprocess.run(["git", "commit", "--quiet", "-m", "start"], cwd=root, env=env, check=True)
    return root


@pytest.fixture
def ws(template, tmp_path) -> Path:
    root: Path = tmp_path / "ws"
    shutil.copytree(template, root, symlinks=True)
    return root


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder (None) of the workspace, outside .git."""
    out: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        out[rel] = path.read_bytes() if path.is_file() else None
    return out


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def run(root: Path, *args: str):
    return CliRunner().invoke(main, ["-C", str(root), *args])


# ------------------------------------------------------------------------------------ the table

COMMANDS: list[tuple[str, list[str], str]] = [
    ("task new", ["task", "new", "web", "--title", "New page"], "YY YY N NN"),
    ("task set title of WEB-2", ["task", "set", "WEB-2", "title=Build all pages"], "YY YY N NN"),
    ("task set title of gus's WEB-1", ["task", "set", "WEB-1", "title=Write all copy"], "YY YY N NN"),
    ("task set status of gus's WEB-1", ["task", "set", "WEB-1", "status=in-progress"], "YY YY N YN"),
    ("task set status of gina's WEB-3", ["task", "set", "WEB-3", "status=review"], "YY YY N NY"),
    ("task set status of ulla's WEB-2", ["task", "set", "WEB-2", "status=done"], "YY YY N NN"),
    ("task assign WEB-2", ["task", "assign", "WEB-2", "carl"], "YY YY N NN"),
    ("comment add on WEB-1", ["comment", "add", "WEB-1", "--text", "Looks good."], "YY YY N YN"),
    ("comment add hidden on WEB-3", ["comment", "add", "WEB-3", "--text", "Psst.", "--hidden"], "YY YY N NY"),
    ("cr new", ["cr", "new", "web", "--title", "More pages", "--impact-hours", "8", "--text", "Why."], "YY YY N YY"),
    ("cr approve CR-1", ["cr", "approve", "CR-1", "--note", "Fine."], "YY NY N NN"),
    ("cr reject CR-1", ["cr", "reject", "web/CR-1"], "YY NY N NN"),
    ("cr implement CR-2", ["cr", "implement", "CR-2", "--project", "web"], "YY YY N NN"),
    ("cr withdraw CR-1", ["cr", "withdraw", "CR-1"], "YY NN N YN"),
    (
        "meeting add",
        ["meeting", "add", "web", "--title", "Weekly", "--date", "2026-03-05T09:00:00Z", "--notes", "Notes."],
        "YY YY N NN",
    ),
    ("time log own on WEB-1", ["time", "log", "WEB-1", "2", "--note", "Drafts"], "YY YY N YN"),
    ("time log for gus on WEB-1", ["time", "log", "WEB-1", "1.5", "--person", "gus"], "YY NN N YN"),
    ("expense add own", ["expense", "add", "web", "12.5", "--description", "Train"], "YY YY N YY"),
    (
        "expense add own on WEB-3",
        ["expense", "add", "web", "20", "--description", "Film", "--task", "WEB-3"],
        "YY YY N NY",
    ),
    ("expense add for ulla", ["expense", "add", "web", "9", "--description", "Books", "--by", "ulla"], "YY YN N NN"),
    ("milestone sign-off m1", ["milestone", "sign-off", "web", "m1"], "YY NY N NN"),
    ("milestone set-status m2 ready", ["milestone", "set-status", "web", "m2", "ready"], "YY NN N NN"),
    ("feedback add", ["feedback", "add", "web", "--rating", "5", "--text", "Great."], "YY YY N YY"),
    ("feedback respond to carl's f1", ["feedback", "respond", "web", "f1", "--text", "Thanks."], "YY NY N NN"),
]


def table() -> list[object]:
    cases: list[object] = []
    for label, args, flags in COMMANDS:
        letters = flags.replace(" ", "")
        assert len(letters) == len(ACTORS), label
        for who, flag in zip(ACTORS, letters, strict=True):
            cases.append(pytest.param(who, args, flag == "Y", id=f"{label}|{who}"))
    return cases


@pytest.mark.parametrize(("who", "args", "allowed"), table())
def test_each_write_is_allowed_exactly_for_the_roles_spec_4_allows(ws, who, args, allowed):
    before, before_head = snapshot(ws), head(ws)
    result = run(ws, *args, "--as", who)
    if allowed:
        assert result.exit_code == 0, result.output
        assert git(ws, "rev-list", "--count", f"{before_head}..HEAD").strip() == "1"
        assert git(ws, "log", "-1", "--format=%ae").strip() == EMAILS[who]
        assert git(ws, "status", "--porcelain").strip() == ""
        validated = run(ws, "validate", "--strict")
        assert validated.exit_code == 0, validated.output
    else:
        assert result.exit_code == 1, result.output
        assert "refused by the rule" in result.output
        assert snapshot(ws) == before
        assert head(ws) == before_head


def test_a_refusal_names_the_policy_rule_and_its_reason(ws):
    from worktrail.load import load_workspace
    from worktrail.policy import Action, Policy

    workspace = load_workspace(ws).workspace
    assert workspace is not None
    verdict = Policy(workspace).can_do("gus", Action.EDIT_TASK, workspace.find_task("WEB-1"))
    result = run(ws, "task", "set", "WEB-1", "title=Mine now", "--as", "gus")
    assert result.exit_code == 1
    assert f"'{verdict.rule}'" in result.output
    assert verdict.reason in result.output


def test_a_reader_can_change_nothing_not_even_a_comment(ws):
    before = snapshot(ws)
    result = run(ws, "comment", "add", "WEB-2", "--text", "Hello", "--as", "rita")
    assert result.exit_code == 1
    assert "rita is a reader and may change nothing" in result.output
    assert snapshot(ws) == before


# ------------------------------------------------------------------------------------ validation and atomicity


def test_a_write_that_would_make_the_workspace_invalid_is_refused_and_rolled_back(ws):
    before, before_head = snapshot(ws), head(ws)
    result = run(ws, "task", "new", "web", "--title", "Proofread", "--assignee", "rita", "--as", "adam")
    assert result.exit_code == 1
    assert "refused by the rule 'validation'" in result.output
    assert "readers are never assignees" in result.output
    assert snapshot(ws) == before
    assert head(ws) == before_head


def test_a_gated_task_cannot_start_before_its_change_request_is_approved(ws):
    run(ws, "task", "set", "WEB-2", "change_request=CR-1", "--as", "adam")
    before = snapshot(ws)
    result = run(ws, "task", "set", "WEB-2", "status=in-progress", "--as", "ulla")
    assert result.exit_code == 1
    assert "needs change request CR-1 approved or implemented" in result.output
    assert snapshot(ws) == before


def test_rollback_removes_the_folders_a_refused_write_created(ws, monkeypatch):
    from worktrail.findings import error
    from worktrail.model import Loc
    from worktrail.validate import Report
    from worktrail.validate import validate_loaded as real

    calls = []

    def failing_after_write(result):
        report = real(result)
        calls.append(1)
        if len(calls) == 1:
            return report
        bad = error(Loc("worktrail.yaml"), "test", "an injected problem")
        return Report(root=report.root, findings=(*report.findings, bad), files=report.files)

    monkeypatch.setattr("worktrail.writes.validate_loaded", failing_after_write)
    before = snapshot(ws)
    result = run(ws, "comment", "add", "WEB-2", "--text", "First!", "--as", "ulla")
    assert result.exit_code == 1
    assert "an injected problem" in result.output
    assert snapshot(ws) == before
    assert not (ws / "projects/web/tasks/WEB-2").exists()


def test_a_failed_rename_leaves_the_file_and_no_temporary_file(ws, monkeypatch):
    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("worktrail.writes.os.replace", broken_replace)
    before, before_head = snapshot(ws), head(ws)
    result = run(ws, "task", "set", "WEB-2", "status=review", "--as", "ulla")
    assert result.exit_code == 1
    assert "No space left on device" in result.output
    assert "Traceback" not in result.output
    assert snapshot(ws) == before
    assert head(ws) == before_head


def test_writes_go_through_a_temporary_file_renamed_into_place(ws, monkeypatch):
    renames = []
    real = os.replace

    def spy(src, dst):
        renames.append((Path(src), Path(dst)))
        real(src, dst)

    monkeypatch.setattr("worktrail.writes.os.replace", spy)
    target = ws / "projects/web/tasks/WEB-2.md"
    mode = target.stat().st_mode
    assert run(ws, "task", "set", "WEB-2", "status=review", "--as", "ulla").exit_code == 0
    [(src, dst)] = renames
    assert dst == target
    assert src.parent == target.parent and src.name.startswith(".")
    assert not any(p.name.endswith(".tmp") for p in ws.rglob("*"))
    assert target.stat().st_mode == mode


# ------------------------------------------------------------------------------------ identity


def test_the_acting_person_comes_from_git_config_user_email_ignoring_case(ws):
    git(ws, "config", "user.email", "ULLA@Studio.TEST")
    git(ws, "config", "user.name", "Someone")
    result = run(ws, "task", "set", "WEB-2", "status=review")
    assert result.exit_code == 0, result.output
    assert git(ws, "log", "-1", "--format=%an <%ae>|%cn <%ce>").strip() == (
        "Ulla User <ulla@studio.test>|Someone <ULLA@Studio.TEST>"
    )


def test_as_overrides_git_config(ws):
    git(ws, "config", "user.email", EMAILS["ulla"])
    git(ws, "config", "user.name", "Ulla")
    assert run(ws, "task", "set", "WEB-2", "status=review", "--as", "adam").exit_code == 0
    assert git(ws, "log", "-1", "--format=%ae").strip() == EMAILS["adam"]


def test_an_unknown_as_person_is_refused(ws):
    before, before_head = snapshot(ws), head(ws)
    result = run(ws, "task", "set", "WEB-2", "status=review", "--as", "mallory")
    assert result.exit_code == 1
    assert "--as mallory: no such person" in result.output
    assert snapshot(ws) == before and head(ws) == before_head


def test_a_git_email_that_is_no_persons_email_is_refused(ws):
    git(ws, "config", "user.email", "mallory@elsewhere.test")
    before = snapshot(ws)
    result = run(ws, "task", "set", "WEB-2", "status=review")
    assert result.exit_code == 1
    assert "mallory@elsewhere.test" in result.output and "no person's email" in result.output
    assert snapshot(ws) == before


def test_without_as_or_git_email_the_write_is_refused(ws):
    result = run(ws, "task", "set", "WEB-2", "status=review")
    assert result.exit_code == 1
    assert "give --as PERSON" in result.output


# ------------------------------------------------------------------------------------ Git


def test_the_commit_holds_only_the_files_written_and_leaves_other_changes_alone(ws):
    other = ws / "projects/web/tasks/WEB-3.md"
    other.write_text(other.read_text() + "\nUnsaved thought.\n")
    (ws / "notes.txt").write_text("staged but not committed\n")
    git(ws, "add", "notes.txt")
    result = run(ws, "task", "set", "WEB-2", "status=review", "--as", "ulla")
    assert result.exit_code == 0, result.output
    assert git(ws, "show", "--name-only", "--format=", "HEAD").split() == ["projects/web/tasks/WEB-2.md"]
    status = git(ws, "status", "--porcelain").splitlines()
    assert set(status) == {"A  notes.txt", " M projects/web/tasks/WEB-3.md"}


def test_a_file_with_uncommitted_changes_is_not_written(ws):
    target = ws / "projects/web/tasks/WEB-2.md"
    target.write_text(target.read_text() + "Draft.\n")
    before, before_head = snapshot(ws), head(ws)
    result = run(ws, "task", "set", "WEB-2", "status=review", "--as", "ulla")
    assert result.exit_code == 1
    assert "uncommitted changes" in result.output
    assert snapshot(ws) == before and head(ws) == before_head


def test_commit_message_names_the_change_and_the_author_is_the_person(ws):
    result = run(ws, "task", "set", "WEB-2", "status=review", "--as", "ulla")
    assert result.exit_code == 0
    assert git(ws, "log", "-1", "--format=%s|%an <%ae>").strip() == (
        "task: WEB-2 status open → review|Ulla User <ulla@studio.test>"
    )
    run(ws, "cr", "approve", "CR-1", "--as", "carl")
    assert git(ws, "log", "-1", "--format=%s").strip() == "cr: approve CR-1 in web"


def test_no_commit_writes_without_committing(ws):
    before_head = head(ws)
    result = run(ws, "task", "set", "WEB-2", "status=review", "--as", "ulla", "--no-commit")
    assert result.exit_code == 0
    assert "not committed (--no-commit)" in result.output
    assert head(ws) == before_head
    assert git(ws, "status", "--porcelain").strip() == "M projects/web/tasks/WEB-2.md"


def test_outside_a_git_repository_writes_work_and_say_nothing_was_committed(tmp_path):
    root = tmp_path / "plain"
    write_files(root, FILES)
    result = run(root, "task", "set", "WEB-2", "status=review", "--as", "ulla")
    assert result.exit_code == 0, result.output
    assert "not committed: the workspace is not in a Git repository" in result.output
    assert "status: review" in (root / "projects/web/tasks/WEB-2.md").read_text()


def test_date_sets_the_recorded_dates_and_the_git_dates(ws):
    result = run(ws, "task", "new", "web", "--title", "Dated", "--as", "ulla", "--date", "2026-02-10")
    assert result.exit_code == 0, result.output
    text = (ws / "projects/web/tasks/WEB-4.md").read_text()
    assert "created_by: ulla\ncreated: 2026-02-10\n" in text
    assert git(ws, "log", "-1", "--format=%aI|%cI").strip() == "2026-02-10T12:00:00+01:00|2026-02-10T12:00:00+01:00"


def test_a_workspace_in_a_sub_folder_of_the_repository_commits_its_paths(tmp_path):
    repo = tmp_path / "repo"
    write_files(repo / "work", FILES)
    git(repo, "init", "--quiet")
    git(repo, "add", "--all")
    git(repo, "-c", "user.name=Olga", "-c", "user.email=olga@studio.test", "commit", "--quiet", "-m", "start")
    result = run(repo / "work", "task", "set", "WEB-2", "status=review", "--as", "ulla")
    assert result.exit_code == 0, result.output
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["work/projects/web/tasks/WEB-2.md"]


# ------------------------------------------------------------------------------------ what is written


def test_task_new_takes_the_next_number_and_records_its_creator(ws):
    result = run(
        ws,
        "task",
        "new",
        "web",
        "--title",
        "Yes",
        "--assignee",
        "gus",
        "--subscriber",
        "carl",
        "--tag",
        "copy",
        "--priority",
        "high",
        "--due",
        "2026-04-01",
        "--estimate",
        "6",
        "--body",
        "Do it.",
        "--as",
        "ulla",
        "--date",
        "2026-03-01",
    )
    assert result.exit_code == 0, result.output
    assert "task: new WEB-4" in result.output
    assert (ws / "projects/web/tasks/WEB-4.md").read_text() == (
        "---\n"
        'title: "Yes"\n'
        "status: open\n"
        "assignee: gus\n"
        "subscribers: [carl]\n"
        "created_by: ulla\n"
        "created: 2026-03-01\n"
        "due: 2026-04-01\n"
        "estimate_hours: 6\n"
        "priority: high\n"
        "tags: [copy]\n"
        "---\n"
        "\n"
        "Do it.\n"
    )


def test_a_task_implementing_a_proposed_request_is_listed_in_it_when_the_actor_may_edit_it(ws):
    result = run(ws, "task", "new", "web", "--title", "Blog page", "--change-request", "CR-1", "--as", "adam")
    assert result.exit_code == 0, result.output
    assert "tasks: [WEB-4]" in (ws / "projects/web/changes/CR-1.md").read_text()
    assert sorted(git(ws, "show", "--name-only", "--format=", "HEAD").split()) == [
        "projects/web/changes/CR-1.md",
        "projects/web/tasks/WEB-4.md",
    ]


def test_a_new_task_implementing_an_approved_request_is_listed_on_it_and_nothing_else_changes(ws):
    before = (ws / "projects/web/changes/CR-2.md").read_text()
    result = run(ws, "task", "new", "web", "--title", "Shop page", "--change-request", "CR-2", "--as", "adam")
    assert result.exit_code == 0, result.output
    after = (ws / "projects/web/changes/CR-2.md").read_text()
    old = parse_front_matter(before, "CR-2.md")
    new = parse_front_matter(after, "CR-2.md")
    assert new.body == old.body
    assert new.doc.data.pop("tasks") == [*old.doc.data.pop("tasks", []), "WEB-4"]
    assert new.doc.data == old.doc.data
    assert "change_request: CR-2\n" in (ws / "projects/web/tasks/WEB-4.md").read_text()


def test_no_task_implements_a_rejected_change_request(ws):
    run(ws, "cr", "reject", "CR-1", "--as", "carl")
    before = snapshot(ws)
    result = run(ws, "task", "new", "web", "--title", "Blog", "--change-request", "CR-1", "--as", "adam")
    assert result.exit_code == 1
    assert "CR-1 is rejected" in result.output
    assert snapshot(ws) == before


def test_editing_front_matter_keeps_the_markdown_body_byte_identical(ws):
    path = ws / "projects/web/tasks/WEB-2.md"
    body = path.read_bytes().split(b"\n---\n", 1)[1]
    assert run(ws, "task", "set", "WEB-2", "due=2026-05-01", "tags=web,build", "--as", "ulla").exit_code == 0
    text = path.read_bytes()
    assert text.split(b"\n---\n", 1)[1] == body
    assert b"assignee: ulla\ncreated_by: adam\ndue: 2026-05-01\ntags: [web, build]\n" in text


def test_an_empty_value_removes_an_optional_field(ws):
    assert run(ws, "task", "set", "WEB-2", "due=2026-05-01", "--as", "ulla").exit_code == 0
    assert run(ws, "task", "set", "WEB-2", "due=", "--as", "ulla").exit_code == 0
    assert "due:" not in (ws / "projects/web/tasks/WEB-2.md").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["task", "set", "WEB-2", "colour=red"], "unknown task field 'colour'"),
        (["task", "set", "WEB-2", "status=finished"], "status: 'finished' is not one of"),
        (["task", "set", "WEB-2", "due=next week"], "due: 'next week' is not a date"),
        (["task", "set", "WEB-2", "hidden=yes"], "hidden: 'yes' is not true or false"),
        (["task", "set", "WEB-2", "created_by=gus"], "created_by records the task's creation"),
        (["task", "set", "WEB-2", "status"], "is not FIELD=VALUE"),
        (["task", "set", "web-2", "status=done"], "is not a task id"),
        (["time", "log", "WEB-1", "0"], "hours: 0.0 must be a positive number"),
        (["task", "new", "web", "--title", "X", "--due", "tomorrow"], "is not a date"),
        (["comment", "add", "WEB-1"], "give the comment with --text or --file"),
        (["comment", "add", "WEB-1", "--text", "x", "--visible-to", "adam"], "add --hidden"),
    ],
)
def test_malformed_input_is_a_usage_error_that_changes_nothing(ws, args, message):
    before = snapshot(ws)
    result = run(ws, *args, "--as", "adam")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert snapshot(ws) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["task", "set", "WEB-9", "status=done"], "no task WEB-9"),
        (["task", "assign", "WEB-2", "nobody"], "no person 'nobody'"),
        (["task", "new", "nope", "--title", "X"], "no project 'nope'"),
        (["cr", "approve", "CR-7"], "no change request CR-7"),
        (["milestone", "sign-off", "web", "m9"], "no milestone 'm9'"),
        (["feedback", "respond", "web", "f9", "--text", "x"], "no feedback 'f9'"),
    ],
)
def test_unknown_records_are_reported_with_exit_1(ws, args, message):
    before = snapshot(ws)
    result = run(ws, *args, "--as", "adam")
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert snapshot(ws) == before


def test_comments_take_the_next_free_number_and_record_author_and_date(ws):
    result = run(ws, "comment", "add", "WEB-1", "--text", "Second.", "--as", "gus", "--date", "2026-02-03T08:30:00Z")
    assert result.exit_code == 0, result.output
    assert (ws / "projects/web/tasks/WEB-1/comments/c2.md").read_text() == (
        "---\nauthor: gus\ndate: 2026-02-03T08:30:00Z\n---\n\nSecond.\n"
    )


def test_a_hidden_comment_records_who_else_sees_it(ws):
    args = ["comment", "add", "WEB-1", "--text", "Between us.", "--hidden", "--visible-to", "olga"]
    assert run(ws, *args, "--as", "gus", "--date", "2026-02-03T08:30:00Z").exit_code == 0
    text = (ws / "projects/web/tasks/WEB-1/comments/c2.md").read_text()
    assert "hidden: true\nvisible_to: [olga]\n" in text


def test_time_log_appends_to_the_month_file_keeping_existing_entries_byte_identical(ws):
    path = ws / "projects/web/time/2026-02.yaml"
    old = path.read_bytes()
    result = run(ws, "time", "log", "WEB-1", "3", "--note", "Yes: more", "--as", "gus", "--date", "2026-02-20")
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == old + (
        b'- date: 2026-02-20\n  person: gus\n  task: WEB-1\n  hours: 3\n  note: "Yes: more"\n  billable: true\n'
    )


def test_time_log_starts_a_new_month_file(ws):
    result = run(ws, "time", "log", "WEB-1", "1", "--non-billable", "--as", "gus", "--date", "2026-03-02")
    assert result.exit_code == 0, result.output
    assert (ws / "projects/web/time/2026-03.yaml").read_text() == (
        "- date: 2026-03-02\n  person: gus\n  task: WEB-1\n  hours: 1\n  billable: false\n"
    )


def test_a_decision_records_the_approver_and_the_day(ws):
    result = run(ws, "cr", "approve", "CR-1", "--note", "On: budget", "--as", "carl", "--date", "2026-02-04")
    assert result.exit_code == 0, result.output
    text = (ws / "projects/web/changes/CR-1.md").read_text()
    assert 'status: approved\ndecision:\n  by: carl\n  "on": 2026-02-04\n  note: "On: budget"\n---\n' in text


def test_a_decided_change_request_is_not_decided_again(ws):
    assert run(ws, "cr", "approve", "CR-1", "--as", "carl").exit_code == 0
    result = run(ws, "cr", "reject", "CR-1", "--as", "olga")
    assert result.exit_code == 1
    assert "only a proposed request is decided" in result.output


def test_sign_off_records_the_approver_and_the_day(ws):
    assert run(ws, "milestone", "sign-off", "web", "m1", "--as", "carl", "--date", "2026-03-09").exit_code == 0
    text = (ws / "projects/web/project.yaml").read_text()
    assert (
        "  - id: m1\n    title: First\n    status: signed-off\n    signed_off_by: carl\n    signed_off_on: 2026-03-09\n"
        in text
    )


def test_feedback_is_answered_once(ws):
    assert run(ws, "feedback", "respond", "web", "f1", "--text", "Thanks.", "--as", "adam").exit_code == 0
    result = run(ws, "feedback", "respond", "web", "f1", "--text", "Again.", "--as", "olga")
    assert result.exit_code == 1
    assert "already answered by adam" in result.output


def test_meeting_minutes_get_an_id_from_their_date_and_title(ws):
    args = ["meeting", "add", "web", "--title", "Design review!", "--date", "2026-03-05T09:00:00Z"]
    args += ["--attendee", "ulla", "--attendee", "carl", "--decision", "Go with B", "--notes", "Notes."]
    assert run(ws, *args, "--as", "ulla").exit_code == 0
    assert (ws / "projects/web/meetings/2026-03-05-design-review.md").read_text() == (
        "---\ndate: 2026-03-05T09:00:00Z\ntitle: Design review!\nattendees: [ulla, carl]\n"
        "decisions:\n  - Go with B\n---\n\nNotes.\n"
    )
    assert git(ws, "log", "-1", "--format=%aI").strip() == "2026-03-05T09:00:00+00:00"


def test_files_carry_the_editor_schema_line_when_the_workspace_has_schemas(ws):
    (ws / ".schemas").mkdir()
    git(ws, "add", "--all")
    result = run(ws, "comment", "add", "WEB-1", "--text", "Hi.", "--as", "gus", "--date", "2026-02-03T08:30:00Z")
    assert result.exit_code == 0, result.output
    text = (ws / "projects/web/tasks/WEB-1/comments/c2.md").read_text()
    assert text.startswith("---\n# yaml-language-server: $schema=../../../../../.schemas/comment.schema.json\n")


def test_strings_that_yaml_1_1_would_misread_are_quoted(ws):
    for title in ("yes", "10:00", "2026-01-01", "null", "on"):
        assert run(ws, "task", "set", "WEB-2", f"title={title}", "--as", "ulla").exit_code == 0
        text = (ws / "projects/web/tasks/WEB-2.md").read_text()
        assert f'title: "{title}"\n' in text


def test_cr_new_takes_the_next_number_and_records_the_requester(ws):
    args = ["cr", "new", "web", "--title", "Dark mode", "--impact-hours", "12", "--impact-cost", "960.5"]
    args += ["--due-shift-days", "3", "--task", "WEB-2", "--text", "Users ask for it."]
    result = run(ws, *args, "--as", "gus", "--date", "2026-03-01")
    assert result.exit_code == 0, result.output
    assert (ws / "projects/web/changes/CR-3.md").read_text() == (
        "---\ntitle: Dark mode\nrequested_by: gus\nrequested_on: 2026-03-01\nstatus: proposed\n"
        "impact:\n  hours: 12\n  cost: 960.5\n  due_shift_days: 3\ntasks: [WEB-2]\n---\n\nUsers ask for it.\n"
    )


def test_feedback_gets_an_id_from_its_milestone(ws):
    args = ["feedback", "add", "web", "--rating", "3", "--milestone", "m1", "--text", "Slow."]
    assert run(ws, *args, "--as", "carl", "--date", "2026-03-02").exit_code == 0
    assert (ws / "projects/web/feedback/m1-feedback.md").read_text() == (
        "---\nauthor: carl\ndate: 2026-03-02\nrating: 3\nmilestone: m1\n---\n\nSlow.\n"
    )
