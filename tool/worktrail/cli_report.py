"""`worktrail report`: the command-line edge of `reports` (parse, call, print, exit)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click

from .cli_common import fail_usage, fail_with_findings

if TYPE_CHECKING:
    from .cli import Context

# As reports.REPORT_KINDS and reports.FORMATS (not imported: the module loads the site code).
KINDS = ("people", "budget", "scope", "time")
FORMATS = ("table", "csv", "json")

_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command()
@click.argument("kind", type=click.Choice(KINDS), metavar="people|budget|scope|time")
@click.option("--project", metavar="PROJECT", help="Only this project (an id under projects/).")
@click.option(
    "--from", "start", type=_DATE, metavar="DATE", help="Only time, expenses and scope changes on or after DATE."
)
@click.option(
    "--to", "end", type=_DATE, metavar="DATE", help="Only time, expenses and scope changes on or before DATE."
)
@click.option(
    "--as",
    "viewer",
    metavar="VIEWER",
    help="Whose view: a person or team id, person:ID, team:ID or role:admin. "
    "Default: the person whose emails include `git config user.email`.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for people, csv (the main table) for spreadsheets, json for tools.",
)
@click.pass_obj
def report(
    obj: Context,
    kind: str,
    project: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    viewer: str | None,
    fmt: str,
) -> None:
    """Print the figures of the sites for one viewer: only what that viewer may see.

    \b
    people  hours (and cost, when the viewer sees costs) by person, per project
    time    hours (and cost) by month, per project
    budget  budget against actual: hours, and money when the viewer sees it
    scope   tasks added after the baseline, and the approved change requests

    Without --as, the viewer is the person whose emails include `git config user.email`;
    with no such person the command refuses (exit 2) rather than show more than you may see.

    \b
    Example:
      worktrail -C sample-workspace report people --as karen
      worktrail report budget --project acme-website --as role:admin --format json
      worktrail report time --from 2026-02-01 --to 2026-02-28 --format csv
    """
    from .policy import describe_viewer, viewer_for_audience
    from .reports import ReportError, build_report, git_email, render, viewer_audience
    from .validate import validate_workspace

    root = obj.workspace()
    checked, result = validate_workspace(root)
    if checked.errors or result.workspace is None:
        fail_with_findings(
            root, checked.findings, checked.files, "the workspace has errors; fix them first (`worktrail validate`)"
        )
    ws = result.workspace
    try:
        audience = viewer_audience(ws, viewer, None if viewer is not None else git_email(root))
        obj.detail(f"viewer: {describe_viewer(ws, viewer_for_audience(audience))}")
        made = build_report(
            ws,
            kind,
            audience,
            project=project,
            start=start.date() if start else None,
            end=end.date() if end else None,
        )
    except ReportError as exc:
        fail_usage(str(exc))
    click.echo(render(made, fmt, lambda text: click.style(text, bold=True)), nl=False)
