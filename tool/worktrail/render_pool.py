"""Work done in forked worker processes while the main process goes on (the machine has more cores).

- `build` walks the Git history for the trail in a worker while the main process validates the
  workspace: the two do not depend on each other, and each takes seconds on a large workspace.
- Each site's pages are rendered by the main process and one worker per further CPU, each taking
  every n-th page (`render_pages`).

A worker sends its result back pickled through a pipe; the main process uses it only when it is
exactly what it would have computed itself (same audiences, same pages), and otherwise, or when the
worker failed, does the work itself. So the output never depends on whether a worker ran.

Workers are forked (`os.fork`): they start at once with the parent's memory, and nothing is
re-imported. Without fork (or with one core) the work runs in the caller, when asked for.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    import jinja2

    from .model import Audience
    from .site import Page, SiteContext

T = TypeVar("T")


def workers_available() -> bool:
    """Whether forking a worker can pay and is safe: fork exists, more than one CPU is ours, one thread runs.

    Forking a process that runs other threads (`worktrail serve`) could copy a lock another thread
    holds, and the worker would wait for it forever: such processes do the work themselves.
    """
    if not hasattr(os, "fork") or threading.active_count() > 1:
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
                data = pickle.dumps(("ok", work()), protocol=pickle.HIGHEST_PROTOCOL)
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
        finally:
            os.close(self._fd)
            self._fd = None
            os.waitpid(self._pid, 0)
            self._pid = None
        try:
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


# Below this many pages a worker costs more than it saves.
MIN_PAGES_PER_WORKER = 64


def render_pages(
    env: jinja2.Environment,
    pages: Sequence[Page],
    site_context: Callable[[Page], SiteContext],
    render: Callable[[jinja2.Environment, Page, SiteContext], bytes],
) -> dict[str, bytes]:
    """Every page's bytes by path, rendered by this process and forked workers, one share each.

    Pages are dealt round-robin; each process renders its share from the same (inherited) contexts,
    so the bytes are those a single process would make. A renderer that keeps state (the page
    cache) hands it over with `worker_state()` and takes it back with `merge_worker_state()`.
    """
    count = min(_cpus(), len(pages) // MIN_PAGES_PER_WORKER) if workers_available() else 1
    owner = getattr(render, "__self__", None)

    def work(share: Sequence[Page]) -> tuple[dict[str, bytes], Any]:
        files = {page.path: render(env, page, site_context(page)) for page in share}
        state = owner.worker_state() if owner is not None and hasattr(owner, "worker_state") else None
        return files, state

    if count < 2:
        return work(pages)[0]
    shares = [pages[index::count] for index in range(count)]
    workers = [Forked(functools.partial(work, share)) for share in shares[1:]]
    try:
        files, _ = work(shares[0])
        for share, worker in zip(shares[1:], workers, strict=True):
            answer = worker.result()
            if answer is None:
                # The worker failed: render its share here (the same bytes, only slower).
                answer = work(share)
            elif owner is not None and hasattr(owner, "merge_worker_state"):
                owner.merge_worker_state(answer[1])
            files.update(answer[0])
    finally:
        # Interrupted (or failed) half-way: no worker outlives the build.
        for worker in workers:
            worker.cancel()
    return files


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
