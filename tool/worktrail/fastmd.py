"""The Markdown most texts are written in, rendered without a parser: exactly markdown-it's output, or None.

Most descriptions and comments are paragraphs, `#` headings, `- ` lists of one line per item, and
`*emphasis*`, `**strong**` and `` `code` `` inside a line. markdown-it (pure Python) takes ~150 µs
for such a text; this module takes a few, and gives the same HTML and plain text that
`render.MarkdownRenderer` makes with markdown-it and its rewrite (references linked, headings moved
to the page's level).

It answers only for texts whose reading is plain: a text with anything else — a character with a
meaning of its own (`\\ [ ] < _ ~ | &entity;`, tabs), indentation, another kind of block (quote,
fence, table, numbered list, setext heading, rule), a loose or lazy list, trailing spaces, a `*`
or backtick that does not open or close cleanly — gets None, and the caller parses it with
markdown-it. tests/test_fastmd.py compares both on generated texts, within the subset and at its
edges, so a difference from markdown-it fails the tests rather than reaching a page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .render import Link

# Anything with a meaning this module does not give it: escapes, links and images, raw HTML and
# autolinks, underscore emphasis, strikethrough, tables, control characters but the line feed
# (tabs, carriage returns, NUL that markdown-it replaces), and an ampersand that may start an entity.
_REFUSED: Final = re.compile(r"[\\\[\]<_~|\x00-\x09\x0b-\x1f]|&[#A-Za-z0-9]")
_HEADING: Final = re.compile(r"(#{1,6}) (\S(?:.*\S)?)\Z")
# A line that starts an ordered list item (or could, for a longer number).
_NUMBERED: Final = re.compile(r"\d+[.)]")
# A line's own start: characters that may begin a block of another kind, or a list item.
_BLOCK_STARTS: Final = frozenset("#>+-=`~*|")
# Where emphasis delimiters and code spans are: a run of asterisks, or a backtick.
_MARKS: Final = re.compile(r"\*+|`")
# After a closing delimiter: the end of the line, a space or this punctuation.
_AFTER_CLOSE: Final = frozenset(" .,;:!?)")
_SPACES: Final = re.compile(r"\s+")
_TAGS: Final = {1: ("<em>", "</em>"), 2: ("<strong>", "</strong>")}


def _escape(raw: str) -> str:
    """As markdown-it's escapeHtml: `&`, `<`, `>` and `"` (a single quote stays)."""
    return raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _plain(line: str) -> str:
    """A line's text without its marks: every asterisk outside code is a delimiter, every backtick one of code."""
    if "`" in line:
        parts = line.split("`")
        parts[0::2] = [part.replace("*", "") for part in parts[0::2]]
        return "".join(parts)
    return line.replace("*", "") if "*" in line else line


class _Inline:
    """Renders lines of inline content, already escaped (escaping changes neither a mark nor how it reads).

    The characters escaping changes (`& > "`) are neither asterisks, backticks, word characters nor
    the punctuation a closing delimiter may precede, and the entities they become start with `&` and
    end with `;`, which are none of these either: so delimiters, code spans and references (whose
    pattern looks at word characters, `/` and `-` around them) are found in the escaped line exactly
    where markdown-it finds them in the text.
    """

    __slots__ = ("anchors", "reference")

    def __init__(self, links: Mapping[str, Link], reference: re.Pattern[str]) -> None:
        self.reference = reference
        # Each reference to link, as `render._link_tokens` renders it.
        self.anchors = {
            ref: f'<a href="{_escape(link.href)}" title="{_escape(link.title)}">{ref}</a>'
            for ref, link in links.items()
        }

    def _anchor(self, match: re.Match[str]) -> str:
        return self.anchors.get(match.group(1), match.group(0))

    def text(self, content: str) -> str:
        """A text token: each reference that has a link linked (as `render._link_references`)."""
        if not self.anchors or "-" not in content:
            return content
        return self.reference.sub(self._anchor, content)

    def line(self, line: str) -> str | None:
        """The HTML of a line of inline content; None when its reading is not plain (see the module)."""
        if "*" not in line and "`" not in line:
            return self.text(line)
        html: list[str] = []
        opened: list[int] = []
        position = 0
        end = len(line)
        while True:
            mark = _MARKS.search(line, position)
            if mark is None:
                html.append(self.text(line[position:]))
                break
            start = mark.start()
            if start > position:
                html.append(self.text(line[position:start]))
            if line[start] == "`":
                close = line.find("`", start + 1)
                if close < 0 or close == start + 1 or (close + 1 < end and line[close + 1] == "`"):
                    return None
                code = line[start + 1 : close]
                if code[0] == " " or code[-1] == " ":
                    return None
                html.append(f"<code>{code}</code>")
                position = close + 1
                continue
            size = mark.end() - start
            if size > 2:
                return None
            before = line[start - 1] if start else " "
            after = line[mark.end()] if mark.end() < end else " "
            if before == " " and after.isalnum():
                opened.append(size)
                html.append(_TAGS[size][0])
            elif before.isalnum() and after in _AFTER_CLOSE:
                if not opened or opened.pop() != size:
                    return None
                html.append(_TAGS[size][1])
            else:
                return None
            position = mark.end()
        return None if opened else "".join(html)


def _starts_plainly(line: str) -> bool:
    """Whether a line of inline content cannot start a block of another kind."""
    first = line[0]
    if first.isspace() or _NUMBERED.match(line) is not None:
        return False
    if first in _BLOCK_STARTS:
        # A backtick opens a code span here (fences are refused elsewhere); one asterisk before a word opens emphasis.
        return first == "`" or (first == "*" and len(line) > 1 and line[1] != " ")
    return True


def render_simple(text: str, links: Mapping[str, Link], top: int, reference: re.Pattern[str]) -> tuple[str, str] | None:
    """markdown-it's HTML and plain text for `text` (see `render.MarkdownRenderer.render`), or None.

    `links` maps each reference to link to its `Link`; `top` is the level of the text's highest
    heading; `reference` finds references. None when the text is not in the subset this module reads.
    """
    if _REFUSED.search(text) is not None:
        return None
    # Blocks as [kind, level, lines of inline content]: "p" paragraph, "h" heading, "ul" list (a line an item).
    blocks: list[tuple[str, int, list[str]]] = []
    previous = ""  # the kind of the line before: "" blank, "p", "h" or "ul"
    for line in text.split("\n"):
        if not line:
            previous = ""
            continue
        if line[-1].isspace():
            # markdown-it strips a block's text of whitespace at its ends (Unicode's too), and two
            # spaces end a line with a break.
            return None
        if line.startswith("- "):
            item = line[2:]
            if not _starts_plainly(item):
                return None
            if previous == "ul":
                blocks[-1][2].append(item)
            elif blocks and blocks[-1][0] == "ul":
                return None  # a blank line, then an item of the same list: a loose list
            else:
                blocks.append(("ul", 0, [item]))
            previous = "ul"
            continue
        if previous == "ul":
            return None  # a line right after an item continues it
        if line[0] == "#":
            heading = _HEADING.match(line)
            if heading is None or heading.group(2).endswith("#"):
                return None
            blocks.append(("h", len(heading.group(1)), [heading.group(2)]))
            previous = "h"
            continue
        if not _starts_plainly(line):
            return None
        if previous == "p":
            blocks[-1][2].append(line)
        else:
            blocks.append(("p", 0, [line]))
        previous = "p"
    escape = "&" in text or ">" in text or '"' in text
    inline = _Inline(links, reference)
    levels = [level for kind, level, _ in blocks if kind == "h"]
    shift = top - min(levels) if levels else 0
    html: list[str] = []
    plain: list[str] = []
    for kind, level, lines in blocks:
        rendered: list[str] = []
        for line in lines:
            one = inline.line(_escape(line) if escape else line)
            if one is None:
                return None
            rendered.append(one)
            plain.append(_plain(line))
        if kind == "ul":
            html.append("<ul>\n<li>" + "</li>\n<li>".join(rendered) + "</li>\n</ul>\n")
        elif kind == "h":
            tag = f"h{min(max(level + shift, 1), 6)}"
            html.append(f"<{tag}>{rendered[0]}</{tag}>\n")
        else:
            html.append("<p>" + "\n".join(rendered) + "</p>\n")
    # Blocks and line breaks read as one space; lines neither start nor end with whitespace.
    joined = " ".join(plain)
    if not joined.isascii() or "  " in joined:
        joined = _SPACES.sub(" ", joined).strip()
    return "".join(html), joined
