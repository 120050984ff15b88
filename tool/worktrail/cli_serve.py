"""`worktrail serve`: the command-line edge of `serve` (parse, build, serve until Ctrl-C)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

import click

from .cli_common import EXIT_FINDINGS, EXIT_USAGE, build_errors, echo_findings, fail, fail_with_findings, warn

if TYPE_CHECKING:
    from .cli import Context
    from .serve import Rebuild

# As serve.LOOPBACK (not imported: the module loads the site code).
LOOPBACK = "127.0.0.1"


@click.command()
@click.option(
    "--audience",
    metavar="NAME",
    help="The audience to preview. Default: internal when there is one, else the first by name.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--bind",
    metavar="ADDR",
    help="Listen on this IP address instead of 127.0.0.1; anyone who can reach it reads the site.",
)
@click.option(
    "--trail/--no-trail",
    default=True,
    show_default=True,
    help="Read the Git history for the site's trail, as `build` does.",
)
@click.pass_obj
def serve(obj: Context, audience: str | None, port: int, bind: str | None, trail: bool) -> None:
    """Preview one audience's site on this computer, rebuilt whenever a workspace file changes.

    The page in the browser reloads by itself after each rebuild; while the workspace has
    errors, the last good build stays served. Only 127.0.0.1 is used unless --bind names
    another address. The built files are those `worktrail build` writes; only the pages
    sent to the browser carry the small reload script. Stop with Ctrl-C.

    \b
    Example:
      worktrail -C sample-workspace serve --audience acme
      worktrail serve --port 0 --no-trail
    """
    from .serve import Preview, ServeError, make_server, watch

    root = obj.workspace()
    preview = Preview(root, audience, trail=trail, warn=warn)
    try:
        with build_errors():
            first = preview.rebuild()
        if not first.ok:
            fail_with_findings(root, first.findings, first.files, "the workspace has errors; nothing to serve")
        try:
            server = make_server(preview, bind or LOOPBACK, port, allow_remote=bind is not None, log=obj.detail)
        except ServeError as exc:
            fail(str(exc), EXIT_USAGE if exc.usage else EXIT_FINDINGS)
        host, bound = server.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{host_text}]" if ":" in host_text else host_text
        if bind is not None and bind not in (LOOPBACK, "::1"):
            warn(f"listening on {bind}: anyone who can reach this address reads the {preview.audience} site")
        click.echo(f"serving {preview.audience} at http://{shown}:{bound}/ (Ctrl-C stops)")

        def rebuilt(outcome: Rebuild) -> None:
            if outcome.ok:
                obj.info(f"rebuilt {outcome.audience} (build {outcome.version})")
                return
            if outcome.findings:
                echo_findings(root, outcome.findings, outcome.files)
            reason = outcome.message or "the workspace has errors"
            click.echo(f"worktrail: error: {reason}; still serving build {outcome.version}", err=True)

        stop = threading.Event()
        thread = threading.Thread(target=server.serve_forever, name="worktrail-serve", daemon=True)
        thread.start()
        # A service manager (or a test) stops with SIGTERM: clean up as for Ctrl-C.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            watch(preview, stop, rebuilt)
        except KeyboardInterrupt:
            obj.info("stopped")
        finally:
            signal.signal(signal.SIGTERM, previous)
            stop.set()
            server.shutdown()
            server.server_close()
    finally:
        preview.close()


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt
