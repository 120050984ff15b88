"""Edits of workspace files in place, for tests that rebuild after them."""

from __future__ import annotations

import re
from pathlib import Path


def replace_once(path: Path, old: str, new: str) -> None:
    """Replace the first `old` of a file with `new` (the test fails when there is none)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def set_field(path: Path, field: str, value: str) -> None:
    """Set a top-level field of a YAML file or front matter (the first line that starts with it)."""
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(rf"(?m)^{field}: .*$", f"{field}: {value}", text, count=1)
    assert count == 1, f"no {field} in {path}"
    path.write_text(new, encoding="utf-8")
