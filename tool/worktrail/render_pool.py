"""Work done in forked worker processes while the main process goes on (the machine has more cores).

- `build` walks the Git history for the trail in a worker while the main process validates the
  workspace (`buildcache` starts it with `Forked` and `light_audiences`): the two do not depend on
  each other, and each takes seconds on a large workspace.
- `build_sites` builds the audience that sees most in the main process while one worker builds the
  others; `buildcache.input_signature` has a worker describe half of the project folders.
- Each site's files are made by the main process and one worker per further CPU (`run_jobs`): a
  job builds one page's context, renders it and writes the file (or makes the export, the feed, ...);
  each process takes the next few jobs until none is left, so no process waits while another works.

A worker sends back pickled through a pipe only what the main process should learn (which jobs it
ran; Markdown and pages it rendered, for later audiences and the build cache). Any job gives the
same bytes in any process, and the jobs of a worker that failed are run by the main process: the
output never depends on whether a worker ran. The history walk is used only when it is exactly
what the main process would have computed itself (same audiences).

Workers are forked (`os.fork`): they start at once with the parent's memory, and nothing is
re-imported. Without fork (or with one core) the work runs in the caller, when asked for.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from .gcpause import collector_paused

if TYPE_CHECKING:
    from .model import Audience

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no fork either, so no workers
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")


def workers_available() -> bool:
    """Whether forking a worker can pay and is safe: fork exists, more than one CPU is ours, one thread runs.

    Forking a process that runs other threads (`worktrail serve`) could copy a lock another thread
    holds, and the worker would wait for it forever: such processes do the work themselves.
    """
    if not hasattr(os, "fork") or fcntl is None or threading.active_count() > 1:
        return False
    return _cpus() > 1


class Forked(Generic[T]):
    """`work()` running in a forked process; `result()` waits for it (None when the worker failed)."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._pid: int | None = None
        self._fd: int | None = None
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, whose coverage is not collected
            os.close(read_end)
            status = 0
            try:
                # Cancelled (`cancel`): stop where the work is, so that its own workers are cancelled
                # and waited for on the way out (killed at once, they would run on, writing files).
                signal.signal(signal.SIGTERM, _cancelled)
                result = work()
                with collector_paused():
                    data = pickle.dumps(("ok", result), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:  # the parent redoes the work and reports any error itself
                data = pickle.dumps(("failed", None))
                status = 1
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(write_end, view) :]
            finally:
                # No atexit handlers, no flushing of the parent's buffers: only the pipe is ours.
                os._exit(status)
        os.close(write_end)
        self._pid, self._fd = pid, read_end

    def result(self) -> T | None:
        """The worker's result, or None when it failed (then the caller does the work itself)."""
        if self._fd is None or self._pid is None:
            return None
        chunks: list[bytes] = []
        try:
            while chunk := os.read(self._fd, 1 << 20):
                chunks.append(chunk)
        except BaseException:
            # Stopped while waiting (this process cancelled, interrupted): the worker is not waited for
            # to the end of its work.
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGTERM)
            raise
        finally:
            os.close(self._fd)
            self._fd = None
            os.waitpid(self._pid, 0)
            self._pid = None
        try:
            # A result holds many small objects: unpickled with the collector paused (see gcpause).
            with collector_paused():
                status, value = pickle.loads(b"".join(chunks))  # noqa: S301 -- our own child, through our own pipe
        except Exception:  # a worker killed half-way leaves a truncated stream
            return None
        return value if status == "ok" else None

    def cancel(self) -> None:
        """Stop waiting: end the worker (if still running) and reap it; nothing to do once `result()` ran."""
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGTERM)
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            os.waitpid(self._pid, 0)
            self._pid = None


class _Cancelled(BaseException):
    """Raised in a worker whose parent cancelled it (SIGTERM): it unwinds, cancelling its own workers."""


def _cancelled(_signum: int, _frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise _Cancelled


def light_audiences(root: Path) -> tuple[Audience, ...] | None:
    """The workspace's audiences from its settings, people and teams alone (projects are not read)."""
    from .load import ScanTree, load_tree
    from .redact import default_audiences

    class _NoProjects(ScanTree):
        def children(self, rel: str) -> list[str]:
            return [name for name in super().children(rel) if rel or name != "projects"]

        def kind(self, rel: str) -> Any:
            return None if rel == "projects" or rel.startswith("projects/") else super().kind(rel)

    result = load_tree(_NoProjects(root), root)
    if result.workspace is None or result.errors:
        return None
    return default_audiences(result.workspace)


# Below this many jobs (files) a worker costs more than it saves.
MIN_PAGES_PER_WORKER = 64
# Jobs are taken this many at a time at most (fewer near the end of a small site).
MAX_CHUNK = 16


class WorkerState(Protocol):
    """Something a worker learns while it runs jobs (a cache), handed back to the main process."""

    def worker_state(self) -> Any:
        """What this process learnt since the workers were started (called in the worker)."""

    def merge_worker_state(self, state: Any) -> None:
        """Take in what a worker learnt (called in the main process)."""


def run_jobs(
    jobs: Sequence[Callable[[], None]], shared: Sequence[WorkerState] = (), heavy: int = 0, weight: int = 1
) -> None:
    """Run every job once, in this process and in forked workers, each taking the next jobs as it goes.

    A job makes and writes its own output, so nothing but `shared` state travels back. Which
    process runs which job does not change any output; the jobs of a worker that fails are run
    again here. `shared` objects must not have changed in this process since they were made.
    The first `heavy` jobs each make a whole file of the site from every project (the feed, the
    export, ...): each counts as `weight` pages toward starting a worker, and they are taken one
    at a time, so that two of them are not run one after the other by one process while another
    has nothing left to take (a rebuild has a few of them and little else).
    """
    pages = len(jobs) + heavy * (max(weight, 1) - 1)
    count = min(_cpus(), pages // MIN_PAGES_PER_WORKER) if workers_available() else 1
    if count < 2:
        for job in jobs:
            job()
        return
    chunk = max(1, min(MAX_CHUNK, (len(jobs) - heavy) // (count * 32)))
    with _Counter() as counter:

        def take() -> list[int]:
            done: list[int] = []
            while (taken := counter.take(chunk, heavy)).start < len(jobs):
                for index in range(taken.start, min(taken.stop, len(jobs))):
                    jobs[index]()
                    done.append(index)
            return done

        def work() -> tuple[list[int], list[Any]]:
            done = take()
            return done, [owner.worker_state() for owner in shared]

        workers = [Forked(work) for _ in range(count - 1)]
        try:
            done = set(take())
            for worker in workers:
                answer = worker.result()
                if answer is None:
                    continue
                indices, states = answer
                for owner, state in zip(shared, states, strict=True):
                    owner.merge_worker_state(state)
                done.update(indices)
            # A worker failed (or was killed): its jobs run here (the same bytes, only slower).
            for index, job in enumerate(jobs):
                if index not in done:
                    job()
        finally:
            # Interrupted (or failed) half-way: no worker outlives the build.
            for worker in workers:
                worker.cancel()


class _Counter:
    """The index of the next job to take, shared by forked processes: a number in a file, under a lock.

    A POSIX record lock is per process and is released when its holder dies, so a worker killed
    while taking jobs cannot stop the others.
    """

    def __enter__(self) -> _Counter:
        self._file = tempfile.TemporaryFile()
        self._fd = self._file.fileno()
        os.pwrite(self._fd, bytes(8), 0)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._file.close()

    def take(self, count: int, singles: int = 0) -> range:
        """The next `count` indices, or the next one alone below `singles` (at or past the end once all are taken)."""
        fcntl.lockf(self._fd, fcntl.LOCK_EX)
        try:
            start = int.from_bytes(os.pread(self._fd, 8, 0), "little")
            stop = start + (1 if start < singles else count)
            os.pwrite(self._fd, stop.to_bytes(8, "little"), 0)
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)
        return range(start, stop)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
