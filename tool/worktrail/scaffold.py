"""`init`: write a minimal valid workspace that a team can grow from."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .ci_templates import CI_PATHS, ci_file
from .resources import schemas_dir
from .schema import SCHEMA_NAMES

SCHEMA_FOLDER = ".schemas"
# The audiences of the minimal workspace (its only team is internal): what a new CI file publishes.
MINIMAL_AUDIENCES = ("internal",)


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


def write_minimal_workspace(directory: Path, name: str, ci: str | None = None) -> list[Path]:
    """Create the workspace files (and editor schemas, and the `ci` workflow if asked) in `directory`; all or nothing."""
    directory = directory.resolve()
    if (directory / "worktrail.yaml").exists():
        raise ScaffoldError(f"{directory} already holds a workspace (worktrail.yaml exists)")
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} exists and is not a folder")
    ci_rel = CI_PATHS[ci] if ci is not None else None
    names = ("people", "teams", "projects", SCHEMA_FOLDER, *([ci_rel] if ci_rel else []))
    clashes = [n for n in names if (directory / n).exists()]
    if clashes:
        raise ScaffoldError(f"{directory} already has {', '.join(clashes)}; choose an empty folder")
    directory.mkdir(parents=True, exist_ok=True)
    # Write into a temporary folder beside the target, then move into place: never half a workspace.
    staging = Path(tempfile.mkdtemp(prefix=".worktrail-init-", dir=directory))
    written: list[Path] = []
    try:
        files = _files(name)
        if ci is not None:
            rel, text = ci_file(ci, MINIMAL_AUDIENCES)
            files[rel] = text
        for rel, text in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        schema_target = staging / SCHEMA_FOLDER
        schema_target.mkdir()
        for schema in SCHEMA_NAMES:
            shutil.copyfile(schemas_dir() / f"{schema}.schema.json", schema_target / f"{schema}.schema.json")
        nested_ci = ci_rel.split("/")[0] if ci_rel is not None and "/" in ci_rel else None
        if ci_rel is not None and nested_ci is not None:
            # The repository may already have this folder (.github/workflows): move the file alone.
            (directory / ci_rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / ci_rel, directory / ci_rel)
            written.append(directory / ci_rel)
        for entry in sorted(os.listdir(staging)):
            if entry == nested_ci:
                continue
            os.replace(staging / entry, directory / entry)
            written.append(directory / entry)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


def write_ci_file(directory: Path, ci: str) -> Path:
    """Add the `ci` workflow to the existing workspace in `directory`; refuses to replace a file."""
    from .load import load_workspace
    from .redact import default_audiences

    directory = directory.resolve()
    rel = CI_PATHS[ci]
    target = directory / rel
    if target.exists() or target.is_symlink():
        raise ScaffoldError(f"{target} already exists; remove it first to write a new one")
    loaded = load_workspace(directory)
    if loaded.workspace is None:
        raise ScaffoldError(f"cannot read {directory}/worktrail.yaml; run `worktrail -C {directory} validate`")
    _, text = ci_file(ci, [audience.name for audience in default_audiences(loaded.workspace)])
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed: never half a file.
    handle, temporary = tempfile.mkstemp(prefix=".worktrail-ci-", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the workflow is an ordinary file
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
