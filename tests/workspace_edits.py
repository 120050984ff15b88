"""Edits of workspace files in place, for tests that rebuild after them."""

from __future__ import annotations

import os
import re
import shutil
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


def age_inputs(folder: Path) -> None:
    """Date every input file a minute back, so the cache may trust the signature (nothing is "racy").

    The built sites are left as written: a site file whose time changed is not taken over by the next build.
    """
    past = os.stat(folder).st_mtime - 60
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).parts
        if ".git" not in rel and rel[0] != "site" and not path.is_symlink():
            os.utime(path, (past, past))


def aged_copy(workspace: Path, folder: Path) -> Path:
    """A copy of a workspace (its history too) in `folder`/demo, its inputs aged (`age_inputs`)."""
    copy = folder / "demo"
    shutil.copytree(workspace, copy, symlinks=True)
    age_inputs(copy)
    return copy


def checkout_again(folder: Path) -> None:
    """Every input file written anew with the bytes it holds (a new inode and times), as a fresh clone
    writes them; the history and the built sites are left as they are."""
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).parts
        if ".git" not in rel and rel[0] != "site" and path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            path.unlink()
            path.write_bytes(data)
