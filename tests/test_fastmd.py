"""The Markdown fast path (`fastmd.render_simple`) gives exactly markdown-it's HTML and plain text, or declines.

Rules: wherever it answers, its answer is markdown-it's (as rewritten by `render`: references linked,
headings moved); the texts people commonly write (paragraphs, `#` headings, one-line `- ` items,
`*em*`, `**strong**`, `` `code` ``, references) are answered; anything else is left to markdown-it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worktrail.fastmd import render_simple
from worktrail.render import REFERENCE, Link, MarkdownRenderer, find_references

SAMPLE = Path(__file__).resolve().parents[1] / "sample-workspace"
PARSER = MarkdownRenderer()
REFS = ["ALPHA-1", "ALPHA-12", "CR-3", "WEB-7"]
LINKS = {
    "ALPHA-1": Link("../tasks/ALPHA-1.html", 'ALPHA-1: "Plan" <b> & co'),
    "CR-3": Link("../changes/CR-3.html?a=1&b=2", "CR-3: it's"),
    "WEB-7": Link("../../p02/tasks/WEB-7.html", "WEB-7"),
    "ALPHA-12": Link("ALPHA-12.html", "ALPHA-12 &amp; more"),
}


def _both(text: str, linked: frozenset[str] = frozenset(LINKS), top: int = 3) -> tuple[object, tuple[str, str]]:
    links = {ref: LINKS[ref] for ref in find_references(text) if ref in linked}
    return render_simple(text, links, top, REFERENCE), PARSER.render_parsed(text, links, top)


# Pieces of inline text, plain ones and ones at the edges of the subset.
WORDS = ["word", "Review", "é", "Straße", "2024", "x1", "ALPHA-1", "CR-3", "WEB-7", "ALPHA-12"]
EDGY = [
    "*", "**", "***", "`", "``", " ", "  ", ".", ",", ")", "(", '"', "'", "&", "&amp;", "&#35;", ">", "<",
    "_", "~", "~~", "|", "\\", "[", "]", "!", "?", ":", "-", "#", "1.", "2)", "\u00a0", "\t", "x-ALPHA-1",
    "ALPHA-1x", "/CR-3", "http://a.example/ALPHA-1",
]  # fmt: skip
PREFIXES = [
    "", "", "", "", "", "", "", "- ", "- ", "- ", "- ", "# ", "## ", "###### ", "####### ", "#", "* ", "+ ", "1. ", "2) ", "> ", " ",
    "    ", "-", "=", "---", "***", "```", "~~~", "- - ", "- # ", "-\u00a0",
]  # fmt: skip


@st.composite
def _edgy_line(draw: st.DrawFn) -> str:
    """Words and spaces with an edge piece or two among them, after a prefix that is mostly none."""
    pieces = draw(st.lists(st.sampled_from([*WORDS, " ", " ", " "]), max_size=10))
    for _ in range(draw(st.integers(0, 2))):
        pieces.insert(draw(st.integers(0, len(pieces))), draw(st.sampled_from(EDGY)))
    return draw(st.sampled_from(PREFIXES)) + "".join(pieces)


edgy_text = st.builds(
    lambda lines, end: "\n".join(lines) + end,
    st.lists(st.one_of(st.just(""), _edgy_line()), max_size=6),
    st.sampled_from(["", "\n", "\n\n"]),
)


@st.composite
def _plain_inline(draw: st.DrawFn) -> str:
    """A line of words with emphasis, strong and code around whole words, punctuation after them."""
    out: list[str] = []
    for number in range(draw(st.integers(1, 8))):
        # A line starting "2024." or "2024)" would start a numbered list.
        word = draw(st.sampled_from(WORDS[:4] if number == 0 else WORDS))
        kind = draw(st.sampled_from(["", "", "", "*", "**", "`"]))
        if kind in ("*", "**") and draw(st.booleans()):
            word = f"{word} {draw(st.sampled_from(WORDS))}"
        piece = f"{kind}{word}{kind}" if kind else word
        if draw(st.booleans()):
            piece += draw(st.sampled_from([".", ",", ":", ")", "!", "?", ";"]))
        out.append(piece)
    return " ".join(out)


@st.composite
def _common_text(draw: st.DrawFn) -> str:
    """Blocks people commonly write: paragraphs of lines, `#` headings, lists of one-line `- ` items."""
    blocks: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        # Two lists in a row would be one loose list.
        kind = draw(st.sampled_from(["p", "h"] if blocks and blocks[-1].startswith("- ") else ["p", "h", "ul"]))
        if kind == "h":
            blocks.append("#" * draw(st.integers(1, 6)) + " " + draw(_plain_inline()))
        elif kind == "ul":
            blocks.append("\n".join("- " + draw(_plain_inline()) for _ in range(draw(st.integers(1, 4)))))
        else:
            blocks.append("\n".join(draw(_plain_inline()) for _ in range(draw(st.integers(1, 3)))))
    return "\n\n".join(blocks) + draw(st.sampled_from(["", "\n"]))


@settings(max_examples=3000)
@given(edgy_text, st.frozensets(st.sampled_from(REFS)), st.integers(1, 4))
def test_fast_path_answers_exactly_as_markdown_it_or_declines(text: str, linked: frozenset[str], top: int) -> None:
    fast, parsed = _both(text, linked, top)
    assert fast is None or fast == parsed


@settings(max_examples=1500)
@given(_common_text(), st.frozensets(st.sampled_from(REFS)), st.integers(1, 4))
def test_commonly_written_texts_take_the_fast_path_with_markdown_its_output(
    text: str, linked: frozenset[str], top: int
) -> None:
    fast, parsed = _both(text, linked, top)
    assert fast == parsed


@pytest.mark.parametrize(
    "text",
    [
        "Plain *em* and **strong** with `code`, ALPHA-1 and CR-3.\nA second line.\n",
        "## Acceptance\n\n- one ALPHA-1\n- **two** items\n- see `x.py`\n\nAfter.\n",
        "# Title\nA paragraph right after.\n- a list interrupting it\n",
        'Quotes "like this" & ampersands > signs, it\'s fine.\n',
        "**ALPHA-1** and `ALPHA-1` and (see ALPHA-12).\n",
        "2024 was a year.\n",
        "",
        "\n\n",
    ],
)
def test_common_texts_are_answered_without_the_parser(text: str) -> None:
    fast, parsed = _both(text)
    assert fast is not None
    assert fast == parsed


@pytest.mark.parametrize(
    "text",
    [
        "- a\n\n- b\n",  # a loose list: items in paragraphs
        "- a\ncontinued lazily\n",
        "Para\n---\n",  # a setext heading
        "Para\n===\n",
        "1. numbered\n",
        "* star list\n",
        "+ plus list\n",
        "> quote\n",
        "    indented code\n",
        "```\nfence\n```\n",
        "line with a break  \nnext\n",
        "back\\slash\n",
        "a [link](http://x.example)\n",
        "a <b>tag</b>\n",
        "snake_case\n",
        "~~gone~~\n",
        "| a | b |\n|---|---|\n",
        "&copy; entity\n",
        "un*closed\n",
        "**mismatched*\n",
        "***both***\n",
        "``double``\n",
        "` spaced `\n",
        "# Closing hashes #\n",
        "#hashtag\n",
        "tab\there\n",
        "ends with nbsp\u00a0\n",
        "- - nested\n",
    ],
)
def test_texts_outside_the_subset_are_left_to_markdown_it(text: str) -> None:
    fast, _ = _both(text)
    assert fast is None


def test_the_example_workspace_texts_render_as_markdown_it_renders_them() -> None:
    texts = []
    for path in sorted(SAMPLE.rglob("*.md")):
        body = path.read_text(encoding="utf-8")
        texts.append(body.split("\n---\n", 1)[1] if body.startswith("---\n") else body)
    answered = 0
    for text in texts:
        fast, parsed = _both(text)
        if fast is not None:
            answered += 1
            assert fast == parsed, text
    assert answered > len(texts) // 2


def test_renderer_remembers_the_same_html_and_plain_text_by_either_path() -> None:
    text = "## Notes\n\nSee ALPHA-1 and *more*.\n"
    renderer = MarkdownRenderer()
    html = renderer.render(text, LINKS.get)
    links = {"ALPHA-1": LINKS["ALPHA-1"]}
    assert (str(html), renderer.plain(text)) == PARSER.render_parsed(text, links, 3)
    assert MarkdownRenderer().plain(text) == "Notes See ALPHA-1 and more."
