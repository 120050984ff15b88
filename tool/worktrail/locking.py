"""Advisory locks (`fcntl.flock`): one writer of a workspace at a time, one build per output folder.

The kernel holds a flock for an open file description and drops it when the process ends, however
it ends (SIGKILL included), so a crashed holder never leaves a stale lock. Lock files are therefore
never deleted: removing one while another process waits on it would let two processes each hold
"the" lock. The holder writes its pid into a lock file (and empties it on release) so that a busy
lock can say who holds it; a folder cannot hold text, so a folder lock asks a `holder` callback.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

__all__ = ["LockBusy", "LockError", "locked", "read_pid"]

# How often a waiting process tries again: short next to a write (~0.2 s), cheap for the machine.
POLL_SECONDS: Final = 0.05


class LockError(Exception):
    """The lock cannot be taken at all (not a regular file or folder, a symbolic link, an I/O error)."""


class LockBusy(LockError):
    """Another process holds the lock (and still did after `waited` seconds)."""

    def __init__(self, path: Path, pid: int | None, waited: float) -> None:
        self.path = path
        self.pid = pid
        self.waited = waited
        holder = f"pid {pid}" if pid is not None else "pid unknown"
        after = f" (waited {waited:g} s)" if waited > 0 else ""
        super().__init__(f"{path} is locked by another Worktrail process ({holder}){after}")


def read_pid(path: Path) -> int | None:
    """The pid written in a lock or marker file (`<pid>` on the first line), or None."""
    with contextlib.suppress(OSError, ValueError):
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            text = os.read(fd, 64).decode("ascii", "replace")
        finally:
            os.close(fd)
        first = text.split()[0] if text.split() else ""
        return int(first) if first.isdigit() else None
    return None


def _open(path: Path) -> tuple[int, bool]:
    """An open descriptor on `path` (a folder, or a regular file created if missing) and whether it is a folder."""
    # O_NOFOLLOW: a lock file planted as a symbolic link must not make us truncate what it points to.
    flags = os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        if path.is_dir() and not path.is_symlink():
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | flags)
        else:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | flags, 0o666)
    except OSError as exc:
        raise LockError(f"cannot open the lock {path}: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        os.close(fd)
        raise LockError(f"the lock {path} is neither a regular file nor a folder")
    return fd, stat.S_ISDIR(mode)


@contextlib.contextmanager
def locked(path: Path, *, wait: float = 0.0, holder: Callable[[], int | None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (a folder, or a file created if missing) inside the block.

    Waits up to `wait` seconds for another holder, then raises LockBusy naming `path` and the holder's pid.
    """
    fd, is_folder = _open(path)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pid = holder() if holder is not None else None
                    if pid is None and not is_folder:
                        pid = read_pid(path)
                    raise LockBusy(path, pid, wait) from None
                time.sleep(min(POLL_SECONDS, remaining))
            except OSError as exc:
                raise LockError(f"cannot lock {path}: {exc.strerror}") from None
        if not is_folder:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            if not is_folder:
                # Empty before unlocking, so the file never names a holder that has gone.
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
    finally:
        os.close(fd)
