"""Who may change what (SPEC §4), table-driven over the fixture workspace of policy_fixtures.py.

Each row is an action, a target and a string of Y/N, one letter per person in ACTORS (spaces only
group the columns): managers olga, adam | internal users ulla, ivan | client user carl, reader rita |
freelancer guests gus, gina and inactive ian | unknown person.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.policy_fixtures import (
    APP,
    APP_MILESTONE,
    MILESTONES,
    PEOPLE,
    TEAMS,
    WEB,
    WS,
    N,
    comment,
    expense,
    feedback,
    time_entry,
    workspace,
)
from worktrail.policy import Action, MilestoneRef, Policy, can_do

ACTORS = ["olga", "adam", "ulla", "ivan", "carl", "rita", "gus", "gina", "ian", "nobody"]

POLICY = Policy(WS)


def table(*rows: tuple[Action, str, object, str]) -> list[object]:
    cases: list[object] = []
    for action, label, target, expected in rows:
        flags = expected.replace(" ", "")
        assert len(flags) == len(ACTORS), label
        for who, flag in zip(ACTORS, flags, strict=True):
            cases.append(pytest.param(who, action, target, flag == "Y", id=f"{action.name}|{label}|{who}"))
    return cases


def check(who: str, action: Action, target: object, expected: bool) -> None:
    verdict = POLICY.can_do(who, action, target)
    assert bool(verdict) is expected, f"{who}: {verdict}"
    assert verdict.rule and verdict.reason


A = Action


@pytest.mark.parametrize(
    ("who", "action", "target", "expected"),
    table(
        (A.EDIT_SETTINGS, "workspace", WS.settings, "YY NN NN NNN N"),
        (A.EDIT_SETTINGS, "person carl", N.person("carl"), "YY NN NN NNN N"),
        (A.EDIT_SETTINGS, "team acme", N.team("acme"), "YY NN NN NNN N"),
        (A.EDIT_SETTINGS, "project web", N.project("web"), "YY NN NN NNN N"),
    ),
)
def test_only_managers_edit_workspace_people_teams_and_project_settings(who, action, target, expected):
    check(who, action, target, expected)


@pytest.mark.parametrize(
    ("who", "action", "target", "expected"),
    table(
        (A.CREATE_TASK, "in web", N.project("web"), "YY YY YN NNN N"),
        (A.CREATE_TASK, "in app", N.project("app"), "YY YN NN NNN N"),
        (A.EDIT_TASK, "WEB-1", N.task("WEB-1"), "YY YY YN NNN N"),
        (A.EDIT_TASK, "WEB-2 assigned to a guest", N.task("WEB-2"), "YY YY YN NNN N"),
        (A.EDIT_TASK, "hidden WEB-3", N.task("WEB-3"), "YY YN YN NNN N"),
        (A.EDIT_TASK, "APP-1", N.task("APP-1"), "YY YN NN NNN N"),
    ),
)
def test_users_create_tasks_in_member_projects_and_edit_tasks_they_see(who, action, target, expected):
    check(who, action, target, expected)


@pytest.mark.parametrize(
    ("who", "action", "target", "expected"),
    table(
        (A.SET_OWN_TASK_STATUS, "WEB-1 (ulla)", N.task("WEB-1"), "YY YN NN NNN N"),
        (A.SET_OWN_TASK_STATUS, "WEB-2 (gus)", N.task("WEB-2"), "YY NN NN YNN N"),
        (A.SET_OWN_TASK_STATUS, "hidden WEB-6 (ivan)", N.task("WEB-6"), "YY NY NN NNN N"),
        (A.SET_OWN_TASK_STATUS, "WEB-8 (reader rita)", N.task("WEB-8"), "YY NN NN NNN N"),
    ),
)
def test_assignee_changes_status_of_own_task(who, action, target, expected):
    check(who, action, target, expected)


@pytest.mark.parametrize(
    ("who", "action", "target", "expected"),
    table(
        (A.ADD_COMMENT, "on WEB-1", N.task("WEB-1"), "YY YY YN NNN N"),
        (A.ADD_COMMENT, "on WEB-2", N.task("WEB-2"), "YY YY YN YYN N"),
        (A.ADD_COMMENT, "on hidden WEB-4", N.task("WEB-4"), "YY YN NN YNN N"),
        (A.ADD_COMMENT, "new comment by gina", comment("web", "WEB-2", "new", "gina"), "YY NN NN NYN N"),
        (A.EDIT_COMMENT, "c1 by carl", N.comment("c1"), "YY NN YN NNN N"),
        (A.EDIT_COMMENT, "c2 by ulla", N.comment("c2"), "YY YN NN NNN N"),
        (A.EDIT_COMMENT, "c5 by gus", N.comment("c5"), "YY NN NN YNN N"),
        (A.EDIT_COMMENT, "c6 by gus on a task he cannot see", N.comment("c6"), "YY NN NN NNN N"),
    ),
)
def test_comment_on_tasks_one_sees_and_edit_only_own_comments(who, action, target, expected):
    check(who, action, target, expected)


@pytest.mark.parametrize(
    ("who", "action", "target", "expected"),
    table(
        (A.WRITE_MEETING, "in web", N.project("web"), "YY YY YN NNN N"),
        (A.WRITE_MEETING, "in app", N.project("app"), "YY YN NN NNN N"),
        (A.WRITE_MEETING, "hidden m2", N.meeting("m2"), "YY YN NN NNN N"),
        (A.WRITE_MEETING, "m1", N.meeting("m1"), "YY YY YN NNN N"),
    ),
)
def test_users_who_are_members_and_managers_write_meeting_minutes(who, action, target, expected):
    check(who, action, target, expected)


@pytest.mark.parametrize(
    ("who", "action", "target", "expected"),
    table(
        (A.LOG_TIME, "t1 ulla WEB-1", N.time(1), "YY YN NN NNN N"),
        (A.LOG_TIME, "t2 gus WEB-2", N.time(2), "YY NN NN YNN N"),
        (A.LOG_TIME, "gina on WEB-1 unseen", time_entry("web", "gina", "WEB-1"), "YY NN NN NNN N"),
        (A.LOG_TIME, "carl on WEB-1", time_entry("web", "carl", "WEB-1"), "YY NN YN NNN N"),
        (A.LOG_TIME, "rita on WEB-1", time_entry("web", "rita", "WEB-1"), "YY NN NN NNN N"),
        (A.LOG_TIME, "ian on WEB-2", time_entry("web", "ian", "WEB-2"), "YY NN NN NNN N"),
        (A.LOG_TIME, "unknown task", time_entry("web", "ulla", "WEB-99"), "YY NN NN NNN N"),
        (A.EDIT_TIME, "t3 gina WEB-2", N.time(3), "YY NN NN NYN N"),
        (A.EDIT_TIME, "t4 ulla hidden WEB-3", N.time(4), "YY YN NN NNN N"),
        (A.EDIT_TIME, "t5 gus hidden WEB-4", N.time(5), "YY NN NN YNN N"),
    ),
)
def test_time_lines_only_own_on_tasks_one_sees_managers_any(who, action, target, expected):
    check(who, action, target, expected)


@pytest.mark.parametrize(
    ("who", "action", "target", "expected"),
    table(
        (A.ADD_EXPENSE, "e2 gus WEB-2", N.expense(2), "YY NN NN YNN N"),
        (A.ADD_EXPENSE, "e4 gina no task", N.expense(4), "YY NN NN NYN N"),
        (A.ADD_EXPENSE, "gus in app, not a member", expense("app", "gus"), "YY NN NN NNN N"),
        (A.ADD_EXPENSE, "ivan on hidden WEB-3", expense("web", "ivan", "WEB-3"), "YY NN NN NNN N"),
        (A.ADD_EXPENSE, "carl no task", expense("web", "carl"), "YY NN YN NNN N"),
        (A.EDIT_EXPENSE, "e1 ulla WEB-1", N.expense(1), "YY YN NN NNN N"),
        (A.EDIT_EXPENSE, "e3 olga", N.expense(3), "YY NN NN NNN N"),
        (A.EDIT_EXPENSE, "e5 ulla hidden WEB-3", N.expense(5), "YY YN NN NNN N"),
    ),
)
def test_expense_lines_only_own_on_tasks_one_sees_or_member_projects_managers_any(who, action, target, expected):
    check(who, action, target, expected)


@pytest.mark.parametrize(
    ("who", "action", "target", "expected"),
    table(
        (A.PROPOSE_CR, "in web", N.project("web"), "YY YY YN YYN N"),
        (A.PROPOSE_CR, "in app", N.project("app"), "YY YN NN NNN N"),
        (A.PROPOSE_CR, "new CR by gina", dataclasses.replace(N.change("web", "CR-5"), requested_by="gina"),
         "YY NN NN NYN N"),
        (A.EDIT_CR, "proposed CR-1 by carl", N.change("web", "CR-1"), "YY NN YN NNN N"),
        (A.EDIT_CR, "proposed CR-3 by ulla", N.change("web", "CR-3"), "YY YN NN NNN N"),
        (A.EDIT_CR, "proposed CR-5 by gus", N.change("web", "CR-5"), "YY NN NN YNN N"),
        (A.EDIT_CR, "approved CR-2 by gus", N.change("web", "CR-2"), "NN NN NN NNN N"),
        (A.EDIT_CR, "rejected CR-4 by adam", N.change("web", "CR-4"), "NN NN NN NNN N"),
    ),
)  # fmt: skip
def test_members_propose_change_requests_and_edit_their_own_only_while_proposed(who, action, target, expected):
    check(who, action, target, expected)


@pytest.mark.parametrize(
    ("who", "action", "target", "expected"),
    table(
        (A.ADD_FEEDBACK, "f1 by carl", N.feedback("f1"), "YY NN YN NNN N"),
        (A.ADD_FEEDBACK, "f2 by gus", N.feedback("f2"), "YY NN NN YNN N"),
        (A.ADD_FEEDBACK, "new by rita", feedback("web", "new", "rita"), "YY NN NN NNN N"),
        (A.ADD_FEEDBACK, "new by gus in app", feedback("app", "new", "gus"), "YY NN NN NNN N"),
        (A.RESPOND_FEEDBACK, "f1 by carl", N.feedback("f1"), "YY NN YN NNN N"),
        (A.RESPOND_FEEDBACK, "f2 by gus", N.feedback("f2"), "YY NN NN NNN N"),
        (A.RESPOND_FEEDBACK, "f3 by ulla in app", N.feedback("f3"), "YY YN NN NNN N"),
    ),
)
def test_guests_and_users_add_own_feedback_only_users_and_managers_respond(who, action, target, expected):
    check(who, action, target, expected)


@pytest.mark.parametrize(
    ("who", "action", "target", "expected"),
    table(
        (A.DECIDE_CR, "web CR-1 default approvers", N.change("web", "CR-1"), "YY NN YN NNN N"),
        (A.DECIDE_CR, "web CR-2 already approved", N.change("web", "CR-2"), "NN NN NN NNN N"),
        (A.DECIDE_CR, "app CR-1 explicit approvers", N.change("app", "CR-1"), "NY YN NN NNN N"),
        (A.SIGN_OFF_MILESTONE, "web beta default", MilestoneRef(WEB, MILESTONES[0]), "YY NN YN NNN N"),
        (A.SIGN_OFF_MILESTONE, "web beta as tuple", (WEB, MILESTONES[0]), "YY NN YN NNN N"),
        (A.SIGN_OFF_MILESTONE, "web alpha already signed", MilestoneRef(WEB, MILESTONES[1]), "NN NN NN NNN N"),
        (A.SIGN_OFF_MILESTONE, "app m1 explicit", MilestoneRef(APP, APP_MILESTONE), "NY YN NN NNN N"),
    ),
)
def test_only_approvers_decide_change_requests_and_sign_off_milestones(who, action, target, expected):
    check(who, action, target, expected)


@pytest.mark.parametrize(
    ("who", "action", "target", "expected"),
    table(
        (A.IMPLEMENT_CR, "approved CR-2", N.change("web", "CR-2"), "YY YY YN NNN N"),
        (A.IMPLEMENT_CR, "proposed CR-1", N.change("web", "CR-1"), "NN NN NN NNN N"),
        (A.IMPLEMENT_CR, "rejected CR-4", N.change("web", "CR-4"), "NN NN NN NNN N"),
    ),
)
def test_users_and_managers_implement_only_approved_change_requests(who, action, target, expected):
    check(who, action, target, expected)


@pytest.mark.parametrize(
    ("who", "action", "target", "expected"),
    table(
        (A.LINK_CR_TASKS, "approved CR-2", N.change("web", "CR-2"), "YY YY YN NNN N"),
        (A.LINK_CR_TASKS, "proposed CR-1", N.change("web", "CR-1"), "NN NN NN NNN N"),
        (A.LINK_CR_TASKS, "rejected CR-4", N.change("web", "CR-4"), "NN NN NN NNN N"),
    ),
)
def test_users_and_managers_list_implementing_tasks_only_on_approved_change_requests(who, action, target, expected):
    check(who, action, target, expected)


# --------------------------------------------------------------------------- approvers


def test_default_approvers_are_managers_in_members_and_client_team_users():
    assert POLICY.approvers(WEB) == frozenset({"olga", "adam", "carl"})


def test_explicit_approvers_replace_the_default_and_drop_readers_guests_and_inactive():
    # app lists ulla, rita (reader), gus (guest), adam and fred (inactive); olga is a member manager.
    assert POLICY.approvers(APP) == frozenset({"ulla", "adam"})


@pytest.mark.parametrize("who", ["rita", "gus"])
def test_reader_or_guest_in_explicit_approvers_list_is_denied(who):
    verdict = POLICY.can_do(who, Action.DECIDE_CR, N.change("app", "CR-1"))
    assert not verdict
    assert verdict.rule in ("role rule", "approvers")


def test_guest_in_explicit_approvers_list_is_denied_by_the_approvers_rule():
    verdict = POLICY.can_do("gus", Action.SIGN_OFF_MILESTONE, MilestoneRef(APP, APP_MILESTONE))
    assert not verdict
    assert verdict.rule == "approvers"
    assert "never approve" in verdict.reason


def test_inactive_person_in_explicit_approvers_list_is_denied():
    verdict = POLICY.can_do("fred", Action.DECIDE_CR, N.change("app", "CR-1"))
    assert not verdict
    assert verdict.rule == "inactive"


def test_manager_not_in_explicit_approvers_list_is_denied():
    verdict = POLICY.can_do("olga", Action.DECIDE_CR, N.change("app", "CR-1"))
    assert not verdict
    assert verdict.rule == "approvers"
    assert "explicit" in verdict.reason


def test_empty_explicit_approvers_list_means_nobody_approves():
    ws = workspace(TEAMS, PEOPLE, [dataclasses.replace(APP, approvers=())])
    policy = Policy(ws)
    assert policy.approvers(ws.projects["app"]) == frozenset()
    assert not policy.can_do("olga", Action.DECIDE_CR, ws.projects["app"].changes[0])


def test_requester_who_is_an_approver_may_decide_their_own_request():
    assert POLICY.can_do("carl", Action.DECIDE_CR, N.change("web", "CR-1"))


# --------------------------------------------------------------------------- common refusals


@pytest.mark.parametrize("action", list(Action))
def test_inactive_person_may_do_nothing(action):
    verdict = POLICY.can_do("ian", action, N.task("WEB-2"))
    assert not verdict
    assert verdict.rule == "inactive"


@pytest.mark.parametrize("action", list(Action))
def test_reader_may_do_nothing(action):
    verdict = POLICY.can_do("rita", action, N.project("web"))
    assert not verdict
    assert verdict.rule == "role rule"


@pytest.mark.parametrize("action", list(Action))
def test_unknown_person_may_do_nothing(action):
    verdict = POLICY.can_do("nobody", action, N.project("web"))
    assert not verdict
    assert verdict.rule == "unknown person"


@pytest.mark.parametrize(
    ("action", "target"),
    [
        (Action.EDIT_SETTINGS, N.task("WEB-1")),
        (Action.CREATE_TASK, N.comment("c1")),
        (Action.EDIT_TASK, N.project("web")),
        (Action.LOG_TIME, N.expense(1)),
        (Action.ADD_EXPENSE, N.time(1)),
        (Action.DECIDE_CR, N.project("web")),
        (Action.SIGN_OFF_MILESTONE, MILESTONES[0]),
        (Action.IMPLEMENT_CR, N.task("WEB-1")),
        (Action.RESPOND_FEEDBACK, "f1"),
    ],
)
def test_wrong_target_type_is_denied_even_for_managers(action, target):
    verdict = POLICY.can_do("olga", action, target)
    assert not verdict
    assert verdict.rule == "target"


@pytest.mark.parametrize(
    ("who", "action", "target", "rule"),
    [
        ("gus", Action.CREATE_TASK, N.project("web"), "role rule"),
        ("carl", Action.CREATE_TASK, N.project("app"), "project membership"),
        ("ivan", Action.EDIT_TASK, N.task("WEB-3"), "hidden rule"),
        ("gina", Action.EDIT_COMMENT, N.comment("c5"), "own"),
        ("gus", Action.EDIT_CR, N.change("web", "CR-2"), "status"),
        ("ulla", Action.IMPLEMENT_CR, N.change("web", "CR-1"), "status"),
        ("ulla", Action.DECIDE_CR, N.change("web", "CR-1"), "approvers"),
        ("olga", Action.DECIDE_CR, N.change("web", "CR-2"), "status"),
        ("ulla", Action.EDIT_SETTINGS, WS.settings, "managers only"),
        ("gina", Action.LOG_TIME, time_entry("web", "gina", "WEB-1"), "role rule"),
        ("gus", Action.LOG_TIME, time_entry("web", "gina", "WEB-2"), "own"),
    ],
)
def test_write_verdict_names_the_deciding_rule(who, action, target, rule):
    verdict = POLICY.can_do(who, action, target)
    assert not verdict
    assert verdict.rule == rule, verdict


def test_module_level_can_do_matches_policy():
    assert can_do(WS, "carl", Action.DECIDE_CR, N.change("web", "CR-1"))
    assert not can_do(WS, "gus", Action.DECIDE_CR, N.change("web", "CR-1"))
