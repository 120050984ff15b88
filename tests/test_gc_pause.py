"""The walk, the audit, the loader and the trails' filter make no reference cycles, so pausing the
cyclic collector while they run (`gcpause.collector_paused`) frees nothing later than reference
counting does."""

from __future__ import annotations

import gc
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from worktrail import gcpause
from worktrail.audit import run_audit
from worktrail.buildcache import BuildCache, BuildSession, validate_cached
from worktrail.gcpause import collector_paused
from worktrail.load import load_workspace
from worktrail.redact import default_audiences
from worktrail.trail import read_candidates, trails_from

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def saved_garbage() -> Iterator[list[object]]:
    """Cyclic garbage made inside the test, kept for inspection instead of freed."""
    gc.collect()
    flags, enabled = gc.get_debug(), gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()
        if enabled:
            gc.enable()


def _cyclic_garbage_of(work: Callable[[], object], garbage: list[object]) -> list[str]:
    work()
    gc.collect()
    return sorted({f"{type(o).__module__}.{type(o).__qualname__}" for o in garbage if _ours(o)})


def _ours(thing: object) -> bool:
    # Objects of our modules, and functions defined in them (a recursive closure is a cycle).
    code = getattr(thing, "__code__", None)
    if code is not None:
        return "worktrail" in code.co_filename and "<locals>" in getattr(thing, "__qualname__", "")
    return type(thing).__module__.startswith("worktrail.")


def test_walking_the_history_leaves_no_cyclic_garbage(example: Path, saved_garbage: list[object]) -> None:
    ws = load_workspace(example).workspace
    assert ws is not None
    audiences = list(default_audiences(ws))
    found = _cyclic_garbage_of(lambda: read_candidates(example, audiences, parallel=False), saved_garbage)
    assert found == []


def test_filtering_the_trails_leaves_no_cyclic_garbage(example: Path, saved_garbage: list[object]) -> None:
    ws = load_workspace(example).workspace
    assert ws is not None
    audiences = list(default_audiences(ws))
    history = read_candidates(example, audiences, parallel=False)
    gc.collect()
    saved_garbage.clear()
    found = _cyclic_garbage_of(lambda: trails_from(history, ws, audiences), saved_garbage)
    assert found == []


def test_validating_with_the_cache_leaves_no_cyclic_garbage(tmp_path: Path, saved_garbage: list[object]) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(ROOT / "sample-workspace", workspace)
    found = _cyclic_garbage_of(lambda: validate_cached(workspace, BuildCache(workspace)), saved_garbage)
    assert found == []
    task = workspace / "projects/acme-app/tasks/APP-1.md"
    task.write_text(task.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
    found = _cyclic_garbage_of(lambda: validate_cached(workspace, BuildCache(workspace)), saved_garbage)
    assert found == []


def test_auditing_the_history_leaves_no_cyclic_garbage(example: Path, saved_garbage: list[object]) -> None:
    found = _cyclic_garbage_of(lambda: run_audit(example, use_cache=False, parallel=False), saved_garbage)
    assert found == []


@pytest.mark.parametrize("folder", ["sample-workspace", "tests/cases/base"])
def test_loading_a_workspace_leaves_no_cyclic_garbage(folder: str, saved_garbage: list[object]) -> None:
    found = _cyclic_garbage_of(lambda: load_workspace(ROOT / folder), saved_garbage)
    assert found == []


def test_the_collector_is_paused_inside_and_back_as_it_was_after() -> None:
    enabled = gc.isenabled()
    try:
        gc.enable()
        with collector_paused():
            assert not gc.isenabled()
            with collector_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled()
        gc.disable()
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        (gc.enable if enabled else gc.disable)()


def test_what_a_paused_block_keeps_leaves_the_youngest_generation_and_nothing_stays_frozen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The collector's first pass after a pause would walk all the block made and kept: it is moved on at once."""
    enabled = gc.isenabled()
    try:
        gc.disable()
        kept = [[n] for n in range(1_000)]
        assert any(item is kept[0] for item in gc.get_objects(0))
        gcpause._settle()
        assert not any(item is kept[0] for item in gc.get_objects(0))
        assert any(item is kept[0] for item in gc.get_objects(2))
        assert gc.get_freeze_count() == 0
        # Objects someone else set aside stay set aside.
        gc.freeze()
        frozen = gc.get_freeze_count()
        more = [[n] for n in range(10)]
        gcpause._settle()
        assert gc.get_freeze_count() == frozen and more
        gc.unfreeze()
        # A pause settles what it kept when it gives the collector back, and only then.
        settled: list[bool] = []
        monkeypatch.setattr(gcpause, "_settle", lambda: settled.append(gc.isenabled()))
        with collector_paused():
            pass
        assert settled == []
        gc.enable()
        with collector_paused(), collector_paused():
            pass
        assert settled == [False]
    finally:
        gc.unfreeze()
        (gc.enable if enabled else gc.disable)()


def _session(tmp_path: Path) -> BuildSession:
    return BuildSession(
        ROOT / "sample-workspace", use_cache=False, trail=False, names=(), target=tmp_path / "site", epoch=0
    )


def test_a_build_sets_aside_what_it_loaded_until_the_sites_are_built(tmp_path: Path) -> None:
    assert gc.get_freeze_count() == 0
    session = _session(tmp_path)
    try:
        _, result = session.validate()
        assert result is not None and result.workspace is not None
        assert gc.get_freeze_count() > 0, "the loaded workspace is out of the collector's way"
        session.site_hooks(result.workspace)
        assert gc.get_freeze_count() == 0, "handed back before site.build_sites sets aside what lives then"
    finally:
        gc.unfreeze()


def test_a_build_leaves_objects_set_aside_by_someone_else_as_they_are(tmp_path: Path) -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        session = _session(tmp_path)
        _, result = session.validate()
        assert result is not None and result.workspace is not None
        session.site_hooks(result.workspace)
        # Neither handed back (0) nor more set aside (some frozen objects may have been freed since).
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def test_what_a_pause_keeps_while_a_long_lived_hold_is_on_joins_it_without_counting_frozen_objects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Counting frozen objects walks them all: while this module holds objects set aside, it never counts."""
    enabled = gc.isenabled()
    assert gc.get_freeze_count() == 0
    outer, inner = gcpause.LongLived(), gcpause.LongLived()
    try:
        outer.set_aside()
        inner.set_aside()
        frozen = gc.get_freeze_count()
        assert frozen > 0

        def counted() -> int:
            raise AssertionError("frozen objects counted while a hold is on")

        monkeypatch.setattr(gc, "get_freeze_count", counted)
        gc.enable()
        with collector_paused():
            kept = [[n] for n in range(1_000)]
        outer.set_aside()
        monkeypatch.undo()
        assert not any(item is kept[0] for item in gc.get_objects(0))
        assert gc.get_freeze_count() > frozen, "kept by the pause: set aside with the rest"
        # Handed back only when the last hold ends.
        outer.hand_back()
        outer.hand_back()
        assert gc.get_freeze_count() > frozen
        inner.hand_back()
        assert gc.get_freeze_count() == 0
        assert any(item is kept[0] for item in gc.get_objects(2))
    finally:
        outer.hand_back()
        inner.hand_back()
        gc.unfreeze()
        (gc.enable if enabled else gc.disable)()


def test_a_long_lived_hold_leaves_objects_someone_else_froze_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    held = gcpause.LongLived()
    unfrozen: list[bool] = []
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        monkeypatch.setattr(gc, "unfreeze", lambda: unfrozen.append(True))
        monkeypatch.setattr(gc, "freeze", lambda: pytest.fail("set aside over someone else's frozen objects"))
        held.set_aside()
        held.hand_back()
        monkeypatch.undo()
        assert unfrozen == [] and 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def test_a_build_keeps_its_results_until_the_process_ends_only_when_the_program_ends_without_teardown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import weakref

    from click.testing import CliRunner

    from worktrail.cli import main
    from worktrail.load import LoadResult

    class Thing:
        pass

    # Run inside a longer-lived process (as here): nothing is kept.
    monkeypatch.setattr(gcpause, "_kept", None)
    thing = Thing()
    ref = weakref.ref(thing)
    gcpause.keep_until_exit(thing)
    del thing
    assert ref() is None
    # Set to end with os._exit (`cli.entry`): what a build loaded is kept, not freed when it returns.
    gcpause.end_without_teardown()
    workspace = tmp_path / "sample"
    shutil.copytree(Path(__file__).resolve().parent.parent / "sample-workspace", workspace)
    result = CliRunner().invoke(main, ["-C", str(workspace), "build", "--no-cache", "--no-trail"])
    assert result.exit_code == 0, result.output
    kept = gcpause._kept
    assert kept is not None and any(isinstance(item, LoadResult) for item in kept)
    assert any(isinstance(item, BuildSession) for item in kept)
