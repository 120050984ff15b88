"""Typed model of a workspace (SPEC §1–§2).

The loader builds these objects from validated files; everything else (policy, redaction, site,
audit) works on them. Field names follow the public file format. Every entity remembers where it
came from (`loc`) so later checks can name a file and line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, TypeVar

Role = Literal["owner", "admin", "user", "guest", "reader"]
TeamKind = Literal["internal", "client", "freelancer"]
SeesValue = bool | Literal["own"]

ROLES: tuple[Role, ...] = ("owner", "admin", "user", "guest", "reader")
MANAGER_ROLES: frozenset[str] = frozenset({"owner", "admin"})
PAID_ROLES: frozenset[str] = frozenset({"owner", "admin", "user"})
TASK_STATUSES = ("open", "in-progress", "review", "done", "cancelled")
CR_STATUSES = ("proposed", "approved", "rejected", "implemented", "withdrawn")
PROJECT_STATUSES = ("planned", "active", "on-hold", "done", "cancelled")
MILESTONE_STATUSES = ("open", "ready", "signed-off")
PRIORITIES = ("low", "normal", "high", "urgent")
SEES_KEYS = ("costs", "reports", "contacts")

_E = TypeVar("_E")
_FIELD_NAMES: dict[type, tuple[tuple[str, ...], frozenset[str]]] = {}


def replaced(entity: _E, **changes: Any) -> _E:
    """`dataclasses.replace` for the model's classes, without running `__init__` (the history walk
    replaces a project or a task at every commit: `replace` was a tenth of the project's assembly).

    The same object as `replace` gives: every field copied, then `changes`; cached properties of
    `entity` (task indexes) are not fields, so they are not carried over. Model classes have no
    `__post_init__` and no slots (a test checks both).
    """
    kind = type(entity)
    known = _FIELD_NAMES.get(kind)
    if known is None:
        fields = tuple(f.name for f in dataclasses.fields(kind))  # type: ignore[arg-type]
        known = _FIELD_NAMES[kind] = (fields, frozenset(fields))
    names, allowed = known
    unknown = changes.keys() - allowed
    if unknown:
        raise TypeError(f"{kind.__name__} has no field {sorted(unknown)[0]!r}")
    values = entity.__dict__
    try:
        copied = {name: values[name] for name in names}
    except KeyError:
        # Fields put together when first read (the history's assembled projects).
        copied = {name: getattr(entity, name) for name in names}
    made = object.__new__(kind)
    made.__dict__.update(copied, **changes)
    return made


@dataclass(frozen=True, order=True)
class Loc:
    """A position in a workspace file: path relative to the workspace root, 1-based line and column."""

    path: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Sees:
    """What a team or person may see beyond tasks: costs, reports, contacts (`True`, `False` or `"own"`)."""

    costs: SeesValue = False
    reports: SeesValue = False
    contacts: SeesValue = False

    def get(self, key: str) -> SeesValue:
        value: SeesValue = getattr(self, key)
        return value


DEFAULT_SEES: dict[str, Sees] = {
    "internal": Sees(costs=True, reports=True, contacts=True),
    "client": Sees(costs=False, reports=False, contacts=False),
    "freelancer": Sees(costs="own", reports="own", contacts=True),
}


@dataclass(frozen=True)
class Plan:
    paid_seats: int | None = None
    reader_ratio: float = 2


@dataclass(frozen=True)
class Audience:
    """One site to build: exactly one of `team`, `person` or `role` names the viewer."""

    name: str
    team: str | None = None
    person: str | None = None
    role: str | None = None
    loc: Loc | None = None


@dataclass(frozen=True)
class Settings:
    name: str
    language: Literal["en", "fr"] = "en"
    currency: str = "EUR"
    timezone: str = "UTC"
    plan: Plan = field(default_factory=Plan)
    audiences: tuple[Audience, ...] = ()
    loc: Loc = Loc("worktrail.yaml")


@dataclass(frozen=True)
class Rate:
    amount: float
    per: Literal["hour", "day"] = "hour"


@dataclass(frozen=True)
class SeesOverride:
    """A person's individual `sees`: only the keys given replace the team's."""

    costs: SeesValue | None = None
    reports: SeesValue | None = None
    contacts: SeesValue | None = None


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    team: str
    # None only in a redacted copy made for a viewer who may not see roles.
    role: Role | None
    emails: tuple[str, ...] = ()
    title: str | None = None
    phone: str | None = None
    rate: Rate | None = None
    private_contact: bool = False
    active: bool = True
    sees: SeesOverride | None = None
    loc: Loc = Loc("")

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGER_ROLES


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    kind: TeamKind
    sees: SeesOverride | None = None
    loc: Loc = Loc("")

    @property
    def effective_sees(self) -> Sees:
        base = DEFAULT_SEES[self.kind]
        if self.sees is None:
            return base
        return Sees(
            costs=base.costs if self.sees.costs is None else self.sees.costs,
            reports=base.reports if self.sees.reports is None else self.sees.reports,
            contacts=base.contacts if self.sees.contacts is None else self.sees.contacts,
        )


@dataclass(frozen=True)
class Deliverable:
    id: str
    title: str
    due: dt.date | None = None


@dataclass(frozen=True)
class FreelancerTerms:
    for_: str
    responsibilities: tuple[str, ...] = ()
    standards: tuple[str, ...] = ()
    deadlines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scope:
    objectives: tuple[str, ...] = ()
    deliverables: tuple[Deliverable, ...] = ()
    out_of_scope: tuple[str, ...] = ()
    client_responsibilities: tuple[str, ...] = ()
    freelancer_terms: tuple[FreelancerTerms, ...] = ()


@dataclass(frozen=True)
class Milestone:
    id: str
    title: str
    due: dt.date | None = None
    criteria: tuple[str, ...] = ()
    status: Literal["open", "ready", "signed-off"] = "open"
    signed_off_by: str | None = None
    signed_off_on: dt.date | None = None


@dataclass(frozen=True)
class Communication:
    cadence: Literal["weekly", "biweekly", "monthly"] | None = None
    weekday: str | None = None
    time: str | None = None
    timezone: str | None = None
    duration_minutes: int | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Budget:
    hours: float | None = None
    amount: float | None = None


@dataclass(frozen=True)
class Comment:
    id: str
    project: str
    task: str
    author: str
    date: dt.datetime
    body: str = ""
    hidden: bool = False
    visible_to: tuple[str, ...] = ()
    loc: Loc = Loc("")


@dataclass(frozen=True)
class Task:
    id: str
    project: str
    title: str
    status: Literal["open", "in-progress", "review", "done", "cancelled"]
    body: str = ""
    assignee: str | None = None
    subscribers: tuple[str, ...] = ()
    created_by: str | None = None
    created: dt.date | None = None
    due: dt.date | None = None
    estimate_hours: float | None = None
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    tags: tuple[str, ...] = ()
    milestone: str | None = None
    deliverable: str | None = None
    change_request: str | None = None
    attachments: tuple[str, ...] = ()
    hidden: bool = False
    visible_to: tuple[str, ...] = ()
    comments: tuple[Comment, ...] = ()
    loc: Loc = Loc("")

    @property
    def number(self) -> int:
        return int(self.id.rsplit("-", 1)[1])


@dataclass(frozen=True)
class Impact:
    hours: float | None = None
    cost: float | None = None
    due_shift_days: int | None = None


@dataclass(frozen=True)
class Decision:
    by: str
    on: dt.date
    note: str | None = None


@dataclass(frozen=True)
class ChangeRequest:
    id: str
    project: str
    title: str
    requested_by: str
    requested_on: dt.date
    status: Literal["proposed", "approved", "rejected", "implemented", "withdrawn"]
    body: str = ""
    impact: Impact | None = None
    decision: Decision | None = None
    tasks: tuple[str, ...] = ()
    loc: Loc = Loc("")

    @property
    def number(self) -> int:
        return int(self.id.rsplit("-", 1)[1])


@dataclass(frozen=True)
class Meeting:
    id: str
    project: str
    date: dt.datetime
    title: str
    body: str = ""
    attendees: tuple[str, ...] = ()
    decisions: tuple[str, ...] = ()
    hidden: bool = False
    visible_to: tuple[str, ...] = ()
    loc: Loc = Loc("")


@dataclass(frozen=True)
class TimeEntry:
    project: str
    date: dt.date
    person: str
    task: str
    hours: float
    note: str | None = None
    billable: bool = True
    # Filled only in a redacted copy, and only where the viewer may see this entry's cost.
    cost: float | None = None
    loc: Loc = Loc("")


@dataclass(frozen=True)
class Expense:
    project: str
    date: dt.date
    amount: float
    description: str
    by: str
    task: str | None = None
    loc: Loc = Loc("")


@dataclass(frozen=True)
class Document:
    project: str
    path: str
    title: str
    description: str | None = None
    hidden: bool = False
    visible_to: tuple[str, ...] = ()
    loc: Loc = Loc("")


@dataclass(frozen=True)
class Response:
    by: str
    date: dt.date
    text: str


@dataclass(frozen=True)
class Feedback:
    id: str
    project: str
    author: str
    date: dt.date
    rating: int
    body: str = ""
    milestone: str | None = None
    response: Response | None = None
    loc: Loc = Loc("")


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    key: str
    status: Literal["planned", "active", "on-hold", "done", "cancelled"]
    members: tuple[str, ...]
    client: str | None = None
    start: dt.date | None = None
    due: dt.date | None = None
    budget: Budget | None = None
    approvers: tuple[str, ...] | None = None
    scope: Scope = field(default_factory=Scope)
    baseline: dt.date | None = None
    milestones: tuple[Milestone, ...] = ()
    communication: Communication | None = None
    description: str | None = None
    tasks: tuple[Task, ...] = ()
    changes: tuple[ChangeRequest, ...] = ()
    meetings: tuple[Meeting, ...] = ()
    time_entries: tuple[TimeEntry, ...] = ()
    expenses: tuple[Expense, ...] = ()
    documents: tuple[Document, ...] = ()
    feedback: tuple[Feedback, ...] = ()
    loc: Loc = Loc("")

    @cached_property
    def task_index(self) -> dict[str, Task]:
        return {task.id: task for task in self.tasks}

    @cached_property
    def change_index(self) -> dict[str, ChangeRequest]:
        return {cr.id: cr for cr in self.changes}

    def task(self, task_id: str) -> Task | None:
        return self.task_index.get(task_id)

    def change(self, cr_id: str) -> ChangeRequest | None:
        return self.change_index.get(cr_id)

    def milestone(self, milestone_id: str) -> Milestone | None:
        for milestone in self.milestones:
            if milestone.id == milestone_id:
                return milestone
        return None


@dataclass(frozen=True)
class Workspace:
    """A whole workspace: settings, people, teams and projects (each holding its own records)."""

    root: str
    settings: Settings
    people: dict[str, Person] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)

    def team_members(self, team_id: str) -> list[Person]:
        return [p for p in self.people.values() if p.team == team_id]

    def find_task(self, task_id: str) -> Task | None:
        """The task with this id in any project (task ids carry their project's key)."""
        for project in self.projects.values():
            task = project.task(task_id)
            if task is not None:
                return task
        return None
