"""Editors: every schema has $id and title, `worktrail schema --out DIR` writes them all, and the files
`init` and the write commands create carry the yaml-language-server schema line."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from worktrail.cli import main
from worktrail.resources import schemas_dir
from worktrail.schema import SCHEMA_NAMES

SCHEMA_LINE = "# yaml-language-server: $schema="


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_schema_has_an_id_naming_its_file_a_title_and_the_2020_12_dialect(name):
    schema = json.loads((schemas_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert schema["$id"].startswith("https://") and schema["$id"].endswith(f"/{name}.schema.json")
    assert isinstance(schema["title"], str) and schema["title"].strip()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_ids_and_titles_are_unique():
    schemas = [json.loads((schemas_dir() / f"{n}.schema.json").read_text(encoding="utf-8")) for n in SCHEMA_NAMES]
    assert len({s["$id"] for s in schemas}) == len(schemas)
    assert len({s["title"] for s in schemas}) == len(schemas)


def test_schema_command_writes_every_schema_byte_for_byte(tmp_path):
    out = tmp_path / "editor" / "schemas"
    result = CliRunner().invoke(main, ["schema", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.schema.json" for n in SCHEMA_NAMES)
    for name in SCHEMA_NAMES:
        shipped = (schemas_dir() / f"{name}.schema.json").read_bytes()
        assert (out / f"{name}.schema.json").read_bytes() == shipped
    assert f"wrote {len(SCHEMA_NAMES)} schemas into {out}" in result.output


def test_schema_command_needs_no_workspace_and_replaces_older_copies(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "task.schema.json").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(main, ["schema", "--out", "out"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "task.schema.json").read_bytes() == (schemas_dir() / "task.schema.json").read_bytes()


def test_written_schemas_are_readable_by_everyone(tmp_path):
    out = tmp_path / "s"
    assert CliRunner().invoke(main, ["schema", "--out", str(out)]).exit_code == 0
    assert all(os.stat(p).st_mode & 0o044 == 0o044 for p in out.iterdir())


def test_schema_command_quiet_prints_nothing_and_verbose_lists_each_file(tmp_path):
    quiet = CliRunner().invoke(main, ["-q", "schema", "--out", str(tmp_path / "q")])
    assert quiet.exit_code == 0 and quiet.output == ""
    verbose = CliRunner().invoke(main, ["-v", "schema", "--out", str(tmp_path / "v")])
    assert verbose.exit_code == 0
    assert f"wrote {tmp_path / 'v' / 'task.schema.json'}" in verbose.stderr


def test_schema_command_into_a_file_fails_cleanly(tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder", encoding="utf-8")
    result = CliRunner().invoke(main, ["schema", "--out", str(target)])
    assert result.exit_code in (1, 2)
    assert "Traceback" not in result.output
    assert target.read_text(encoding="utf-8") == "not a folder"


def test_schema_command_requires_out():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 2
    assert "Missing option '--out'" in result.stderr


def test_init_files_carry_the_schema_line_pointing_at_the_copied_schemas(tmp_path):
    target = tmp_path / "work"
    assert CliRunner().invoke(main, ["init", str(target)]).exit_code == 0
    for rel, name in (("worktrail.yaml", "workspace"), ("teams/studio.yaml", "team"), ("people/owner.yaml", "person")):
        first = (target / rel).read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(SCHEMA_LINE)
        pointed = (target / rel).parent / first.removeprefix(SCHEMA_LINE)
        assert pointed.resolve() == (target / ".schemas" / f"{name}.schema.json").resolve()
        assert pointed.is_file()


def test_a_file_made_by_a_write_command_carries_the_schema_line(tmp_path):
    target = tmp_path / "work"
    assert CliRunner().invoke(main, ["init", str(target)]).exit_code == 0
    project = target / "projects" / "web"
    project.mkdir(parents=True)
    (project / "project.yaml").write_text("name: Web\nkey: WEB\nstatus: active\nmembers: [studio]\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["-C", str(target), "task", "new", "web", "--title", "First", "--as", "owner", "--no-commit"]
    )
    assert result.exit_code == 0, result.output
    text = (project / "tasks" / "WEB-1.md").read_text(encoding="utf-8")
    second = text.splitlines()[1]
    assert second == f"{SCHEMA_LINE}../../../.schemas/task.schema.json"
