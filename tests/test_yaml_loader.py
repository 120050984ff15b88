"""The YAML reader: safe, strict, and exact about where each problem is."""

from __future__ import annotations

import pickle
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worktrail import yamlio
from worktrail.model import Loc
from worktrail.yamlio import (
    _NOT_ALLOWED,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_VALUES,
    SCHEMA_COMMENT,
    FrontMatterDoc,
    SourceError,
    _parse_flat,
    _parse_simple,
    _parse_yaml_reference,
    decode,
    parse_front_matter,
    parse_yaml,
)

REPO = Path(__file__).resolve().parents[1]


def parse(text: str):
    return parse_yaml(text, "f.yaml").data


def error_of(text: str) -> str:
    with pytest.raises(SourceError) as info:
        parse_yaml(text, "f.yaml")
    return str(info.value)


def test_scalars_follow_yaml_1_2_core_so_nothing_is_guessed():
    data = parse("a: yes\nb: no\nc: on\nd: 2026-03-01\ne: 10:00\nf: true\ng: 1.5\nh: 7\ni: ~\nj: 0x1f\n")
    assert data == {
        "a": "yes",
        "b": "no",
        "c": "on",
        "d": "2026-03-01",
        "e": "10:00",
        "f": True,
        "g": 1.5,
        "h": 7,
        "i": None,
        "j": 31,
    }


def test_infinity_and_nan_stay_text_and_are_never_numbers():
    assert parse("a: .inf\nb: .nan\n") == {"a": ".inf", "b": ".nan"}


def test_duplicate_keys_are_refused_with_both_lines():
    assert error_of("a: 1\nb: 2\na: 3\n") == "f.yaml:3:1: duplicate key 'a' (first at line 1)"


def test_anchors_and_aliases_are_refused():
    assert error_of("a: &x 1\nb: *x\n") == "f.yaml:1:4: YAML anchors (&x) are not allowed; write the value out"
    assert error_of("b: *x\n") == "f.yaml:1:4: YAML aliases (*x) are not allowed; write the value out"


def test_python_tags_are_refused_and_never_run():
    assert error_of("a: !!python/name:os.system x\n") == "f.yaml:1:4: YAML tag !!python/name:os.system is not allowed"


def test_custom_local_tags_are_refused():
    assert "YAML tag !thing is not allowed" in error_of("a: !thing x\n")


def test_merge_keys_are_refused():
    assert "merge keys" in error_of("<<: {a: 1}\n")


def test_nesting_is_capped():
    deep = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    assert "nesting is deeper than" in error_of(f"a: {deep}\n")


def test_file_size_is_capped():
    with pytest.raises(SourceError) as info:
        decode(b"a" * (MAX_FILE_BYTES + 1), "big.yaml")
    assert "the limit is" in info.value.message


def test_byte_order_mark_and_windows_line_endings_are_accepted():
    assert decode(b"\xef\xbb\xbfa: 1\r\nb: 2\r\n", "f.yaml") == "a: 1\nb: 2\n"


def test_non_utf8_names_line_and_column_of_the_bad_byte():
    with pytest.raises(SourceError) as info:
        decode(b"a: 1\nb: caf\xe9\n", "f.yaml")
    assert str(info.value).startswith("f.yaml:2:7: file is not valid UTF-8 (byte 0xe9)")


def test_control_characters_are_refused_with_their_position():
    assert error_of("a: 1\nb: x\x07y\n") == "f.yaml:2:5: invalid YAML: control character U+0007 is not allowed"


def test_a_second_document_is_refused():
    assert "only one YAML document" in error_of("a: 1\n---\nb: 2\n")


def test_syntax_errors_carry_the_line():
    assert error_of("a: [1, 2\nb: 3\n").startswith("f.yaml:2:")


def test_locations_of_values_and_keys_are_kept():
    doc = parse_yaml("a: 1\nlist:\n  - x: 2\n    y: 3\n", "f.yaml")
    assert str(doc.loc(("list", 0, "y"))) == "f.yaml:4:8"
    assert str(doc.key_loc(("list", 0, "y"))) == "f.yaml:4:5"
    assert str(doc.loc(("list", 0, "missing"))) == "f.yaml:3:5"


def test_front_matter_lines_are_counted_from_the_top_of_the_file():
    record = parse_front_matter("---\ntitle: T\nstatus: open\n---\nBody *text*\n", "t.md")
    assert record.doc.data == {"title": "T", "status": "open"}
    assert str(record.doc.loc(("status",))) == "t.md:3:9"
    assert record.body == "Body *text*\n"
    assert record.body_line == 5


def test_front_matter_may_follow_an_editor_schema_comment():
    text = "# yaml-language-server: $schema=x.json\n---\ntitle: T\n---\n"
    assert parse_front_matter(text, "t.md").doc.data == {"title": "T"}


def test_unclosed_front_matter_is_refused():
    with pytest.raises(SourceError) as info:
        parse_front_matter("---\ntitle: T\n", "t.md")
    assert str(info.value) == "t.md:1:1: front matter is not closed by a '---' line"


def test_an_empty_document_gives_the_empty_value():
    assert parse_yaml("# only a comment\n", "f.yaml", empty=[]).data == []


# -- the fast path and the event composer ---------------------------------------------------------
# `parse_yaml` reads ordinary files with a line-by-line fast path and hands everything else to the
# event composer (`_parse_yaml_reference`). Whatever the text, both must give the same Doc, field by
# field and in the same order, or the same error at the same place.


def strict(value: Any) -> Any:
    """A value with every type spelled out and every mapping in order (1, 1.0 and True differ)."""
    if isinstance(value, dict):
        return ("dict", [(key, strict(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [strict(item) for item in value])
    return (type(value).__name__, repr(value))


def outcome(parse: Callable[..., Any], text: str, line_offset: int = 0, empty: Any = None) -> tuple[Any, ...]:
    """Everything a parse gives: each field of the Doc, or the error's location and message."""
    try:
        doc = parse(text, "f.yaml", line_offset, empty)
    except SourceError as error:
        return ("error", str(error.loc), error.message)
    return (
        "doc",
        doc.path,
        strict(doc.data),
        list(doc.locs.items()),
        list(doc.key_locs.items()),
        list(doc.paths_at.items()),
    )


def assert_same_as_reference(text: str, line_offset: int = 0, empty: Any = None) -> bool:
    """`parse_yaml` gives what the event composer gives; returns whether the fast path answered."""
    expected = outcome(_parse_yaml_reference, text, line_offset, empty)
    assert outcome(parse_yaml, text, line_offset, empty) == expected, text
    if _NOT_ALLOWED.search(text):
        return False  # refused before either reader runs
    fast = _parse_simple(text, "f.yaml", line_offset, empty)
    if fast is None:
        return False
    assert outcome(lambda *args: fast, text) == expected, text
    return True


def front_outcome(text: str) -> tuple[Any, ...]:
    try:
        record = parse_front_matter(text, "t.md")
    except SourceError as error:
        return ("error", str(error.loc), error.message)
    doc = record.doc
    fields = (strict(doc.data), list(doc.locs.items()), list(doc.key_locs.items()), list(doc.paths_at.items()))
    return ("doc", *fields, record.body, record.body_line)


def assert_front_matter_same_as_reference(text: str) -> None:
    expected_parse: Callable[..., Any] = _parse_yaml_reference
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yamlio, "parse_yaml", expected_parse)
        expected = front_outcome(text)
    assert front_outcome(text) == expected, text


def data_files() -> list[tuple[str, str]]:
    """Every YAML file and Markdown record of the sample workspace and the test cases, as text."""
    found = []
    for top in ("sample-workspace", "tests/cases"):
        for path in sorted((REPO / top).rglob("*")):
            if path.is_file() and path.suffix in (".yaml", ".yml", ".md"):
                try:
                    text = decode(path.read_bytes(), path.name)
                except SourceError:
                    continue  # not UTF-8: refused before any YAML is read
                found.append((path.relative_to(REPO).as_posix(), text))
    return found


DATA_FILES = data_files()


@pytest.mark.parametrize(("rel", "text"), DATA_FILES, ids=[rel for rel, _ in DATA_FILES])
def test_every_sample_and_case_file_reads_as_the_event_composer_reads_it(rel: str, text: str) -> None:
    if rel.endswith(".md"):
        assert_front_matter_same_as_reference(text)
        assert_front_matter_same_as_reference(text.rstrip("\n"))
    else:
        assert_same_as_reference(text)
        # Without its final line break, lower in a file, and with another value for an empty file.
        assert_same_as_reference(text.rstrip("\n"), line_offset=7, empty=[])


def test_ordinary_workspace_files_take_the_fast_path() -> None:
    # Every data file of the sample workspace (the CI workflow has block scalars, which the fast path leaves).
    checked = 0
    for rel, text in DATA_FILES:
        if not rel.startswith("sample-workspace/") or rel.startswith("sample-workspace/.github/"):
            continue
        if rel.endswith(".md"):
            if not text.startswith("---\n"):
                continue
            text = text.split("\n---\n", 1)[0][4:]
        assert _parse_simple(text, rel, 0, None) is not None, rel
        checked += 1
    assert checked > 100


HOSTILE = [
    "a: &x 1\nb: *x\n",
    "b: *x\n",
    "a: &x 1\n",
    "a: &x\n  b: 1\n",
    "- &x [a]\n- *x\n",
    "a: b&c\nd: e*f\ng: h!i\n",
    "a: !!str 1\n",
    "a: !!int '1'\n",
    "a: !!str\n",
    "a: ! 5\n",
    "a: !thing x\n",
    "!!map\na: 1\n",
    "a: !!python/name:os.system x\n",
    "%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n",
    "<<: {a: 1}\n",
    "a: 1\n<<: {b: 2}\n",
    "'<<': 1\n",
    '"<<": 1\n',
    "a: 1\na: 2\n",
    "- a: 1\n  a: 2\n",
    '"a": 1\na: 2\n',
    "a: 1\n'a': 2\n",
    "a:\n  b: 1\n  b:\n",
    "a: 1\n---\nb: 2\n",
    "---\na: 1\n...\n",
    "---\na: 1\n---\n",
    "%YAML 1.2\n---\na: 1\n",
    "a: 1\n...\n",
    "a: [1, 2\n",
    "a: b: c\n",
    "a: 'x' 'y'\n",
    "- - - x\n",
    "? a\n: b\n",
    "a : 1\n",
    "[a, b]\n",
    "x\n",
    "a: {b: c}\n",
    "a: x\n  y\n",
    "a: x\n\n  y\n",
    "- x\n  - y\n",
    "a:\n  b: 1\n c: 2\n",
    "  a: 1\nb: 2\n",
    "a: 1\n  b: 2\n",
    "a:\n- x\nb: 1\n- y\n",
    "- a\nb: 1\n",
    "a: 1\n- b\n",
    "- a: 1\n  - b\n",
    "a: |\n  x\n",
    "a: >-\n  x\n  y\n",
    "a: 'it''s'\n",
    'a: "x\\ty"\n',
    'a: "x\n  y"\n',
    "a:\tb\n",
    "a: b\t# c\n",
    "\ta: 1\n",
    "a: 1\r\nb: 2\r\n",
    "a: 1\rb: 2\r",
    "\ufeffa: 1\n",
    "a: 1\n\ufeffb: 2\n",
    "a: \ufeffx\nb: x\ufeffy\n- \ufeffx\n",
    "- \ufeffx\n",
    "a: x\x07y\n",
    "a: x\u2028y\n",
    "-\n",
    "- \n- x\n",
    "a:",
    "a: 1",
    "- a:",
    "",
    "\n\n",
    "# only a comment",
    "~\n",
    "null\n",
    "a: 1000000000000000\nb: -1000000000000000\nc: 1e15\nd: 0x38D7EA4C68000\n",
    "a: 1000000000000001\n",
    "a: -1000000000000001\n",
    "a: 99999999999999999\n",
    "a: 00000000000000000001\n",
    "a: 99999999999999999999999999999999\n",
    "a: " + "9" * 5000 + "\n",
    "a: [" + "9" * 5000 + "]\n",
    "a: 0xff\nb: 0o777\nc: 0x38D7EA4C67FFF\nd: 0o7777777777777\n",
    "a: 0xFFFFFFFFFFFFF\n",
    "a: 0o7777777777777777\n",
    "a: 1e16\n",
    "a: -1.5e300\n",
    "a: 1e999\n",
    "a: 0x38D7EA4C68001\n",
    "a: 0o34327724461500001\n",
    "a: [1000000000000001]\n",
    "a: [1, 2, 99999999999999999]\n",
    "a:: 1\n",
    "a:b\n",
    "- a:b\n",
    "a: b:\n",
    "a: b #c\nd: e#f\ng: 'h' # i\nj: \"k\"#l\n",
    "a: ---\nb: ...\nc: -\n",
    "- ...\n- ---\n",
    "a: @x\nb: `x`\n",
    "a: %x\n",
    "a: [a@b.c, d%e, f?g, h&i]\n",
    "a: [a, ]\n",
    "a: [a,, b]\n",
    "a: [ ]\nb: []\nc: {}\n",
    "a: [a: b]\n",
    "a: [\"q\", 'r']\n",
    "a: [[x]]\n",
    "a: [a] # c\nb: [a]#c\n",
    "\u00e9: 1\na: \u00e9\u20ac\U0001d11e x\nb: [\u00e9\u20ac, x\U0001d11e]\n",
    "a: \u00a0x\u00a0\n",
    "k" * 200 + ": 1\n",
    '"' + "k" * 200 + '": 1\n',
    "a: [" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n",
    "".join(" " * level + "k:\n" for level in range(MAX_DEPTH + 2)) + " " * (MAX_DEPTH + 2) + "v\n",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_and_unusual_documents_read_as_the_event_composer_reads_them(text: str) -> None:
    assert_same_as_reference(text)
    assert_same_as_reference(text, line_offset=4, empty={})


@pytest.mark.parametrize("depth", range(MAX_DEPTH - 2, MAX_DEPTH + 3))
def test_nesting_at_and_beyond_the_cap_reads_as_the_event_composer_reads_it(depth: int) -> None:
    maps = "".join(" " * level + "k:\n" for level in range(depth)) + " " * depth + "v: 1\n"
    lists = "".join(" " * level + "-\n" for level in range(depth)) + " " * depth + "- 1\n"
    mixed = "".join(" " * (2 * level) + "- k:\n" for level in range(depth // 2)) + " " * depth + "- [a]\n"
    flow = "".join(" " * level + "k:\n" for level in range(depth)) + " " * depth + "v: [a]\n"
    empty_flow = "".join(" " * level + "k:\n" for level in range(depth)) + " " * depth + "v: []\n"
    for text in (maps, lists, mixed, flow, empty_flow):
        assert_same_as_reference(text)


@pytest.mark.parametrize("count", [MAX_VALUES - 1, MAX_VALUES])
def test_the_value_cap_reads_as_the_event_composer_reads_it(count: int) -> None:
    # The list itself is one value: MAX_VALUES - 1 items fit, MAX_VALUES items are one too many.
    assert_same_as_reference("- 1\n" * count)


# Hypothesis: documents that look like ours, and broken ones.

NUMBERISH = [
    "0", "-0", "+7", "007", "0.0", "-0.0", "1.", ".5", "-.5", "+.5e+2", "1e3", "1E-3", "1_000", "0o17", "0o8",
    "0x1F", "0xg", "0x", "-0x1", "+0o7", "1:30", "10:00:00", "2026-03-01", "2026-03-01T10:00:00Z", "1.2.3",
    "999999999999999", "1000000000000000", "1000000000000001", "-1000000000000000", "-1000000000000001",
    "9999999999999999", "99999999999999999", "0000000000000001", "00000000000000001", "000000000000000001",
    "1e15", "1e16", "1.0e15", "1000000000000000.5", "0x38D7EA4C68000", "0x38D7EA4C68001", "0o34327724461500000",
    ".inf", "-.inf", ".Inf", ".nan", ".NaN", "+", "-", ".", "-.", "+-1", "1e", "e5",
]  # fmt: skip
WORDISH = [
    "yes", "no", "on", "off", "y", "n", "Yes", "NO", "null", "Null", "NULL", "nULL", "~", "true", "True",
    "TRUE", "tRUE", "false", "False", "FALSE", "<<", "=", "word", "two words", "a  b", "C#", "a#b", "a #b",
    "x: y", "x:y", "x:", ":x", "-x", "?x", "- x", "[x", "x]", "{x}", "x, y", "it's", 'say "hi"', "a\\b",
    "é", "€ 5", "\U0001d11e", "\u00a0x", "x\u00a0", "tab\there", "%x", "@x", "`x`", "&x", "*x", "!x",
    "!!str", "|", ">", "|-", "'", '"', "#", "# c",
]  # fmt: skip
ORDINARY = ["word", "two words", "Fix #12", "a/b", "in-13", "ALPHA-1", "6.5", "1", "true", "~", "C#", "x:y", "é"]
SCALAR = st.one_of(
    st.sampled_from(ORDINARY),
    st.sampled_from(NUMBERISH),
    st.sampled_from(WORDISH),
    st.text(alphabet="ab1.-_: #'\"", min_size=1, max_size=8),
)
KEY = st.sampled_from(["a", "b", "key_1", "x.y-z", "1", "null", "on", "A", "é", "<<", "a b", "-a", ""])


def render_scalar(value: str, rng: random.Random) -> str:
    """`value` written plain (even where YAML reads it otherwise), quoted or as a block scalar."""
    style = rng.choice(["plain"] * 12 + ["double", "single", "escaped", "literal", "folded", "two-lines"])
    if style == "double":
        return f'"{value}"'
    if style == "single":
        return f"'{value}'"
    if style == "escaped":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '\\t"'
    if style == "literal":
        return "|\n  " + value
    if style == "folded":
        return ">-\n  " + value + "\n  more"
    if style == "two-lines":
        return value + "\n  " + value
    return value


def render(value: Any, indent: int, rng: random.Random) -> list[str]:
    """`value` (a dict, list or scalar text) as block YAML lines at `indent`, in varied styles."""
    pad = " " * indent
    lines: list[str] = []
    items = value.items() if isinstance(value, dict) else [(None, item) for item in value]
    for key, item in items:
        lead = pad + ("- " if key is None else f"{rng.choice([key, repr(key), chr(34) + key + chr(34)])}: ")
        if rng.random() < 0.1:
            lines.append(pad + rng.choice(["# a comment", "", "  ", "#"]))
        if isinstance(item, str):
            lines.append(lead + render_scalar(item, rng) + rng.choice(["", "", "", " # c", "  #c", "#c", " "]))
        elif not item:
            lines.append(lead + ("[]" if isinstance(item, list) else "{}"))
        elif isinstance(item, list) and all(isinstance(x, str) for x in item) and rng.random() < 0.4:
            lines.append(lead + "[" + ", ".join(item) + "]")
        elif key is None and isinstance(item, dict) and rng.random() < 0.6:
            # A mapping in a list, on the dash's line: `- key: value`, then its other keys below.
            inner = render(item, indent + 2, rng)
            lines.append(pad + "-" + inner[0][indent + 1 :])
            lines.extend(inner[1:])
        else:
            step = rng.choice([1, 2, 2, 4]) if key is None or isinstance(item, dict) else rng.choice([0, 2, 2, 3])
            lines.append(lead.rstrip(" "))
            lines.extend(render(item, indent + step, rng))
    return lines


TREE = st.recursive(
    SCALAR,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(KEY, children, max_size=4),
    ),
    max_leaves=20,
)
MUTATIONS = [
    *["none"] * 12, "crlf", "no-final-break", "tab", "anchor", "alias", "tag", "merge",
    "duplicate", "second-document", "document-markers", "deeper", "shallower", "drop-character",
]  # fmt: skip


def mutate(text: str, how: str, rng: random.Random) -> str:
    lines = text.split("\n")
    at = rng.randrange(len(lines))
    line = lines[at]
    if how == "crlf":
        return text.replace("\n", "\r\n")
    if how == "no-final-break":
        return text.rstrip("\n")
    if how == "tab":
        lines[at] = line.replace(" ", "\t", 1) if " " in line else line + "\t"
    elif how in ("anchor", "alias", "tag"):
        mark = {"anchor": "&x ", "alias": "*x", "tag": rng.choice(["!!str ", "!x ", "! ", "!!int "])}[how]
        cut = line.find(": ") + 2 if ": " in line else len(line) - len(line.lstrip(" -"))
        lines[at] = line[:cut] + mark + line[cut:]
    elif how == "merge":
        lines.insert(at, " " * (len(line) - len(line.lstrip(" "))) + "<<: {m: 1}")
    elif how == "duplicate":
        lines.insert(at, line)
    elif how == "second-document":
        lines.append(rng.choice(["---", "--- a", "...", "---\nb: 1"]))
    elif how == "document-markers":
        lines = ["---", *lines, "..."]
    elif how == "deeper":
        lines[at] = " " + line
    elif how == "shallower":
        lines[at] = line[1:]
    elif how == "drop-character" and line:
        cut = rng.randrange(len(line))
        lines[at] = line[:cut] + line[cut + 1 :]
    return "\n".join(lines)


@settings(max_examples=1500, deadline=None)
@given(TREE, st.sampled_from(MUTATIONS), st.randoms(use_true_random=False), st.sampled_from([0, 1, 5]))
def test_generated_documents_read_as_the_event_composer_reads_them(
    tree: Any, mutation: str, rng: random.Random, line_offset: int
) -> None:
    if isinstance(tree, str):
        text = render_scalar(tree, rng) + "\n"
    else:
        text = "\n".join(render(tree, rng.choice([0, 0, 1, 2]), rng)) + rng.choice(["\n", "\n", "", "\n\n"])
    assert_same_as_reference(mutate(text, mutation, rng), line_offset, rng.choice([None, {}, []]))


LINE_PART = st.tuples(
    st.sampled_from(["", "", "", "", "  ", "  ", "  ", " ", "   ", "    "]),
    st.sampled_from(["", "", "", "", "", "- ", "- ", "-  ", "-", "- - "]),
    st.sampled_from(["a: ", "a: ", "b: ", "b:", "c:  ", "d: ", "e: ", "", "'a': ", '"f": ', "a : ", "? a", "<<: "]),
    st.one_of(
        st.sampled_from(["", "", "", "", "", "[a, b]", "[]", "[1, 2e16]", "{a: 1}", "&x a", "*x", "!!str 5"]),
        st.sampled_from(ORDINARY),
        SCALAR,
    ),
    st.sampled_from(["", "", "", " # c", "#c", "  "]),
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(LINE_PART, min_size=1, max_size=6), st.sampled_from(["\n", "", "\n\n", "\r\n"]))
def test_any_mix_of_lines_reads_as_the_event_composer_reads_it(parts: list[tuple[str, ...]], end: str) -> None:
    # Indentation, dashes, keys and values thrown together: pending keys, lists at a key's indentation,
    # lines one space off, compact lists, duplicates.
    assert_same_as_reference("\n".join("".join(part) for part in parts) + end)


# -- the flat path (`_parse_flat`): front matter and list items, each line's reading kept --------------

FLAT_KEYS = ["title", "status", "a", "b", "due", "'q k'", '"d k"', "x.y-z", "null", "on", "<<", "é", "a b", "-a", ""]
FLAT_VALUES = [
    "", "word", "two words", "in-13", "ALPHA-1", "2026-03-01", "2026-02-30", "2026-03-01T10:00:00Z", "6.5", "7",
    "007", "-0", "0x1F", "0o17", "1e3", ".5", "999999999999999", "1000000000000001", "99999999999999999",
    "0000000000000001", "true", "False", "yes", "no", "~", "null", "NULL", ".inf", ".nan", "C#", "a #b", "a#b",
    "x:y", "x: y", "'quoted'", '"dq"', "'it''s'", '"esc\\"aped"', "[a, b]", "[]", "[ a ,b ]", "[a, [b]]",
    "{a: 1}", "&x a", "*x", "!!str 5", "! x", "|", ">-", "- a", "-x", "?x", "@x", "`x`", "%x", "é €",
    "[in-13, c01-07]", "[1, 2e16]", "[yes, no, ~]",
]  # fmt: skip
FLAT_ENDS = ["", "", "", " ", " # c", "  #c", "#c"]
FLAT_LEADS = ["", "", "", "", "", "", "- ", "-  ", "  ", "   ", " ", "\t", "-"]
FLAT_OTHER = ["", "# comment", "  ", "#", "---", "...", "- ", "  - x", "  more words", "key:", "\ufeffa: 1"]


@st.composite
def flat_texts(draw: st.DrawFn) -> str:
    """Texts shaped like front matter or one list item, with the odd line that is not."""
    lines: list[str] = []
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            lines.append(draw(st.sampled_from(FLAT_OTHER)))
            continue
        lead = draw(st.sampled_from(FLAT_LEADS))
        key = draw(st.sampled_from(FLAT_KEYS))
        gap = draw(st.sampled_from([" ", " ", " ", "  ", ""]))
        lines.append(f"{lead}{key}:{gap}{draw(st.sampled_from(FLAT_VALUES))}{draw(st.sampled_from(FLAT_ENDS))}")
    as_item: bool = draw(st.booleans())
    if lines and as_item:
        # Most often: one item of a list, its other keys under its first.
        lines = ["- " + lines[0].lstrip("- "), *("  " + line.lstrip("- ") for line in lines[1:])]
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n", "\r\n"]))


def assert_flat_same_as_reference(text: str, line_offset: int, empty: Any) -> None:
    expected = outcome(_parse_yaml_reference, text, line_offset, empty)
    assert outcome(parse_yaml, text, line_offset, empty) == expected, text
    if yamlio._NOT_ALLOWED.search(text):
        return
    flat = _parse_flat(text, "f.yaml", line_offset, empty)
    if flat is not None:
        simple = _parse_simple(text, "f.yaml", line_offset, empty)
        assert simple is not None, text
        assert outcome(lambda *args: flat, text) == outcome(lambda *args: simple, text) == expected, text


@settings(derandomize=True, deadline=None, max_examples=2500)
@given(flat_texts(), st.sampled_from([0, 1, 6]), st.sampled_from([None, {}, []]), st.booleans())
def test_flat_reading_gives_what_the_line_reader_and_the_event_composer_give(
    text: str, line_offset: int, empty: Any, forget: bool
) -> None:
    if forget:
        yamlio._FLAT_LINES.clear()
    assert_flat_same_as_reference(text, line_offset, empty)


def test_flat_reading_takes_front_matter_and_list_items_and_leaves_the_rest() -> None:
    front = "title: Plan\nstatus: open\nsubscribers: [c01-07, c01-10]\n# note\nestimate_hours: 39\ndue:\n"
    item = '- date: 2024-01-04\n  person: in-21\n  task: ALPHA-1\n  hours: 8.0\n  note: "Copy"\n  billable: true\n'
    for text in (front, item, "", "# only\n"):
        assert _parse_flat(text, "f.yaml", 3, {}) is not None, text
        assert_flat_same_as_reference(text, 3, {})
    for text in (
        "a:\n  b: 1\n",  # nested
        "- a: 1\n- b: 2\n",  # two items
        "- a: 1\nb: 2\n",  # a key beside the list
        "a: 1\na: 2\n",  # duplicate
        "a:\n- x\n",  # a list at the key's indentation
        "a: 99999999999999999\n",  # near the number limit
        "  a: 1\n",  # indented
        "a: |\n  text\n",  # block scalar
    ):
        assert _parse_flat(text, "f.yaml", 0, None) is None, text
        assert_flat_same_as_reference(text, 0, None)


def test_a_line_kept_from_one_text_reads_the_same_in_another() -> None:
    yamlio._FLAT_LINES.clear()
    first = parse_yaml("status: open\ntags: [a, b]\n", "one.yaml")
    again = parse_yaml("title: x\nstatus: open\ntags: [a, b]\n", "two.yaml")
    assert first.data["tags"] is not again.data["tags"]  # each text has its own lists
    again.data["tags"].append("c")
    assert parse_yaml("tags: [a, b]\n", "three.yaml").data == {"tags": ["a", "b"]}
    assert again.locs[("tags", 1)] == (3, 11)


def test_two_texts_read_with_kept_lines_share_no_text_or_path_and_pickle_as_read_afresh() -> None:
    # The build's keys of pages are digests of pickles of several records: shared strings or paths
    # (pickled once, then referred to) would make them depend on what this process read before.
    text = "title: Plan the header\nstatus: open\ntags: [web, a b]\nsubscribers: [in-21, in-21x]\n"
    yamlio._FLAT_LINES.clear()
    first = parse_yaml(text, "one.md", line_offset=1)
    second = parse_yaml(text, "two.md", line_offset=1)
    assert _parse_flat(text, "three.md", 1, None) is not None  # read with the kept lines
    for key, value in first.data.items():
        (other_key, other_value), *_ = [(k, v) for k, v in second.data.items() if k == key]
        assert other_key is not key
        if isinstance(value, str) and len(value) > 1:
            assert other_value is not value
    for path, other in zip(first.locs, second.locs, strict=True):
        assert path == other and (path is not other or path == ())
    yamlio._FLAT_LINES.clear()
    afresh = [_parse_yaml_reference(text, name, 1).data for name in ("one.md", "two.md")]
    assert pickle.dumps([first.data, second.data]) == pickle.dumps(afresh)


def test_the_kept_lines_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlio, "_FLAT_LINES_ENTRIES", 10)
    yamlio._FLAT_LINES.clear()
    for number in range(50):
        assert parse_yaml(f"a{number}: {number}\n", "f.yaml").data == {f"a{number}": number}
        assert len(yamlio._FLAT_LINES) <= 10


# -- front matter found by offsets in the text, not by cutting the whole text into lines ---------------


def front_matter_by_lines(text: str, path: str) -> FrontMatterDoc:
    """How front matter was found before: the whole text cut into lines (the reference)."""
    lines = text.split("\n")
    start = 0
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
        raise SourceError(doc.loc(), f"front matter must be a mapping of fields (`field: value` lines), not {got}")
    body = "\n".join(lines[end + 1 :]).strip("\n")
    return FrontMatterDoc(doc=doc, body=body + "\n" if body else "", body_line=end + 2)


def front_result(parse: Any, text: str) -> tuple[Any, ...]:
    try:
        record = parse(text, "t.md")
    except SourceError as error:
        return ("error", str(error.loc), error.message)
    doc = record.doc
    return (doc.data, list(doc.locs.items()), list(doc.key_locs.items()), record.body, record.body_line)


FRONT_LINES = [
    "---", "---", "---", "...", "--- ", "---\t", "---\x0b", "---\x85", "---\u2028", "---\u3000", " ---", "----",
    "-- -", "....", "---x", "# yaml-language-server: $schema=../x.json", "# yaml-language-server:", "# other",
    "title: T", "status: open", "a: [x, y]", "- item", "", "", "body text", "## Heading", "\u2028",
]  # fmt: skip


@settings(derandomize=True, deadline=None, max_examples=2500)
@given(st.lists(st.sampled_from(FRONT_LINES), max_size=9), st.sampled_from(["", "\n", "\n\n", "\r\n"]))
def test_front_matter_found_by_offsets_is_the_front_matter_found_by_lines(lines: list[str], end: str) -> None:
    text = "\n".join(lines) + end
    assert front_result(parse_front_matter, text) == front_result(front_matter_by_lines, text), text


def test_front_matter_of_ordinary_records_is_found_by_offsets_as_by_lines() -> None:
    for text in (
        "---\ntitle: T\nstatus: open\n---\n\nBody\n\n",
        "# yaml-language-server: $schema=x\n---\nauthor: a\n---\nHi",
        "---\n---\n",
        "---\ntitle: T\n...\nrest\n---\nmore\n",
        "---\ntitle: T\n---",
        "---",
        "",
        "# yaml-language-server: x",
        "no front matter\n",
    ):
        assert front_result(parse_front_matter, text) == front_result(front_matter_by_lines, text), text
