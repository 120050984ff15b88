"""`worktrail serve`: a local preview of one audience's site, rebuilt when a workspace file changes.

The site is built by `site.build_sites` into a private temporary folder, exactly as `worktrail build`
writes it. Only the HTTP responses of HTML pages get one extra `<script>` (the reload hook, which
asks `/__worktrail__/state` for the build number and reloads the page when it changes), so the
built files stay byte-identical to a build. Changes are found by polling the modification time
and size of the files the loader reads: no dependency, no platform-specific watcher.

Safety: the server listens on 127.0.0.1 unless another address is asked for explicitly; it serves
only the audience's folder (no dot files, no symbolic links, nothing outside it), answers only GET
and HEAD, and on a loopback address only requests whose Host is a loopback name, so a web page
elsewhere cannot read the preview through DNS rebinding.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import socket
import stat
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

from .findings import Finding
from .load import WORKSPACE_FILE
from .redact import INTERNAL_AUDIENCE, default_audiences
from .site import BuildError, build_sites
from .validate import validate_workspace

__all__ = ["LOOPBACK", "Preview", "Rebuild", "ServeError", "make_server", "snapshot", "watch"]

LOOPBACK: Final = "127.0.0.1"
CONTROL: Final = "/__worktrail__/"
# What the loader reads (load.py); nothing else can change a site.
WATCHED: Final = (WORKSPACE_FILE, "people", "teams", "projects")
RELOAD_SCRIPT: Final = b"""\
(function () {
  "use strict";
  var me = document.currentScript;
  var seen = me ? me.getAttribute("data-version") : null;
  var banner = null;
  function show(errors) {
    if (!errors) {
      if (banner) { banner.remove(); banner = null; }
      return;
    }
    if (!banner) {
      banner = document.createElement("p");
      banner.setAttribute("role", "status");
      banner.style.cssText = "position:fixed;bottom:0;left:0;right:0;margin:0;padding:.5em 1em;" +
        "background:#7a1010;color:#fff;font:14px/1.4 sans-serif;z-index:9999";
      document.body.appendChild(banner);
    }
    banner.textContent = "worktrail serve: the workspace has " + errors +
      " error(s); this is the last good build. See the terminal.";
  }
  function check() {
    fetch("/__worktrail__/state", {cache: "no-store"})
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (seen !== null && String(state.version) !== seen) { location.reload(); return; }
        show(state.errors);
      })
      .catch(function () {});
  }
  setInterval(check, 1000);
})();
"""
_BODY_END: Final = re.compile(rb"</body\s*>", re.IGNORECASE)
_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".atom": "application/atom+xml",
    ".ics": "text/calendar; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
}

Snapshot = dict[str, tuple[int, int]]


class ServeError(Exception):
    """The preview cannot start: a refused or unusable address (`usage`), or a port in use."""

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


def snapshot(root: Path) -> Snapshot:
    """Modification time and size of every file the loader may read (dot names skipped, links not followed)."""
    found: Snapshot = {}
    pending = list(WATCHED)
    while pending:
        rel = pending.pop()
        try:
            info = os.lstat(root / rel)
        except OSError:
            continue
        found[rel] = (info.st_mtime_ns, info.st_size)
        if stat.S_ISDIR(info.st_mode):
            try:
                names = os.listdir(root / rel)
            except OSError:
                continue
            pending.extend(f"{rel}/{name}" for name in names if not name.startswith("."))
    return found


@dataclass(frozen=True)
class Rebuild:
    """The outcome of one (re)build: the build number now served, and why it failed if it did."""

    ok: bool
    version: int
    audience: str
    findings: tuple[Finding, ...] = ()
    files: int = 0
    message: str | None = None


class Preview:
    """One audience's site, built into a private temporary folder and rebuilt on request."""

    def __init__(
        self,
        root: Path,
        audience: str | None = None,
        *,
        trail: bool = True,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.root = root
        self.audience = audience or ""
        self.trail = trail
        self.warn = warn or (lambda _message: None)
        self.out = Path(tempfile.mkdtemp(prefix="worktrail-serve-"))
        self.version = 0
        self.errors = 0
        self._seen: Snapshot = {}
        self._lock = threading.Lock()

    @property
    def site_dir(self) -> Path:
        """The folder being served: the audience's site."""
        return self.out / self.audience

    def changed(self) -> bool:
        """Whether a workspace file changed since the last (re)build started."""
        return snapshot(self.root) != self._seen

    def rebuild(self) -> Rebuild:
        """Validate and build; on errors the previous build stays served. Raises UnknownAudienceError."""
        with self._lock:
            # Taken before reading, so an edit made during the build triggers the next one.
            self._seen = snapshot(self.root)
            report, result = validate_workspace(self.root)
            if report.errors or result.workspace is None:
                self.errors = max(report.errors, 1)
                return Rebuild(False, self.version, self.audience, report.findings, report.files)
            ws = result.workspace
            audiences = {audience.name: audience for audience in default_audiences(ws)}
            name = self.audience or (INTERNAL_AUDIENCE if INTERNAL_AUDIENCE in audiences else min(audiences))
            events = None
            if self.trail and name in audiences:
                from .trail import collect_trails

                trails = collect_trails(self.root, ws, [audiences[name]])
                for message in trails.warnings:
                    self.warn(f"{message}; the site has no trail")
                events = lambda _view: trails.for_audience(name)  # noqa: E731
            try:
                build_sites(ws, self.out, [name], root=self.root, events=events, warn=self.warn)
            except BuildError as exc:
                if not self.version:
                    raise
                self.errors = 1
                return Rebuild(False, self.version, self.audience, report.findings, report.files, str(exc))
            self.audience = name
            self.version += 1
            self.errors = 0
            return Rebuild(True, self.version, name, report.findings, report.files)

    def close(self) -> None:
        """Remove the temporary build folder."""
        shutil.rmtree(self.out, ignore_errors=True)


def watch(
    preview: Preview,
    stop: threading.Event,
    on_rebuild: Callable[[Rebuild], None],
    interval: float = 0.5,
) -> None:
    """Poll the workspace every `interval` seconds until `stop` is set; rebuild after each change."""
    while not stop.wait(interval):
        if preview.changed():
            try:
                outcome = preview.rebuild()
            except BuildError as exc:
                outcome = Rebuild(False, preview.version, preview.audience, message=str(exc))
            on_rebuild(outcome)


# ------------------------------------------------------------------------------------------ HTTP


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    preview: Preview
    allowed_hosts: frozenset[str] | None
    log: Callable[[str], None]


class _Server6(_Server):
    address_family = socket.AF_INET6


def make_server(
    preview: Preview,
    bind: str = LOOPBACK,
    port: int = 8000,
    *,
    allow_remote: bool = False,
    log: Callable[[str], None] | None = None,
) -> ThreadingHTTPServer:
    """A server for `preview` on `bind`:`port` (0: any free port). Other than loopback needs `allow_remote`."""
    try:
        address = ipaddress.ip_address(bind)
    except ValueError:
        raise ServeError(f"--bind {bind!r} is not an IP address (like 127.0.0.1, ::1 or 0.0.0.0)", usage=True) from None
    if not address.is_loopback and not allow_remote:
        raise ServeError(
            f"refusing to listen on {bind}: only loopback addresses unless asked explicitly (--bind)", usage=True
        )
    server_class = _Server6 if address.version == 6 else _Server
    try:
        server = server_class((bind, port), _Handler)
    except OSError as exc:
        raise ServeError(f"cannot listen on {bind} port {port}: {exc.strerror or exc}") from None
    server.preview = preview
    server.log = log or (lambda _line: None)
    server.allowed_hosts = None
    if address.is_loopback:
        bound = server.server_address[1]
        names = ("127.0.0.1", "localhost", "[::1]", f"[{bind}]" if address.version == 6 else bind)
        server.allowed_hosts = frozenset({*names, *(f"{name}:{bound}" for name in names)})
    return server


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "worktrail-serve"
    sys_version = ""

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def log_message(self, format: str, *args: object) -> None:
        self.server.log(f"{self.address_string()} {format % args}")

    def _answer(self, head: bool) -> None:
        hosts = self.server.allowed_hosts
        if hosts is not None and (self.headers.get("Host") or "").lower() not in hosts:
            self._send(HTTPStatus.FORBIDDEN, b"forbidden: use a loopback address\n", "text/plain; charset=utf-8", head)
            return
        preview = self.server.preview
        path = unquote(urlsplit(self.path).path)
        if path.startswith(CONTROL):
            self._control(path[len(CONTROL) :], head)
            return
        target, redirect = _resolve(preview.site_dir, path)
        if redirect:
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", path + "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if target is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", head)
            return
        try:
            data = target.read_bytes()
        except OSError:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", head)
            return
        kind = _TYPES.get(target.suffix.lower(), "application/octet-stream")
        if target.suffix.lower() == ".html":
            data = inject_reload(data, preview.version)
        self._send(HTTPStatus.OK, data, kind, head)

    def _control(self, name: str, head: bool) -> None:
        preview = self.server.preview
        if name == "reload.js":
            self._send(HTTPStatus.OK, RELOAD_SCRIPT, "text/javascript; charset=utf-8", head)
        elif name == "state":
            state = json.dumps({"version": preview.version, "errors": preview.errors}).encode()
            self._send(HTTPStatus.OK, state, "application/json", head)
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", head)

    def _send(self, status: HTTPStatus, data: bytes, kind: str, head: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(data)


def _resolve(site: Path, path: str) -> tuple[Path | None, bool]:
    """The file a URL path names inside `site`, and whether to redirect to the folder form (`/x` → `/x/`)."""
    parts = [part for part in path.split("/") if part]
    if any(part in (".", "..") or part.startswith(".") or "\\" in part or "\0" in part for part in parts):
        return None, False
    target = site.joinpath(*parts)
    # No component may be a symbolic link: the site never holds one, so one is not ours to serve.
    current = site
    for part in parts:
        current = current / part
        if current.is_symlink():
            return None, False
    if target.is_dir():
        if parts and not path.endswith("/"):
            return None, True
        target = target / "index.html"
    if not target.is_file() or target.is_symlink():
        return None, False
    return target, False


def inject_reload(page: bytes, version: int) -> bytes:
    """`page` with the reload hook before its last `</body>` (appended when there is none)."""
    tag = f'<script src="{CONTROL}reload.js" data-version="{version}"></script>\n'.encode()
    matches = list(_BODY_END.finditer(page))
    if not matches:
        return page + tag
    at = matches[-1].start()
    return page[:at] + tag + page[at:]
