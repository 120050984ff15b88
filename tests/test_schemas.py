"""The JSON Schemas of the workspace files (SPEC §1–§2): well-formed, documented, closed, and strict."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"

SCHEMA_FILES = (
    "workspace.schema.json",
    "person.schema.json",
    "team.schema.json",
    "project.schema.json",
    "task.schema.json",
    "comment.schema.json",
    "change-request.schema.json",
    "meeting.schema.json",
    "time.schema.json",
    "expenses.schema.json",
    "documents.schema.json",
    "feedback.schema.json",
)

# Keywords whose value is a map of name -> subschema, or a list / single subschema.
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_SINGLE = ("items", "additionalProperties", "propertyNames", "not", "if", "then", "else", "contains")


def load(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return schema


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load(name))


def subschemas(schema: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object inside `schema` (itself included), with a JSON-pointer-like location."""
    if not isinstance(schema, dict):
        return
    yield where, schema
    for key in SCHEMA_MAPS:
        for name, sub in schema.get(key, {}).items():
            yield from subschemas(sub, f"{where}/{key}/{name}")
    for key in SCHEMA_LISTS:
        for index, sub in enumerate(schema.get(key, [])):
            yield from subschemas(sub, f"{where}/{key}/{index}")
    for key in SCHEMA_SINGLE:
        yield from subschemas(schema.get(key), f"{where}/{key}")


def is_object_schema(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "object" or "properties" in schema or "patternProperties" in schema


def all_subschemas() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name in SCHEMA_FILES:
        for where, sub in subschemas(load(name)):
            yield name, where, sub


# ---------------------------------------------------------------------------------------- structure


def test_exactly_the_twelve_schema_files_exist() -> None:
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.json")) == sorted(SCHEMA_FILES)


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_every_schema_is_valid_against_the_2020_12_metaschema(name: str) -> None:
    schema = load(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_every_schema_has_its_id_title_and_description(name: str) -> None:
    schema = load(name)
    assert schema["$id"] == f"https://worktrail.dev/schemas/{name}"
    assert schema["title"].strip()
    assert schema["description"].strip()


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_every_schema_is_self_contained_with_only_local_refs(name: str) -> None:
    schema = load(name)
    defs = schema.get("$defs", {})
    for where, sub in subschemas(schema):
        ref = sub.get("$ref")
        if ref is None:
            continue
        assert ref.startswith("#/$defs/"), f"{name} {where}: non-local $ref {ref}"
        assert ref.removeprefix("#/$defs/") in defs, f"{name} {where}: dangling $ref {ref}"


def test_every_object_schema_is_closed() -> None:
    open_objects = [
        f"{name} {where}"
        for name, where, sub in all_subschemas()
        if is_object_schema(sub) and sub.get("additionalProperties") is not False
    ]
    assert open_objects == []


def test_every_property_has_a_non_empty_description() -> None:
    undocumented = [
        f"{name} {where}/{key}/{prop}"
        for name, where, sub in all_subschemas()
        for key in ("properties", "patternProperties")
        for prop, prop_schema in sub.get(key, {}).items()
        if not str(prop_schema.get("description", "")).strip()
    ]
    assert undocumented == []


def test_every_definition_and_list_item_object_has_a_description() -> None:
    undocumented = [
        f"{name} {where}"
        for name, where, sub in all_subschemas()
        if ("/$defs/" in where or (is_object_schema(sub) and where.endswith("/items")))
        and not str(sub.get("description", "")).strip()
    ]
    assert undocumented == []


def test_every_pattern_compiles_as_a_python_regex() -> None:
    for name, where, sub in all_subschemas():
        for pattern in [sub.get("pattern"), *sub.get("patternProperties", {})]:
            if pattern is not None:
                re.compile(pattern)  # raises with the location in the traceback
                assert pattern.startswith("^") and pattern.endswith("$"), f"{name} {where}: unanchored"


ENUMS = {
    ("person.schema.json", "role"): ["owner", "admin", "user", "guest", "reader"],
    ("team.schema.json", "kind"): ["internal", "client", "freelancer"],
    ("project.schema.json", "status"): ["planned", "active", "on-hold", "done", "cancelled"],
    ("task.schema.json", "status"): ["open", "in-progress", "review", "done", "cancelled"],
    ("task.schema.json", "priority"): ["low", "normal", "high", "urgent"],
    ("change-request.schema.json", "status"): [
        "proposed",
        "approved",
        "rejected",
        "implemented",
        "withdrawn",
    ],
    ("workspace.schema.json", "language"): ["en", "fr"],
}


@pytest.mark.parametrize(("name", "prop"), ENUMS)
def test_enums_are_exactly_those_of_the_spec(name: str, prop: str) -> None:
    assert load(name)["properties"][prop]["enum"] == ENUMS[name, prop]


def test_nested_enums_are_exactly_those_of_the_spec() -> None:
    project = load("project.schema.json")["properties"]
    assert project["milestones"]["items"]["properties"]["status"]["enum"] == ["open", "ready", "signed-off"]
    communication = project["communication"]["properties"]
    assert communication["cadence"]["enum"] == ["weekly", "biweekly", "monthly"]
    assert communication["weekday"]["enum"] == [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    assert load("person.schema.json")["properties"]["rate"]["properties"]["per"]["enum"] == ["hour", "day"]


# ---------------------------------------------------------------------------------------- instances

MINIMAL: dict[str, Any] = {
    "workspace.schema.json": {"name": "Acme Studio"},
    "person.schema.json": {"name": "Ana Lima", "team": "studio", "role": "user"},
    "team.schema.json": {"name": "Studio", "kind": "internal"},
    "project.schema.json": {"name": "Website", "key": "WEB", "status": "active", "members": []},
    "task.schema.json": {"title": "Home page", "status": "open"},
    "comment.schema.json": {"author": "ana", "date": "2026-03-01T10:00:00Z"},
    "change-request.schema.json": {
        "title": "Add a blog",
        "requested_by": "bob",
        "requested_on": "2026-03-02",
        "status": "proposed",
    },
    "meeting.schema.json": {"date": "2026-03-03T09:30:00+01:00", "title": "Weekly"},
    "time.schema.json": [],
    "expenses.schema.json": [],
    "documents.schema.json": [],
    "feedback.schema.json": {"author": "carla", "date": "2026-03-04", "rating": 4},
}

FULL: dict[str, Any] = {
    "workspace.schema.json": {
        "name": "Acme Studio",
        "language": "fr",
        "currency": "USD",
        "timezone": "Europe/Paris",
        "plan": {"paid_seats": 5, "reader_ratio": 2.5},
        "audiences": {
            "client-acme": {"team": "acme"},
            "internal": {"role": "admin"},
            "ana": {"person": "ana"},
        },
    },
    "person.schema.json": {
        "name": "Ana Lima",
        "team": "studio",
        "role": "admin",
        "emails": ["ana@example.com", "Ana.Lima@users.noreply.github.com"],
        "title": "Lead developer",
        "phone": "+33 1 23 45 67 89",
        "rate": {"amount": 80, "per": "hour"},
        "private_contact": True,
        "active": False,
        "sees": {"costs": "own", "contacts": True},
    },
    "team.schema.json": {
        "name": "Freelancers",
        "kind": "freelancer",
        "sees": {"costs": False, "reports": "own"},
    },
    "project.schema.json": {
        "name": "Website",
        "key": "WEB2",
        "status": "on-hold",
        "members": ["studio", "acme", "fred"],
        "client": "acme",
        "start": "2026-01-05",
        "due": "2026-06-30",
        "budget": {"hours": 400, "amount": 32000.5},
        "approvers": ["ana", "carla"],
        "scope": {
            "objectives": ["A faster site"],
            "deliverables": [{"id": "site", "title": "New site", "due": "2026-06-01"}],
            "out_of_scope": ["Mobile app"],
            "client_responsibilities": ["Provide content"],
            "freelancer_terms": [
                {
                    "for": "fred",
                    "responsibilities": ["Design"],
                    "standards": ["WCAG AA"],
                    "deadlines": ["May"],
                },
            ],
        },
        "baseline": "2026-01-31",
        "milestones": [
            {
                "id": "beta",
                "title": "Beta",
                "due": "2026-04-01",
                "criteria": ["All pages render"],
                "status": "signed-off",
                "signed_off_by": "carla",
                "signed_off_on": "2026-04-02",
            },
        ],
        "communication": {
            "cadence": "biweekly",
            "weekday": "tuesday",
            "time": "09:30",
            "timezone": "Europe/Paris",
            "duration_minutes": 45,
            "channel": "https://meet.example.com/web",
        },
        "description": "The **new** public website.",
    },
    "task.schema.json": {
        "title": "Home page",
        "status": "in-progress",
        "assignee": "fred",
        "subscribers": ["ana", "acme"],
        "created_by": "ana",
        "created": "2026-02-01",
        "due": "2026-02-15",
        "estimate_hours": 12.5,
        "priority": "urgent",
        "tags": ["design", "front"],
        "milestone": "beta",
        "deliverable": "site",
        "change_request": "CR-2",
        "attachments": ["design/home v2.pdf", "notes..txt", "..hidden/x.png"],
        "hidden": True,
        "visible_to": ["acme"],
    },
    "comment.schema.json": {
        "author": "ana",
        "date": "2026-03-01T10:00:00.123-05:00",
        "hidden": True,
        "visible_to": ["studio"],
    },
    "change-request.schema.json": {
        "title": "Add a blog",
        "requested_by": "bob",
        "requested_on": "2026-03-02",
        "status": "approved",
        "impact": {"hours": 40, "cost": 3200, "due_shift_days": -3},
        "decision": {"by": "carla", "on": "2026-03-05", "note": "Within budget."},
        "tasks": ["WEB-12", "WEB-13"],
    },
    "meeting.schema.json": {
        "date": "2026-03-03T09:30+01:00",
        "title": "Weekly",
        "attendees": ["ana", "acme"],
        "decisions": ["Ship the beta on April 1st"],
        "hidden": False,
        "visible_to": [],
    },
    "time.schema.json": [
        {
            "date": "2026-03-02",
            "person": "ana",
            "task": "WEB-1",
            "hours": 7.5,
            "note": "Layout",
            "billable": False,
        },
        {"date": "2026-03-03", "person": "fred", "task": "WEB-12", "hours": 24},
    ],
    "expenses.schema.json": [
        {"date": "2026-03-02", "amount": 49.9, "description": "Fonts", "by": "ana", "task": "WEB-1"},
    ],
    "documents.schema.json": [
        {
            "path": "contracts/2026/sow.pdf",
            "title": "Statement of work",
            "description": "Signed SOW",
            "hidden": True,
            "visible_to": ["acme"],
        },
    ],
    "feedback.schema.json": {
        "author": "carla",
        "date": "2026-03-04",
        "rating": 5,
        "milestone": "beta",
        "response": {"by": "ana", "date": "2026-03-05", "text": "Thank you!"},
    },
}


def with_(name: str, /, **changes: Any) -> Any:
    """The minimal instance of `name` with `changes` applied (for arrays: to a minimal single item)."""
    base = MINIMAL[name]
    if isinstance(base, list):
        return [{**ARRAY_ITEM[name], **changes}]
    return {**base, **changes}


ARRAY_ITEM: dict[str, dict[str, Any]] = {
    "time.schema.json": {"date": "2026-03-02", "person": "ana", "task": "WEB-1", "hours": 2},
    "expenses.schema.json": {"date": "2026-03-02", "amount": 10, "description": "Taxi", "by": "ana"},
    "documents.schema.json": {"path": "brief.pdf", "title": "Brief"},
}


def errors(name: str, instance: Any) -> list[str]:
    return [error.message for error in validator(name).iter_errors(instance)]


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_a_minimal_instance_of_each_entity_is_valid(name: str) -> None:
    assert errors(name, MINIMAL[name]) == []


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_an_instance_using_every_field_is_valid(name: str) -> None:
    assert errors(name, FULL[name]) == []


@pytest.mark.parametrize("name", ARRAY_ITEM)
def test_a_minimal_list_item_is_valid(name: str) -> None:
    assert errors(name, [ARRAY_ITEM[name]]) == []


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_an_unknown_top_level_field_is_invalid(name: str) -> None:
    assert errors(name, with_(name, colour="red"))


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_each_required_field_is_required(name: str) -> None:
    item = ARRAY_ITEM[name] if name in ARRAY_ITEM else MINIMAL[name]
    required = load(name)["items"]["required"] if name in ARRAY_ITEM else load(name)["required"]
    assert required
    for field in required:
        missing = {k: v for k, v in item.items() if k != field}
        instance = [missing] if name in ARRAY_ITEM else missing
        assert errors(name, instance), f"{name}: {field} should be required"


@pytest.mark.parametrize("name", ["time.schema.json", "expenses.schema.json", "documents.schema.json"])
def test_list_files_must_be_arrays_at_the_top_level(name: str) -> None:
    assert errors(name, ARRAY_ITEM[name])
    assert errors(name, {"entries": [ARRAY_ITEM[name]]})


INVALID = [
    # booleans are booleans: the string "no" is an error, not false
    ("task.schema.json", {"hidden": "no"}),
    ("task.schema.json", {"hidden": 0}),
    ("comment.schema.json", {"hidden": "yes"}),
    ("meeting.schema.json", {"hidden": "false"}),
    ("person.schema.json", {"active": "no"}),
    ("person.schema.json", {"private_contact": 1}),
    ("time.schema.json", {"billable": "no"}),
    ("documents.schema.json", {"hidden": "true"}),
    # enums
    ("task.schema.json", {"status": "closed"}),
    ("task.schema.json", {"status": "Open"}),
    ("task.schema.json", {"priority": "critical"}),
    ("person.schema.json", {"role": "manager"}),
    ("team.schema.json", {"kind": "vendor"}),
    ("project.schema.json", {"status": "paused"}),
    ("change-request.schema.json", {"status": "accepted"}),
    ("workspace.schema.json", {"language": "de"}),
    ("person.schema.json", {"rate": {"amount": 10, "per": "week"}}),
    ("project.schema.json", {"milestones": [{"id": "m", "title": "M", "status": "closed"}]}),
    ("project.schema.json", {"communication": {"cadence": "daily"}}),
    ("project.schema.json", {"communication": {"weekday": "Monday"}}),
    # sees: true, false or own only
    ("team.schema.json", {"sees": {"costs": "all"}}),
    ("team.schema.json", {"sees": {"costs": 1}}),
    ("team.schema.json", {"sees": {"money": True}}),
    ("person.schema.json", {"sees": {"reports": "no"}}),
    # dates and date-times are strings of the right shape
    ("task.schema.json", {"due": "2026-13-01"}),
    ("task.schema.json", {"due": "2026-3-1"}),
    ("task.schema.json", {"due": "01/03/2026"}),
    ("task.schema.json", {"created": "2026-03-01T10:00:00Z"}),
    ("comment.schema.json", {"date": "2026-03-01"}),
    ("comment.schema.json", {"date": "2026-03-01T10:00:00"}),
    ("comment.schema.json", {"date": "2026-03-01 10:00:00Z"}),
    ("comment.schema.json", {"date": "2026-03-01T25:00:00Z"}),
    ("meeting.schema.json", {"date": "2026-03-01T10:00+1:00"}),
    ("feedback.schema.json", {"date": "2026-03-04T10:00:00Z"}),
    ("change-request.schema.json", {"decision": {"by": "carla", "on": "yesterday"}}),
    # ids
    ("person.schema.json", {"team": "Studio"}),
    ("person.schema.json", {"team": "-studio"}),
    ("person.schema.json", {"team": "a" * 65}),
    ("project.schema.json", {"members": ["ana", "ana"]}),
    ("project.schema.json", {"members": ["Ana"]}),
    ("project.schema.json", {"key": "web"}),
    ("project.schema.json", {"key": "1WEB"}),
    ("project.schema.json", {"key": "ABCDEFGHIJK"}),
    ("task.schema.json", {"change_request": "CR-0"}),
    ("task.schema.json", {"change_request": "cr-1"}),
    ("task.schema.json", {"visible_to": ["ana", "ana"]}),
    ("change-request.schema.json", {"tasks": ["web-1"]}),
    ("change-request.schema.json", {"tasks": ["WEB-01"]}),
    ("time.schema.json", {"task": "WEB"}),
    # numbers
    ("time.schema.json", {"hours": 0}),
    ("time.schema.json", {"hours": -1}),
    ("time.schema.json", {"hours": 24.5}),
    ("time.schema.json", {"hours": "2"}),
    ("expenses.schema.json", {"amount": 0}),
    ("expenses.schema.json", {"amount": -5}),
    ("task.schema.json", {"estimate_hours": -1}),
    ("feedback.schema.json", {"rating": 0}),
    ("feedback.schema.json", {"rating": 6}),
    ("feedback.schema.json", {"rating": 3.5}),
    ("person.schema.json", {"rate": {"amount": -1}}),
    ("person.schema.json", {"rate": {"per": "hour"}}),
    ("project.schema.json", {"budget": {"amount": -1}}),
    ("project.schema.json", {"communication": {"duration_minutes": 0}}),
    ("project.schema.json", {"communication": {"duration_minutes": 1441}}),
    ("project.schema.json", {"communication": {"time": "9:30"}}),
    ("project.schema.json", {"communication": {"time": "24:00"}}),
    ("project.schema.json", {"communication": {"timezone": ""}}),
    ("change-request.schema.json", {"impact": {"cost": -10}}),
    ("change-request.schema.json", {"impact": {"due_shift_days": 1.5}}),
    ("workspace.schema.json", {"plan": {"paid_seats": -1}}),
    ("workspace.schema.json", {"plan": {"paid_seats": 2.5}}),
    ("workspace.schema.json", {"plan": {"reader_ratio": -1}}),
    ("workspace.schema.json", {"currency": "eur"}),
    ("workspace.schema.json", {"currency": "EURO"}),
    ("workspace.schema.json", {"timezone": ""}),
    # names and titles are non-empty
    ("workspace.schema.json", {"name": ""}),
    ("task.schema.json", {"title": ""}),
    ("project.schema.json", {"scope": {"deliverables": [{"id": "d", "title": ""}]}}),
    # audiences name exactly one viewer
    ("workspace.schema.json", {"audiences": {"acme": {"team": "acme", "person": "ana"}}}),
    ("workspace.schema.json", {"audiences": {"acme": {}}}),
    ("workspace.schema.json", {"audiences": {"internal": {"role": "user"}}}),
    ("workspace.schema.json", {"audiences": {"Client Acme": {"team": "acme"}}}),
    ("workspace.schema.json", {"audiences": {"acme": {"team": "acme", "extra": 1}}}),
    ("workspace.schema.json", {"audiences": {"acme": "acme"}}),
    # nested objects are closed too
    ("project.schema.json", {"scope": {"goals": []}}),
    ("project.schema.json", {"milestones": [{"id": "m", "title": "M", "owner": "ana"}]}),
    ("project.schema.json", {"scope": {"freelancer_terms": [{"responsibilities": []}]}}),
    ("change-request.schema.json", {"decision": {"by": "carla"}}),
    ("feedback.schema.json", {"response": {"by": "ana", "date": "2026-03-05"}}),
    ("workspace.schema.json", {"plan": {"seats": 3}}),
    ("person.schema.json", {"emails": ["not an email"]}),
    ("person.schema.json", {"emails": "ana@example.com"}),
]


@pytest.mark.parametrize(("name", "changes"), INVALID, ids=[f"{n}-{c}" for n, c in INVALID])
def test_instances_breaking_a_rule_are_invalid(name: str, changes: dict[str, Any]) -> None:
    found = list(validator(name).iter_errors(with_(name, **changes)))
    assert found
    # The error is about the field changed, not some accident elsewhere in the instance.
    skip = 1 if name in ARRAY_ITEM else 0
    (field,) = changes
    assert all(list(error.absolute_path)[skip : skip + 1] == [field] for error in found)


BAD_PATHS = [
    "/etc/passwd",
    "../secret.pdf",
    "a/../../b.pdf",
    "a/..",
    "..",
    "a\\b.pdf",
    "a\u0000b.pdf",
    "a\nb.pdf",
    "design/",
    "",
]
GOOD_PATHS = ["brief.pdf", "design/home v2.pdf", "notes..txt", "..hidden/x.png", "a/b..c/d", "été/plan.png"]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_an_attachment_or_document_path_escaping_files_is_invalid(path: str) -> None:
    assert errors("task.schema.json", with_("task.schema.json", attachments=[path]))
    assert errors("documents.schema.json", with_("documents.schema.json", path=path))


@pytest.mark.parametrize("path", GOOD_PATHS)
def test_a_relative_path_inside_files_is_valid(path: str) -> None:
    assert errors("task.schema.json", with_("task.schema.json", attachments=[path])) == []
    assert errors("documents.schema.json", with_("documents.schema.json", path=path)) == []


@pytest.mark.parametrize("value", [True, False, "own"])
def test_sees_accepts_true_false_and_own(value: Any) -> None:
    for key in ("costs", "reports", "contacts"):
        assert errors("team.schema.json", with_("team.schema.json", sees={key: value})) == []
        assert errors("person.schema.json", with_("person.schema.json", sees={key: value})) == []


@pytest.mark.parametrize(
    "value",
    ["2026-03-01T10:00Z", "2026-03-01T10:00:00Z", "2026-03-01T10:00:00.5+05:30", "2026-12-31T23:59:59-11:00"],
)
def test_date_times_with_a_time_zone_are_valid(value: str) -> None:
    assert errors("comment.schema.json", with_("comment.schema.json", date=value)) == []
    assert errors("meeting.schema.json", with_("meeting.schema.json", date=value)) == []
