"""`worktrail explain`: the policy's verdict for one thing and one viewer, naming the deciding rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from worktrail.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "sample-workspace"


def explain(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["-C", str(SAMPLE), "explain", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("thing", "viewer", "verdict", "rule"),
    [
        ("WEB-14", "leo", "SEES", "hidden rule"),
        ("WEB-14", "nina", "does NOT see", "role rule"),
        ("WEB-14", "david", "does NOT see", "hidden rule"),
        ("WEB-19", "team:acme", "SEES", "team"),
        ("projects/acme-website/tasks/WEB-14.md", "marie", "SEES", ""),
        ("acme-website/CR-4", "nina", "SEES", "role rule"),
        ("person:sofia.phone", "nina", "does NOT see", "private contact"),
        ("person:sofia.phone", "leo", "SEES", "contacts"),
        ("settings", "karen", "does NOT see", "managers only"),
        ("settings", "role:admin", "SEES", ""),
    ],
)
def test_explain_prints_the_verdict_and_the_deciding_rule(thing, viewer, verdict, rule):
    code, out, _ = explain(thing, "--for", viewer)
    assert code == 0
    last = out.strip().splitlines()[-1]
    assert last.startswith(f"{verdict}: {rule}")


def test_explain_refuses_an_ambiguous_change_request_id():
    code, _, err = explain("CR-1", "--for", "raj")
    assert code == 1
    assert "ambiguous" in err and "PROJECT/CR-1" in err


@pytest.mark.parametrize(
    ("thing", "viewer", "message"),
    [
        ("WEB-999", "leo", "no WEB-999"),
        ("WEB-3", "nobody", "'nobody' is neither a known person nor a known team"),
        ("person:sofia.shoe_size", "leo", "unknown person field 'shoe_size'"),
        ("what?", "leo", "cannot tell what 'what?' names"),
    ],
)
def test_explain_refuses_unknown_things_and_viewers(thing, viewer, message):
    code, _, err = explain(thing, "--for", viewer)
    assert code == 1
    assert message in err
