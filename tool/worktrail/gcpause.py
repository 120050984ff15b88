"""Pausing Python's cyclic garbage collector while the history is walked or a workspace is loaded.

The walk of a long history and the loading of a large workspace make millions of objects that
live on; the collector, triggered by allocations, traverses all of them again and again (at 10,000
tasks it was ~40 % of the walk's time). Those phases make no reference cycles (tests check that
they leave no cyclic garbage), so reference counting frees everything they drop, and pausing the
collector frees nothing later than it would have been freed.

What lives for the rest of a build (the loaded workspace, the history, the views) is set aside
from the collector with `LongLived` (`gc.freeze`) and handed back at the end. Only this module
freezes and unfreezes: it knows whether objects it froze are set aside without asking the
collector, whose count of frozen objects walks all of them (~0.1 s each time at 10,000 tasks).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Automatic cyclic collection off for the block; it is back as it was afterwards (nesting is fine)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            _settle()
            gc.enable()


# How many `LongLived` hold objects set aside now (all frozen objects are theirs while one does).
_holding = 0


def _settle() -> None:
    """Move every object the collector tracks out of its youngest generation, without looking at them.

    Whatever the paused block made and kept is still in the youngest generation, which the
    collector's next pass (right after it is back) would walk whole: millions of objects after a
    large walk or load (~0.4 s at 10,000 tasks). While a `LongLived` holds objects set aside,
    these join them (`freeze`, constant time), and are handed back with them. Otherwise `freeze`
    then `unfreeze` moves them all to the oldest generation in constant time, where the rarer full
    passes look at them as at any other long-lived object; nothing stays frozen. Left alone when
    something else keeps objects frozen (`unfreeze` would release those too).
    """
    if _holding:
        gc.freeze()
    elif gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


class LongLived:
    """Sets aside from the cycle collector all that lives now (`set_aside`, any number of times), until `hand_back`.

    A collection walks every object it tracks; what lives for the rest of a build (millions of
    objects at 10,000 tasks) would be walked by each full collection again, and forked workers
    would copy the memory the collector touches. Objects someone else set aside (`gc.freeze`
    outside this module) are left as they are: then nothing is set aside or handed back here.
    Everything set aside is handed back when the last `LongLived` holding objects hands back.
    """

    def __init__(self) -> None:
        self._holds = False

    def set_aside(self) -> None:
        global _holding
        if not self._holds:
            if not _holding and gc.get_freeze_count():
                return
            _holding += 1
            self._holds = True
        gc.freeze()

    def hand_back(self) -> None:
        global _holding
        if self._holds:
            self._holds = False
            _holding -= 1
            if not _holding:
                gc.unfreeze()


# What commands keep alive until the process ends, once the program is set to end without freeing its
# heap (`end_without_teardown`); None: objects are freed as usual (tests run many commands in one process).
_kept: list[object] | None = None


def end_without_teardown() -> None:
    """The process will end with `os._exit` (`cli.entry`): what `keep_until_exit` is given is never freed."""
    global _kept
    _kept = []


def keep_until_exit(*objects: object) -> None:
    """Keep a command's large results alive until the process ends, when it ends without tearing down its heap.

    A build's workspace, trails and caches are millions of objects: freeing them when the command
    returns took ~0.1 s of a rebuild (one by one, by reference counting), only for the process to
    end. Otherwise (a command run inside a longer-lived process, as tests do) nothing is kept.
    """
    if _kept is not None:
        _kept.extend(objects)
