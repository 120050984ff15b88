"""List files parsed item by item (`yamllist.parse_yaml_list`) give exactly what `parse_yaml` gives.

The rule: for any text, the item-by-item parse returns a Doc equal to the whole-file parse (data,
value and key locations, container positions), or raises the same error at the same place.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worktrail import yamllist
from worktrail.yamlio import Doc, SourceError, parse_yaml
from worktrail.yamllist import parse_yaml_list

ROOT = Path(__file__).resolve().parent.parent


def outcome(parse: object, text: str) -> tuple[str, object]:
    try:
        doc = parse(text, "f.yaml", empty=[])  # type: ignore[operator]
    except SourceError as exc:
        return ("error", (exc.loc, exc.message))
    assert isinstance(doc, Doc)
    # As lists: the order of each map is the order of the document too.
    return ("doc", (doc.path, doc.data, list(doc.locs.items()), list(doc.key_locs.items()), list(doc.paths_at.items())))


def assert_same(text: str) -> None:
    assert outcome(parse_yaml_list, text) == outcome(parse_yaml, text), text
    # Again, now that the items are kept: kept items give the same result.
    assert outcome(parse_yaml_list, text) == outcome(parse_yaml, text), text


def list_files() -> list[Path]:
    found = []
    for folder in (ROOT / "sample-workspace", ROOT / "tests" / "cases"):
        for path in sorted(folder.rglob("*.yaml")):
            if path.parent.name == "time" or path.name in ("expenses.yaml", "documents.yaml"):
                found.append(path)
    return found


def test_every_list_file_of_the_sample_and_the_cases_parses_item_by_item_exactly_as_whole() -> None:
    files = list_files()
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert_same(text)
        # Every prefix of whole lines too: the versions a history holds as entries are appended.
        lines = text.split("\n")
        for cut in range(len(lines)):
            assert_same("\n".join(lines[:cut]) + "\n")


HOSTILE = [
    '- note: "runs over\n- the next line"\n- b\n',
    "- [a,\n- b]\n",
    "- {a: 1,\n- b: 2}\n",
    "- a\n---\n- b\n",
    "- a\n...\n- b\n",
    "- a\n%YAML 1.2\n- b\n",
    "- &x a\n- *x\n",
    "- !!str a\n- b\n",
    "- a: 1\n  a: 2\n- b\n",
    "- a\n-b\n- c\n",
    "- a\nb\n- c\n",
    "# header\n\n- a: 1\n  b: [1, 2]\n\n# between\n- c: |\n    text\n    more\n- d:\n- e: >\n    folded\n",
    "- note:\n- date:\n",
    "-\n  date: 2026-01-01\n-\n  date: 2026-01-02\n",
    "- 1\n- 10000000000000000\n",
    "- a\n\t- b\n",
    "key: value\n- a\n",
    "- a\n- b",
    "",
    "# only a comment\n",
    "[]\n",
    "- \x07\n",
    "- a\n- \u2028\n",
    "- - nested\n  - list\n- x\n",
    "- 'single\n- quoted'\n",
]


def test_hostile_and_unusual_lists_parse_item_by_item_exactly_as_whole() -> None:
    for text in HOSTILE:
        assert_same(text)


scalar = st.one_of(
    st.sampled_from(["yes", "no", "~", "null", "true", "1.5", "7", "0x1f", "2026-03-01", "a: b", "- x", "#c", ""]),
    st.text(alphabet="ab -:#'\"[]{}|>\n\t&*!", max_size=12),
)
item_text = st.one_of(
    scalar.map(lambda v: f"- {v}\n"),
    st.tuples(scalar, scalar).map(lambda kv: f"- date: {kv[0]}\n  note: {kv[1]}\n"),
    st.tuples(scalar, scalar).map(lambda kv: f'- note: "{kv[0]}\n  {kv[1]}"\n'),
    st.tuples(scalar, scalar).map(lambda kv: f"- note: |\n    {kv[0]}\n  hours: {kv[1]}\n"),
    st.tuples(scalar, scalar).map(lambda kv: f"- [{kv[0]},\n{kv[1]}]\n"),
    st.just("\n"),
    st.just("# comment\n"),
)


@given(st.lists(item_text, max_size=8), st.booleans())
def test_generated_lists_parse_item_by_item_exactly_as_whole(items: list[str], final_newline: bool) -> None:
    text = "".join(items)
    if not final_newline:
        text = text.rstrip("\n")
    assert_same(text)


def test_an_item_seen_before_is_not_parsed_again() -> None:
    yamllist._items.clear()
    first = "- date: 2026-01-05\n  person: ana\n  task: WEB-1\n  hours: 2\n"
    second = "- date: 2026-01-06\n  person: ana\n  task: WEB-1\n  hours: 3\n"
    parse_yaml_list(first, "t.yaml", empty=[])
    kept = dict(yamllist._items)
    doc = parse_yaml_list(first + second, "t.yaml", empty=[])
    assert len(yamllist._items) == len(kept) + 1
    assert doc.data[0] is kept[(first, 0, 0)].data
    assert doc == parse_yaml(first + second, "t.yaml", empty=[])


@given(st.lists(item_text, min_size=1, max_size=8), st.lists(item_text, min_size=1, max_size=4))
def test_a_kept_list_with_items_appended_parses_exactly_as_whole(items: list[str], appended: list[str]) -> None:
    """Each version is a kept list plus one item (see `yamllist._extended`): the same Doc as a whole parse."""
    text = "".join(items)
    assert_same(text)
    for item in appended:
        text += item
        assert_same(text)


def test_a_list_made_from_the_kept_list_before_it_equals_a_fresh_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    versions = [
        "# January\n- date: 2026-01-05\n  person: ana\n  task: WEB-1\n  hours: 2\n",
        "- date: 2026-01-06\n  person: ana\n  task: WEB-1\n  hours: 3\n",
        "\n# a comment between\n- date: 2026-01-07\n  person: bo\n  task: WEB-2\n  hours: 1\n  note: x\n",
        "- date: 2026-01-08\n  person: bo\n  task: WEB-2\n  hours: 1\n  note: |\n    two\n    lines\n",
    ]
    texts = ["".join(versions[: n + 1]) for n in range(len(versions))]
    yamllist._items.clear()
    yamllist._lists.clear()
    fresh = []
    for text in texts:
        yamllist._items.clear()
        yamllist._lists.clear()
        fresh.append(outcome(parse_yaml_list, text))
    yamllist._items.clear()
    yamllist._lists.clear()
    cuts: list[str] = []
    real_cut = yamllist._cut

    def cut(text: str) -> list[tuple[int, str]] | None:
        cuts.append(text)
        return real_cut(text)

    monkeypatch.setattr(yamllist, "_cut", cut)
    made = [outcome(parse_yaml_list, text) for text in texts]
    assert made == fresh == [outcome(parse_yaml, text) for text in texts]
    # Each version is the kept one before it plus an item, and is not cut again, but the first and
    # the third: lines before its new item belong to the item before it, which changed.
    assert cuts == [texts[0], texts[2]]


def test_a_version_that_is_not_an_append_is_parsed_as_a_whole_list() -> None:
    first = "- date: 2026-01-05\n  hours: 2\n- date: 2026-01-06\n  hours: 3\n"
    for text in (
        first,
        first.replace("hours: 2", "hours: 4"),  # an earlier item edited
        first + "key: value\n",  # a line that ends the list layout
        first + "-x\n",
        first + "- a\n\tb\n",
        "- date: 2026-01-05\n  hours: 2\n",  # the last item removed
        first + "- date: 2026-01-07\n  hours: 1\n  hours: 2\n",  # an item that is an error on its own
    ):
        assert_same(text)
