"""The leak suite: no canary reaches a view or a site unless the policy lets that audience see it.

Random small workspaces (leak_workspaces.py) hold a unique canary in every free-text and money
field. For every default audience, every person, every team and a few odd viewers, the redacted
view must hold each canary if and only if the policy lets that viewer see its field. As soon as
`worktrail.site` exists, the same holds for every byte and file name of each audience's built site.

The audience's own name is chosen by whoever configures the site (by default a team or person id),
so it is exempt: a site may always print the name of its own audience.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings

from tests.leak_workspaces import SAMPLE_MARKERS, TEXT_CANARY, Canary, LeakCase, canaries, leak_cases, money_pattern
from worktrail.load import load_workspace
from worktrail.model import Audience, TimeEntry, Workspace
from worktrail.policy import FieldRef, PersonViewer, Policy, TeamViewer, Viewer, viewer_for_audience
from worktrail.redact import HOURS_PER_DAY, View, default_audiences, redact

SiteBuilder = Callable[..., None]

MAIN = settings(
    derandomize=True,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
SIDE = settings(MAIN, max_examples=60)


def model_audiences(ws: Workspace) -> list[Audience]:
    """The default audiences, every person and team, both viewer roles, a non-viewer role and a stranger."""
    out = list(default_audiences(ws))
    out += [Audience(f"person-{n}", person=pid) for n, pid in enumerate(ws.people)]
    out += [Audience(f"team-{n}", team=tid) for n, tid in enumerate(ws.teams)]
    out += [
        Audience("role-owner", role="owner"),
        Audience("role-user", role="user"),
        Audience("stranger", person="nobody"),
    ]
    return out


def own_ids(ws: Workspace, viewer: Viewer) -> set[str]:
    """Ids that freelancer terms may be `for` and still reach this viewer (see `redact`)."""
    if isinstance(viewer, TeamViewer):
        return {viewer.team}
    if isinstance(viewer, PersonViewer):
        person = ws.people.get(viewer.person)
        if person is not None and person.active:
            return {person.id, person.team}
    return set()


def expected(ws: Workspace, policy: Policy, viewer: Viewer, canary: Canary) -> bool:
    """Whether the viewer may see this canary, as the policy says (terms: the documented redaction rule)."""
    if canary.kind == "terms":
        if not policy.can_see(viewer, canary.entity):
            return False
        return bool(policy.can_see(viewer, ws.settings)) or canary.field in own_ids(ws, viewer)
    return bool(policy.can_see(viewer, FieldRef(canary.entity, canary.field)))


def walk(value: object) -> Iterator[object]:
    """Every leaf value (strings, numbers, dates) inside a model object."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from walk(getattr(value, f.name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk(key)
            yield from walk(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from walk(item)
    else:
        yield value


def view_contents(view: View) -> tuple[str, set[float]]:
    """All text (lowercased) and all numbers of a view's workspace and label."""
    texts = [view.label]
    numbers: set[float] = set()
    for leaf in walk(view.workspace):
        if isinstance(leaf, str):
            texts.append(leaf)
        elif isinstance(leaf, (int, float)) and not isinstance(leaf, bool):
            numbers.add(float(leaf))
    return "\n".join(texts).lower(), numbers


def mismatches(
    ws: Workspace,
    policy: Policy,
    audience: Audience,
    items: Iterable[Canary],
    present: Callable[[Canary], bool],
) -> list[str]:
    viewer = viewer_for_audience(audience)
    out: list[str] = []
    for canary in items:
        if canary.token.lower() == audience.name.lower():
            continue
        allowed = expected(ws, policy, viewer, canary)
        found = present(canary)
        if found != allowed and not (canary.absent_only and not found):
            what = f"freelancer terms for {canary.field}" if canary.kind == "terms" else canary.field
            verb = "leaks" if found else "lacks"
            out.append(f"{audience.name}: {verb} {what} of a {type(canary.entity).__name__} ({canary.token})")
    return out


def expected_cost(ws: Workspace, entry: TimeEntry) -> float | None:
    person = ws.people.get(entry.person)
    if person is None or person.rate is None:
        return None
    per_hour = person.rate.amount / HOURS_PER_DAY if person.rate.per == "day" else person.rate.amount
    return entry.hours * per_hour


@MAIN
@given(case=leak_cases())
def test_view_holds_each_canary_iff_the_policy_lets_the_viewer_see_its_field(case: LeakCase) -> None:
    ws = case.ws
    policy = Policy(ws)
    items = list(canaries(ws))
    problems: list[str] = []
    for audience in model_audiences(ws):
        view = redact(ws, audience, policy)
        text, numbers = view_contents(view)

        def present(canary: Canary, text: str = text, numbers: set[float] = numbers) -> bool:
            if canary.kind == "money":
                return canary.value in numbers
            return canary.token.lower() in text

        problems += mismatches(ws, policy, audience, items, present)
    assert not problems, "\n".join(problems)


@SIDE
@given(case=leak_cases())
def test_every_canary_of_a_generated_workspace_is_listed_with_its_field(case: LeakCase) -> None:
    # Guards the suite itself: a canary the generator puts somewhere `canaries` does not list would
    # never be checked.
    listed = {c.token.lower() for c in canaries(case.ws) if c.kind != "money"}
    found: set[str] = set()
    for leaf in walk(case.ws):
        if isinstance(leaf, str):
            found.update(match.lower() for match in TEXT_CANARY.findall(leaf))
    assert found <= listed


@SIDE
@given(case=leak_cases())
def test_time_cost_is_hours_times_rate_only_where_the_viewer_sees_that_cost(case: LeakCase) -> None:
    ws = case.ws
    policy = Policy(ws)
    originals = {(e.project, e.note): e for p in ws.projects.values() for e in p.time_entries}
    for audience in model_audiences(ws):
        view = redact(ws, audience, policy)
        viewer = view.viewer
        for project in view.workspace.projects.values():
            for entry in project.time_entries:
                original = originals[(entry.project, entry.note)]
                cost = expected_cost(ws, original)
                if cost is None or not policy.can_see(viewer, FieldRef(original, "cost")):
                    assert entry.cost is None, audience.name
                else:
                    assert entry.cost == pytest.approx(cost, abs=0.006), audience.name


@SIDE
@given(case=leak_cases())
def test_every_reference_in_a_view_names_something_in_that_view(case: LeakCase) -> None:
    ws = case.ws
    policy = Policy(ws)
    for audience in model_audiences(ws):
        view = redact(ws, audience, policy).workspace
        people, teams = set(view.people), set(view.teams)
        names = people | teams
        blank_or_person = people | {""}
        for person in view.people.values():
            assert person.team in teams
        for project in view.projects.values():
            task_ids = {t.id for t in project.tasks}
            assert set(project.members) <= names
            assert set(project.approvers or ()) <= people
            assert project.client is None or project.client in teams
            assert {t.for_ for t in project.scope.freelancer_terms} <= names
            assert {m.signed_off_by for m in project.milestones} <= people | {None}
            doc_paths = {d.path for d in project.documents}
            for task in project.tasks:
                assert {task.assignee, task.created_by} <= people | {None}
                assert set(task.subscribers) <= people
                assert set(task.visible_to) <= names
                assert {path.removeprefix("./") for path in task.attachments} <= doc_paths
                assert task.change_request is None or project.change(task.change_request) is not None
                for comment in task.comments:
                    assert comment.author in blank_or_person
                    assert set(comment.visible_to) <= names
            for cr in project.changes:
                assert cr.requested_by in blank_or_person
                assert cr.decision is None or cr.decision.by in blank_or_person
                assert set(cr.tasks) <= task_ids
            for meeting in project.meetings:
                assert set(meeting.attendees) <= people
                assert set(meeting.visible_to) <= names
            for doc in project.documents:
                assert set(doc.visible_to) <= names
            for entry in project.time_entries:
                assert entry.person in blank_or_person
                assert entry.task in task_ids
            for expense in project.expenses:
                assert expense.by in blank_or_person
                assert expense.task is None or expense.task in task_ids
            for fb in project.feedback:
                assert fb.author in blank_or_person
                assert fb.response is None or fb.response.by in blank_or_person


@SIDE
@given(case=leak_cases())
def test_default_audiences_are_internal_client_teams_and_active_freelancers(case: LeakCase) -> None:
    ws = case.ws
    audiences = default_audiences(ws)
    names = [a.name for a in audiences]
    assert names == sorted(set(names))
    if ws.settings.audiences:
        assert set(audiences) == set(ws.settings.audiences)
        return
    assert Audience("internal", role="admin") in audiences
    clients = {t.id for t in ws.teams.values() if t.kind == "client"}
    freelancers = {p.id for p in ws.people.values() if p.active and ws.teams[p.team].kind == "freelancer"}
    assert {a.team for a in audiences if a.team is not None} == clients
    assert {a.person for a in audiences if a.person is not None} == freelancers


# ----------------------------------------------------------------- the built site


def site_builder() -> SiteBuilder:
    module = importlib.import_module("worktrail.site")
    return cast(SiteBuilder, module.build_audience_site)


def site_contents(out_dir: Path) -> str:
    """Every file name and every file's bytes of a built site, as one lowercased text."""
    parts: list[str] = []
    for path in sorted(out_dir.rglob("*")):
        parts.append(path.relative_to(out_dir).as_posix())
        if path.is_file():
            parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts).lower()


def write_files(root: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


@MAIN
@given(case=leak_cases())
def test_site_bytes_hold_each_canary_iff_the_policy_lets_the_audience_see_it(case: LeakCase) -> None:
    build = site_builder()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "workspace"
        write_files(root, case.files)
        ws = dataclasses.replace(case.ws, root=str(root))
        policy = Policy(ws)
        items = [*canaries(ws), *case.file_canaries]
        problems: list[str] = []
        for n, audience in enumerate((*default_audiences(ws), *case.audiences[:2])):
            out_dir = Path(tmp) / "sites" / f"site-{n}"
            out_dir.mkdir(parents=True)
            build(redact(ws, audience, policy), out_dir, epoch=int(dt.datetime(2026, 3, 31, tzinfo=dt.UTC).timestamp()))
            text = site_contents(out_dir)

            def present(canary: Canary, text: str = text) -> bool:
                if canary.kind == "money":
                    assert canary.value is not None
                    return money_pattern(canary.value).search(text) is not None
                return canary.token.lower() in text

            problems += mismatches(ws, policy, audience, items, present)
        assert not problems, "\n".join(problems)


SAMPLE = Path(__file__).resolve().parent.parent / "sample-workspace"
SAMPLE_AUDIENCES = [
    Audience("internal", role="admin"),
    *(Audience(p, person=p) for p in ("tom", "ana", "leo", "sofia", "karen", "david", "nina", "raj", "paul")),
    *(Audience(t, team=t) for t in ("studio", "acme", "freelancers")),
]


@pytest.mark.parametrize("audience", SAMPLE_AUDIENCES, ids=[a.name for a in SAMPLE_AUDIENCES])
def test_sample_site_holds_hidden_marker_text_only_for_audiences_that_may_see_it(
    audience: Audience, tmp_path: Path
) -> None:
    ws = load_workspace(SAMPLE).workspace
    assert ws is not None
    site_builder()(redact(ws, audience), tmp_path, epoch=0)
    text = site_contents(tmp_path)
    # The role viewer is the internal audience: it sees what a manager sees.
    name = audience.person or audience.team or "marie"
    shown = {marker for marker in SAMPLE_MARKERS if marker in text}
    assert shown == {marker for marker, seers in SAMPLE_MARKERS.items() if name in seers}
