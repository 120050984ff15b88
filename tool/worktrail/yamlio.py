"""Safe YAML and front-matter reading that keeps the line and column of every value.

The parser's event stream is turned into plain JSON-like values (dict, list, str, int, float, bool,
None) by our own small composer, so that:
- no Python object is ever built from a tag (only the standard str/map/seq tags are accepted);
- anchors and aliases are refused (no alias bombs, no shared structure);
- duplicate keys are refused;
- scalars follow YAML 1.2's core schema: `yes`/`no`/`on`/`off` stay strings and dates stay strings
  (the schemas check their shape), so nothing is silently guessed;
- nesting depth, file size and the number of values are capped, and numbers stay within ±10^15
  (so every sum and product of them is finite);
- characters YAML does not allow, and the Unicode line breaks (U+0085, U+2028, U+2029) that YAML
  would read as line breaks where editors show none, are refused with their exact position.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import yaml

from .model import Loc

# The C-accelerated parser is roughly 8x faster; the pure-Python one behaves the same.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_NUMBER = 10**15
# About 40,000 time entries; each value costs a few hundred bytes of locations and data in memory.
MAX_VALUES = 250_000
SCHEMA_COMMENT = "# yaml-language-server:"

PathKey = tuple[str | int, ...]

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_TRUE = re.compile(r"^(?:true|True|TRUE)$")
_FALSE = re.compile(r"^(?:false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
# YAML's printable characters (tab, line feed, carriage return and the rest), minus the Unicode
# line breaks: a parser counts those as new lines, so every later position would be wrong.
_NOT_ALLOWED = re.compile("[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINE_BREAKS = {
    "\x85": "a next-line character",
    "\u2028": "a Unicode line separator",
    "\u2029": "a Unicode paragraph separator",
}
_STR_TAGS = frozenset({"tag:yaml.org,2002:str", "!"})
_CONTAINER_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "!"})


def _show_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:") :] if tag.startswith("tag:yaml.org,2002:") else tag


class SourceError(Exception):
    """A problem in one file, with its location."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(f"{loc}: {message}")
        self.loc = loc
        self.message = message


@dataclass
class Doc:
    """A parsed YAML document: the data, plus where each value (and each mapping key) stands."""

    path: str
    data: Any
    locs: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_locs: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    paths_at: dict[tuple[int, int], PathKey] = field(default_factory=dict)

    def loc(self, path: PathKey = ()) -> Loc:
        """Location of the value at `path`, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while True:
            where = self.locs.get(probe)
            if where is not None:
                return Loc(self.path, where[0], where[1])
            if not probe:
                return Loc(self.path, 1, 1)
            probe = probe[:-1]

    def key_loc(self, path: PathKey) -> Loc:
        """Location of the key that introduces `path` (falls back to the value's location)."""
        where = self.key_locs.get(tuple(path))
        if where is not None:
            return Loc(self.path, where[0], where[1])
        return self.loc(path)

    def path_of(self, loc: Loc) -> PathKey:
        """The data path of the container that starts at `loc` (used to find fields of list items)."""
        return self.paths_at.get((loc.line, loc.column), ())


def describe_path(path: PathKey) -> str:
    """`("milestones", 2, "status")` -> `milestones[2].status`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def size_error(path: str, size: int) -> SourceError:
    """The error for a file over MAX_FILE_BYTES (raised by `decode`, or before reading by the loader)."""
    return SourceError(
        Loc(path, 1, 1),
        f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} bytes (split it, e.g. time by month)",
    )


def decode(raw: bytes, path: str) -> str:
    """Bytes of a workspace file to text: UTF-8 only (a BOM is allowed), line endings normalised."""
    if len(raw) > MAX_FILE_BYTES:
        raise size_error(path, len(raw))
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Everything before the bad byte is valid: count its lines (any ending) and characters.
        before = raw[: exc.start].decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        raise SourceError(
            Loc(path, line, column),
            f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
        ) from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def parse_yaml(text: str, path: str, line_offset: int = 0, empty: Any = None) -> Doc:
    """Parse one YAML document; raises SourceError with the location of the first problem."""
    _refuse_characters(text, path, line_offset)
    return _Composer(text, path, line_offset).compose(empty)


def _refuse_characters(text: str, path: str, line_offset: int) -> None:
    # Found here rather than by the parser, whose C reader reports a byte offset, not a column.
    bad = _NOT_ALLOWED.search(text)
    if bad is None:
        return
    char = bad.group()
    before = text[: bad.start()]
    line = before.count("\n") + 1 + line_offset
    column = bad.start() - (before.rfind("\n") + 1) + 1
    if char in _LINE_BREAKS:
        message = (
            f"invalid YAML: U+{ord(char):04X} ({_LINE_BREAKS[char]}) is not allowed: "
            "YAML would read it as a line break where editors show none; use an ordinary line break"
        )
    elif unicodedata.category(char) == "Cc":
        message = f"invalid YAML: control character U+{ord(char):04X} is not allowed"
    else:
        message = f"invalid YAML: character U+{ord(char):04X} is not allowed"
    raise SourceError(Loc(path, line, column), message)


class _Composer:
    def __init__(self, text: str, path: str, line_offset: int) -> None:
        self.text = text
        self.path = path
        self.offset = line_offset
        self.doc = Doc(path=path, data=None)
        self.values = 0
        self.lines = text.count("\n") + 1

    def where(self, mark: Any) -> tuple[int, int]:
        if mark.line >= self.lines:
            # The parser's end-of-input mark lies past the last line when the text lacks a final break.
            return (self.lines + self.offset, len(self.text) - self.text.rfind("\n"))
        return (mark.line + 1 + self.offset, mark.column + 1)

    def fail(self, mark: Any, message: str) -> SourceError:
        line, column = self.where(mark)
        return SourceError(Loc(self.path, line, column), message)

    def compose(self, empty: Any) -> Doc:
        loader = _Loader(self.text)
        try:
            return self._compose(loader, empty)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "invalid YAML"
            if mark is None:
                raise SourceError(Loc(self.path, 1 + self.offset, 1), f"invalid YAML: {problem}") from None
            raise self.fail(mark, f"invalid YAML: {problem}") from None
        except yaml.reader.ReaderError as exc:
            before = self.text[: exc.position]
            line = before.count("\n") + 1 + self.offset
            column = exc.position - (before.rfind("\n") + 1) + 1
            char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
            raise SourceError(
                Loc(self.path, line, column),
                f"invalid YAML: control character U+{char:04X} is not allowed",
            ) from None
        except yaml.YAMLError as exc:
            raise SourceError(Loc(self.path, 1 + self.offset, 1), f"invalid YAML: {exc}") from None
        finally:
            loader.dispose()

    def _compose(self, loader: Any, empty: Any) -> Doc:
        event = loader.get_event()  # StreamStart
        event = loader.get_event()
        if isinstance(event, yaml.StreamEndEvent):
            self.doc.data = empty
            return self.doc
        # DocumentStart
        event = loader.get_event()
        self.doc.data = self.node(loader, event, (), 0)
        loader.get_event()  # DocumentEnd
        event = loader.get_event()
        if not isinstance(event, yaml.StreamEndEvent):
            raise self.fail(event.start_mark, "only one YAML document is allowed per file (found a second '---')")
        if self.doc.data is None:
            self.doc.data = empty
        return self.doc

    def check_common(self, event: Any) -> None:
        if getattr(event, "anchor", None):
            raise self.fail(event.start_mark, f"YAML anchors (&{event.anchor}) are not allowed; write the value out")

    def node(self, loader: Any, event: Any, path: PathKey, depth: int) -> Any:
        if isinstance(event, yaml.AliasEvent):
            raise self.fail(event.start_mark, f"YAML aliases (*{event.anchor}) are not allowed; write the value out")
        self.check_common(event)
        if depth > MAX_DEPTH:
            raise self.fail(event.start_mark, f"nesting is deeper than {MAX_DEPTH} levels")
        self.values += 1
        if self.values > MAX_VALUES:
            raise self.fail(
                event.start_mark, f"the file holds more than {MAX_VALUES:,} values (split it, e.g. time by month)"
            )
        here = self.where(event.start_mark)
        self.doc.locs[path] = here
        if isinstance(event, yaml.ScalarEvent):
            return self.scalar(event)
        tag = event.tag
        if tag is not None and tag not in _CONTAINER_TAGS:
            raise self.fail(event.start_mark, f"YAML tag {_show_tag(tag)} is not allowed")
        self.doc.paths_at[here] = path
        if isinstance(event, yaml.SequenceStartEvent):
            items: list[Any] = []
            while True:
                child = loader.get_event()
                if isinstance(child, yaml.SequenceEndEvent):
                    return items
                items.append(self.node(loader, child, (*path, len(items)), depth + 1))
        if isinstance(event, yaml.MappingStartEvent):
            mapping: dict[str, Any] = {}
            while True:
                key_event = loader.get_event()
                if isinstance(key_event, yaml.MappingEndEvent):
                    return mapping
                if isinstance(key_event, yaml.AliasEvent):
                    raise self.fail(key_event.start_mark, "YAML aliases are not allowed")
                self.check_common(key_event)
                if not isinstance(key_event, yaml.ScalarEvent):
                    raise self.fail(key_event.start_mark, "mapping keys must be plain words, not lists or mappings")
                key = key_event.value
                if key == "<<" and key_event.implicit[0]:
                    raise self.fail(key_event.start_mark, "YAML merge keys (<<) are not allowed")
                if key in mapping:
                    first = self.doc.key_locs.get((*path, key))
                    line = f" (first at line {first[0]})" if first else ""
                    raise self.fail(key_event.start_mark, f"duplicate key {key!r}{line}")
                self.doc.key_locs[(*path, key)] = self.where(key_event.start_mark)
                mapping[key] = self.node(loader, loader.get_event(), (*path, key), depth + 1)
        raise self.fail(event.start_mark, "unexpected YAML structure")

    def scalar(self, event: Any) -> Any:
        value: str = event.value
        tag = event.tag
        if tag is not None and tag not in _STR_TAGS:
            raise self.fail(event.start_mark, f"YAML tag {_show_tag(tag)} is not allowed")
        if tag is not None or not event.implicit[0]:
            return value  # quoted, block, or explicitly a string
        if _NULL.match(value):
            return None
        if _TRUE.match(value):
            return True
        if _FALSE.match(value):
            return False
        number: int | float
        if _INT.match(value):
            # Measured before converting: int() of thousands of digits is slow, and refused past 4300.
            digits = value.lstrip("+-").lstrip("0")
            number = int(value) if len(digits) <= 16 else math.inf
        elif _OCT.match(value):
            number = int(value[2:], 8)
        elif _HEX.match(value):
            number = int(value[2:], 16)
        elif _FLOAT.match(value):
            number = float(value)
        else:
            return value
        if not abs(number) <= MAX_NUMBER:
            shown = value if len(value) <= 24 else value[:21] + "..."
            raise self.fail(
                event.start_mark,
                f"the number {shown} is too large: numbers are limited to ±{MAX_NUMBER:,} "
                "(quote it if it is text, not a number)",
            )
        return number


@dataclass
class FrontMatterDoc:
    """A Markdown record: its front matter as a Doc and its Markdown body."""

    doc: Doc
    body: str
    body_line: int


def parse_front_matter(text: str, path: str) -> FrontMatterDoc:
    """Split `---` front matter from the Markdown body and parse the front matter."""
    lines = text.split("\n")
    start = 0
    # An editor schema comment may stand above the opening line.
    while start < len(lines) and lines[start].startswith(SCHEMA_COMMENT):
        start += 1
    if start >= len(lines) or lines[start].rstrip() != "---":
        raise SourceError(
            Loc(path, start + 1, 1),
            "a Markdown record must start with YAML front matter: a '---' line, the fields, then '---'",
        )
    end = start + 1
    while end < len(lines) and lines[end].rstrip() not in ("---", "..."):
        end += 1
    if end >= len(lines):
        raise SourceError(Loc(path, start + 1, 1), "front matter is not closed by a '---' line")
    front = "\n".join(lines[start + 1 : end])
    doc = parse_yaml(front, path, line_offset=start + 1, empty={})
    if not isinstance(doc.data, dict):
        got = "a list" if isinstance(doc.data, list) else f"the single value {str(doc.data)[:40]!r}"
        raise SourceError(
            doc.loc(),
            f"front matter must be a mapping of fields (`field: value` lines), not {got}",
        )
    body = "\n".join(lines[end + 1 :]).strip("\n")
    return FrontMatterDoc(doc=doc, body=body + "\n" if body else "", body_line=end + 2)
