"""`worktrail build`: every audience gets a complete site built only from its view, safely and reproducibly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import gc
import itertools
import json
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import jinja2
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import meta, nodes

from worktrail import model as m
from worktrail import render_pool
from worktrail import site as site_module
from worktrail.cli import main
from worktrail.i18n import NBSP, NNBSP, Formatter, string_keys
from worktrail.policy import Policy
from worktrail.redact import View, default_audiences, redact
from worktrail.render import MarkdownRenderer, clean_text
from worktrail.resources import templates_dir
from worktrail.site import (
    MARKER,
    PAGE_CONTEXTS,
    STAGING_MARKER,
    SiteContext,
    TrailEvent,
    UnknownAudienceError,
    UnsafeOutputError,
    _csv_cell,
    _fold,
    _ics_text,
    build_audience_site,
    build_sites,
    next_meeting,
)
from worktrail.validate import validate_workspace

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample-workspace"
BASE = Path(__file__).parent / "cases" / "base"
EPOCH = 1774958400  # 2026-03-31 12:00 UTC, "today" in the sample workspace

# Marker phrases of the sample README that only these audiences may see (see its leak table).
MARKERS = {
    "leaked staging": {"internal"},
    "Summit Pro": {"internal", "acme"},
    "Project Ridge": {"internal", "acme"},
    "payment SDK": {"internal", "raj"},
    "PO number": {"internal", "nina"},
    "cost us on LCP": {"internal"},
    "free tier": {"internal"},
    "20 % over the estimate": {"internal"},
    "staffing review": {"internal"},
    "Budget review, March 2026": {"internal"},
    "staging-token-incident": {"internal"},
    "summit-pro-brief": {"internal", "acme"},
    "payment-sdk-advisory": {"internal", "raj"},
    "budget-review": {"internal"},
}


def load(root: Path) -> m.Workspace:
    report, result = validate_workspace(root)
    assert report.errors == 0, report.findings
    assert result.workspace is not None
    return result.workspace


def all_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample() -> m.Workspace:
    return load(SAMPLE)


@pytest.fixture(scope="module")
def built(sample: m.Workspace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sites") / "site"
    build_sites(sample, out, epoch=EPOCH, root=SAMPLE)
    return out


@pytest.fixture(scope="module")
def views(sample: m.Workspace) -> dict[str, View]:
    policy = Policy(sample)
    return {a.name: redact(sample, a, policy) for a in default_audiences(sample)}


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """The base test workspace plus a hidden task and a task whose text tries every trick."""
    ws = tmp_path / "ws"
    shutil.copytree(BASE, ws)
    tasks = ws / "projects/web/tasks"
    (tasks / "WEB-2.md").write_text(
        "---\ntitle: Rotate the SECRETCANARY keys\nstatus: open\ncreated_by: uma\ncreated: 2026-01-11\n"
        "hidden: true\n---\nOnly for the studio.\n",
        encoding="utf-8",
    )
    (tasks / "WEB-3.md").write_text(
        "---\ntitle: Tricky text\nstatus: open\ncreated_by: uma\ncreated: 2026-01-11\n---\n"
        "<script>alert('x')</script> <img src=x onerror=alert(1)>\n\n"
        "[click](javascript:alert(1)) and [site](https://example.org)\n\n"
        "Depends on WEB-2 and WEB-1; see CR-1.\n",
        encoding="utf-8",
    )
    return ws


def build_small(ws: Path, out: Path, **kwargs: object) -> list[Path]:
    return build_sites(load(ws), out, epoch=EPOCH, root=ws, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- audiences


def test_every_default_audience_gets_its_own_complete_folder(built: Path):
    assert sorted(p.name for p in built.iterdir() if p.is_dir()) == ["acme", "internal", "nina", "raj"]
    for name in ("acme", "internal", "nina", "raj"):
        folder = built / name
        for required in (
            MARKER,
            "index.html",
            "people.html",
            "trail.html",
            "search.html",
            "search-index.json",
            "feed.atom",
            "calendar.ics",
            "export.json",
            "assets/style.css",
            "assets/site.js",
        ):
            assert (folder / required).is_file(), f"{name}/{required}"


def test_every_visible_record_has_a_page_and_no_invisible_one_has(built: Path, views: dict[str, View], sample):
    for name, view in views.items():
        folder = built / name
        for project in sample.projects.values():
            shown = view.workspace.projects.get(project.id)
            assert (folder / f"projects/{project.id}/index.html").exists() == (shown is not None)
            visible_tasks = {t.id for t in shown.tasks} if shown else set()
            visible_changes = {c.id for c in shown.changes} if shown else set()
            visible_meetings = {x.id for x in shown.meetings} if shown else set()
            for task in project.tasks:
                page = folder / f"projects/{project.id}/tasks/{task.id}.html"
                assert page.exists() == (task.id in visible_tasks), f"{name}: {task.id}"
            for cr in project.changes:
                page = folder / f"projects/{project.id}/changes/{cr.id}.html"
                assert page.exists() == (cr.id in visible_changes), f"{name}: {project.id}/{cr.id}"
            for meeting in project.meetings:
                page = folder / f"projects/{project.id}/meetings/{meeting.id}.html"
                assert page.exists() == (meeting.id in visible_meetings), f"{name}: {meeting.id}"


def test_hidden_marker_phrases_appear_only_in_the_sites_of_audiences_that_may_see_them(built: Path):
    for name in ("acme", "internal", "nina", "raj"):
        folder = built / name
        files = all_files(folder)
        haystack = (b"\n".join(files.values()) + "\n".join(files).encode()).lower()
        for phrase, seen_by in MARKERS.items():
            found = phrase.lower().encode() in haystack
            assert found == (name in seen_by), f"{phrase!r} in {name}: {found}"


def test_only_documents_the_audience_sees_are_copied(built: Path, views: dict[str, View]):
    for name, view in views.items():
        copied = {
            p.relative_to(built / name / "projects").as_posix()
            for p in (built / name / "projects").rglob("documents/**/*")
            if p.is_file()
        }
        expected = {
            f"{project.id}/documents/{doc.path}"
            for project in view.workspace.projects.values()
            for doc in project.documents
        }
        assert copied == expected


# ------------------------------------------------------------------------------------------- markdown in pages


def test_markdown_raw_html_is_escaped_and_javascript_links_dropped_in_pages(small: Path, tmp_path: Path):
    build_small(small, tmp_path / "out")
    page = (tmp_path / "out/internal/projects/web/tasks/WEB-3.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "javascript:" not in page
    assert "click" in page and '<a href="https://example.org">site</a>' in page


def test_reference_to_a_visible_task_is_a_link(small: Path, tmp_path: Path):
    build_small(small, tmp_path / "out")
    page = (tmp_path / "out/internal/projects/web/tasks/WEB-3.html").read_text(encoding="utf-8")
    assert '<a href="WEB-2.html" title="WEB-2: Rotate the SECRETCANARY keys">WEB-2</a>' in page
    assert '<a href="../changes/CR-1.html" title="CR-1: Add a blog">CR-1</a>' in page


def test_reference_to_an_invisible_task_is_plain_text_with_no_link_or_title(small: Path, tmp_path: Path):
    build_small(small, tmp_path / "out")
    page = (tmp_path / "out/acme/projects/web/tasks/WEB-3.html").read_text(encoding="utf-8")
    assert "Depends on WEB-2 and " in page
    assert "WEB-2.html" not in page
    assert '<a href="WEB-1.html" title="WEB-1: Build the home page">WEB-1</a>' in page
    for name in ("acme", "gus"):
        files = all_files(tmp_path / "out" / name)
        assert not any(b"SECRETCANARY" in data for data in files.values()), name
        assert not any("WEB-2" in path for path in files), name


# ------------------------------------------------------------------------------------------- output safety


def test_building_twice_gives_byte_identical_output(sample: m.Workspace, tmp_path: Path):
    build_sites(sample, tmp_path / "a", epoch=EPOCH, root=SAMPLE)
    build_sites(sample, tmp_path / "b", epoch=EPOCH, root=SAMPLE)
    assert all_files(tmp_path / "a") == all_files(tmp_path / "b")


def test_build_date_comes_from_source_date_epoch(small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    build_sites(load(small), tmp_path / "out", root=small)
    assert "Built on 31 March 2026" in (tmp_path / "out/internal/index.html").read_text(encoding="utf-8")


def test_a_failed_build_leaves_the_previous_site_untouched(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    out = tmp_path / "out"
    build_small(small, out)
    before = all_files(out)
    calls: list[str] = []
    real = site_module.build_audience_site

    def failing(view: View, out_dir: Path, **kwargs: object) -> None:
        calls.append(view.audience.name)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        real(view, out_dir, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(site_module, "build_audience_site", failing)
    (small / "projects/web/tasks/WEB-1.md").write_text(
        "---\ntitle: Changed title\nstatus: open\n---\n", encoding="utf-8"
    )
    with pytest.raises(RuntimeError):
        build_small(small, out)
    assert all_files(out) == before
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "acme", "gus", "internal"])


def test_nothing_stale_survives_a_rebuild(small: Path, tmp_path: Path):
    out = tmp_path / "out"
    build_small(small, out)
    (out / "internal/old-page.html").write_text("stale", encoding="utf-8")
    (out / "retired").mkdir()
    (out / "retired" / MARKER).write_text("old audience", encoding="utf-8")
    build_small(small, out)
    assert not (out / "internal/old-page.html").exists()
    assert not (out / "retired").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".worktrail-build")]


def staging_folders(out: Path) -> list[Path]:
    return [p for p in out.iterdir() if p.name.startswith(".worktrail-build")]


def test_then_runs_with_the_new_sites_swapped_in_while_rm_removes_the_sites_they_replaced(small: Path, tmp_path: Path):
    if shutil.which("rm", path=os.defpath) is None:
        pytest.skip("no rm: the replaced sites are removed after `then`, by the build's process")
    out = tmp_path / "out"
    build_small(small, out)
    (out / "internal/old-page.html").write_text("stale", encoding="utf-8")
    seen: list[object] = []

    def then(folders: list[Path]) -> None:
        seen.append(folders)
        # The new sites are in place; the replaced one (with the stale page) is in the staging folder,
        # whose replaced sites rm removes while this runs: waiting here ends only if it does so meanwhile.
        assert not (out / "internal/old-page.html").exists()
        for _ in range(1000):
            if all(entry.name == STAGING_MARKER for folder in staging_folders(out) for entry in folder.iterdir()):
                break
            time.sleep(0.01)
        seen.append([entry.name for folder in staging_folders(out) for entry in folder.iterdir()])

    folders = build_small(small, out, then=then)
    assert seen == [folders, [STAGING_MARKER]]
    assert folders == [out / "acme", out / "gus", out / "internal"]
    assert not staging_folders(out)


@pytest.mark.parametrize("remover", ["fails", "missing"])
def test_the_build_removes_the_replaced_sites_itself_when_rm_fails_or_is_missing(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, remover: str
):
    out = tmp_path / "out"
    build_small(small, out)
    before = all_files(out / "internal")
    spawned = {"fails": lambda _paths: subprocess.Popen(["false"]), "missing": lambda _paths: None}[remover]
    monkeypatch.setattr(site_module, "_spawn_removal", spawned)
    called: list[bool] = []
    build_small(small, out, then=lambda _folders: called.append(True))
    assert called == [True]
    assert not staging_folders(out)
    assert all_files(out / "internal") == before


def test_an_error_of_then_is_raised_once_the_replaced_sites_are_removed(small: Path, tmp_path: Path):
    out = tmp_path / "out"
    build_small(small, out)

    def failing(_folders: list[Path]) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        build_small(small, out, then=failing)
    assert not staging_folders(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "acme", "gus", "internal"])


def test_building_one_audience_keeps_the_others(small: Path, tmp_path: Path):
    out = tmp_path / "out"
    build_small(small, out)
    keep = all_files(out / "gus")
    assert [p.name for p in build_small(small, out, names=["acme"])] == ["acme"]
    assert all_files(out / "gus") == keep


def test_refuses_to_write_into_a_non_empty_folder_that_is_not_a_worktrail_site(small: Path, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("precious", encoding="utf-8")
    with pytest.raises(UnsafeOutputError, match="not a Worktrail site"):
        build_small(small, out)
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]


def test_refuses_to_replace_an_audience_folder_that_is_not_a_worktrail_site(small: Path, tmp_path: Path):
    out = tmp_path / "out"
    build_small(small, out)
    shutil.rmtree(out / "acme")
    (out / "acme").mkdir()
    (out / "acme" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UnsafeOutputError):
        build_small(small, out)
    assert (out / "acme" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_build_audience_site_needs_an_empty_folder(views: dict[str, View], tmp_path: Path):
    (tmp_path / "x").write_text("x", encoding="utf-8")
    with pytest.raises(UnsafeOutputError):
        build_audience_site(views["acme"], tmp_path, epoch=EPOCH)


def test_unknown_audience_is_an_error_naming_the_known_ones(sample: m.Workspace, tmp_path: Path):
    with pytest.raises(UnknownAudienceError) as caught:
        build_sites(sample, tmp_path / "out", ["nobody"], epoch=EPOCH)
    assert caught.value.known == ("acme", "internal", "nina", "raj")
    assert not (tmp_path / "out").exists()


def test_documents_reached_through_a_symbolic_link_are_not_copied(small: Path, tmp_path: Path):
    outside = tmp_path / "outside.md"
    outside.write_text("SECRET OUTSIDE THE WORKSPACE", encoding="utf-8")
    brief = small / "projects/web/files/brief.md"
    brief.unlink()
    brief.symlink_to(outside)
    warnings: list[str] = []
    # Validation would refuse the link; the site must refuse it on its own as well.
    ws = load_ignoring_errors(small)
    build_sites(ws, tmp_path / "out", epoch=EPOCH, root=small, warn=warnings.append)
    files = all_files(tmp_path / "out")
    assert not any(b"SECRET OUTSIDE" in data for data in files.values())
    assert not any(path.endswith("documents/brief.md") for path in files)
    assert any("brief.md" in w and "symbolic link" in w for w in warnings)
    assert "(file not available)" in (tmp_path / "out/internal/projects/web/files/index.html").read_text(
        encoding="utf-8"
    )


def load_ignoring_errors(root: Path) -> m.Workspace:
    _, result = validate_workspace(root)
    assert result.workspace is not None
    return result.workspace


# ------------------------------------------------------------------------------------------- command line


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_builds_every_audience_into_site_and_says_where_to_open_them(small: Path):
    code, out, _ = run("-C", str(small), "build")
    assert code == 0
    for name in ("acme", "gus", "internal"):
        assert (small / "site" / name / "index.html").is_file()
        assert f"open {small / 'site' / name / 'index.html'}" in out


def test_cli_unknown_audience_exits_2_with_the_known_ones(small: Path, tmp_path: Path):
    code, _, err = run("-C", str(small), "build", "--audience", "nobody", "--out", str(tmp_path / "o"))
    assert code == 2
    assert "unknown audience: nobody" in err and "known audiences: acme, gus, internal" in err
    assert not (tmp_path / "o").exists()


def test_cli_validation_errors_exit_1_and_write_nothing(small: Path, tmp_path: Path):
    (small / "projects/web/tasks/WEB-1.md").write_text("---\ntitle: T\nstatus: started\n---\n", encoding="utf-8")
    code, _, err = run("-C", str(small), "build", "--out", str(tmp_path / "o"))
    assert code == 1
    assert "WEB-1.md" in err and "nothing was built" in err
    assert not (tmp_path / "o").exists()


def test_cli_refuses_a_foreign_folder_with_exit_1(small: Path, tmp_path: Path):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "keep.txt").write_text("keep", encoding="utf-8")
    code, _, err = run("-C", str(small), "build", "--out", str(tmp_path / "o"))
    assert code == 1 and "refusing" in err


# ------------------------------------------------------------------------------------------- pages


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.lang: str | None = None
        self.hrefs: list[str] = []
        self.ids: list[str] = []
        self.inputs: list[str] = []
        self.labels: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.lang = values.get("lang")
        for key in ("href", "src"):
            if values.get(key):
                self.hrefs.append(str(values[key]))
        if values.get("id"):
            self.ids.append(str(values["id"]))
        if tag == "input":
            self.inputs.append(str(values.get("id")))
        if tag == "label" and values.get("for"):
            self.labels.add(str(values["for"]))


def pages_of(folder: Path) -> Iterator[tuple[Path, _Outline]]:
    for page in sorted(folder.rglob("*.html")):
        if "/documents/" in page.as_posix():
            continue
        outline = _Outline()
        outline.feed(page.read_text(encoding="utf-8"))
        yield page, outline


@pytest.mark.parametrize("audience", ["internal", "nina"])
def test_every_page_has_lang_one_h1_landmarks_skip_link_unique_ids_and_labelled_inputs(built: Path, audience: str):
    for page, outline in pages_of(built / audience):
        assert outline.lang == "en", page
        assert outline.tags.count("h1") == 1, page
        for landmark in ("header", "nav", "main", "footer"):
            assert landmark in outline.tags, (page, landmark)
        assert "#main" in outline.hrefs and "main" in outline.ids, page
        assert set(outline.inputs) <= outline.labels, page
        assert len(outline.ids) == len(set(outline.ids)), page


def test_every_link_is_relative_and_resolves_to_a_file_of_the_same_site(built: Path):
    for name in ("internal", "raj"):
        folder = built / name
        for page, outline in pages_of(folder):
            for href in outline.hrefs:
                parts = urlsplit(href)
                if parts.scheme in ("http", "https", "mailto", "tel") or href.startswith("#"):
                    continue
                assert not parts.scheme and not href.startswith("/"), (page, href)
                target = (page.parent / unquote(parts.path)).resolve()
                assert target.is_relative_to(folder.resolve()) and target.is_file(), (page, href)


def test_tasks_list_has_sorted_and_per_status_variants_that_work_without_javascript(built: Path):
    tasks = built / "internal/projects/acme-website/tasks"
    for variant in ("index", "by-title", "by-status", "by-priority", "by-assignee", "by-due"):
        assert (tasks / f"{variant}.html").is_file()
    for status in m.TASK_STATUSES:
        assert (tasks / f"status-{status}.html").is_file()
    by_due = (tasks / "by-due.html").read_text(encoding="utf-8")
    dues = re.findall(r'<td><time datetime="(\d{4}-\d\d-\d\d)">', by_due)
    assert dues == sorted(dues) and len(dues) > 10
    done = (tasks / "status-done.html").read_text(encoding="utf-8")
    assert "status-open" not in done.split("<tbody>")[1]


def test_search_page_lists_every_entry_without_javascript(built: Path):
    index = json.loads((built / "raj/search-index.json").read_text(encoding="utf-8"))
    page = (built / "raj/search.html").read_text(encoding="utf-8")
    assert index["entries"]
    assert page.count("<li data-search=") == len(index["entries"])
    assert all(not e["url"].startswith("/") for e in index["entries"])


def test_people_show_contacts_only_where_the_view_keeps_them(built: Path):
    acme = (built / "acme/people.html").read_text(encoding="utf-8")
    assert "mailto:" not in acme and "tel:" not in acme
    nina = (built / "nina/people.html").read_text(encoding="utf-8")
    assert "ana@example.com" in nina and "sofia@example.com" not in nina
    internal = (built / "internal/people.html").read_text(encoding="utf-8")
    assert "sofia@example.com" in internal and "Workspace settings" in internal
    assert "Workspace settings" not in nina


def test_reports_show_costs_only_to_audiences_that_see_money(built: Path):
    acme = (built / "acme/projects/acme-website/reports/index.html").read_text(encoding="utf-8")
    assert "€" not in acme
    internal = (built / "internal/projects/acme-website/reports/index.html").read_text(encoding="utf-8")
    assert "€" in internal and "<svg" in internal and "<title id=" in internal


def test_csv_cells_that_start_like_a_formula_are_neutralised():
    assert _csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _csv_cell("+1") == "'+1" and _csv_cell("@SUM(A1)") == "'@SUM(A1)" and _csv_cell("-x") == "'-x"
    assert _csv_cell("-12.5") == "-12.5" and _csv_cell("plain") == "plain"


def test_report_csvs_are_written_per_project(built: Path):
    reports = built / "internal/projects/acme-app/reports"
    for name in ("time-by-person", "time-by-month", "time-entries", "expenses"):
        assert (reports / f"{name}.csv").read_bytes().startswith(b"")
    entries = (reports / "time-entries.csv").read_text(encoding="utf-8").splitlines()
    assert entries[0] == "date,person,task,hours,billable,cost,note"
    acme = (built / "acme/projects/acme-app/reports/time-entries.csv").read_text(encoding="utf-8")
    assert acme.splitlines() == ["date,person,task,hours,billable,note"]


# ------------------------------------------------------------------------------------------- machine outputs


def test_ical_escapes_text_and_folds_lines_at_75_octets(built: Path):
    assert _ics_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    long = "SUMMARY:" + "é" * 80
    folded = _fold(long)
    assert all(len(line.encode()) <= 75 for line in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == long
    data = (built / "internal/calendar.ics").read_bytes()
    lines = data.split(b"\r\n")
    assert lines[0] == b"BEGIN:VCALENDAR" and lines[-2] == b"END:VCALENDAR" and lines[-1] == b""
    assert all(len(line) <= 75 for line in lines)
    text = data.decode()
    assert "TZID:Europe/Paris" in text and "BEGIN:VTIMEZONE" in text
    assert "RRULE:FREQ=WEEKLY;BYDAY=TH;UNTIL=" in text
    assert text.count("BEGIN:VEVENT") == text.count("END:VEVENT") > 40


def test_atom_feed_is_valid_even_without_events(built: Path):
    feed = ET.fromstring((built / "acme/feed.atom").read_bytes())
    ns = "{http://www.w3.org/2005/Atom}"
    assert feed.tag == f"{ns}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ns}{required}") is not None
    assert feed.findall(f"{ns}entry") == []


def test_trail_events_reach_the_trail_page_task_history_and_feed(views: dict[str, View], tmp_path: Path):
    event = TrailEvent(
        when=dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
        summary="status open → review <b>",
        author="Ana Costa",
        project="acme-website",
        entity="WEB-10",
        kind="task",
        message="Secret commit message",
        key="abc123",
    )
    build_audience_site(views["nina"], tmp_path, epoch=EPOCH, events=[event])
    trail = (tmp_path / "trail.html").read_text(encoding="utf-8")
    assert "status open → review &lt;b&gt;" in trail and "Secret commit message" not in trail
    task = (tmp_path / "projects/acme-website/tasks/WEB-10.html").read_text(encoding="utf-8")
    assert "status open → review" in task
    feed = ET.fromstring((tmp_path / "feed.atom").read_bytes())
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 1 and "Secret" not in ET.tostring(entries[0], encoding="unicode")
    assert "Secret commit message" not in (tmp_path / "export.json").read_text(encoding="utf-8")


def test_the_feed_and_the_trail_page_hold_the_newest_events_up_to_their_limits_and_each_month_page_all_of_its_month(
    views: dict[str, View], tmp_path: Path
):
    # Hourly from 30 January, 20:00 UTC: 31 January ends at 23:00 UTC in the workspace's time zone (Paris).
    start = dt.datetime(2026, 1, 30, 20, tzinfo=dt.UTC)
    count = max(site_module.FEED_ENTRIES, site_module.TRAIL_LATEST) + 5
    events = [TrailEvent(start + dt.timedelta(hours=n), f"event number {n}", "Tom Becker") for n in range(count)]
    build_audience_site(views["internal"], tmp_path, epoch=EPOCH, events=events)
    feed = ET.fromstring((tmp_path / "feed.atom").read_bytes())
    titles = [entry.findtext("{http://www.w3.org/2005/Atom}title") for entry in feed.findall("{*}entry")]
    assert titles == [f"event number {n}" for n in range(count - 1, count - 1 - site_module.FEED_ENTRIES, -1)]
    trail = (tmp_path / "trail.html").read_text(encoding="utf-8")
    shown = [n for n in range(count) if f"event number {n}<" in trail]
    assert shown == list(range(count - site_module.TRAIL_LATEST, count))
    # Every month is linked with its count, newest first; each event is on the page of its month, once.
    assert re.findall(r'<a href="(trail/[^"]+)">([^<]+)</a>', trail) == [
        ("trail/2026-02.html", f"February 2026 ({count - 27} events)"),
        ("trail/2026-01.html", "January 2026 (27 events)"),
    ]
    january = (tmp_path / "trail/2026-01.html").read_text(encoding="utf-8")
    february = (tmp_path / "trail/2026-02.html").read_text(encoding="utf-8")
    assert [n for n in range(count) if f"event number {n}<" in january] == list(range(27))
    assert [n for n in range(count) if f"event number {n}<" in february] == list(range(27, count))
    assert 'href="../trail.html"' in january and 'href="2026-02.html" rel="next"' in january
    assert 'href="2026-01.html" rel="prev"' in february and 'rel="next"' not in february
    assert sorted(path.name for path in (tmp_path / "trail").iterdir()) == ["2026-01.html", "2026-02.html"]


@functools.cache
def _internal_view() -> View:
    sample = load(SAMPLE)
    return redact(sample, next(a for a in default_audiences(sample) if a.name == "internal"), Policy(sample))


_ZONES = ["Europe/Paris", "Pacific/Kiritimati", "Etc/GMT+12", "America/St_Johns", "UTC", "Asia/Kathmandu"]
_OFFSETS = [dt.UTC, dt.timezone(dt.timedelta(hours=14)), dt.timezone(-dt.timedelta(hours=12, minutes=30))]


@settings(max_examples=150)
@given(
    zone=st.sampled_from(_ZONES),
    moments=st.lists(
        st.tuples(
            st.datetimes(min_value=dt.datetime(2024, 12, 25), max_value=dt.datetime(2026, 3, 5)),
            st.sampled_from(_OFFSETS),
            st.integers(min_value=1, max_value=3),
        ),
        max_size=40,
    ),
)
def test_each_trail_month_holds_exactly_the_events_of_its_month_in_the_workspace_zone_and_each_time_and_entity_history_is_indexed_as_is(
    zone: str, moments: list[tuple[dt.datetime, dt.tzinfo, int]]
) -> None:
    # Times in any order and offset (a commit's events share one time object), near month ends too.
    events: list[TrailEvent] = []
    for moment, offset, count in moments:
        when = moment.replace(tzinfo=offset)
        events.extend(
            TrailEvent(when, f"event {len(events)}", "Tom Becker", project, f"WEB-{n % 3}")
            for n, project in enumerate(["acme-website", None, "acme-app"][:count])
        )
    view = _internal_view()
    ws = dataclasses.replace(view.workspace, settings=dataclasses.replace(view.workspace.settings, timezone=zone))
    builder = site_module._Builder(
        dataclasses.replace(view, workspace=ws), EPOCH, MarkdownRenderer(), events, None, print
    )
    months = builder.trail_months()
    shown = builder.events  # newest first
    assert sorted(map(id, shown)) == sorted(map(id, events))
    assert builder.event_times() == [event.when.isoformat() for event in shown]
    local = [event.when.astimezone(ZoneInfo(zone)) for event in shown]
    assert [index for month in months for index in range(month.start, month.end)] == list(range(len(events)))
    for month in months:
        assert month.start < month.end
        assert {(moment.year, moment.month) for moment in local[month.start : month.end]} == {(month.year, month.month)}
    for before, after in itertools.pairwise(months):
        assert (before.year, before.month) != (after.year, after.month)
    # The index of each entity's events, made in the same pass: its events, newest first.
    index = builder._event_index
    assert index is not None
    for where, found in index.items():
        assert found == [event for event in shown if (event.project, event.kind, event.entity) == where]
    assert sum(len(found) for found in index.values()) == len(shown)


def test_commit_messages_are_shown_to_a_view_that_sees_everything(views: dict[str, View], tmp_path: Path):
    event = TrailEvent(dt.datetime(2026, 3, 2, tzinfo=dt.UTC), "created", "Tom Becker", message="Fix WEB-14 token")
    build_audience_site(views["internal"], tmp_path, epoch=EPOCH, events=[event])
    assert "Fix WEB-14 token" in (tmp_path / "trail.html").read_text(encoding="utf-8")


def test_json_export_is_the_redacted_workspace_with_sorted_keys_and_no_locations(built: Path, views):
    raw = (built / "nina/export.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    # Compact (json's C encoder), keys sorted, UTF-8 as is, one final newline.
    assert json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n" == raw
    assert '"loc"' not in raw and '"root"' not in raw
    tasks = data["workspace"]["projects"]["acme-website"]["tasks"]
    assert [t["id"] for t in tasks] == [t.id for t in views["nina"].workspace.projects["acme-website"].tasks]
    assert all(e["person"] == "nina" for e in data["workspace"]["projects"]["acme-website"]["time_entries"])


# ------------------------------------------------------------------------------------------- schedule and i18n


def comm_project(cadence: str, start: dt.date | None = dt.date(2026, 1, 5)) -> m.Project:
    return m.Project(
        id="p",
        name="P",
        key="P",
        status="active",
        members=(),
        start=start,
        due=dt.date(2026, 12, 31),
        communication=m.Communication(cadence=cadence, weekday="thursday", time="10:00", timezone="Europe/Paris"),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("cadence", "expected"),
    [
        ("weekly", dt.datetime(2026, 4, 2, 8, 0, tzinfo=dt.UTC)),
        ("biweekly", dt.datetime(2026, 4, 2, 8, 0, tzinfo=dt.UTC)),
        ("monthly", dt.datetime(2026, 4, 2, 8, 0, tzinfo=dt.UTC)),
    ],
)
def test_next_meeting_follows_cadence_weekday_time_and_time_zone(cadence: str, expected: dt.datetime):
    now = dt.datetime.fromtimestamp(EPOCH, tz=dt.UTC)  # Tuesday 31 March 2026
    assert next_meeting(comm_project(cadence), "UTC", now) == expected


def test_biweekly_meetings_count_from_the_project_start():
    now = dt.datetime(2026, 1, 9, tzinfo=dt.UTC)  # the Friday after the first meeting (8 Jan)
    assert next_meeting(comm_project("biweekly"), "UTC", now) == dt.datetime(2026, 1, 22, 9, 0, tzinfo=dt.UTC)


def test_no_next_meeting_after_the_project_due_date():
    assert next_meeting(comm_project("weekly"), "UTC", dt.datetime(2027, 1, 1, tzinfo=dt.UTC)) is None


def test_french_dates_and_money():
    fr = Formatter("fr", "EUR", "Europe/Paris")
    assert fr.date(dt.date(2026, 3, 3)) == "3 mars 2026"
    assert fr.date(dt.date(2026, 3, 1)) == "1er mars 2026"
    assert fr.money(1234.5) == f"1{NNBSP}234,50{NBSP}€"
    assert fr.hours(12.5) == f"12,5{NBSP}h"
    en = Formatter("en", "EUR")
    assert en.date(dt.date(2026, 3, 3)) == "3 March 2026"
    assert en.money(1234.5) == "€1,234.50" and en.money(-3) == "-€3.00"
    assert Formatter("en", "CHF").money(1000) == f"CHF{NBSP}1,000.00"
    assert Formatter("fr", "JPY").money(1234.4) == f"1{NNBSP}234{NBSP}¥"


def test_a_french_workspace_gets_french_pages(small: Path, tmp_path: Path):
    settings = small / "worktrail.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "language: fr\n", encoding="utf-8")
    build_small(small, tmp_path / "out")
    page = (tmp_path / "out/internal/projects/web/index.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in page and "Avancement" in page and "Jalons" in page
    assert "1er mars 2026" in page


# ------------------------------------------------------------------------------------------- templates


def _template_source(name: str) -> str:
    return (templates_dir() / name).read_text(encoding="utf-8")


def _page_attributes(env: jinja2.Environment, name: str, seen: set[str] | None = None) -> set[str]:
    """`page.<field>` read by a template and every template it includes."""
    seen = seen if seen is not None else set()
    if name in seen:
        return set()
    seen.add(name)
    tree = env.parse(_template_source(name))
    fields = {
        node.attr
        for node in tree.find_all(nodes.Getattr)
        if isinstance(node.node, nodes.Name) and node.node.name == "page"
    }
    for include in meta.find_referenced_templates(tree):
        if include and include not in ("base.html", "_macros.html", "_chart.html"):
            fields |= _page_attributes(env, include, seen)
    return fields


def test_templates_receive_exactly_the_documented_context_fields():
    env = site_module.environment()
    for context in PAGE_CONTEXTS:
        template = context.template  # type: ignore[attr-defined]
        declared = {f.name for f in dataclasses.fields(context)}
        assert _page_attributes(env, template) == declared, template
        tree = env.parse(_template_source(template))
        imported = {
            name if isinstance(name, str) else name[1]
            for node in tree.find_all(nodes.FromImport)
            for name in node.names
        }
        assert meta.find_undeclared_variables(tree) - imported <= {"site", "page"}, template


def test_base_template_reads_only_site_context_fields():
    env = site_module.environment()
    used: set[str] = set()
    for name in ("base.html", "_nav.html"):
        tree = env.parse(_template_source(name))
        used |= {
            n.attr for n in tree.find_all(nodes.Getattr) if isinstance(n.node, nodes.Name) and n.node.name == "site"
        }
    fields = {f.name for f in dataclasses.fields(SiteContext)} | {"t"}
    assert used <= fields


def test_every_ui_string_a_template_asks_for_exists():
    keys = string_keys()
    for path in sorted(templates_dir().glob("*.html")):
        for key in re.findall(r"site\.t\('([^']+)'", path.read_text(encoding="utf-8")):
            assert key in keys, (path.name, key)


def test_templates_never_write_html_comments():
    for path in sorted(templates_dir().glob("*.html")):
        assert "<!--" not in path.read_text(encoding="utf-8"), path.name


def test_markdown_is_rendered_once_per_build_and_reused_across_audiences(views: dict[str, View], tmp_path: Path):
    renderer = MarkdownRenderer()
    (tmp_path / "a").mkdir()
    build_audience_site(views["internal"], tmp_path / "a", epoch=EPOCH, renderer=renderer)
    first = renderer.renders
    assert first > 0
    (tmp_path / "b").mkdir()
    build_audience_site(views["internal"], tmp_path / "b", epoch=EPOCH, renderer=renderer)
    assert renderer.renders == first
    (tmp_path / "c").mkdir()
    build_audience_site(views["acme"], tmp_path / "c", epoch=EPOCH, renderer=renderer)
    # Most texts the client sees link the same visible targets as for the internal team.
    texts = sum(1 + len(t.comments) for p in views["acme"].workspace.projects.values() for t in p.tasks)
    assert renderer.renders - first < texts / 4


def test_every_status_priority_and_kind_has_a_label_in_both_languages():
    keys = string_keys()
    needed = (
        [f"status.{s}" for s in m.TASK_STATUSES]
        + [f"priority.{p}" for p in m.PRIORITIES]
        + [f"cr.{s}" for s in m.CR_STATUSES]
        + [f"project.{s}" for s in m.PROJECT_STATUSES]
        + [f"milestone.{s}" for s in m.MILESTONE_STATUSES]
        + [f"team.{k}" for k in ("internal", "client", "freelancer")]
        + [f"cadence.{c}" for c in ("weekly", "biweekly", "monthly")]
        + [f"sort.{k}" for k in site_module.SORT_KEYS]
        + [f"csv.{name.replace('-', '_')}" for name in site_module.CSV_FILES]
    )
    assert set(needed) <= keys
    for lang in ("en", "fr"):
        formatter = Formatter(lang)
        assert all(formatter.t(key) for key in needed)


# ------------------------------------------------------------------------------------------- speed, same bytes


@pytest.fixture
def pooled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker processes even for the small sample site (three workers besides the main process)."""
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    monkeypatch.setattr(render_pool, "MIN_PAGES_PER_WORKER", 1)
    monkeypatch.setattr(render_pool, "_cpus", lambda: 4)
    monkeypatch.setattr(render_pool, "workers_available", lambda: True)


def test_heavy_jobs_count_as_many_pages_toward_a_worker_and_are_taken_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[bool]
):
    """A rebuild has a few jobs that each make a file from every project (feed, export, ...) and little
    else: a worker pays for them, and no process takes two of them while another has none."""
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    with render_pool._Counter() as counter:
        assert [counter.take(4, 3) for _ in range(5)] == [
            range(0, 1),
            range(1, 2),
            range(2, 3),
            range(3, 7),
            range(7, 11),
        ]
    monkeypatch.setattr(render_pool, "_cpus", lambda: 2)
    monkeypatch.setattr(render_pool, "workers_available", lambda: True)
    ran = tmp_path / "ran"

    def job(number: int) -> Callable[[], None]:
        def run() -> None:
            with ran.open("a", encoding="utf-8") as handle:
                handle.write(f"{number}\n")

        return run

    jobs = [job(number) for number in range(5)]
    render_pool.run_jobs(jobs, heavy=0)
    assert forks == [] and sorted(ran.read_text().split()) == ["0", "1", "2", "3", "4"]
    ran.unlink()
    render_pool.run_jobs(jobs, heavy=3, weight=20)
    assert forks == [] and sorted(ran.read_text().split()) == ["0", "1", "2", "3", "4"]
    ran.unlink()
    render_pool.run_jobs(jobs, heavy=3, weight=64)
    assert forks == [True] and sorted(ran.read_text().split()) == ["0", "1", "2", "3", "4"]


def build_one(view: View, out: Path, renderer: MarkdownRenderer | None = None) -> dict[str, bytes]:
    out.mkdir()
    build_audience_site(view, out, epoch=EPOCH, renderer=renderer, files_root=SAMPLE)
    return all_files(out)


def test_workers_make_the_same_bytes_and_hand_back_the_markdown_they_rendered(
    views: dict[str, View], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pooled: None
):
    with monkeypatch.context() as single:
        single.setattr(render_pool, "workers_available", lambda: False)
        alone = MarkdownRenderer()
        expected = build_one(views["internal"], tmp_path / "alone", alone)
    shared = MarkdownRenderer()
    assert build_one(views["internal"], tmp_path / "pooled", shared) == expected
    # Every text was rendered once, by some process, and all of it came back to this one.
    assert shared.renders == alone.renders > 0
    monkeypatch.setattr(render_pool, "workers_available", lambda: False)
    assert build_one(views["internal"], tmp_path / "again", shared) == expected
    assert shared.renders == alone.renders


def _sites(
    sample: m.Workspace, out: Path, renderer: MarkdownRenderer, told: list[str] | None = None
) -> dict[str, bytes]:
    build_sites(sample, out, epoch=EPOCH, root=SAMPLE, renderer=renderer, warn=None if told is None else told.append)
    return all_files(out)


def _sites_alone(sample: m.Workspace, out: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Every audience's site built by this process alone (no worker)."""
    with monkeypatch.context() as single:
        single.setattr(render_pool, "workers_available", lambda: False)
        return _sites(sample, out, MarkdownRenderer())


def test_audiences_built_beside_in_a_worker_are_byte_identical_and_hand_back_their_markdown(
    sample: m.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pooled: None
):
    expected = _sites_alone(sample, tmp_path / "alone", monkeypatch)
    main_process = os.getpid()
    built_where: list[tuple[str, bool]] = []
    real = site_module.build_audience_site

    def noting(view: View, out: Path, **options: Any) -> None:
        built_where.append((view.audience.name, os.getpid() == main_process))
        real(view, out, **options)

    monkeypatch.setattr(site_module, "build_audience_site", noting)
    shared = MarkdownRenderer()
    assert _sites(sample, tmp_path / "beside", shared) == expected
    # Only the audience that sees most was built here (the others' calls were in the worker).
    assert built_where == [("internal", True)]
    # What the worker rendered came back: building again renders nothing new.
    renders = shared.renders
    monkeypatch.setattr(render_pool, "workers_available", lambda: False)
    assert _sites(sample, tmp_path / "again", shared) == expected
    assert shared.renders == renders


def test_audiences_of_a_worker_that_fails_are_built_again_by_the_main_process_and_its_warnings_told_once(
    sample: m.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pooled: None
):
    expected = _sites_alone(sample, tmp_path / "alone", monkeypatch)
    main_process = os.getpid()
    real = site_module.build_audience_site

    def fails_in_the_worker(view: View, out: Path, **options: Any) -> None:
        options["warn"](f"built {view.audience.name}")
        real(view, out, **options)
        if os.getpid() != main_process and view.audience.name == "nina":
            raise RuntimeError("worker dies after writing a whole site")

    monkeypatch.setattr(site_module, "build_audience_site", fails_in_the_worker)
    told: list[str] = []
    assert _sites(sample, tmp_path / "beside", MarkdownRenderer(), told) == expected
    names = sorted(audience.name for audience in default_audiences(sample))
    assert told == ["built internal", *(f"built {name}" for name in names if name != "internal")]
    # A worker that succeeds: its warnings are told here, after this process's, each once.
    monkeypatch.setattr(
        site_module,
        "build_audience_site",
        lambda view, out, **options: (options["warn"](f"built {view.audience.name}"), real(view, out, **options)),
    )
    told.clear()
    assert _sites(sample, tmp_path / "again", MarkdownRenderer(), told) == expected
    assert told == ["built internal", *(f"built {name}" for name in names if name != "internal")]


def test_a_worker_killed_half_way_leaves_its_pages_to_the_main_process(
    views: dict[str, View], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pooled: None
):
    with monkeypatch.context() as single:
        single.setattr(render_pool, "workers_available", lambda: False)
        expected = build_one(views["internal"], tmp_path / "alone")
    main_process = os.getpid()
    real = site_module.render_page

    def dies_in_a_worker(env: jinja2.Environment, page: site_module.Page, site: SiteContext) -> bytes:
        if os.getpid() != main_process and page.path.startswith("projects/acme-website/tasks/WEB-1"):
            os._exit(9)  # killed while writing its share: some files half done, nothing sent back
        return real(env, page, site)

    monkeypatch.setattr(site_module, "render_page", dies_in_a_worker)
    assert build_one(views["internal"], tmp_path / "pooled") == expected


def test_a_page_that_fails_fails_the_build_whichever_process_makes_it(
    sample: m.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pooled: None
):
    out = tmp_path / "out"
    build_sites(sample, out, epoch=EPOCH, root=SAMPLE)
    before = all_files(out)
    real = site_module.render_page

    def broken(env: jinja2.Environment, page: site_module.Page, site: SiteContext) -> bytes:
        if page.path == "projects/acme-website/tasks/WEB-12.html":
            raise RuntimeError("template error")
        return real(env, page, site)

    monkeypatch.setattr(site_module, "render_page", broken)
    with pytest.raises(RuntimeError, match="template error"):
        build_sites(sample, out, epoch=EPOCH, root=SAMPLE)
    assert all_files(out) == before


def test_the_feed_escapes_and_cleans_every_text_as_the_pages_do(views: dict[str, View], tmp_path: Path):
    hostile = 'a & b < c > d "q" \x00 \u202e \ud800'
    events = [
        TrailEvent(dt.datetime(2026, 3, 2, tzinfo=dt.UTC), hostile, "<Ana>", "acme-website", "WEB-10", key="k1"),
        TrailEvent(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), "", "", key="k2", message="]]> line\r\nnext\t"),
    ]
    build_audience_site(views["internal"], tmp_path, epoch=EPOCH, events=events)
    raw = (tmp_path / "feed.atom").read_text(encoding="utf-8")
    feed = ET.fromstring(raw.encode())
    ns = "{http://www.w3.org/2005/Atom}"
    first, second = feed.findall(f"{ns}entry")
    assert first.findtext(f"{ns}title") == clean_text(f"WEB-10: {hostile}")
    assert first.findtext(f"{ns}author/{ns}name") == "<Ana>"
    link = first.find(f"{ns}link")
    assert link is not None and link.get("href") == "projects/acme-website/tasks/WEB-10.html"
    # An empty summary is an empty element; a view that sees everything gets the commit message.
    assert second.findtext(f"{ns}title") == ""
    assert second.findtext(f"{ns}content") == clean_text("\n\n]]> line\r\nnext\t")
    assert "<title />" in raw and "&lt;Ana&gt;" in raw and "&amp;" in raw
    assert raw.startswith('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"')


@pytest.mark.parametrize("length", [0, 1, 74, 75, 76, 148, 149, 150, 223, 224, 400])
def test_ascii_lines_fold_exactly_as_character_by_character_folding(length: int):
    line = "".join(chr(ord("a") + i % 26) for i in range(length))
    folded = _fold(line)
    # The same cut points as for a line holding one two-octet character past the end.
    assert folded + "é" == _fold(line + "é") or folded + "\r\n é" == _fold(line + "é")
    physical = folded.split("\r\n")
    assert all(len(part.encode()) <= 75 for part in physical)
    assert all(part.startswith(" ") for part in physical[1:])
    assert "".join(part[1:] if index else part for index, part in enumerate(physical)) == line


@pytest.mark.parametrize("rel", ["../outside.html", "/etc/passwd", "a/../../b", "a//b", "./a", "a/.", "", "a\\b"])
def test_the_site_writer_refuses_any_path_that_is_not_plainly_inside_the_site(tmp_path: Path, rel: str):
    writer = site_module._SiteWriter(tmp_path)
    with pytest.raises(site_module.BuildError):
        writer.write(rel, b"x")
    assert list(tmp_path.iterdir()) == []


def test_the_site_writer_makes_folders_and_never_writes_through_a_link(tmp_path: Path):
    writer = site_module._SiteWriter(tmp_path / "site")
    (tmp_path / "site").mkdir()
    writer.write("projects/p/tasks/T-1.html", b"one")
    assert (tmp_path / "site/projects/p/tasks/T-1.html").read_bytes() == b"one"
    (tmp_path / "elsewhere").write_bytes(b"keep")
    (tmp_path / "site/link.html").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError):
        writer.write("link.html", b"over")
    assert (tmp_path / "elsewhere").read_bytes() == b"keep"


def test_a_build_hands_every_object_back_to_the_garbage_collector(
    sample: m.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    assert gc.get_freeze_count() == 0
    build_sites(sample, tmp_path / "a", ["acme"], epoch=EPOCH, root=SAMPLE)
    assert gc.get_freeze_count() == 0
    # A caller that froze objects itself keeps them frozen: the build never unfreezes them.
    unfrozen: list[bool] = []
    monkeypatch.setattr(gc, "unfreeze", lambda: unfrozen.append(True))
    gc.freeze()
    try:
        build_sites(sample, tmp_path / "b", ["acme"], epoch=EPOCH, root=SAMPLE)
    finally:
        monkeypatch.undo()
        gc.unfreeze()
    assert unfrozen == [] and gc.get_freeze_count() == 0


def test_search_json_files_are_compact_with_one_final_newline(built: Path):
    raw = (built / "internal/search-index.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    assert raw == json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    assert raw.count("\n") == 1


def test_the_export_is_written_record_by_record_as_the_bytes_of_one_json_document(views: dict[str, View]):
    view = views["internal"]
    project = view.workspace.projects["acme-website"]
    # More tasks and events than `_json_parts` keeps in one piece, with texts JSON must escape.
    many = tuple(
        dataclasses.replace(project.tasks[0], id=f"WEB-{900 + i}", title=f'"{i}" \x00 \ud800 é') for i in range(40)
    )
    project = dataclasses.replace(project, tasks=project.tasks + many)
    view = dataclasses.replace(
        view, workspace=dataclasses.replace(view.workspace, projects={**view.workspace.projects, project.id: project})
    )
    events = [TrailEvent(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), f"event {i}", "Ana", key=str(i)) for i in range(30)]
    builder = site_module._Builder(view, EPOCH, MarkdownRenderer(), events, None, lambda _message: None)
    whole = {
        "format": "worktrail-export",
        "version": 1,
        "audience": view.audience.name,
        "workspace": site_module._plain(view.workspace),
        "trail": [site_module._plain(event) for event in builder.events],
    }
    parts = list(builder.export_parts())
    assert b"".join(parts) == site_module._json_bytes(whole)
    assert json.loads(b"".join(parts))["workspace"]["projects"]["acme-website"]["tasks"][-1]["id"] == "WEB-939"


@pytest.mark.parametrize("batch", [1, 2, 3, 4096])
def test_pages_taken_from_the_template_in_batches_are_cleaned_as_a_whole(
    batch: int, monkeypatch: pytest.MonkeyPatch, views: dict[str, View]
):
    monkeypatch.setattr(site_module, "_RENDER_BATCH", batch)
    # Each summary is one piece of output, and the template's line break the next: "\r" | "\n".
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"trail.html": "{% for e in page.events %}{{ e }}\n{% endfor %}"})
    )
    texts = ("a\r", "\r", "b\x00\u202e", "\r\nc", "", "\ud800\r")
    page = site_module.Page("trail.html", "Trail", site_module.TrailPage(events=texts, feed_href="feed.atom"), "trail")  # type: ignore[arg-type]
    builder = site_module._Builder(views["acme"], EPOCH, MarkdownRenderer(), (), None, lambda _message: None)
    context = builder.site_context(page)
    whole = clean_text(env.get_template("trail.html").render(site=context, page=page.context)).encode()
    assert site_module.render_page(env, page, context) == whole
    assert whole.count(b"\n") == 7
