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

import itertools
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .yamlio import MAX_VALUES, Doc, PathKey, SourceError, parse_yaml

# Items kept by (text, first line, index), with their locations already where they stand in the file:
# an item appended to a list keeps its place in every later version. A 10,000-task history has
# ~10,000 time entries.
_ITEM_CACHE_ENTRIES = 65_536
_items: OrderedDict[tuple[str, int, int], _Item] = OrderedDict()
# Whole lists parsed item by item, by (path, text), with their count of values and of lines: the
# next version of a list usually appends one item, and is then a kept list plus that item, made
# without cutting and looking up every item again (which grew with the list at every version).
_LIST_CACHE_ENTRIES = 256
_lists: OrderedDict[tuple[str, str], tuple[Doc, int, int]] = OrderedDict()
# Lists made that way, by identity: the list and the kept list it was made from (see `extends`).
_made_from: OrderedDict[int, tuple[Doc, Doc]] = OrderedDict()
# A line that starts an item (`- ` or `-` alone at column 0).
_ITEM_START = re.compile(r"^-(?: |$)", re.MULTILINE)
# Lines `_cut` refuses before the first item (anything but comments and blank lines), and after it
# (anything at column 0 but an item's start, a comment or a blank line: a key, `---`, a tab...).
_BEFORE_ITEMS = re.compile(r"^[^#\n]", re.MULTILINE)
_NOT_IN_ITEMS = re.compile(r"^(?:[^-# \n]|-[^ \n])", re.MULTILINE)


@dataclass(frozen=True)
class _Item:
    """One list item parsed where it stands: its data, its count of values, and its entries of each location map."""

    data: Any
    values: int
    locs: dict[PathKey, tuple[int, int]]
    key_locs: dict[PathKey, tuple[int, int]]
    paths_at: dict[tuple[int, int], PathKey]


def _cut(text: str) -> list[tuple[int, str]] | None:
    """The items of a plain top-level block sequence as (first line index, text); None for any other layout.

    `text` ends with a line break; each item's text ends with exactly one. The first item's text
    starts with the comment or blank lines before it.
    """
    first = _ITEM_START.search(text)
    if first is None or _BEFORE_ITEMS.search(text, 0, first.start()) or _NOT_IN_ITEMS.search(text, first.start()):
        return None
    offsets = [0, *(match.start() for match in _ITEM_START.finditer(text, first.end())), len(text)]
    items: list[tuple[int, str]] = []
    line = 0
    for start, end in itertools.pairwise(offsets):
        items.append((line, text[start:end]))
        line += text.count("\n", start, end)
    return items


def _extended(text: str, path: str) -> Doc | None:
    """`text` as a kept list (see `_lists`) plus its last item; None when that list is not kept or that item is not plain."""
    at = text.rfind("\n-", 0, len(text) - 1) + 1
    if at == 0 or text[at + 1] not in " \n":
        return None
    kept = _lists.get((path, text[:at]))
    if kept is None:
        return None
    doc, values, lines = kept
    chunk = text[at:]
    if _NOT_IN_ITEMS.search(chunk):
        return None
    found = _item(chunk, path, lines, len(doc.data))
    if found is None:
        return None
    values += found.values - 1
    if values > MAX_VALUES:
        return None
    out = Doc(
        path=path,
        data=[*doc.data, found.data],
        locs={**doc.locs, **found.locs},
        key_locs={**doc.key_locs, **found.key_locs},
        paths_at={**doc.paths_at, **found.paths_at},
    )
    _keep(path, text, out, values, lines + chunk.count("\n"))
    _made_from[id(out)] = (out, doc)
    if len(_made_from) > _LIST_CACHE_ENTRIES:
        _made_from.popitem(last=False)
    return out


def extends(doc: Doc) -> Doc | None:
    """The list `doc` was made from by appending its last item (see `parse_yaml_list`), or None.

    Both are parses of versions of one file: every item but the last is the same object in both.
    """
    found = _made_from.get(id(doc))
    return found[1] if found is not None and found[0] is doc else None


def _keep(path: str, text: str, doc: Doc, values: int, lines: int) -> None:
    _lists[(path, text)] = (doc, values, lines)
    if len(_lists) > _LIST_CACHE_ENTRIES:
        _lists.popitem(last=False)


def _item(text: str, path: str, start: int, index: int) -> _Item | None:
    """The item at `index` whose text starts at line `start` + 1, or None when it is not one list item alone."""
    key = (text, start, index)
    found = _items.get(key)
    if found is not None:
        _items.move_to_end(key)
        return found
    try:
        # Read `start` lines down, so that its lines are where the item stands in the file.
        doc = parse_yaml(text, path, line_offset=start)
    except SourceError:
        return None
    if not isinstance(doc.data, list) or len(doc.data) != 1:
        return None
    if index == 0:
        # Its paths are the item's; the list's own place (key `()`) is its first item's, and comes first.
        found = _Item(
            data=doc.data[0], values=len(doc.locs), locs=doc.locs, key_locs=doc.key_locs, paths_at=doc.paths_at
        )
    else:
        found = _Item(
            data=doc.data[0],
            values=len(doc.locs),
            locs={(index, *k[1:]): where for k, where in doc.locs.items() if k},
            key_locs={(index, *k[1:]): where for k, where in doc.key_locs.items()},
            paths_at={where: (index, *k[1:]) for where, k in doc.paths_at.items() if k},
        )
    _items[key] = found
    if len(_items) > _ITEM_CACHE_ENTRIES:
        _items.popitem(last=False)
    return found


def parse_yaml_list(text: str, path: str, empty: Any = None) -> Doc:
    """Parse a YAML file expected to hold a list, item by item where its layout allows; else `parse_yaml`."""
    if not text.endswith("\n"):
        return parse_yaml(text, path, empty=empty)
    extended = _extended(text, path)
    if extended is not None:
        return extended
    items = _cut(text)
    if items is None:
        return parse_yaml(text, path, empty=empty)
    out = Doc(path=path, data=[])
    values = 1
    for index, (start, chunk) in enumerate(items):
        found = _item(chunk, path, start, index)
        if found is None:
            return parse_yaml(text, path, empty=empty)
        values += found.values - 1
        out.data.append(found.data)
        out.locs.update(found.locs)
        out.key_locs.update(found.key_locs)
        out.paths_at.update(found.paths_at)
    if values > MAX_VALUES:
        return parse_yaml(text, path, empty=empty)
    _keep(path, text, out, values, text.count("\n"))
    return out
