"""The `worktrail` command line: parses arguments and calls library code. Click stays here.

Exit codes: 0 clean, 1 findings or failure, 2 usage error (bad options, no workspace found).
Heavy modules are imported inside each command so `worktrail --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from . import __version__
from .cli_common import fail, fail_usage, format_option


class Context:
    """What the group's options say, handed to every command."""

    def __init__(self, directory: Path | None, quiet: bool = False, verbose: bool = False) -> None:
        self.directory = directory
        self.quiet = quiet
        self.verbose = verbose

    def info(self, message: str) -> None:
        """An informational line (what was written, where to look next): silenced by --quiet."""
        if not self.quiet:
            click.echo(message)

    def detail(self, message: str) -> None:
        """A line of detail on standard error, shown only with --verbose."""
        if self.verbose:
            click.echo(message, err=True)

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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run in this workspace folder instead of searching upwards from the current folder.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only results and errors, no informational lines.")
@click.option("-v", "--verbose", is_flag=True, help="Print more detail (on standard error).")
@click.version_option(__version__, "--version", prog_name="worktrail")
@click.pass_context
def main(ctx: click.Context, directory: Path | None, quiet: bool, verbose: bool) -> None:
    """Worktrail: projects, tasks, change requests, time and costs as files in Git.

    Validates a workspace, explains who sees what, and (see the README) builds one
    redacted site per audience. NO_COLOR in the environment turns colours off.

    \b
    Examples:
      worktrail -C sample-workspace validate
      worktrail explain WEB-3 --for tom

    \b
    Shell completion (bash; zsh_source and fish_source for other shells):
      eval "$(_WORKTRAIL_COMPLETE=bash_source worktrail)"
    """
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose exclude each other")
    # https://no-color.org: any non-empty NO_COLOR turns colours off; sub-commands inherit this.
    if os.environ.get("NO_COLOR"):
        ctx.color = False
    ctx.obj = Context(directory, quiet=quiet, verbose=verbose)


@main.command()
@format_option()
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    help="Reuse parses of unchanged files (cache: $WORKTRAIL_CACHE_DIR or ~/.cache/worktrail); same report.",
)
@click.pass_obj
def validate(obj: Context, fmt: str, strict: bool, cache: bool) -> None:
    """Check every file against its schema and the cross-file rules.

    Reports every problem as path:line:column; exits 0 when clean, 1 on errors
    (or warnings with --strict).

    \b
    Example:
      worktrail -C sample-workspace validate --format github
    """
    from .buildcache import BuildCache, validate_cached
    from .report import render

    root = obj.workspace()
    report, _ = validate_cached(root, BuildCache(root) if cache else None, need_model=False)
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
        fail(f"the workspace has {report.errors} error(s); run `worktrail validate` and fix them first")
    try:
        text = explain_thing(result.workspace, thing, viewer)
    except ExplainError as exc:
        fail(str(exc))
    click.echo(text)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default="My workspace", show_default=True, help="Workspace name.")
@click.option(
    "--ci",
    type=click.Choice(["github", "gitlab"]),
    help="Also write a CI workflow: .github/workflows/worktrail.yml or .gitlab-ci.yml.",
)
@click.pass_obj
def init(obj: Context, directory: Path, name: str, ci: str | None) -> None:
    """Write a minimal valid workspace into DIRECTORY (new or empty).

    With --ci, also write a CI workflow that validates and audits pull (merge) requests
    and, on the main branch, builds each audience's site and publishes it to its own
    location. With --ci on an existing workspace, only the CI file is written.

    \b
    Example:
      worktrail init my-work --ci github && worktrail -C my-work validate
      worktrail init . --ci gitlab
    """
    from .scaffold import ScaffoldError, write_ci_file, write_minimal_workspace

    next_step = f"next: edit {directory}/people/*.yaml, then run `worktrail -C {directory} validate`"
    try:
        if ci is not None and (directory / "worktrail.yaml").is_file():
            written = [write_ci_file(directory, ci)]
            next_step = "next: read the comments at its top to give each audience its own protected location"
        else:
            written = write_minimal_workspace(directory, name, ci)
    except ScaffoldError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write into {directory}: {exc}")
    for path in written:
        obj.info(f"wrote {path}")
    obj.info(next_step)


# Commands that live in their own modules (each keeps its heavy imports inside the command).
# One line per module; keep this block sorted.
from .cli_audit import audit as _audit  # noqa: E402
from .cli_build import build as _build  # noqa: E402
from .cli_report import report as _report  # noqa: E402
from .cli_schema import schema as _schema  # noqa: E402
from .cli_serve import serve as _serve  # noqa: E402
from .cli_write import comment, cr, example, expense, feedback, meeting, milestone, task, time_group  # noqa: E402

for _write_command in (comment, cr, example, expense, feedback, meeting, milestone, task, time_group):
    main.add_command(_write_command)

main.add_command(_audit)
main.add_command(_build)
main.add_command(_report)
main.add_command(_schema)
main.add_command(_serve)


def entry() -> None:
    """The `worktrail` program: `main`, then an exit that leaves the heap to the operating system.

    A large audit or build ends with hundreds of thousands of objects in caches; tearing the
    interpreter down freed them one by one (~0.5 s at 10,000 tasks), and so did a command's return
    for what it loaded, unless it keeps it (`gcpause.keep_until_exit`). Every file a command writes
    is closed (and renamed into place) before it returns, and its workers and git processes have
    ended: only the standard streams need flushing, done here.
    """
    from .gcpause import end_without_teardown

    end_without_teardown()
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - click's main always exits
        code = 0
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    status = code if isinstance(code, int) else 0
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        # As Python does when it cannot flush standard output at exit (a closed pipe).
        status = 120
    os._exit(status)
