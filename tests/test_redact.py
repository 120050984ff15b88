"""Redaction of the sample workspace (SPEC §3 and §5): each view holds what its viewer may see, no more.

The cases come from sample-workspace/README.md: its visibility table and its marker phrases, which
occur only in hidden items.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from tests.leak_workspaces import SAMPLE_MARKERS
from worktrail.load import load_workspace
from worktrail.model import (
    Audience,
    ChangeRequest,
    Comment,
    Decision,
    Expense,
    Person,
    Plan,
    Project,
    Rate,
    Settings,
    Task,
    Team,
    TimeEntry,
    Workspace,
)
from worktrail.policy import Policy, PolicyError, Verdict, Viewer
from worktrail.redact import View, default_audiences, redact

SAMPLE = Path(__file__).resolve().parent.parent / "sample-workspace"


@pytest.fixture(scope="module")
def sample() -> Workspace:
    ws = load_workspace(SAMPLE).workspace
    assert ws is not None
    return ws


@pytest.fixture(scope="module")
def policy(sample: Workspace) -> Policy:
    return Policy(sample)


def view_of(
    ws: Workspace, policy: Policy, *, person: str | None = None, team: str | None = None, role: str | None = None
) -> View:
    return redact(ws, Audience("test", person=person, team=team, role=role), policy)


def dump(view: View) -> str:
    """Everything the view holds, as the JSON export would hold it (lowercased for matching)."""
    return json.dumps(dataclasses.asdict(view.workspace), default=str, sort_keys=True).lower()


def task_ids(view: View, project: str) -> list[str]:
    return [t.id for t in view.workspace.projects[project].tasks]


# ----------------------------------------------------------------- audiences


def test_default_audiences_are_internal_the_client_team_and_each_active_freelancer(sample: Workspace) -> None:
    assert default_audiences(sample) == (
        Audience("acme", team="acme"),
        Audience("internal", role="admin"),
        Audience("nina", person="nina"),
        Audience("raj", person="raj"),
    )


def test_configured_audiences_replace_the_defaults_sorted_by_name(sample: Workspace) -> None:
    configured = (Audience("zeta", person="ana"), Audience("alpha", team="acme"))
    ws = dataclasses.replace(sample, settings=dataclasses.replace(sample.settings, audiences=configured))
    assert default_audiences(ws) == (configured[1], configured[0])


def test_a_client_team_called_internal_does_not_take_the_internal_sites_name() -> None:
    ws = Workspace(
        root="",
        settings=Settings(name="w"),
        teams={"internal": Team("internal", "Internal Ltd", "client")},
    )
    assert [a.name for a in default_audiences(ws)] == ["internal", "team-internal"]
    assert default_audiences(ws)[0].role == "admin"


def test_labels_name_the_audience(sample: Workspace, policy: Policy) -> None:
    labels = {a.name: redact(sample, a, policy).label for a in default_audiences(sample)}
    assert labels == {
        "acme": "Acme Outdoor (client)",
        "internal": "Internal",
        "nina": "Nina Petrova",
        "raj": "Raj Mehta",
    }


def test_an_audience_naming_no_viewer_is_refused(sample: Workspace) -> None:
    with pytest.raises(PolicyError):
        redact(sample, Audience("nobody"))


def test_the_policy_must_be_the_one_of_the_workspace_redacted(sample: Workspace) -> None:
    other = dataclasses.replace(sample)
    with pytest.raises(ValueError, match="another workspace"):
        redact(other, Audience("internal", role="admin"), Policy(sample))


# ----------------------------------------------------------------- whole views


def test_role_viewer_sees_every_project_unchanged_with_time_costs_filled(sample: Workspace, policy: Policy) -> None:
    view = view_of(sample, policy, role="admin")
    assert view.sees_everything and view.show_costs and view.show_reports and view.show_contacts
    ws = view.workspace
    assert ws.settings == sample.settings
    assert ws.people == sample.people
    assert ws.teams == sample.teams
    assert ws.projects.keys() == sample.projects.keys()
    for pid, original in sample.projects.items():
        redacted = ws.projects[pid]
        without_costs = tuple(dataclasses.replace(e, cost=None) for e in redacted.time_entries)
        assert dataclasses.replace(redacted, time_entries=without_costs) == original
        for entry in redacted.time_entries:
            rate = sample.people[entry.person].rate
            assert rate is not None and rate.per == "hour"
            assert entry.cost == pytest.approx(entry.hours * rate.amount)


def test_inactive_person_sees_nothing(sample: Workspace, policy: Policy) -> None:
    view = view_of(sample, policy, person="paul")
    assert view.workspace.projects == {}
    assert view.workspace.people == {}
    assert view.workspace.teams == {}
    assert view.workspace.settings.name == ""
    assert not (view.sees_everything or view.show_costs or view.show_reports or view.show_contacts)
    assert view.label == "test"


def test_a_team_with_no_active_member_and_an_unknown_person_see_nothing(sample: Workspace, policy: Policy) -> None:
    ws = dataclasses.replace(sample, teams={**sample.teams, "ghosts": Team("ghosts", "Ghosts", "client")})
    for viewer in ({"team": "ghosts"}, {"person": "nobody"}, {"role": "user"}):
        view = view_of(ws, Policy(ws), **viewer)
        assert view.workspace.projects == {} and view.workspace.people == {}, viewer


def test_client_site_has_no_time_entries_money_or_contacts(sample: Workspace, policy: Policy) -> None:
    view = redact(sample, Audience("acme", team="acme"), policy)
    assert not (view.show_costs or view.show_reports or view.show_contacts or view.sees_everything)
    ws = view.workspace
    for project in ws.projects.values():
        # karen sees reports, david does not: the team sees what both see.
        assert project.time_entries == ()
        assert project.expenses == ()
        assert project.budget is None
        assert all(cr.impact is None or cr.impact.cost is None for cr in project.changes)
    for person in ws.people.values():
        assert person.emails == () and person.phone is None and person.rate is None
    assert "WEB-19" in task_ids(view, "acme-website")
    assert "WEB-14" not in task_ids(view, "acme-website")


def test_client_user_with_reports_sees_hours_and_budget_hours_but_no_money(sample: Workspace, policy: Policy) -> None:
    view = view_of(sample, policy, person="karen")
    project = view.workspace.projects["acme-website"]
    assert project.time_entries
    assert all(entry.cost is None for entry in project.time_entries)
    assert project.budget is not None and project.budget.hours == 900 and project.budget.amount is None
    assert any(entry.task == "WEB-19" and entry.person == "leo" for entry in project.time_entries)
    assert view.show_reports and not view.show_costs


def test_guest_view_holds_only_her_tasks_and_the_requests_that_concern_her(sample: Workspace, policy: Policy) -> None:
    view = view_of(sample, policy, person="nina")
    assert task_ids(view, "acme-website") == ["WEB-3", "WEB-4", "WEB-10", "WEB-17", "WEB-18", "WEB-26"]
    assert task_ids(view, "acme-app") == ["APP-8", "APP-12"]
    assert [cr.id for cr in view.workspace.projects["acme-website"].changes] == ["CR-2", "CR-4"]
    assert view.workspace.projects["acme-app"].changes == ()
    for project in view.workspace.projects.values():
        assert project.meetings == ()
        assert project.feedback == ()
        assert project.budget is None


def test_guest_sees_her_own_time_with_its_cost_and_her_own_expense(sample: Workspace, policy: Policy) -> None:
    view = view_of(sample, policy, person="nina")
    assert view.show_costs and view.show_reports
    for project in view.workspace.projects.values():
        assert project.time_entries
        for entry in project.time_entries:
            assert entry.person == "nina"
            assert entry.cost == pytest.approx(entry.hours * 60)
        assert all(expense.by == "nina" for expense in project.expenses)
    assert [e.amount for e in view.workspace.projects["acme-website"].expenses] == [86.4]


def test_rate_is_seen_only_by_managers_and_by_the_person(sample: Workspace, policy: Policy) -> None:
    nina = view_of(sample, policy, person="nina").workspace.people
    assert nina["nina"].rate == Rate(60, "hour")
    assert all(p.rate is None for pid, p in nina.items() if pid != "nina")
    ana = view_of(sample, policy, person="ana").workspace
    # ana sees every cost (internal team) but no rate but her own.
    assert all(p.rate is None for pid, p in ana.people.items() if pid != "ana")
    assert all(e.cost is not None for e in ana.projects["acme-website"].time_entries)
    tom = view_of(sample, policy, person="tom").workspace.people
    assert all(tom[pid].rate == sample.people[pid].rate for pid in sample.people)


def test_private_contact_is_shown_only_to_managers_and_her_team(sample: Workspace, policy: Policy) -> None:
    for viewer, shown in (("nina", False), ("raj", False), ("leo", True), ("tom", True)):
        sofia = view_of(sample, policy, person=viewer).workspace.people["sofia"]
        assert (sofia.emails == sample.people["sofia"].emails) is shown, viewer
        assert (sofia.phone == sample.people["sofia"].phone) is shown, viewer
    nina_view = view_of(sample, policy, person="nina").workspace.people
    assert nina_view["tom"].emails == sample.people["tom"].emails


def test_manager_only_person_and_team_fields_are_blank_for_others(sample: Workspace, policy: Policy) -> None:
    view = view_of(sample, policy, person="ana").workspace
    sofia, karen = view.people["sofia"], view.people["karen"]
    assert sofia.private_contact is False
    assert karen.sees is None
    assert all(team.sees is None for team in view.teams.values())
    assert all(person.role is None for person in view.people.values())
    manager = view_of(sample, policy, person="marie").workspace
    assert manager.people["karen"].sees == sample.people["karen"].sees
    assert manager.teams == sample.teams


def test_non_managers_keep_only_the_presentation_settings(sample: Workspace, policy: Policy) -> None:
    settings = view_of(sample, policy, person="ana").workspace.settings
    assert (settings.name, settings.language, settings.currency, settings.timezone) == (
        "Northwind Studio",
        "en",
        "EUR",
        "Europe/Paris",
    )
    assert settings.plan == Plan()
    assert settings.audiences == ()
    assert view_of(sample, policy, person="tom").workspace.settings == sample.settings


def test_freelancer_terms_reach_only_managers_and_the_freelancer_they_are_for(
    sample: Workspace, policy: Policy
) -> None:
    def terms(**viewer: str) -> dict[str, list[str]]:
        projects = view_of(sample, policy, **viewer).workspace.projects
        return {pid: [t.for_ for t in p.scope.freelancer_terms] for pid, p in projects.items()}

    assert terms(person="nina") == {"acme-website": ["nina"], "acme-app": ["freelancers"]}
    assert terms(person="raj") == {"acme-app": ["freelancers", "raj"]}
    assert terms(person="ana") == {"acme-website": [], "acme-app": []}
    assert terms(team="acme") == {"acme-website": [], "acme-app": []}
    assert terms(person="tom") == {"acme-website": ["nina", "paul"], "acme-app": ["freelancers", "raj"]}


def test_attachments_keep_only_documents_the_viewer_sees(sample: Workspace, policy: Policy) -> None:
    nina = view_of(sample, policy, person="nina").workspace.projects["acme-app"]
    assert nina.task("APP-8") is not None
    assert "design/onboarding-flow.svg" in nina.task_index["APP-8"].attachments
    assert [d.path for d in nina.documents] == ["design/onboarding-flow.svg"]

    # Attach the hidden budget review (visible_to ana) to WEB-1, which leo and ana both see.
    web = sample.projects["acme-website"]
    web1 = dataclasses.replace(web.tasks[0], attachments=("./internal/budget-review-2026-03.md",))
    ws = dataclasses.replace(
        sample, projects={**sample.projects, web.id: dataclasses.replace(web, tasks=(web1, *web.tasks[1:]))}
    )
    fresh = Policy(ws)
    assert view_of(ws, fresh, person="leo").workspace.projects[web.id].tasks[0].attachments == ()
    assert view_of(ws, fresh, person="ana").workspace.projects[web.id].tasks[0].attachments == web1.attachments


# ----------------------------------------------------------------- hidden text never reaches a view

PERSON_VIEWERS = ["marie", "tom", "ana", "leo", "sofia", "karen", "david", "nina", "raj", "paul"]
TEAM_VIEWERS = ["studio", "acme", "freelancers"]


@pytest.mark.parametrize(
    "viewer",
    [{"person": p} for p in PERSON_VIEWERS] + [{"team": t} for t in TEAM_VIEWERS],
    ids=PERSON_VIEWERS + TEAM_VIEWERS,
)
def test_hidden_marker_text_reaches_a_view_only_if_its_viewer_may_see_it(
    sample: Workspace, policy: Policy, viewer: dict[str, str]
) -> None:
    name = next(iter(viewer.values()))
    text = dump(view_of(sample, policy, **viewer))
    shown = {marker for marker in SAMPLE_MARKERS if marker in text}
    assert shown == {marker for marker, seers in SAMPLE_MARKERS.items() if name in seers}


def test_a_hidden_comment_body_is_absent_from_the_json_dump_of_a_view_that_may_not_see_it(
    sample: Workspace, policy: Policy
) -> None:
    hidden = sample.projects["acme-app"].task_index["APP-13"].comments[1]
    assert hidden.hidden and hidden.visible_to == ("ana",)
    raj = view_of(sample, policy, person="raj")
    assert "APP-13" in task_ids(raj, "acme-app")
    body = json.dumps(hidden.body.lower())[1:-1]
    assert body not in dump(raj)
    assert body in dump(view_of(sample, policy, person="ana"))


# ----------------------------------------------------------------- references to people one may not see


def test_references_to_unseen_people_become_none_or_blank(sample: Workspace) -> None:
    # zed's team is on no project: ana may not see him, though she sees the records he touched.
    zed = Person(id="zed", name="Zed Hidden", team="back-office", role="user", rate=Rate(50))
    back_office = Team("back-office", "Back office", "internal")
    web = sample.projects["acme-website"]
    task = web.task_index["WEB-1"]
    comment = Comment(id="cz", project=web.id, task=task.id, author="zed", date=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    task = dataclasses.replace(task, assignee="zed", created_by="zed", subscribers=("zed", "ana"), comments=(comment,))
    cr = ChangeRequest(
        id="CR-9",
        project=web.id,
        title="t",
        requested_by="zed",
        requested_on=dt.date(2026, 3, 1),
        status="approved",
        decision=Decision(by="zed", on=dt.date(2026, 3, 2)),
    )
    entry = TimeEntry(project=web.id, date=dt.date(2026, 3, 1), person="zed", task="WEB-1", hours=2)
    expense = Expense(project=web.id, date=dt.date(2026, 3, 1), amount=10, description="d", by="zed", task="WEB-1")
    project = dataclasses.replace(
        web,
        tasks=tuple(task if t.id == "WEB-1" else t for t in web.tasks),
        changes=(*web.changes, cr),
        time_entries=(entry,),
        expenses=(expense,),
        approvers=("tom", "zed"),
    )
    ws = dataclasses.replace(
        sample,
        people={**sample.people, "zed": zed},
        teams={**sample.teams, "back-office": back_office},
        projects={**sample.projects, web.id: project},
    )
    seen = view_of(ws, Policy(ws), person="ana").workspace
    assert "zed" not in seen.people
    redacted: Project = seen.projects[web.id]
    web1: Task = redacted.task_index["WEB-1"]
    assert (web1.assignee, web1.created_by, web1.subscribers) == (None, None, ("ana",))
    assert [c.author for c in web1.comments] == [""]
    cr9 = redacted.change_index["CR-9"]
    assert cr9.requested_by == "" and cr9.decision is not None and cr9.decision.by == ""
    assert [e.person for e in redacted.time_entries] == [""]
    assert [e.by for e in redacted.expenses] == [""]
    assert redacted.approvers == ("tom",)
    assert "zed" not in dump(view_of(ws, Policy(ws), person="ana"))


# ----------------------------------------------------------------- scale


class CountingPolicy(Policy):
    """A policy that counts the questions asked."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__(ws)
        self.calls = 0

    def can_see(self, viewer: Viewer, thing: object) -> Verdict:
        self.calls += 1
        return super().can_see(viewer, thing)


def big_workspace(sample: Workspace, tasks: int) -> Workspace:
    web = sample.projects["acme-website"]
    template = web.task_index["WEB-3"]
    many = tuple(dataclasses.replace(template, id=f"WEB-{n}") for n in range(1, tasks + 1))
    entries = tuple(dataclasses.replace(web.time_entries[0], task=f"WEB-{n}") for n in range(1, tasks + 1))
    project = dataclasses.replace(web, tasks=many, time_entries=entries)
    return dataclasses.replace(sample, projects={web.id: project})


def test_policy_questions_grow_linearly_with_the_number_of_records(sample: Workspace) -> None:
    counts = []
    for size in (100, 1000):
        ws = big_workspace(sample, size)
        policy = CountingPolicy(ws)
        for audience in default_audiences(ws):
            redact(ws, audience, policy)
        counts.append(policy.calls)
    # Ten times the records ask at most ten times the questions (plus the fixed per-person ones).
    assert counts[1] <= 10 * counts[0]


def test_a_ten_thousand_task_workspace_is_redacted_for_every_audience(sample: Workspace) -> None:
    ws = big_workspace(sample, 10_000)
    policy = Policy(ws)
    tasks = {
        audience.name: sum(len(p.tasks) for p in redact(ws, audience, policy).workspace.projects.values())
        for audience in default_audiences(ws)
    }
    # WEB-3 is nina's task, so every copy is too; raj is no member of the website project.
    assert tasks == {"acme": 10_000, "internal": 10_000, "nina": 10_000, "raj": 0}
