"""The `worktrail` command line: parses arguments and calls library code. Click stays here.

Exit codes: 0 clean, 1 findings or failure, 2 usage error (bad options, no workspace found).
Heavy modules are imported inside each command so `worktrail --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from . import __version__

EXIT_FINDINGS = 1
EXIT_USAGE = 2


class Context:
    """What the group's options say, handed to every command."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def workspace(self) -> Path:
        """The workspace folder, from -C or by searching upwards; a usage error when none is found."""
        from .load import WORKSPACE_FILE, WorkspaceNotFound, find_workspace

        if self.directory is not None:
            if not (self.directory / WORKSPACE_FILE).is_file():
                fail_usage(f"{self.directory} is not a workspace: it has no {WORKSPACE_FILE} (try `worktrail init`)")
            return self.directory.resolve()
        try:
            return find_workspace(Path.cwd())
        except WorkspaceNotFound as exc:
            fail_usage(f"{exc}; use -C DIR or run `worktrail init DIR`")


def fail_usage(message: str) -> NoReturn:
    click.echo(f"worktrail: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run in this workspace folder instead of searching upwards from the current folder.",
)
@click.version_option(__version__, "--version", prog_name="worktrail")
@click.pass_context
def main(ctx: click.Context, directory: Path | None) -> None:
    """Worktrail: projects, tasks, change requests, time and costs as files in Git.

    Validates a workspace, explains who sees what, and (see the README) builds one
    redacted site per audience.

    \b
    Examples:
      worktrail -C sample-workspace validate
      worktrail explain WEB-3 --for tom
    """
    ctx.obj = Context(directory)


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, github for workflow annotations.",
)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.pass_obj
def validate(obj: Context, fmt: str, strict: bool) -> None:
    """Check every file against its schema and the cross-file rules.

    Reports every problem as path:line:column; exits 0 when clean, 1 on errors
    (or warnings with --strict).

    \b
    Example:
      worktrail -C sample-workspace validate --format github
    """
    from .report import render
    from .validate import validate_workspace

    root = obj.workspace()
    report, _ = validate_workspace(root)
    click.echo(render(fmt, root, report.findings, report.files), nl=False)
    sys.exit(report.exit_code(strict))


@main.command()
@click.argument("thing")
@click.option(
    "--for", "viewer", required=True, metavar="VIEWER", help="A person or team id, or person:ID, team:ID, role:admin."
)
@click.pass_obj
def explain(obj: Context, thing: str, viewer: str) -> None:
    """Say whether VIEWER sees THING, and which rule decides.

    \b
    THING is one of:
      WEB-12            a task              WEB-12/c1          a comment of it
      CR-3              a change request    (PROJECT/CR-3 when several projects have one)
      meeting:ID        meeting minutes     doc:PATH           a document (PATH under files/)
      feedback:ID       feedback            project:ID         a project
      person:ID[.FIELD] a person, or one field: name, title, emails, phone, rate
      team:ID           a team's settings   settings           the workspace settings
    or the path of a record file, like projects/web/tasks/WEB-12.md.

    \b
    Example:
      worktrail -C sample-workspace explain WEB-3 --for tom
    """
    from .explain import ExplainError, explain_thing
    from .validate import validate_workspace

    root = obj.workspace()
    report, result = validate_workspace(root)
    if report.errors or result.workspace is None:
        click.echo(
            f"worktrail: error: the workspace has {report.errors} error(s); run `worktrail validate` and fix them first",
            err=True,
        )
        sys.exit(EXIT_FINDINGS)
    try:
        text = explain_thing(result.workspace, thing, viewer)
    except ExplainError as exc:
        click.echo(f"worktrail: error: {exc}", err=True)
        sys.exit(EXIT_FINDINGS)
    click.echo(text)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default="My workspace", show_default=True, help="Workspace name.")
def init(directory: Path, name: str) -> None:
    """Write a minimal valid workspace into DIRECTORY (new or empty).

    \b
    Example:
      worktrail init my-work && worktrail -C my-work validate
    """
    from .scaffold import ScaffoldError, write_minimal_workspace

    try:
        written = write_minimal_workspace(directory, name)
    except ScaffoldError as exc:
        click.echo(f"worktrail: error: {exc}", err=True)
        sys.exit(EXIT_FINDINGS)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"next: edit {directory}/people/*.yaml, then run `worktrail -C {directory} validate`")


# Commands that live in their own modules (each keeps its heavy imports inside the command).
# One line per module; keep this block sorted.
from .cli_audit import audit as _audit  # noqa: E402
from .cli_build import build as _build  # noqa: E402
from .cli_write import comment, cr, example, expense, feedback, meeting, milestone, task, time_group  # noqa: E402

for _write_command in (comment, cr, example, expense, feedback, meeting, milestone, task, time_group):
    main.add_command(_write_command)

main.add_command(_audit)
main.add_command(_build)
