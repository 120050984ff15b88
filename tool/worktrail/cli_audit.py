"""`worktrail audit`: the command-line edge of `audit.run_audit` (parse, call, report, exit)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .cli_common import fail_usage, format_option

if TYPE_CHECKING:
    from .cli import Context


@click.command()
@click.argument("rev_range", metavar="[REV-RANGE]", required=False)
@format_option("text for people, json for tools (one object), github for workflow annotations.")
@click.option(
    "--require-signed",
    is_flag=True,
    help="Also demand a good SSH signature by the author from a key in --allowed-signers.",
)
@click.option(
    "--allowed-signers",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="An ssh allowed-signers file kept OUTSIDE the repository (used with --require-signed).",
)
@click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    help="Keep each commit's verdicts of a whole-history audit and judge only new commits next time "
    "(cache: $WORKTRAIL_CACHE_DIR or ~/.cache/worktrail); same result.",
)
@click.pass_obj
def audit(
    obj: Context, rev_range: str | None, fmt: str, require_signed: bool, allowed_signers: Path | None, cache: bool
) -> None:
    """Check the Git history against the write rules: who changed what, as the rules stood.

    Every commit after the one that added worktrail.yaml (or in BASE..TIP, after BASE) is
    checked: its author's email must be a person's, and each change must be allowed by the
    rules of the parent commit. A rejected change does not count for later commits. Exits 1
    on any violation (each names the full commit id, author, file and rule), 0 when clean.

    \b
    Example:
      worktrail -C sample-workspace audit
      worktrail audit origin/main..HEAD --format github
      worktrail audit --require-signed --allowed-signers ~/.config/worktrail/signers
    """
    from .audit import AuditUsageError, render, run_audit

    root = obj.workspace()
    try:
        result = run_audit(
            root, rev_range, require_signed=require_signed, allowed_signers=allowed_signers, use_cache=cache
        )
    except AuditUsageError as exc:
        fail_usage(str(exc))
    click.echo(render(fmt, result), nl=False)
    if result.failure and fmt != "text":
        click.echo(f"worktrail: error: cannot audit: {result.failure}", err=True)
    sys.exit(result.exit_code)
