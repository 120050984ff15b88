"""A small workspace built directly from model objects, for the policy tests (no loader, no files).

Teams and people:
- studio (internal): olga (owner), adam (admin), ulla (user, private_contact), ivan (user)
- acme (client): carl (user, own `sees: {costs: true}`), rita (reader)
- free (freelancer): gus (guest), gina (guest, own `sees: {reports: true, contacts: own}`), ian (guest, inactive)
- former (client): fred (user, inactive): a team with no active member

Projects:
- web (WEB): members studio, acme, gus, gina, ian; client acme; default approvers (olga, adam, carl)
- app (APP): members olga, ulla; explicit approvers ulla, rita (reader), gus (guest), adam, fred (inactive)

The docstring of each record below says who sees it and why; test_policy_visibility.py holds the table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from worktrail.model import (
    Budget,
    ChangeRequest,
    Comment,
    Deliverable,
    Document,
    Expense,
    Feedback,
    Impact,
    Meeting,
    Milestone,
    Person,
    Project,
    Rate,
    Role,
    Scope,
    SeesOverride,
    Settings,
    Task,
    Team,
    TeamKind,
    TimeEntry,
    Workspace,
)

DAY = dt.date(2026, 3, 2)
WHEN = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def person(
    pid: str,
    team: str,
    role: Role,
    *,
    active: bool = True,
    private_contact: bool = False,
    sees: SeesOverride | None = None,
    rate: float | None = None,
) -> Person:
    """A person with a name, an email and a phone derived from the id."""
    return Person(
        id=pid,
        name=pid.title(),
        team=team,
        role=role,
        emails=(f"{pid}@example.org",),
        title=f"{role} of {team}",
        phone="+33 1 00 00 00 00",
        rate=Rate(rate) if rate is not None else None,
        private_contact=private_contact,
        active=active,
        sees=sees,
    )


def team(tid: str, kind: TeamKind, sees: SeesOverride | None = None) -> Team:
    return Team(id=tid, name=tid.title(), kind=kind, sees=sees)


def task(
    project: str,
    tid: str,
    *,
    assignee: str | None = None,
    subscribers: tuple[str, ...] = (),
    created_by: str | None = None,
    hidden: bool = False,
    visible_to: tuple[str, ...] = (),
    attachments: tuple[str, ...] = (),
    comments: tuple[Comment, ...] = (),
) -> Task:
    return Task(
        id=tid,
        project=project,
        title=f"Task {tid}",
        status="open",
        assignee=assignee,
        subscribers=subscribers,
        created_by=created_by,
        hidden=hidden,
        visible_to=visible_to,
        attachments=attachments,
        comments=comments,
    )


def comment(
    project: str, task_id: str, cid: str, author: str, *, hidden: bool = False, visible_to: tuple[str, ...] = ()
) -> Comment:
    return Comment(
        id=cid, project=project, task=task_id, author=author, date=WHEN, hidden=hidden, visible_to=visible_to
    )


def meeting(
    project: str,
    mid: str,
    attendees: tuple[str, ...],
    *,
    hidden: bool = False,
    visible_to: tuple[str, ...] = (),
) -> Meeting:
    return Meeting(
        id=mid,
        project=project,
        date=WHEN,
        title=f"Meeting {mid}",
        attendees=attendees,
        hidden=hidden,
        visible_to=visible_to,
    )


def change(
    project: str,
    cid: str,
    requested_by: str,
    status: str = "proposed",
    tasks: tuple[str, ...] = (),
    cost: float | None = 1000.0,
) -> ChangeRequest:
    return ChangeRequest(
        id=cid,
        project=project,
        title=f"Change {cid}",
        requested_by=requested_by,
        requested_on=DAY,
        status=status,  # type: ignore[arg-type]
        impact=Impact(hours=10, cost=cost),
        tasks=tasks,
    )


def document(project: str, path: str, *, hidden: bool = False, visible_to: tuple[str, ...] = ()) -> Document:
    return Document(project=project, path=path, title=path, hidden=hidden, visible_to=visible_to)


def time_entry(project: str, person_id: str, task_id: str, hours: float = 1.0) -> TimeEntry:
    return TimeEntry(project=project, date=DAY, person=person_id, task=task_id, hours=hours)


def expense(project: str, by: str, task_id: str | None = None, amount: float = 100.0) -> Expense:
    return Expense(project=project, date=DAY, amount=amount, description=f"spent by {by}", by=by, task=task_id)


def feedback(project: str, fid: str, author: str) -> Feedback:
    return Feedback(id=fid, project=project, author=author, date=DAY, rating=4)


def workspace(teams: list[Team], people: list[Person], projects: list[Project]) -> Workspace:
    return Workspace(
        root="/nowhere",
        settings=Settings(name="Policy test"),
        people={p.id: p for p in people},
        teams={t.id: t for t in teams},
        projects={p.id: p for p in projects},
    )


TEAMS = [
    team("studio", "internal"),
    team("acme", "client"),
    team("free", "freelancer"),
    team("former", "client"),
]

PEOPLE = [
    person("olga", "studio", "owner"),
    person("adam", "studio", "admin", rate=100),
    person("ulla", "studio", "user", private_contact=True, rate=80),
    person("ivan", "studio", "user"),
    person("carl", "acme", "user", sees=SeesOverride(costs=True), rate=90),
    person("rita", "acme", "reader", rate=70),
    person("gus", "free", "guest", rate=50),
    person("gina", "free", "guest", sees=SeesOverride(reports=True, contacts="own")),
    person("ian", "free", "guest", active=False),
    person("fred", "former", "user", active=False),
]

WEB_TASKS = (
    # Plain; gus and gina (guests) are neither assignee nor subscriber.
    task(
        "web",
        "WEB-1",
        assignee="ulla",
        created_by="olga",
        attachments=("brief.pdf", "plan.pdf"),
        comments=(
            comment("web", "WEB-1", "c1", "carl"),
            comment("web", "WEB-1", "c2", "ulla", hidden=True, visible_to=("studio",)),
            comment("web", "WEB-1", "c3", "carl", hidden=True),
            comment("web", "WEB-1", "c6", "gus"),
        ),
    ),
    # Plain; assigned to gus, gina subscribes.
    task(
        "web",
        "WEB-2",
        assignee="gus",
        subscribers=("gina",),
        attachments=("design.png", "shared.pdf", "plan.pdf"),
        comments=(comment("web", "WEB-2", "c5", "gus", hidden=True, visible_to=("gina",)),),
    ),
    # Hidden; ulla assignee, adam creator, the acme team named in visible_to.
    task(
        "web",
        "WEB-3",
        assignee="ulla",
        created_by="adam",
        hidden=True,
        visible_to=("acme",),
        attachments=("./secret.pdf", "shared.pdf"),
        comments=(comment("web", "WEB-3", "c4", "carl"),),
    ),
    # Hidden; gus assignee, ulla creator.
    task("web", "WEB-4", assignee="gus", created_by="ulla", hidden=True),
    # Plain; ivan assignee, gus subscribes.
    task("web", "WEB-5", assignee="ivan", subscribers=("gus",)),
    # Hidden and visible_to gina, but gina is a guest who is neither assignee nor subscriber.
    task("web", "WEB-6", assignee="ivan", created_by="ivan", hidden=True, visible_to=("gina",)),
    # Hidden and visible_to the freelancer team, whose active members both subscribe.
    task("web", "WEB-7", subscribers=("gus", "gina"), hidden=True, visible_to=("free",)),
    # Assigned to a reader (a validation error, but the policy must still refuse the reader's writes).
    task("web", "WEB-8", assignee="rita"),
)

MILESTONES = (
    Milestone(id="beta", title="Beta"),
    Milestone(id="alpha", title="Alpha", status="signed-off", signed_off_by="olga", signed_off_on=DAY),
)
DELIVERABLE = Deliverable(id="site", title="The site")

WEB = Project(
    id="web",
    name="Website",
    key="WEB",
    status="active",
    members=("studio", "acme", "gus", "gina", "ian"),
    client="acme",
    budget=Budget(hours=100, amount=10000),
    scope=Scope(deliverables=(DELIVERABLE,)),
    milestones=MILESTONES,
    tasks=WEB_TASKS,
    changes=(
        change("web", "CR-1", "carl"),
        change("web", "CR-2", "gus", "approved"),
        change("web", "CR-3", "ulla", tasks=("WEB-5",)),
        change("web", "CR-4", "adam", "rejected", tasks=("WEB-2",)),
        change("web", "CR-5", "gus"),
    ),
    meetings=(
        meeting("web", "m1", ("olga", "carl")),
        meeting("web", "m2", ("olga", "ulla"), hidden=True),
        meeting("web", "m3", ("adam",), hidden=True, visible_to=("acme",)),
        meeting("web", "m4", ("gus",), hidden=True, visible_to=("gus",)),
    ),
    documents=(
        document("web", "brief.pdf"),
        document("web", "design.png"),
        document("web", "secret.pdf"),
        document("web", "handbook.pdf"),
        document("web", "contract.pdf", hidden=True, visible_to=("acme",)),
        document("web", "shared.pdf"),
        document("web", "plan.pdf", hidden=True, visible_to=("gus",)),
    ),
    time_entries=(
        time_entry("web", "ulla", "WEB-1", 2),
        time_entry("web", "gus", "WEB-2", 3),
        time_entry("web", "gina", "WEB-2", 1),
        time_entry("web", "ulla", "WEB-3", 4),
        time_entry("web", "gus", "WEB-4", 5),
    ),
    expenses=(
        expense("web", "ulla", "WEB-1"),
        expense("web", "gus", "WEB-2"),
        expense("web", "olga"),
        expense("web", "gina"),
        expense("web", "ulla", "WEB-3"),
    ),
    feedback=(feedback("web", "f1", "carl"), feedback("web", "f2", "gus")),
)

APP_MILESTONE = Milestone(id="m1", title="First release")

APP = Project(
    id="app",
    name="App",
    key="APP",
    status="active",
    members=("olga", "ulla"),
    budget=Budget(hours=50, amount=5000),
    approvers=("ulla", "rita", "gus", "adam", "fred"),
    milestones=(APP_MILESTONE,),
    tasks=(task("app", "APP-1", assignee="ulla"),),
    changes=(change("app", "CR-1", "ulla"),),
    feedback=(feedback("app", "f3", "ulla"),),
)

WS = workspace(TEAMS, PEOPLE, [WEB, APP])


@dataclass(frozen=True)
class Named:
    """Lookups by short label, so that test tables read like the fixture's docstrings."""

    ws: Workspace

    def project(self, pid: str) -> Project:
        return self.ws.projects[pid]

    def task(self, tid: str) -> Task:
        found = self.ws.find_task(tid)
        assert found is not None, tid
        return found

    def comment(self, cid: str) -> Comment:
        for project in self.ws.projects.values():
            for t in project.tasks:
                for c in t.comments:
                    if c.id == cid:
                        return c
        raise KeyError(cid)

    def meeting(self, mid: str) -> Meeting:
        return next(m for p in self.ws.projects.values() for m in p.meetings if m.id == mid)

    def change(self, pid: str, cid: str) -> ChangeRequest:
        found = self.ws.projects[pid].change(cid)
        assert found is not None, cid
        return found

    def document(self, path: str) -> Document:
        return next(d for p in self.ws.projects.values() for d in p.documents if d.path == path)

    def time(self, index: int) -> TimeEntry:
        """The web project's time entry `t<index>` (1-based, in fixture order)."""
        return self.ws.projects["web"].time_entries[index - 1]

    def expense(self, index: int) -> Expense:
        """The web project's expense `e<index>` (1-based, in fixture order)."""
        return self.ws.projects["web"].expenses[index - 1]

    def feedback(self, fid: str) -> Feedback:
        return next(f for p in self.ws.projects.values() for f in p.feedback if f.id == fid)

    def person(self, pid: str) -> Person:
        return self.ws.people[pid]

    def team(self, tid: str) -> Team:
        return self.ws.teams[tid]


N = Named(WS)
