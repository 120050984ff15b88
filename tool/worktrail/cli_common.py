"""What the command modules share: exit codes, error and warning lines, the findings `--format` option.

Click only: the library code a helper needs is imported inside it, so `worktrail --help` stays fast.
Every cli*.py may import this module (it imports none of them).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from .findings import Finding

EXIT_FINDINGS = 1
EXIT_USAGE = 2

# As report.FORMATS, which audit.render takes too (not imported: the commands import their renderers lazily).
FINDINGS_FORMATS = ("text", "json", "github")
FORMAT_HELP = "text for people, json for tools, github for workflow annotations."

F = TypeVar("F", bound=Callable[..., Any])


def format_option(help_text: str = FORMAT_HELP) -> Callable[[F], F]:
    """`--format text|json|github` (parameter `fmt`, default text) of the commands that report findings."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FINDINGS_FORMATS),
        default="text",
        show_default=True,
        help=help_text,
    )


def fail(message: str, code: int = EXIT_FINDINGS) -> NoReturn:
    """`worktrail: error: MESSAGE` on standard error, then exit with `code` (default 1)."""
    click.echo(f"worktrail: error: {message}", err=True)
    sys.exit(code)


def fail_usage(message: str) -> NoReturn:
    """An error line, then exit 2: the command line or its surroundings are wrong."""
    fail(message, EXIT_USAGE)


def warn(message: str) -> None:
    """`worktrail: warning: MESSAGE` on standard error."""
    click.echo(f"worktrail: warning: {message}", err=True)


def echo_findings(root: Path, findings: Iterable[Finding], files: int) -> None:
    """Findings as `validate` prints them in text, but on standard error (the command's output is something else)."""
    from .report import render

    click.echo(render("text", root, findings, files), err=True, nl=False)


def fail_with_findings(root: Path, findings: Iterable[Finding], files: int, message: str) -> NoReturn:
    """The findings on standard error, then the error line; exit 1."""
    echo_findings(root, findings, files)
    fail(message)


@contextmanager
def build_errors() -> Iterator[None]:
    """Exit on the site builder's refusals: an unknown audience exits 2 naming the known ones, other BuildErrors 1."""
    from .buildbase import BuildError, UnknownAudienceError

    try:
        yield
    except UnknownAudienceError as exc:
        click.echo(f"worktrail: error: unknown audience: {', '.join(exc.unknown)}", err=True)
        click.echo(f"known audiences: {', '.join(exc.known)}", err=True)
        sys.exit(EXIT_USAGE)
    except BuildError as exc:
        fail(str(exc))
