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

Most files hold nothing but block mappings and lists of one-line values. Those are read line by line
by a strict fast path (`_parse_simple`, about twice as fast) that gives the very same values and
locations; it hands anything else, and so every error, to the composer. Front matter and the items of
list files, one mapping of `key: value` lines each, are read by a flatter one still (`_parse_flat`),
which keeps each line's reading, so that a line seen before (most lines of a task's next version) is
a look-up; it hands anything else to `_parse_simple`.
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
# The fast path (`_parse_simple`) reads the block-style YAML our files hold with one pattern per line.
_FAST_MAX_CHARS = 1024 * 1024
_PLAIN_WORDS: dict[str, Any] = {
    **dict.fromkeys(("~", "null", "Null", "NULL"), None),
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
}
_NUMBER_START = frozenset("0123456789+-.")
# _INT, _OCT, _HEX and _FLOAT in one pattern, tried in the same order (used with fullmatch).
_NUMBER = re.compile(
    r"([-+]?[0-9]+)|0o([0-7]+)|0x([0-9a-fA-F]+)|([-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)"
)
# A word of a one-line flow list: starts with a letter, digit or `_`; no indicator but `@`, and no
# quote, inside.
_FLOW_CHAR = r"[^ ,:#\[\]{}\"'?&*!|>%`\\\n]"
_FLOW_ITEM = rf"[0-9A-Za-z_](?:{_FLOW_CHAR}++| ++(?={_FLOW_CHAR}))*+"
_FLOW_ITEMS = re.compile(_FLOW_ITEM)
# One line each (no class lets a line break in): every line of the text must match, or it is not ordinary.
_LINES = re.compile(
    r"^( *)"  # 1: indentation
    r"(-(?: +|$))?"  # 2: a list entry's dash, with the spaces after it
    # 3: a key (a plain word, or quoted text without escapes), then `:` and 4: the spaces after it
    r"(?:([0-9A-Za-z_][0-9A-Za-z_.-]{0,127}|\"[^\"\\\n]{0,128}\"|'[^'\n]{0,128}'):( +|$))?"
    r"(?:"
    # 5: a plain scalar on one line: no indicator first, no `: ` or final `:`, no ` #` (spaces at its
    # end are not part of its value)
    r"((?:[^ \-?:,\[\]{}#&*!|>'\"%@`\n]|-(?=[0-9A-Za-z._]))(?:[^:#\n]++|:(?=[^ \n])|(?<! )#)*+)"
    r"|(\"[^\"\\\n]*\"|'[^'\n]*')"  # 6: quoted text without escapes, with its quotes
    rf"|(\[ *(?:{_FLOW_ITEM}(?: *, *{_FLOW_ITEM})*)? *\])"  # 7: a one-line flow list of words
    r")?"
    r" *(?:(?<![^ \n])#.*)?$",  # spaces, then maybe a comment
    re.MULTILINE,
)
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
    doc = _parse_flat(text, path, line_offset, empty)
    if doc is None:
        doc = _parse_simple(text, path, line_offset, empty)
    if doc is None:
        doc = _Composer(text, path, line_offset).compose(empty)
    return doc


def _parse_yaml_reference(text: str, path: str, line_offset: int = 0, empty: Any = None) -> Doc:
    """`parse_yaml` through the event composer alone: the reference the fast path must equal."""
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


class _Unusual(Exception):
    """Raised by the fast path: the event composer must read this text (and maybe refuse it)."""


def _parse_simple(text: str, path: str, line_offset: int, empty: Any) -> Doc | None:
    """The Doc of ordinary YAML, read line by line without the YAML parser; None for anything else.

    Ordinary means block mappings and lists whose keys are plain words (or quoted text) and whose
    values are one-line plain scalars, quoted text without escapes or one-line flow lists of words,
    with comments and blank lines, and no tab, carriage return or byte order mark. That subset holds
    no anchor, alias, tag, merge key, block scalar or multi-line scalar. Whatever is outside it, or
    would need a decision (a line indented more than its block, a duplicate key, deep nesting, many
    values, a number near the limits), makes this return None: the event composer then reads the
    text, and gives every error message.
    """
    if len(text) > _FAST_MAX_CHARS or "\t" in text or "\r" in text or "\ufeff" in text:
        return None
    lines = _LINES.findall(text)
    if len(lines) != text.count("\n") + 1:
        return None  # a line that does not match is skipped by findall
    locs: dict[PathKey, tuple[int, int]] = {}
    key_locs: dict[PathKey, tuple[int, int]] = {}
    paths_at: dict[tuple[int, int], PathKey] = {}
    words = _PLAIN_WORDS
    number_start = _NUMBER_START
    # The innermost open collection: its indentation (-1: none), itself, its path, is it a mapping;
    # `outer` holds the collections around it.
    indent = -1
    into: Any = None
    at: PathKey = ()
    is_map = False
    outer: list[tuple[int, Any, PathKey, bool]] = []
    root: Any = None
    # A key whose value is not on its line: a collection on the next lines, or else null, which the
    # parser places just after the colon.
    pending: str | None = None
    pending_path: PathKey = ()
    pending_at = (0, 0)
    line_no = line_offset
    try:
        for spaces, dash, key, gap, plain, quoted, flow in lines:
            line_no += 1
            if not key and not dash:
                if plain or quoted or flow:
                    return None  # a value on its own line: a one-value document or a continued scalar
                continue  # a blank line or a comment
            column = len(spaces)
            if pending is not None:
                if column > indent or (dash and column == indent):
                    if len(pending_path) >= MAX_DEPTH:
                        return None
                    here = (line_no, column + 1)
                    locs[pending_path] = here
                    paths_at[here] = pending_path
                    nested: Any = [] if dash else {}
                    into[pending] = nested
                    outer.append((indent, into, at, is_map))
                    indent, into, at, is_map = column, nested, pending_path, not dash
                else:
                    into[pending] = None
                    locs[pending_path] = pending_at
                pending = None
            if not dash:
                if column != indent or not is_map:
                    # A key line closes deeper collections, and a list at its own indentation (`key:`
                    # then `- item` lines at the key's indentation).
                    while indent > column or (indent == column and not is_map):
                        indent, into, at, is_map = outer.pop()
                    if indent < 0:
                        if root is not None:
                            return None
                        root = {}
                        here = (line_no, column + 1)
                        locs[()] = here
                        paths_at[here] = ()
                        outer.append((indent, into, at, is_map))
                        indent, into, at, is_map = column, root, (), True
                    elif indent != column:
                        return None
            else:
                while indent > column:
                    indent, into, at, is_map = outer.pop()
                if indent < 0:
                    if root is not None:
                        return None
                    root = []
                    here = (line_no, column + 1)
                    locs[()] = here
                    paths_at[here] = ()
                    outer.append((indent, into, at, is_map))
                    indent, into, at, is_map = column, root, (), False
                elif indent != column or is_map:
                    return None
                item_path = (*at, len(into))
                column += len(dash)
                if not key:
                    if not (plain or quoted or flow):
                        return None  # `-` alone: its value is on the next lines, or null
                    into.append(_line_value(plain, quoted, flow, line_no, column, item_path, locs, paths_at))
                    continue
                if len(item_path) >= MAX_DEPTH:
                    return None
                here = (line_no, column + 1)
                locs[item_path] = here
                paths_at[here] = item_path
                mapping: dict[str, Any] = {}
                into.append(mapping)
                outer.append((indent, into, at, is_map))
                indent, into, at, is_map = column, mapping, item_path, True
            # A key at `column` of the mapping `into`, with its value.
            key_locs_at = (line_no, column + 1)
            column += len(key) + 1
            if key[0] in "\"'":
                key = key[1:-1]
            if key in into:
                return None
            key_path = (*at, key)
            key_locs[key_path] = key_locs_at
            if plain:
                locs[key_path] = (line_no, column + len(gap) + 1)
                if plain[-1] == " ":
                    plain = plain.rstrip(" ")
                if plain in words:
                    into[key] = words[plain]
                elif plain[0] in number_start:
                    into[key] = _plain_number(plain)
                else:
                    into[key] = plain
            elif quoted:
                locs[key_path] = (line_no, column + len(gap) + 1)
                into[key] = quoted[1:-1]
            elif flow:
                into[key] = _line_value("", "", flow, line_no, column + len(gap), key_path, locs, paths_at)
            else:
                pending = key
                pending_path = key_path
                pending_at = (line_no, column + 1)
        if pending is not None:
            into[pending] = None
            locs[pending_path] = pending_at
    except _Unusual:
        return None
    if root is None:
        return Doc(path=path, data=empty)
    if len(locs) > MAX_VALUES:
        return None
    return Doc(path=path, data=root, locs=locs, key_locs=key_locs, paths_at=paths_at)


# What `_parse_flat` knows of one line of text (see `_flat_line`), kept by the line's text: most
# lines of task and comment files, and of time entries, recur from version to version and from file
# to file.
_SKIP_LINE: Any = object()  # a blank or comment line
_NOT_FLAT: Any = object()  # a line `_parse_flat` leaves to `_parse_simple`
_TEXT: Any = object()  # a value that is text: cut from the line where it stands
_FLAT_LINES: dict[str, Any] = {}
_FLAT_LINES_ENTRIES = 16_384


def _flat_line(line: str) -> Any:
    """One line as `_parse_simple` reads a `key: value` line, or `_SKIP_LINE`, or `_NOT_FLAT`.

    A key line gives (width of its dash and the spaces after it, 0 without one; its indentation;
    where its key starts and ends in the line; its value, or `_TEXT` for text, and where that text
    starts and ends; the value's 1-based column; for a one-line flow list, its items as (value or
    `_TEXT`, start, end, column), else None). A key without a value has the value None, placed just
    after its colon, as the parser places it. Texts (keys too) are kept as places in the line, not
    as strings: each text read gets its own strings, as the line reader gives, so that no object is
    shared between the documents of two texts (pickles of several documents, as the build's keys of
    pages are, would otherwise depend on what was read before).
    """
    found = _LINES.match(line)
    if found is None:
        return _NOT_FLAT
    spaces, dash, key, gap, plain, quoted, flow = found.groups(default="")
    if not key:
        return _NOT_FLAT if plain or quoted or flow or dash else _SKIP_LINE
    key_at = len(spaces) + len(dash)
    colon = key_at + len(key)
    quote = 1 if key[0] in "\"'" else 0
    lead = (len(dash), len(spaces), key_at + quote, colon - quote)
    at = colon + 1 + len(gap)  # where the value starts, from 0
    try:
        if plain:
            text = plain.rstrip(" ")
            value = _plain_value(text)
            if isinstance(value, str):
                return (*lead, _TEXT, at, at + len(text), at + 1, None)
            return (*lead, value, 0, 0, at + 1, None)
        if quoted:
            return (*lead, _TEXT, at + 1, at + len(quoted) - 1, at + 1, None)
        if flow:
            items = []
            for item in _FLOW_ITEMS.finditer(flow):
                start, end = at + item.start(), at + item.end()
                value = _plain_value(item.group())
                items.append((_TEXT if isinstance(value, str) else value, start, end, start + 1))
            return (*lead, None, 0, 0, at + 1, tuple(items))
    except _Unusual:
        return _NOT_FLAT
    return (*lead, None, 0, 0, colon + 2, None)


def _parse_flat(text: str, path: str, line_offset: int, empty: Any) -> Doc | None:
    """`_parse_simple` for one mapping of `key: value` lines, or None for any other text.

    The mapping stands at column 0 (front matter, most YAML files), or is the only item of a list,
    its first key after the dash (one item of a list file, see `yamllist`). It gives the same Doc,
    field by field and in the same order, as `_parse_simple`, with objects of its own; each line's
    reading is kept (`_FLAT_LINES`), so a line seen before costs a look-up. Anything else (deeper
    lines, nested collections, a second item, a duplicate key, a line the fast path does not read)
    returns None, and `_parse_simple` then decides.
    """
    if len(text) > _FAST_MAX_CHARS or "\t" in text or "\r" in text or "\ufeff" in text:
        return None
    known = _FLAT_LINES
    root: Any = None
    data: dict[str, Any] = {}
    locs: dict[PathKey, tuple[int, int]] = {}
    key_locs: dict[PathKey, tuple[int, int]] = {}
    paths_at: dict[tuple[int, int], PathKey] = {}
    indent = 0  # the keys' column, from 0
    in_item = False
    line_no = line_offset
    for line in text.split("\n"):
        line_no += 1
        read = known.get(line)
        if read is None:
            read = _flat_line(line)
            if len(known) >= _FLAT_LINES_ENTRIES:
                known.clear()
            known[line] = read
        if read is _SKIP_LINE:
            continue
        if read is _NOT_FLAT:
            return None
        dash, spaces, key_start, key_end, value, start, end, column, items = read
        key = line[key_start:key_end]
        if root is None:
            if spaces:
                return None
            first = (line_no, 1)
            locs[()] = first
            paths_at[first] = ()
            if dash:
                # `- key: value`: a list of one mapping, which starts at the key.
                root = [data]
                indent = dash
                in_item = True
                here = (line_no, dash + 1)
                locs[(0,)] = here
                paths_at[here] = (0,)
            else:
                root = data
        elif dash or spaces != indent or key in data:
            return None
        at: PathKey = (0, key) if in_item else (key,)
        key_locs[at] = (line_no, indent + 1)
        here = (line_no, column)
        locs[at] = here
        if items is None:
            data[key] = line[start:end] if value is _TEXT else value
        else:
            paths_at[here] = at
            values: list[Any] = []
            for item, item_start, item_end, item_column in items:
                locs[(*at, len(values))] = (line_no, item_column)
                values.append(line[item_start:item_end] if item is _TEXT else item)
            data[key] = values
    if root is None:
        return Doc(path=path, data=empty)
    if len(locs) > MAX_VALUES:
        return None
    return Doc(path=path, data=root, locs=locs, key_locs=key_locs, paths_at=paths_at)


def _line_value(
    plain: str,
    quoted: str,
    flow: str,
    line_no: int,
    column: int,
    at: PathKey,
    locs: dict[PathKey, tuple[int, int]],
    paths_at: dict[tuple[int, int], PathKey],
) -> Any:
    """The value of a line (one of the three is not empty), starting at `column` (from 0), recorded at `at`."""
    here = (line_no, column + 1)
    if plain:
        locs[at] = here
        return _plain_value(plain.rstrip(" "))
    if quoted:
        locs[at] = here
        return quoted[1:-1]
    if len(at) >= MAX_DEPTH:
        raise _Unusual
    locs[at] = here
    paths_at[here] = at
    items: list[Any] = []
    for item in _FLOW_ITEMS.finditer(flow):
        locs[(*at, len(items))] = (line_no, column + item.start() + 1)
        items.append(_plain_value(item.group()))
    return items


def _plain_value(text: str) -> Any:
    """A one-line plain scalar by YAML 1.2 core rules, as `_Composer.scalar` reads it."""
    if text in _PLAIN_WORDS:
        return _PLAIN_WORDS[text]
    if text[0] in _NUMBER_START:
        return _plain_number(text)
    return text


def _plain_number(text: str) -> Any:
    """A plain scalar that starts like a number: the number, or the text; _Unusual near the limits."""
    found = _NUMBER.fullmatch(text)
    if found is None:
        return text
    if len(text) > 17:
        raise _Unusual  # maybe too large, maybe only leading zeros: the event composer decides
    number: int | float
    kind = found.lastindex
    if kind == 1:
        number = int(text)
    elif kind == 2:
        number = int(text[2:], 8)
    elif kind == 3:
        number = int(text[2:], 16)
    else:
        number = float(text)
    if not abs(number) <= MAX_NUMBER:
        raise _Unusual
    return number


@dataclass
class FrontMatterDoc:
    """A Markdown record: its front matter as a Doc and its Markdown body."""

    doc: Doc
    body: str
    body_line: int


# A line that closes front matter, with the line break before it (which lets the search skip from
# line break to line break): `---` or `...`, maybe followed by spaces (what `str.rstrip` removes).
_FRONT_END = re.compile(r"\n(?:---|\.\.\.)[^\S\n]*(?=\n|\Z)")


def parse_front_matter(text: str, path: str) -> FrontMatterDoc:
    """Split `---` front matter from the Markdown body and parse the front matter."""
    # Found by offsets in the text (the body is never cut into lines): line `start` opens the front
    # matter, line `end` closes it.
    start = 0
    at = 0  # where line `start` begins
    size = len(text)
    # An editor schema comment may stand above the opening line.
    while text.startswith(SCHEMA_COMMENT, at):
        start += 1
        at = text.find("\n", at) + 1
        if at == 0:
            at = size + 1  # that was the last line
            break
    stop = text.find("\n", at)
    if stop < 0:
        stop = size
    if at > size or text[at:stop].rstrip() != "---":
        raise SourceError(
            Loc(path, start + 1, 1),
            "a Markdown record must start with YAML front matter: a '---' line, the fields, then '---'",
        )
    closing = _FRONT_END.search(text, stop) if stop < size else None
    if closing is None:
        raise SourceError(Loc(path, start + 1, 1), "front matter is not closed by a '---' line")
    front_at = stop + 1
    close_at = closing.start() + 1
    end = start + 1 + text.count("\n", front_at, close_at)
    front = text[front_at : close_at - 1] if close_at > front_at else ""
    doc = parse_yaml(front, path, line_offset=start + 1, empty={})
    if not isinstance(doc.data, dict):
        got = "a list" if isinstance(doc.data, list) else f"the single value {str(doc.data)[:40]!r}"
        raise SourceError(
            doc.loc(),
            f"front matter must be a mapping of fields (`field: value` lines), not {got}",
        )
    body = text[closing.end() + 1 :].strip("\n")
    return FrontMatterDoc(doc=doc, body=body + "\n" if body else "", body_line=end + 2)
