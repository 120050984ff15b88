"""`init`: write a minimal valid workspace that a team can grow from."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .resources import schemas_dir
from .schema import SCHEMA_NAMES

SCHEMA_FOLDER = ".schemas"


class ScaffoldError(Exception):
    """The target cannot take a new workspace."""


def _schema_line(name: str, depth: int) -> str:
    prefix = "../" * depth
    return f"# yaml-language-server: $schema={prefix}{SCHEMA_FOLDER}/{name}.schema.json\n"


def _files(name: str) -> dict[str, str]:
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return {
        "worktrail.yaml": _schema_line("workspace", 0)
        + f'name: "{quoted}"\nlanguage: en\ncurrency: EUR\ntimezone: UTC\nplan:\n  paid_seats: 5\n  reader_ratio: 2\n',
        "teams/studio.yaml": _schema_line("team", 1) + "name: Studio\nkind: internal\n",
        "people/owner.yaml": _schema_line("person", 1)
        + "name: Workspace Owner\nteam: studio\nrole: owner\n# emails: the Git author addresses of this person\nemails: []\n",
    }


def write_minimal_workspace(directory: Path, name: str) -> list[Path]:
    """Create the workspace files (and editor schemas) in `directory`; all or nothing."""
    directory = directory.resolve()
    if (directory / "worktrail.yaml").exists():
        raise ScaffoldError(f"{directory} already holds a workspace (worktrail.yaml exists)")
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} exists and is not a folder")
    clashes = [n for n in ("people", "teams", "projects", SCHEMA_FOLDER) if (directory / n).exists()]
    if clashes:
        raise ScaffoldError(f"{directory} already has {', '.join(clashes)}; choose an empty folder")
    directory.mkdir(parents=True, exist_ok=True)
    # Write into a temporary folder beside the target, then move into place: never half a workspace.
    staging = Path(tempfile.mkdtemp(prefix=".worktrail-init-", dir=directory))
    written: list[Path] = []
    try:
        for rel, text in _files(name).items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        schema_target = staging / SCHEMA_FOLDER
        schema_target.mkdir()
        for schema in SCHEMA_NAMES:
            shutil.copyfile(schemas_dir() / f"{schema}.schema.json", schema_target / f"{schema}.schema.json")
        for entry in sorted(os.listdir(staging)):
            os.replace(staging / entry, directory / entry)
            written.append(directory / entry)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
