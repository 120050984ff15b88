"""YAML list files (time, expenses, documents) parsed item by item, each item's parse kept by its text.

A month of time entries changes by one appended line per commit; the history walk reads every
version of it, and parsing each version whole made the walk grow with entries x versions. Here a
top-level block sequence is cut at its `- ` lines (column 0), each item is parsed on its own by
`yamlio.parse_yaml` (same rules, same caps) and kept by its text, and the items' documents are put
together with their lines moved to where the item stands in the file.

Only a plain layout is cut: comment or empty lines, then items that each start with `- ` at column
0, their other lines indented by spaces. Anything else, and any item that does not parse to exactly one list item on its own (a quoted
text or flow collection running over a `- ` line, a second document, a bad character...), makes the
whole text go through `parse_yaml`, which is the reference and gives every error message. Tests
check the result equals `parse_yaml`'s for the sample, the case files and generated lists.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from .yamlio import MAX_VALUES, Doc, PathKey, SourceError, parse_yaml

# Items kept by text; a 10,000-task history has ~10,000 time entries.
_ITEM_CACHE_ENTRIES = 65_536
_items: OrderedDict[str, tuple[Doc, int]] = OrderedDict()


def _cut(text: str) -> list[tuple[int, str]] | None:
    """The items of a plain top-level block sequence as (first line index, text); None for any other layout.

    `text` ends with a line break; each item's text ends with exactly one.
    """
    lines = text[:-1].split("\n")
    starts: list[int] = []
    for index, line in enumerate(lines):
        if line.startswith("- ") or line == "-":
            starts.append(index)
        elif line.startswith("#") or not line or (starts and line.startswith(" ")):
            continue
        else:
            # Anything else at column 0 (a key, `---`, `...`, `%`, a tab) is for the whole-file parse.
            return None
    if not starts:
        return None
    bounds = [0, *starts[1:], len(lines)]
    return [(bounds[i], "\n".join(lines[bounds[i] : bounds[i + 1]]) + "\n") for i in range(len(starts))]


def _item(text: str, path: str) -> tuple[Doc, int] | None:
    """One item's text parsed at line 1 (and its count of values), or None when it is not one list item."""
    found = _items.get(text)
    if found is not None:
        _items.move_to_end(text)
        return found
    try:
        doc = parse_yaml(text, path)
    except SourceError:
        return None
    if not isinstance(doc.data, list) or len(doc.data) != 1:
        return None
    found = (doc, len(doc.locs))
    _items[text] = found
    if len(_items) > _ITEM_CACHE_ENTRIES:
        _items.popitem(last=False)
    return found


def parse_yaml_list(text: str, path: str, empty: Any = None) -> Doc:
    """Parse a YAML file expected to hold a list, item by item where its layout allows; else `parse_yaml`."""
    items = _cut(text) if text.endswith("\n") else None
    if items is None:
        return parse_yaml(text, path, empty=empty)
    parsed: list[tuple[int, Doc, int]] = []
    values = 1
    for start, chunk in items:
        found = _item(chunk, path)
        if found is None:
            return parse_yaml(text, path, empty=empty)
        parsed.append((start, found[0], found[1]))
        values += found[1] - 1
    if values > MAX_VALUES:
        return parse_yaml(text, path, empty=empty)
    out = Doc(path=path, data=[])
    first_line, first_doc, _ = parsed[0]
    out.locs[()] = _moved(first_doc.locs[()], first_line)
    out.paths_at[out.locs[()]] = ()
    for index, (start, doc, _count) in enumerate(parsed):
        out.data.append(doc.data[0])
        for key, where in doc.locs.items():
            if key:
                out.locs[(index, *key[1:])] = _moved(where, start)
        for key, where in doc.key_locs.items():
            out.key_locs[(index, *key[1:])] = _moved(where, start)
        for where, key in doc.paths_at.items():
            if key:
                out.paths_at[_moved(where, start)] = _index(index, key)
    return out


def _moved(where: tuple[int, int], lines: int) -> tuple[int, int]:
    return (where[0] + lines, where[1])


def _index(index: int, key: PathKey) -> PathKey:
    return (index, *key[1:])
