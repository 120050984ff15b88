"""Every output format stays well-formed and inert whatever any text field holds (issue 5, point 2).

Workspaces whose every free text is hostile (tests/hostile.py: markup, script, quotes, template
syntax, dangerous link schemes, formulas, iCalendar separators, controls, direction overrides,
odd Unicode, 100 KB strings) are built into sites, and every output file is read back with a real
parser: pages with a strict HTML parser, the search index and export with `json`, the feed with
ElementTree, the calendar with `icalendar`, the reports with `csv`.

The rule for characters that change what a reader sees without being seen (`render.clean_text`):
C0 controls other than tab and newline, DEL, C1 controls, direction embeddings, overrides and
isolates are replaced by U+FFFD on pages, in the feed, the calendar, the CSVs and the search index;
the JSON export is data and keeps them (JSON escapes controls itself).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import io
import json
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import icalendar
import jinja2
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from markupsafe import escape as markupsafe_escape

from tests.hostile import (
    CONTROLS,
    DIRECTION,
    EPOCH,
    EVALUATED,
    INVISIBLE,
    SNIPPETS,
    HostileCase,
    build_case,
    cycle,
    hostile_cases,
    snippet_case,
    write_hostile_workspace,
)
from worktrail.buildbase import TrailEvent
from worktrail.cli import main
from worktrail.policy import Policy
from worktrail.redact import default_audiences, redact
from worktrail.render import REPLACEMENT, clean_text
from worktrail.site import (
    _csv_cell,
    _escaped_text,
    _events_json,
    _fold,
    _ics_text,
    _json_bytes,
    _json_pieces,
    _plain,
    build_sites,
)
from worktrail.site import environment as site_environment

HOSTILE = settings(
    derandomize=True,
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
ATOM = "{http://www.w3.org/2005/Atom}"
# What must never reach a page, feed, calendar, CSV or the search index raw (see the module docstring).
RAW_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})
# Elements that run, load or submit something: none may come from a text.
ACTIVE = frozenset(
    {"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "img", "base", "form", "textarea"}
)
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "data", "poster", "srcset"})
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


# ================================================================================== strict readers


class StrictPage(HTMLParser):
    """Parses a page and records every problem: unbalanced tags, comments, active elements, handlers."""

    def __init__(self, name: str) -> None:
        super().__init__(convert_charrefs=True)
        self.name = name
        self.open: list[str] = []
        self.problems: list[str] = []
        self.tags: set[tuple[str, str]] = set()
        self.text: list[str] = []
        self.scripts: list[dict[str, str | None]] = []

    def problem(self, message: str) -> None:
        line, column = self.getpos()
        self.problems.append(f"{self.name}:{line}:{column}: {message}")

    def check_tag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add((tag, ""))
        self.tags.update((tag, name) for name, _ in attrs)
        values = dict(attrs)
        if tag == "script":
            self.scripts.append(values)
        elif tag in ACTIVE:
            self.problem(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on") or name == "srcdoc" or (name == "style" and not _alignment(tag, value)):
                self.problem(f"attribute {name}={value!r} on <{tag}>")
            if name in URL_ATTRIBUTES and value is not None and not _safe_url(value):
                self.problem(f"unsafe URL {name}={value!r} on <{tag}>")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.check_tag(tag, attrs)
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.check_tag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problem(f"</{tag}> closes {self.open[-1:]}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] in ("script", "style"):
            self.problem(f"inline <{self.open[-1]}> content {data[:40]!r}")
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.problem(f"comment {data[:40]!r}")

    def handle_decl(self, decl: str) -> None:
        if decl != "DOCTYPE html":
            self.problem(f"declaration {decl[:40]!r}")

    def handle_pi(self, data: str) -> None:
        self.problem(f"processing instruction {data[:40]!r}")

    def unknown_decl(self, data: str) -> None:
        self.problem(f"declaration {data[:40]!r}")


def _safe_url(url: str) -> bool:
    """A URL a page may hold: relative (to a file of the site), an anchor, or http(s), mailto, tel."""
    for candidate in (url, unquote(url)):
        squeezed = re.sub(r"[\x00-\x20\x7f]", "", candidate)
        match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*):", squeezed)
        if match is not None and match.group(1).lower() not in SAFE_SCHEMES:
            return False
    return True


def _alignment(tag: str, value: str | None) -> bool:
    # Markdown tables align columns with a style attribute, and nothing else.
    return tag in ("th", "td") and value in ("text-align:left", "text-align:right", "text-align:center")


# What Markdown may add to a page: its elements, link targets and titles, list starts, code languages.
MARKDOWN_MARKUP = frozenset(
    {(tag, "") for tag in ("p", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "hr", "br", "s")}
    | {(f"h{level}", "") for level in range(1, 7)}
    | {(tag, "") for tag in ("table", "thead", "tbody", "tr", "th", "td")}
    | {("a", ""), ("a", "href"), ("a", "title"), ("ol", "start"), ("code", "class"), ("th", "style"), ("td", "style")}
)


@functools.cache
def allowed_markup() -> frozenset[tuple[str, str]]:
    """Elements and attributes of the same sites built from plain texts, plus what Markdown makes."""
    with tempfile.TemporaryDirectory() as tmp:
        case = build_case(lambda: "Plain text", lambda: "Plain text.")
        folders = build_sites(case.ws, Path(tmp) / "site", epoch=EPOCH, events=lambda view: case.events)
        tags = {pair for folder in folders for pair in read_site(folder).tags}
    return frozenset(tags | MARKDOWN_MARKUP)


@dataclass
class SiteRead:
    """Everything read back from one audience's site."""

    folder: Path
    page_text: dict[str, str] = field(default_factory=dict)
    # Every element (tag, "") and attribute (tag, name) found on the pages.
    tags: set[tuple[str, str]] = field(default_factory=set)
    export: dict[str, object] = field(default_factory=dict)
    search: dict[str, object] = field(default_factory=dict)
    feed: ET.Element | None = None
    calendar: icalendar.Calendar | None = None
    csvs: dict[str, list[list[str]]] = field(default_factory=dict)


def read_page(name: str, data: bytes) -> StrictPage:
    """A page parsed strictly; fails the test on any problem."""
    text = data.decode("utf-8")
    assert text.startswith("<!DOCTYPE html>"), name
    page = StrictPage(name)
    page.feed(text)
    page.close()
    assert page.problems == [], page.problems[:5]
    assert page.open == [], f"{name}: unclosed {page.open}"
    assert [script.get("src", "") for script in page.scripts] == [page_root(name) + "assets/site.js"], name
    return page


def page_root(name: str) -> str:
    return "../" * name.count("/")


def read_calendar(name: str, data: bytes) -> icalendar.Calendar:
    """The calendar parsed by `icalendar`, after checking RFC 5545 lines: CRLF, <= 75 octets, whole characters."""
    assert data.endswith(b"\r\n"), name
    lines = data[:-2].split(b"\r\n")
    for line in lines:
        assert len(line) <= 75, (name, line[:80])
        line.decode("utf-8")  # a fold never splits a UTF-8 sequence
        assert b"\r" not in line and b"\n" not in line
        assert not re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", line), (name, line)
    calendar = icalendar.Calendar.from_ical(data)
    assert isinstance(calendar, icalendar.Calendar)
    return calendar


def read_csv(name: str, data: bytes) -> list[list[str]]:
    """Rows of a report CSV; every row has the header's width and no cell starts like a formula."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows, name
    assert {len(row) for row in rows} == {len(rows[0])}, name
    for row in rows:
        for cell in row:
            formula = cell.startswith(FORMULA_START) or cell.lstrip().startswith(FORMULA_START)
            assert not formula or PLAIN_NUMBER.match(cell), (name, cell[:40])
    return rows


def read_site(folder: Path) -> SiteRead:
    """Parse every file of a built site with a real parser and check what holds for every format."""
    site = SiteRead(folder)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        for marker in EVALUATED:
            assert marker.encode() not in data, f"{name}: template syntax was evaluated"
        if name.startswith("assets/") or "/documents/" in name:
            continue
        text = data.decode("utf-8")
        if name != "export.json":
            # Calendar and CSV lines end in CRLF by their standards; no other CR may appear.
            lines = text.replace("\r\n", "\n") if name.endswith((".ics", ".csv")) else text
            found = RAW_UNSAFE.search(lines)
            assert found is None, f"{name}: {found.group()!r} reached the output raw"
        if name.endswith(".html"):
            assert "\r" not in text, name
            page = read_page(name, data)
            site.page_text[name] = "".join(page.text)
            site.tags |= page.tags
        elif name == "export.json":
            site.export = json.loads(text)
        elif name == "search-index.json":
            site.search = json.loads(text)
        elif name == "feed.atom":
            site.feed = ET.fromstring(data)
        elif name == "calendar.ics":
            site.calendar = read_calendar(name, data)
        elif name.endswith(".csv"):
            site.csvs[name] = read_csv(name, data)
    assert site.feed is not None and site.calendar is not None and site.export and site.search
    return site


def build(case: HostileCase, out: Path) -> dict[str, SiteRead]:
    """Build every audience of the case and read each site back."""
    folders = build_sites(case.ws, out, epoch=EPOCH, events=lambda view: case.events)
    return {folder.name: read_site(folder) for folder in folders}


def all_page_text(site: SiteRead) -> str:
    return "\n".join(site.page_text.values())


def check_case(case: HostileCase, sites: dict[str, SiteRead]) -> None:
    """What every hostile build must satisfy beyond parsing: texts shown escaped, export round-trips."""
    internal = sites["internal"]
    shown = all_page_text(internal)
    for site in sites.values():
        assert site.tags <= allowed_markup(), sorted(site.tags - allowed_markup())
    for text in case.plain:
        assert clean_text(text) in shown, f"{text[:60]!r} is not on any page as text"
    ws = case.ws
    audiences = {a.name: a for a in default_audiences(ws)}
    policy = Policy(ws)
    for name, site in sites.items():
        view = redact(ws, audiences[name], policy)
        assert site.export["workspace"] == json.loads(json.dumps(_plain(view.workspace)))
        entries = site.search["entries"]
        assert isinstance(entries, list)
        assert all(set(entry) == {"kind", "title", "url", "text"} for entry in entries)


# ================================================================================== one fixed hostile site


@pytest.fixture(scope="module")
def snippet() -> HostileCase:
    return snippet_case()


@pytest.fixture(scope="module")
def sites(snippet: HostileCase, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SiteRead]:
    return build(snippet, tmp_path_factory.mktemp("hostile") / "site")


def test_every_page_parses_strictly_with_only_the_sites_own_script(sites: dict[str, SiteRead]):
    # read_site already failed on any problem; this states what it checked.
    for site in sites.values():
        assert site.page_text, "no pages"
        assert not {tag for tag, _ in site.tags} & ACTIVE - {"script"}


def test_hostile_texts_make_no_element_or_attribute_that_plain_texts_do_not(sites: dict[str, SiteRead]):
    for site in sites.values():
        assert site.tags <= allowed_markup(), sorted(site.tags - allowed_markup())


def test_hostile_plain_texts_appear_on_the_pages_only_as_escaped_text(snippet: HostileCase, sites):
    check_case(snippet, sites)
    shown = all_page_text(sites["internal"])
    for literal in ('<script>alert("xss")</script>', '"><svg onload=alert(1)>', "</textarea></title></style>"):
        assert literal in shown
    raw = b"".join((sites["internal"].folder / name).read_bytes() for name in sites["internal"].page_text)
    assert b"<script>alert" not in raw and b"<svg onload" not in raw and b"<iframe" not in raw


def test_template_syntax_appears_literally_and_is_never_evaluated(sites: dict[str, SiteRead]):
    shown = all_page_text(sites["internal"])
    for literal in ("{{ 'EVALU' ~ 'ATED' }}", "{% raw %}{% endraw %}", "${'EVALU' + 'ATED'}", "{label} {0} {date}"):
        assert literal in shown


def test_markdown_keeps_no_javascript_data_or_vbscript_link(sites: dict[str, SiteRead]):
    folder = sites["internal"].folder
    for name in sites["internal"].page_text:
        data = (folder / name).read_text(encoding="utf-8").lower()
        for scheme in ("javascript:", "vbscript:", "data:text"):
            assert f'href="{scheme}' not in data and f"href='{scheme}" not in data, name


def test_controls_and_direction_overrides_are_replaced_on_pages_and_kept_in_the_export(sites, snippet):
    internal = sites["internal"]
    shown = all_page_text(internal)
    assert REPLACEMENT * len(DIRECTION) in shown
    assert INVISIBLE in shown  # zero-width characters and marks stay: scripts and emoji need them
    export = (internal.folder / "export.json").read_text(encoding="utf-8")
    assert json.loads(export)["workspace"]["settings"]["name"] == snippet.ws.settings.name


def test_search_index_is_json_with_cleaned_titles(sites: dict[str, SiteRead], snippet: HostileCase):
    entries = sites["internal"].search["entries"]
    assert isinstance(entries, list)
    titles = {entry["title"] for entry in entries}
    task = snippet.ws.projects["web"].tasks[0]
    assert clean_text(f"{task.id}: {task.title}") in titles


def test_atom_feed_parses_as_xml_and_carries_the_cleaned_texts(sites: dict[str, SiteRead], snippet: HostileCase):
    feed = sites["internal"].feed
    assert feed is not None
    titles = [entry.findtext(f"{ATOM}title") for entry in feed.iter(f"{ATOM}entry")]
    for event in snippet.events:
        assert clean_text(f"{event.entity}: {event.summary}") in titles
    contents = "".join(entry.findtext(f"{ATOM}content") or "" for entry in feed.iter(f"{ATOM}entry"))
    assert clean_text(snippet.events[0].message or "") in contents


def test_icalendar_parses_and_unescapes_to_the_cleaned_texts(sites: dict[str, SiteRead], snippet: HostileCase):
    calendar = sites["internal"].calendar
    assert calendar is not None
    summaries = [str(event.get("SUMMARY")) for event in calendar.walk("VEVENT")]
    project = snippet.ws.projects["web"]
    task = project.tasks[0]
    assert any(clean_text(task.title) in summary for summary in summaries)
    assert any(clean_text(project.milestones[0].title) in summary for summary in summaries)
    meeting = next(e for e in calendar.walk("VEVENT") if str(e.get("UID")).startswith("meeting-"))
    assert str(meeting.get("DESCRIPTION")) == clean_text("\n".join(project.meetings[0].decisions))
    schedule = next(e for e in calendar.walk("VEVENT") if str(e.get("UID")).startswith("schedule-"))
    assert str(schedule.get("LOCATION")) == clean_text(project.communication.channel or "")  # type: ignore[union-attr]


def test_csv_cells_read_back_as_the_cleaned_texts_with_formulas_neutralised(sites, snippet: HostileCase):
    rows = sites["internal"].csvs["projects/web/reports/time-entries.csv"]
    note = snippet.ws.projects["web"].time_entries[0].note or ""
    assert rows[1][-1] == expected_cell(note)
    expenses = sites["internal"].csvs["projects/web/reports/expenses.csv"]
    assert expenses[1][-1] == expected_cell(snippet.ws.projects["web"].expenses[0].description)


def expected_cell(text: str) -> str:
    cleaned = clean_text(text)
    formula = cleaned.startswith(FORMULA_START) or cleaned.lstrip().startswith(FORMULA_START)
    return "'" + cleaned if formula and not PLAIN_NUMBER.match(cleaned) else cleaned


# ================================================================================== generated hostile sites


@HOSTILE
@given(hostile_cases())
def test_any_hostile_workspace_builds_sites_whose_every_file_parses_and_stays_inert(case: HostileCase):
    with tempfile.TemporaryDirectory() as tmp:
        sites = build(case, Path(tmp) / "site")
        check_case(case, sites)


def test_100_kb_texts_build_well_formed_sites(tmp_path: Path):
    case = snippet_case(size=100_000)
    sites = build(case, tmp_path / "site")
    check_case(case, sites)


def test_a_hostile_workspace_on_disk_validates_builds_and_every_output_parses(tmp_path: Path):
    root = tmp_path / "ws"
    write_hostile_workspace(root, cycle(list(SNIPPETS)))
    runner = CliRunner()
    checked = runner.invoke(main, ["-C", str(root), "validate"])
    assert checked.exit_code == 0, checked.output
    built = runner.invoke(main, ["-C", str(root), "build", "--no-trail", "--out", str(tmp_path / "site")])
    assert built.exit_code == 0, built.output
    assert built.exception is None or isinstance(built.exception, SystemExit)
    for audience in ("internal", "acme"):
        site = read_site(tmp_path / "site" / audience)
        assert site.page_text


# ================================================================================== the rules, one by one


def test_clean_text_replaces_controls_and_direction_overrides_and_keeps_tab_newline_and_joiners():
    assert clean_text("a\tb\nc") == "a\tb\nc"
    assert clean_text("a\r\nb\rc") == "a\nb\nc"
    controls = CONTROLS.replace("\r", "")
    assert clean_text(controls) == REPLACEMENT * len(controls)
    assert clean_text(DIRECTION) == REPLACEMENT * len(DIRECTION)
    assert clean_text(INVISIBLE) == INVISIBLE
    emoji = "\U0001f469\u200d\U0001f469\u200d\U0001f467 e\u0301 \u05e9\u05dc\u05d5\u05dd"
    assert clean_text(emoji) == emoji


@settings(derandomize=True, deadline=None, max_examples=200)
@given(st.text())
def test_clean_text_output_has_no_unsafe_character_and_keeps_everything_else(text: str):
    cleaned = clean_text(text)
    assert not RAW_UNSAFE.search(cleaned) and "\r" not in cleaned
    assert len(cleaned) == len(text) - text.count("\r\n")


@settings(derandomize=True, deadline=None, max_examples=200)
@given(st.text(max_size=400))
def test_ical_text_unescapes_to_the_cleaned_text_and_folds_on_character_boundaries(text: str):
    line = "SUMMARY:" + _ics_text(text)
    folded = _fold(line)
    for physical in folded.split("\r\n"):
        assert len(physical.encode("utf-8", "surrogatepass")) <= 75
    assert folded.replace("\r\n ", "") == line
    event = icalendar.Event.from_ical(f"BEGIN:VEVENT\r\n{folded}\r\nEND:VEVENT\r\n")
    expected = clean_text(text)
    assert str(event.get("SUMMARY", "")) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        (" =1+1", "' =1+1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\n=1"),
        ("@cmd", "'@cmd"),
        ("+x", "'+x"),
        ("-x", "'-x"),
        ("-12.5", "-12.5"),
        ("a=b", "a=b"),
        ("\x00=1", "\ufffd=1"),
    ],
)
def test_csv_cells_that_could_run_as_a_formula_get_a_leading_apostrophe(cell: str, expected: str):
    assert _csv_cell(cell) == expected


def test_json_files_stay_valid_even_with_a_lone_surrogate():
    data = _json_bytes({"title": "a\ud800b", "ctrl": "\x00\x1f"})
    data.decode("utf-8")
    assert json.loads(data) == {"title": "a\ud800b", "ctrl": "\x00\x1f"}


def test_a_model_with_a_lone_surrogate_still_builds_with_it_replaced(tmp_path: Path):
    case = snippet_case()
    project = case.ws.projects["web"]
    odd = dataclasses.replace(project.tasks[0], title="lone \ud800 surrogate")
    project = dataclasses.replace(project, tasks=(odd, *project.tasks[1:]))
    ws = dataclasses.replace(case.ws, projects={"web": project})
    folders = build_sites(ws, tmp_path / "site", ["internal"], epoch=EPOCH)
    assert f"lone {REPLACEMENT} surrogate" in all_page_text(read_site(folders[0]))


class _Shown:
    """A value a template shows that is neither text nor HTML (a number, a date ...): shown as its `str`."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


class _Html:
    """A value that says it is HTML already (as `Markup` pieces do)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __html__(self) -> str:
        return self.text


_SHOWN_VALUES = st.one_of(
    st.text(),
    st.text().map(Markup),
    st.text().map(_Html),
    st.text().map(_Shown),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
)


@settings(derandomize=True, deadline=None, max_examples=300)
@given(_SHOWN_VALUES)
def test_a_value_shown_by_a_site_template_is_escaped_exactly_as_markupsafe_escapes_it(value: object):
    assert _escaped_text(value) == str(markupsafe_escape(value))


@settings(derandomize=True, deadline=None, max_examples=60)
@given(st.lists(_SHOWN_VALUES, min_size=1, max_size=4))
def test_site_templates_render_hostile_values_as_a_plain_jinja2_environment_does(values: list[object]):
    # Output expressions, a loop, a macro and a block assignment: every place a template shows a value.
    source = (
        "{% macro item(v) %}<i title='{{ v }}'>{{ v }}</i>{% endmacro %}"
        "{% set block %}<b>{{ values[0] }}</b>{% endset %}"
        '<p>{% for v in values %}{{ v }}|{{ item(v) }}|"{{ v ~ "&" }}"{% endfor %}</p>{{ block }}'
    )
    plain = jinja2.Environment(autoescape=True)
    site_env = site_environment()
    assert site_env.from_string(source).render(values=values) == plain.from_string(source).render(values=values)


_EVENT_TEXTS = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)


@settings(derandomize=True, deadline=None, max_examples=150)
@given(
    st.lists(
        st.builds(
            TrailEvent,
            when=st.datetimes(timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5, minutes=-30))])),
            summary=_EVENT_TEXTS,
            author=_EVENT_TEXTS,
            project=st.none() | _EVENT_TEXTS,
            entity=st.none() | _EVENT_TEXTS,
            kind=st.sampled_from(["task", "comment", "project", "time"]),
            message=st.none() | _EVENT_TEXTS,
            key=_EVENT_TEXTS,
        ),
        max_size=8,
    )
)
def test_the_exports_events_encoded_in_one_go_are_the_bytes_of_each_event_encoded_alone(events: list[TrailEvent]):
    # Lone surrogates, controls and quotes included: the export keeps texts as written.
    alone = b",".join("".join(_json_pieces(event)).encode("utf-8", "backslashreplace") for event in events)
    assert _events_json(events, [event.when.isoformat() for event in events]) == alone
