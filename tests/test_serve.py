"""`worktrail serve`: a real server on 127.0.0.1 serves one audience's site as `build` writes it, adds the
reload hook only to responses, rebuilds on change, and refuses other interfaces and foreign Host names."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from worktrail.cli import main
from worktrail.load import load_workspace
from worktrail.serve import Preview, Rebuild, ServeError, inject_reload, make_server, snapshot, watch
from worktrail.site import UnknownAudienceError, build_sites

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample-workspace"
EPOCH = "1774915200"  # 2026-03-31, the sample's "today"
TIMEOUT = 30  # seconds: a bound on waiting, never an expected duration
TASK = "projects/acme-website/tasks/WEB-23.md"
TITLE = "Cookie consent banner with Consent Mode v2"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    root = tmp_path / "ws"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("site"))
    return root


@pytest.fixture
def preview(workspace: Path) -> Iterator[Preview]:
    made = Preview(workspace, "acme", trail=False)
    assert made.rebuild().ok
    yield made
    made.close()


@pytest.fixture
def server(preview: Preview) -> Iterator[str]:
    running = make_server(preview, "127.0.0.1", 0)
    thread = threading.Thread(target=running.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{running.server_address[1]}"
    running.shutdown()
    running.server_close()
    thread.join(TIMEOUT)


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def raw_get(base: str, path: str, host: str | None = None) -> int:
    """A request with the path (and Host) exactly as given: urllib would normalise them."""
    port = int(base.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.putrequest("GET", path, skip_host=host is not None)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def built_by_build(workspace: Path, out: Path, audience: str) -> Path:
    ws = load_workspace(workspace).workspace
    assert ws is not None
    return build_sites(ws, out, [audience], root=workspace)[0]


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_served_pages_carry_the_reload_hook_and_the_built_files_stay_as_build_writes_them(
    workspace, preview, server, tmp_path
):
    status, headers, body = get(server + "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Cache-Control"] == "no-store"
    assert b'<script src="/__worktrail__/reload.js" data-version="1"></script>\n</body>' in body
    on_disk = files(preview.site_dir)
    assert b"__worktrail__" not in b"".join(on_disk.values())
    assert on_disk == files(built_by_build(workspace, tmp_path / "built", "acme"))
    assert body == inject_reload(on_disk["index.html"], 1)


def test_assets_and_data_files_are_served_unchanged(preview, server):
    for rel in ("assets/style.css", "export.json", "calendar.ics"):
        status, _, body = get(f"{server}/{rel}")
        assert status == 200
        assert body == (preview.site_dir / rel).read_bytes()
    status, headers, body = get(server + "/__worktrail__/reload.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert b"location.reload()" in body


def test_only_the_audiences_folder_is_served(preview, server):
    assert raw_get(server, "/../internal/index.html") == 404
    assert raw_get(server, "/%2e%2e/internal/index.html") == 404
    assert raw_get(server, "/.worktrail-site") == 404
    assert raw_get(server, "/internal/index.html") == 404
    assert sorted(p.name for p in preview.out.iterdir() if not p.name.startswith(".")) == ["acme"]


def test_a_symbolic_link_inside_the_site_is_not_followed(preview, server, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("internal only", encoding="utf-8")
    (preview.site_dir / "leak.txt").symlink_to(secret)
    assert raw_get(server, "/leak.txt") == 404


def test_a_folder_url_without_a_slash_redirects_so_relative_links_work(server):
    assert raw_get(server, "/projects/acme-website") == 301
    status, _, body = get(server + "/projects/acme-website/")
    assert status == 200 and b"<html" in body


def test_requests_naming_another_host_are_refused_against_dns_rebinding(server):
    port = server.rsplit(":", 1)[1]
    assert raw_get(server, "/", host=f"attacker.example:{port}") == 403
    assert raw_get(server, "/", host=f"localhost:{port}") == 200


def test_only_get_and_head_are_answered(server):
    request = urllib.request.Request(server + "/", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=TIMEOUT)
    assert caught.value.code == 501
    caught.value.close()


def test_a_change_to_a_workspace_file_rebuilds_and_bumps_the_version(workspace, preview, server):
    assert not preview.changed()
    path = workspace / TASK
    path.write_text(path.read_text(encoding="utf-8").replace(TITLE, "Renamed banner task"), encoding="utf-8")
    assert preview.changed()
    outcome = preview.rebuild()
    assert outcome.ok and outcome.version == 2
    assert json.loads(get(server + "/__worktrail__/state")[2]) == {"version": 2, "errors": 0}
    _, _, page = get(server + "/projects/acme-website/tasks/WEB-23.html")
    assert b"Renamed banner task" in page
    assert b'data-version="2"' in page


def test_an_invalid_edit_keeps_the_last_good_build_and_reports_errors(workspace, preview, server):
    path = workspace / TASK
    path.write_text(path.read_text(encoding="utf-8").replace("status: done", "status: finished"), encoding="utf-8")
    outcome = preview.rebuild()
    assert not outcome.ok
    assert any(f.loc.path == TASK for f in outcome.findings)
    assert json.loads(get(server + "/__worktrail__/state")[2])["errors"] >= 1
    status, _, page = get(server + "/projects/acme-website/tasks/WEB-23.html")
    assert status == 200 and TITLE.encode() in page


def test_the_watcher_rebuilds_after_a_change(workspace, preview):
    done = threading.Event()
    seen: list[Rebuild] = []

    def rebuilt(outcome: Rebuild) -> None:
        seen.append(outcome)
        done.set()

    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(preview, stop, rebuilt, 0.05), daemon=True)
    thread.start()
    try:
        (workspace / "teams" / "acme.yaml").write_text(
            (workspace / "teams" / "acme.yaml").read_text(encoding="utf-8") + "# touched\n", encoding="utf-8"
        )
        assert done.wait(TIMEOUT), "no rebuild after a change"
    finally:
        stop.set()
        thread.join(TIMEOUT)
    assert seen[0].ok and seen[0].version == 2


def test_snapshot_covers_only_what_the_loader_reads(workspace):
    (workspace / "site").mkdir()
    (workspace / "site" / "x.html").write_text("x", encoding="utf-8")
    (workspace / "people" / ".draft.yaml").write_text("x", encoding="utf-8")
    seen = snapshot(workspace)
    assert "worktrail.yaml" in seen and TASK in seen
    assert not any(rel.startswith(("site", ".github", "README")) or "/." in rel for rel in seen)


def test_the_default_audience_is_internal(workspace):
    made = Preview(workspace, trail=False)
    try:
        assert made.rebuild().audience == "internal"
        assert (made.site_dir / "index.html").is_file()
    finally:
        made.close()


def test_an_unknown_audience_is_refused_at_the_first_build(workspace):
    made = Preview(workspace, "nobody", trail=False)
    try:
        with pytest.raises(UnknownAudienceError):
            made.rebuild()
    finally:
        made.close()


def test_other_interfaces_are_refused_unless_asked_explicitly(preview):
    with pytest.raises(ServeError, match=r"refusing to listen on 0\.0\.0\.0") as caught:
        make_server(preview, "0.0.0.0", 0)
    assert caught.value.usage
    with pytest.raises(ServeError, match="not an IP address"):
        make_server(preview, "example.com", 0)


def test_close_removes_the_temporary_build(workspace):
    made = Preview(workspace, "acme", trail=False)
    assert made.rebuild().ok
    made.close()
    assert not made.out.exists()


# ----------------------------------------------------------------------------------- the command


def test_serve_refuses_a_bind_that_is_not_an_address(workspace):
    result = CliRunner().invoke(main, ["-C", str(workspace), "serve", "--bind", "everywhere", "--no-trail"])
    assert result.exit_code == 2
    assert "not an IP address" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_serve_names_the_known_audiences_for_an_unknown_one(workspace):
    result = CliRunner().invoke(main, ["-C", str(workspace), "serve", "--audience", "nobody", "--no-trail"])
    assert result.exit_code == 2
    assert "unknown audience: nobody" in result.stderr
    assert "known audiences: acme, internal, nina, raj" in result.stderr


def test_serve_refuses_an_invalid_workspace_with_its_findings(workspace):
    path = workspace / TASK
    path.write_text(path.read_text(encoding="utf-8").replace("status: done", "status: finished"), encoding="utf-8")
    result = CliRunner().invoke(main, ["-C", str(workspace), "serve", "--no-trail"])
    assert result.exit_code == 1
    assert f"{TASK}:" in result.stderr
    assert "nothing to serve" in result.stderr


def test_serve_command_listens_on_loopback_by_default_and_stops_cleanly(workspace):
    # The console script as a user runs it; stopped by SIGTERM (handled like Ctrl-C).
    command = [sys.executable, "-m", "worktrail", "-C", str(workspace), "serve", "--port", "0", "--no-trail"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.match(r"serving internal at (http://127\.0\.0\.1:\d+/) \(Ctrl-C stops\)", first)
        assert match, first + (process.stderr.read() if process.stderr else "")
        status, _, body = get(match.group(1))
        assert status == 200 and b"reload.js" in body
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err
    assert "stopped" in out
