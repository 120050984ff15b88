"""`worktrail schema --out DIR`: write the JSON Schemas for editors and other tools."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .cli_common import fail

if TYPE_CHECKING:
    from .cli import Context


@click.command()
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder that receives one <entity>.schema.json per file kind (created if missing).",
)
@click.pass_obj
def schema(obj: Context, out: Path) -> None:
    """Write every JSON Schema (draft 2020-12, each with $id and title) into OUT.

    Point the first line of a workspace file at one of them, and editors with the YAML
    language server validate and complete it as you type:
    # yaml-language-server: $schema=.schemas/person.schema.json

    \b
    Example:
      worktrail schema --out .schemas
    """
    import os
    import tempfile

    from .resources import schemas_dir
    from .schema import SCHEMA_NAMES

    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in SCHEMA_NAMES:
            data = (schemas_dir() / f"{name}.schema.json").read_bytes()
            # Each file is written beside its target and renamed: never half a schema.
            handle, temporary = tempfile.mkstemp(prefix=".worktrail-schema-", dir=out)
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(data)
                os.chmod(temporary, 0o644)  # mkstemp makes it private; a schema is for everyone
                os.replace(temporary, out / f"{name}.schema.json")
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
    except OSError as exc:
        fail(f"cannot write the schemas into {out}: {exc}")
    for name in SCHEMA_NAMES:
        obj.detail(f"wrote {out / f'{name}.schema.json'}")
    obj.info(f"wrote {len(SCHEMA_NAMES)} schemas into {out}")
