"""Terminal reports (`worktrail report`): the sites' figures for one viewer, as a table, CSV or JSON.

A report is computed from the viewer's redacted view (`redact.redact`) by the site's own aggregation
(`site.SiteFigures`), so it shows the figures that viewer's site shows and nothing the viewer may not
see: no cost column without `sees.costs`, no time of hidden tasks, no hidden task at all.
`--from`/`--to` narrow the view further (never widen it): time entries and expenses dated in the
period; for `scope`, tasks created in the period and change requests decided in it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from . import model as m
from .gitutil import GitError, run_git
from .policy import PersonViewer, Policy, PolicyError, RoleViewer, TeamViewer, Viewer, parse_viewer
from .redact import View, redact
from .site import SiteFigures, csv_bytes, csv_number
from .writes import person_for_email

REPORT_KINDS: Final = ("people", "budget", "scope", "time")
FORMATS: Final = ("table", "csv", "json")
_TITLES: Final = {
    "people": "Time by person",
    "time": "Time by month",
    "budget": "Budget against actual",
    "scope": "Scope changes against the baseline",
}

Cell = str | float | int | bool | dt.date | None
Kind = Literal["text", "number", "count", "date", "flag"]


class ReportError(Exception):
    """The report cannot be made as asked (unknown viewer or project, no viewer, empty period)."""


@dataclass(frozen=True)
class Column:
    """A column: `key` in CSV and JSON, `label` in the table, `kind` for formatting and alignment."""

    key: str
    label: str
    kind: Kind = "text"


@dataclass(frozen=True)
class Table:
    """One table of a report; `name` is its key in JSON (`rows`, `totals` or `summary`)."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True)
class Report:
    """A report for one viewer: the main table first, then totals or a summary."""

    kind: str
    viewer: str
    label: str
    start: dt.date | None
    end: dt.date | None
    currency: str | None
    tables: tuple[Table, ...]


# ------------------------------------------------------------------------------------- the viewer


def git_email(root: Path) -> str | None:
    """`git config user.email` as seen from `root` (through the safe git runner), or None."""
    try:
        raw = run_git(root, ["config", "--get", "user.email"], ok_codes=(0, 1))
    except GitError:
        return None
    return raw.decode("utf-8", "replace").strip() or None


def viewer_audience(ws: m.Workspace, text: str | None, email: str | None) -> m.Audience:
    """The audience a report is made for: `--as` when given, else the person whose emails include `email`.

    Without `--as`, only a Git identity that maps to a person is accepted: a report never falls
    back to a wider viewer (such as role:admin) by default.
    """
    if text is not None:
        try:
            viewer = parse_viewer(ws, text)
        except PolicyError as exc:
            raise ReportError(f"--as {text}: {exc}") from None
        return _audience(viewer)
    if email is None:
        raise ReportError(
            "who is viewing? give --as VIEWER (a person or team id, person:ID, team:ID or role:admin), "
            "or set `git config user.email` to one of a person's emails"
        )
    person = person_for_email(ws, email)
    if person is None:
        raise ReportError(
            f"git config user.email is {email!r}, which is no person's email (emails: in people/*.yaml); "
            "give --as VIEWER"
        )
    return m.Audience("report", person=person.id)


def _audience(viewer: Viewer) -> m.Audience:
    if isinstance(viewer, PersonViewer):
        return m.Audience("report", person=viewer.person)
    if isinstance(viewer, TeamViewer):
        return m.Audience("report", team=viewer.team)
    assert isinstance(viewer, RoleViewer)
    return m.Audience("report", role=viewer.role)


def viewer_name(audience: m.Audience) -> str:
    """The viewer as `--as` writes it: person:ID, team:ID or role:ROLE."""
    if audience.person is not None:
        return f"person:{audience.person}"
    if audience.team is not None:
        return f"team:{audience.team}"
    return f"role:{audience.role}"


# ------------------------------------------------------------------------------------- the figures


def build_report(
    ws: m.Workspace,
    kind: str,
    audience: m.Audience,
    *,
    project: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Report:
    """The `kind` report of what `audience` may see, optionally for one project and a period."""
    if kind not in REPORT_KINDS:
        raise ReportError(f"unknown report {kind!r}; use one of: {', '.join(REPORT_KINDS)}")
    if start is not None and end is not None and start > end:
        raise ReportError(f"--from {start.isoformat()} is after --to {end.isoformat()}")
    view = redact(ws, audience, Policy(ws))
    projects = view.workspace.projects
    if project is not None and project not in projects:
        # The same answer for a project that does not exist and one the viewer may not see.
        known = ", ".join(sorted(projects)) or "none"
        raise ReportError(f"no project {project!r} among the projects {view.label} sees (they are: {known})")
    within = _Period(start, end)
    kept = {pid: within.narrow(p) for pid, p in projects.items() if project is None or pid == project}
    view = dataclasses.replace(view, workspace=dataclasses.replace(view.workspace, projects=kept))
    site = SiteFigures(view)
    make: dict[str, Callable[[SiteFigures, View, _Period], tuple[Table, ...]]] = {
        "people": _people,
        "time": _time,
        "budget": _budget,
        "scope": _scope,
    }
    return Report(
        kind=kind,
        viewer=viewer_name(audience),
        label=view.label,
        start=start,
        end=end,
        currency=view.workspace.settings.currency if view.show_costs else None,
        tables=make[kind](site, view, within),
    )


@dataclass(frozen=True)
class _Period:
    start: dt.date | None
    end: dt.date | None

    def holds(self, day: dt.date | None) -> bool:
        if self.start is None and self.end is None:
            return True
        if day is None:
            return False
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def narrow(self, project: m.Project) -> m.Project:
        return dataclasses.replace(
            project,
            time_entries=tuple(e for e in project.time_entries if self.holds(e.date)),
            expenses=tuple(x for x in project.expenses if self.holds(x.date)),
        )


def _cost_columns(view: View, label: str = "cost") -> tuple[Column, ...]:
    return (Column("cost", label, "number"),) if view.show_costs else ()


def _with_cost(view: View, cells: tuple[Cell, ...], cost: float | None) -> tuple[Cell, ...]:
    return (*cells, cost) if view.show_costs else cells


def _totals(site: SiteFigures, view: View) -> Table:
    rows = []
    for project in site.projects:
        figures = site.figures(project)
        if figures.entries:
            rows.append(_with_cost(view, (project.id, figures.total_hours), figures.time_cost))
    columns = (Column("project", "project"), Column("hours", "hours", "number"), *_cost_columns(view))
    return Table("totals", "Totals", columns, tuple(rows))


def _people(site: SiteFigures, view: View, _within: _Period) -> tuple[Table, ...]:
    rows = []
    for project in site.projects:
        for person, hours, cost in site.figures(project).by_person():
            rows.append(_with_cost(view, (project.id, person, site.name(person), hours), cost))
    columns = (
        Column("project", "project"),
        Column("person", "person"),
        Column("name", "name"),
        Column("hours", "hours", "number"),
        *_cost_columns(view),
    )
    return Table("rows", _TITLES["people"], columns, tuple(rows)), _totals(site, view)


def _time(site: SiteFigures, view: View, _within: _Period) -> tuple[Table, ...]:
    rows = []
    for project in site.projects:
        for month, hours, cost in site.figures(project).by_month():
            rows.append(_with_cost(view, (project.id, month, hours), cost))
    columns = (
        Column("project", "project"),
        Column("month", "month"),
        Column("hours", "hours", "number"),
        *_cost_columns(view),
    )
    return Table("rows", _TITLES["time"], columns, tuple(rows)), _totals(site, view)


def _budget(site: SiteFigures, view: View, _within: _Period) -> tuple[Table, ...]:
    rows = []
    for project in site.projects:
        for line in site.budget(project):
            measure = "hours" if line.kind == "hours" else f"money ({view.workspace.settings.currency})"
            rows.append((project.id, measure, line.planned, line.actual, line.remaining))
    columns = (
        Column("project", "project"),
        Column("measure", "measure"),
        Column("planned", "planned", "number"),
        Column("actual", "actual", "number"),
        Column("remaining", "remaining", "number"),
    )
    return (Table("rows", _TITLES["budget"], columns, tuple(rows)),)


def _scope(site: SiteFigures, view: View, within: _Period) -> tuple[Table, ...]:
    rows: list[tuple[Cell, ...]] = []
    summary: list[tuple[Cell, ...]] = []
    for project in site.projects:
        page = site.scope(project)
        for added in page.added:
            task = project.task(added.id)
            if within.holds(added.created) and task is not None:
                rows.append((project.id, added.id, added.title, added.created, task.change_request, added.approved))
        # Totals of the change requests decided in the period, by the site's own sums.
        decided = dataclasses.replace(
            project,
            changes=tuple(cr for cr in project.changes if within.holds(cr.decision.on if cr.decision else None)),
        )
        totals = site.scope(decided)
        approved = sum(1 for row in totals.changes if row.status in ("approved", "implemented"))
        summary.append(
            _with_cost(
                view,
                (project.id, page.baseline, approved, totals.approved_hours, totals.approved_shift_days),
                totals.approved_cost,
            )
        )
    columns = (
        Column("project", "project"),
        Column("task", "task"),
        Column("title", "title"),
        Column("created", "created", "date"),
        Column("change_request", "change request"),
        Column("approved", "approved", "flag"),
    )
    summary_columns = (
        Column("project", "project"),
        Column("baseline", "baseline", "date"),
        Column("approved_changes", "approved changes", "count"),
        Column("approved_hours", "hours", "number"),
        Column("due_shift_days", "due shift (days)", "count"),
        *_cost_columns(view, "approved cost"),
    )
    return (
        Table("rows", "Tasks added after the baseline", columns, tuple(rows)),
        Table("summary", "Approved change requests", summary_columns, tuple(summary)),
    )


# ------------------------------------------------------------------------------------- rendering


def _text(cell: Cell, kind: Kind) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, int | float):
        return csv_number(float(cell))
    return str(cell)


def _json_value(cell: Cell, kind: Kind) -> object:
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if kind == "number" and isinstance(cell, int | float) and not isinstance(cell, bool):
        return round(float(cell), 2)
    return cell


def render_json(report: Report) -> str:
    """One JSON object: the report, its viewer and period, and one list of records per table."""
    data: dict[str, object] = {
        "report": report.kind,
        "viewer": report.viewer,
        "label": report.label,
        "from": report.start.isoformat() if report.start else None,
        "to": report.end.isoformat() if report.end else None,
    }
    if report.currency is not None:
        data["currency"] = report.currency
    for table in report.tables:
        data[table.name] = [
            {column.key: _json_value(cell, column.kind) for column, cell in zip(table.columns, row, strict=True)}
            for row in table.rows
        ]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_csv(report: Report) -> str:
    """The main table as CSV, encoded as the sites' CSV downloads (formula-safe cells)."""
    table = report.tables[0]
    rows = [[column.key for column in table.columns]]
    rows += [[_text(cell, column.kind) for column, cell in zip(table.columns, row, strict=True)] for row in table.rows]
    return csv_bytes(rows).decode("utf-8")


def render_table(report: Report, style: Callable[[str], str] = lambda text: text) -> str:
    """Aligned plain-text tables for a terminal; `style` decorates titles and headers (e.g. bold)."""
    period = ""
    if report.start or report.end:
        period = (
            f", {report.start.isoformat() if report.start else '…'} to {report.end.isoformat() if report.end else '…'}"
        )
    lines = [style(f"{_TITLES[report.kind]}, as seen by {report.label}, {report.viewer}{period}")]
    if report.currency is not None:
        lines.append(f"money in {report.currency}")
    for table in report.tables:
        if not table.rows and table is not report.tables[0]:
            continue
        lines.append("")
        if table.title != _TITLES[report.kind]:
            lines.append(style(table.title))
        if not table.rows:
            lines.append("(nothing this viewer may see)")
            continue
        cells = [
            [_text(cell, column.kind) for column, cell in zip(table.columns, row, strict=True)] for row in table.rows
        ]
        widths = [max(len(column.label), *(len(row[i]) for row in cells)) for i, column in enumerate(table.columns)]
        lines.append(style(_line((c.label for c in table.columns), table.columns, widths)))
        lines.append(_line(("-" * w for w in widths), table.columns, widths))
        lines.extend(_line(row, table.columns, widths) for row in cells)
    return "\n".join(lines) + "\n"


def _line(cells: Iterable[str], columns: Sequence[Column], widths: Sequence[int]) -> str:
    parts = [
        cell.rjust(width) if column.kind in ("number", "count") else cell.ljust(width)
        for cell, column, width in zip(cells, columns, widths, strict=True)
    ]
    return "  ".join(parts).rstrip()


def render(report: Report, fmt: str, style: Callable[[str], str] = lambda text: text) -> str:
    """The report in one of FORMATS."""
    if fmt == "json":
        return render_json(report)
    if fmt == "csv":
        return render_csv(report)
    return render_table(report, style)
