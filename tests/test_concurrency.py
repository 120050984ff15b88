"""Concurrent work (issue 5, point 4): one build per output folder, one write per workspace, at a time.

Builds lock their output folder (flock on the folder) and fail at once when another build holds it:
exit 1, naming the folder and the other build's pid; the site is never a mix of two builds. Writes
lock the workspace (`worktrail.lock` in the Git folder, `.worktrail.lock` in the workspace outside
Git) and wait for each other (up to `writes.LOCK_WAIT_SECONDS`), so two writes at once both land and
neither loses the other's change. Locks die with their process, even a killed one.

Commands run as real subprocesses started together; where the order must be forced, one of them is
paused inside its locked section (see INJECT in tests/test_interrupt.py) until the test lets it go.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.audit_repo import base_repo, project_yaml
from tests.test_interrupt import (
    WRITES,
    child_env,
    cli,
    copy_of,
    dated,
    files_of,
    finish,
    git,
    start,
)
from worktrail import writes
from worktrail.locking import LockBusy, LockError, locked
from worktrail.site import MARKER, STAGING_PREFIX

ROUNDS = 3
# Only to end a test that would otherwise hang if a paused child never arrives; never reached when it works.
PATIENCE_SECONDS = 120.0


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process commands see the same environment as the subprocesses."""
    for name in list(os.environ):
        if name.startswith("GIT_"):
            monkeypatch.delenv(name)
    for name, value in child_env().items():
        monkeypatch.setenv(name, value)


def wait_for(path: Path, proc: subprocess.Popen[bytes]) -> None:
    """Wait until a paused child has created `path` (failing with its output if it ends instead)."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not path.exists():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the child ended before its pause point: {err.decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the child never reached its pause point")
        time.sleep(0.01)


def pause_env(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    ready, go = tmp_path / "ready", tmp_path / "go"
    return {"PAUSE_READY": str(ready), "PAUSE_GO": str(go)}, ready, go


# ------------------------------------------------------------------------------------ builds


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
        repo.write("projects/web/project.yaml", project_yaml().replace("name: Website", "name: Website (v2)"))
        repo.commit("olga", "Rename the project")
        reference = folder / "reference"
        assert cli(repo.workspace, "build", "--out", str(reference)).exit_code == 0
    finally:
        mp.undo()
    return repo.workspace, previous, reference


def test_two_builds_started_together_into_one_folder_leave_one_complete_site(sites, tmp_path):
    ws, previous, reference = sites
    args = ["-C", str(ws), "build", "--out"]
    for index in range(ROUNDS):
        out = tmp_path / f"site{index}"
        shutil.copytree(previous, out)
        first, second = start([*args, str(out)]), start([*args, str(out)])
        results = {first.pid: finish(first), second.pid: finish(second)}
        for pid, (code, err) in results.items():
            assert "Traceback" not in err
            if code != 0:
                # It found the other one building, and stopped at once without touching anything. (The
                # other's pid is unknown only if it was ending its build at that very moment.)
                (other,) = set(results) - {pid}
                assert code == 1
                assert re.search(rf"another worktrail build \(pid ({other}|unknown)\) is writing into ", err), err
                assert f"is writing into {out}, which it holds locked" in err
        assert 0 in [code for code, _ in results.values()]
        assert files_of(out) == files_of(reference)
        assert not [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_a_build_into_a_folder_another_build_holds_fails_at_once_naming_it(sites, tmp_path):
    ws, previous, reference = sites
    out = tmp_path / "site"
    shutil.copytree(previous, out)
    env, ready, go = pause_env(tmp_path)
    args = ["-C", str(ws), "build", "--out", str(out)]
    first = start(args, inject=("site.build_audience_site", "pause", 1), env=env)
    try:
        wait_for(ready, first)
        code, err = finish(start(args))
        assert code == 1
        assert f"another worktrail build (pid {first.pid}) is writing into {out}, which it holds locked" in err
        assert "wait for it to finish, then build again" in err
        assert {p.name: files_of(p) for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")} == {
            p.name: files_of(p) for p in previous.iterdir() if p.is_dir()
        }
    finally:
        go.touch()
    code, err = finish(first)
    assert code == 0, err
    assert files_of(out) == files_of(reference)


def test_a_build_fails_clearly_while_another_process_holds_the_folder(sites, tmp_path):
    ws, previous, _ = sites
    out = tmp_path / "site"
    shutil.copytree(previous, out)
    with locked(out):
        result = cli(ws, "build", "--out", str(out))
    assert result.exit_code == 1
    assert f"another worktrail build (pid unknown) is writing into {out}" in result.stderr
    assert "Traceback" not in result.output
    assert files_of(out) == files_of(previous)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in previous.iterdir())
    assert MARKER in {p.name for p in out.iterdir()}


# ------------------------------------------------------------------------------------ writes


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo, _ = base_repo(tmp_path_factory.mktemp("write") / "ws")
    return repo.workspace


def time_log(root: Path, hours: str, note: str) -> list[str]:
    return ["-C", str(root), "time", "log", "WEB-1", hours, "--note", note, "--as", "gus", "--date", "2026-01-20"]


def commits(root: Path) -> list[str]:
    return git(root, "log", "--format=%s").splitlines()


def test_two_time_logs_started_together_both_land(workspace, tmp_path):
    for index in range(ROUNDS):
        root = copy_of(workspace, tmp_path / f"ws{index}")
        first, second = start(time_log(root, "1.5", "Layout")), start(time_log(root, "2.5", "Images"))
        for code, err in (finish(first), finish(second)):
            assert code == 0, err
        month = (root / "projects/web/time/2026-01.yaml").read_text(encoding="utf-8")
        assert "note: Layout" in month and "note: Images" in month, month
        assert len(commits(root)) == 3
        assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
        assert cli(root, "validate").exit_code == 0


def test_two_task_news_started_together_take_two_numbers(workspace, tmp_path):
    root = copy_of(workspace, tmp_path / "ws")
    base = ["-C", str(root), "task", "new", "web", "--as", "olga", "--title"]
    for code, err in (finish(start([*base, "Alpha"])), finish(start([*base, "Beta"]))):
        assert code == 0, err
    titles = sorted(
        (root / "projects/web/tasks" / f"WEB-{n}.md").read_text(encoding="utf-8").split("\n")[1] for n in (4, 5)
    )
    assert titles == ["title: Alpha", "title: Beta"]
    assert not (root / "projects/web/tasks/WEB-6.md").exists()
    assert len(commits(root)) == 3
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_write_waits_for_the_write_in_progress_then_adds_to_it(workspace, tmp_path):
    root = copy_of(workspace, tmp_path / "ws")
    env, ready, go = pause_env(tmp_path)
    # Paused with its file written and the lock held: the second write must not read the month yet.
    first = start(time_log(root, "1.5", "Layout"), inject=("writes._atomic_write", "pause", 1), env=env)
    try:
        wait_for(ready, first)
        second = start(time_log(root, "2.5", "Images"))
        # It cannot have ended: the lock is held, and it waits far longer than this test pauses.
        assert second.poll() is None
    finally:
        go.touch()
    for code, err in (finish(first), finish(second)):
        assert code == 0, err
    month = (root / "projects/web/time/2026-01.yaml").read_text(encoding="utf-8")
    assert month.index("note: Layout") < month.index("note: Images")
    newest, older, _ = commits(root)
    assert newest.startswith("time: log 2.5") and older.startswith("time: log 1.5")
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_write_that_cannot_get_the_lock_in_time_fails_naming_the_lock_and_its_holder(
    workspace, tmp_path, monkeypatch
):
    root = copy_of(workspace, tmp_path / "ws")
    monkeypatch.setattr(writes, "LOCK_WAIT_SECONDS", 0.2)
    before, head = files_of(root), git(root, "rev-parse", "HEAD")
    lock = root / ".git" / "worktrail.lock"
    with locked(lock):
        result = cli(root, *dated(WRITES["time log"]))
    assert result.exit_code == 1
    assert f"another worktrail write (pid {os.getpid()}) is changing this workspace: {lock}" in result.stderr
    assert "stayed locked for 0.2 s; run the command again when it has finished" in result.stderr
    assert files_of(root) == before
    assert git(root, "rev-parse", "HEAD") == head


def test_writes_outside_git_lock_a_dot_file_the_loader_skips(workspace, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(workspace, root, ignore=shutil.ignore_patterns(".git"))
    result = cli(root, *dated(WRITES["time log"]))
    assert result.exit_code == 0, result.output
    assert (root / ".worktrail.lock").read_bytes() == b""
    assert cli(root, "validate").exit_code == 0


def test_writes_in_git_keep_their_lock_in_the_git_folder(workspace, tmp_path):
    root = copy_of(workspace, tmp_path / "ws")
    assert cli(root, *dated(WRITES["time log"])).exit_code == 0
    assert (root / ".git" / "worktrail.lock").read_bytes() == b""
    assert not (root / ".worktrail.lock").exists()
    assert git(root, "status", "--porcelain", "--untracked-files=all", "--ignored") == ""


# ------------------------------------------------------------------------------------ the lock itself

HOLD = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from worktrail.locking import locked\n"
    "with locked(Path(sys.argv[1])):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(600)\n"
)


def holder(path: Path) -> subprocess.Popen[bytes]:
    """A process that holds the lock on `path` until killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], env=child_env(), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"held\n"
    return proc


def test_a_busy_lock_names_its_file_and_the_holders_pid(tmp_path):
    lock = tmp_path / "worktrail.lock"
    proc = holder(lock)
    try:
        with pytest.raises(LockBusy) as busy, locked(lock):
            pass
        assert busy.value.pid == proc.pid
        assert str(busy.value) == f"{lock} is locked by another Worktrail process (pid {proc.pid})"
    finally:
        proc.kill()
        proc.communicate()


def test_a_lock_held_by_a_killed_process_is_free_at_once(tmp_path):
    lock = tmp_path / "worktrail.lock"
    proc = holder(lock)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    with locked(lock):
        assert lock.read_text(encoding="ascii") == f"{os.getpid()}\n"
    assert lock.read_bytes() == b""


def test_a_lock_waits_for_its_holder_when_asked(tmp_path):
    lock = tmp_path / "worktrail.lock"
    proc = holder(lock)
    killer = subprocess.Popen([sys.executable, "-c", f"import os, time; time.sleep(0.3); os.kill({proc.pid}, 9)"])
    try:
        with locked(lock, wait=PATIENCE_SECONDS):
            assert proc.wait() == -signal.SIGKILL
    finally:
        killer.wait()
        proc.kill()
        proc.communicate()


def test_a_lock_file_that_is_a_symbolic_link_is_refused_and_its_target_untouched(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n", encoding="utf-8")
    lock = tmp_path / "worktrail.lock"
    lock.symlink_to(target)
    with pytest.raises(LockError, match="cannot open the lock"), locked(lock):
        pass
    assert target.read_text(encoding="utf-8") == "keep me\n"
