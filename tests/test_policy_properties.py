"""Invariants of the visibility and write rules over random small workspaces (hypothesis).

Workspaces are built directly from model objects: random team kinds and `sees`, random roles and
activity, random project members, hidden flags, `visible_to`, assignees, subscribers, creators,
attachments, time entries, expenses, change requests and feedback.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.policy_fixtures import (
    change,
    comment,
    document,
    expense,
    feedback,
    meeting,
    person,
    task,
    team,
    time_entry,
    workspace,
)
from worktrail.model import ROLES, Budget, Project, SeesOverride, Workspace
from worktrail.policy import (
    Action,
    FieldRef,
    PersonViewer,
    Policy,
    RoleViewer,
    TeamViewer,
    Viewer,
)

PEOPLE = ["p0", "p1", "p2", "p3", "p4", "p5"]
TEAMS = ["t0", "t1", "t2"]
NAMES = PEOPLE + TEAMS
PATHS = ["a.pdf", "b.pdf", "./c.pdf", "c.pdf", "d/e.txt"]
SEES_VALUES = st.sampled_from([None, True, False, "own"])

CHECKS = settings(
    derandomize=True,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def sees_overrides() -> st.SearchStrategy[SeesOverride | None]:
    return st.none() | st.builds(SeesOverride, costs=SEES_VALUES, reports=SEES_VALUES, contacts=SEES_VALUES)


def some(names: list[str], max_size: int = 3) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(names), unique=True, max_size=max_size).map(tuple)


def maybe(names: list[str]) -> st.SearchStrategy[str | None]:
    return st.none() | st.sampled_from(names)


@st.composite
def projects(draw: st.DrawFn, pid: str, key: str) -> Project:
    task_ids = [f"{key}-{n}" for n in range(1, draw(st.integers(0, 4)) + 1)]
    tasks = []
    for tid in task_ids:
        comments = tuple(
            comment(
                pid,
                tid,
                f"c{n}",
                draw(st.sampled_from(PEOPLE)),
                hidden=draw(st.booleans()),
                visible_to=draw(some(NAMES)),
            )
            for n in range(draw(st.integers(0, 2)))
        )
        tasks.append(
            task(
                pid,
                tid,
                assignee=draw(maybe(PEOPLE)),
                subscribers=draw(some(PEOPLE)),
                created_by=draw(maybe(PEOPLE)),
                hidden=draw(st.booleans()),
                visible_to=draw(some(NAMES)),
                attachments=draw(some(PATHS)),
                comments=comments,
            )
        )
    doc_paths = draw(st.lists(st.sampled_from([p for p in PATHS if not p.startswith("./")]), unique=True))
    task_or_none = maybe(task_ids) if task_ids else st.none()
    return Project(
        id=pid,
        name=pid,
        key=key,
        status="active",
        members=draw(some(NAMES, 5)),
        client=draw(maybe(TEAMS)),
        budget=Budget(hours=10, amount=1000),
        approvers=draw(st.none() | some(PEOPLE)),
        tasks=tuple(tasks),
        meetings=tuple(
            meeting(pid, f"m{n}", draw(some(PEOPLE)), hidden=draw(st.booleans()), visible_to=draw(some(NAMES)))
            for n in range(draw(st.integers(0, 2)))
        ),
        documents=tuple(
            document(pid, path, hidden=draw(st.booleans()), visible_to=draw(some(NAMES))) for path in doc_paths
        ),
        time_entries=tuple(
            time_entry(pid, draw(st.sampled_from(PEOPLE)), draw(st.sampled_from(task_ids)))
            for _ in range(draw(st.integers(0, 4) if task_ids else st.just(0)))
        ),
        expenses=tuple(
            expense(pid, draw(st.sampled_from(PEOPLE)), draw(task_or_none)) for _ in range(draw(st.integers(0, 3)))
        ),
        changes=tuple(
            change(
                pid,
                f"CR-{n}",
                draw(st.sampled_from(PEOPLE)),
                draw(st.sampled_from(["proposed", "approved", "rejected"])),
                tasks=draw(some(task_ids)) if task_ids else (),
            )
            for n in range(1, draw(st.integers(0, 2)) + 1)
        ),
        feedback=tuple(feedback(pid, f"f{n}", draw(st.sampled_from(PEOPLE))) for n in range(draw(st.integers(0, 2)))),
    )


@st.composite
def workspaces(draw: st.DrawFn) -> Workspace:
    teams = [
        team(tid, draw(st.sampled_from(["internal", "client", "freelancer"])), draw(sees_overrides())) for tid in TEAMS
    ]
    people = [
        person(
            pid,
            draw(st.sampled_from(TEAMS)),
            draw(st.sampled_from(ROLES)),
            active=draw(st.sampled_from([True, True, True, False])),
            private_contact=draw(st.booleans()),
            sees=draw(sees_overrides()),
            rate=50,
        )
        for pid in PEOPLE
    ]
    return workspace(teams, people, [draw(projects("pa", "PA")), draw(projects("pb", "PB"))])


def things(ws: Workspace) -> Iterator[object]:
    """Every thing and field question of a workspace, in a fixed order."""
    yield ws.settings
    yield FieldRef(ws.settings, "name")
    yield FieldRef(ws.settings, "plan")
    for group in ws.teams.values():
        yield group
        yield FieldRef(group, "sees")
    for p in ws.people.values():
        yield p
        for name in ("emails", "phone", "rate", "role"):
            yield FieldRef(p, name)
    for project in ws.projects.values():
        yield project
        yield FieldRef(project, "budget.amount")
        yield FieldRef(project, "budget.hours")
        for t in project.tasks:
            yield t
            yield from t.comments
        for cr in project.changes:
            yield cr
            yield FieldRef(cr, "impact.cost")
        yield from project.meetings
        yield from project.documents
        for entry in project.time_entries:
            yield entry
            yield FieldRef(entry, "cost")
        yield from project.expenses
        yield from project.feedback


def viewers(ws: Workspace) -> list[Viewer]:
    out: list[Viewer] = [PersonViewer(pid) for pid in ws.people]
    out += [TeamViewer(tid) for tid in ws.teams]
    out += [RoleViewer("admin"), RoleViewer("owner"), RoleViewer("user"), PersonViewer("ghost"), TeamViewer("gone")]
    return out


def visibility(ws: Workspace) -> dict[tuple[Viewer, int], bool]:
    policy = Policy(ws)
    return {(v, i): bool(policy.can_see(v, thing)) for v in viewers(ws) for i, thing in enumerate(things(ws))}


Path = tuple[str, str, int, int]


def hideables(ws: Workspace) -> list[Path]:
    """Paths of the things that are not hidden yet: (kind, project id, index, comment index)."""
    out: list[Path] = []
    for project in ws.projects.values():
        for i, t in enumerate(project.tasks):
            if not t.hidden:
                out.append(("task", project.id, i, 0))
            out += [("comment", project.id, i, j) for j, c in enumerate(t.comments) if not c.hidden]
        out += [("meeting", project.id, i, 0) for i, m in enumerate(project.meetings) if not m.hidden]
        out += [("document", project.id, i, 0) for i, d in enumerate(project.documents) if not d.hidden]
    return out


def hide(ws: Workspace, path: Path) -> Workspace:
    kind, pid, i, j = path
    project = ws.projects[pid]
    if kind in ("task", "comment"):
        tasks = list(project.tasks)
        if kind == "task":
            tasks[i] = dataclasses.replace(tasks[i], hidden=True)
        else:
            comments = list(tasks[i].comments)
            comments[j] = dataclasses.replace(comments[j], hidden=True)
            tasks[i] = dataclasses.replace(tasks[i], comments=tuple(comments))
        project = dataclasses.replace(project, tasks=tuple(tasks))
    elif kind == "meeting":
        meetings = list(project.meetings)
        meetings[i] = dataclasses.replace(meetings[i], hidden=True)
        project = dataclasses.replace(project, meetings=tuple(meetings))
    else:
        documents = list(project.documents)
        documents[i] = dataclasses.replace(documents[i], hidden=True)
        project = dataclasses.replace(project, documents=tuple(documents))
    return dataclasses.replace(ws, projects={**ws.projects, pid: project})


# --------------------------------------------------------------------------- invariants


@CHECKS
@given(workspaces())
def test_team_never_sees_more_than_any_of_its_active_members(ws):
    policy = Policy(ws)
    for tid in ws.teams:
        active = [p.id for p in ws.team_members(tid) if p.active]
        for thing in things(ws):
            verdict = policy.can_see(TeamViewer(tid), thing)
            if not active:
                assert not verdict, (tid, thing)
            elif verdict:
                for pid in active:
                    assert policy.can_see(PersonViewer(pid), thing), (tid, pid, thing, verdict)


@CHECKS
@given(workspaces())
def test_managers_and_the_role_viewer_see_everything(ws):
    policy = Policy(ws)
    managers: list[Viewer] = [PersonViewer(p.id) for p in ws.people.values() if p.active and p.is_manager]
    for thing in things(ws):
        for who in [*managers, RoleViewer("admin"), RoleViewer("owner")]:
            assert policy.can_see(who, thing), (who, thing)


@CHECKS
@given(workspaces())
def test_a_verdict_for_all_things_is_what_can_see_answers_for_each_thing(ws):
    policy = Policy(ws)
    found = 0
    for viewer in viewers(ws):
        verdict = policy.verdict_for_all(viewer)
        if verdict is None:
            continue
        found += 1
        for thing in things(ws):
            assert policy.can_see(viewer, thing) == verdict, (viewer, thing)
    # The role viewers always have one (admin and owner see all, other roles nothing).
    assert found >= 3
    assert policy.verdict_for_all(RoleViewer("admin")) and not policy.verdict_for_all(RoleViewer("user"))


@CHECKS
@given(workspaces())
def test_sees_answers_as_can_see_for_every_viewer_and_thing(ws):
    policy = Policy(ws)
    # Things whose project or task is not (or no longer) in the workspace are asked about too.
    strays: list[object] = []
    for project in ws.projects.values():
        for each in project.tasks:
            strays.append(dataclasses.replace(each, project="gone"))
            strays += [dataclasses.replace(comment, task="T-404") for comment in each.comments]
        strays += [dataclasses.replace(entry, task="T-404") for entry in project.time_entries]
        strays += [FieldRef(cr, "impact.hours") for cr in project.changes]
    denied = 0
    for viewer in viewers(ws):
        for thing in [*things(ws), *strays]:
            allowed = bool(policy.can_see(viewer, thing))
            assert policy.sees(viewer, thing) == allowed, (viewer, thing)
            denied += not allowed
    assert denied


@CHECKS
@given(workspaces())
def test_inactive_and_unknown_people_and_other_roles_see_nothing(ws):
    policy = Policy(ws)
    blind: list[Viewer] = [PersonViewer(p.id) for p in ws.people.values() if not p.active]
    blind += [PersonViewer("ghost"), TeamViewer("gone"), RoleViewer("user"), RoleViewer("guest")]
    for thing in things(ws):
        for who in blind:
            assert not policy.can_see(who, thing), (who, thing)


@CHECKS
@given(workspaces(), st.data())
def test_hiding_one_thing_never_reveals_another(ws, data):
    candidates = hideables(ws)
    if not candidates:
        return
    path = data.draw(st.sampled_from(candidates))
    before = visibility(ws)
    after = visibility(hide(ws, path))
    assert before.keys() == after.keys()
    revealed = [key for key, seen in after.items() if seen and not before[key]]
    assert not revealed, (path, revealed[:3])


@CHECKS
@given(workspaces())
def test_guest_sees_a_task_only_as_assignee_or_subscriber(ws):
    policy = Policy(ws)
    for guest in (p for p in ws.people.values() if p.role == "guest"):
        for project in ws.projects.values():
            for t in project.tasks:
                if policy.can_see(PersonViewer(guest.id), t):
                    assert t.assignee == guest.id or guest.id in t.subscribers
                    assert policy.is_member(guest.id, project)


@CHECKS
@given(workspaces())
def test_an_unseen_task_hides_its_comments_time_expenses_and_documents_attached_only_to_it(ws):
    policy = Policy(ws)
    for who in viewers(ws):
        for project in ws.projects.values():
            unseen = {t.id for t in project.tasks if not policy.can_see(who, t)}
            for t in project.tasks:
                if t.id in unseen:
                    for c in t.comments:
                        assert not policy.can_see(who, c), (who, c)
            for entry in project.time_entries:
                if entry.task in unseen:
                    assert not policy.can_see(who, entry), (who, entry)
                    assert not policy.can_see(who, FieldRef(entry, "cost")), (who, entry)
            for spent in project.expenses:
                if spent.task in unseen:
                    assert not policy.can_see(who, spent), (who, spent)
            for doc in project.documents:
                attached = {t.id for t in project.tasks if doc.path in {a.removeprefix("./") for a in t.attachments}}
                if attached and attached <= unseen:
                    assert not policy.can_see(who, doc), (who, doc)


@CHECKS
@given(workspaces())
def test_nothing_of_an_unseen_project_is_seen(ws):
    policy = Policy(ws)
    for who in viewers(ws):
        for project in ws.projects.values():
            if policy.can_see(who, project):
                continue
            records: list[object] = [*project.tasks, *project.changes, *project.meetings, *project.documents]
            records += [*project.time_entries, *project.expenses, *project.feedback]
            records += [c for t in project.tasks for c in t.comments]
            records += [FieldRef(project, "budget.amount"), FieldRef(project, "budget.hours")]
            for record in records:
                assert not policy.can_see(who, record), (who, record)


@CHECKS
@given(workspaces())
def test_money_fields_need_costs_and_contacts_need_contacts(ws):
    policy = Policy(ws)
    for p in ws.people.values():
        if not p.active or p.is_manager:
            continue
        sees = policy.effective_sees(p.id)
        for project in ws.projects.values():
            if sees.costs is not True:
                assert not policy.can_see(PersonViewer(p.id), FieldRef(project, "budget.amount"))
            if sees.reports is not True:
                assert not policy.can_see(PersonViewer(p.id), FieldRef(project, "budget.hours"))
            for entry in project.time_entries:
                if sees.reports is False or (sees.reports == "own" and entry.person != p.id):
                    assert not policy.can_see(PersonViewer(p.id), entry)
        for other in ws.people.values():
            if sees.contacts is False or (sees.contacts == "own" and other.id != p.id):
                assert not policy.can_see(PersonViewer(p.id), FieldRef(other, "emails"))
            if other.id != p.id:
                assert not policy.can_see(PersonViewer(p.id), FieldRef(other, "rate"))
                assert not policy.can_see(PersonViewer(p.id), FieldRef(other, "role"))


@CHECKS
@given(workspaces())
def test_writes_never_allowed_to_readers_inactive_people_or_non_approvers(ws):
    policy = Policy(ws)
    for project in ws.projects.values():
        approvers = policy.approvers(project)
        for approver in approvers:
            assert ws.people[approver].role not in ("reader", "guest")
            assert ws.people[approver].active
        targets: list[object] = [project, *project.tasks, *project.changes, *project.time_entries]
        targets += [*project.expenses, *project.feedback, *project.meetings]
        for p in ws.people.values():
            for cr in project.changes:
                if policy.can_do(p.id, Action.DECIDE_CR, cr):
                    assert p.id in approvers and cr.status == "proposed"
            if p.active and p.role != "reader":
                continue
            for action in Action:
                for target in targets:
                    assert not policy.can_do(p.id, action, target), (p.id, action, target)
