"""`worktrail report`: the sites' figures for one viewer, from that viewer's redacted view only."""

from __future__ import annotations

import ast
import csv
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.git_env import isolate_git
from worktrail import cli_report, reports
from worktrail.cli import main
from worktrail.load import load_workspace
from worktrail.policy import Policy, parse_viewer
from worktrail.redact import default_audiences
from worktrail.site import build_sites

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample-workspace"
CLIENT_VIEWERS = ("acme", "team:acme", "karen", "david")
# Budget amounts of the sample's projects: money a client must never see.
MONEY = ("76500", "44800", "76,500", "44,800")
HIDDEN_ID = "WEB-90"
HIDDEN_TITLE = "Quietly rebuild the pricing engine"
HIDDEN_TASK = f"""---
title: {HIDDEN_TITLE}
status: in-progress
assignee: ana
created_by: tom
created: 2026-02-20
hidden: true
---

Not for the client.
"""
HIDDEN_TIME = f"""- date: 2026-02-21
  person: ana
  task: {HIDDEN_ID}
  hours: 7.25
  note: Pricing engine spike
  billable: true
"""


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch, tmp_path_factory):
    isolate_git(monkeypatch, tmp_path_factory)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture(scope="module")
def with_hidden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample plus a hidden task added after the baseline, with time on it."""
    root = tmp_path_factory.mktemp("reports") / "ws"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("site", ".github"))
    (root / "projects/acme-website/tasks" / f"{HIDDEN_ID}.md").write_text(HIDDEN_TASK, encoding="utf-8")
    time_file = root / "projects/acme-website/time/2026-02.yaml"
    time_file.write_text(time_file.read_text(encoding="utf-8") + HIDDEN_TIME, encoding="utf-8")
    return root


def run(root: Path, *args: str, **kwargs: Any) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["-C", str(root), *args], **kwargs)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def report_json(root: Path, kind: str, *args: str) -> dict[str, Any]:
    code, out, err = run(root, "report", kind, "--format", "json", *args)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def keys(data: object) -> set[str]:
    if isinstance(data, dict):
        return set(data) | {k for value in data.values() for k in keys(value)}
    if isinstance(data, list):
        return {k for item in data for k in keys(item)}
    return set()


# ------------------------------------------------------------------------------ what a client sees


@pytest.mark.parametrize("viewer", CLIENT_VIEWERS)
def test_a_client_viewers_reports_contain_no_money_in_any_format(with_hidden, viewer):
    for kind in reports.REPORT_KINDS:
        for fmt in reports.FORMATS:
            code, out, err = run(with_hidden, "report", kind, "--as", viewer, "--format", fmt)
            assert code == 0, err
            assert not any(amount in out for amount in MONEY), (kind, fmt)
            assert "EUR" not in out and "money" not in out and "cost" not in out, (kind, fmt)
        data = report_json(with_hidden, kind, "--as", viewer)
        assert not keys(data) & {"cost", "currency", "amount"}, kind


@pytest.mark.parametrize("viewer", (*CLIENT_VIEWERS, "nina", "raj"))
def test_a_hidden_task_and_its_time_reach_no_report_of_a_viewer_who_may_not_see_it(with_hidden, viewer):
    ws = load_workspace(with_hidden).workspace
    assert ws is not None
    policy = Policy(ws)
    seen = parse_viewer(ws, viewer)
    hidden = ws.projects["acme-website"].task(HIDDEN_ID)
    assert hidden is not None and not policy.can_see(seen, hidden)
    for kind in reports.REPORT_KINDS:
        for fmt in reports.FORMATS:
            code, out, _ = run(with_hidden, "report", kind, "--as", viewer, "--format", fmt)
            assert code == 0
            assert HIDDEN_ID not in out and HIDDEN_TITLE not in out, (kind, fmt)
    # The hours are those of entries the policy shows this viewer: nothing from the hidden task.
    expected = sum(e.hours for p in ws.projects.values() for e in p.time_entries if policy.can_see(seen, e))
    rows = report_json(with_hidden, "people", "--as", viewer)["rows"]
    assert sum(row["hours"] for row in rows) == pytest.approx(expected)


def test_a_manager_sees_the_hidden_task_and_its_time(with_hidden):
    data = report_json(with_hidden, "scope", "--as", "role:admin")
    assert HIDDEN_ID in [row["task"] for row in data["rows"]]
    people = report_json(with_hidden, "people", "--as", "ana")
    assert "cost" in keys(people)


# ------------------------------------------------------------------------------ same figures as the sites


@pytest.fixture(scope="module")
def sample_sites(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = load_workspace(SAMPLE).workspace
    assert ws is not None
    out = tmp_path_factory.mktemp("sites")
    build_sites(ws, out, root=SAMPLE, epoch=0)
    return out


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def as_viewer(name: str) -> str:
    ws = load_workspace(SAMPLE).workspace
    assert ws is not None
    audience = {a.name: a for a in default_audiences(ws)}[name]
    return reports.viewer_name(audience)


@pytest.mark.parametrize("audience", ["acme", "internal", "nina", "raj"])
@pytest.mark.parametrize(("kind", "download"), [("people", "time-by-person"), ("time", "time-by-month")])
def test_report_figures_equal_the_sites_csv_downloads(sample_sites, audience, kind, download):
    code, out, err = run(SAMPLE, "report", kind, "--as", as_viewer(audience), "--format", "csv")
    assert code == 0, err
    ours = csv_rows(out)
    for project_dir in sorted((sample_sites / audience / "projects").iterdir()):
        site = csv_rows((project_dir / "reports" / f"{download}.csv").read_text(encoding="utf-8"))
        header = site[0]
        assert ours[0][1:] == header
        mine = [row[1:] for row in ours[1:] if row[0] == project_dir.name]
        assert mine == site[1:], (audience, project_dir.name)


def test_report_viewer_names_match_the_sites_audiences():
    assert as_viewer("internal") == "role:admin"
    assert as_viewer("acme") == "team:acme"
    assert as_viewer("nina") == "person:nina"


# ------------------------------------------------------------------------------ the viewer


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_without_as_the_viewer_is_the_person_of_the_git_identity(tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("site"))
    git(root, "init", "--quiet")
    git(root, "config", "user.email", "Karen.Walsh@example.org")
    data = report_json(root, "budget")
    assert data["viewer"] == "person:karen"
    assert "currency" not in data


def test_without_as_an_unknown_git_identity_is_refused(tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("site"))
    git(root, "init", "--quiet")
    git(root, "config", "user.email", "someone@elsewhere.example")
    code, out, err = run(root, "report", "people")
    assert code == 2 and out == ""
    assert "'someone@elsewhere.example', which is no person's email" in err


def test_without_as_or_git_identity_the_report_is_refused_rather_than_shown_as_a_manager(tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("site"))
    code, out, err = run(root, "report", "budget")
    assert code == 2 and out == ""
    assert "who is viewing? give --as VIEWER" in err


def test_an_unknown_viewer_is_a_usage_error():
    code, _, err = run(SAMPLE, "report", "people", "--as", "nobody")
    assert code == 2
    assert "--as nobody: 'nobody' is neither a known person nor a known team" in err


def test_verbose_names_the_viewer_on_standard_error():
    result = CliRunner().invoke(main, ["-C", str(SAMPLE), "-v", "report", "people", "--as", "raj"])
    assert result.exit_code == 0
    assert "viewer: person raj (Raj Mehta, guest of team freelancers)" in result.stderr


# ------------------------------------------------------------------------------ project and period


def test_project_filter_keeps_one_project():
    data = report_json(SAMPLE, "time", "--as", "role:admin", "--project", "acme-app")
    assert {row["project"] for row in data["rows"]} == {"acme-app"}


def test_a_project_the_viewer_may_not_see_is_answered_like_one_that_does_not_exist():
    code, _, hidden = run(SAMPLE, "report", "people", "--as", "raj", "--project", "acme-website")
    assert code == 2
    code, _, missing = run(SAMPLE, "report", "people", "--as", "raj", "--project", "no-such")
    assert code == 2
    assert hidden.replace("acme-website", "X") == missing.replace("no-such", "X")


def test_a_period_keeps_only_time_and_scope_changes_inside_it():
    data = report_json(SAMPLE, "time", "--as", "role:admin", "--from", "2026-02-01", "--to", "2026-02-28")
    assert data["from"] == "2026-02-01" and data["to"] == "2026-02-28"
    assert {row["month"] for row in data["rows"]} == {"2026-02"}
    scope = report_json(SAMPLE, "scope", "--as", "role:admin", "--from", "2026-02-01", "--to", "2026-02-28")
    created = [row["created"] for row in scope["rows"]]
    assert created and all("2026-02-01" <= day <= "2026-02-28" for day in created)


def test_a_period_that_ends_before_it_starts_is_a_usage_error():
    code, _, err = run(SAMPLE, "report", "time", "--as", "karen", "--from", "2026-03-01", "--to", "2026-02-01")
    assert code == 2
    assert "--from 2026-03-01 is after --to 2026-02-01" in err


def test_a_malformed_date_is_a_usage_error():
    code, _, err = run(SAMPLE, "report", "time", "--as", "karen", "--from", "2026-13-01")
    assert code == 2
    assert "Invalid value for '--from'" in err


# ------------------------------------------------------------------------------ output


def test_an_invalid_workspace_is_refused_with_its_findings(tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("site"))
    task = root / "projects/acme-website/tasks/WEB-23.md"
    task.write_text(task.read_text(encoding="utf-8").replace("status: done", "status: finished"), encoding="utf-8")
    code, out, err = run(root, "report", "people", "--as", "role:admin")
    assert code == 1 and out == ""
    assert "projects/acme-website/tasks/WEB-23.md:" in err


def test_csv_cells_cannot_run_as_spreadsheet_formulas(tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("site"))
    person = root / "people/ana.yaml"
    person.write_text(person.read_text(encoding="utf-8").replace("name: Ana Costa", 'name: "=HYPERLINK(1)"'))
    code, out, _ = run(root, "report", "people", "--as", "role:admin", "--format", "csv")
    assert code == 0
    assert "'=HYPERLINK(1)" in out


def test_table_headings_are_bold_on_a_colour_terminal_and_plain_with_no_color(monkeypatch):
    _, coloured, _ = run(SAMPLE, "report", "budget", "--as", "role:admin", color=True)
    assert "\x1b[1m" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    _, plain, _ = run(SAMPLE, "report", "budget", "--as", "role:admin", color=True)
    assert "\x1b[" not in plain
    assert "Budget against actual, as seen by Internal, role:admin" in plain


def test_an_empty_report_says_so():
    code, out, _ = run(SAMPLE, "report", "people", "--as", "acme")
    assert code == 0
    assert "(nothing this viewer may see)" in out


def test_the_command_offers_exactly_the_library_reports_and_formats():
    assert cli_report.KINDS == reports.REPORT_KINDS
    assert cli_report.FORMATS == reports.FORMATS


def test_reports_use_only_the_public_names_of_the_site_module():
    # The figures come from the site's own aggregation, through its public API (site.SiteFigures).
    tree = ast.parse(Path(reports.__file__).read_text(encoding="utf-8"))
    imported = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "site" and node.level == 1
        for alias in node.names
    ]
    assert imported and not [name for name in imported if name.startswith("_")]
