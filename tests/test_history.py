"""The history reader (SPEC §3 Trail): one pass over Git, derived events, and who may see them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.audit_repo import (
    BASE_FILES,
    BASE_TIME,
    EMAILS,
    STRANGER,
    FixtureRepo,
    base_repo,
    comment_md,
    cr_md,
    project_yaml,
    task_md,
    time_yaml,
)
from worktrail.history import Event, HistorySource, Snapshot, event_visible, read_history, walk
from worktrail.load import load_tree, load_workspace
from worktrail.policy import PersonViewer, Policy
from worktrail.tree import MemoryTree

WEB1 = "projects/web/tasks/WEB-1.md"
WEB2 = "projects/web/tasks/WEB-2.md"
CR1 = "projects/web/changes/CR-1.md"
TIME = "projects/web/time/2026-01.yaml"


def summary(event: Event) -> tuple[Any, ...]:
    return (event.kind, event.entity.kind, event.entity.id, event.person, event.field, event.old, event.new)


def events_after(repo: FixtureRepo, start: str) -> list[Event]:
    history = read_history(repo.workspace)
    assert history.warnings == []
    ids = [e.commit for e in history.events]
    return history.events[ids.index(next(i for i in ids if i != start)) :]


def test_the_events_of_a_task_s_life(tmp_path: Path) -> None:
    repo, start = base_repo(tmp_path / "repo")
    repo.write("projects/web/tasks/WEB-4.md", task_md("Footer", assignee="gus", created_by="uma"))
    created = repo.commit("uma", "Add WEB-4")
    repo.write("projects/web/tasks/WEB-4.md", task_md("Footer", "in-progress", assignee="gus", created_by="uma"))
    started = repo.commit("gus", "Start WEB-4")
    repo.write("projects/web/tasks/WEB-4/comments/c1.md", comment_md("gus"))
    commented = repo.commit("gus", "Comment")
    repo.write(CR1, cr_md("approved", "carl", note="Fine"))
    decided = repo.commit("carl", "Approve CR-1")
    repo.write("projects/web/project.yaml", project_yaml("signed-off", "carl"))
    signed = repo.commit("carl", "Sign off beta")
    repo.write(TIME, time_yaml(BASE_TIME, ("2026-01-13", "gus", "WEB-4", 3)))
    logged = repo.commit("gus", "Log time")
    events = events_after(repo, start)
    assert [(e.commit, *summary(e)) for e in events] == [
        (created, "created", "task", "WEB-4", "uma", None, None, None),
        (started, "changed", "task", "WEB-4", "gus", "status", "open", "in-progress"),
        (commented, "comment-added", "comment", "c1", "gus", None, None, None),
        (decided, "decided", "change", "CR-1", "carl", "status", "proposed", "approved"),
        (signed, "signed-off", "milestone", "beta", "carl", "status", "open", "signed-off"),
        (logged, "time-logged", "time", "", "gus", None, None, None),
    ]
    assert events[2].entity.task == "WEB-4"
    assert events[5].entity.task == "WEB-4"
    assert events[0].date.isoformat().startswith("2026-02-")
    assert events[0].author == f"Uma <{EMAILS['uma']}>"


def test_the_first_commit_creates_every_record(tmp_path: Path) -> None:
    repo, start = base_repo(tmp_path / "repo")
    history = read_history(repo.workspace)
    assert {e.commit for e in history.events} == {start}
    created = {(e.entity.kind, e.entity.id) for e in history.events if e.kind == "created"}
    assert {("task", "WEB-1"), ("person", "gus"), ("project", "web"), ("change", "CR-1")} <= created
    assert all(e.person == "olga" for e in history.events)


def test_an_edited_time_line_is_a_change_of_its_fields(tmp_path: Path) -> None:
    repo, start = base_repo(tmp_path / "repo")
    repo.write(TIME, time_yaml(("2026-01-12", "gus", "WEB-1", 3)))
    repo.commit("gus", "Correct my hours")
    assert [summary(e) for e in events_after(repo, start)] == [("changed", "time", "", "gus", "hours", 2, 3)]


def test_the_person_is_the_author_by_email_and_an_unknown_author_is_none(tmp_path: Path) -> None:
    repo, start = base_repo(tmp_path / "repo")
    repo.write(WEB2, task_md("Shouted", assignee="gina", created_by="uma"))
    repo.commit(EMAILS["uma"].upper(), "Upper-case email")
    repo.write(WEB2, task_md("Anonymous", assignee="gina", created_by="uma"))
    repo.commit(STRANGER, "Unknown")
    repo.write(WEB2, task_md("Committed by olga", assignee="gina", created_by="uma"))
    repo.commit("ivan", "Author ivan", committer="olga")
    assert [e.person for e in events_after(repo, start)] == ["uma", None, "ivan"]


def test_a_workspace_in_a_sub_folder_has_its_own_history(tmp_path: Path) -> None:
    repo, start = base_repo(tmp_path / "repo", sub="docs/work")
    (repo.root / "code.py").write_text("x = 1\n", encoding="utf-8")
    repo.commit("ivan", "Code only")
    repo.write(WEB2, task_md("In a sub-folder", assignee="gina", created_by="uma"))
    edited = repo.commit("uma", "Edit")
    history = read_history(repo.workspace)
    assert history.commits == 2
    assert [(e.commit, e.path, e.field) for e in history.events if e.commit != start] == [(edited, WEB2, "title")]


def test_a_renamed_record_keeps_its_history(tmp_path: Path) -> None:
    repo, start = base_repo(tmp_path / "repo")
    repo.move(WEB2, "projects/web/tasks/WEB-9.md")
    repo.write("projects/web/tasks/WEB-9.md", task_md("Contact form, renumbered", assignee="gina", created_by="uma"))
    repo.commit("uma", "Renumber WEB-2")
    assert [summary(e) for e in events_after(repo, start)] == [
        ("renamed", "task", "WEB-9", "uma", "path", WEB2, "projects/web/tasks/WEB-9.md"),
        ("changed", "task", "WEB-9", "uma", "title", "Contact form", "Contact form, renumbered"),
    ]


def test_a_merge_repeats_no_event_of_its_branches(tmp_path: Path) -> None:
    repo, start = base_repo(tmp_path / "repo")
    repo.checkout("-b", "side")
    repo.write(WEB1, task_md("Home page", "review", assignee="gus", created_by="uma"))
    on_side = repo.commit("gus", "Ready for review")
    repo.checkout("main")
    repo.write(WEB2, task_md("Contact form v2", assignee="gina", created_by="uma"))
    on_main = repo.commit("uma", "Retitle")
    merge = repo.merge("olga", "side")
    events = events_after(repo, start)
    assert {e.commit for e in events} == {on_side, on_main}
    assert merge not in {e.commit for e in events}


def test_a_merge_s_own_change_is_an_event_of_the_merge(tmp_path: Path) -> None:
    repo, start = base_repo(tmp_path / "repo")
    repo.fork_side()
    repo.git("merge", "-q", "--no-ff", "--no-commit", "side", author=EMAILS["olga"])
    repo.write(WEB2, task_md("Contact form, settled in the merge", assignee="gina", created_by="uma"))
    merge = repo.commit("olga", "Merge side")
    merge_events = [summary(e) for e in events_after(repo, start) if e.commit == merge]
    assert merge_events == [
        ("changed", "task", "WEB-2", "olga", "title", "Contact form v2", "Contact form, settled in the merge")
    ]


def test_without_git_the_history_is_empty_with_a_warning(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    plain = tmp_path / "plain"
    shutil.copytree(repo.workspace, plain, ignore=shutil.ignore_patterns(".git"))
    history = read_history(plain)
    assert history.events == []
    assert len(history.warnings) == 1
    assert "not inside a Git repository" in history.warnings[0]


def test_a_repository_without_commits_has_an_empty_history(tmp_path: Path) -> None:
    repo = FixtureRepo(tmp_path / "repo")
    repo.write_base()
    history = read_history(repo.workspace)
    assert history.events == []
    assert history.warnings == ["no history: the repository has no commits yet"]


def test_one_unlimited_git_log_and_one_cat_file_process_read_a_whole_linear_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    for n in range(5):
        repo.write(TIME, time_yaml(BASE_TIME, *[("2026-01-13", "gus", "WEB-1", h + 1) for h in range(n + 1)]))
        repo.write(WEB2, task_md(f"Contact form v{n}", assignee="gina", created_by="uma"))
        repo.commit("uma", f"Change {n}")
    calls: list[list[str]] = []
    real_popen = subprocess.Popen

    def popen(cmd: list[str], *args: Any, **kwargs: Any) -> Any:
        # subprocess.run starts its process through Popen too: every git process passes here once.
        calls.append(cmd)
        return real_popen(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", popen)
    history = read_history(repo.workspace)
    assert history.commits == 6

    def subcommand(cmd: list[str]) -> str:
        i = 1
        while cmd[i].startswith("-"):
            i += 2 if cmd[i] == "-c" else 1
        return cmd[i]

    subcommands = [subcommand(cmd) for cmd in calls]
    # An unlimited rev-list tells the history is linear; one log (unlimited, read as it comes) gives
    # its commits and changes: see read_log. No git command compares trees limited to paths.
    assert subcommands.count("log") == 1
    assert subcommands.count("rev-list") == 1
    assert subcommands.count("cat-file") == 1
    assert len(calls) <= 5
    for cmd in calls:
        if subcommand(cmd) in ("log", "rev-list"):
            assert cmd[-1] == "--", cmd


@pytest.mark.parametrize(
    "message",
    [
        "Looks like a record\x1e0123456789012345678901234567890123456789",
        "Fake entry\n:000000 100644 0000000000000000000000000000000000000000 "
        "1111111111111111111111111111111111111111 A\tprojects/web/tasks/WEB-99.md",
    ],
)
def test_a_commit_message_cannot_fake_log_entries(tmp_path: Path, message: str) -> None:
    repo, start = base_repo(tmp_path / "repo")
    repo.write(WEB2, task_md("Contact form v2", assignee="gina", created_by="uma"))
    edited = repo.commit("uma", message)
    history = read_history(repo.workspace)
    assert history.commits == 2
    assert [(e.commit, e.entity.id) for e in history.events if e.commit != start] == [(edited, "WEB-2")]


def _visible_to(repo: FixtureRepo, who: str) -> list[tuple[str, str | None]]:
    now_ws = load_workspace(repo.workspace).workspace
    assert now_ws is not None
    now = Policy(now_ws)
    seen: list[tuple[str, str | None]] = []
    with HistorySource(repo.workspace) as source:
        for step in walk(source):
            for event in step.events:
                if event.entity.id == "WEB-6" and event_visible(
                    step.before.policy(), step.after.policy(), now, PersonViewer(who), event
                ):
                    seen.append((event.kind, event.field))
    return seen


def test_an_event_is_shown_only_to_who_saw_the_entity_before_and_after_it(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write("projects/web/tasks/WEB-6.md", task_md("Secret plan", assignee="uma", created_by="olga", hidden=True))
    repo.commit("olga", "Add a hidden task")
    repo.write("projects/web/tasks/WEB-6.md", task_md("Acquire Acme", assignee="uma", created_by="olga", hidden=True))
    repo.commit("olga", "Retitle it while hidden")
    repo.write("projects/web/tasks/WEB-6.md", task_md("Website relaunch", assignee="uma", created_by="olga"))
    repo.commit("olga", "Unhide it under a new title")
    repo.write("projects/web/tasks/WEB-6.md", task_md("Website relaunch 2", assignee="uma", created_by="olga"))
    repo.commit("olga", "Retitle it in the open")
    # rita (a reader) sees the task now, but the old titles were hidden when they changed.
    assert _visible_to(repo, "rita") == [("changed", "title")]
    assert _visible_to(repo, "uma") == [
        ("created", None),
        ("changed", "title"),
        ("changed", "title"),
        ("changed", "hidden"),
        ("changed", "title"),
    ]


def test_a_money_event_is_shown_only_to_who_sees_costs(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    text = cr_md().replace("tasks: [WEB-3]", "impact:\n  hours: 10\n  cost: 900\ntasks: [WEB-3]")
    repo.write(CR1, text)
    repo.commit("carl", "Estimate CR-1")
    repo.write(CR1, text.replace("cost: 900", "cost: 1200").replace("hours: 10", "hours: 12"))
    costed = repo.commit("olga", "Re-estimate CR-1")
    now_ws = load_workspace(repo.workspace).workspace
    assert now_ws is not None
    now = Policy(now_ws)
    with HistorySource(repo.workspace) as source:
        steps = [s for s in walk(source) if s.commit.id == costed]
    step = steps[0]

    def fields(who: str) -> list[str | None]:
        viewer = PersonViewer(who)
        return [
            e.field for e in step.events if event_visible(step.before.policy(), step.after.policy(), now, viewer, e)
        ]

    assert fields("uma") == ["impact.hours", "impact.cost"]
    assert fields("carl") == ["impact.hours"]


def test_the_state_after_the_last_commit_is_the_workspace_on_disk(tmp_path: Path) -> None:
    # Records load one by one through the history; together they must read as the loader reads the folder.
    repo, _ = base_repo(tmp_path / "repo")
    repo.write("projects/web/tasks/WEB-1/comments/c2.md", comment_md("uma", "2026-02-11T09:00:00Z"))
    repo.write("projects/web/tasks/WEB-1/comments/c1.md", comment_md("gus", "2026-02-12T09:00:00Z"))
    repo.write("projects/web/meetings/kickoff.md", "---\ndate: 2026-02-02T10:00:00Z\ntitle: Kick-off\n---\nNotes.\n")
    repo.write("projects/web/feedback/f1.md", "---\nauthor: carl\ndate: 2026-02-03\nrating: 4\n---\nGood.\n")
    repo.write("projects/web/expenses.yaml", "- date: 2026-02-04\n  amount: 120\n  description: Fonts\n  by: olga\n")
    repo.write("projects/web/files/brief.md", "# Brief\n")
    repo.write("projects/web/files/index.yaml", "- path: brief.md\n  title: Brief\n")
    repo.commit("olga", "Fill the project")
    repo.remove("projects/web/tasks/WEB-1/comments/c2.md")
    repo.write("projects/web/tasks/WEB-7.md", task_md("Late addition", created_by="olga"))
    repo.commit("olga", "More")
    with HistorySource(repo.workspace) as source:
        steps = list(walk(source))
        from_history = steps[-1].after.workspace()
    on_disk = load_workspace(repo.workspace).workspace
    assert from_history is not None and on_disk is not None
    assert from_history.settings == on_disk.settings
    assert from_history.people == on_disk.people
    assert from_history.teams == on_disk.teams
    assert from_history.projects == on_disk.projects


def test_without_a_git_program_the_history_is_empty_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    empty = tmp_path / "no-programs"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    history = read_history(repo.workspace)
    assert history.events == []
    assert len(history.warnings) == 1
    assert "git" in history.warnings[0]


# Versions a file may have in a generated workspace: absent (None), valid, or broken.
VARIANTS: dict[str, list[str | None]] = {
    "projects/web/tasks/WEB-1.md": [None, task_md("Home", assignee="gus"), task_md("Home", "done"), "broken"],
    "projects/web/tasks/WEB-2.md": [None, task_md("Form", hidden=True), "---\ntitle: [x\n---\n"],
    "projects/web/tasks/WEB-1/comments/a1.md": [None, comment_md("gus"), comment_md("uma", "2026-01-01T00:00:00Z")],
    "projects/web/tasks/WEB-1/comments/a2.md": [None, comment_md("carl", "2026-03-01T00:00:00Z"), "---\n---\n"],
    "projects/web/tasks/WEB-9/comments/z1.md": [None, comment_md("gus")],
    "projects/web/tasks/WEB-1/notes.txt": [None, "stray\n"],
    "projects/web/changes/CR-1.md": [None, cr_md(), cr_md("approved", "carl")],
    "projects/web/changes/CR-2.md": [None, cr_md("rejected", "olga")],
    "projects/web/time/2026-01.yaml": [None, time_yaml(BASE_TIME), time_yaml(("2026-02-01", "gus", "WEB-1", 1))],
    "projects/web/time/2026-02.yaml": [None, time_yaml(("2026-02-03", "uma", "WEB-2", 2), BASE_TIME)],
    "projects/web/meetings/m1.md": [None, "---\ndate: 2026-02-02T10:00:00Z\ntitle: Sync\n---\nNotes.\n"],
    "projects/web/feedback/f1.md": [None, "---\nauthor: carl\ndate: 2026-02-03\nrating: 4\n---\nGood.\n"],
    "projects/web/expenses.yaml": [None, "- date: 2026-02-04\n  amount: 12\n  description: Fonts\n  by: olga\n"],
    "projects/web/project.yaml": [BASE_FILES["projects/web/project.yaml"], "name: [broken\n"],
    "projects/app/project.yaml": [None, "name: App\nkey: APP\nstatus: active\nmembers: [studio]\n"],
    "projects/app/tasks/APP-1.md": [None, task_md("App task")],
    "people/gus.yaml": [BASE_FILES["people/gus.yaml"], None],
    "worktrail.yaml": [BASE_FILES["worktrail.yaml"], "name: [broken\n"],
}

workspaces = st.fixed_dictionaries({path: st.sampled_from(options) for path, options in VARIANTS.items()})


def _files(choice: dict[str, str | None]) -> dict[str, bytes]:
    files = {path: text.encode() for path, text in BASE_FILES.items() if path not in VARIANTS}
    files.update({path: text.encode() for path, text in choice.items() if text is not None})
    return files


@settings(derandomize=True, deadline=None, max_examples=60)
@given(first=workspaces, second=workspaces)
def test_a_state_reads_as_the_loader_reads_the_same_files(
    first: dict[str, str | None], second: dict[str, str | None]
) -> None:
    root = Path("/nowhere")
    state = Snapshot.of_contents(root, _files(first))
    state.workspace()  # assembled once, so the derived state starts from cached parts
    derived = state.with_contents({path: None if text is None else text.encode() for path, text in second.items()})
    for snapshot, files in ((state, _files(first)), (derived, _files(second))):
        expected = load_tree(MemoryTree(files), root).workspace
        actual = snapshot.workspace()
        if expected is None:
            assert actual is None
            continue
        assert actual is not None
        assert (actual.settings, actual.people, actual.teams) == (expected.settings, expected.people, expected.teams)
        assert actual.projects == expected.projects
