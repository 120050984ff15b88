"""Random small workspaces for the leak suite, with a unique canary in every free-text and money field.

Every free text (names, titles, bodies, notes, descriptions, emails, phones, scope texts, decisions,
paths) holds a text canary `cnry<8 hex>x`; ids of people, teams, projects, milestones, deliverables,
comments, meetings and feedback are canaries too, and task ids carry their project's canary key.
Money and budget hours hold numeric canaries with a unique 7-digit integer part. `canaries(ws)` lists
each canary with the entity and field it sits in, so a test can ask the policy whether a viewer may
see it.

Time is logged in 1.5, 2.5 or 3.5 hour lines, at most one line per person and project, so no total
of a person's hours is 1 or 8: a cost (hours x rate) then never equals a rate canary.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from hypothesis import strategies as st

from worktrail.model import (
    ROLES,
    Audience,
    Budget,
    ChangeRequest,
    Comment,
    Communication,
    Decision,
    Deliverable,
    Document,
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
    Scope,
    SeesOverride,
    Settings,
    Task,
    Team,
    TeamKind,
    TimeEntry,
    Workspace,
)

TEXT_CANARY = re.compile(r"cnry[0-9a-f]{8}x", re.IGNORECASE)
DAY = dt.date(2026, 3, 2)
WHEN = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
HOURS = (1.5, 2.5, 3.5)
TEAM_KINDS: tuple[TeamKind, ...] = ("internal", "client", "freelancer")
SEES_VALUES: tuple[bool | Literal["own"] | None, ...] = (None, True, False, "own")

Kind = Literal["text", "money", "terms"]

# The marker phrases of sample-workspace/README.md (lowercased), each with the persons and teams
# that may see it: they occur only in hidden items.
_MANAGERS = {"marie", "tom"}
_STUDIO = {"marie", "tom", "ana", "leo", "sofia"}
SAMPLE_MARKERS: dict[str, set[str]] = {
    "leaked staging": _MANAGERS | {"ana", "sofia", "leo", "studio"},
    "staging-token-incident": _MANAGERS | {"ana", "sofia", "leo", "studio"},
    "summit pro": _MANAGERS | {"leo", "karen", "david", "acme"},
    "project ridge": _MANAGERS | {"leo", "karen", "david", "acme"},
    "summit-pro-brief": _MANAGERS | {"leo", "karen", "david", "acme"},
    "payment sdk": _MANAGERS | {"ana", "raj"},
    "payment-sdk-advisory": _MANAGERS | {"ana", "raj"},
    "po number": _MANAGERS | {"nina"},
    "cost us on lcp": _STUDIO | {"studio"},
    "free tier": _MANAGERS | {"sofia"},
    "20 % over the estimate": _MANAGERS | {"ana"},
    "staffing review": _MANAGERS | {"ana"},
    "budget review, march 2026": _MANAGERS | {"ana"},
    "budget-review": _MANAGERS | {"ana"},
}


@dataclass(frozen=True)
class Canary:
    """One canary: where it sits (entity and the field to ask the policy about) and what it is.

    `kind` is "text" (a substring), "money" (a number: its integer part is searched) or "terms"
    (text in freelancer terms, whose visibility the redaction decides: see `redact`). For "terms",
    `entity` is the project and `field` the `for` id. `absent_only` marks a canary whose presence
    an output need not show (the contents of a document file), only its absence when hidden.
    """

    token: str
    entity: object
    field: str
    kind: Kind = "text"
    value: float | None = None
    absent_only: bool = False


@dataclass(frozen=True)
class LeakCase:
    """A generated workspace, the document files to write under its root, and extra audiences to try."""

    ws: Workspace
    files: dict[str, str]
    file_canaries: tuple[Canary, ...]
    audiences: tuple[Audience, ...]


@dataclass
class _Tokens:
    """Hands out unique canaries from a random seed."""

    seed: int
    count: int = 0
    money_seed: int = 0
    used: set[str] = field(default_factory=set)

    def text(self) -> str:
        self.count += 1
        # Multiplying by an odd constant modulo 2**32 is a bijection: every token is unique.
        token = f"cnry{(self.seed + self.count * 0x9E3779B1) % 2**32:08x}x"
        assert token not in self.used
        self.used.add(token)
        return token

    def key(self) -> str:
        return self.text().upper()

    def money(self) -> float:
        self.count += 1
        # 7368787 is coprime with 9_000_000, so integer parts are unique; cents stay below 50
        # so rounding to a whole number keeps the integer part.
        whole = 1_000_000 + (self.money_seed + self.count * 7_368_787) % 9_000_000
        return whole + (10 + self.count % 40) / 100


def _some(draw: st.DrawFn, items: Sequence[str], max_size: int = 3) -> tuple[str, ...]:
    if not items:
        return ()
    return tuple(draw(st.lists(st.sampled_from(list(items)), unique=True, max_size=max_size)))


def _maybe(draw: st.DrawFn, items: Sequence[str]) -> str | None:
    if not items:
        return None
    return draw(st.none() | st.sampled_from(list(items)))


def _sees(draw: st.DrawFn) -> SeesOverride | None:
    if draw(st.integers(0, 2)) != 0:
        return None
    values = st.sampled_from(SEES_VALUES)
    return SeesOverride(costs=draw(values), reports=draw(values), contacts=draw(values))


def _person(draw: st.DrawFn, tok: _Tokens, team_ids: Sequence[str]) -> Person:
    rate: Rate | None = None
    if draw(st.integers(0, 3)) != 0:
        rate = Rate(tok.money(), draw(st.sampled_from(["hour", "day"])))
    return Person(
        id=tok.text(),
        name=f"Name {tok.text()}",
        team=draw(st.sampled_from(list(team_ids))),
        role=draw(st.sampled_from(ROLES)),
        emails=tuple(f"{tok.text()}@example.org" for _ in range(draw(st.integers(0, 2)))),
        title=draw(st.none() | st.just(f"Title {tok.text()}")),
        phone=draw(st.none() | st.just(f"+33 {tok.text()}")),
        rate=rate,
        private_contact=draw(st.booleans()),
        active=draw(st.sampled_from([True, True, True, False])),
        sees=_sees(draw),
    )


@st.composite
def _project(draw: st.DrawFn, tok: _Tokens, people: Sequence[Person], teams: Sequence[Team]) -> Project:
    pid, key = tok.text(), tok.key()
    person_ids = [p.id for p in people]
    names = person_ids + [t.id for t in teams]
    members = _some(draw, names, 5)
    member_people = {p.id for p in people if p.id in members or p.team in members}
    # Validation forbids readers as assignees and guests outside their projects (SPEC §4).
    assignable = [p.id for p in people if p.role != "reader" and (p.role != "guest" or p.id in member_people)]

    doc_paths = [
        draw(st.sampled_from([f"{tok.text()}.md", f"sub/{tok.text()}.txt"])) for _ in range(draw(st.integers(0, 3)))
    ]
    milestones = tuple(
        Milestone(
            id=tok.text(),
            title=f"Milestone {tok.text()}",
            criteria=(f"Criterion {tok.text()}",),
            status=draw(st.sampled_from(["open", "ready", "signed-off"])),
            signed_off_by=_maybe(draw, person_ids),
        )
        for _ in range(draw(st.integers(0, 2)))
    )
    deliverables = tuple(
        Deliverable(id=tok.text(), title=f"Deliverable {tok.text()}") for _ in range(draw(st.integers(0, 1)))
    )
    cr_ids = [f"CR-{n}" for n in range(1, draw(st.integers(0, 2)) + 1)]

    tasks: list[Task] = []
    for n in range(1, draw(st.integers(0, 5)) + 1):
        task_id = f"{key}-{n}"
        comments = tuple(
            Comment(
                id=tok.text(),
                project=pid,
                task=task_id,
                author=draw(st.sampled_from(person_ids)),
                date=WHEN,
                body=f"Comment {tok.text()}",
                hidden=draw(st.booleans()),
                visible_to=_some(draw, names),
            )
            for _ in range(draw(st.integers(0, 2)))
        )
        # Some attachments are spelled differently from their document (`./a.md`): the same file.
        attachments = tuple(draw(st.sampled_from([path, f"./{path}"])) for path in _some(draw, doc_paths, 2))
        tasks.append(
            Task(
                id=task_id,
                project=pid,
                title=f"Task {tok.text()}",
                status=draw(st.sampled_from(["open", "in-progress", "review", "done", "cancelled"])),
                body=f"Body {tok.text()}",
                assignee=_maybe(draw, assignable),
                subscribers=_some(draw, person_ids),
                created_by=_maybe(draw, person_ids),
                tags=(tok.text(),),
                milestone=draw(st.none() | st.sampled_from([m.id for m in milestones])) if milestones else None,
                change_request=_maybe(draw, cr_ids),
                attachments=attachments,
                hidden=draw(st.booleans()),
                visible_to=_some(draw, names),
                comments=comments,
            )
        )
    task_ids = [t.id for t in tasks]

    changes = tuple(
        ChangeRequest(
            id=cr_id,
            project=pid,
            title=f"Change {tok.text()}",
            requested_by=draw(st.sampled_from(person_ids)),
            requested_on=DAY,
            status=draw(st.sampled_from(["proposed", "approved", "rejected", "implemented", "withdrawn"])),
            body=f"Why {tok.text()}",
            impact=draw(st.none() | st.just(Impact(hours=2, cost=tok.money(), due_shift_days=3))),
            decision=draw(
                st.none() | st.just(Decision(by=draw(st.sampled_from(person_ids)), on=DAY, note=f"Note {tok.text()}"))
            ),
            tasks=_some(draw, task_ids),
        )
        for cr_id in cr_ids
    )
    meetings = tuple(
        Meeting(
            id=tok.text(),
            project=pid,
            date=WHEN,
            title=f"Meeting {tok.text()}",
            body=f"Minutes {tok.text()}",
            attendees=_some(draw, person_ids),
            decisions=(f"Agreed {tok.text()}",),
            hidden=draw(st.booleans()),
            visible_to=_some(draw, names),
        )
        for _ in range(draw(st.integers(0, 2)))
    )
    documents = tuple(
        Document(
            project=pid,
            path=path,
            title=f"Document {tok.text()}",
            description=draw(st.none() | st.just(f"About {tok.text()}")),
            hidden=draw(st.booleans()),
            visible_to=_some(draw, names),
        )
        for path in doc_paths
    )
    loggers = _some(draw, person_ids, 4) if task_ids else ()
    time_entries = tuple(
        TimeEntry(
            project=pid,
            date=DAY,
            person=who,
            task=draw(st.sampled_from(task_ids)),
            hours=draw(st.sampled_from(HOURS)),
            note=f"Logged {tok.text()}",
        )
        for who in loggers
    )
    expenses = tuple(
        Expense(
            project=pid,
            date=DAY,
            amount=tok.money(),
            description=f"Spent {tok.text()}",
            by=draw(st.sampled_from(person_ids)),
            task=_maybe(draw, task_ids),
        )
        for _ in range(draw(st.integers(0, 2)))
    )
    feedback = tuple(
        Feedback(
            id=tok.text(),
            project=pid,
            author=draw(st.sampled_from(person_ids)),
            date=DAY,
            rating=draw(st.integers(1, 5)),
            body=f"Feedback {tok.text()}",
            response=draw(
                st.none()
                | st.just(Response(by=draw(st.sampled_from(person_ids)), date=DAY, text=f"Reply {tok.text()}"))
            ),
        )
        for _ in range(draw(st.integers(0, 1)))
    )
    terms = tuple(
        FreelancerTerms(
            for_=draw(st.sampled_from(names)),
            responsibilities=(f"Does {tok.text()}",),
            standards=(f"Standard {tok.text()}",),
            deadlines=(f"By {tok.text()}",),
        )
        for _ in range(draw(st.integers(0, 2)))
    )
    client_teams = [t.id for t in teams if t.kind == "client"]
    return Project(
        id=pid,
        name=f"Project {tok.text()}",
        key=key,
        status="active",
        members=members,
        client=_maybe(draw, client_teams),
        budget=draw(st.none() | st.just(Budget(hours=tok.money(), amount=tok.money()))),
        approvers=draw(st.none() | st.just(_some(draw, person_ids))),
        scope=Scope(
            objectives=(f"Objective {tok.text()}",),
            deliverables=deliverables,
            out_of_scope=(f"Not {tok.text()}",),
            client_responsibilities=(f"Client {tok.text()}",),
            freelancer_terms=terms,
        ),
        milestones=milestones,
        communication=Communication(cadence="weekly", weekday="monday", time="10:00", channel=f"Via {tok.text()}"),
        description=f"Description {tok.text()}",
        tasks=tuple(tasks),
        changes=changes,
        meetings=meetings,
        time_entries=time_entries,
        expenses=expenses,
        documents=documents,
        feedback=feedback,
    )


@st.composite
def leak_cases(draw: st.DrawFn) -> LeakCase:
    """A random small workspace (2–4 teams, 3–8 people, 1–2 projects) full of canaries."""
    tok = _Tokens(seed=draw(st.integers(0, 2**32 - 1)), money_seed=draw(st.integers(0, 8_999_999)))
    teams = [
        Team(id=tok.text(), name=f"Team {tok.text()}", kind=draw(st.sampled_from(TEAM_KINDS)), sees=_sees(draw))
        for _ in range(draw(st.integers(2, 4)))
    ]
    team_ids = [t.id for t in teams]
    people = [_person(draw, tok, team_ids) for _ in range(draw(st.integers(3, 8)))]
    projects = [draw(_project(tok, people, teams)) for _ in range(draw(st.integers(1, 2)))]

    names = [p.id for p in people] + team_ids
    configured: tuple[Audience, ...] = ()
    if draw(st.integers(0, 4)) == 0:
        # Configured audiences replace the defaults (SPEC §5); their names are not canaries.
        configured = (
            Audience("aud-internal", role="admin"),
            Audience("aud-person", person=draw(st.sampled_from([p.id for p in people]))),
            Audience("aud-team", team=draw(st.sampled_from(team_ids))),
        )
    settings = Settings(name=f"Workspace {tok.text()}", timezone="Europe/Paris", audiences=configured)
    ws = Workspace(
        root="",
        settings=settings,
        people={p.id: p for p in people},
        teams={t.id: t for t in teams},
        projects={p.id: p for p in projects},
    )

    files: dict[str, str] = {}
    file_canaries: list[Canary] = []
    for project in projects:
        for doc in project.documents:
            token = tok.text()
            files[f"projects/{project.id}/files/{doc.path}"] = f"Contents {token}\n"
            file_canaries.append(Canary(token, doc, "path", absent_only=True))

    extra = (
        Audience("x-person", person=draw(st.sampled_from(names[: len(people)]))),
        Audience("x-team", team=draw(st.sampled_from(team_ids))),
        Audience("x-reader-role", role="user"),
        Audience("x-unknown", person="nobody"),
    )
    return LeakCase(ws=ws, files=files, file_canaries=tuple(file_canaries), audiences=extra)


def canaries(ws: Workspace) -> Iterator[Canary]:
    """Every canary of a generated workspace with the entity and field that decide who sees it."""
    yield Canary(_token(ws.settings.name), ws.settings, "name")
    for team in ws.teams.values():
        yield Canary(team.id, team, "id")
        yield Canary(_token(team.name), team, "name")
    for person in ws.people.values():
        yield Canary(person.id, person, "id")
        yield Canary(_token(person.name), person, "name")
        if person.title is not None:
            yield Canary(_token(person.title), person, "title")
        if person.phone is not None:
            yield Canary(_token(person.phone), person, "phone")
        for email in person.emails:
            yield Canary(_token(email), person, "emails")
        if person.rate is not None:
            yield _money(person.rate.amount, person, "rate")
    for project in ws.projects.values():
        yield from _project_canaries(project)


def _project_canaries(project: Project) -> Iterator[Canary]:
    yield Canary(project.id, project, "id")
    yield Canary(project.key, project, "key")
    yield Canary(_token(project.name), project, "name")
    if project.description is not None:
        yield Canary(_token(project.description), project, "description")
    if project.communication is not None and project.communication.channel is not None:
        yield Canary(_token(project.communication.channel), project, "communication")
    if project.budget is not None:
        if project.budget.amount is not None:
            yield _money(project.budget.amount, project, "budget.amount")
        if project.budget.hours is not None:
            yield _money(project.budget.hours, project, "budget.hours")
    scope = project.scope
    for text in (*scope.objectives, *scope.out_of_scope, *scope.client_responsibilities):
        yield Canary(_token(text), project, "scope")
    for deliverable in scope.deliverables:
        yield Canary(deliverable.id, project, "scope")
        yield Canary(_token(deliverable.title), project, "scope")
    for terms in scope.freelancer_terms:
        for text in (*terms.responsibilities, *terms.standards, *terms.deadlines):
            yield Canary(_token(text), project, terms.for_, kind="terms")
    for milestone in project.milestones:
        yield Canary(milestone.id, project, "milestones")
        yield Canary(_token(milestone.title), project, "milestones")
        for text in milestone.criteria:
            yield Canary(_token(text), project, "milestones")
    for task in project.tasks:
        yield Canary(task.id, task, "id")
        yield Canary(_token(task.title), task, "title")
        yield Canary(_token(task.body), task, "body")
        for tag in task.tags:
            yield Canary(_token(tag), task, "tags")
        for comment in task.comments:
            yield Canary(comment.id, comment, "id")
            yield Canary(_token(comment.body), comment, "body")
    for cr in project.changes:
        yield Canary(_token(cr.title), cr, "title")
        yield Canary(_token(cr.body), cr, "body")
        if cr.impact is not None and cr.impact.cost is not None:
            yield _money(cr.impact.cost, cr, "impact.cost")
        if cr.decision is not None and cr.decision.note is not None:
            yield Canary(_token(cr.decision.note), cr, "decision.note")
    for meeting in project.meetings:
        yield Canary(meeting.id, meeting, "id")
        yield Canary(_token(meeting.title), meeting, "title")
        yield Canary(_token(meeting.body), meeting, "body")
        for text in meeting.decisions:
            yield Canary(_token(text), meeting, "decisions")
    for doc in project.documents:
        yield Canary(_token(doc.path), doc, "path")
        yield Canary(_token(doc.title), doc, "title")
        if doc.description is not None:
            yield Canary(_token(doc.description), doc, "description")
    for entry in project.time_entries:
        if entry.note is not None:
            yield Canary(_token(entry.note), entry, "note")
    for expense in project.expenses:
        yield Canary(_token(expense.description), expense, "description")
        yield _money(expense.amount, expense, "amount")
    for fb in project.feedback:
        yield Canary(fb.id, fb, "id")
        yield Canary(_token(fb.body), fb, "body")
        if fb.response is not None:
            yield Canary(_token(fb.response.text), fb, "response")


def _token(text: str) -> str:
    match = TEXT_CANARY.search(text)
    assert match is not None, f"no canary in {text!r}"
    return match.group(0)


def _money(value: float, entity: object, field_name: str) -> Canary:
    return Canary(str(int(value)), entity, field_name, kind="money", value=value)


def money_pattern(value: float) -> re.Pattern[str]:
    """The integer part of an amount as any output may format it: 1234567, 1,234,567, 1 234 567, 1.234.567."""
    digits = str(int(value))
    groups: list[str] = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    separator = "[,.' \u00a0\u202f]?"
    # Not preceded by a digit or a decimal mark: the digits of another number's fraction do not count.
    return re.compile(r"(?<![0-9.,])" + separator.join(groups) + r"(?![0-9])")
