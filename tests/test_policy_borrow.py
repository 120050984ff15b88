"""A policy built `like=` another, and a policy asked the same question twice, answer as a fresh policy.

`Policy(ws, like=other)` borrows what `other` built from its people and teams (indexes and answers
memoised per viewer or person) only when `ws` holds the very same people and teams objects. These
tests warm the lender with every question over its own workspace first, so a memo keyed too loosely
(missing the people, the teams or the projects an answer depends on) hands a stale answer and fails.
Verdicts are compared whole: allowed, deciding rule and reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.policy_fixtures import WS, person, task, team, workspace
from tests.test_policy_properties import CHECKS, things, viewers, workspaces
from worktrail.model import Project, Workspace
from worktrail.policy import Action, FieldRef, MilestoneRef, PersonViewer, Policy, TeamViewer

Answers = dict[tuple[object, ...], object]
# Two workspaces per example and every question three times: fewer examples than the property tests.
PAIRS = settings(CHECKS, max_examples=75)


def all_things(ws: Workspace) -> Iterator[object]:
    """The property tests' things, plus milestones, deliverables and more fields."""
    yield from things(ws)
    for project in ws.projects.values():
        for milestone in project.milestones:
            yield milestone
            yield MilestoneRef(project, milestone)
        yield from project.scope.deliverables
        for t in project.tasks:
            yield FieldRef(t, "status")
    for p in ws.people.values():
        yield FieldRef(p, "name")


def answers(policy: Policy) -> Answers:
    """Every verdict of the policy over its workspace, by question (things by position, not identity)."""
    ws = policy.ws
    out: Answers = {}
    for i, thing in enumerate(all_things(ws)):
        for viewer in viewers(ws):
            verdict = policy.can_see(viewer, thing)
            out["see", viewer, i] = (verdict.allowed, verdict.rule, verdict.reason)
    for project in ws.projects.values():
        out["approvers", project.id] = policy.approvers(project)
        targets: list[object] = [project, *project.tasks, *project.changes, *project.time_entries]
        targets += [*project.expenses, *project.feedback, *project.meetings]
        targets += [c for t in project.tasks for c in t.comments]
        for pid in [*ws.people, "ghost"]:
            for action in Action:
                for i, target in enumerate(targets):
                    verdict = policy.can_do(pid, action, target)
                    out["do", pid, action, project.id, i] = (verdict.allowed, verdict.rule, verdict.reason)
    for pid in [*ws.people, "ghost"]:
        out["sees", pid] = policy.effective_sees(pid)
    return out


def warmed(ws: Workspace) -> Policy:
    """A policy over `ws` that has answered every question once (its memos are full)."""
    policy = Policy(ws)
    answers(policy)
    return policy


@PAIRS
@given(workspaces(), workspaces())
def test_a_policy_borrowing_from_one_over_other_people_and_teams_answers_as_a_fresh_policy(ws, other):
    # The same person and team ids with other roles, teams, activity and `sees`.
    assert answers(Policy(ws, like=warmed(other))) == answers(Policy(ws))


@PAIRS
@given(workspaces(), workspaces())
def test_a_policy_borrowing_from_one_over_the_same_people_but_other_teams_answers_as_a_fresh_policy(ws, other):
    # Team kinds and `sees` decide what people see: the same people objects are not enough.
    lender = warmed(dataclasses.replace(other, people=ws.people))
    assert answers(Policy(ws, like=lender)) == answers(Policy(ws))


@PAIRS
@given(workspaces(), workspaces())
def test_a_policy_borrowing_from_one_over_the_same_people_and_teams_answers_as_a_fresh_policy(ws, other):
    # Same people and teams objects, other projects: nothing that depends on projects is borrowed.
    lender = warmed(dataclasses.replace(other, people=ws.people, teams=ws.teams))
    borrower = Policy(ws, like=lender)
    assert borrower._people is lender._people
    assert answers(borrower) == answers(Policy(ws))


@CHECKS
@given(workspaces())
def test_equal_but_distinct_people_and_teams_are_not_borrowed_and_answers_stay_the_same(ws):
    lender = warmed(ws)
    copy = dataclasses.replace(ws, people=dict(ws.people), teams=dict(ws.teams))
    borrower = Policy(copy, like=lender)
    assert borrower._people is not lender._people
    assert answers(borrower) == answers(lender)


def test_a_chain_of_borrowing_policies_follows_each_change_of_people() -> None:
    # The history walk lends each commit's policy to the next: a promotion, a deactivation and a
    # team change must each take effect at once.
    base = [team("studio", "internal"), team("acme", "client")]
    states = [
        [person("ana", "studio", "user"), person("cy", "acme", "guest")],
        [person("ana", "studio", "admin"), person("cy", "acme", "guest")],
        [person("ana", "studio", "admin", active=False), person("cy", "acme", "user")],
        [person("ana", "acme", "user"), person("cy", "studio", "user")],
    ]
    project = Project(
        id="web",
        name="Web",
        key="WEB",
        status="active",
        members=("acme",),
        tasks=(task("web", "WEB-1", hidden=True, created_by="cy"), task("web", "WEB-2", assignee="ana")),
    )
    previous: Policy | None = None
    for people in states:
        ws = workspace(base, people, [project])
        policy = Policy(ws, like=previous)
        answers(policy)
        assert answers(policy) == answers(Policy(ws))
        previous = policy


def test_asking_twice_or_about_a_changed_copy_answers_for_that_very_thing() -> None:
    policy = Policy(WS)
    fresh = Policy(WS)
    for project in WS.projects.values():
        for t in project.tasks:
            for viewer in [*viewers(WS), PersonViewer("gus"), TeamViewer("free")]:
                first = policy.can_see(viewer, t)
                assert policy.can_see(viewer, t) == first == fresh.can_see(viewer, t)
                # Copies made and dropped one after another may reuse an address: each is judged as itself.
                for hidden in (True, False, True):
                    changed = dataclasses.replace(t, hidden=hidden, assignee=None, created_by=None, visible_to=())
                    assert policy.can_see(viewer, changed) == Policy(WS).can_see(viewer, changed)
                    assert policy.can_see(viewer, FieldRef(changed, "status")) == fresh.can_see(
                        viewer, FieldRef(changed, "status")
                    )


@CHECKS
@given(workspaces(), st.data())
def test_asking_in_any_order_gives_the_same_answers(ws, data):
    questions = [(v, t) for t in all_things(ws) for v in viewers(ws)]
    order = data.draw(st.permutations(range(len(questions))))
    shuffled, fresh = Policy(ws), Policy(ws)
    got = {i: shuffled.can_see(*questions[i]) for i in order}
    assert all(got[i] == fresh.can_see(*q) for i, q in enumerate(questions))
