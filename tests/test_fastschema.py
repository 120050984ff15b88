"""The compiled schema check answers exactly as jsonschema does, so it may stand in on the clean path."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worktrail.fastschema import Unsupported, compile_schema
from worktrail.schema import SCHEMA_NAMES, _strict_regex, fast_check, load_schema, validator
from worktrail.yamlio import SourceError, decode, parse_front_matter, parse_yaml

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "sample-workspace", ROOT / "tests" / "cases")

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(^|/)worktrail\.yaml$"), "workspace"),
    (re.compile(r"(^|/)people/[^/]+\.yaml$"), "person"),
    (re.compile(r"(^|/)teams/[^/]+\.yaml$"), "team"),
    (re.compile(r"/project\.yaml$"), "project"),
    (re.compile(r"/tasks/[^/]+/comments/[^/]+\.md$"), "comment"),
    (re.compile(r"/tasks/[^/]+\.md$"), "task"),
    (re.compile(r"/changes/[^/]+\.md$"), "change-request"),
    (re.compile(r"/meetings/[^/]+\.md$"), "meeting"),
    (re.compile(r"/time/[^/]+\.yaml$"), "time"),
    (re.compile(r"/expenses\.yaml$"), "expenses"),
    (re.compile(r"/files/index\.yaml$"), "documents"),
    (re.compile(r"/feedback/[^/]+\.md$"), "feedback"),
)


def _schema_of(path: Path) -> str | None:
    text = path.as_posix()
    return next((name for pattern, name in _RULES if pattern.search(text)), None)


def _documents() -> list[tuple[str, str, Any]]:
    """(file, schema name, parsed data) for every record file of the sample and the validation cases."""
    found: list[tuple[str, str, Any]] = []
    for source in SOURCES:
        for path in sorted(source.rglob("*")):
            name = _schema_of(path) if path.is_file() and not path.is_symlink() else None
            if name is None or ("/files/" in path.as_posix() and name != "documents"):
                continue
            try:
                text = decode(path.read_bytes(), str(path))
                doc = parse_front_matter(text, str(path)).doc if path.suffix == ".md" else parse_yaml(text, str(path))
            except SourceError:  # files that do not parse are the loader's business, not the schema's
                continue
            found.append((str(path.relative_to(ROOT)), name, doc.data))
    return found


DOCUMENTS = _documents()


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_schema_compiles_to_the_fast_check(name: str) -> None:
    try:
        compile_schema(load_schema(name), _strict_regex)
    except Unsupported as exc:  # pragma: no cover - the message says which keyword to add
        pytest.fail(f"{name}: the fast check does not handle {exc}")


def test_fast_check_agrees_with_jsonschema_on_every_sample_and_case_file() -> None:
    assert len(DOCUMENTS) > 100
    for where, name, data in DOCUMENTS:
        assert fast_check(name)(data) == validator(name).is_valid(data), where


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=100_000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(
        [
            "",
            "open",
            "done",
            "ana",
            "Ana",
            "WEB-12",
            "CR-3",
            "2026-03-01",
            "2026-02-30",
            "2026-03-01T10:00:00Z",
            "2026-03-01T10:00:00",
            "EUR",
            "hour",
            "x" * 65,
            "ana\n",
            "a b",
        ]
    ),
    st.text(max_size=8),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["id", "for", "title", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(data: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(data, dict):
        for key, value in data.items():
            out.extend(_paths(value, (*here, key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out.extend(_paths(value, (*here, index)))
    return out


@settings(derandomize=True, deadline=None, max_examples=400)
@given(st.data())
def test_fast_check_agrees_with_jsonschema_on_mutated_documents(data: st.DataObject) -> None:
    where, name, original = data.draw(st.sampled_from(DOCUMENTS))
    document = copy.deepcopy(original)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(document)
        path = data.draw(st.sampled_from(paths))
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if not path:
            document = data.draw(_VALUES) if action == "replace" else document
            continue
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        if action == "replace":
            parent[last] = data.draw(_VALUES)
        elif action == "delete":
            del parent[last]
        elif isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["titel", "hidden", "status", "id", "x-note"]))] = data.draw(_VALUES)
        else:
            parent.append(data.draw(_VALUES))
    assert fast_check(name)(document) == validator(name).is_valid(document), (where, document)
