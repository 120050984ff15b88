"""Markdown to safe HTML for the site: no raw HTML, no unsafe links, references linked only when visible.

The renderer never decides visibility. The caller passes a `resolve` function that answers, for a
reference such as `WEB-12` or `CR-3` found in a text, the link to use when the audience sees the
target, or None. A reference without a link stays plain text: no URL, no title, no tooltip.

The output for one text depends only on the text and on the links its references resolve to, so
results are cached under exactly that key and shared safely between audiences of one build.

Characters that change what a reader sees without being seen themselves never reach a page, feed,
calendar or spreadsheet raw: `clean_text` replaces them with U+FFFD (see there).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markupsafe import Markup

from .fastmd import render_simple

# `CR-3` is a change request of the text's own project; `WEB-12` a task of the project keyed `WEB`.
REFERENCE: Final = re.compile(r"(?<![\w/-])([A-Z][A-Z0-9]*-[1-9][0-9]*)(?![\w-])")
SAFE_SCHEMES: Final = frozenset({"http", "https", "mailto"})
_SCHEME: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# Browsers ignore ASCII whitespace and control characters inside a scheme ("java\tscript:").
_IGNORED_IN_SCHEME: Final = re.compile(r"[\x00-\x20\x7f]")
_SPACES: Final = re.compile(r"\s+")
# C0 controls but tab and newline, DEL and C1 controls, bidirectional embeddings, overrides and
# isolates, lone surrogates, and the noncharacters U+FFFE/U+FFFF.
UNSAFE_CHARACTERS: Final = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
REPLACEMENT: Final = "\ufffd"


def clean_text(text: str) -> str:
    """`text` fit for display: line breaks as `\\n`, unsafe characters replaced by U+FFFD.

    Replaced rather than removed, so that a reader (and an auditor) sees that something was there.
    Controls are invalid in XML 1.0 and in RFC 5545 text; a direction override or isolate reorders
    the text around it, so a title can read differently from what it says ("Trojan Source"). Plain
    right-to-left text needs none of them, and keeps its marks (U+200E, U+200F, U+061C); zero-width
    joiners and spaces stay too, since emoji sequences and several scripts need them.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return UNSAFE_CHARACTERS.sub(REPLACEMENT, text)


@dataclass(frozen=True, order=True)
class Link:
    """Where a visible reference points (relative URL) and the tooltip naming it."""

    href: str
    title: str


Resolve = Callable[[str], Link | None]


def find_references(text: str) -> list[str]:
    """Every reference-shaped token in `text` (`WEB-12`, `CR-3`), in order of first occurrence."""
    return list(dict.fromkeys(REFERENCE.findall(text)))


def is_safe_url(url: str) -> bool:
    """Whether a link target may appear in the site: http(s), mailto, or a scheme-less relative URL.

    Checked as written and percent-decoded, so an encoded tab or colon cannot smuggle a scheme past.
    """
    for candidate in (url, unquote(url)):
        match = _SCHEME.match(_IGNORED_IN_SCHEME.sub("", candidate))
        if match is not None and match.group(1).lower() not in SAFE_SCHEMES:
            return False
    return True


# What a render is remembered under: the text, each reference with the link it resolved to (href,
# title), and the heading level. Plain strings and numbers only: a cache of 40,000 renders loads
# (and is hashed) at C speed.
RenderKey = tuple[str, tuple[tuple[str, str, str], ...], int]
# Remembered renders: (key, HTML) pairs and (text, plain text) pairs, in the order they were made.
Remembered = tuple[list[tuple[RenderKey, str]], list[tuple[str, str]]]


class MarkdownRenderer:
    """Renders Markdown texts once per distinct (text, resolved links, heading level) and remembers the result."""

    def __init__(self) -> None:
        self._md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
        self._md.enable(["table", "strikethrough"])
        # Links are checked against an allowlist after parsing (see _rewrite_inline), so that a
        # refused link keeps its label as text instead of showing its raw Markdown source.
        self._md.validateLink = _accept_any  # type: ignore[method-assign]
        self._md.core.ruler.push("worktrail_rewrite", _rewrite)
        self._html: dict[RenderKey, str] = {}
        self._plain: dict[str, str] = {}
        self.renders = 0

    def render(self, text: str, resolve: Resolve, top: int = 3) -> Markup:
        """Safe HTML for a Markdown text; references link only where `resolve` gives a link.

        The text's highest heading becomes `<h{top}>` and the others follow, so the page keeps its
        single h1 and an outline without gaps, whatever level the author started at.
        """
        links = tuple((ref, link) for ref in find_references(text) if (link := resolve(ref)) is not None)
        key = (text, tuple((ref, link.href, link.title) for ref, link in links), top)
        cached = self._html.get(key)
        if cached is None:
            cached = self._render(text, dict(links), top)
            self._html[key] = cached
            self.renders += 1
        # Safe by construction: raw HTML is escaped and links are checked while rendering.
        return Markup(cached)  # noqa: S704

    def _render(self, text: str, links: dict[str, Link], top: int) -> str:
        """The HTML of a text (remembering its plain text): without a parser where `fastmd` reads it, else by markdown-it."""
        html, plain = render_simple(text, links, top, REFERENCE) or self.render_parsed(text, links, top)
        self._plain.setdefault(text, plain)
        return html

    def render_parsed(self, text: str, links: dict[str, Link], top: int) -> tuple[str, str]:
        """markdown-it's HTML and plain text for a text (what `fastmd.render_simple` must equal where it answers)."""
        env = {"worktrail_links": links, "worktrail_top": top}
        tokens = self._md.parse(text, env)
        # Rewritten for links, the tokens hold the same text as for `plain`: a linked reference
        # keeps its text, refused links and images their label, headings only change level.
        # So the plain text comes free, and search parses no page's text again.
        return self._md.renderer.render(tokens, self._md.options, env), _plain_text(tokens)

    # -- what it remembers: kept between builds (buildcache) and handed back by workers (site) ------

    def remembered(self) -> tuple[int, int]:
        """How many HTML and plain renders it remembers (a mark for `remembered_since`)."""
        return len(self._html), len(self._plain)

    def remembered_since(self, mark: tuple[int, int] = (0, 0)) -> Remembered:
        """The renders remembered after `mark` (from `remembered()`), oldest first: renders are only ever added."""
        return (
            list(itertools.islice(self._html.items(), mark[0], None)),
            list(itertools.islice(self._plain.items(), mark[1], None)),
        )

    def remember(self, renders: Remembered) -> None:
        """Remember renders made elsewhere (`remembered_since` of another renderer with the same code)."""
        html, plain = renders
        self._html.update(html)
        self._plain.update(plain)

    def knows_plain(self, text: str) -> bool:
        """Whether `plain(text)` is remembered already (from `plain`, `render` or `remember`)."""
        return text in self._plain

    def plain(self, text: str) -> str:
        """The text content of a Markdown text on one line (for search snippets and feeds)."""
        cached = self._plain.get(text)
        if cached is None:
            simple = render_simple(text, {}, 3, REFERENCE)
            cached = simple[1] if simple is not None else _plain_text(self._md.parse(text, {"worktrail_links": {}}))
            self._plain[text] = cached
        return cached


def _plain_text(tokens: Sequence[Token]) -> str:
    """The text content of parsed (and rewritten) Markdown on one line: text, code, and a space between blocks."""
    parts: list[str] = []
    for block in tokens:
        if block.type in ("code_block", "fence"):
            parts.append(block.content)
        for child in block.children or ():
            if child.type in ("text", "code_inline"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append(" ")
        parts.append(" ")
    return _SPACES.sub(" ", "".join(parts)).strip()


def _rewrite(state: StateCore) -> None:
    links: dict[str, Link] = state.env.get("worktrail_links", {})
    top: int = state.env.get("worktrail_top", 3)
    headings = [token for token in state.tokens if token.type in ("heading_open", "heading_close")]
    if headings:
        shift = top - min(int(token.tag[1:]) for token in headings)
        for token in headings:
            token.tag = f"h{min(max(int(token.tag[1:]) + shift, 1), 6)}"
    for token in state.tokens:
        if token.type == "inline" and token.children:
            token.children = _rewrite_inline(token.children, links)


def _accept_any(url: str) -> bool:
    return True


def _keeps_link(href: str) -> bool:
    """Safe absolute links and in-page anchors stay links.

    A relative link points into the workspace's files (`../changes/CR-1.md`), which the site does
    not mirror: it would be broken, so it becomes text (a reference in its label still links).
    """
    if href.startswith("#"):
        return True
    return is_safe_url(href) and _SCHEME.match(href) is not None


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _link_tokens(ref: str, link: Link) -> list[Token]:
    opening = Token("link_open", "a", 1)
    opening.attrs = {"href": link.href, "title": link.title}
    return [opening, _text(ref), Token("link_close", "a", -1)]


def _link_references(content: str, links: dict[str, Link]) -> list[Token]:
    out: list[Token] = []
    position = 0
    for match in REFERENCE.finditer(content):
        link = links.get(match.group(1))
        if link is None:
            continue
        if match.start() > position:
            out.append(_text(content[position : match.start()]))
        out.extend(_link_tokens(match.group(1), link))
        position = match.end()
    if position < len(content):
        out.append(_text(content[position:]))
    return out


def _alt_text(image: Token) -> str:
    return "".join(child.content for child in image.children or () if child.type in ("text", "code_inline"))


def _rewrite_inline(children: Sequence[Token], links: dict[str, Link]) -> list[Token]:
    """Drop unsafe and relative links (keep their label), turn images into links, link visible references."""
    out: list[Token] = []
    # One entry per open link: whether it was kept, so its closing token follows the same fate.
    # Text inside a dropped link is outside any link, so references there are linked.
    open_links: list[bool] = []
    for token in children:
        if token.type == "link_open":
            keep = _keeps_link(str(token.attrs.get("href", "")))
            open_links.append(keep)
            if keep:
                out.append(token)
        elif token.type == "link_close":
            if open_links.pop() if open_links else True:
                out.append(token)
        elif token.type == "image":
            # Images become links to the picture: a site opened from disk or offline must not fetch
            # anything by itself, and a remote image would tell its host who reads the page.
            src = str(token.attrs.get("src", ""))
            alt = _alt_text(token) or src
            if _keeps_link(src) and not any(open_links):
                opening = Token("link_open", "a", 1)
                opening.attrs = {"href": src}
                out.extend([opening, _text(alt), Token("link_close", "a", -1)])
            else:
                out.append(_text(alt))
        elif token.type == "text" and not any(open_links) and links:
            out.extend(_link_references(token.content, links))
        else:
            out.append(token)
    return out
