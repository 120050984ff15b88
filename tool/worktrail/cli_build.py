"""`worktrail build`: the command-line edge of `site.build_sites` (parse, call, report, exit)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .cli_common import build_errors, echo_findings, fail, fail_with_findings, warn

if TYPE_CHECKING:
    from .cli import Context


@click.command()
@click.option(
    "--audience",
    "audiences",
    multiple=True,
    metavar="NAME",
    help="Build only this audience (repeatable). Default: every audience of the workspace.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder that receives one sub-folder per audience. Default: site/ in the workspace.",
)
@click.option(
    "--trail/--no-trail",
    default=True,
    show_default=True,
    help="Read the Git history for each site's trail, history sections and feed (skipped without Git).",
)
@click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    help="Reuse the work of earlier builds (cache: $WORKTRAIL_CACHE_DIR or ~/.cache/worktrail); same output.",
)
@click.pass_obj
def build(obj: Context, audiences: tuple[str, ...], out: Path | None, trail: bool, cache: bool) -> None:
    """Build one static site per audience, each showing only what that audience may see.

    Validates first (errors: exit 1, nothing written). Each site goes to OUT/<audience>/,
    complete on its own (open its index.html from disk, or publish the folder). The build
    date is SOURCE_DATE_EPOCH when set, else today (UTC): same input, same bytes.

    One build at a time per OUT: another build into the same folder exits 1 at once,
    naming the running one. A build that is interrupted leaves every previous site
    whole; the next build removes what it left behind.

    \b
    Example:
      worktrail -C sample-workspace build
      worktrail -C sample-workspace build --audience acme --out /tmp/sites
    """
    from .buildbase import default_epoch
    from .buildcache import BuildSession
    from .gcpause import keep_until_exit

    root = obj.workspace()
    target = out if out is not None else root / "site"
    with build_errors():
        epoch = default_epoch()
    session = BuildSession(root, use_cache=cache, trail=trail, names=audiences, target=target, epoch=epoch)
    unchanged = session.unchanged()
    if unchanged is not None:
        # The same inputs, commit, options and build date as the last build, whose files are untouched.
        earlier = session.cached_report()
        if earlier is not None and earlier.warnings:
            echo_findings(root, earlier.findings, earlier.files)
        for folder in unchanged:
            obj.info(f"built {folder.name} (unchanged): open {folder / 'index.html'}")
        return
    report, result = session.validate()
    if report.errors or result is None or result.workspace is None:
        session.close()
        fail_with_findings(root, report.findings, report.files, "the workspace has errors; nothing was built")
    if report.warnings:
        echo_findings(root, report.findings, report.files)

    events = None
    if trail:
        trails = session.trails(result.workspace)
        for message in trails.warnings:
            warn(f"{message}; the sites have no trail")
        events = lambda view: trails.for_audience(view.audience.name)  # noqa: E731

    # The builder is imported once the history walk, if any, has started in a worker.
    from .site import build_sites

    with ExitStack() as stack:
        progress: Callable[[str], None] | None = None
        # A progress bar only on a terminal: logs and CI output stay plain.
        if sys.stderr.isatty():
            from .redact import default_audiences

            count = len(audiences) if audiences else len(default_audiences(result.workspace))
            bar = stack.enter_context(click.progressbar(length=count, label="Building sites", file=sys.stderr))
            progress = lambda _name: bar.update(1)  # noqa: E731

        try:
            with build_errors():
                folders = build_sites(
                    result.workspace,
                    target,
                    list(audiences) or None,
                    root=root,
                    progress=progress,
                    warn=warn,
                    events=events,
                    epoch=epoch,
                    # The cache notes what was built while the replaced sites are removed.
                    then=session.finish,
                    **session.site_hooks(result.workspace),
                )
        except OSError as exc:
            fail(f"cannot write the sites: {exc}")
    for folder in folders:
        obj.info(f"built {folder.name}: open {folder / 'index.html'}")
    # The program ends now: what the build loaded is left to the operating system, not freed object by object.
    keep_until_exit(session, result, events)
