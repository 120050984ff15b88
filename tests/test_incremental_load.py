"""Loading again after an edit (`BuildCache.reloaded`): the cached load equals a cold load, exactly.

The build cache keeps the last load; when only record files changed in place (tasks, comments,
change requests, meetings, feedback, months of time), and each loads without a finding before and
after, only those files are read again. A file written again with the same bytes (a fresh checkout)
or one the loader does not read (an attachment) changes nothing. Any other edit (people, teams,
settings, a project, a file added or removed, a file made invalid or fixed) loads the whole
workspace. Every test compares the cached load with a cold `load_workspace`: model, findings (with
the cross-file checks), parsed documents (line numbers) in the loader's order, broken ids and the
number of files read. A project's generation (`BuildCache.stamps`) changes exactly when what its
load reads changed.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.workspace_edits import checkout_again
from worktrail import buildcache
from worktrail.buildcache import BuildCache, validate_cached
from worktrail.load import LoadResult, load_workspace, reload_records
from worktrail.validate import validate_loaded

ROOT = Path(__file__).resolve().parent.parent
APP = "projects/acme-app"
RECORD_FILE = re.compile(r"^projects/[^/]+/(tasks/[^/]+/comments|tasks|changes|meetings|feedback|time)/[^/]+$")


def _age_recent(ws: Path) -> None:
    """Date what was just written a minute back, so the cache may trust it (it is not "racy")."""
    past = time.time() - 60
    for path in [ws, *ws.rglob("*")]:
        info = path.lstat()
        if info.st_mtime > past and not path.is_symlink():
            os.utime(path, (past, past))


def _copy(target: Path) -> Path:
    shutil.copytree(ROOT / "sample-workspace", target, symlinks=True)
    past = time.time() - 120
    for path in [target, *target.rglob("*")]:
        os.utime(path, (past, past), follow_symlinks=False)
    return target


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return _copy(tmp_path / "ws")


class Loads:
    """Cached loads of one workspace, each with whether it read the whole workspace or only changed records."""

    def __init__(self, ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ws = ws
        self.whole = 0
        self.again: list[list[str]] = []

        def load(*args: Any, **kwargs: Any) -> LoadResult:
            self.whole += 1
            return load_workspace(*args, **kwargs)

        def reload(previous: LoadResult, changed: list[str], *args: Any) -> LoadResult | None:
            self.again.append(list(changed))
            return reload_records(previous, changed, *args)

        monkeypatch.setattr(buildcache, "load_workspace", load)
        monkeypatch.setattr(buildcache, "reload_records", reload)

    def load(self) -> tuple[LoadResult, str]:
        """A cached load (a new cache object: a new run) and how it was made: "whole", "again" or "kept"."""
        whole, again = self.whole, len(self.again)
        _, result = validate_cached(self.ws, BuildCache(self.ws))
        assert result is not None
        if self.whole > whole:
            return result, "whole"
        return result, "again" if len(self.again) > again else "kept"


def assert_same_load(cached: LoadResult, cold: LoadResult) -> None:
    assert cached.root == cold.root
    assert cached.workspace == cold.workspace
    assert cached.findings == cold.findings
    assert list(cached.docs) == list(cold.docs)
    assert cached.docs == cold.docs
    assert cached.broken == cold.broken
    assert cached.files == cold.files
    assert validate_loaded(cached).findings == validate_loaded(cold).findings


# Edits write their file even when an earlier edit took away what they change (sequences of edits).
def _set(path: Path, field: str, value: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(rf"(?m)^{field}: .*$", f"{field}: {value}", text, count=1), encoding="utf-8")


def _replace(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _new_task(ws: Path) -> None:
    text = "---\ntitle: New one\nstatus: open\n---\n\nA new task.\n"
    (ws / APP / "tasks/APP-40.md").write_text(text, encoding="utf-8")


def _new_comment(ws: Path) -> None:
    text = "---\nauthor: raj\ndate: 2026-02-04T10:00:00Z\n---\n\nA new comment.\n"
    (ws / APP / "tasks/APP-11/comments/c9.md").write_text(text, encoding="utf-8")


def _task_and_comment(ws: Path) -> None:
    _set(ws / APP / "tasks/APP-13.md", "title", "Both")
    _append(ws / APP / "tasks/APP-13/comments/c2.md", "\nBoth.\n")


def _link_task(ws: Path) -> None:
    task = ws / APP / "tasks/APP-7.md"
    if not task.is_symlink():
        task.unlink()
        task.symlink_to("APP-9.md")


# Edits that change record files in place, each still loading without a finding: read again alone.
RECORD_EDITS: dict[str, Callable[[Path], object]] = {
    "a task title": lambda ws: _set(ws / APP / "tasks/APP-11.md", "title", "Upgrade the SDK"),
    "a task hidden": lambda ws: _replace(ws / APP / "tasks/APP-1.md", "status: ", "hidden: true\nstatus: "),
    "a task's body": lambda ws: _append(ws / APP / "tasks/APP-3.md", "\nOne more line.\n"),
    "a comment's text": lambda ws: _append(ws / APP / "tasks/APP-11/comments/c1.md", "\nAnd tagged.\n"),
    "a comment's date, which moves it after its sibling": lambda ws: _set(
        ws / APP / "tasks/APP-11/comments/c1.md", "date", "2026-03-30T18:00:00Z"
    ),
    "a month of time: hours": lambda ws: _replace(ws / APP / "time/2026-02.yaml", "hours: 7", "hours: 8"),
    "a month of time: a date, which reorders the entries": lambda ws: _replace(
        ws / APP / "time/2026-02.yaml", "date: 2026-02-02", "date: 2026-02-27"
    ),
    "a month of time emptied": lambda ws: (ws / APP / "time/2026-02.yaml").write_text("[]\n", encoding="utf-8"),
    "a change request title": lambda ws: _set(ws / APP / "changes/CR-1.md", "title", "Offline maps v2"),
    "a meeting's date, which reorders the meetings": lambda ws: _set(
        ws / APP / "meetings/2026-01-20-kick-off.md", "date", "2026-03-20T09:00:00Z"
    ),
    "a feedback rating": lambda ws: _set(ws / APP / "feedback/prototype-sign-off.md", "rating", "2"),
    "a task and its comment together": _task_and_comment,
}

# Edits after which nothing is loaded again: the bytes the loader reads are the same.
UNSEEN_EDITS: dict[str, Callable[[Path], object]] = {
    "the same text written again": lambda ws: _append(ws / APP / "tasks/APP-2.md", ""),
    "an attachment's content": lambda ws: _append(ws / APP / "files/specs/architecture.md", "\nMore.\n"),
    "every file written again as it was (a fresh checkout)": checkout_again,
}

# Edits after which the whole workspace is loaded.
WHOLE_EDITS: dict[str, Callable[[Path], object]] = {
    "a person renamed": lambda ws: _set(ws / "people/ana.yaml", "name", "Ana Renamed"),
    "a team renamed": lambda ws: _set(ws / "teams/acme.yaml", "name", "Acme Indoor"),
    "the workspace name": lambda ws: _set(ws / "worktrail.yaml", "name", "Southwind Studio"),
    "a project name": lambda ws: _set(ws / APP / "project.yaml", "name", "Trail app"),
    "an expense": lambda ws: _replace(ws / APP / "expenses.yaml", "amount: 219", "amount: 220"),
    "a document title": lambda ws: _replace(ws / APP / "files/index.yaml", "title: App requirements", "title: Reqs"),
    "a task added": _new_task,
    "a comment added": _new_comment,
    "an unexpected file added": lambda ws: (ws / APP / "tasks/notes.txt").write_text("x", encoding="utf-8"),
    "a task removed": lambda ws: (ws / APP / "tasks/APP-14.md").unlink(missing_ok=True),
    "a comment removed": lambda ws: (ws / APP / "tasks/APP-11/comments/c2.md").unlink(missing_ok=True),
    "a task made invalid": lambda ws: _set(ws / APP / "tasks/APP-2.md", "status", "unheard-of"),
    "a comment made unreadable YAML": lambda ws: _replace(
        ws / APP / "tasks/APP-11/comments/c1.md", "author: raj", "author: [raj"
    ),
    "a month of time with an entry of another month": lambda ws: _replace(
        ws / APP / "time/2026-02.yaml", "date: 2026-02-02", "date: 2026-03-02"
    ),
    "a task replaced by a symbolic link": _link_task,
}


@pytest.mark.parametrize("edit", sorted(RECORD_EDITS))
def test_an_edited_record_is_read_again_alone_and_the_load_equals_a_cold_one(
    edit: str, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = Loads(workspace, monkeypatch)
    assert loads.load()[1] == "whole"
    RECORD_EDITS[edit](workspace)
    _age_recent(workspace)
    cached, how = loads.load()
    assert how == "again"
    assert loads.again[-1], "the edited files are read again"
    assert all(RECORD_FILE.match(rel) for rel in loads.again[-1])
    assert_same_load(cached, load_workspace(workspace))
    # What the cache kept after loading again is itself exact: the next run keeps it as it is.
    kept, how = loads.load()
    assert how == "kept"
    assert_same_load(kept, load_workspace(workspace))


@pytest.mark.parametrize("edit", sorted(UNSEEN_EDITS))
def test_files_written_with_the_same_bytes_or_not_read_by_the_loader_load_nothing_again(
    edit: str, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = Loads(workspace, monkeypatch)
    loads.load()
    generations = _generations(workspace)
    UNSEEN_EDITS[edit](workspace)
    _age_recent(workspace)
    cached, how = loads.load()
    assert how == "kept"
    assert_same_load(cached, load_workspace(workspace))
    assert _generations(workspace) == generations
    # The new descriptions are kept: the next run neither loads nor hashes any file again.
    hashed: list[str] = []
    same_bytes = buildcache._same_bytes

    def spy(tree: Any, rel: str, digest: bytes) -> bool:
        hashed.append(rel)
        return same_bytes(tree, rel, digest)

    monkeypatch.setattr(buildcache, "_same_bytes", spy)
    cached, how = loads.load()
    assert (how, hashed) == ("kept", [])
    assert_same_load(cached, load_workspace(workspace))


def test_after_a_fresh_checkout_with_one_record_edited_only_it_is_read_again_and_only_its_project_changes_generation(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = Loads(workspace, monkeypatch)
    loads.load()
    generations = _generations(workspace)
    rel = f"{APP}/tasks/APP-11.md"
    _set(workspace / rel, "title", "Pushed title")
    checkout_again(workspace)
    _age_recent(workspace)
    cached, how = loads.load()
    assert (how, loads.again[-1]) == ("again", [rel])
    assert_same_load(cached, load_workspace(workspace))
    now = _generations(workspace)
    assert now["acme-website"] == generations["acme-website"]
    assert now["acme-app"] != generations["acme-app"]


# A project's generation changes with what its load reads (each edit: the projects that keep theirs).
GENERATION_EDITS: dict[str, tuple[Callable[[Path], object], set[str]]] = {
    "a task added to a project": (_new_task, {"acme-website"}),
    "a file added to a project that the loader refuses": (
        lambda ws: (ws / APP / "tasks/notes.txt").write_text("x", encoding="utf-8"),
        {"acme-website"},
    ),
    "a project's settings": (lambda ws: _set(ws / APP / "project.yaml", "name", "Trail app"), {"acme-website"}),
    "a person renamed": (lambda ws: _set(ws / "people/ana.yaml", "name", "Ana Renamed"), set()),
    "a team added": (lambda ws: (ws / "teams/new.yaml").write_text("name: New team\n", encoding="utf-8"), set()),
    "the workspace settings": (lambda ws: _set(ws / "worktrail.yaml", "name", "Southwind Studio"), set()),
}


@pytest.mark.parametrize("edit", sorted(GENERATION_EDITS))
def test_a_whole_load_keeps_the_generation_of_every_project_whose_inputs_are_unchanged(
    edit: str, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = Loads(workspace, monkeypatch)
    loads.load()
    before = _generations(workspace)
    change, keeping = GENERATION_EDITS[edit]
    change(workspace)
    _age_recent(workspace)
    cached, how = loads.load()
    assert how == "whole"
    assert_same_load(cached, load_workspace(workspace))
    after = _generations(workspace)
    assert {pid for pid in after if after[pid] == before[pid]} == keeping
    # Each project's stored load is its load now: the next run takes them all as they are.
    cached, how = loads.load()
    assert how == "kept"
    assert_same_load(cached, load_workspace(workspace))


def _generations(ws: Path) -> dict[str, str]:
    """Each project's generation as a run taking the last load finds it."""
    cache = BuildCache(ws)
    validate_cached(ws, cache)
    return {pid: generation for pid, (_, generation) in cache.stamps().items()}


@pytest.mark.parametrize("edit", sorted(WHOLE_EDITS))
def test_any_other_edit_loads_the_whole_workspace_and_equals_a_cold_load(
    edit: str, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = Loads(workspace, monkeypatch)
    loads.load()
    WHOLE_EDITS[edit](workspace)
    _age_recent(workspace)
    cached, how = loads.load()
    assert how == "whole"
    assert_same_load(cached, load_workspace(workspace))
    # After it, an edit of a record is read again alone on top of that load.
    RECORD_EDITS["a comment's text"](workspace)
    _age_recent(workspace)
    cached, how = loads.load()
    assert how in ("again", "whole")
    assert_same_load(cached, load_workspace(workspace))


def test_a_record_made_invalid_and_fixed_again_loads_as_a_cold_load_each_time(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = Loads(workspace, monkeypatch)
    loads.load()
    task = workspace / APP / "tasks/APP-4.md"
    good = task.read_bytes()
    steps = [
        ("invalid", lambda: _set(task, "status", "unheard-of"), "whole"),
        ("still invalid, otherwise", lambda: _set(task, "title", "Another title"), "whole"),
        ("written again as it is", lambda: task.write_bytes(task.read_bytes()), "kept"),
        ("fixed", lambda: task.write_bytes(good), "whole"),
        ("edited while valid", lambda: _set(task, "title", "Valid again"), "again"),
    ]
    for name, step, expected in steps:
        step()
        _age_recent(workspace)
        cached, how = loads.load()
        assert how == expected, name
        assert_same_load(cached, load_workspace(workspace))
    assert "APP-4" not in cached.broken


def test_records_of_a_project_that_does_not_load_are_read_again_without_a_project_to_hold_them(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = Loads(workspace, monkeypatch)
    _set(workspace / APP / "project.yaml", "status", "unheard-of")
    _age_recent(workspace)
    first, _ = loads.load()
    assert first.workspace is not None and "acme-app" not in first.workspace.projects
    _set(workspace / APP / "tasks/APP-11.md", "title", "Project-less")
    _age_recent(workspace)
    cached, how = loads.load()
    assert how == "again"
    assert_same_load(cached, load_workspace(workspace))


def test_comments_of_a_task_that_does_not_load_are_read_again_and_stay_dropped(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = Loads(workspace, monkeypatch)
    _set(workspace / APP / "tasks/APP-11.md", "status", "unheard-of")
    _age_recent(workspace)
    loads.load()
    _append(workspace / APP / "tasks/APP-11/comments/c1.md", "\nOn a broken task.\n")
    _age_recent(workspace)
    cached, how = loads.load()
    assert how == "again"
    assert_same_load(cached, load_workspace(workspace))


def test_a_file_written_in_the_racy_window_is_compared_by_its_bytes_by_the_next_run(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = Loads(workspace, monkeypatch)
    loads.load()
    task = workspace / APP / "tasks/APP-11.md"
    _set(task, "title", "Written just now")  # not dated back: its time may not change on a next write
    cached, how = loads.load()
    assert how == "again"
    assert_same_load(cached, load_workspace(workspace))
    # The file was unsettled when described: its bytes are compared, not its time.
    racy = task.stat()
    _set(task, "title", "Written just new")
    os.utime(task, ns=(racy.st_atime_ns, racy.st_mtime_ns))
    cached, how = loads.load()
    assert how == "again"
    assert loads.again[-1] == [f"{APP}/tasks/APP-11.md"]
    assert_same_load(cached, load_workspace(workspace))
    cached, how = loads.load()
    assert how == "kept"
    assert_same_load(cached, load_workspace(workspace))


def test_an_edit_of_a_record_rewrites_only_its_shards_its_project_and_the_index(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = Loads(workspace, monkeypatch)
    loads.load()
    folder = buildcache.cache_folder(workspace)

    def written() -> dict[str, int]:
        return {path.name: path.stat().st_mtime_ns for path in folder.glob("*.pickle")}

    before = written()
    rel = f"{APP}/tasks/APP-11.md"
    _set(workspace / rel, "title", "Only this")
    _age_recent(workspace)
    assert loads.load()[1] == "again"
    after = written()
    project = [name for name in after if name.startswith("load-project-acme-app-")]
    assert sorted(name for name in after if after[name] != before.get(name)) == [
        *project,
        "load.pickle",
        f"parses-{buildcache._parse_shard(rel)}.pickle",
        f"paths-{buildcache._parse_shard(rel)}.pickle",
        "report.pickle",
    ]
    # The project's file of the previous generation is gone, the other project's kept as it was.
    assert len(project) == 1 and project[0] not in before
    assert sorted(name for name in before if name not in after) == [
        name for name in before if name.startswith("load-project-acme-app-")
    ]


def test_a_shard_of_another_load_is_never_mixed_in(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loads = Loads(workspace, monkeypatch)
    loads.load()
    folder = buildcache.cache_folder(workspace)
    [older] = [path.read_bytes() for path in folder.glob("load-project-acme-app-*.pickle")]
    _set(workspace / APP / "tasks/APP-11.md", "title", "Newer title")
    _age_recent(workspace)
    assert loads.load()[1] == "again"
    # As if a run had written this file, then another run the rest: generations differ.
    [shard] = folder.glob("load-project-acme-app-*.pickle")
    shard.write_bytes(older)
    cached, how = loads.load()
    assert how == "whole"
    assert_same_load(cached, load_workspace(workspace))


EDIT_NAMES = sorted(RECORD_EDITS) + sorted(UNSEEN_EDITS) + sorted(WHOLE_EDITS)


@settings(max_examples=12)
@given(st.lists(st.sampled_from(EDIT_NAMES), min_size=1, max_size=4, unique=True))
def test_after_any_sequence_of_edits_the_cached_load_equals_a_cold_load(edits: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ws = _copy(Path(folder) / "ws")
        validate_cached(ws, BuildCache(ws))
        for name in edits:
            {**RECORD_EDITS, **UNSEEN_EDITS, **WHOLE_EDITS}[name](ws)
            _age_recent(ws)
            _, cached = validate_cached(ws, BuildCache(ws))
            assert cached is not None
            assert_same_load(cached, load_workspace(ws))
        shutil.rmtree(buildcache.cache_folder(ws), ignore_errors=True)
