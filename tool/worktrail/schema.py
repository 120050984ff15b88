"""JSON Schema validation of parsed files, with errors mapped back to YAML lines.

One compiled validator per schema is built once per process and reused for every file (compiling
per file is ~35x slower). Errors are rewritten into short messages that name the field.

`jsonschema` is imported only when a file fails the compiled yes/no check (`fastschema`) and must be
explained, or a schema needs it: a clean workspace is validated without it (~30 ms of every command
that validates).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from .fastschema import ANNOTATIONS, Unsupported, compile_schema
from .findings import Finding, error
from .resources import schemas_dir
from .yamlio import Doc, PathKey, describe_path

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

SCHEMA_NAMES = (
    "workspace",
    "person",
    "team",
    "project",
    "task",
    "comment",
    "change-request",
    "meeting",
    "time",
    "expenses",
    "documents",
    "feedback",
)

MAX_FINDINGS_PER_FILE = 100
_EMAIL_PATTERN = r"^[^\s<>@]+@[^\s<>@]+$"
_PATTERN_HINTS = {
    "date": "a date written YYYY-MM-DD",
    "date-time": "a date and time written YYYY-MM-DDTHH:MM:SSZ (or with an offset like +01:00)",
}


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed JSON Schema `<name>.schema.json`."""
    path = schemas_dir() / f"{name}.schema.json"
    with path.open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@cache
def _strict_regex(pattern: str) -> re.Pattern[str]:
    # Python's `$` also matches before a final newline; ECMA's (editors') does not. Be as strict.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    from jsonschema.exceptions import ValidationError

    if isinstance(instance, str) and not _strict_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _validator_class() -> Any:
    """jsonschema's Draft 2020-12 validator with the strict `pattern` (see `_strict_regex`)."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"pattern": _pattern})  # type: ignore[no-untyped-call]


@cache
def validator(name: str) -> Any:
    """A compiled validator for schema `name`, built once."""
    return _validator_class()(load_schema(name))


def _yes_no(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """A yes/no check for a schema: compiled closures (~20x faster), else jsonschema's is_valid."""
    try:
        return compile_schema(schema, _strict_regex)
    except Unsupported:
        return _validator_class()(schema).is_valid  # type: ignore[no-any-return]


@cache
def fast_check(name: str) -> Callable[[Any], bool]:
    """A yes/no check for schema `name` (see `_yes_no`)."""
    return _yes_no(load_schema(name))


@cache
def item_check(name: str) -> Callable[[Any], bool] | None:
    """For a schema that is a list of items and nothing more (time, expenses, documents): a yes/no check
    of one item, so that a list is valid exactly when each of its items is. None for any other schema."""
    schema = load_schema(name)
    items = schema.get("items")
    if schema.get("type") != "array" or not isinstance(items, dict) or set(schema) - ANNOTATIONS != {"type", "items"}:
        return None
    return _yes_no({"$defs": schema.get("$defs", {}), **items})


def validate(doc: Doc, name: str) -> list[Finding]:
    """Validate a parsed document against schema `name`; one finding per problem, with its line."""
    # The clean path asks only "valid?"; jsonschema runs in full only to explain a failure.
    if fast_check(name)(doc.data):
        return []
    check = validator(name)
    findings: set[Finding] = set()
    # A hostile file can hold a million wrong items: explain the first ones, and say that more follow.
    for err in check.iter_errors(doc.data):
        for finding in _explain(doc, err):
            findings.add(finding)
            if len(findings) > MAX_FINDINGS_PER_FILE:
                shown = sorted(findings)
                more = error(
                    shown[MAX_FINDINGS_PER_FILE].loc,
                    "schema.more",
                    f"more problems from here on are not listed (the first {MAX_FINDINGS_PER_FILE} are); "
                    "fix those first",
                )
                return [*shown[:MAX_FINDINGS_PER_FILE], more]
    return sorted(findings)


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_EXPECTED = {
    "boolean": "true or false",
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "array": "a list",
    "object": "a mapping of fields",
    "null": "nothing",
}


def _explain(doc: Doc, err: ValidationError) -> Iterator[Finding]:
    path: PathKey = tuple(err.absolute_path)
    where = describe_path(path)
    kind = err.validator
    instance = err.instance
    schema = err.schema if isinstance(err.schema, dict) else {}
    rule: Any = err.validator_value
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(schema.get("properties", {}))
        for key in sorted(k for k in instance if k not in schema.get("properties", {})):
            near = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else f" (known fields: {', '.join(allowed)})"
            place = f" in {where}" if path else ""
            yield error(doc.key_loc((*path, key)), "schema.unknown-field", f"unknown field {key!r}{place}{hint}")
        return
    if kind == "required":
        missing = err.message.split("'")[1] if "'" in err.message else str(rule)
        place = f" in {where}" if path else ""
        yield error(doc.loc(path), "schema.required", f"missing required field {missing!r}{place}")
        return
    if kind == "enum":
        options = ", ".join(json.dumps(v) if not isinstance(v, str) else v for v in rule)
        yield error(doc.loc(path), "schema.enum", f"{where}: {instance!r} is not one of: {options}")
        return
    if kind == "type":
        names: list[str] = [rule] if isinstance(rule, str) else list(rule)
        want = " or ".join(_EXPECTED.get(n, n) for n in names)
        yield error(doc.loc(path), "schema.type", f"{where}: expected {want}, got {_type_name(instance)}")
        return
    if kind == "pattern":
        hint = _pattern_hint(schema)
        yield error(doc.loc(path), "schema.pattern", f"{where}: {_type_name(instance)} is not {hint}")
        return
    if kind in {"oneOf", "anyOf"} and isinstance(instance, dict):
        choices = [" or ".join(sorted(option.get("required", []))) for option in rule if isinstance(option, dict)]
        if all(choices):
            yield error(doc.loc(path), "schema.one-of", f"{where}: give exactly one of {', '.join(choices)}")
            return
    if kind == "uniqueItems":
        yield error(doc.loc(path), "schema.unique", f"{where}: the list has the same entry twice")
        return
    message = err.message
    if len(message) > 200:
        message = message[:197] + "..."
    yield error(doc.loc(path), f"schema.{kind}", f"{where}: {message}")


def _pattern_hint(schema: dict[str, Any]) -> str:
    ref_name = schema.get("x-format") or schema.get("format")
    if isinstance(ref_name, str) and ref_name in _PATTERN_HINTS:
        return _PATTERN_HINTS[ref_name]
    pattern = str(schema.get("pattern", ""))
    if pattern == _EMAIL_PATTERN:
        # Spaces are refused rather than trimmed, so the file says exactly what Git records.
        return "an email address like ana@example.com: one '@', no spaces (not even around it), no '<' or '>'"
    if pattern.startswith("^[0-9]{4}-") and "T" in pattern:
        return _PATTERN_HINTS["date-time"]
    if pattern.startswith("^[0-9]{4}-"):
        return _PATTERN_HINTS["date"]
    if pattern == "^[a-z0-9][a-z0-9-]*$":
        return "an id (lowercase letters, digits and '-')"
    if pattern.startswith("^CR-"):
        return "a change request id like CR-3"
    if pattern.startswith("^[A-Z][A-Z0-9]*-"):
        return "a task id like WEB-12"
    if pattern == "^[A-Z][A-Z0-9]*$":
        return "a project key (capital letters and digits, like WEB)"
    if pattern == "^[A-Z]{3}$":
        return "a three-letter currency code like EUR"
    description = schema.get("description")
    if isinstance(description, str):
        return f"valid ({description.rstrip('.')})"
    return f"in the expected form (pattern {pattern})"
