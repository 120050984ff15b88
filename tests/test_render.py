"""Markdown rendering: no raw HTML, no unsafe links, references linked only when visible, cached per key."""

from __future__ import annotations

import pytest

from worktrail.render import Link, MarkdownRenderer, find_references, is_safe_url


def nothing(ref: str) -> Link | None:
    return None


def only(**links: Link):
    table = {key.replace("_", "-"): link for key, link in links.items()}
    return lambda ref: table.get(ref)


@pytest.fixture
def md() -> MarkdownRenderer:
    return MarkdownRenderer()


def test_raw_html_is_escaped_not_rendered(md: MarkdownRenderer):
    html = md.render('<script>alert("x")</script>\n\nText <b onclick="x()">bold</b>', nothing)
    assert "<script" not in html and "<b" not in html
    assert "&lt;script&gt;" in html and "&lt;b onclick=" in html


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "file:///etc/passwd",
        "&#106;avascript:alert(1)",
        "java&#x09;script:alert(1)",
    ],
)
def test_unsafe_link_is_dropped_and_its_label_kept(md: MarkdownRenderer, url: str):
    html = md.render(f"[click me]({url})", nothing)
    assert "<a" not in html
    assert "click me" in html
    assert "script:" not in html.lower() or "href" not in html


def test_unsafe_autolink_is_not_a_link(md: MarkdownRenderer):
    html = md.render("<javascript:alert(1)>", nothing)
    assert "<a" not in html


@pytest.mark.parametrize("url", ["https://example.org/a?b=1", "http://example.org", "mailto:a@example.org", "#top"])
def test_safe_links_are_kept(md: MarkdownRenderer, url: str):
    html = md.render(f"[x]({url})", nothing)
    assert "<a href=" in html


def test_relative_links_into_the_workspace_become_text_whose_references_still_link(md: MarkdownRenderer):
    resolve = only(CR_1=Link("../changes/CR-1.html", "CR-1: Consent"))
    html = md.render("Implements [CR-1](../changes/CR-1.md) and [notes](notes.md), //x: [y](//evil.example)", resolve)
    assert html == (
        '<p>Implements <a href="../changes/CR-1.html" title="CR-1: Consent">CR-1</a> and notes, //x: y</p>\n'
    )


def test_images_become_links_so_nothing_loads_by_itself(md: MarkdownRenderer):
    html = md.render("![a chart](https://example.org/c.png) ![bad](javascript:alert(1))", nothing)
    assert "<img" not in html
    assert '<a href="https://example.org/c.png">a chart</a>' in html
    assert "bad" in html and "javascript" not in html


def test_visible_reference_becomes_a_link_with_the_given_href_and_title(md: MarkdownRenderer):
    html = md.render("Blocked by WEB-12.", only(WEB_12=Link("../tasks/WEB-12.html", "WEB-12: Header")))
    assert html == '<p>Blocked by <a href="../tasks/WEB-12.html" title="WEB-12: Header">WEB-12</a>.</p>\n'


def test_invisible_reference_is_plain_text_without_url_or_title(md: MarkdownRenderer):
    html = md.render("Blocked by WEB-12 and CR-3.", nothing)
    assert html == "<p>Blocked by WEB-12 and CR-3.</p>\n"


def test_references_in_code_and_inside_links_are_not_linked(md: MarkdownRenderer):
    resolve = only(WEB_1=Link("t.html", "WEB-1: T"))
    html = md.render("`WEB-1` and [see WEB-1](https://example.org)", resolve)
    assert html.count("<a ") == 1
    assert "<code>WEB-1</code>" in html


def test_reference_shaped_words_inside_other_words_are_not_references():
    assert find_references("aWEB-1 WEB-1x WEB-01 a/WEB-2 WEB-3, CR-4") == ["WEB-3", "CR-4"]


def test_headings_start_below_the_page_section_whatever_level_the_author_used(md: MarkdownRenderer):
    assert md.render("## Request\n\n### Detail", nothing) == "<h3>Request</h3>\n<h4>Detail</h4>\n"
    assert md.render("# One\n\n###### Six", nothing, top=4) == "<h4>One</h4>\n<h6>Six</h6>\n"


def test_each_text_is_rendered_once_per_distinct_set_of_visible_links(md: MarkdownRenderer):
    text = "See WEB-1 and WEB-2."
    one = only(WEB_1=Link("a.html", "WEB-1: A"))
    first = md.render(text, one)
    again = md.render(text, one)
    assert first == again and md.renders == 1
    both = md.render(text, only(WEB_1=Link("a.html", "WEB-1: A"), WEB_2=Link("b.html", "WEB-2: B")))
    assert md.renders == 2 and both != first
    # A link to a reference the text does not contain changes nothing: same key, no new render.
    md.render(text, only(WEB_1=Link("a.html", "WEB-1: A"), WEB_9=Link("z.html", "WEB-9: Z")))
    assert md.renders == 2


def test_plain_text_drops_markup(md: MarkdownRenderer):
    assert md.plain("# Title\n\nSome **bold** `code` and [a link](https://x.org).") == (
        "Title Some bold code and a link."
    )


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://x", True),
        ("relative/path.md", True),
        ("java\nscript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("\x00javascript:x", False),
        ("ftp://x", False),
    ],
)
def test_is_safe_url_allows_only_http_https_mailto_and_relative(url: str, safe: bool):
    assert is_safe_url(url) is safe
