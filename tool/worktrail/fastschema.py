"""A compiled yes/no check for the clean path of schema validation; `jsonschema` explains failures.

Our schemas use a small set of draft 2020-12 keywords. `compile_schema` turns one schema into nested
Python closures that answer only "valid or not", about 20x faster than `jsonschema`'s `is_valid`.
A schema using any keyword outside that set is not compiled (`Unsupported`) and the caller keeps
`jsonschema` alone. The check must never accept what `jsonschema` rejects; tests compare both on
every case file and on generated documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Keywords that only annotate: they never make a document invalid.
ANNOTATIONS = frozenset({"description", "title", "$schema", "$id", "default", "examples", "$comment", "$defs"})


class Unsupported(Exception):
    """The schema uses a keyword (or a reference) this compiler does not handle."""


def _is_integer(value: Any) -> bool:
    # As jsonschema: booleans are not numbers; a float with no fraction is an integer.
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": _is_integer,
    "number": _is_number,
}


class _Compiler:
    def __init__(self, root: dict[str, Any], regex: Callable[[str], re.Pattern[str]]) -> None:
        self.root = root
        self.regex = regex
        self.refs: dict[str, Check] = {}
        self.pending: set[str] = set()

    def ref(self, target: str) -> Check:
        prefix = "#/$defs/"
        name = target[len(prefix) :]
        defs = self.root.get("$defs", {})
        if not target.startswith(prefix) or "/" in name or name not in defs:
            raise Unsupported(f"$ref {target}")
        done = self.refs.get(name)
        if done is not None:
            return done
        if name in self.pending:
            # A recursive reference: look the finished check up when it runs.
            return lambda value: self.refs[name](value)
        self.pending.add(name)
        compiled = self.compile(defs[name])
        self.pending.discard(name)
        self.refs[name] = compiled
        return compiled

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda value: True
        if schema is False:
            return lambda value: False
        if not isinstance(schema, dict):
            raise Unsupported(f"schema {schema!r}")
        typed = self.typed(schema)
        if typed is not None:
            return typed
        checks: list[Check] = []
        for keyword, rule in schema.items():
            if keyword in ANNOTATIONS:
                continue
            make = getattr(self, "k_" + keyword.lstrip("$"), None)
            if make is None:
                raise Unsupported(keyword)
            checks.append(make(rule, schema))
        return _all_of(checks)

    # -- one check for a schema of one type ---------------------------------------------------
    # Most of our schemas are `type` and keywords about values of that type only (a string's
    # pattern and length, a number's bounds, a mapping's fields, a list's items). Each keyword's
    # check begins by asking the type again; here the type is asked once, and the keywords follow in
    # one function. The same answer as `all` of the keywords' checks (they have no side effects).

    def typed(self, schema: dict[str, Any]) -> Check | None:
        """One check for `type` with keywords of that type only; None for any other schema."""
        kind = schema.get("type")
        if not isinstance(kind, str) or kind not in _TYPED_KEYWORDS:
            return None
        rules = {keyword: rule for keyword, rule in schema.items() if keyword not in ANNOTATIONS and keyword != "type"}
        if not rules.keys() <= _TYPED_KEYWORDS[kind]:
            return None
        if kind == "string":
            return self.typed_string(rules)
        if kind == "object":
            return self.typed_object(rules)
        if kind == "array":
            return self.typed_array(rules)
        return _typed_number(_TYPES[kind], rules)

    def typed_string(self, rules: dict[str, Any]) -> Check:
        search = self.regex(str(rules["pattern"])).search if "pattern" in rules else None
        shortest = rules.get("minLength")
        longest = rules.get("maxLength")
        # The shapes our schemas use (ids, dates, non-empty texts) get a check of their own.
        if search is None and longest is None:
            if shortest is None:
                return _TYPES["string"]
            least: Any = shortest
            return lambda value: isinstance(value, str) and len(value) >= least
        if search is not None and shortest is None:
            found = search
            if longest is None:
                return lambda value: isinstance(value, str) and found(value) is not None
            most: Any = longest
            return lambda value: isinstance(value, str) and len(value) <= most and found(value) is not None

        def check(value: Any) -> bool:
            if not isinstance(value, str):
                return False
            if shortest is not None and len(value) < shortest:
                return False
            if longest is not None and len(value) > longest:
                return False
            return search is None or search(value) is not None

        return check

    def typed_object(self, rules: dict[str, Any]) -> Check:
        props = {name: self.compile(sub) for name, sub in rules.get("properties", {}).items()}
        required = tuple(rules.get("required", ()))
        extra_rule = rules.get("additionalProperties", True)
        closed = extra_rule is False
        extra = None if extra_rule is True or closed else self.compile(extra_rule)
        fewest = rules.get("minProperties")
        most = rules.get("maxProperties")

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return False
            for name in required:
                if name not in value:
                    return False
            for key, item in value.items():
                sub = props.get(key)
                if sub is None:
                    if closed or (extra is not None and not extra(item)):
                        return False
                elif not sub(item):
                    return False
            if fewest is not None and len(value) < fewest:
                return False
            return most is None or len(value) <= most

        return check

    def typed_array(self, rules: dict[str, Any]) -> Check:
        sub = self.compile(rules["items"]) if "items" in rules else None
        unique = bool(rules.get("uniqueItems"))
        fewest = rules.get("minItems")
        most = rules.get("maxItems")

        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return False
            if sub is not None:
                for item in value:
                    if not sub(item):
                        return False
            if fewest is not None and len(value) < fewest:
                return False
            if most is not None and len(value) > most:
                return False
            return not unique or _unique(value)

        return check

    # -- keywords (each returns a check; all of a schema's checks must pass) ---------------------

    def k_ref(self, rule: Any, schema: dict[str, Any]) -> Check:
        return self.ref(str(rule))

    def k_type(self, rule: Any, schema: dict[str, Any]) -> Check:
        names = [rule] if isinstance(rule, str) else list(rule)
        tests = [_TYPES[name] for name in names]
        if len(tests) == 1:
            return tests[0]
        return lambda value: any(test(value) for test in tests)

    def k_enum(self, rule: Any, schema: dict[str, Any]) -> Check:
        options = list(rule)
        if all(isinstance(option, str) for option in options):
            allowed = frozenset(options)
            return lambda value: isinstance(value, str) and value in allowed
        return lambda value: any(_equal(value, option) for option in options)

    def k_const(self, rule: Any, schema: dict[str, Any]) -> Check:
        return lambda value: _equal(value, rule)

    def k_pattern(self, rule: Any, schema: dict[str, Any]) -> Check:
        search = self.regex(str(rule)).search
        return lambda value: not isinstance(value, str) or search(value) is not None

    def k_minLength(self, rule: Any, schema: dict[str, Any]) -> Check:
        return lambda value: not isinstance(value, str) or len(value) >= rule

    def k_maxLength(self, rule: Any, schema: dict[str, Any]) -> Check:
        return lambda value: not isinstance(value, str) or len(value) <= rule

    def k_minimum(self, rule: Any, schema: dict[str, Any]) -> Check:
        return lambda value: not _is_number(value) or value >= rule

    def k_maximum(self, rule: Any, schema: dict[str, Any]) -> Check:
        return lambda value: not _is_number(value) or value <= rule

    def k_exclusiveMinimum(self, rule: Any, schema: dict[str, Any]) -> Check:
        return lambda value: not _is_number(value) or value > rule

    def k_exclusiveMaximum(self, rule: Any, schema: dict[str, Any]) -> Check:
        return lambda value: not _is_number(value) or value < rule

    def k_required(self, rule: Any, schema: dict[str, Any]) -> Check:
        names = tuple(rule)
        return lambda value: not isinstance(value, dict) or all(name in value for name in names)

    def k_minProperties(self, rule: Any, schema: dict[str, Any]) -> Check:
        return lambda value: not isinstance(value, dict) or len(value) >= rule

    def k_maxProperties(self, rule: Any, schema: dict[str, Any]) -> Check:
        return lambda value: not isinstance(value, dict) or len(value) <= rule

    def k_properties(self, rule: Any, schema: dict[str, Any]) -> Check:
        props = {name: self.compile(sub) for name, sub in rule.items()}

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for key, item in value.items():
                sub = props.get(key)
                if sub is not None and not sub(item):
                    return False
            return True

        return check

    def k_patternProperties(self, rule: Any, schema: dict[str, Any]) -> Check:
        # jsonschema matches property patterns with re.search, unanchored unless the pattern is.
        pairs = [(re.compile(pattern).search, self.compile(sub)) for pattern, sub in rule.items()]

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for key, item in value.items():
                for search, sub in pairs:
                    if search(key) and not sub(item):
                        return False
            return True

        return check

    def k_additionalProperties(self, rule: Any, schema: dict[str, Any]) -> Check:
        known = frozenset(schema.get("properties", {}))
        patterns = [re.compile(pattern).search for pattern in schema.get("patternProperties", {})]
        sub = self.compile(rule)

        def extra(key: str) -> bool:
            return key not in known and not any(search(key) for search in patterns)

        if rule is False:
            return lambda value: not isinstance(value, dict) or not any(extra(key) for key in value)
        return lambda value: not isinstance(value, dict) or all(sub(item) for key, item in value.items() if extra(key))

    def k_propertyNames(self, rule: Any, schema: dict[str, Any]) -> Check:
        sub = self.compile(rule)
        return lambda value: not isinstance(value, dict) or all(sub(key) for key in value)

    def k_items(self, rule: Any, schema: dict[str, Any]) -> Check:
        if "prefixItems" in schema:
            raise Unsupported("prefixItems")
        sub = self.compile(rule)

        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return True
            for item in value:  # noqa: SIM110 -- a plain loop is faster than all() over a generator
                if not sub(item):
                    return False
            return True

        return check

    def k_minItems(self, rule: Any, schema: dict[str, Any]) -> Check:
        return lambda value: not isinstance(value, list) or len(value) >= rule

    def k_maxItems(self, rule: Any, schema: dict[str, Any]) -> Check:
        return lambda value: not isinstance(value, list) or len(value) <= rule

    def k_uniqueItems(self, rule: Any, schema: dict[str, Any]) -> Check:
        if not rule:
            return lambda value: True
        return lambda value: not isinstance(value, list) or _unique(value)

    def k_allOf(self, rule: Any, schema: dict[str, Any]) -> Check:
        subs = [self.compile(sub) for sub in rule]
        return lambda value: all(sub(value) for sub in subs)

    def k_anyOf(self, rule: Any, schema: dict[str, Any]) -> Check:
        subs = [self.compile(sub) for sub in rule]
        return lambda value: any(sub(value) for sub in subs)

    def k_oneOf(self, rule: Any, schema: dict[str, Any]) -> Check:
        subs = [self.compile(sub) for sub in rule]
        return lambda value: sum(1 for sub in subs if sub(value)) == 1

    def k_not(self, rule: Any, schema: dict[str, Any]) -> Check:
        sub = self.compile(rule)
        return lambda value: not sub(value)


# The keywords `typed` puts in one check with `type`, by type.
_NUMBER_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_TYPED_KEYWORDS: dict[str, frozenset[str]] = {
    "string": frozenset({"pattern", "minLength", "maxLength"}),
    "object": frozenset({"properties", "required", "additionalProperties", "minProperties", "maxProperties"}),
    "array": frozenset({"items", "uniqueItems", "minItems", "maxItems"}),
    "number": _NUMBER_KEYWORDS,
    "integer": _NUMBER_KEYWORDS,
}


def _typed_number(is_kind: Check, rules: dict[str, Any]) -> Check:
    """`type: number` (or `integer`) and its bounds in one check."""
    low = rules.get("minimum")
    above = rules.get("exclusiveMinimum")
    high = rules.get("maximum")
    below = rules.get("exclusiveMaximum")
    if above is None and high is None and below is None:
        if low is None:
            return is_kind
        return lambda value: is_kind(value) and value >= low
    if low is None and below is None and above is not None and high is not None:
        return lambda value: is_kind(value) and value > above and value <= high

    def check(value: Any) -> bool:
        if not is_kind(value):
            return False
        if low is not None and not value >= low:
            return False
        if above is not None and not value > above:
            return False
        if high is not None and not value <= high:
            return False
        return below is None or value < below

    return check


def _equal(value: Any, other: Any) -> bool:
    """jsonschema's equality (`enum`, `const`): 1 and 1.0 are equal, 1 and True differ, as do 1 and "1".

    Texts, numbers, booleans and null are compared here; lists and mappings by jsonschema, imported
    when first needed (~30 ms, which a validation of clean files never needs otherwise).
    """
    if value is other:
        return True
    if isinstance(value, _SCALARS) and isinstance(other, _SCALARS):
        if isinstance(value, bool) or isinstance(other, bool):
            return isinstance(value, bool) and isinstance(other, bool) and value == other
        return bool(value == other)
    from jsonschema import _utils

    return bool(_utils.equal(value, other))


_SCALARS = (str, int, float, type(None))


def _unique(items: list[Any]) -> bool:
    """jsonschema's `uniqueItems` (1 and True differ, as do 1 and "1"); a set answers for texts alone."""
    for item in items:
        if not isinstance(item, str):
            from jsonschema import _utils  # jsonschema's rules (see `_equal`)

            return bool(_utils.uniq(items))
    return len(set(items)) == len(items)


def _all_of(checks: list[Check]) -> Check:
    """One check passing when all pass; the common short lists are unrolled (this is the hot path)."""
    if not checks:
        return lambda value: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda value: first(value) and second(value)
    if len(checks) == 3:
        first, second, third = checks
        return lambda value: first(value) and second(value) and third(value)

    def check(value: Any) -> bool:
        for one in checks:  # noqa: SIM110 -- a plain loop is faster than all() over a generator
            if not one(value):
                return False
        return True

    return check


def compile_schema(schema: dict[str, Any], regex: Callable[[str], re.Pattern[str]]) -> Check:
    """A function telling whether a document is valid; `regex` compiles `pattern` keywords.

    Raises Unsupported when the schema uses anything this compiler does not handle.
    """
    return _Compiler(schema, regex).compile(schema)
