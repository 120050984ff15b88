"""Each Markdown text is parsed once, each template compiled once per build (and kept compiled in the build cache).

Rendering a text for its page gives its plain text (search, feeds) too.

`MarkdownRenderer.render` rewrites the parsed tokens (references become links whose text is the
reference, unsafe and relative links lose their tag but keep their label, images become links or
their alt text, headings shift), none of which changes the text content that `plain` collects. So
the plain text taken from a render equals a separate parse, whichever comes first and whichever
process made it; and a first build runs search after the pages, when no text needs parsing again.

Templates are all compiled when the environment is made, before any worker is forked, and loaded
from a folder of the build cache when an earlier build compiled them (`site.environment`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from worktrail import render_pool
from worktrail import site as site_module
from worktrail.buildcache import CACHE_ENV, cache_folder
from worktrail.cli import main
from worktrail.redact import View
from worktrail.render import Link, MarkdownRenderer, find_references
from worktrail.site import SearchEntry, _Builder, build_audience_site

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample-workspace"
EPOCH = 1774958400  # 2026-03-31 12:00 UTC, "today" in the sample workspace
CLI_ENV = {"SOURCE_DATE_EPOCH": str(EPOCH), "GIT_CONFIG_NOSYSTEM": "1"}

# -- Markdown made of every construct the rewrite touches ----------------------------------------------

REFERENCES = ("WEB-1", "WEB-12", "CR-3", "ALPHA-7")
URLS = (
    "https://example.org/a?b=1",
    "http://example.org",
    "mailto:a@example.org",
    "#top",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java%09script:x",
    "data:text/html;base64,PHNjcmlwdD4=",
    "../changes/CR-3.md",
    "notes.md",
    "//evil.example",
    "",
)
words = st.sampled_from(("plan", "the", "WEB-1x", "a/WEB-2", "é", "<b>", "&amp;", "\\*", "_", "*", "`", "|", "!"))
references = st.sampled_from(REFERENCES)
urls = st.sampled_from(URLS)
phrase = st.lists(st.one_of(words, references), min_size=1, max_size=4).map(" ".join)


@st.composite
def inline(draw: st.DrawFn) -> str:
    label = draw(phrase)
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return f"[{label}]({draw(urls)})"
    if kind == 1:
        return f"![{label}]({draw(urls)})"
    if kind == 2:
        # An image inside a link, and a link inside an image's alt text.
        return f"[![{label}]({draw(urls)}) {draw(phrase)}]({draw(urls)})"
    if kind == 3:
        return f"![[{label}]({draw(urls)})]({draw(urls)})"
    if kind == 4:
        return f"`{label}`"
    if kind == 5:
        return f"**{label}** _{draw(phrase)}_ ~~{draw(phrase)}~~"
    if kind == 6:
        return f"<{draw(urls)}>"
    if kind == 7:
        return f"[{label}][ref]"
    if kind == 8:
        return f"{label}  \n{draw(phrase)}\\\n"
    return label


line = st.lists(inline(), min_size=1, max_size=5).map(" ".join)


@st.composite
def block(draw: st.DrawFn) -> str:
    text = draw(line)
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return f"{'#' * draw(st.integers(1, 6))} {text}"
    if kind == 1:
        return f"{text}\n{draw(st.sampled_from(('===', '---')))}"
    if kind == 2:
        return f"```{draw(st.sampled_from(('', 'python')))}\n{text}\n```"
    if kind == 3:
        return f"    {text}"
    if kind == 4:
        return f"| {draw(phrase)} | {draw(phrase)} |\n| --- | :-: |\n| {text} | {draw(line)} |"
    if kind == 5:
        return f"- {text}\n- {draw(line)}\n  1. {draw(line)}"
    if kind == 6:
        return f"> {text}\n> > {draw(line)}"
    if kind == 7:
        return f'[ref]: {draw(urls) or "x"} "{draw(phrase)}"'
    if kind == 8:
        return f"<div>{text}</div>"
    return text


markdown = st.lists(block(), max_size=6).map("\n\n".join)


def resolver(seen: frozenset[str]) -> Callable[[str], Link | None]:
    """Links for the references in `seen`, with hrefs and titles that need escaping."""

    def resolve(ref: str) -> Link | None:
        return Link(f'../tasks/{ref}.html?a=1&b="2"', f"{ref}: <Title> & more") if ref in seen else None

    return resolve


def separately(text: str) -> str:
    """The plain text of `text` from a renderer that never rendered it."""
    return MarkdownRenderer().plain(text)


# -- the rule ------------------------------------------------------------------------------------------


@given(markdown, st.frozensets(st.sampled_from(REFERENCES)), st.integers(1, 6))
def test_plain_text_from_render_equals_separate_parse(text: str, seen: frozenset[str], top: int):
    md = MarkdownRenderer()
    md.render(text, resolver(seen), top)
    assert md.knows_plain(text)
    assert md.plain(text) == separately(text)


@given(st.text(max_size=300), st.booleans())
def test_plain_text_from_render_equals_separate_parse_for_any_text(text: str, linked: bool):
    md = MarkdownRenderer()
    md.render(text, resolver(frozenset(find_references(text)) if linked else frozenset()))
    assert md.plain(text) == separately(text)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("Blocked by WEB-12 and CR-3.", "Blocked by WEB-12 and CR-3."),
        ("[click WEB-1](javascript:alert(1)) and [notes](notes.md)", "click WEB-1 and notes"),
        (
            "![a chart](https://example.org/c.png) ![bad](javascript:x) ![](https://x.org/i.png)",
            "a chart bad https://x.org/i.png",
        ),
        ("## Request\n\n###### Detail WEB-1", "Request Detail WEB-1"),
        ("`WEB-1` in code\n\n```\nWEB-12\n```", "WEB-1 in code WEB-12"),
        ("| a | WEB-1 |\n| - | - |\n| CR-3 | [x](https://x.org) |", "a WEB-1 CR-3 x"),
    ],
)
def test_references_links_images_headings_code_and_tables_keep_their_plain_text(text: str, plain: str):
    md = MarkdownRenderer()
    md.render(text, resolver(frozenset(REFERENCES)), top=4)
    assert md.plain(text) == separately(text) == plain


@given(markdown, st.frozensets(st.sampled_from(REFERENCES)))
def test_plain_text_and_html_are_the_same_whether_plain_or_render_comes_first(text: str, seen: frozenset[str]):
    render_first, plain_first = MarkdownRenderer(), MarkdownRenderer()
    html = render_first.render(text, resolver(seen))
    plain = plain_first.plain(text)
    assert plain_first.render(text, resolver(seen)) == html
    assert render_first.plain(text) == plain_first.plain(text) == plain
    assert render_first.remembered() == plain_first.remembered() == (1, 1)


def test_a_render_makes_plain_parse_nothing_again(monkeypatch: pytest.MonkeyPatch):
    md = MarkdownRenderer()
    parses: list[dict[str, Any]] = []
    real = md._md.parse

    def counting(text: str, env: dict[str, Any] | None = None) -> Any:
        parses.append(env or {})
        return real(text, env)

    monkeypatch.setattr(md._md, "parse", counting)
    text = "# Plan\n\nSee WEB-1, [the spec](https://example.org) and ![chart](c.png)."
    md.render(text, resolver(frozenset({"WEB-1"})))
    md.render(text, resolver(frozenset()))
    assert md.plain(text) == "Plan See WEB-1, the spec and chart."
    assert len(parses) == 2 and all("worktrail_top" in env for env in parses)


def test_plain_text_learnt_while_rendering_travels_with_the_renders():
    """What a worker (or an earlier build, through the build cache) rendered comes with its plain text."""
    text = "Needs **WEB-12** and [the brief](https://example.org/brief)."
    parent = MarkdownRenderer()
    parent.plain("Already known.")
    mark = parent.remembered()
    worker = MarkdownRenderer()
    worker.remember(parent.remembered_since())
    worker.render(text, resolver(frozenset({"WEB-12"})))
    parent.remember(worker.remembered_since(mark))
    assert parent.knows_plain(text)
    assert parent.plain(text) == separately(text) == "Needs WEB-12 and the brief."
    assert parent.remembered() == (1, 2)


# -- the site: search waits for the pages only when their texts are new --------------------------------


def all_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def build(view: View, out: Path, renderer: MarkdownRenderer) -> dict[str, bytes]:
    out.mkdir()
    build_audience_site(view, out, epoch=EPOCH, renderer=renderer, files_root=SAMPLE)
    return all_files(out)


def plain_parses(renderer: MarkdownRenderer, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts `renderer` parses for `plain` alone, in this process, from now on."""
    parsed: list[str] = []
    real = renderer._md.parse

    def counting(text: str, env: dict[str, Any] | None = None) -> Any:
        if env is not None and "worktrail_top" not in env:
            parsed.append(text)
        return real(text, env)

    monkeypatch.setattr(renderer._md, "parse", counting)
    return parsed


@pytest.mark.parametrize("workers", [False, True])
def test_first_build_searches_after_the_pages_and_parses_no_text_for_it(
    internal: View, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: bool
):
    if workers:
        if not hasattr(os, "fork"):
            pytest.skip("needs fork")
        monkeypatch.setattr(render_pool, "MIN_PAGES_PER_WORKER", 1)
        monkeypatch.setattr(render_pool, "_cpus", lambda: 3)
    monkeypatch.setattr(render_pool, "workers_available", lambda: workers)
    searched_by = tmp_path / "searched-by"
    real = _Builder.search_entries

    def search_entries(builder: _Builder, page_path: str) -> list[SearchEntry]:
        with searched_by.open("a") as log:  # a worker's memory does not come back; a file does
            log.write(f"{os.getpid()}\n")
        return real(builder, page_path)

    monkeypatch.setattr(_Builder, "search_entries", search_entries)
    fresh = MarkdownRenderer()
    parsed = plain_parses(fresh, monkeypatch)
    first = build(internal, tmp_path / "first", fresh)
    # Search ran here, after every worker had handed back its renders, and parsed nothing again.
    assert searched_by.read_text() == f"{os.getpid()}\n"
    assert parsed == []
    assert b'"kind":"task","text":"' in first["search-index.json"]
    # Once every text is known, search runs among the pages again: the same bytes.
    assert build(internal, tmp_path / "again", fresh) == first
    assert build(internal, tmp_path / "plain-first", plain_first(internal)) == first


def test_search_waits_for_the_pages_exactly_when_more_than_half_of_its_texts_are_new(internal: View) -> None:
    texts = list(dict.fromkeys(_Builder(internal, EPOCH, MarkdownRenderer(), (), None, print).searched_texts()))
    assert texts

    @given(known=st.sets(st.sampled_from(texts)))
    def check(known: set[str]) -> None:
        renderer = MarkdownRenderer()
        for text in known:
            renderer.plain(text)
        builder = _Builder(internal, EPOCH, renderer, (), None, print)
        searched = list(builder.searched_texts())
        new = sum(1 for text in searched if text not in known)
        assert builder.search_waits() == (new * 2 > len(searched))

    check()


def plain_first(view: View) -> MarkdownRenderer:
    """A renderer that knows the plain text of every searched text, and has rendered none of them."""
    md = MarkdownRenderer()
    for project in view.workspace.projects.values():
        for records in (project.tasks, project.changes, project.meetings, project.feedback):
            for record in records:
                md.plain(record.body)
    assert md.remembered()[0] == 0
    return md


# -- templates: compiled once, before workers fork; kept compiled in the build cache ----------------------


PAGE_TEMPLATES = sorted(p.name for p in (ROOT / "site-templates").glob("*.html"))


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Records every template Jinja2 compiles from source from now on (by name)."""
    names: list[str] = []
    real = jinja2.Environment.compile

    def compile(env: jinja2.Environment, source: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        names.append(name or "?")
        return real(env, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", compile)
    yield names


def make_environment(folder: Path | None) -> jinja2.Environment:
    """A new environment (not the one `site.environment` remembers for this process)."""
    return site_module.environment.__wrapped__(None if folder is None else str(folder))


def test_every_template_is_compiled_when_the_environment_is_made_so_forked_workers_compile_none(
    compiled: list[str],
):
    env = make_environment(None)
    assert sorted(compiled) == PAGE_TEMPLATES
    for name in PAGE_TEMPLATES:
        env.get_template(name)
    assert len(compiled) == len(PAGE_TEMPLATES)


def test_compiled_templates_are_kept_in_the_cache_folder_and_loaded_from_it_next_time(
    tmp_path: Path, compiled: list[str]
):
    folder = tmp_path / "cache" / "templates"
    make_environment(folder)
    assert len(list(folder.iterdir())) == len(PAGE_TEMPLATES)
    compiled.clear()
    again = make_environment(folder)
    for name in PAGE_TEMPLATES:
        again.get_template(name)
    assert compiled == []


def test_a_damaged_or_unwritable_template_cache_means_compiling_again(tmp_path: Path, compiled: list[str]):
    folder = tmp_path / "templates"
    make_environment(folder)
    for path in folder.iterdir():
        path.write_bytes(path.read_bytes()[:40] + b"damaged")
    compiled.clear()
    make_environment(folder)
    assert sorted(compiled) == PAGE_TEMPLATES
    # A cache folder that cannot be made (a file is in the way): compiled, nothing stored, no error.
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    make_environment(blocked / "templates")
    assert blocked.read_text() == "not a folder"


def test_sites_built_with_compiled_templates_from_the_cache_are_byte_identical(internal: View, tmp_path: Path):
    def build_with(folder: Path | None, out: Path) -> dict[str, bytes]:
        out.mkdir()
        build_audience_site(internal, out, epoch=EPOCH, files_root=SAMPLE, template_cache=folder)
        return all_files(out)

    expected = build_with(None, tmp_path / "compiled")
    site_module.environment.cache_clear()
    try:
        assert build_with(tmp_path / "templates", tmp_path / "stored") == expected
        site_module.environment.cache_clear()  # a later build: a new process finds them compiled
        assert build_with(tmp_path / "templates", tmp_path / "loaded") == expected
    finally:
        site_module.environment.cache_clear()
    assert not any(name.endswith(".cache") for name in expected)


def test_a_build_keeps_its_compiled_templates_in_the_build_cache_and_the_next_build_compiles_none(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiled: list[str]
):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache-home"))
    workspace = tmp_path / "demo"
    shutil.copytree(example, workspace, symlinks=True)

    def build(out: Path) -> dict[str, bytes]:
        site_module.environment.cache_clear()  # each build in a new process
        result = CliRunner().invoke(main, ["-C", str(workspace), "build", "--out", str(out)], env=CLI_ENV)
        assert result.exit_code == 0 and "(unchanged)" not in result.output, result.output
        return all_files(out)

    first = build(tmp_path / "first")
    assert sorted(compiled) == PAGE_TEMPLATES
    assert len(list((cache_folder(workspace) / "templates").iterdir())) == len(PAGE_TEMPLATES)
    compiled.clear()
    assert build(tmp_path / "again") == first
    assert compiled == []
    assert not any(name.endswith(".cache") for name in first)
    site_module.environment.cache_clear()


def test_a_build_compiles_the_templates_while_the_history_walk_runs_and_never_again(
    example: Path, tmp_path: Path, compiled: list[str], monkeypatch: pytest.MonkeyPatch
):
    site_module.environment.cache_clear()
    when_awaited: list[list[str]] = []
    real = render_pool.Forked.result

    def result(self: render_pool.Forked[Any]) -> Any:
        when_awaited.append(sorted(compiled))
        return real(self)

    monkeypatch.setattr(render_pool.Forked, "result", result)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    outcome = CliRunner().invoke(main, ["-C", str(example), "build", "--out", str(tmp_path / "out")])
    assert outcome.exit_code == 0, outcome.output
    # The walk's result is the first awaited: every template was compiled by then, once.
    assert when_awaited and when_awaited[0] == PAGE_TEMPLATES
    assert sorted(compiled) == PAGE_TEMPLATES
