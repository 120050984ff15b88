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
from worktrail.schema import SCHEMA_NAMES, _strict_regex, _validator_class, fast_check, load_schema, validator
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


# -- one check per typed schema: `type` and that type's keywords at once (`_Compiler.typed`) ----------


@st.composite
def typed_schemas(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    kind = draw(st.sampled_from(["string", "number", "integer", "object", "array", "boolean"]))
    schema: dict[str, Any] = {"type": kind, "description": "d"}
    if kind == "string":
        for keyword, rule in (("pattern", st.sampled_from(["^[a-z]+$", "^a", "b", "^[0-9]{2}$"])),
                              ("minLength", st.integers(0, 3)), ("maxLength", st.integers(0, 4))):  # fmt: skip
            if draw(st.booleans()):
                schema[keyword] = draw(rule)
    elif kind in ("number", "integer"):
        for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if draw(st.booleans()):
                schema[keyword] = draw(st.sampled_from([0, 1, 2.5, -1, 24]))
    elif kind == "object":
        if depth < 2:
            names = draw(st.lists(st.sampled_from(["a", "b", "c"]), unique=True, max_size=3))
            schema["properties"] = {name: draw(typed_schemas(depth + 1)) for name in names}
        if draw(st.booleans()):
            schema["required"] = draw(st.lists(st.sampled_from(["a", "b", "d"]), unique=True, max_size=2))
        if draw(st.booleans()):
            schema["additionalProperties"] = draw(
                st.sampled_from([False, True]) if depth >= 2 else st.one_of(st.booleans(), typed_schemas(depth + 1))
            )
        for keyword in ("minProperties", "maxProperties"):
            if draw(st.integers(0, 3)) == 0:
                schema[keyword] = draw(st.integers(0, 2))
    elif kind == "array":
        if depth < 2 and draw(st.booleans()):
            schema["items"] = draw(typed_schemas(depth + 1))
        for keyword, rule in (("uniqueItems", st.booleans()), ("minItems", st.integers(0, 2)),
                              ("maxItems", st.integers(0, 3))):  # fmt: skip
            if draw(st.booleans()):
                schema[keyword] = draw(rule)
    if draw(st.integers(0, 5)) == 0:
        schema["enum"] = ["a", 1]  # a keyword outside the typed set: checked one keyword at a time
    return schema


TYPED_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-3, 30), st.sampled_from([0.0, 2.5, 24.0, 1.0, -0.5]),
        st.sampled_from(["", "a", "ab", "abc", "b", "12", "12\n", "A", "aaaaa", "1"]),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), inner)),
    max_leaves=8,
)  # fmt: skip


@settings(derandomize=True, deadline=None, max_examples=1500)
@given(typed_schemas(), st.lists(TYPED_VALUES, min_size=1, max_size=6))
def test_a_typed_schema_checked_at_once_answers_as_jsonschema(schema: dict[str, Any], values: list[Any]) -> None:
    check = compile_schema(schema, _strict_regex)
    reference = _validator_class()(schema)
    for value in values:
        assert check(value) == reference.is_valid(value), (schema, value)


def test_a_clean_workspace_is_validated_without_importing_jsonschema_and_a_bad_file_still_is_explained(
    tmp_path: Path,
) -> None:
    """jsonschema (~30 ms to import) is loaded only to explain a file the compiled check refuses."""
    import shutil
    import subprocess
    import sys

    sample = Path(__file__).resolve().parent.parent / "sample-workspace"
    code = (
        "import sys; from pathlib import Path; from worktrail.validate import validate_workspace;"
        "report, _ = validate_workspace(Path(sys.argv[1]));"
        "print(report.errors, 'jsonschema' in sys.modules)"
    )
    clean = subprocess.run([sys.executable, "-c", code, str(sample)], capture_output=True, text=True, check=True)
    assert clean.stdout.split() == ["0", "False"]
    broken = tmp_path / "ws"
    shutil.copytree(sample, broken, ignore=shutil.ignore_patterns(".git"))
    task = next((broken / "projects").glob("*/tasks/*.md"))
    task.write_text(task.read_text(encoding="utf-8").replace("status: ", "status: nonsense-", 1), encoding="utf-8")
    failed = subprocess.run([sys.executable, "-c", code, str(broken)], capture_output=True, text=True, check=True)
    errors, imported = failed.stdout.split()
    assert int(errors) >= 1 and imported == "True"


@settings(max_examples=400)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=3),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
        max_leaves=6,
    ),
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=True) | st.text(max_size=3),
)
def test_enum_and_const_equality_is_jsonschemas_for_any_value(value: Any, option: Any) -> None:
    from jsonschema import _utils

    from worktrail.fastschema import _equal

    assert _equal(value, option) == bool(_utils.equal(value, option))
    assert _equal(option, value) == bool(_utils.equal(option, value))
    assert _equal(value, value) == bool(_utils.equal(value, value))
