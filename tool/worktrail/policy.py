"""Who may see what and who may change what (SPEC §3 and §4).

This is the one module that decides visibility and write permission. Site redaction, the audit, the
CLI's write commands and `worktrail explain` all ask it; none of them decides on its own.

Everything is denied unless a rule allows it. Every answer is a `Verdict` that names the deciding rule
and gives one human sentence, so a refusal can be explained to the person who got it.

Viewers (§3):
- `PersonViewer`: a person; unknown or inactive people see nothing.
- `TeamViewer`: sees a thing only if EVERY active member of the team sees it. Each member is evaluated
  in "team mode", where a `sees` value of `own` counts as `false` (a team has no "own" entries) and
  the "that person themself" right to a rate is not granted. A team with no active member sees nothing.
- `RoleViewer`: `owner` or `admin` is the internal audience and sees everything; any other role sees
  nothing.

Interpretations where the specification is silent (all chosen to deny rather than leak):
- `subscribers`, `assignee`, `created_by`, `attendees`, `author`, `requested_by` name persons only; a
  team id there grants nothing. `members` and `visible_to` name persons or teams.
- A team's identity (`id`, `name`, `kind`) is visible when any person of that team is visible; its
  `sees` and any other team setting are for managers only.
- People seen are those named by `members` (directly or by team) of a project the viewer sees, and the
  viewer themself; an assignee, author or attendee who is no member of such a project stays a bare id.
- A person's `id`, `name`, `title` and `team` go with the person; `emails`/`phone` are contacts;
  `rate` is money; every other person field (`role`, `sees`, `active`, `private_contact`, ...) is for
  managers only. With `sees.contacts: false` a viewer sees no contacts at all, not even their own.
- Workspace settings are for managers only, except the presentation fields `name`, `language`,
  `currency` and `timezone` (asked as `FieldRef(settings, field)`), which every active viewer needs to
  read a site. `can_see(viewer, settings)` itself is managers only.
- Guests never see meeting minutes, even those they attended ("project members except guests").
- Records refer to tasks of their own project (`project.task(id)`); a dangling reference denies.
  A field the policy does not know (`FieldRef`) is denied to everyone but managers.
- A document is "attached" to the tasks of its own project whose `attachments` list its path (paths
  compared after normalising `./`, `\\` and duplicate slashes).
- `approvers()` returns the effective approvers: the listed (or default) ids that are known, active
  persons with role owner, admin or user. Team ids in an explicit `approvers` list grant nothing.
- DECIDE_CR applies only to a request that is still `proposed`, and SIGN_OFF_MILESTONE only to a
  milestone not yet `signed-off`: the target is the state before the change.
- Non-managers may not write what they may not read: editing a task or one's own comment needs seeing
  that task; writing a given meeting's minutes needs seeing that meeting; a time or expense line that
  names a task needs seeing that task (its hours or money need not be visible to log it).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from worktrail.model import (
    MANAGER_ROLES,
    SEES_KEYS,
    Audience,
    ChangeRequest,
    Comment,
    Deliverable,
    Document,
    Expense,
    Feedback,
    Meeting,
    Milestone,
    Person,
    Project,
    Sees,
    SeesValue,
    Settings,
    Task,
    Team,
    TimeEntry,
    Workspace,
)

__all__ = [
    "Action",
    "FieldRef",
    "MilestoneRef",
    "PersonViewer",
    "Policy",
    "PolicyError",
    "RoleViewer",
    "TeamViewer",
    "Verdict",
    "Viewer",
    "can_do",
    "can_see",
    "describe",
    "describe_viewer",
    "parse_viewer",
    "viewer_for_audience",
]

# Rule names used in verdicts. They are short, stable strings: tests and `worktrail explain` show them.
RULE_MANAGER: Final = "manager"
RULE_ROLE_VIEWER: Final = "role viewer"
RULE_UNKNOWN_VIEWER: Final = "unknown viewer"
RULE_UNKNOWN_PERSON: Final = "unknown person"
RULE_INACTIVE: Final = "inactive"
RULE_TEAM: Final = "team: every active member"
RULE_MEMBERSHIP: Final = "project membership"
RULE_ROLE: Final = "role rule"
RULE_HIDDEN: Final = "hidden rule"
RULE_ATTACHMENTS: Final = "attachments"
RULE_REPORTS: Final = "reports"
RULE_COSTS: Final = "costs"
RULE_CONTACTS: Final = "contacts"
RULE_PRIVATE_CONTACT: Final = "private contact"
RULE_RATE: Final = "rate"
RULE_PEOPLE: Final = "people on visible projects"
RULE_FEEDBACK: Final = "feedback: author's team"
RULE_MANAGERS_ONLY: Final = "managers only"
RULE_PRESENTATION: Final = "presentation settings"
RULE_UNKNOWN: Final = "unknown entity"
RULE_UNKNOWN_FIELD: Final = "unknown field"
RULE_OWN: Final = "own"
RULE_STATUS: Final = "status"
RULE_APPROVERS: Final = "approvers"
RULE_TARGET: Final = "target"

# Roles a RoleViewer may name: the internal audience.
VIEWER_ROLES: Final = frozenset(MANAGER_ROLES)
# Roles that may never approve, even when listed in `approvers` (SPEC §4: a validation error).
NON_APPROVER_ROLES: Final = frozenset({"reader", "guest"})
# Workspace settings every viewer needs to read a site (title, UI language, money unit, time zone).
PRESENTATION_SETTINGS: Final = frozenset({"name", "language", "currency", "timezone"})
PERSON_PUBLIC_FIELDS: Final = frozenset({"id", "name", "title", "team"})
PERSON_CONTACT_FIELDS: Final = frozenset({"emails", "phone"})
TEAM_PUBLIC_FIELDS: Final = frozenset({"id", "name", "kind"})


class PolicyError(Exception):
    """A viewer or audience that names no known person, team or role."""


@dataclass(frozen=True)
class PersonViewer:
    """A person looking at the workspace."""

    person: str


@dataclass(frozen=True)
class TeamViewer:
    """A team: sees only what every active member sees, with `own` counting as `false`."""

    team: str


@dataclass(frozen=True)
class RoleViewer:
    """A role: `owner` or `admin` is the internal audience and sees everything; other roles see nothing."""

    role: str


Viewer = PersonViewer | TeamViewer | RoleViewer


@dataclass(frozen=True)
class Verdict:
    """The answer to a question: allowed or not, the deciding rule's name, and one human sentence."""

    allowed: bool
    rule: str
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class FieldRef:
    """A field-level question: may the viewer see `field` of `entity`?

    Person: "name", "title", "team", "id", "emails", "phone", "rate" (others: managers only);
    Project: "budget.amount" (costs), "budget.hours" (reports), "budget" (both), other fields go with
    the project; ChangeRequest: "impact.cost" or "impact" (costs); TimeEntry: "cost" (hours x rate);
    Team: "id", "name", "kind" (with the team), "sees" and the rest (managers only); Settings: see the
    module docstring. A field of any other entity goes with the entity.
    """

    entity: object
    field: str


@dataclass(frozen=True)
class MilestoneRef:
    """A milestone together with its project (milestones do not record their project)."""

    project: Project
    milestone: Milestone


class Action(enum.Enum):
    """A write, with the target `Policy.can_do` expects."""

    EDIT_SETTINGS = "edit-settings"  # Settings | Person | Team | Project
    CREATE_TASK = "create-task"  # Project (or the new Task)
    EDIT_TASK = "edit-task"  # Task
    SET_OWN_TASK_STATUS = "set-own-task-status"  # Task
    ADD_COMMENT = "add-comment"  # Task (or the new Comment: then its author must be the person)
    EDIT_COMMENT = "edit-comment"  # Comment (edit or delete)
    WRITE_MEETING = "write-meeting"  # Project or Meeting
    LOG_TIME = "log-time"  # TimeEntry: the new line
    EDIT_TIME = "edit-time"  # TimeEntry (edit or delete)
    ADD_EXPENSE = "add-expense"  # Expense: the new line
    EDIT_EXPENSE = "edit-expense"  # Expense (edit or delete)
    PROPOSE_CR = "propose-cr"  # Project (or the new ChangeRequest: then requested_by must be the person)
    EDIT_CR = "edit-cr"  # ChangeRequest (edit or withdraw while proposed)
    ADD_FEEDBACK = "add-feedback"  # Feedback: the new one
    RESPOND_FEEDBACK = "respond-feedback"  # Feedback
    DECIDE_CR = "decide-cr"  # ChangeRequest (still proposed)
    SIGN_OFF_MILESTONE = "sign-off-milestone"  # MilestoneRef or tuple (Project, Milestone)
    IMPLEMENT_CR = "implement-cr"  # ChangeRequest (approved)
    LINK_CR_TASKS = "link-cr-tasks"  # ChangeRequest (approved or implemented): only tasks added to `tasks`


def _allow(rule: str, reason: str) -> Verdict:
    return Verdict(True, rule, reason)


def _deny(rule: str, reason: str) -> Verdict:
    return Verdict(False, rule, reason)


def _norm_path(path: str) -> str:
    # Attachments and documents are matched by path; normalise so that a different spelling of the
    # same path cannot escape the attachment rule.
    cleaned = posixpath.normpath(path.strip().replace("\\", "/"))
    while cleaned.startswith("./"):
        cleaned = cleaned[2:]
    return cleaned.lstrip("/")


def _or_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


@functools.cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


class _Subject:
    """One person being evaluated; `team_mode` turns `own` into deny (evaluating for a team).

    Built once per person and mode by `_PeopleIndex`; a manager's allow (the same for every thing) is
    made with it.
    """

    __slots__ = ("id", "manager", "manager_verdict", "person", "team_mode")

    def __init__(self, person: Person, team_mode: bool) -> None:
        self.person = person
        self.team_mode = team_mode
        self.id = person.id
        self.manager = person.role in MANAGER_ROLES
        self.manager_verdict: Verdict | None = (
            _allow(RULE_MANAGER, f"{person.id} is a manager ({person.role}) and sees everything")
            if self.manager
            else None
        )


@dataclass(frozen=True)
class _TeamSubjects:
    """A team viewer with at least one active member: its members evaluated in team mode."""

    team: str
    members: tuple[_Subject, ...]
    names: str


_ResolvedViewer = Verdict | _Subject | _TeamSubjects


class _PeopleIndex:
    """Indexes and answers that depend only on the people and teams dicts, never on projects.

    Policies over the very same people and teams objects share one (`Policy(..., like=...)`), so the
    history walk, which builds one policy per commit, builds these once per change of people or teams.
    """

    def __init__(self, people: dict[str, Person], teams: dict[str, Team]) -> None:
        self.people = people
        self.teams = teams
        members: dict[str, list[Person]] = {}
        for person in people.values():
            members.setdefault(person.team, []).append(person)
        self.team_members: dict[str, tuple[Person, ...]] = {k: tuple(v) for k, v in members.items()}
        self.active_members: dict[str, tuple[Person, ...]] = {
            k: tuple(p for p in v if p.active) for k, v in self.team_members.items()
        }
        # Memos keyed by what they depend on besides the people and teams: a viewer, a person id, an
        # id list as found in `members`.
        self._viewers: dict[Viewer, _ResolvedViewer] = {}
        self._subjects: dict[str, _Subject] = {}
        self._sees: dict[str, Sees] = {}
        self._expanded: dict[tuple[str, ...], frozenset[str]] = {}

    def serves(self, ws: Workspace) -> bool:
        """Whether these indexes hold for `ws`: its people and teams are these very objects."""
        return ws.people is self.people and ws.teams is self.teams

    def subject(self, person: Person) -> _Subject:
        """`person` (one of `people`) evaluated on their own."""
        subject = self._subjects.get(person.id)
        if subject is None or subject.person is not person:
            subject = self._subjects[person.id] = _Subject(person, team_mode=False)
        return subject

    def viewer(self, viewer: Viewer) -> _ResolvedViewer:
        """Who evaluates for `viewer`, or the verdict for every thing (role viewers, unknown or inactive)."""
        resolved = self._viewers.get(viewer)
        if resolved is None:
            resolved = self._viewers[viewer] = self._resolve(viewer)
        return resolved

    def _resolve(self, viewer: Viewer) -> _ResolvedViewer:
        if isinstance(viewer, RoleViewer):
            if viewer.role in VIEWER_ROLES:
                return _allow(RULE_ROLE_VIEWER, f"role {viewer.role} is the internal audience and sees everything")
            return _deny(RULE_ROLE_VIEWER, f"role {viewer.role!r} is not a viewer role (owner or admin)")
        if isinstance(viewer, PersonViewer):
            person = self.people.get(viewer.person)
            if person is None:
                return _deny(RULE_UNKNOWN_VIEWER, f"{viewer.person} is not a known person")
            if not person.active:
                return _deny(RULE_INACTIVE, f"{person.id} is inactive and sees nothing")
            return self.subject(person)
        team_id = viewer.team
        if team_id not in self.teams:
            return _deny(RULE_UNKNOWN_VIEWER, f"{team_id} is not a known team")
        active = self.active_members.get(team_id, ())
        if not active:
            return _deny(RULE_TEAM, f"team {team_id} has no active member, so it sees nothing")
        members = tuple(_Subject(member, team_mode=True) for member in active)
        return _TeamSubjects(team_id, members, ", ".join(p.id for p in active))

    def expand(self, ids: Iterable[str]) -> frozenset[str]:
        """The persons `ids` name, directly or through their team."""
        key = ids if isinstance(ids, tuple) else tuple(ids)
        out = self._expanded.get(key)
        if out is None:
            found: set[str] = set()
            for ident in key:
                if ident in self.people:
                    found.add(ident)
                found.update(p.id for p in self.team_members.get(ident, ()))
            out = self._expanded[key] = frozenset(found)
        return out

    def effective_sees(self, person_id: str) -> Sees:
        """See `Policy.effective_sees`."""
        sees = self._sees.get(person_id)
        if sees is None:
            sees = self._sees[person_id] = self._effective_sees(person_id)
        return sees

    def _effective_sees(self, person_id: str) -> Sees:
        person = self.people.get(person_id)
        if person is None:
            return Sees()
        team = self.teams.get(person.team)
        # An unknown team grants nothing beyond the person's own override.
        base = team.effective_sees if team is not None else Sees()
        if person.sees is None:
            return base
        values: dict[str, SeesValue] = {}
        for key in SEES_KEYS:
            override: SeesValue | None = getattr(person.sees, key)
            values[key] = base.get(key) if override is None else override
        return Sees(**values)


_SeeHandler = Callable[["Policy", _Subject, object], Verdict]
# Persons by project id, and project ids by person id.
_Membership = tuple[dict[str, frozenset[str]], dict[str, list[str]]]


def describe(thing: object) -> str:
    """A short human name for a thing, as used in verdict reasons."""
    if isinstance(thing, Task):
        return thing.id
    if isinstance(thing, Comment):
        return f"comment {thing.id} on {thing.task}"
    if isinstance(thing, Meeting):
        return f"meeting {thing.id}"
    if isinstance(thing, ChangeRequest):
        return f"{thing.id} of {thing.project}"
    if isinstance(thing, Document):
        return f"document {thing.path}"
    if isinstance(thing, TimeEntry):
        return f"time entry of {thing.person} on {thing.task} ({thing.date.isoformat()})"
    if isinstance(thing, Expense):
        return f"expense {thing.description!r} by {thing.by}"
    if isinstance(thing, Feedback):
        return f"feedback {thing.id}"
    if isinstance(thing, Project):
        return f"project {thing.id}"
    if isinstance(thing, Person):
        return f"person {thing.id}"
    if isinstance(thing, Team):
        return f"team {thing.id}"
    if isinstance(thing, Settings):
        return "the workspace settings"
    if isinstance(thing, MilestoneRef):
        return f"milestone {thing.milestone.id} of {thing.project.id}"
    if isinstance(thing, Milestone):
        return f"milestone {thing.id}"
    if isinstance(thing, Deliverable):
        return f"deliverable {thing.id}"
    if isinstance(thing, FieldRef):
        return f"{thing.field} of {describe(thing.entity)}"
    return type(thing).__name__


class Policy:
    """Visibility and write rules over one workspace, with indexes built once so checks are cheap."""

    def __init__(self, ws: Workspace, like: Policy | None = None) -> None:
        """Index `ws`; `like`, a policy over the very same people and teams objects, lends its people indexes.

        Indexes of projects (members, attachments, milestones) are built when a question first needs
        them, so a policy that answers a few questions (the history walk builds one per commit) costs little.
        """
        self.ws = ws
        if like is not None and like._people.serves(ws):
            self._people: _PeopleIndex = like._people
        else:
            self._people = _PeopleIndex(ws.people, ws.teams)
        self._team_members = self._people.team_members
        # Project indexes are built on demand (`_members_index`, `_attached_to`, `_part_index`) and
        # stored once complete, so a question never reads a half-built one.
        self._membership: _Membership | None = None
        # Per project, built on demand: tasks by normalised attachment path.
        self._attached: dict[str, dict[str, list[Task]]] = {}
        # Milestones and deliverables do not record their project: found by identity, built on demand.
        self._parts: dict[int, Project] | None = None
        self._visible_people: dict[str, frozenset[str]] = {}
        # Per viewer, built on demand: the projects whose membership alone denies them everything (`sees`).
        self._outside: dict[Viewer, frozenset[str]] = {}

    # ----------------------------------------------------------------- indexes and plain facts

    def _expand(self, ids: Iterable[str]) -> frozenset[str]:
        return self._people.expand(ids)

    def _members_index(self) -> _Membership:
        """Persons named by each project's `members` (directly or through their team), and the reverse."""
        if self._membership is None:
            project_people: dict[str, frozenset[str]] = {}
            person_projects: dict[str, list[str]] = {}
            for project in self.ws.projects.values():
                people = self._expand(project.members)
                project_people[project.id] = people
                for person_id in people:
                    person_projects.setdefault(person_id, []).append(project.id)
            self._membership = (project_people, person_projects)
        return self._membership

    def _part_index(self) -> dict[int, Project]:
        if self._parts is None:
            parts: dict[int, Project] = {}
            for project in self.ws.projects.values():
                for part in (*project.milestones, *project.scope.deliverables):
                    parts[id(part)] = project
            self._parts = parts
        return self._parts

    def is_member(self, person_id: str, project: Project) -> bool:
        """Whether `members` of the project name this person, directly or through their team."""
        person = self.ws.people.get(person_id)
        if person is None:
            return False
        return person.id in project.members or person.team in project.members

    def effective_sees(self, person_id: str) -> Sees:
        """The team's `sees` (defaults by kind) overridden key by key by the person's own `sees`."""
        return self._people.effective_sees(person_id)

    def approvers(self, project: Project) -> frozenset[str]:
        """Effective approvers: `approvers` if given, else managers in members plus client-team users."""
        if project.approvers is not None:
            candidates: Iterable[str] = project.approvers
        else:
            default = [pid for pid in self._expand(project.members) if self.ws.people[pid].is_manager]
            if project.client is not None:
                default += [p.id for p in self._team_members.get(project.client, ()) if p.role == "user"]
            candidates = default
        out: set[str] = set()
        for pid in candidates:
            person = self.ws.people.get(pid)
            if person is not None and person.active and person.role not in NON_APPROVER_ROLES:
                out.add(pid)
        return frozenset(out)

    def _named(self, person: Person, ids: tuple[str, ...]) -> bool:
        return person.id in ids or person.team in ids

    def _project_of(self, project_id: str) -> Project | None:
        return self.ws.projects.get(project_id)

    def _sees(self, s: _Subject, key: str) -> SeesValue:
        value = self.effective_sees(s.id).get(key)
        # `own` gives a team nothing: a team has no entries of its own.
        if s.team_mode and value == "own":
            return False
        return value

    # ----------------------------------------------------------------- viewers

    def can_see(self, viewer: Viewer, thing: object) -> Verdict:
        """May this viewer see this thing (an entity, a `MilestoneRef` or a `FieldRef`)?"""
        handler = _known_handler(thing)
        if handler is None:
            return _unknown(thing)
        resolved = self._people.viewer(viewer)
        if isinstance(resolved, Verdict):
            return resolved
        if isinstance(resolved, _Subject):
            return self._judge(resolved, handler, thing)
        for member in resolved.members:
            verdict = self._judge(member, handler, thing)
            if not verdict:
                # Keep the member's deciding rule: that is what `explain` should name.
                return _deny(
                    verdict.rule, f"team {resolved.team}: member {member.id} does not see it: {verdict.reason}"
                )
        return _allow(
            RULE_TEAM, f"every active member of team {resolved.team} ({resolved.names}) sees {describe(thing)}"
        )

    def sees(self, viewer: Viewer, thing: object) -> bool:
        """Whether `can_see` allows: the same answer, without working out its reasons where membership decides.

        A task, comment, meeting, change request, document, time entry, expense or piece of
        feedback (or a field of one) is seen only by viewers its project's members name: a
        viewer who is not (a team: one of its members who is not a manager) is denied it at
        once, as `can_see` would deny it first. The history walk asks this of every event.
        """
        project_id = self._owning_project(thing)
        if project_id is not None and project_id in self._outside_of(viewer):
            return False
        return bool(self.can_see(viewer, thing))

    def _owning_project(self, thing: object) -> str | None:
        """The project whose membership `can_see` checks first for `thing` (None: another rule comes first)."""
        kind = type(thing)
        if kind in _MEMBERS_FIRST:
            return thing.project  # type: ignore[attr-defined, no-any-return]
        if kind is Comment or kind is TimeEntry:
            # Judged by their task's rule, membership first.
            task = self._task_of(thing.project, thing.task)  # type: ignore[attr-defined]
            return task.project if task is not None else None
        if kind is FieldRef:
            assert isinstance(thing, FieldRef)
            return self._owning_project(thing.entity)
        return None

    def _outside_of(self, viewer: Viewer) -> frozenset[str]:
        """The projects of which membership alone denies `viewer` everything (`sees`)."""
        found = self._outside.get(viewer)
        if found is None:
            resolved = self._people.viewer(viewer)
            if isinstance(resolved, Verdict):
                subjects: tuple[_Subject, ...] = ()
            elif isinstance(resolved, _Subject):
                subjects = (resolved,)
            else:
                # A team sees what every active member sees: one member outside is enough.
                subjects = tuple(resolved.members)
            found = self._outside[viewer] = frozenset(
                project.id
                for project in self.ws.projects.values()
                if any(s.manager_verdict is None and not self.is_member(s.id, project) for s in subjects)
            )
        return found

    def verdict_for_all(self, viewer: Viewer) -> Verdict | None:
        """The verdict `can_see` gives this viewer for every thing it knows, when that does not depend on the
        thing: the role viewers, a manager, an unknown or inactive person, a team without active members.
        None: the answer depends on the thing (ask `can_see`)."""
        resolved = self._people.viewer(viewer)
        if isinstance(resolved, Verdict):
            return resolved
        if isinstance(resolved, _Subject):
            return resolved.manager_verdict
        return None

    def _see(self, s: _Subject, thing: object) -> Verdict:
        handler = _known_handler(thing)
        if handler is None:
            return _unknown(thing)
        return self._judge(s, handler, thing)

    def _judge(self, s: _Subject, handler: _SeeHandler, thing: object) -> Verdict:
        # A manager's allow is the same for every thing: made once with the subject.
        if s.manager_verdict is not None:
            return s.manager_verdict
        return handler(self, s, thing)

    # ----------------------------------------------------------------- one rule per kind of thing
    # Each handler receives a non-manager subject (managers were allowed before) and returns the
    # first failing line, or an allow naming the last line that held.

    def _see_project(self, s: _Subject, thing: object) -> Verdict:
        assert isinstance(thing, Project)
        if self.is_member(s.id, thing):
            return _allow(RULE_MEMBERSHIP, f"members of project {thing.id} name {s.id} or their team")
        return _deny(RULE_MEMBERSHIP, f"members of project {thing.id} name neither {s.id} nor their team")

    def _in_project(self, s: _Subject, project_id: str, what: str) -> Verdict | Project:
        project = self._project_of(project_id)
        if project is None:
            return _deny(RULE_UNKNOWN, f"{what} belongs to unknown project {project_id}")
        if self.is_member(s.id, project):
            return project
        return self._see_project(s, project)

    def _hidden(
        self,
        s: _Subject,
        what: str,
        hidden: bool,
        visible_to: tuple[str, ...],
        direct: Mapping[str, Iterable[str | None]],
    ) -> Verdict:
        """The hidden rule: a hidden thing only for managers, the persons in `direct`, and `visible_to`."""
        if not hidden:
            return _allow(RULE_HIDDEN, f"{what} is not hidden")
        for label, ids in direct.items():
            if s.id in ids:
                return _allow(RULE_HIDDEN, f"{what} is hidden and {s.id} is {label}")
        if self._named(s.person, visible_to):
            return _allow(RULE_HIDDEN, f"{what} is hidden and its visible_to names {s.id} or their team")
        labels = ["a manager", *direct.keys(), "named in visible_to"]
        return _deny(RULE_HIDDEN, f"{what} is hidden and {s.id} is not {_or_list(labels)}")

    def _see_task(self, s: _Subject, thing: object) -> Verdict:
        assert isinstance(thing, Task)
        project = self._in_project(s, thing.project, thing.id)
        if isinstance(project, Verdict):
            return project
        role = s.person.role
        if role == "guest":
            if thing.assignee != s.id and s.id not in thing.subscribers:
                return _deny(RULE_ROLE, f"{s.id} is a guest and neither the assignee nor a subscriber of {thing.id}")
        elif role not in ("user", "reader"):
            return _deny(RULE_ROLE, f"{s.id} has role {role!r}, which sees no task")
        if thing.hidden:
            # The role rule held; the hidden rule decides and names itself.
            return self._hidden(
                s,
                thing.id,
                thing.hidden,
                thing.visible_to,
                {"its assignee": (thing.assignee,), "its creator": (thing.created_by,)},
            )
        if role == "guest":
            return _allow(RULE_ROLE, f"{s.id} is a guest and the assignee or a subscriber of {thing.id}")
        return _allow(RULE_ROLE, f"{s.id} is a {role} and sees every task of {thing.project}")

    def _task_of(self, project_id: str, task_id: str) -> Task | None:
        # The project's own index (built once per project object, and handed over by the history walk).
        project = self.ws.projects.get(project_id)
        return project.task(task_id) if project is not None else None

    def _attached_to(self, project_id: str, path: str) -> list[Task]:
        """The tasks of the project whose `attachments` name this path (compared normalised)."""
        attached = self._attached.get(project_id)
        if attached is None:
            attached = {}
            project = self.ws.projects.get(project_id)
            for task in project.tasks if project is not None else ():
                for name in task.attachments:
                    attached.setdefault(_norm_path(name), []).append(task)
            # Stored once complete: a half-built index would show a document as attached to nothing.
            self._attached[project_id] = attached
        return attached.get(_norm_path(path), [])

    def _see_comment(self, s: _Subject, thing: object) -> Verdict:
        assert isinstance(thing, Comment)
        task = self._task_of(thing.project, thing.task)
        if task is None:
            return _deny(RULE_UNKNOWN, f"comment {thing.id} is on unknown task {thing.task}")
        verdict = self._see_task(s, task)
        if not verdict:
            return verdict
        return self._hidden(s, describe(thing), thing.hidden, thing.visible_to, {"its author": (thing.author,)})

    def _see_meeting(self, s: _Subject, thing: object) -> Verdict:
        assert isinstance(thing, Meeting)
        project = self._in_project(s, thing.project, describe(thing))
        if isinstance(project, Verdict):
            return project
        if s.person.role == "guest":
            return _deny(RULE_ROLE, f"{s.id} is a guest; meeting minutes are for project members except guests")
        return self._hidden(s, describe(thing), thing.hidden, thing.visible_to, {"an attendee": thing.attendees})

    def _see_change(self, s: _Subject, thing: object) -> Verdict:
        assert isinstance(thing, ChangeRequest)
        project = self._in_project(s, thing.project, thing.id)
        if isinstance(project, Verdict):
            return project
        if s.person.role != "guest":
            return _allow(RULE_MEMBERSHIP, f"{s.id} is a member of {thing.project} and not a guest")
        if thing.requested_by == s.id:
            return _allow(RULE_ROLE, f"{s.id} is a guest who requested {thing.id}")
        for task_id in thing.tasks:
            task = self._task_of(thing.project, task_id)
            if task is not None and self._see_task(s, task):
                return _allow(RULE_ROLE, f"{s.id} is a guest and sees {task_id}, which {thing.id} lists")
        return _deny(RULE_ROLE, f"{s.id} is a guest who neither requested {thing.id} nor sees a task it lists")

    def _see_document(self, s: _Subject, thing: object) -> Verdict:
        assert isinstance(thing, Document)
        what = describe(thing)
        project = self._in_project(s, thing.project, what)
        if isinstance(project, Verdict):
            return project
        hidden = self._hidden(s, what, thing.hidden, thing.visible_to, {})
        if not hidden:
            return hidden
        attached = self._attached_to(thing.project, thing.path)
        if attached:
            for task in attached:
                if self._see_task(s, task):
                    return _allow(RULE_ATTACHMENTS, f"{what} is attached to {task.id}, which {s.id} sees")
            ids = ", ".join(t.id for t in attached)
            return _deny(RULE_ATTACHMENTS, f"{what} is attached to {ids} and {s.id} sees none of them")
        if s.person.role == "guest":
            return _deny(RULE_ATTACHMENTS, f"{s.id} is a guest and {what} is attached to no task they see")
        return hidden

    def _see_time(self, s: _Subject, thing: object) -> Verdict:
        assert isinstance(thing, TimeEntry)
        what = describe(thing)
        task = self._task_of(thing.project, thing.task)
        if task is None:
            return _deny(RULE_UNKNOWN, f"{what} is on unknown task {thing.task}")
        verdict = self._see_task(s, task)
        if not verdict:
            return verdict
        return self._own_or_all(s, "reports", thing.person, what)

    def _own_or_all(self, s: _Subject, key: str, owner: str, what: str) -> Verdict:
        """`sees.<key>` is true, or `own` and the viewer is `owner`."""
        rule = RULE_REPORTS if key == "reports" else RULE_COSTS
        value = self._sees(s, key)
        if value is True:
            return _allow(rule, f"{s.id} sees {key}")
        if value == "own":
            if owner == s.id:
                return _allow(rule, f"{s.id} sees own {key} and {what} is theirs")
            return _deny(rule, f"{s.id} sees only own {key} and {what} is not theirs")
        if s.team_mode and self.effective_sees(s.id).get(key) == "own":
            return _deny(rule, f"{key} of {s.id} is 'own', which gives a team nothing")
        return _deny(rule, f"{s.id} does not see {key}")

    def _see_expense(self, s: _Subject, thing: object) -> Verdict:
        assert isinstance(thing, Expense)
        what = describe(thing)
        project = self._in_project(s, thing.project, what)
        if isinstance(project, Verdict):
            return project
        if thing.task is not None:
            task = self._task_of(thing.project, thing.task)
            if task is None:
                return _deny(RULE_UNKNOWN, f"{what} names unknown task {thing.task}")
            verdict = self._see_task(s, task)
            if not verdict:
                return verdict
        return self._own_or_all(s, "costs", thing.by, what)

    def _see_feedback(self, s: _Subject, thing: object) -> Verdict:
        assert isinstance(thing, Feedback)
        what = describe(thing)
        project = self._in_project(s, thing.project, what)
        if isinstance(project, Verdict):
            return project
        author = self.ws.people.get(thing.author)
        if author is None:
            return _deny(RULE_FEEDBACK, f"the author {thing.author} of {what} is unknown: managers only")
        if author.team == s.person.team:
            return _allow(RULE_FEEDBACK, f"{s.id} is in team {author.team}, the team of {what}'s author")
        return _deny(RULE_FEEDBACK, f"{what} is by {author.id} of team {author.team}, and {s.id} is not in it")

    def _people_seen_by(self, person_id: str) -> frozenset[str]:
        cached = self._visible_people.get(person_id)
        if cached is None:
            seen: set[str] = {person_id}
            project_people, person_projects = self._members_index()
            for project_id in person_projects.get(person_id, ()):
                seen.update(project_people[project_id])
            cached = frozenset(seen)
            self._visible_people[person_id] = cached
        return cached

    def _see_person(self, s: _Subject, thing: object) -> Verdict:
        assert isinstance(thing, Person)
        if thing.id == s.id:
            return _allow(RULE_PEOPLE, f"{s.id} sees themselves")
        if thing.id in self._people_seen_by(s.id):
            return _allow(RULE_PEOPLE, f"{thing.id} is on a project {s.id} sees")
        return _deny(RULE_PEOPLE, f"{thing.id} is on no project {s.id} sees")

    def _see_team(self, s: _Subject, thing: object) -> Verdict:
        assert isinstance(thing, Team)
        # A team's identity is no secret to someone who sees one of its people.
        for person in self._team_members.get(thing.id, ()):
            if self._see_person(s, person):
                return _allow(RULE_PEOPLE, f"{s.id} sees {person.id}, a person of team {thing.id}")
        return _deny(RULE_PEOPLE, f"{s.id} sees no person of team {thing.id}")

    def _see_settings(self, s: _Subject, thing: object) -> Verdict:
        return _deny(RULE_MANAGERS_ONLY, f"workspace settings are for managers only and {s.id} is not one")

    def _see_part(self, s: _Subject, thing: object) -> Verdict:
        project = self._part_index().get(id(thing))
        if project is None:
            return _deny(RULE_UNKNOWN, f"{describe(thing)} belongs to no project of this workspace")
        return self._see_project(s, project)

    def _see_milestone_ref(self, s: _Subject, thing: object) -> Verdict:
        assert isinstance(thing, MilestoneRef)
        return self._see_project(s, thing.project)

    def _see_milestone_tuple(self, s: _Subject, thing: object) -> Verdict:
        ref = _milestone_ref(thing)
        if ref is None:
            return _deny(RULE_UNKNOWN, f"{thing!r} is not a (Project, Milestone) pair")
        return self._see_project(s, ref.project)

    def _see_field(self, s: _Subject, thing: object) -> Verdict:
        assert isinstance(thing, FieldRef)
        entity, name = thing.entity, thing.field
        what = describe(thing)
        if isinstance(entity, Settings):
            if name in PRESENTATION_SETTINGS:
                return _allow(RULE_PRESENTATION, f"{name} is a presentation setting every viewer needs")
            return _deny(RULE_MANAGERS_ONLY, f"{what} is a workspace setting, for managers only")
        if isinstance(entity, Person):
            return self._see_person_field(s, entity, name)
        if isinstance(entity, Team):
            if name in TEAM_PUBLIC_FIELDS:
                return self._see_team(s, entity)
            return _deny(RULE_MANAGERS_ONLY, f"{what} is a team setting, for managers only")
        base = self._see(s, entity)
        if not base:
            return base
        if isinstance(entity, Project):
            if name in ("budget.amount", "budget"):
                verdict = self._all_only(s, "costs", what)
                if not verdict or name == "budget.amount":
                    return verdict
            if name in ("budget.hours", "budget"):
                return self._all_only(s, "reports", what)
            return self._known_field(entity, name, what, base)
        if isinstance(entity, ChangeRequest):
            if name in ("impact.cost", "impact"):
                return self._all_only(s, "costs", what)
            extra = {"impact.hours", "impact.due_shift_days", "decision.by", "decision.on", "decision.note"}
            return self._known_field(entity, name, what, base, extra)
        if isinstance(entity, TimeEntry):
            if name == "cost":
                return self._own_or_all(s, "costs", entity.person, what)
            return self._known_field(entity, name, what, base)
        if dataclasses.is_dataclass(entity) and not isinstance(entity, type):
            return self._known_field(entity, name, what, base)
        return base

    def _known_field(self, entity: object, name: str, what: str, base: Verdict, extra: Iterable[str] = ()) -> Verdict:
        assert dataclasses.is_dataclass(entity) and not isinstance(entity, type)
        if name in _field_names(type(entity)) or name in extra:
            return base
        return _deny(RULE_UNKNOWN_FIELD, f"{what}: {name!r} is not a field the policy knows")

    def _all_only(self, s: _Subject, key: str, what: str) -> Verdict:
        """`sees.<key>` must be true: a whole-project figure is nobody's own."""
        rule = RULE_REPORTS if key == "reports" else RULE_COSTS
        value = self._sees(s, key)
        if value is True:
            return _allow(rule, f"{s.id} sees {key}")
        return _deny(rule, f"{what} needs sees.{key}: true and {s.id} has {value!r}")

    def _see_person_field(self, s: _Subject, person: Person, name: str) -> Verdict:
        what = f"{name} of {person.id}"
        if name not in PERSON_PUBLIC_FIELDS | PERSON_CONTACT_FIELDS | {"rate"}:
            return _deny(RULE_MANAGERS_ONLY, f"{what} is for managers only")
        base = self._see_person(s, person)
        if not base:
            return base
        if name in PERSON_PUBLIC_FIELDS:
            return base
        if name == "rate":
            if person.id != s.id:
                return _deny(RULE_RATE, f"a rate is seen only by managers and the person, and {s.id} is neither")
            if s.team_mode:
                return _deny(RULE_RATE, f"{what} is seen by {s.id} alone, never by their team")
            return self._own_or_all(s, "costs", person.id, what)
        contacts = self._sees(s, "contacts")
        if contacts is False:
            return _deny(RULE_CONTACTS, f"{s.id} does not see contacts")
        if contacts == "own" and person.id != s.id:
            return _deny(RULE_CONTACTS, f"{s.id} sees only their own contacts")
        if person.private_contact and person.team != s.person.team:
            return _deny(
                RULE_PRIVATE_CONTACT,
                f"{person.id} keeps contacts private and {s.id} is not a manager or in team {person.team}",
            )
        return _allow(RULE_CONTACTS, f"{s.id} sees the contacts of {person.id}")

    # ----------------------------------------------------------------- writes

    def can_do(self, person_id: str, action: Action, target: object) -> Verdict:
        """May this person perform `action` on `target` (the state before the change, or the new line)?"""
        person = self.ws.people.get(person_id)
        if person is None:
            return _deny(RULE_UNKNOWN_PERSON, f"{person_id} is not a known person")
        if not person.active:
            return _deny(RULE_INACTIVE, f"{person_id} is inactive and may change nothing")
        if person.role == "reader":
            return _deny(RULE_ROLE, f"{person_id} is a reader and may change nothing")
        s = self._people.subject(person)
        handler = _WRITE_HANDLERS.get(action)
        if handler is None:
            return _deny(RULE_UNKNOWN, f"{action!r} is not a known action")
        return handler(self, s, target)

    def _wrong_target(self, action: Action, target: object, expected: str) -> Verdict:
        return _deny(RULE_TARGET, f"{action.value} expects {expected}, not {type(target).__name__}")

    def _manager_allows(self, s: _Subject, action: Action) -> Verdict:
        return _allow(RULE_MANAGER, f"{s.id} is a manager ({s.person.role}) and may {action.value.replace('-', ' ')}")

    def _do_edit_settings(self, s: _Subject, target: object) -> Verdict:
        if not isinstance(target, (Settings, Person, Team, Project)):
            return self._wrong_target(Action.EDIT_SETTINGS, target, "Settings, Person, Team or Project")
        if s.manager:
            return self._manager_allows(s, Action.EDIT_SETTINGS)
        return _deny(RULE_MANAGERS_ONLY, f"only managers edit {describe(target)} and {s.id} is a {s.person.role}")

    def _user_member(self, s: _Subject, project: Project, doing: str) -> Verdict:
        if s.person.role != "user":
            return _deny(RULE_ROLE, f"{s.id} is a {s.person.role}; only users and managers {doing}")
        if not self.is_member(s.id, project):
            return _deny(RULE_MEMBERSHIP, f"{s.id} is not a member of project {project.id}")
        return _allow(RULE_MEMBERSHIP, f"{s.id} is a user and a member of project {project.id}")

    def _project_for(self, project_id: str) -> Project | Verdict:
        project = self._project_of(project_id)
        if project is None:
            return _deny(RULE_UNKNOWN, f"project {project_id} is unknown")
        return project

    def _do_create_task(self, s: _Subject, target: object) -> Verdict:
        if isinstance(target, Task):
            project: Project | Verdict = self._project_for(target.project)
        elif isinstance(target, Project):
            project = target
        else:
            return self._wrong_target(Action.CREATE_TASK, target, "Project")
        if isinstance(project, Verdict):
            return project
        if s.manager:
            return self._manager_allows(s, Action.CREATE_TASK)
        return self._user_member(s, project, "create tasks")

    def _do_edit_task(self, s: _Subject, target: object) -> Verdict:
        if not isinstance(target, Task):
            return self._wrong_target(Action.EDIT_TASK, target, "Task")
        if s.manager:
            return self._manager_allows(s, Action.EDIT_TASK)
        project = self._project_for(target.project)
        if isinstance(project, Verdict):
            return project
        verdict = self._user_member(s, project, "edit tasks")
        if not verdict:
            return verdict
        seen = self._see_task(s, target)
        if not seen:
            return seen
        return _allow(RULE_MEMBERSHIP, f"{s.id} is a user member of {project.id} and sees {target.id}")

    def _do_set_own_status(self, s: _Subject, target: object) -> Verdict:
        if not isinstance(target, Task):
            return self._wrong_target(Action.SET_OWN_TASK_STATUS, target, "Task")
        if s.manager:
            return self._manager_allows(s, Action.SET_OWN_TASK_STATUS)
        if target.assignee != s.id:
            return _deny(RULE_OWN, f"{target.id} is not assigned to {s.id}")
        seen = self._see_task(s, target)
        if not seen:
            return seen
        return _allow(RULE_OWN, f"{target.id} is assigned to {s.id}, who sees it")

    def _do_add_comment(self, s: _Subject, target: object) -> Verdict:
        if isinstance(target, Comment):
            task = self._task_of(target.project, target.task)
            if task is None:
                return _deny(RULE_UNKNOWN, f"comment {target.id} is on unknown task {target.task}")
            if s.manager:
                return self._manager_allows(s, Action.ADD_COMMENT)
            if target.author != s.id:
                return _deny(RULE_OWN, f"comment {target.id} has author {target.author}, not {s.id}")
        elif isinstance(target, Task):
            task = target
            if s.manager:
                return self._manager_allows(s, Action.ADD_COMMENT)
        else:
            return self._wrong_target(Action.ADD_COMMENT, target, "Task")
        seen = self._see_task(s, task)
        if not seen:
            return seen
        return _allow(seen.rule, f"{s.id} sees {task.id} and may comment on it")

    def _do_edit_comment(self, s: _Subject, target: object) -> Verdict:
        if not isinstance(target, Comment):
            return self._wrong_target(Action.EDIT_COMMENT, target, "Comment")
        if s.manager:
            return self._manager_allows(s, Action.EDIT_COMMENT)
        if target.author != s.id:
            return _deny(RULE_OWN, f"comment {target.id} is by {target.author}; {s.id} may edit only their own")
        seen = self._see_comment(s, target)
        if not seen:
            return seen
        return _allow(RULE_OWN, f"comment {target.id} is {s.id}'s own, on a task they see")

    def _do_write_meeting(self, s: _Subject, target: object) -> Verdict:
        if isinstance(target, Meeting):
            project: Project | Verdict = self._project_for(target.project)
        elif isinstance(target, Project):
            project = target
        else:
            return self._wrong_target(Action.WRITE_MEETING, target, "Project or Meeting")
        if isinstance(project, Verdict):
            return project
        if s.manager:
            return self._manager_allows(s, Action.WRITE_MEETING)
        verdict = self._user_member(s, project, "write meeting minutes")
        if not verdict or not isinstance(target, Meeting):
            return verdict
        return self._see_meeting(s, target)

    def _own_line(self, s: _Subject, action: Action, owner: str, field: str, what: str) -> Verdict | None:
        if owner != s.id:
            return _deny(RULE_OWN, f"{what} has {field} {owner}; {s.id} may {action.value} only their own")
        return None

    def _do_time(self, s: _Subject, action: Action, target: object) -> Verdict:
        if not isinstance(target, TimeEntry):
            return self._wrong_target(action, target, "TimeEntry")
        project = self._project_for(target.project)
        if isinstance(project, Verdict):
            return project
        if s.manager:
            return self._manager_allows(s, action)
        what = describe(target)
        denied = self._own_line(s, action, target.person, "person", what)
        if denied is not None:
            return denied
        task = self._task_of(target.project, target.task)
        if task is None:
            return _deny(RULE_UNKNOWN, f"{what} is on unknown task {target.task}")
        seen = self._see_task(s, task)
        if not seen:
            return seen
        return _allow(RULE_OWN, f"{what} is {s.id}'s own, on {task.id} which they see")

    def _do_expense(self, s: _Subject, action: Action, target: object) -> Verdict:
        if not isinstance(target, Expense):
            return self._wrong_target(action, target, "Expense")
        project = self._project_for(target.project)
        if isinstance(project, Verdict):
            return project
        if s.manager:
            return self._manager_allows(s, action)
        what = describe(target)
        denied = self._own_line(s, action, target.by, "by", what)
        if denied is not None:
            return denied
        if target.task is None:
            if not self.is_member(s.id, project):
                return _deny(RULE_MEMBERSHIP, f"{s.id} is not a member of project {project.id}")
            return _allow(RULE_OWN, f"{what} is {s.id}'s own, in project {project.id} of which they are a member")
        task = self._task_of(target.project, target.task)
        if task is None:
            return _deny(RULE_UNKNOWN, f"{what} names unknown task {target.task}")
        seen = self._see_task(s, task)
        if not seen:
            return seen
        return _allow(RULE_OWN, f"{what} is {s.id}'s own, on {task.id} which they see")

    def _guest_or_user_member(self, s: _Subject, project: Project, doing: str) -> Verdict:
        if s.person.role not in ("guest", "user"):
            return _deny(RULE_ROLE, f"{s.id} is a {s.person.role} and may not {doing}")
        if not self.is_member(s.id, project):
            return _deny(RULE_MEMBERSHIP, f"{s.id} is not a member of project {project.id}")
        return _allow(RULE_MEMBERSHIP, f"{s.id} is a {s.person.role} and a member of project {project.id}")

    def _do_propose_cr(self, s: _Subject, target: object) -> Verdict:
        if isinstance(target, ChangeRequest):
            project: Project | Verdict = self._project_for(target.project)
        elif isinstance(target, Project):
            project = target
        else:
            return self._wrong_target(Action.PROPOSE_CR, target, "Project")
        if isinstance(project, Verdict):
            return project
        if s.manager:
            return self._manager_allows(s, Action.PROPOSE_CR)
        if isinstance(target, ChangeRequest) and target.requested_by != s.id:
            return _deny(RULE_OWN, f"{target.id} is requested by {target.requested_by}, not {s.id}")
        return self._guest_or_user_member(s, project, "propose change requests")

    def _do_edit_cr(self, s: _Subject, target: object) -> Verdict:
        if not isinstance(target, ChangeRequest):
            return self._wrong_target(Action.EDIT_CR, target, "ChangeRequest")
        if target.status != "proposed":
            return _deny(RULE_STATUS, f"{target.id} is {target.status}; it can be edited only while proposed")
        if s.manager:
            return self._manager_allows(s, Action.EDIT_CR)
        if target.requested_by != s.id:
            return _deny(RULE_OWN, f"{target.id} is requested by {target.requested_by}, not {s.id}")
        seen = self._see_change(s, target)
        if not seen:
            return seen
        return _allow(RULE_OWN, f"{target.id} is {s.id}'s own request and still proposed")

    def _do_link_cr_tasks(self, s: _Subject, target: object) -> Verdict:
        # Tasks implementing an approved request are created after the decision; listing them in the
        # request records the work without touching what was agreed (title, impact, decision).
        if not isinstance(target, ChangeRequest):
            return self._wrong_target(Action.LINK_CR_TASKS, target, "ChangeRequest")
        if target.status not in ("approved", "implemented"):
            return _deny(RULE_STATUS, f"{target.id} is {target.status}; tasks are linked to approved requests only")
        project = self._project_for(target.project)
        if isinstance(project, Verdict):
            return project
        if s.manager:
            return self._manager_allows(s, Action.LINK_CR_TASKS)
        verdict = self._user_member(s, project, "link tasks to change requests")
        if not verdict:
            return verdict
        seen = self._see_change(s, target)
        if not seen:
            return seen
        return _allow(RULE_ROLE, f"{s.id} is a user of {project.id} and {target.id} is {target.status}")

    def _do_add_feedback(self, s: _Subject, target: object) -> Verdict:
        if not isinstance(target, Feedback):
            return self._wrong_target(Action.ADD_FEEDBACK, target, "Feedback")
        project = self._project_for(target.project)
        if isinstance(project, Verdict):
            return project
        if s.manager:
            return self._manager_allows(s, Action.ADD_FEEDBACK)
        if target.author != s.id:
            return _deny(RULE_OWN, f"feedback {target.id} has author {target.author}, not {s.id}")
        return self._guest_or_user_member(s, project, "add feedback")

    def _do_respond_feedback(self, s: _Subject, target: object) -> Verdict:
        if not isinstance(target, Feedback):
            return self._wrong_target(Action.RESPOND_FEEDBACK, target, "Feedback")
        if s.manager:
            return self._manager_allows(s, Action.RESPOND_FEEDBACK)
        if s.person.role != "user":
            return _deny(RULE_ROLE, f"{s.id} is a {s.person.role}; only users and managers respond to feedback")
        return self._see_feedback(s, target)

    def _approver(self, s: _Subject, project: Project, doing: str) -> Verdict:
        if s.person.role in NON_APPROVER_ROLES:
            return _deny(RULE_APPROVERS, f"{s.id} is a {s.person.role}, who can never approve")
        source = "the explicit approvers list" if project.approvers is not None else "the default approvers"
        if s.id not in self.approvers(project):
            return _deny(RULE_APPROVERS, f"{s.id} is not among {source} of project {project.id}")
        return _allow(RULE_APPROVERS, f"{s.id} is among {source} of project {project.id} and may {doing}")

    def _do_decide_cr(self, s: _Subject, target: object) -> Verdict:
        if not isinstance(target, ChangeRequest):
            return self._wrong_target(Action.DECIDE_CR, target, "ChangeRequest")
        project = self._project_for(target.project)
        if isinstance(project, Verdict):
            return project
        verdict = self._approver(s, project, f"decide {target.id}")
        if verdict and target.status != "proposed":
            return _deny(RULE_STATUS, f"{target.id} is {target.status}; only a proposed request is decided")
        return verdict

    def _do_sign_off(self, s: _Subject, target: object) -> Verdict:
        ref = _milestone_ref(target)
        if ref is None:
            return self._wrong_target(Action.SIGN_OFF_MILESTONE, target, "MilestoneRef or (Project, Milestone)")
        verdict = self._approver(s, ref.project, f"sign off milestone {ref.milestone.id}")
        if verdict and ref.milestone.status == "signed-off":
            return _deny(RULE_STATUS, f"milestone {ref.milestone.id} is already signed off")
        return verdict

    def _do_implement_cr(self, s: _Subject, target: object) -> Verdict:
        if not isinstance(target, ChangeRequest):
            return self._wrong_target(Action.IMPLEMENT_CR, target, "ChangeRequest")
        if target.status != "approved":
            return _deny(RULE_STATUS, f"{target.id} is {target.status}; only an approved request is implemented")
        project = self._project_for(target.project)
        if isinstance(project, Verdict):
            return project
        if s.manager:
            return self._manager_allows(s, Action.IMPLEMENT_CR)
        verdict = self._user_member(s, project, "implement change requests")
        if not verdict:
            return verdict
        seen = self._see_change(s, target)
        if not seen:
            return seen
        return _allow(RULE_MEMBERSHIP, f"{s.id} is a user member of {project.id} and sees {target.id}")


def _milestone_ref(target: object) -> MilestoneRef | None:
    if isinstance(target, MilestoneRef):
        return target
    if (
        isinstance(target, tuple)
        and len(target) == 2
        and isinstance(target[0], Project)
        and isinstance(target[1], Milestone)
    ):
        return MilestoneRef(target[0], target[1])
    return None


_WriteHandler = Callable[[Policy, _Subject, object], Verdict]

_WRITE_HANDLERS: dict[Action, _WriteHandler] = {
    Action.EDIT_SETTINGS: Policy._do_edit_settings,
    Action.CREATE_TASK: Policy._do_create_task,
    Action.EDIT_TASK: Policy._do_edit_task,
    Action.SET_OWN_TASK_STATUS: Policy._do_set_own_status,
    Action.ADD_COMMENT: Policy._do_add_comment,
    Action.EDIT_COMMENT: Policy._do_edit_comment,
    Action.WRITE_MEETING: Policy._do_write_meeting,
    Action.LOG_TIME: lambda policy, s, t: policy._do_time(s, Action.LOG_TIME, t),
    Action.EDIT_TIME: lambda policy, s, t: policy._do_time(s, Action.EDIT_TIME, t),
    Action.ADD_EXPENSE: lambda policy, s, t: policy._do_expense(s, Action.ADD_EXPENSE, t),
    Action.EDIT_EXPENSE: lambda policy, s, t: policy._do_expense(s, Action.EDIT_EXPENSE, t),
    Action.PROPOSE_CR: Policy._do_propose_cr,
    Action.EDIT_CR: Policy._do_edit_cr,
    Action.ADD_FEEDBACK: Policy._do_add_feedback,
    Action.RESPOND_FEEDBACK: Policy._do_respond_feedback,
    Action.DECIDE_CR: Policy._do_decide_cr,
    Action.SIGN_OFF_MILESTONE: Policy._do_sign_off,
    Action.IMPLEMENT_CR: Policy._do_implement_cr,
    Action.LINK_CR_TASKS: Policy._do_link_cr_tasks,
}


# The kinds of thing whose visibility rule first asks whether their project's members name the viewer.
_MEMBERS_FIRST: Final = frozenset({Task, Meeting, ChangeRequest, Document, Expense, Feedback})

# The visibility rule of each kind of thing; they depend on no workspace, so one table serves every policy.
_SEE_HANDLERS: dict[type, _SeeHandler] = {
    Project: Policy._see_project,
    Task: Policy._see_task,
    Comment: Policy._see_comment,
    Meeting: Policy._see_meeting,
    ChangeRequest: Policy._see_change,
    Document: Policy._see_document,
    TimeEntry: Policy._see_time,
    Expense: Policy._see_expense,
    Feedback: Policy._see_feedback,
    Person: Policy._see_person,
    Team: Policy._see_team,
    Settings: Policy._see_settings,
    MilestoneRef: Policy._see_milestone_ref,
    Milestone: Policy._see_part,
    Deliverable: Policy._see_part,
    FieldRef: Policy._see_field,
}


def _see_handler(thing: object) -> _SeeHandler | None:
    handler = _SEE_HANDLERS.get(type(thing))
    if handler is not None:
        return handler
    for cls, candidate in _SEE_HANDLERS.items():
        if isinstance(thing, cls):
            return candidate
    if _milestone_ref(thing) is not None:
        return Policy._see_milestone_tuple
    return None


def _known_handler(thing: object) -> _SeeHandler | None:
    """The rule for `thing`, or None for things the policy has no rule for (default deny)."""
    handler = _see_handler(thing)
    if isinstance(thing, FieldRef) and (isinstance(thing.entity, FieldRef) or _see_handler(thing.entity) is None):
        return None
    return handler


def _unknown(thing: object) -> Verdict:
    return _deny(RULE_UNKNOWN, f"{describe(thing)} is not something the policy knows")


def can_see(ws: Workspace, viewer: Viewer, thing: object) -> Verdict:
    """One-off visibility check (builds a `Policy`; keep one `Policy` for many checks)."""
    return Policy(ws).can_see(viewer, thing)


def can_do(ws: Workspace, person_id: str, action: Action, target: object) -> Verdict:
    """One-off write check (builds a `Policy`; keep one `Policy` for many checks)."""
    return Policy(ws).can_do(person_id, action, target)


def viewer_for_audience(audience: Audience) -> Viewer:
    """The viewer an audience names (exactly one of `team`, `person`, `role`)."""
    named: list[Viewer] = []
    if audience.team is not None:
        named.append(TeamViewer(audience.team))
    if audience.person is not None:
        named.append(PersonViewer(audience.person))
    if audience.role is not None:
        named.append(RoleViewer(audience.role))
    if len(named) != 1:
        raise PolicyError(f"audience {audience.name} must name exactly one of team, person or role")
    return named[0]


def parse_viewer(ws: Workspace, text: str) -> Viewer:
    """Parse "ana", "person:ana", "team:acme" or "role:admin"; raise PolicyError on unknown names."""
    raw = text.strip()
    kind, sep, name = raw.partition(":")
    if not sep:
        kind, name = "", raw
    kind, name = kind.strip(), name.strip()
    if kind in ("", "person") and name in ws.people:
        return PersonViewer(name)
    if kind in ("", "team") and name in ws.teams:
        return TeamViewer(name)
    if kind == "role":
        if name in VIEWER_ROLES:
            return RoleViewer(name)
        raise PolicyError(f"unknown viewer role {name!r}: use role:owner or role:admin")
    if kind == "person":
        raise PolicyError(f"unknown person {name!r}")
    if kind == "team":
        raise PolicyError(f"unknown team {name!r}")
    if kind:
        raise PolicyError(f"unknown viewer kind {kind!r} in {raw!r}: use person:, team: or role:")
    raise PolicyError(f"{name!r} is neither a known person nor a known team")


def describe_viewer(ws: Workspace, viewer: Viewer) -> str:
    """A human description of a viewer, e.g. "person ana (Ana Lopez, user of team studio)"."""
    if isinstance(viewer, PersonViewer):
        person = ws.people.get(viewer.person)
        if person is None:
            return f"person {viewer.person} (unknown: sees nothing)"
        inactive = ", inactive: sees nothing" if not person.active else ""
        return f"person {person.id} ({person.name}, {person.role} of team {person.team}{inactive})"
    if isinstance(viewer, TeamViewer):
        team = ws.teams.get(viewer.team)
        if team is None:
            return f"team {viewer.team} (unknown: sees nothing)"
        active = [p.id for p in ws.team_members(team.id) if p.active]
        who = f"what all of {', '.join(active)} see" if active else "nothing: no active member"
        return f"team {team.id} ({team.name}, {team.kind}: sees {who})"
    if viewer.role in VIEWER_ROLES:
        return f"role {viewer.role} (the internal audience: sees everything)"
    return f"role {viewer.role} (not a viewer role: sees nothing)"
