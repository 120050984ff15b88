"""Every shortcut taken for speed answers exactly as the plain way does (issue 6: fast at 10,000 tasks)."""

from __future__ import annotations

import dataclasses
import filecmp
import os
import pickle
import posixpath
import shutil
from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.audit_repo import base_repo, comment_md, person_yaml, task_md
from worktrail import history, render_pool
from worktrail import model as m
from worktrail.audit import run_audit
from worktrail.cli import main
from worktrail.history import HistorySource, Snapshot, event_visible, walk
from worktrail.load import ScanTree
from worktrail.policy import PersonViewer, Policy, RoleViewer, TeamViewer, Viewer
from worktrail.redact import default_audiences
from worktrail.render_pool import Forked
from worktrail.site import _relative
from worktrail.trail import read_candidates
from worktrail.tree import DiskTree
from worktrail.validate import validate_workspace

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample-workspace"
ENV = {"SOURCE_DATE_EPOCH": "1774958400"}


# -- loading ------------------------------------------------------------------------------------


def _all_paths(tree: DiskTree, rel: str = "") -> list[str]:
    out = [rel]
    if tree.kind(rel) == "dir":
        for name in tree.children(rel):
            out += _all_paths(tree, f"{rel}/{name}" if rel else name)
    return out


def test_the_scanning_tree_answers_like_the_disk_tree_links_and_odd_entries_included(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(SAMPLE, root)
    (root / "people" / "link.yaml").symlink_to(root / "people" / "ana.yaml")
    (root / "projects" / "linked").symlink_to(root / "projects")
    os.mkfifo(root / "teams" / "pipe.yaml")
    plain, scanned = DiskTree(root), ScanTree(root)
    paths = _all_paths(plain)
    paths += [f"{p}/missing" for p in paths] + ["projects/linked/x", "nowhere/at/all"]
    for rel in paths:
        assert scanned.kind(rel) == plain.kind(rel), rel
        assert scanned.children(rel) == plain.children(rel), rel
        if plain.kind(rel) == "file":
            assert scanned.read(rel) == plain.read(rel)


def test_loading_through_the_scanning_tree_finds_what_the_plain_loader_finds(tmp_path: Path) -> None:
    report, result = validate_workspace(SAMPLE)
    assert result.tree is not None and isinstance(result.tree, ScanTree)
    assert report.errors == 0 and result.workspace is not None


# -- relative links -----------------------------------------------------------------------------

_SEGMENT = st.sampled_from(["index.html", "projects", "web", "tasks", "WEB-1.html", "a b", "é", "x.md", ".", ".."])


@settings(derandomize=True, deadline=None, max_examples=300)
@given(st.lists(_SEGMENT, min_size=1, max_size=5), st.lists(_SEGMENT, min_size=0, max_size=5))
def test_relative_links_are_those_of_posixpath_relpath(target: list[str], start: list[str]) -> None:
    target_path, start_path = "/".join(target), "/".join(start) or "."
    assert _relative(target_path, start_path) == posixpath.relpath(target_path, start_path)


# -- history ------------------------------------------------------------------------------------


def _compare_assemblies(workspace: Path) -> int:
    """Each changed project of each state of the history, updated commit by commit, against the same
    project assembled from scratch; how many were compared."""
    compared = 0
    with HistorySource(workspace) as source:
        for step in walk(source):
            projects = {c.path.split("/")[1] for c in step.commit.changes if c.path.startswith("projects/")}
            for project_id in sorted(projects):
                for state in (step.before, step.after):
                    fresh = Snapshot(state._ctx, state._groups)
                    assembled = state.project(project_id)
                    assert assembled == fresh.project(project_id), (step.commit.id, project_id)
                    # The index the assembly hands over is the one the project would build itself.
                    if assembled is not None:
                        assert assembled.task_index == {t.id: t for t in assembled.tasks}
                    compared += 1
    return compared


def test_projects_updated_commit_by_commit_equal_projects_assembled_from_scratch(example: Path) -> None:
    assert _compare_assemblies(example) > 100


def test_tasks_added_several_at_once_removed_and_added_again_keep_the_loaders_order(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    # Two new tasks whose files come in the other order than their numbers (WEB-10 before WEB-9).
    for number in (9, 10):
        repo.write(f"projects/web/tasks/WEB-{number}.md", task_md(f"Task {number}", created_by="uma"))
    repo.commit("uma", "Two tasks at once")
    repo.write("projects/web/tasks/WEB-9/comments/c1.md", comment_md("uma"))
    repo.commit("uma", "A comment alone")
    repo.remove("projects/web/tasks/WEB-10.md")
    repo.commit("uma", "The last task goes")
    repo.write("projects/web/tasks/WEB-10.md", task_md("Task 10 again", created_by="uma"))
    repo.commit("uma", "And comes back")
    for number in (12, 11, 13):
        repo.write(f"projects/web/tasks/WEB-{number}.md", task_md(f"Task {number}", created_by="uma"))
    repo.commit("uma", "Three more at once")
    assert _compare_assemblies(repo.workspace) >= 10


_STEP_KEYS = st.sampled_from([f"T-{n}" for n in range(12)])
_STEPS = st.lists(st.lists(st.tuples(_STEP_KEYS, st.none() | st.integers(0, 99)), max_size=6), max_size=30)


@given(start=st.dictionaries(_STEP_KEYS, st.integers(0, 99)), commits=_STEPS, limit=st.integers(1, 8))
@settings(max_examples=300)
def test_a_layered_map_takes_sets_and_removals_in_the_order_a_dict_does(
    start: dict[str, int], commits: list[list[tuple[str, int | None]]], limit: int
) -> None:
    """Replaced keys keep their place, new keys go last, a removed key set again goes last; every
    state before stays as it was (states share what they did not change)."""
    states: list[tuple[history._Layered[int], dict[str, int]]] = [(history._Layered(dict(start)), dict(start))]
    with mock.patch.object(history, "_LAYER_LIMIT", limit):
        for steps in commits:
            layered, plain = states[-1]
            plain = dict(plain)
            for key, value in steps:
                if value is None:
                    plain.pop(key, None)
                else:
                    plain[key] = value
            made = layered.updated((key, history._GONE if value is None else value) for key, value in steps)
            states.append((made, plain))
    for layered, plain in states:
        assert list(layered.items()) == list(plain.items())
        assert len(layered) == len(plain)
        assert layered.flat() == plain
        for key in [f"T-{n}" for n in range(12)]:
            assert (key in layered) == (key in plain)
            assert layered.get(key) == plain.get(key)


def test_an_assembled_project_equals_hashes_pickles_and_replaces_as_the_loaded_one(example: Path) -> None:
    _, result = validate_workspace(example)
    assert result.workspace is not None
    last = None
    with HistorySource(example) as source:
        for step in walk(source):
            last = step.after
        assert last is not None
        for project_id, loaded in result.workspace.projects.items():
            assembled = last.project(project_id)
            assert isinstance(assembled, history._AssembledProject)
            assert assembled == loaded and loaded == assembled
            assert hash(assembled) == hash(loaded)
            assert repr(assembled) == repr(loaded)
            copied = pickle.loads(pickle.dumps(assembled))
            assert type(copied) is m.Project and copied == loaded
            assert m.replaced(assembled, name="Renamed") == m.replaced(loaded, name="Renamed")
            assert dataclasses.replace(assembled, name="Renamed") == dataclasses.replace(loaded, name="Renamed")
            assert dict(assembled.task_index) == loaded.task_index


def _count_full_assemblies(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    calls: Counter[str] = Counter()
    full = history._Assembly.full.__func__  # type: ignore[attr-defined]

    def counted(cls: type, base: Any, groups: Any, ctx: Any) -> Any:
        calls[base.id] += 1
        return full(cls, base, groups, ctx)

    monkeypatch.setattr(history._Assembly, "full", classmethod(counted))
    return calls


def test_the_walk_and_the_audit_assemble_each_project_from_all_its_records_once(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every later commit updates the assembly it inherits: assembling a project anew at each commit
    # made a 10,000-task audit take minutes instead of seconds.
    calls = _count_full_assemblies(monkeypatch)
    loaded = validate_workspace(example)[1]
    assert loaded is not None and loaded.workspace is not None
    read_candidates(example, default_audiences(loaded.workspace), parallel=False)
    assert calls and max(calls.values()) == 1, calls
    calls.clear()
    run_audit(example, use_cache=False, parallel=False)
    assert calls and max(calls.values()) == 1, calls
    # Also when a rejected change keeps the accepted state apart from the actual one.
    repo, _ = base_repo(tmp_path / "repo")
    repo.write("people/gus.yaml", person_yaml("gus", "user"))
    repo.commit("gus", "Make me a user")
    for number in range(3):
        repo.write("projects/web/tasks/WEB-1.md", task_md(f"Home page v{number}", assignee="gus", created_by="uma"))
        repo.commit("uma", f"Retitle WEB-1 ({number})")
    calls.clear()
    assert len(run_audit(repo.workspace, use_cache=False, parallel=False).violations) == 1
    assert max(calls.values()) <= 2, calls


def test_rules_over_one_project_judge_its_events_as_the_rules_over_the_whole_workspace(example: Path) -> None:
    _, result = validate_workspace(example)
    assert result.workspace is not None
    now = Policy(result.workspace)
    viewers: list[Viewer] = [RoleViewer("admin"), *(PersonViewer(p) for p in result.workspace.people)]
    viewers += [TeamViewer(t) for t in result.workspace.teams]
    judged = 0
    with HistorySource(example) as source:
        for step in walk(source):
            for event in step.events:
                project = event.entity.project
                whole = (step.before.policy(), step.after.policy())
                scoped = (step.before.policy_for(project), step.after.policy_for(project))
                for viewer in viewers:
                    expected = event_visible(*whole, now, viewer, event)
                    assert event_visible(*scoped, now, viewer, event) == expected, (event, viewer)
                    judged += 1
    assert judged > 1000


# -- worker processes ---------------------------------------------------------------------------


def _same_tree(left: Path, right: Path) -> bool:
    left_files = sorted(p.relative_to(left) for p in left.rglob("*") if p.is_file())
    right_files = sorted(p.relative_to(right) for p in right.rglob("*") if p.is_file())
    return left_files == right_files and all(filecmp.cmp(left / p, right / p, shallow=False) for p in left_files)


def test_sites_rendered_by_worker_processes_are_byte_identical_to_one_process(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKTRAIL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(render_pool, "MIN_PAGES_PER_WORKER", 1)
    monkeypatch.setattr(render_pool, "_cpus", lambda: 3)
    pooled, single = tmp_path / "pooled", tmp_path / "single"
    runner = CliRunner()
    assert (
        runner.invoke(main, ["-C", str(example), "build", "--no-cache", "--out", str(pooled)], env=ENV).exit_code == 0
    )
    monkeypatch.setattr(render_pool, "workers_available", lambda: False)
    assert (
        runner.invoke(main, ["-C", str(example), "build", "--no-cache", "--out", str(single)], env=ENV).exit_code == 0
    )
    assert _same_tree(pooled, single)


def _fails() -> int:
    raise ValueError("broken worker")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_worker_that_fails_gives_no_result_so_the_caller_does_the_work_itself() -> None:
    assert Forked(_fails).result() is None
    assert Forked(lambda: 6 * 7).result() == 42


def test_model_replaced_gives_what_dataclasses_replace_gives() -> None:
    """`model.replaced` (used per commit by the history walk) is `dataclasses.replace` without `__init__`."""
    import dataclasses

    from worktrail import model
    from worktrail.load import load_workspace

    ws = load_workspace(ROOT / "sample-workspace").workspace
    assert ws is not None
    project = next(p for p in ws.projects.values() if len(p.tasks) > 1)
    assert project.task_index  # a cached property, which must not be carried over
    fewer = project.tasks[:1]
    made = model.replaced(project, tasks=fewer)
    assert made == dataclasses.replace(project, tasks=fewer)
    assert type(made) is type(project)
    assert list(made.task_index) == [fewer[0].id]
    task = project.tasks[0]
    assert model.replaced(task, comments=()) == dataclasses.replace(task, comments=())
    with pytest.raises(TypeError):
        model.replaced(task, no_such_field=1)


def test_model_classes_have_no_post_init_and_no_slots_so_replaced_may_skip_init() -> None:
    import dataclasses
    import inspect

    from worktrail import model

    classes = [c for _, c in inspect.getmembers(model, inspect.isclass) if dataclasses.is_dataclass(c)]
    assert len(classes) > 10
    for cls in classes:
        assert not hasattr(cls, "__post_init__"), cls
        assert "__slots__" not in vars(cls), cls
