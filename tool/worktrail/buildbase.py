"""What the site builder shares with the commands and the trail without loading the builder itself
(Jinja2, Markdown, ~0.1 s to import): its errors, the build time, and the trail's events.

`site` re-exports all of it. A build starts walking the history in a worker before the builder is
imported; that worker reads events as `TrailEvent`s without importing the builder either.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

# A build stages its sites in `OUT/.worktrail-build-*`, holding STAGING_MARKER (the builder's pid):
# one left by a killed build is recognised by both and removed by the next build into OUT.
STAGING_PREFIX: Final = ".worktrail-build-"
STAGING_MARKER: Final = ".worktrail-build"


class BuildError(Exception):
    """The build could not run; nothing was changed in the output folder."""


class UnknownAudienceError(BuildError):
    """`--audience` named an audience that the workspace does not define."""

    def __init__(self, unknown: Sequence[str], known: Sequence[str]) -> None:
        self.unknown = tuple(unknown)
        self.known = tuple(known)
        super().__init__(f"unknown audience {', '.join(self.unknown)}; known audiences: {', '.join(self.known)}")


class UnsafeOutputError(BuildError):
    """The output folder holds something that is not a previous Worktrail build."""


@dataclass(frozen=True)
class TrailEvent:
    """One history event already filtered for the audience (SPEC §3 Trail), e.g. "status open → review".

    Supplied by the trail module; the site shows it on the trail page, the entity's history
    section and the Atom feed. `message` (the raw commit message) is shown only to a view that
    sees everything.
    """

    when: dt.datetime
    summary: str
    author: str
    project: str | None = None
    entity: str | None = None
    kind: str = "task"
    message: str | None = None
    key: str = ""


def default_epoch() -> int:
    """The build time: `SOURCE_DATE_EPOCH` when set, else the start of the current UTC day."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if value:
        try:
            return int(value)
        except ValueError:
            raise BuildError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, not {value!r}") from None
    now = int(time.time())
    return now - now % 86400
