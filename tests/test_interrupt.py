"""Interrupted work (issue 5, point 4): `build` and the write commands killed (SIGKILL) at any point.

A killed build leaves every audience folder complete, as the previous build made it or as the new one
makes it (each is swapped in by one atomic exchange), and its staging folder recognisable
(`.worktrail-build-*` holding a marker, never an audience name); the next build removes that folder,
says so, and writes the same bytes as a clean build.

A killed write leaves a valid workspace whose files each hold their old or their new bytes, a
consistent Git repository and a journal; the next write undoes what was not committed (saying so),
removes temporary files, and succeeds. A git process killed with it may leave `.git/index.lock`: then
the next write says exactly what to do.

Kill points come two ways. Random ones: the real command as a subprocess (its own process group, so
git children die with it), killed after seeded random delays spread over the duration of a complete
run measured first. Exact ones: a child process runs the real command with one library function
wrapped so that the process SIGKILLs its process group (the command and any worker it forked) right
before or after a given call.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.audit_repo import base_repo, project_yaml
from worktrail.cli import main
from worktrail.site import MARKER, MARKER_TEXT, STAGING_MARKER, STAGING_PREFIX

EPOCH = "1767225600"
BUILD_KILLS = 5
WRITE_KILLS = 3
TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{8}\.worktrail\.tmp$")
JOURNAL = ".git/worktrail-write.json"

# Runs the real command line with one function wrapped: `module.name[:first argument after cwd]`,
# `before` or `after` its `nth` matching call (in the command or in a worker it forked), the command's
# process group is killed, as SIGKILL from outside kills it: the command and its workers;
# with `pause`, after that call it creates the file $PAUSE_READY and waits until $PAUSE_GO exists.
INJECT = textwrap.dedent(
    """
    import os, shutil, signal, sys, time
    import worktrail.site, worktrail.writes
    from worktrail.cli import main

    spec, when, nth, *argv = sys.argv[1:]
    target, _, subcommand = spec.partition(":")
    where, name = target.rsplit(".", 1)
    module = {"site": worktrail.site, "writes": worktrail.writes, "os": os, "shutil": shutil}[where]
    real = getattr(module, name)
    calls = 0

    def wrapper(*args, **kwargs):
        global calls
        if subcommand and (len(args) < 2 or args[1] != subcommand):
            return real(*args, **kwargs)
        calls += 1
        if when == "before" and calls == int(nth):
            os.killpg(0, signal.SIGKILL)
        result = real(*args, **kwargs)
        if when == "after" and calls == int(nth):
            os.killpg(0, signal.SIGKILL)
        if when == "pause" and calls == int(nth):
            open(os.environ["PAUSE_READY"], "w").close()
            while not os.path.exists(os.environ["PAUSE_GO"]):
                time.sleep(0.01)
        return result

    setattr(module, name, wrapper)
    main(argv, prog_name="worktrail")
    """
)


# ------------------------------------------------------------------------------------ helpers


def child_env() -> dict[str, str]:
    """The environment of every command: no user Git configuration, a fixed build date."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, SOURCE_DATE_EPOCH=EPOCH)
    return env


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process commands see the same environment as the subprocesses."""
    for name in list(os.environ):
        if name.startswith("GIT_"):
            monkeypatch.delenv(name)
    for name, value in child_env().items():
        monkeypatch.setenv(name, value)


def start(
    args: list[str], *, inject: tuple[str, str, int] | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`python -m worktrail ARGS` (or the injected variant) in its own process group."""
    if inject is None:
        command = [sys.executable, "-m", "worktrail", *args]
    else:
        spec, when, nth = inject
        command = [sys.executable, "-c", INJECT, spec, when, str(nth), *args]
    return subprocess.Popen(
        command,
        env={**child_env(), **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    """Wait for a process; its exit code and its standard error."""
    _, err = proc.communicate()
    return proc.returncode, err.decode("utf-8", "replace")


def timed_run(args: list[str]) -> tuple[int, str, float]:
    """Run a command to its end: exit code, standard error, and how long it took (to place kills)."""
    started = time.monotonic()
    code, err = finish(start(args))
    return code, err, time.monotonic() - started


def kill_after(proc: subprocess.Popen[bytes], delay: float) -> None:
    """SIGKILL the process and its children (git) after `delay` seconds, or let it end before that."""
    time.sleep(delay)
    with contextlib.suppress(ProcessLookupError):  # it may have finished already
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def delays(duration: float, count: int, seed: str) -> list[float]:
    """`count` seeded random moments spread over `duration`, one in each equal slice of it."""
    rng = random.Random(seed)
    return [duration * (index + rng.random()) / count for index in range(count)]


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (dot files too, nothing under .git) with its bytes."""
    out: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] != ".git" and path.is_file():
            out[rel.as_posix()] = path.read_bytes()
    return out


def cli(root: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["-C", str(root), *args])


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, env=child_env(), capture_output=True, text=True, check=True)
    return done.stdout


def assert_repository_sound(root: Path) -> None:
    """`git fsck` finds nothing wrong (dangling objects of an unfinished commit are not wrong)."""
    done = subprocess.run(
        ["git", "fsck", "--no-dangling", "--no-progress"], cwd=root, env=child_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not re.search(r"error|missing|broken|corrupt", done.stdout + done.stderr), done.stdout + done.stderr


def assert_valid(root: Path) -> None:
    result = cli(root, "validate")
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------------------------ build

BUILD_POINTS = [
    pytest.param("site._new_staging", "after", 1, "before", id="staging folder made, nothing built"),
    pytest.param("site.build_audience_site", "after", 2, "before", id="two audiences built, none swapped"),
    pytest.param("site._swap_in", "after", 1, "mixed", id="first audience swapped in"),
    pytest.param("site._swap_in", "before", 4, "mixed", id="all but the last audience swapped in"),
    pytest.param("site._remove_staging", "before", 1, "after", id="all swapped, old sites still staged"),
    pytest.param("site._spawn_removal", "after", 1, "after", id="staging folder half removed"),
]


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A workspace, the site built before its last commit (previous), and the site built after (reference)."""
    folder = tmp_path_factory.mktemp("build")
    mp = pytest.MonkeyPatch()
    for name, value in child_env().items():
        mp.setenv(name, value)
    try:
        repo, _ = base_repo(folder / "ws")
        previous = folder / "previous"
        assert cli(repo.workspace, "build", "--out", str(previous)).exit_code == 0
        # Every audience sees the project's name, so every site changes.
        repo.write("projects/web/project.yaml", project_yaml().replace("name: Website", "name: Website (v2)"))
        repo.commit("olga", "Rename the project")
        reference = folder / "reference"
        assert cli(repo.workspace, "build", "--out", str(reference)).exit_code == 0
    finally:
        mp.undo()
    return repo.workspace, previous, reference


def audiences_of(out: Path) -> dict[str, dict[str, bytes]]:
    return {entry.name: files_of(entry) for entry in sorted(out.iterdir()) if not entry.name.startswith(".")}


def assert_each_site_whole(out: Path, previous: Path, reference: Path) -> dict[str, str]:
    """Each audience folder is the previous site or the new one, entirely; leftovers are recognisable.

    Returns, for each audience, which of the two it is.
    """
    old, new = audiences_of(previous), audiences_of(reference)
    which: dict[str, str] = {}
    for entry in sorted(out.iterdir()):
        if entry.name == MARKER:
            assert entry.read_bytes() == MARKER_TEXT.encode()
        elif entry.name.startswith("."):
            # A staging folder: a dot name (no audience is one), with its marker or emptied.
            assert entry.name.startswith(STAGING_PREFIX), entry.name
            assert entry.is_dir() and ((entry / STAGING_MARKER).is_file() or not any(entry.iterdir())), entry
        else:
            site = files_of(entry)
            assert site in (old[entry.name], new[entry.name]), f"{entry.name}: a mix of two builds"
            which[entry.name] = "before" if site == old[entry.name] else "after"
    assert sorted(which) == sorted(old), "an audience site is missing"
    return which


def test_a_build_killed_at_random_moments_leaves_each_site_whole_and_the_next_build_recovers(sites, tmp_path):
    ws, previous, reference = sites
    out = tmp_path / "site"
    shutil.copytree(previous, out)
    scratch = tmp_path / "scratch"
    code, err, duration = timed_run(["-C", str(ws), "build", "--out", str(scratch)])
    assert code == 0, err
    for delay in delays(duration, BUILD_KILLS, "build"):
        kill_after(start(["-C", str(ws), "build", "--out", str(out)]), delay)
        assert_each_site_whole(out, previous, reference)
    code, err, _ = timed_run(["-C", str(ws), "build", "--out", str(out)])
    assert code == 0, err
    assert files_of(out) == files_of(reference)
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, *audiences_of(reference)])


@pytest.mark.parametrize(("spec", "when", "nth", "expected"), BUILD_POINTS)
def test_a_build_killed_at_each_step_leaves_each_site_whole_and_the_next_build_recovers(
    sites, tmp_path, spec, when, nth, expected
):
    ws, previous, reference = sites
    out = tmp_path / "site"
    shutil.copytree(previous, out)
    code, err = finish(start(["-C", str(ws), "build", "--out", str(out)], inject=(spec, when, nth)))
    assert code == -signal.SIGKILL, f"the kill point was not reached: {err}"
    which = assert_each_site_whole(out, previous, reference)
    if expected == "mixed":
        assert set(which.values()) == {"before", "after"}
    else:
        assert set(which.values()) == {expected}
    stale = [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]
    assert stale, "a killed build leaves its staging folder"

    result = cli(ws, "build", "--out", str(out))
    assert result.exit_code == 0, result.output
    for folder in stale:
        assert f"removed {folder}, left by an interrupted build" in result.stderr
    assert files_of(out) == files_of(reference)
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.name != MARKER]


def test_a_first_build_killed_before_it_wrote_anything_leaves_a_folder_the_next_build_accepts(sites, tmp_path):
    ws, _, reference = sites
    out = tmp_path / "new-site"
    code, _ = finish(start(["-C", str(ws), "build", "--out", str(out)], inject=("site._new_staging", "after", 1)))
    assert code == -signal.SIGKILL
    assert [p.name for p in out.iterdir() if not p.name.startswith(STAGING_PREFIX)] == []
    result = cli(ws, "build", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert files_of(out) == files_of(reference)


# ------------------------------------------------------------------------------------ writes

WRITES: dict[str, list[str]] = {
    "task new": ["task", "new", "web", "--title", "Search", "--change-request", "CR-1", "--as", "olga"],
    "task set": ["task", "set", "WEB-1", "status=in-progress", "--as", "gus"],
    "comment add": ["comment", "add", "WEB-2", "--text", "Photos sent.", "--as", "gina"],
    "time log": ["time", "log", "WEB-1", "1.5", "--note", "Layout", "--as", "gus", "--date", "2026-01-20"],
    "cr approve": ["cr", "approve", "CR-1", "--note", "Agreed.", "--as", "carl"],
}
# The write run after a kill: the same again, except where a repeat may be refused by the rules
# (deciding a decided request); that one still touches the request's file.
NEXT: dict[str, list[str]] = {
    **WRITES,
    "cr approve": ["task", "new", "web", "--title", "Next", "--change-request", "CR-1", "--as", "olga"],
}
DATE = ["--date", "2026-03-02T10:00:00Z"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture workspace of tests/audit_repo.py in a Git repository, copied by each test."""
    repo, _ = base_repo(tmp_path_factory.mktemp("write") / "ws")
    return repo.workspace


def copy_of(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, symlinks=True)
    return target


def dated(args: list[str]) -> list[str]:
    """Fixed dates, so that a write gives the same bytes in every copy of the workspace."""
    return [*args, *([] if "--date" in args else DATE)]


def command(root: Path, label: str) -> list[str]:
    return ["-C", str(root), *dated(WRITES[label])]


def temporary_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".git" not in p.relative_to(root).parts and TEMPORARY.match(p.name)]


def assert_state_after_kill(root: Path, before: dict[str, bytes], after: dict[str, bytes]) -> list[Path]:
    """Each file holds its old or its new bytes, the workspace validates and Git is sound; returns temp files."""
    temporary = temporary_files(root)
    files = {rel: data for rel, data in files_of(root).items() if not TEMPORARY.match(rel.rsplit("/", 1)[-1])}
    for rel, data in files.items():
        assert data in (before.get(rel), after.get(rel)), f"{rel} holds neither its old nor its new bytes"
    assert set(before) <= set(files), "a file disappeared"
    assert_valid(root)
    assert_repository_sound(root)
    return temporary


def assert_next_write_succeeds(root: Path, args: list[str], temporary: list[Path]) -> Result:
    """The next write says what to do about a killed git, cleans up after the killed write, and succeeds."""
    index_lock = root / ".git" / "index.lock"
    if index_lock.exists():
        blocked = cli(root, *args)
        assert blocked.exit_code == 1
        assert f"remove {index_lock} if no other git process is running" in blocked.stderr
        index_lock.unlink()
    result = cli(root, *args)
    assert result.exit_code == 0, result.output
    for path in temporary:
        assert not path.exists()
        assert f"removed {path}, a temporary file" in result.stderr
    assert temporary_files(root) == []
    assert not (root / JOURNAL).exists()
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert_valid(root)
    assert_repository_sound(root)
    return result


@pytest.mark.parametrize("label", sorted(WRITES))
def test_a_write_killed_at_random_moments_leaves_a_valid_workspace_and_the_next_write_succeeds(
    workspace, tmp_path, label
):
    reference = copy_of(workspace, tmp_path / "reference")
    code, err, duration = timed_run(command(reference, label))
    assert code == 0, err
    before, after = files_of(workspace), files_of(reference)
    assert before != after
    for index, delay in enumerate(delays(duration, WRITE_KILLS, label)):
        root = copy_of(workspace, tmp_path / f"ws{index}")
        kill_after(start(command(root, label)), delay)
        temporary = assert_state_after_kill(root, before, after)
        assert_next_write_succeeds(root, dated(NEXT[label]), temporary)


# The write with two files (a new task, and the request that lists it), killed at each step.
WRITE_POINTS = [
    pytest.param("writes._write_journal", "after", 1, "before", id="journal written"),
    pytest.param("os.fsync", "after", 1, "before+temporary", id="new task in its temporary file"),
    pytest.param("writes._atomic_write", "after", 1, "task only", id="new task in place, request not yet"),
    pytest.param("writes._atomic_write", "after", 2, "after", id="both files in place, not validated"),
    pytest.param("writes.git:add", "after", 1, "after", id="staged, not committed"),
    pytest.param("writes.git:commit", "after", 1, "committed", id="committed, journal not removed"),
]
NEW_TASK = "projects/web/tasks/WEB-4.md"


@pytest.fixture(scope="module")
def task_new_after(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The workspace's files after a complete `task new` (the same bytes in every copy: dates are fixed)."""
    reference = copy_of(workspace, tmp_path_factory.mktemp("reference") / "ws")
    assert timed_run(command(reference, "task new"))[0] == 0
    return files_of(reference)


@pytest.mark.parametrize(("spec", "when", "nth", "expected"), WRITE_POINTS)
def test_a_write_killed_at_each_step_is_undone_or_kept_whole_by_the_next_write(
    workspace, task_new_after, tmp_path, spec, when, nth, expected
):
    before, after = files_of(workspace), task_new_after
    head = git(workspace, "rev-parse", "HEAD")
    root = copy_of(workspace, tmp_path / "ws")

    code, err = finish(start(command(root, "task new"), inject=(spec, when, nth)))
    assert code == -signal.SIGKILL, f"the kill point was not reached: {err}"
    temporary = assert_state_after_kill(root, before, after)
    files = {rel: data for rel, data in files_of(root).items() if not TEMPORARY.match(rel.rsplit("/", 1)[-1])}
    assert (root / JOURNAL).exists()
    if expected.startswith("before"):
        assert files == before
        assert bool(temporary) == expected.endswith("temporary")
    elif expected == "task only":
        # New files first: the request never names a task that is not there yet.
        assert files == {**before, NEW_TASK: after[NEW_TASK]}
    else:
        assert files == after
    committed = git(root, "rev-parse", "HEAD") != head

    result = assert_next_write_succeeds(root, command(root, "task new")[2:], temporary)
    assert committed == (expected == "committed")
    if expected == "committed":
        assert "had committed" in result.stderr
        assert (root / "projects/web/tasks/WEB-5.md").exists()
    else:
        assert "an interrupted write" in result.stderr
        assert not (root / "projects/web/tasks/WEB-5.md").exists()
    assert files_of(root)[NEW_TASK] == after[NEW_TASK]
    assert int(git(root, "rev-list", "--count", "HEAD")) == 2 + committed


def test_a_write_killed_while_undoing_a_killed_write_is_finished_by_the_write_after(workspace, tmp_path):
    root = copy_of(workspace, tmp_path / "ws")
    before = files_of(workspace)
    args = command(root, "task new")
    assert finish(start(args, inject=("writes._atomic_write", "after", 2)))[0] == -signal.SIGKILL
    # The next write restores the request first (one `_atomic_write`) and is killed there.
    assert finish(start(args, inject=("writes._atomic_write", "after", 1)))[0] == -signal.SIGKILL
    assert (root / JOURNAL).exists()
    assert_valid(root)
    result = assert_next_write_succeeds(root, args[2:], [])
    assert "removed projects/web/tasks/WEB-4.md" in result.stderr
    assert set(files_of(root)) == {*before, NEW_TASK}
    assert int(git(root, "rev-list", "--count", "HEAD")) == 2


def test_a_write_after_a_killed_git_says_to_remove_the_index_lock_and_changes_nothing(workspace, tmp_path):
    root = copy_of(workspace, tmp_path / "ws")
    lock = root / ".git" / "index.lock"
    lock.write_bytes(b"")
    before, head = files_of(root), git(root, "rev-parse", "HEAD")
    result = cli(root, *WRITES["time log"])
    assert result.exit_code == 1
    assert f"remove {lock} if no other git process is running" in result.stderr
    assert "Traceback" not in result.output
    assert files_of(root) == before
    assert git(root, "rev-parse", "HEAD") == head
    lock.unlink()
    assert cli(root, *WRITES["time log"]).exit_code == 0


def test_a_write_killed_outside_git_is_undone_by_the_next_one_and_its_files_are_ignored(workspace, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(workspace, root, ignore=shutil.ignore_patterns(".git"))
    before = files_of(root)
    args = command(root, "task new")
    assert finish(start(args, inject=("writes._atomic_write", "after", 1)))[0] == -signal.SIGKILL
    assert (root / ".worktrail-write.json").is_file()
    assert_valid(root)  # the lock and the journal are dot files, which the loader skips
    result = cli(root, *args[2:])
    assert result.exit_code == 0, result.output
    assert "was undone (removed projects/web/tasks/WEB-4.md)" in result.stderr
    assert not (root / ".worktrail-write.json").exists()
    # The lock file stays (removing it could let two writers in), empty when no write holds it.
    assert (root / ".worktrail.lock").read_bytes() == b""
    assert set(files_of(root)) == {*before, NEW_TASK, ".worktrail.lock"}
    assert_valid(root)


def test_a_killed_write_is_undone_even_after_the_repository_moved(workspace, tmp_path):
    root = copy_of(workspace, tmp_path / "ws")
    args = command(root, "task new")
    assert finish(start(args, inject=("writes._atomic_write", "after", 2)))[0] == -signal.SIGKILL
    moved = root.rename(tmp_path / "moved")
    result = assert_next_write_succeeds(moved, dated(WRITES["task new"]), [])
    assert "was undone (put back projects/web/changes/CR-1.md, removed projects/web/tasks/WEB-4.md)" in result.stderr
    assert int(git(moved, "rev-list", "--count", "HEAD")) == 2


def test_a_journal_cut_short_by_a_kill_is_dropped_and_the_write_goes_on(workspace, tmp_path):
    root = copy_of(workspace, tmp_path / "ws")
    (root / JOURNAL).write_text('{"files": {"projects/web/tasks/WEB-1.md": {"old": nu', encoding="utf-8")
    result = assert_next_write_succeeds(root, dated(WRITES["time log"]), [])
    assert "the unfinished record of a write killed before it changed any file" in result.stderr


def test_a_damaged_journal_stops_writes_and_says_what_to_do(workspace, tmp_path):
    root = copy_of(workspace, tmp_path / "ws")
    (root / JOURNAL).write_text(
        '{"pid": 1, "root": "..", "commit": true, "folders": [], "files": {"../outside": {"old": null, "new": ""}}}',
        encoding="utf-8",
    )
    before = files_of(root)
    result = cli(root, *dated(WRITES["time log"]))
    assert result.exit_code == 1
    assert "is damaged at '../outside'; check `git status` for what that write left, then remove the file" in (
        result.stderr
    )
    assert "Traceback" not in result.output
    assert files_of(root) == before


def test_a_cancelled_worker_cancels_its_own_workers_before_it_ends(tmp_path: Path) -> None:
    # A site built by a worker makes its pages with workers of its own: cancelled (a page of another
    # site failed), it must stop them before it ends, or they would write on into the staging folder
    # the failed build removes.
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    from worktrail.render_pool import Forked

    late = tmp_path / "written-late"
    started = tmp_path / "started"

    def grandchild() -> None:
        started.write_text("")
        time.sleep(1.0)
        late.write_text("still running after its parent was cancelled")

    def child() -> None:
        worker = Forked(grandchild)
        try:
            worker.result()
        finally:
            worker.cancel()

    worker = Forked(child)
    for _ in range(200):
        if started.exists():
            break
        time.sleep(0.01)
    assert started.exists()
    worker.cancel()
    # Longer than the grandchild would have needed: it was stopped, not left to finish.
    time.sleep(1.5)
    assert not late.exists()
