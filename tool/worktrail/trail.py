"""The trail of each audience's site: history events filtered for that viewer (SPEC §3 "Trail").

History is walked once; every event is judged for every audience with `history.event_visible`,
which asks the policy about the entity now AND in the states before and after the commit, so an old
title from when a task was hidden never reaches a site. Summaries name only what the viewer may see:
a person the viewer does not see is "someone", long texts and lists are "edited", never quoted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
import pickle
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from . import model as m
from .buildbase import TrailEvent
from .gcpause import collector_paused
from .history import Event, HistorySource, Step, seen_in_states, seen_now, walk
from .i18n import Formatter
from .policy import Policy, Viewer, viewer_for_audience

# Fields whose values are short enough, and plain enough, to show as "old → new".
_SHOWN_FIELDS = frozenset(
    {
        "status",
        "priority",
        "due",
        "start",
        "milestone",
        "deliverable",
        "title",
        "estimate_hours",
        "baseline",
        "rating",
        "change_request",
        "requested_on",
        "hours",
        "date",
        "name",
        "key",
    }
)
# Fields that hold a person id: shown as that person's name only when the viewer sees the person.
_PERSON_FIELDS = frozenset(
    {"assignee", "created_by", "requested_by", "author", "person", "by", "signed_off_by", "decision.by"}
)
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_FIELD_LABELS = {"estimate_hours": "estimate", "change_request": "change request", "decision.by": "decided by"}


@dataclass(frozen=True)
class TrailPart:
    """One project's events in each audience's trail (id "": the events of no project), as filtered.

    Each event comes with its place among the history's candidates (`HistoryTrail.candidates`),
    where the trails put it back. `key` says what the filter read: the history, the project and
    all else of the workspace the verdicts and summaries read (`trails_from`).
    """

    key: bytes
    events: Mapping[str, tuple[tuple[int, TrailEvent], ...]]


# The events of one audience's trail filtered from the candidates, by project: a project's events with their places.
Filtered = dict[str, tuple[tuple[int, TrailEvent], ...]]


@dataclass
class Trails:
    """Per audience name, its filtered events (oldest first), plus warnings from reading history.

    `parts`: the same events by project, for a later build to take over (`trails_from`).
    An audience `filter_trails` was told to leave for later is filtered when its events are first
    asked for (`for_audience`), in the process that asks: a site built by a forked worker filters
    its own trail there, and hands what it filtered back (`worker_state`). `complete()` filters
    every audience still left, so that `parts` hold them all.
    """

    events: dict[str, list[TrailEvent]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    commits: int = 0
    parts: dict[str, TrailPart] = field(default_factory=dict)
    # The audiences left for later, and what filters one of them (by project, the projects not taken over).
    pending: set[str] = field(default_factory=set)
    filter_later: Callable[[str], Filtered] | None = field(default=None, repr=False, compare=False)
    # What this process filtered of the audiences left for later (`worker_state`).
    filtered_here: dict[str, Filtered] = field(default_factory=dict, repr=False, compare=False)

    def for_audience(self, name: str) -> list[TrailEvent]:
        if name in self.pending and self.filter_later is not None:
            filtered = self.filter_later(name)
            self.filtered_here[name] = filtered
            self._add(name, filtered)
        return self.events.get(name, [])

    def complete(self) -> None:
        """Filter every audience left for later (their events are in `parts` afterwards)."""
        for name in sorted(self.pending):
            self.for_audience(name)

    def worker_state(self) -> dict[str, Filtered]:
        """The audiences this process filtered that were left for later (called in a worker)."""
        return dict(self.filtered_here)

    def merge_worker_state(self, state: dict[str, Filtered]) -> None:
        """Take in the audiences a worker filtered (those still left for later here)."""
        for name, filtered in sorted(state.items()):
            if name in self.pending:
                self._add(name, filtered)

    def _add(self, name: str, filtered: Filtered) -> None:
        for pid, found in filtered.items():
            part = self.parts[pid]
            self.parts[pid] = TrailPart(part.key, {**part.events, name: found})
        self.events[name] = _merged(self.parts, name)
        self.pending.discard(name)


def _merged(parts: Mapping[str, TrailPart], name: str) -> list[TrailEvent]:
    """An audience's events of every part, put back in their places."""
    placed_events = [item for _, part in sorted(parts.items()) for item in part.events.get(name, ())]
    placed_events.sort(key=operator.itemgetter(0))
    return [event for _, event in placed_events]


class _Summaries:
    def __init__(self, ws: m.Workspace, policy: Policy, viewer: Viewer, fmt: Formatter) -> None:
        self.ws = ws
        self.policy = policy
        self.viewer = viewer
        self.fmt = fmt
        self._people: dict[str, str] = {}

    def person(self, ident: Any) -> str:
        if not isinstance(ident, str) or not ident:
            return self.fmt.t("ev.nothing")
        if ident not in self._people:
            person = self.ws.people.get(ident)
            visible = person is not None and bool(self.policy.can_see(self.viewer, person))
            self._people[ident] = person.name if visible and person is not None else self.fmt.t("ev.someone")
        return self._people[ident]

    def value(self, name: str, value: Any) -> str:
        if value is None or value == "":
            return self.fmt.t("ev.nothing")
        if name in _PERSON_FIELDS:
            return self.person(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dt.datetime):
            return self.fmt.datetime(value)
        if isinstance(value, dt.date):
            return self.fmt.date(value)
        if isinstance(value, str) and _ISO_DATE.match(value):
            try:
                return self.fmt.date(dt.date.fromisoformat(value))
            except ValueError:
                return value
        return str(value)

    def what(self, event: Event) -> str:
        ref = event.entity
        if ref.kind == "task":
            return ref.id
        if ref.kind == "change":
            return ref.id
        if ref.kind in ("comment", "time"):
            return self.fmt.t(f"ev.kind.{ref.kind}", id=ref.id, task=ref.task or "")
        return self.fmt.t(f"ev.kind.{ref.kind}", id=ref.id)

    def summary(self, event: Event) -> str:
        ref = event.entity
        if event.kind == "comment-added":
            return self.fmt.t("ev.comment", id=ref.id, task=ref.task or "")
        if event.kind == "time-logged":
            return self.fmt.t("ev.time", task=ref.task or "")
        if event.kind == "signed-off":
            return self.fmt.t("ev.signed_off", id=ref.id)
        # Named only here: most events (comments, time) are summarised without it.
        what = self.what(event)
        if event.kind == "decided":
            return self.fmt.t("ev.decided", what=what, decision=self.value("status", event.new))
        if event.kind in ("created", "deleted", "renamed"):
            return self.fmt.t(f"ev.{event.kind}", what=what)
        name = event.field or ""
        label = _FIELD_LABELS.get(name, name.replace("_", " "))
        shown = name in _SHOWN_FIELDS or name in _PERSON_FIELDS
        if shown and not isinstance(event.old, list | dict) and not isinstance(event.new, list | dict):
            return self.fmt.t(
                "ev.changed",
                what=what,
                field=label,
                old=self.value(name, event.old),
                new=self.value(name, event.new),
            )
        return self.fmt.t("ev.edited", what=what, field=label)


def _trail_event(event: Event, summaries: _Summaries, message: str | None) -> TrailEvent:
    ref = event.entity
    kind = ref.kind
    entity: str | None = ref.id or None
    # Comments and time lines appear in their task's history.
    if kind in ("comment", "time") and ref.task:
        kind, entity = "task", ref.task
    author = summaries.person(event.person) if event.person else summaries.fmt.t("ev.someone")
    return TrailEvent(
        when=event.date,
        summary=summaries.summary(event),
        author=author,
        project=ref.project,
        entity=entity,
        kind=kind,
        message=message,
        key=f"{event.commit}:{event.path}:{event.field or ''}:{ref.kind}:{ref.id}",
    )


@dataclass(frozen=True)
class Candidate:
    """An event some audiences saw in the states before and after its commit (the history half of the rule).

    `seen` maps each such audience to True, or to "managers" when a state had no workspace (then
    only a viewer who sees the settings now sees it). The event keeps its before/after entities only
    for time and expense lines, which "now" may need; the rest would only weigh on the cache.
    """

    event: Event
    message: str
    seen: Mapping[str, bool | str]


@dataclass
class HistoryTrail:
    """The history half of every audience's trail: candidates by commit, warnings, commit count.

    `walked` holds every commit's candidates by commit id, oldest commit first (an empty tuple for a
    commit with none): a commit's candidates never change, so a later walk passes over the commits
    it holds.
    """

    walked: dict[str, tuple[Candidate, ...]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    commits: int = 0

    @property
    def candidates(self) -> list[Candidate]:
        """Every candidate, oldest first."""
        return [candidate for found in self.walked.values() for candidate in found]


def viewers_key(audiences: Sequence[m.Audience]) -> tuple[tuple[str, str], ...]:
    """What a walk's verdicts depend on besides history: each audience's name and the viewer it names."""
    return tuple((audience.name, repr(viewer_for_audience(audience))) for audience in audiences)


def read_candidates(
    root: Path,
    audiences: Sequence[m.Audience],
    known: Mapping[str, tuple[Candidate, ...]] | None = None,
    *,
    parallel: bool = True,
    known_head: str | None = None,
) -> HistoryTrail:
    """Walk the workspace's Git history once; keep each event with the audiences that saw it before and after.

    `known`: candidates of commits walked before for the same audiences (`HistoryTrail.walked`); only
    the other commits are walked, and the result is the same as a walk of every commit. With
    `parallel` and a long history, a forked worker shares the walk: it derives the events of some
    projects while this process derives the others' and the workspace's own (`_walk_owners`; a
    project's events read only its records, settings, people and teams), or, when a change moves a
    file between projects, it walks the later part of the commits while this process walks the
    earlier (a commit's candidates depend only on it and its parents).

    `known_head`: the HEAD at which `known` (then every commit of its history, in order) was walked.
    When the history now is that one and new commits after it, with no merge, only the new commits
    are read from Git (`HistorySource`'s `after`).
    """
    from .render_pool import Forked, workers_available

    viewers = [(audience.name, viewer_for_audience(audience)) for audience in audiences]
    known = known or {}
    out = HistoryTrail()
    after = (known_head, list(known)) if known_head is not None else None
    with HistorySource(root, after=after) as source, collector_paused():
        split = parallel and workers_available()
        owners = source.owner_halves(known) if split else None
        halves = source.halves(known) if split and owners is None else None
        if owners is not None:
            walked = _walk_owners(source, viewers, known, owners)
        elif halves is None:
            walked = _walk_part(source, viewers, known)
        else:
            first, second = halves
            skip_first = {**known, **dict.fromkeys(first, ())}
            worker = Forked(lambda: _walk_part(source.for_another_process(), viewers, skip_first))
            walked = _walk_part(source, viewers, {**known, **dict.fromkeys(second, ())})
            later = worker.result()
            walked.update(later if later is not None else _walk_part(source, viewers, {**known, **walked}))
        for oid in source.passed:
            out.walked[oid] = known[oid]
        for commit in source.commits:
            mine = walked.get(commit.id)
            out.walked[commit.id] = known[commit.id] if mine is None else mine
        out.warnings.extend(source.warnings)
        out.commits = len(source.passed) + len(source.commits)
    return out


def _walk_owners(
    source: HistorySource,
    viewers: Sequence[tuple[str, Viewer]],
    known: Mapping[str, tuple[Candidate, ...]],
    owners: tuple[frozenset[str], frozenset[str]],
) -> dict[str, tuple[Candidate, ...]]:
    """`_walk_part` by two processes, each deriving the events of one set of owners (`HistorySource.owner_halves`).

    Each commit's candidates are put back in the order of their changes among the commit's own
    changes (`Step.orders`), which is the order of one walk deriving all of them.
    """
    here, there = _by_owners(source, owners, lambda part, derives: _walk_placed(part, viewers, known, derives))
    walked: dict[str, tuple[Candidate, ...]] = {}
    for oid, placed in here.items():
        both = [*placed, *there.get(oid, ())]
        both.sort(key=operator.itemgetter(0))
        walked[oid] = tuple(candidate for _, candidate in both)
    return walked


_Walked = TypeVar("_Walked")


def _by_owners(
    source: HistorySource,
    owners: tuple[frozenset[str], frozenset[str]],
    walk_part: Callable[[HistorySource, frozenset[str]], _Walked],
) -> tuple[_Walked, _Walked]:
    """`walk_part` of the first owners here and of the second in a forked worker, at once (the second
    walked here too when the worker fails: the same result, only later)."""
    from .render_pool import Forked

    mine, theirs = owners
    worker = Forked(lambda: walk_part(source.for_another_process(), theirs))
    try:
        here = walk_part(source, mine)
        there = worker.result()
    finally:
        # Interrupted (or failed) half-way: the worker does not outlive the walk.
        worker.cancel()
    return here, walk_part(source, theirs) if there is None else there


def _walk_placed(
    source: HistorySource,
    viewers: Sequence[tuple[str, Viewer]],
    known: Mapping[str, tuple[Candidate, ...]],
    derives: frozenset[str],
) -> dict[str, tuple[tuple[int, Candidate], ...]]:
    """The candidates of the changes of `derives` owners of every commit not in `known`, each with its change's place."""
    walked: dict[str, tuple[tuple[int, Candidate], ...]] = {}
    for step in walk(source, known, derives):
        found = _candidates(step, viewers)
        walked[step.commit.id] = tuple((step.orders[index], candidate) for index, candidate in found)
    return walked


def _walk_part(
    source: HistorySource, viewers: Sequence[tuple[str, Viewer]], known: Mapping[str, tuple[Candidate, ...]]
) -> dict[str, tuple[Candidate, ...]]:
    """The candidates of every commit of the source not in `known`, by commit id."""
    return {step.commit.id: tuple(c for _, c in _candidates(step, viewers)) for step in walk(source, known)}


def _candidates(step: Step, viewers: Sequence[tuple[str, Viewer]]) -> list[tuple[int, Candidate]]:
    """A step's events some audience saw before and after its commit, as candidates, each with the event's index."""
    found: list[tuple[int, Candidate]] = []
    for index, event in enumerate(step.events):
        # A project's record is judged by the rules over that project alone (see `Snapshot.policy_for`).
        project = event.entity.project
        before, after = step.before.policy_for(project), step.after.policy_for(project)
        seen: dict[str, bool | str] = {}
        for name, viewer in viewers:
            states = seen_in_states(before, after, viewer, event)
            if states:
                seen[name] = states
        if seen:
            if event.entity.kind not in ("time", "expense"):
                event = dataclasses.replace(event, before=None, after=None)
            found.append((index, Candidate(event, step.commit.message, seen)))
    return found


def trails_from(
    history: HistoryTrail,
    ws: m.Workspace,
    audiences: Sequence[m.Audience],
    keys: Mapping[str, bytes] | None = None,
    kept: Mapping[str, TrailPart] | None = None,
) -> Trails:
    """The trails of the audiences: the candidates each audience also sees in the current workspace.

    `keys`: by project id ("" for the events of no project), the key of everything the verdicts
    and summaries of its events read (this history, those audiences, that project and all else of
    `ws` that judging a project's records reads: settings, people, teams, every project's own
    settings). A project's events are taken from `kept` (parts of an earlier call) when its part
    there has the same key; a project without a key is always filtered again.
    """
    grouped = candidates_by_project(history)
    return filter_trails(grouped, history.warnings, history.commits, ws, audiences, keys, kept)


Placed = tuple[tuple[int, Candidate], ...]


@dataclass(frozen=True)
class PlacedGroup:
    """A project's candidates (`Placed`) as the build cache keeps them and a walk's worker hands them
    over: their places, and the candidates pickled on their own, by the process that derived them (each
    process of a walk shared by owners pickles its own projects': `read_grouped`)."""

    positions: tuple[int, ...]
    candidates: bytes

    @classmethod
    def of(cls, placed: Sequence[tuple[int, Candidate]]) -> PlacedGroup:
        return cls(tuple(position for position, _ in placed), _pickled(tuple(candidate for _, candidate in placed)))

    def value(self) -> Placed:
        """The candidates with their places (ValueError when the two do not match: a damaged file)."""
        with collector_paused():
            candidates = pickle.loads(self.candidates)  # noqa: S301 -- pickled by this tool (a cache file or a worker)
        if not isinstance(candidates, tuple) or len(candidates) != len(self.positions):
            raise ValueError("a group's candidates do not match its places")
        return tuple(zip(self.positions, candidates, strict=True))


def _pickled(value: object) -> bytes:
    with collector_paused():
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


@dataclass
class GroupedWalk:
    """A whole walk by project, as `read_grouped` gives it: each project's `PlacedGroup` and the commit of
    each of its candidates (what `placed_digest` reads), the warnings, the number of commits and their ids in order."""

    groups: dict[str, PlacedGroup]
    commits_of: dict[str, tuple[str, ...]]
    warnings: list[str]
    commits: int
    order: list[str]


class _Half(NamedTuple):
    """What the worker of a walk shared by owners hands back to `read_grouped`: for each commit, the place of
    each candidate it derived among the commit's changes, with its project; for each project, those
    candidates in that order, pickled, and the commit of each."""

    orders: dict[str, tuple[tuple[int, str], ...]]
    groups: dict[str, tuple[bytes, tuple[str, ...]]]


def _grouped_half(source: HistorySource, viewers: Sequence[tuple[str, Viewer]], derives: frozenset[str]) -> _Half:
    """`_walk_placed` of every commit, handed back as `_Half`: the candidates pickled by project here."""
    orders: dict[str, tuple[tuple[int, str], ...]] = {}
    found: dict[str, list[Candidate]] = {}
    for oid, placed in _walk_placed(source, viewers, {}, derives).items():
        marks: list[tuple[int, str]] = []
        for order, candidate in placed:
            pid = candidate.event.entity.project or ""
            marks.append((order, pid))
            found.setdefault(pid, []).append(candidate)
        if marks:
            orders[oid] = tuple(marks)
    groups = {
        pid: (_pickled(tuple(candidates)), tuple(candidate.event.commit for candidate in candidates))
        for pid, candidates in found.items()
    }
    return _Half(orders, groups)


def read_grouped(root: Path, audiences: Sequence[m.Audience]) -> GroupedWalk | None:
    """`candidates_by_project` of a whole walk (`read_candidates`, no commit known), shared by owners with a
    forked worker, each process pickling its own projects' candidates (`_grouped_half`) while the other
    still works: here they are only placed, never unpickled. None where a worker cannot share the walk by
    owners (`HistorySource.owner_halves`): use `read_candidates`.

    The places are those of the one walk: each commit's candidates in the order of their changes among the
    commit's own (`_walk_owners`), the commits in order.
    """
    from .render_pool import workers_available

    if not workers_available():
        return None
    viewers = [(audience.name, viewer_for_audience(audience)) for audience in audiences]
    with HistorySource(root) as source, collector_paused():
        owners = source.owner_halves(frozenset())
        if owners is None:
            return None
        here, there = _by_owners(source, owners, lambda part, derives: _grouped_half(part, viewers, derives))
        order = [commit.id for commit in source.commits]
        groups, commits_of = _placed_halves(order, here, there)
        return GroupedWalk(groups, commits_of, list(source.warnings), len(order), order)


def _placed_halves(
    order: Sequence[str], here: _Half, there: _Half
) -> tuple[dict[str, PlacedGroup], dict[str, tuple[str, ...]]]:
    """The two halves of a walk shared by owners as one walk's groups (`candidates_by_project`): the commits
    in `order`, each commit's candidates by their changes' places (this side's first on a tie, each side's
    own order kept), each project's candidates with their places and the commit of each."""
    positions: tuple[dict[str, list[int]], dict[str, list[int]]] = ({}, {})
    position = 0
    for oid in order:
        marks = (here.orders.get(oid, ()), there.orders.get(oid, ()))
        merged = sorted((place, side, index) for side in (0, 1) for index, (place, _) in enumerate(marks[side]))
        for _, side, index in merged:
            positions[side].setdefault(marks[side][index][1], []).append(position)
            position += 1
    groups: dict[str, PlacedGroup] = {}
    commits_of: dict[str, tuple[str, ...]] = {}
    for side, half in enumerate((here, there)):
        for pid, (data, commits) in half.groups.items():
            group = PlacedGroup(tuple(positions[side][pid]), data)
            if pid in groups:
                # A project both processes derived candidates of: put together here.
                placed = sorted([*groups[pid].value(), *group.value()], key=operator.itemgetter(0))
                group = PlacedGroup.of(placed)
                commits = tuple(candidate.event.commit for _, candidate in placed)
            groups[pid] = group
            commits_of[pid] = commits
    return groups, commits_of


def candidates_by_project(history: HistoryTrail) -> dict[str, Placed]:
    """The history's candidates by project id ("": of no project), each with its place among all of them."""
    grouped: dict[str, list[tuple[int, Candidate]]] = {}
    for position, candidate in enumerate(history.candidates):
        grouped.setdefault(candidate.event.entity.project or "", []).append((position, candidate))
    return {pid: tuple(found) for pid, found in grouped.items()}


def filter_trails(
    grouped: Mapping[str, Placed],
    warnings: Sequence[str],
    commits: int,
    ws: m.Workspace,
    audiences: Sequence[m.Audience],
    keys: Mapping[str, bytes] | None = None,
    kept: Mapping[str, TrailPart] | None = None,
    later: Collection[str] = (),
) -> Trails:
    """`trails_from` of a history given as its candidates by project (`candidates_by_project`).

    A project taken over from `kept` needs no candidates in `grouped`; every other project's events
    come from its candidates there. The audiences named in `later` are filtered when their events
    are first asked for (`Trails.for_audience`), the same events as now.
    """
    keys = keys or {}
    taken = {pid: part for pid, part in (kept or {}).items() if pid in keys and part.key == keys[pid]}
    policy_now = Policy(ws)
    settings = ws.settings
    fmt = Formatter(settings.language, settings.currency, settings.timezone)
    viewers = {audience.name: viewer_for_audience(audience) for audience in audiences}

    def filtered(name: str) -> Filtered:
        """The audience's events of each project not taken over."""
        viewer = viewers[name]
        summaries = _Summaries(ws, policy_now, viewer, fmt)
        # A raw commit message can name anything: only a viewer who sees the settings (everything) is
        # given it, as only such a view's site shows it (`redact.View.sees_everything`).
        sees_settings = bool(policy_now.can_see(viewer, settings))
        out: Filtered = {}
        # Tens of thousands of events and verdicts are made beside a loaded workspace: with the cycle
        # collector on, its full runs walked that workspace again and again (2/3 of the time at 10,000
        # tasks). Nothing here makes a reference cycle (tests/test_gc_pause.py).
        with collector_paused():
            for pid, placed in sorted(grouped.items()):
                if pid in taken:
                    continue
                found: list[tuple[int, TrailEvent]] = []
                for position, candidate in placed:
                    event = candidate.event
                    states = candidate.seen.get(name)
                    if not states or not seen_now(policy_now, viewer, event):
                        continue
                    if states == "managers" and not sees_settings:
                        continue
                    message = candidate.message if sees_settings else None
                    found.append((position, _trail_event(event, summaries, message)))
                out[pid] = tuple(found)
        return out

    now = [name for name in viewers if name not in later]
    parts = dict(taken)
    for pid in grouped:
        if pid not in taken:
            parts[pid] = TrailPart(keys.get(pid, b""), {})
    trails = Trails(
        warnings=list(warnings),
        commits=commits,
        parts=parts,
        pending={name for name in viewers if name in later},
        filter_later=filtered,
    )
    for name in now:
        trails._add(name, filtered(name))
    return trails


def collect_trails(root: Path, ws: m.Workspace, audiences: Sequence[m.Audience]) -> Trails:
    """Walk the workspace's Git history once and keep, per audience, the events it may see."""
    return trails_from(read_candidates(root, audiences), ws, audiences)
