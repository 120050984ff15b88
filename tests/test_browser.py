"""The generated sites in a real headless Chromium: every page loads without console errors or broken
links, the task filter and the search work (with and without JavaScript), and axe-core finds no serious
or critical accessibility violation on any kind of page.

Needs Debian's `chromium` (installed by .ci/run) and the Python packages playwright and
axe-playwright-python. On CI a missing browser fails the run instead of skipping.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parents[1] / "sample-workspace"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
EPOCH = "1775000000"  # 2026-03-31T23:33:20Z, as the golden sites

if CHROMIUM is None:
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package", pytrace=False)
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

# Installed by the test extras; a missing one is a broken environment, not a reason to skip.
import axe_playwright_python.sync_playwright as axe_module  # noqa: E402
import playwright.sync_api as playwright_sync  # noqa: E402

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner

    from worktrail.cli import main

    out = tmp_path_factory.mktemp("sites") / "site"
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        result = CliRunner().invoke(main, ["-C", str(SAMPLE), "build", "--out", str(out)])
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def server(sites: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(sites))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _page_kind(path: str) -> str:
    """Group URLs into kinds of page: numbers and ids become placeholders."""
    kind = re.sub(r"/projects/[^/]+/", "/projects/P/", path)
    kind = re.sub(r"/(tasks|changes|meetings|feedback)/(?!index\.html$)[^/]+\.html$", r"/\1/ID.html", kind)
    kind = re.sub(r"/trail/\d{4}-\d{2}\.html$", "/trail/MONTH.html", kind)
    kind = re.sub(r"^/[^/]+/", "/A/", kind)
    return kind


_CRAWLS: dict[str, tuple[list[str], list[str]]] = {}


def _crawled(browser: object, start: str) -> tuple[list[str], list[str]]:
    """Pages and errors of one crawl, done once per module run."""
    if start not in _CRAWLS:
        errors: list[str] = []
        _CRAWLS[start] = (_crawl(browser, start, errors), errors)
    return _CRAWLS[start]


def _crawl(browser: object, start: str, errors: list[str]) -> list[str]:
    """Every HTML page reachable from `start` inside the same audience folder, each loaded once."""
    prefix = start.rsplit("/", 1)[0] + "/"
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.on(
        "console",
        lambda msg: (
            errors.append(f"{page.url}: console {msg.type}: {msg.text}") if msg.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: page error: {exc}"))
    seen: set[str] = set()
    queue = [start]
    order: list[str] = []
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = page.goto(url)
        if response is None or response.status != 200:
            errors.append(f"{url}: HTTP {None if response is None else response.status}")
            continue
        order.append(url)
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
            target = urljoin(url, href).split("#", 1)[0].split("?", 1)[0]
            if not target.startswith(prefix):
                if urlparse(target).scheme in ("http", "https") and urlparse(target).netloc == urlparse(start).netloc:
                    errors.append(f"{url}: link leaves its audience folder: {href}")
                continue
            if target.endswith(".html") or target.endswith("/"):
                queue.append(target)
            elif target not in seen:
                seen.add(target)
                status = page.request.get(target).status
                if status != 200:
                    errors.append(f"{url}: broken link {href} (HTTP {status})")
    context.close()
    return order


@pytest.mark.parametrize("audience", ["internal", "acme", "nina", "raj"])
def test_every_page_loads_without_console_errors_or_broken_links(browser, server, audience):
    pages, errors = _crawled(browser, f"{server}{audience}/index.html")
    assert len(pages) > 10
    assert errors == []


def test_every_kind_of_page_is_reachable_on_the_internal_site(browser, server):
    pages, _ = _crawled(browser, f"{server}internal/index.html")
    kinds = {_page_kind(urlparse(url).path) for url in pages}
    for expected in [
        "/A/index.html",
        "/A/people.html",
        "/A/trail.html",
        "/A/trail/MONTH.html",
        "/A/search.html",
        "/A/projects/P/index.html",
        "/A/projects/P/tasks/index.html",
        "/A/projects/P/tasks/ID.html",
        "/A/projects/P/changes/index.html",
        "/A/projects/P/changes/ID.html",
        "/A/projects/P/meetings/index.html",
        "/A/projects/P/meetings/ID.html",
        "/A/projects/P/reports/index.html",
        "/A/projects/P/files/index.html",
        "/A/projects/P/feedback/index.html",
        "/A/projects/P/scope/index.html",
        "/A/projects/P/timeline/index.html",
    ]:
        assert expected in kinds, (expected, sorted(kinds))


def test_task_filter_narrows_the_table_with_javascript(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}internal/projects/acme-website/tasks/index.html")
    rows = page.locator("#task-table [data-search]")
    total = rows.count()
    assert total > 5
    page.fill("#task-filter", "storybook")
    visible = [r for r in rows.all() if r.is_visible()]
    assert 0 < len(visible) < total
    assert all("storybook" in (r.get_attribute("data-search") or "") for r in visible)
    context.close()


def test_task_status_filter_works_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server}internal/projects/acme-website/tasks/index.html")
    assert page.locator("#task-filter").is_hidden()
    links = page.locator(".status-filter a")
    assert links.count() >= 3
    before = page.locator("#task-table tbody tr").count()
    links.nth(1).click()
    page.wait_for_load_state()
    after = page.locator("#task-table tbody tr").count()
    assert 0 < after < before
    context.close()


def test_search_finds_a_visible_task_and_nothing_hidden_for_the_client(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}acme/search.html")
    page.fill("#search-input", "storybook")
    hits = [li for li in page.locator("#search-results li").all() if li.is_visible()]
    assert hits, "the client sees WEB-13, whose title names Storybook"
    for marker in ("staffing review", "leaked staging", "payment sdk"):
        page.fill("#search-input", marker)
        hidden_hits = [li for li in page.locator("#search-results li").all() if li.is_visible()]
        assert hidden_hits == [], f"{marker!r} names a thing hidden from the client"
    context.close()


def _one_page_per_kind(browser, server: str, audience: str) -> list[str]:
    chosen: dict[str, str] = {}
    for url in _crawled(browser, f"{server}{audience}/index.html")[0]:
        chosen.setdefault(_page_kind(urlparse(url).path), url)
    return sorted(chosen.values())


@pytest.mark.parametrize("audience", ["internal", "acme", "nina"])
def test_no_serious_or_critical_accessibility_violation_on_any_kind_of_page(browser, server, audience):
    axe = axe_module.Axe()
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    for url in _one_page_per_kind(browser, server, audience):
        page.goto(url)
        results = axe.run(page)
        for violation in results.response["violations"]:
            if violation.get("impact") in ("serious", "critical"):
                targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
                problems.append(f"{urlparse(url).path}: {violation['id']} ({violation['impact']}): {targets}")
    context.close()
    assert problems == []
