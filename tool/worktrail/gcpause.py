"""Pausing Python's cyclic garbage collector while the history is walked or a workspace is loaded.

The walk of a long history and the loading of a large workspace make millions of objects that
live on; the collector, triggered by allocations, traverses all of them again and again (at 10,000
tasks it was ~40 % of the walk's time). Those phases make no reference cycles (tests check that
they leave no cyclic garbage), so reference counting frees everything they drop, and pausing the
collector frees nothing later than it would have been freed.
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


def _settle() -> None:
    """Move every object the collector tracks into its oldest generation, without looking at them.

    Whatever the paused block made and kept is still in the youngest generation, which the
    collector's next pass (right after it is back) would walk whole: millions of objects after a
    large walk or load (~0.4 s at 10,000 tasks). `freeze` then `unfreeze` moves them all to the
    oldest generation in constant time, where the rarer full passes look at them as at any other
    long-lived object; nothing stays frozen. Left alone when something else keeps objects frozen
    (`unfreeze` would release those too).
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
