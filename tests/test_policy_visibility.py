"""Who may see what (SPEC §3), table-driven over the fixture workspace of policy_fixtures.py.

Each table row is a thing and a string of Y/N, one letter per viewer in VIEWERS (spaces are ignored
and only group the columns): managers | internal users | client user and reader | freelancer guests
(gus, gina, inactive ian) | unknown person | teams studio, acme, free, former (no active member),
unknown | roles admin, owner, user.
"""

from __future__ import annotations

import pytest

from tests.policy_fixtures import (
    APP_MILESTONE,
    DELIVERABLE,
    MILESTONES,
    WS,
    N,
    expense,
    person,
    task,
    team,
    time_entry,
    workspace,
)
from worktrail.model import Audience, Project, Sees, SeesOverride
from worktrail.policy import (
    FieldRef,
    MilestoneRef,
    PersonViewer,
    Policy,
    PolicyError,
    RoleViewer,
    TeamViewer,
    Verdict,
    Viewer,
    can_see,
    describe_viewer,
    parse_viewer,
    viewer_for_audience,
)

VIEWERS = [
    "olga", "adam",
    "ulla", "ivan",
    "carl", "rita",
    "gus", "gina", "ian",
    "nobody",
    "team:studio", "team:acme", "team:free", "team:former", "team:nope",
    "role:admin", "role:owner", "role:user",
]  # fmt: skip

POLICY = Policy(WS)


def viewer(text: str) -> Viewer:
    kind, _, name = text.rpartition(":")
    if kind == "team":
        return TeamViewer(name)
    if kind == "role":
        return RoleViewer(name)
    return PersonViewer(name)


def table(*rows: tuple[str, object, str]) -> list[object]:
    """Expand rows (label, thing, "YN...") into one pytest case per viewer."""
    cases: list[object] = []
    for label, thing, expected in rows:
        flags = expected.replace(" ", "")
        assert len(flags) == len(VIEWERS), f"{label}: {len(flags)} flags for {len(VIEWERS)} viewers"
        for who, flag in zip(VIEWERS, flags, strict=True):
            cases.append(pytest.param(who, thing, flag == "Y", id=f"{label}|{who}"))
    return cases


def check(who: str, thing: object, expected: bool) -> None:
    verdict = POLICY.can_see(viewer(who), thing)
    assert isinstance(verdict, Verdict)
    assert bool(verdict) is expected, f"{who}: {verdict}"
    assert verdict.rule and verdict.reason


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("web", N.project("web"), "YY YY YY YYN N YYYNN YYN"),
        ("app", N.project("app"), "YY YN NN NNN N NNNNN YYN"),
    ),
)
def test_project_visible_to_managers_and_members_named_directly_or_by_team(who, thing, expected):
    check(who, thing, expected)


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("WEB-1 plain", N.task("WEB-1"), "YY YY YY NNN N YYNNN YYN"),
        ("WEB-2 assigned to gus, gina subscribes", N.task("WEB-2"), "YY YY YY YYN N YYYNN YYN"),
        ("WEB-5 gus subscribes", N.task("WEB-5"), "YY YY YY YNN N YYNNN YYN"),
        ("WEB-8 plain", N.task("WEB-8"), "YY YY YY NNN N YYNNN YYN"),
        ("APP-1 in app", N.task("APP-1"), "YY YN NN NNN N NNNNN YYN"),
    ),
)
def test_guest_sees_only_assigned_or_subscribed_tasks_users_and_readers_see_all(who, thing, expected):
    check(who, thing, expected)


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("WEB-3 hidden, visible_to acme", N.task("WEB-3"), "YY YN YY NNN N NYNNN YYN"),
        ("WEB-4 hidden, gus assignee, ulla creator", N.task("WEB-4"), "YY YN NN YNN N NNNNN YYN"),
        ("WEB-6 hidden, visible_to a guest not subscribed", N.task("WEB-6"), "YY NY NN NNN N NNNNN YYN"),
        ("WEB-7 hidden, visible_to free, both subscribe", N.task("WEB-7"), "YY NN NN YYN N NNYNN YYN"),
    ),
)
def test_hidden_task_seen_only_by_managers_assignee_creator_and_visible_to(who, thing, expected):
    check(who, thing, expected)


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("c1 plain on WEB-1", N.comment("c1"), "YY YY YY NNN N YYNNN YYN"),
        ("c6 by gus on WEB-1 he cannot see", N.comment("c6"), "YY YY YY NNN N YYNNN YYN"),
        ("c2 hidden, visible_to studio", N.comment("c2"), "YY YY NN NNN N YNNNN YYN"),
        ("c3 hidden, author carl", N.comment("c3"), "YY NN YN NNN N NNNNN YYN"),
        ("c4 plain on hidden WEB-3", N.comment("c4"), "YY YN YY NNN N NYNNN YYN"),
        ("c5 hidden by gus, visible_to gina", N.comment("c5"), "YY NN NN YYN N NNYNN YYN"),
    ),
)
def test_hidden_comment_seen_only_by_managers_author_and_visible_to_and_needs_its_task(who, thing, expected):
    check(who, thing, expected)


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("m1 plain", N.meeting("m1"), "YY YY YY NNN N YYNNN YYN"),
        ("m2 hidden, ulla attends", N.meeting("m2"), "YY YN NN NNN N NNNNN YYN"),
        ("m3 hidden, visible_to acme", N.meeting("m3"), "YY NN YY NNN N NYNNN YYN"),
        ("m4 hidden, guest attends", N.meeting("m4"), "YY NN NN NNN N NNNNN YYN"),
    ),
)
def test_meeting_minutes_for_members_except_guests_with_hidden_rule_on_attendees(who, thing, expected):
    check(who, thing, expected)


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("CR-1 by carl", N.change("web", "CR-1"), "YY YY YY NNN N YYNNN YYN"),
        ("CR-2 by gus", N.change("web", "CR-2"), "YY YY YY YNN N YYNNN YYN"),
        ("CR-3 lists WEB-5", N.change("web", "CR-3"), "YY YY YY YNN N YYNNN YYN"),
        ("CR-4 lists WEB-2", N.change("web", "CR-4"), "YY YY YY YYN N YYYNN YYN"),
        ("app CR-1", N.change("app", "CR-1"), "YY YN NN NNN N NNNNN YYN"),
    ),
)
def test_guest_sees_only_change_requests_they_requested_or_listing_a_task_they_see(who, thing, expected):
    check(who, thing, expected)


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("brief.pdf on WEB-1", N.document("brief.pdf"), "YY YY YY NNN N YYNNN YYN"),
        ("design.png on WEB-2", N.document("design.png"), "YY YY YY YYN N YYYNN YYN"),
        ("secret.pdf on hidden WEB-3 as ./secret.pdf", N.document("secret.pdf"), "YY YN YY NNN N NYNNN YYN"),
        ("handbook.pdf unattached", N.document("handbook.pdf"), "YY YY YY NNN N YYNNN YYN"),
        ("contract.pdf hidden, visible_to acme", N.document("contract.pdf"), "YY NN YY NNN N NYNNN YYN"),
        ("shared.pdf on WEB-2 and hidden WEB-3", N.document("shared.pdf"), "YY YY YY YYN N YYYNN YYN"),
        ("plan.pdf hidden, visible_to gus, on WEB-1+2", N.document("plan.pdf"), "YY NN NN YNN N NNNNN YYN"),
    ),
)
def test_document_needs_hidden_rule_and_a_visible_task_it_is_attached_to(who, thing, expected):
    check(who, thing, expected)


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("t1 ulla on WEB-1", N.time(1), "YY YY NN NNN N YNNNN YYN"),
        ("t2 gus on WEB-2", N.time(2), "YY YY NN YYN N YNNNN YYN"),
        ("t3 gina on WEB-2", N.time(3), "YY YY NN NYN N YNNNN YYN"),
        ("t4 ulla on hidden WEB-3", N.time(4), "YY YN NN NNN N NNNNN YYN"),
        ("t5 gus on hidden WEB-4", N.time(5), "YY YN NN YNN N NNNNN YYN"),
    ),
)
def test_time_entry_needs_its_task_and_reports_true_or_own(who, thing, expected):
    check(who, thing, expected)


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("e1 ulla on WEB-1", N.expense(1), "YY YY YN NNN N YNNNN YYN"),
        ("e2 gus on WEB-2", N.expense(2), "YY YY YN YNN N YNNNN YYN"),
        ("e3 olga, no task", N.expense(3), "YY YY YN NNN N YNNNN YYN"),
        ("e4 gina, no task", N.expense(4), "YY YY YN NYN N YNNNN YYN"),
        ("e5 ulla on hidden WEB-3", N.expense(5), "YY YN YN NNN N NNNNN YYN"),
    ),
)
def test_expense_needs_project_its_task_and_costs_true_or_own(who, thing, expected):
    check(who, thing, expected)


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("web budget.amount", FieldRef(N.project("web"), "budget.amount"), "YY YY YN NNN N YNNNN YYN"),
        ("web budget.hours", FieldRef(N.project("web"), "budget.hours"), "YY YY NN NYN N YNNNN YYN"),
        ("web budget", FieldRef(N.project("web"), "budget"), "YY YY NN NNN N YNNNN YYN"),
        ("web name", FieldRef(N.project("web"), "name"), "YY YY YY YYN N YYYNN YYN"),
        ("app budget.amount", FieldRef(N.project("app"), "budget.amount"), "YY YN NN NNN N NNNNN YYN"),
        ("CR-1 impact.cost", FieldRef(N.change("web", "CR-1"), "impact.cost"), "YY YY YN NNN N YNNNN YYN"),
        ("CR-2 impact.cost", FieldRef(N.change("web", "CR-2"), "impact.cost"), "YY YY YN NNN N YNNNN YYN"),
        ("CR-2 title", FieldRef(N.change("web", "CR-2"), "title"), "YY YY YY YNN N YYNNN YYN"),
        ("t1 cost", FieldRef(N.time(1), "cost"), "YY YY NN NNN N YNNNN YYN"),
        ("t2 cost", FieldRef(N.time(2), "cost"), "YY YY NN YNN N YNNNN YYN"),
        ("t3 cost", FieldRef(N.time(3), "cost"), "YY YY NN NYN N YNNNN YYN"),
        ("t2 hours", FieldRef(N.time(2), "hours"), "YY YY NN YYN N YNNNN YYN"),
        ("ulla rate", FieldRef(N.person("ulla"), "rate"), "YY YN NN NNN N NNNNN YYN"),
        ("carl rate", FieldRef(N.person("carl"), "rate"), "YY NN YN NNN N NNNNN YYN"),
        ("rita rate (costs false)", FieldRef(N.person("rita"), "rate"), "YY NN NN NNN N NNNNN YYN"),
        ("gus rate (costs own)", FieldRef(N.person("gus"), "rate"), "YY NN NN YNN N NNNNN YYN"),
    ),
)
def test_money_needs_sees_costs_true_or_own_and_rate_only_for_managers_and_the_person(who, thing, expected):
    check(who, thing, expected)


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("olga", N.person("olga"), "YY YY YY YYN N YYYNN YYN"),
        ("gus", N.person("gus"), "YY YY YY YYN N YYYNN YYN"),
        ("fred on no project", N.person("fred"), "YY NN NN NNN N NNNNN YYN"),
        ("gus name", FieldRef(N.person("gus"), "name"), "YY YY YY YYN N YYYNN YYN"),
        ("gus title", FieldRef(N.person("gus"), "title"), "YY YY YY YYN N YYYNN YYN"),
        ("team studio", N.team("studio"), "YY YY YY YYN N YYYNN YYN"),
        ("team former", N.team("former"), "YY NN NN NNN N NNNNN YYN"),
        ("team studio name", FieldRef(N.team("studio"), "name"), "YY YY YY YYN N YYYNN YYN"),
    ),
)
def test_people_and_their_teams_seen_on_visible_projects(who, thing, expected):
    check(who, thing, expected)


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("olga emails", FieldRef(N.person("olga"), "emails"), "YY YY NN YNN N YNNNN YYN"),
        ("ulla phone (private)", FieldRef(N.person("ulla"), "phone"), "YY YY NN NNN N YNNNN YYN"),
        ("gina emails", FieldRef(N.person("gina"), "emails"), "YY YY NN YYN N YNNNN YYN"),
        ("carl emails", FieldRef(N.person("carl"), "emails"), "YY YY NN YNN N YNNNN YYN"),
        ("fred emails", FieldRef(N.person("fred"), "emails"), "YY NN NN NNN N NNNNN YYN"),
    ),
)
def test_contacts_hidden_without_sees_contacts_or_when_private_outside_the_team(who, thing, expected):
    check(who, thing, expected)


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("f1 by carl", N.feedback("f1"), "YY NN YY NNN N NYNNN YYN"),
        ("f2 by gus", N.feedback("f2"), "YY NN NN YYN N NNYNN YYN"),
        ("f3 by ulla in app", N.feedback("f3"), "YY YN NN NNN N NNNNN YYN"),
    ),
)
def test_feedback_seen_by_managers_and_the_authors_team(who, thing, expected):
    check(who, thing, expected)


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("settings", WS.settings, "YY NN NN NNN N NNNNN YYN"),
        ("settings plan", FieldRef(WS.settings, "plan"), "YY NN NN NNN N NNNNN YYN"),
        ("settings audiences", FieldRef(WS.settings, "audiences"), "YY NN NN NNN N NNNNN YYN"),
        ("settings name", FieldRef(WS.settings, "name"), "YY YY YY YYN N YYYNN YYN"),
        ("settings currency", FieldRef(WS.settings, "currency"), "YY YY YY YYN N YYYNN YYN"),
        ("studio sees", FieldRef(N.team("studio"), "sees"), "YY NN NN NNN N NNNNN YYN"),
        ("free sees", FieldRef(N.team("free"), "sees"), "YY NN NN NNN N NNNNN YYN"),
        ("carl role", FieldRef(N.person("carl"), "role"), "YY NN NN NNN N NNNNN YYN"),
        ("carl sees", FieldRef(N.person("carl"), "sees"), "YY NN NN NNN N NNNNN YYN"),
        ("carl private_contact", FieldRef(N.person("carl"), "private_contact"), "YY NN NN NNN N NNNNN YYN"),
    ),
)
def test_settings_roles_team_settings_and_sees_for_managers_only(who, thing, expected):
    check(who, thing, expected)


@pytest.mark.parametrize(
    ("who", "thing", "expected"),
    table(
        ("web beta ref", MilestoneRef(N.project("web"), MILESTONES[0]), "YY YY YY YYN N YYYNN YYN"),
        ("web beta tuple", (N.project("web"), MILESTONES[0]), "YY YY YY YYN N YYYNN YYN"),
        ("web alpha bare", MILESTONES[1], "YY YY YY YYN N YYYNN YYN"),
        ("web deliverable", DELIVERABLE, "YY YY YY YYN N YYYNN YYN"),
        ("app m1 bare", APP_MILESTONE, "YY YN NN NNN N NNNNN YYN"),
    ),
)
def test_milestones_and_deliverables_visible_with_their_project(who, thing, expected):
    check(who, thing, expected)


# --------------------------------------------------------------------------- deciding rules named


@pytest.mark.parametrize(
    ("who", "thing", "rule", "in_reason"),
    [
        (
            "ivan",
            N.task("WEB-3"),
            "hidden rule",
            "WEB-3 is hidden and ivan is not a manager, its assignee, its creator or named in visible_to",
        ),
        ("gus", N.task("WEB-1"), "role rule", "guest"),
        ("gina", N.task("WEB-6"), "role rule", "neither the assignee nor a subscriber"),
        ("carl", N.project("app"), "project membership", "app"),
        ("rita", N.expense(1), "costs", "rita"),
        ("carl", N.time(1), "reports", "carl"),
        ("carl", FieldRef(N.person("olga"), "emails"), "contacts", "carl"),
        ("gus", FieldRef(N.person("ulla"), "phone"), "private contact", "ulla"),
        ("gus", N.document("brief.pdf"), "attachments", "WEB-1"),
        ("gus", N.meeting("m1"), "role rule", "guest"),
        ("ulla", N.feedback("f1"), "feedback: author's team", "acme"),
        ("ian", N.project("web"), "inactive", "ian"),
        ("nobody", N.project("web"), "unknown viewer", "nobody"),
        ("olga", N.task("WEB-4"), "manager", "olga"),
        ("role:admin", N.task("WEB-4"), "role viewer", "admin"),
        ("role:user", N.project("web"), "role viewer", "user"),
        ("team:acme", N.expense(1), "costs", "member rita"),
        ("team:free", N.time(2), "reports", "gives a team nothing"),
        ("team:former", N.project("web"), "team: every active member", "no active member"),
        ("team:nope", N.project("web"), "unknown viewer", "nope"),
        ("ulla", WS.settings, "managers only", "ulla"),
        ("ulla", FieldRef(N.project("web"), "no-such-field"), "unknown field", "no-such-field"),
        ("ulla", "a string", "unknown entity", "str"),
        ("olga", "a string", "unknown entity", "str"),
        ("role:admin", "a string", "unknown entity", "str"),
        ("team:studio", FieldRef("a string", "name"), "unknown entity", "str"),
    ],
)
def test_verdict_names_the_deciding_rule(who, thing, rule, in_reason):
    verdict = POLICY.can_see(viewer(who), thing)
    assert verdict.rule == rule, verdict
    assert in_reason in verdict.reason, verdict


def test_team_allowed_verdict_names_every_active_member():
    verdict = POLICY.can_see(TeamViewer("free"), N.task("WEB-7"))
    assert verdict
    assert verdict.rule == "team: every active member"
    assert "gus" in verdict.reason and "gina" in verdict.reason and "ian" not in verdict.reason


def test_team_of_one_gets_nothing_from_own_or_from_being_that_person():
    # A team audience is never "that person": own entries and a person's rate stay with the person.
    sam = person("sam", "solo", "guest", sees=SeesOverride(costs=True), rate=60)
    solo = Project(
        id="p",
        name="P",
        key="P",
        status="active",
        members=("solo",),
        tasks=(task("p", "P-1", assignee="sam"),),
        time_entries=(time_entry("p", "sam", "P-1"),),
        expenses=(expense("p", "sam", "P-1"),),
    )
    ws = workspace([team("solo", "freelancer")], [sam], [solo])
    policy = Policy(ws)
    entry, spent = solo.time_entries[0], solo.expenses[0]
    for thing in (FieldRef(sam, "rate"), entry, FieldRef(sam, "emails"), spent):
        assert policy.can_see(PersonViewer("sam"), thing), thing
    for thing in (FieldRef(sam, "rate"), entry):
        assert not policy.can_see(TeamViewer("solo"), thing), thing
    # costs: true (not own) is shared with the team; contacts: true too.
    assert policy.can_see(TeamViewer("solo"), spent)
    assert policy.can_see(TeamViewer("solo"), FieldRef(sam, "emails"))


def test_module_level_can_see_matches_policy():
    assert can_see(WS, PersonViewer("ulla"), N.task("WEB-3"))
    assert not can_see(WS, PersonViewer("ivan"), N.task("WEB-3"))


# --------------------------------------------------------------------------- sees, viewers


@pytest.mark.parametrize(
    ("pid", "expected"),
    [
        ("olga", Sees(True, True, True)),
        ("carl", Sees(costs=True, reports=False, contacts=False)),
        ("rita", Sees(False, False, False)),
        ("gus", Sees(costs="own", reports="own", contacts=True)),
        ("gina", Sees(costs="own", reports=True, contacts="own")),
        ("nobody", Sees(False, False, False)),
    ],
)
def test_person_sees_overrides_team_defaults_per_key(pid, expected):
    assert POLICY.effective_sees(pid) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ana", None),
        ("ulla", PersonViewer("ulla")),
        ("acme", TeamViewer("acme")),
        ("person:ulla", PersonViewer("ulla")),
        ("team:acme", TeamViewer("acme")),
        ("role:admin", RoleViewer("admin")),
        ("role:owner", RoleViewer("owner")),
        ("role:user", None),
        ("role:boss", None),
        ("person:acme", None),
        ("team:ulla", None),
        ("group:acme", None),
        (" team:acme ", TeamViewer("acme")),
    ],
)
def test_parse_viewer_resolves_ids_and_rejects_unknown_ones(text, expected):
    if expected is None:
        with pytest.raises(PolicyError):
            parse_viewer(WS, text)
    else:
        assert parse_viewer(WS, text) == expected


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        (Audience(name="a", team="acme"), TeamViewer("acme")),
        (Audience(name="a", person="gus"), PersonViewer("gus")),
        (Audience(name="a", role="admin"), RoleViewer("admin")),
    ],
)
def test_viewer_for_audience(audience, expected):
    assert viewer_for_audience(audience) == expected


@pytest.mark.parametrize("audience", [Audience(name="a"), Audience(name="a", team="acme", person="gus")])
def test_viewer_for_audience_needs_exactly_one_name(audience):
    with pytest.raises(PolicyError):
        viewer_for_audience(audience)


@pytest.mark.parametrize(
    ("who", "words"),
    [
        (PersonViewer("ulla"), ["ulla", "user", "studio"]),
        (PersonViewer("ian"), ["ian", "inactive"]),
        (PersonViewer("nobody"), ["unknown"]),
        (TeamViewer("free"), ["free", "freelancer", "gus", "gina"]),
        (TeamViewer("former"), ["no active member"]),
        (TeamViewer("nope"), ["unknown"]),
        (RoleViewer("admin"), ["everything"]),
        (RoleViewer("user"), ["nothing"]),
    ],
)
def test_describe_viewer(who, words):
    text = describe_viewer(WS, who)
    for word in words:
        assert word in text
