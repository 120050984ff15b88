"""Redact, then render: the copy of a workspace that one viewer may see (SPEC §3 and §5).

`redact` asks the policy about every record and every field with a field-level rule, and builds a
new `Workspace` of the same types holding only what the viewer may see. Records the viewer may not
see are removed; fields are blanked (`None`, `()`, or the field's default). The site, its search
index, feeds and exports are rendered from this copy alone, so they cannot show a hidden thing even
by mistake. Nothing here decides visibility itself, with one documented exception (freelancer terms,
which the policy does not cover yet).

Choices where the specification is silent (all deny rather than leak):
- A reference to a person the viewer may not see becomes `None` where the field allows it
  (`assignee`, `created_by`, `signed_off_by`) and `""` where it is required (`requested_by`,
  `decision.by`, a comment's or feedback's `author`, `response.by`, a time entry's `person`, an
  expense's `by`): the record stays, its author shows as "someone you may not see". Lists of ids
  (`members`, `approvers`, `subscribers`, `visible_to`, `attendees`) keep only the persons and
  teams the viewer sees; unknown ids are dropped. A project's `client` is kept only if that team
  is visible.
- A reference to a record the viewer may not see is dropped: a task's `change_request` and an
  expense's `task` become `None`, a change request's `tasks` keep only visible tasks.
- Person fields for managers only are blanked: `role` and `sees` become `None`; those with no
  empty value are reset to their default (`active: true`, `private_contact: false`).
- An attachment path is kept only when a document of the project's `files/index.yaml` with that
  path is visible; a path with no document record is dropped.
- A time entry's `cost` is computed here (hours x rate; a day rate counts 8 hours), rounded to the
  cent, only where the policy lets the viewer see that entry's cost and the person has a rate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from worktrail.model import (
    Audience,
    Budget,
    ChangeRequest,
    Comment,
    Decision,
    Expense,
    Feedback,
    FreelancerTerms,
    Impact,
    Meeting,
    Milestone,
    Person,
    Project,
    Rate,
    Response,
    Settings,
    Task,
    Team,
    TimeEntry,
    Workspace,
    replaced,
)
from worktrail.policy import (
    FieldRef,
    Policy,
    PolicyError,
    RoleViewer,
    TeamViewer,
    Viewer,
    viewer_for_audience,
)

# The policy's own path normalisation: an attachment must match its document exactly as the
# policy's attachment rule matches it, or a spelling difference would drop or keep the wrong file.
from worktrail.policy import _norm_path as _normalise_path

# PolicyError is re-exported: `redact` raises it for an audience that names no viewer.
__all__ = ["HOURS_PER_DAY", "INTERNAL_AUDIENCE", "PolicyError", "View", "default_audiences", "redact"]

# A day rate is converted with this many hours per day (SPEC: `rate: {amount, per: hour|day}`).
HOURS_PER_DAY = 8
_R = TypeVar("_R", Task, Comment)
INTERNAL_AUDIENCE = "internal"
_DEFAULT_SETTINGS = Settings(name="")


def default_audiences(ws: Workspace) -> tuple[Audience, ...]:
    """The audiences to build (SPEC §5): the configured ones, else internal, client teams, active freelancers.

    Sorted by name. Team and person ids never collide (one namespace), but either may be called
    `internal`; such a site is then named `team-<id>` or `person-<id>`.
    """
    if ws.settings.audiences:
        return tuple(sorted(ws.settings.audiences, key=lambda audience: audience.name))
    audiences = [Audience(INTERNAL_AUDIENCE, role="admin")]
    for team in sorted(ws.teams.values(), key=lambda t: t.id):
        if team.kind == "client":
            name = team.id if team.id != INTERNAL_AUDIENCE else f"team-{team.id}"
            audiences.append(Audience(name, team=team.id))
    for person in sorted(ws.people.values(), key=lambda p: p.id):
        team_of = ws.teams.get(person.team)
        if person.active and team_of is not None and team_of.kind == "freelancer":
            name = person.id if person.id != INTERNAL_AUDIENCE else f"person-{person.id}"
            audiences.append(Audience(name, person=person.id))
    return tuple(sorted(audiences, key=lambda audience: audience.name))


@dataclass(frozen=True)
class View:
    """What one audience may see: the redacted workspace and presentation hints for the site."""

    audience: Audience
    viewer: Viewer
    # Human label of the audience, e.g. "Acme Outdoor (client)", "Nina Petrova", "Internal".
    label: str
    # The redacted copy: only what this viewer may see. Render from nothing else.
    workspace: Workspace
    # The viewer sees some money (`sees.costs` true, or own): presentation hint only.
    show_costs: bool
    # The viewer sees some time entries (`sees.reports` true, or own).
    show_reports: bool
    # The viewer sees some contacts (`sees.contacts` true, or own).
    show_contacts: bool
    # Managers and the role viewer: may see raw commit messages and settings.
    sees_everything: bool


def redact(ws: Workspace, audience: Audience, policy: Policy | None = None) -> View:
    """The view of `ws` for the viewer `audience` names; pass one `Policy` of `ws` to reuse it for many audiences."""
    if policy is None:
        policy = Policy(ws)
    elif policy.ws is not ws:
        raise ValueError("the policy was built for another workspace")
    viewer = viewer_for_audience(audience)
    redactor = _Redactor(ws, policy, viewer)
    return View(
        audience=audience,
        viewer=viewer,
        label=_label(ws, policy, audience, viewer),
        workspace=redactor.workspace(),
        show_costs=_sees_some(policy, viewer, "costs"),
        show_reports=_sees_some(policy, viewer, "reports"),
        show_contacts=_sees_some(policy, viewer, "contacts"),
        sees_everything=redactor.everything,
    )


def _label(ws: Workspace, policy: Policy, audience: Audience, viewer: Viewer) -> str:
    # A name goes into the label only if the viewer may see it; otherwise the audience's own name
    # (chosen by whoever configured the site) stands in.
    if isinstance(viewer, RoleViewer):
        return "Internal" if policy.can_see(viewer, ws.settings) else audience.name
    if isinstance(viewer, TeamViewer):
        team = ws.teams.get(viewer.team)
        if team is not None and policy.can_see(viewer, FieldRef(team, "name")):
            return f"{team.name} ({team.kind})"
        return audience.name
    person = ws.people.get(viewer.person)
    if person is not None and policy.can_see(viewer, FieldRef(person, "name")):
        return person.name
    return audience.name


def _sees_some(policy: Policy, viewer: Viewer, key: str) -> bool:
    """Whether `sees.<key>` gives the viewer anything: true or own for a person, true for every team member."""
    if isinstance(viewer, RoleViewer):
        return bool(policy.can_see(viewer, policy.ws.settings))
    if isinstance(viewer, TeamViewer):
        if viewer.team not in policy.ws.teams:
            return False
        active = [p for p in policy.ws.team_members(viewer.team) if p.active]
        # `own` gives a team nothing (SPEC §3), so every active member must have `true`.
        return bool(active) and all(policy.effective_sees(p.id).get(key) is True for p in active)
    person = policy.ws.people.get(viewer.person)
    if person is None or not person.active:
        return False
    return policy.effective_sees(person.id).get(key) in (True, "own")


class _Redactor:
    """Builds the redacted copy for one viewer; caches per-id answers so each is asked once."""

    def __init__(self, ws: Workspace, policy: Policy, viewer: Viewer) -> None:
        self.ws = ws
        self.policy = policy
        self.viewer = viewer
        self.everything = bool(policy.can_see(viewer, ws.settings))
        self._ids: dict[str, bool] = {}

    # ----------------------------------------------------------------- questions to the policy

    def sees(self, thing: object) -> bool:
        return bool(self.policy.can_see(self.viewer, thing))

    def sees_field(self, entity: object, name: str) -> bool:
        return bool(self.policy.can_see(self.viewer, FieldRef(entity, name)))

    def sees_id(self, ident: str) -> bool:
        """Whether a person or team id names someone the viewer sees (unknown ids: no)."""
        known = self._ids.get(ident)
        if known is None:
            person = self.ws.people.get(ident)
            team = self.ws.teams.get(ident)
            if person is not None:
                known = self.sees(person)
            elif team is not None:
                known = self.sees(team)
            else:
                known = False
            self._ids[ident] = known
        return known

    def person_or_none(self, ident: str | None) -> str | None:
        if ident is None or ident not in self.ws.people or not self.sees_id(ident):
            return None
        return ident

    def person_or_blank(self, ident: str) -> str:
        return self.person_or_none(ident) or ""

    def ids(self, idents: Iterable[str]) -> tuple[str, ...]:
        return tuple(ident for ident in idents if self.sees_id(ident))

    def persons(self, idents: Iterable[str]) -> tuple[str, ...]:
        return tuple(ident for ident in idents if ident in self.ws.people and self.sees_id(ident))

    # ----------------------------------------------------------------- the copy

    def workspace(self) -> Workspace:
        people = {pid: self.person(p) for pid, p in self.ws.people.items() if self.sees_id(pid)}
        teams = {tid: self.team(t) for tid, t in self.ws.teams.items() if self.sees_id(tid)}
        projects = {pid: self.project(p) for pid, p in self.ws.projects.items() if self.sees(p)}
        return Workspace(
            root=self.ws.root,
            settings=self.settings(self.ws.settings),
            people=people,
            teams=teams,
            projects=projects,
        )

    def settings(self, settings: Settings) -> Settings:
        # Each field the viewer may not see falls back to its default (the name to "").
        kept = {
            f.name: getattr(settings, f.name)
            for f in dataclasses.fields(Settings)
            if f.name != "loc" and self.sees_field(settings, f.name)
        }
        return dataclasses.replace(_DEFAULT_SETTINGS, loc=settings.loc, **kept)

    def person(self, person: Person) -> Person:
        return dataclasses.replace(
            person,
            role=person.role if self.sees_field(person, "role") else None,
            emails=person.emails if self.sees_field(person, "emails") else (),
            phone=person.phone if self.sees_field(person, "phone") else None,
            rate=person.rate if self.sees_field(person, "rate") else None,
            title=person.title if self.sees_field(person, "title") else None,
            sees=person.sees if self.sees_field(person, "sees") else None,
            private_contact=person.private_contact if self.sees_field(person, "private_contact") else False,
            active=person.active if self.sees_field(person, "active") else True,
        )

    def team(self, team: Team) -> Team:
        return dataclasses.replace(team, sees=team.sees if self.sees_field(team, "sees") else None)

    def project(self, project: Project) -> Project:
        tasks = [task for task in project.tasks if self.sees(task)]
        task_ids = frozenset(task.id for task in tasks)
        changes = [cr for cr in project.changes if self.sees(cr)]
        change_ids = frozenset(cr.id for cr in changes)
        documents = [doc for doc in project.documents if self.sees(doc)]
        doc_paths = frozenset(_normalise_path(doc.path) for doc in documents)
        return dataclasses.replace(
            project,
            members=self.ids(project.members),
            client=project.client if project.client is not None and self.sees_id(project.client) else None,
            budget=self.budget(project),
            approvers=None if project.approvers is None else self.persons(project.approvers),
            scope=dataclasses.replace(project.scope, freelancer_terms=self.freelancer_terms(project)),
            milestones=tuple(self.milestone(m) for m in project.milestones),
            tasks=tuple(self.task(task, change_ids, doc_paths) for task in tasks),
            changes=tuple(self.change(cr, task_ids) for cr in changes),
            meetings=tuple(self.meeting(m) for m in project.meetings if self.sees(m)),
            time_entries=tuple(self.time_entry(e) for e in project.time_entries if self.sees(e)),
            expenses=tuple(self.expense(e, task_ids) for e in project.expenses if self.sees(e)),
            documents=tuple(dataclasses.replace(d, visible_to=self.ids(d.visible_to)) for d in documents),
            feedback=tuple(self.feedback(f) for f in project.feedback if self.sees(f)),
        )

    def budget(self, project: Project) -> Budget | None:
        if project.budget is None:
            return None
        hours = project.budget.hours if self.sees_field(project, "budget.hours") else None
        amount = project.budget.amount if self.sees_field(project, "budget.amount") else None
        return None if hours is None and amount is None else Budget(hours=hours, amount=amount)

    def freelancer_terms(self, project: Project) -> tuple[FreelancerTerms, ...]:
        """Terms kept for managers and for whom they are `for`: that person, or their team (or that team as viewer).

        The policy has no rule for freelancer terms yet; they are agreements between the agency
        and one freelancer, so other freelancers and the client do not see them.
        """
        if self.everything:
            return project.scope.freelancer_terms
        if isinstance(self.viewer, RoleViewer):
            return ()
        if isinstance(self.viewer, TeamViewer):
            mine = {self.viewer.team}
        else:
            person = self.ws.people.get(self.viewer.person)
            if person is None or not person.active:
                return ()
            mine = {person.id, person.team}
        return tuple(terms for terms in project.scope.freelancer_terms if terms.for_ in mine)

    def milestone(self, milestone: Milestone) -> Milestone:
        return dataclasses.replace(milestone, signed_off_by=self.person_or_none(milestone.signed_off_by))

    def task(self, task: Task, change_ids: frozenset[str], doc_paths: frozenset[str]) -> Task:
        kept = {
            "assignee": self.person_or_none(task.assignee),
            "subscribers": self.persons(task.subscribers),
            "created_by": self.person_or_none(task.created_by),
            "change_request": task.change_request if task.change_request in change_ids else None,
            "attachments": tuple(path for path in task.attachments if _normalise_path(path) in doc_paths),
            "visible_to": self.ids(task.visible_to),
            "comments": tuple(self.comment(c) for c in task.comments if self.sees(c)),
        }
        return _as_redacted(task, kept)

    def comment(self, comment: Comment) -> Comment:
        kept = {"author": self.person_or_blank(comment.author), "visible_to": self.ids(comment.visible_to)}
        return _as_redacted(comment, kept)

    def change(self, cr: ChangeRequest, task_ids: frozenset[str]) -> ChangeRequest:
        impact: Impact | None = None
        if cr.impact is not None:
            cost = cr.impact.cost if self.sees_field(cr, "impact.cost") else None
            impact = dataclasses.replace(cr.impact, cost=cost)
            if impact == Impact():
                impact = None
        decision: Decision | None = None
        if cr.decision is not None:
            decision = dataclasses.replace(cr.decision, by=self.person_or_blank(cr.decision.by))
        return dataclasses.replace(
            cr,
            requested_by=self.person_or_blank(cr.requested_by),
            impact=impact,
            decision=decision,
            tasks=tuple(task_id for task_id in cr.tasks if task_id in task_ids),
        )

    def meeting(self, meeting: Meeting) -> Meeting:
        return dataclasses.replace(
            meeting, attendees=self.persons(meeting.attendees), visible_to=self.ids(meeting.visible_to)
        )

    def time_entry(self, entry: TimeEntry) -> TimeEntry:
        cost: float | None = None
        person = self.ws.people.get(entry.person)
        if person is not None and person.rate is not None and self.sees_field(entry, "cost"):
            cost = _cost(entry.hours, person.rate)
        return dataclasses.replace(entry, person=self.person_or_blank(entry.person), cost=cost)

    def expense(self, expense: Expense, task_ids: frozenset[str]) -> Expense:
        return dataclasses.replace(
            expense,
            by=self.person_or_blank(expense.by),
            task=expense.task if expense.task in task_ids else None,
        )

    def feedback(self, feedback: Feedback) -> Feedback:
        response: Response | None = None
        if feedback.response is not None:
            response = dataclasses.replace(feedback.response, by=self.person_or_blank(feedback.response.by))
        return dataclasses.replace(feedback, author=self.person_or_blank(feedback.author), response=response)


def _as_redacted(record: _R, fields: Mapping[str, object]) -> _R:
    """`record` with `fields` as redacted: the record itself when each is what it holds already (the same
    values: a viewer who sees all of it, as the internal site does), else a copy with them."""
    values = record.__dict__
    for name, value in fields.items():
        held = values[name]
        # Tuples of comments compare item by item: the same objects when none was redacted.
        if held is not value and held != value:
            return replaced(record, **fields)
    return record


def _cost(hours: float, rate: Rate) -> float:
    per_hour = rate.amount / HOURS_PER_DAY if rate.per == "day" else rate.amount
    return float(round(hours * per_hour, 2))
