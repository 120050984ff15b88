"""The command-line contract: -C and upward search, --version, formats, and fixed exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from worktrail import __version__
from worktrail.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample-workspace"
BASE = Path(__file__).parent / "cases" / "base"


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(BASE, ws)
    (ws / "projects/web/tasks/WEB-2.md").write_text("---\ntitle: T\nstatus: started\n---\n", encoding="utf-8")
    return ws


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_version_prints_the_package_version():
    code, out, _ = run("--version")
    assert code == 0 and __version__ in out


def test_validate_exits_0_on_the_sample_workspace():
    code, out, _ = run("-C", str(SAMPLE), "validate", "--strict")
    assert code == 0, out
    assert "no problems" in out


def test_validate_exits_1_on_findings_and_names_file_and_line(broken: Path):
    code, out, _ = run("-C", str(broken), "validate")
    assert code == 1
    assert "projects/web/tasks/WEB-2.md:3:9: error: status: 'started' is not one of" in out


def test_usage_error_exits_2():
    code, _, err = run("validate", "--format", "yaml")
    assert code == 2
    assert "Invalid value for '--format'" in err


def test_missing_workspace_is_a_usage_error_with_exit_2(tmp_path: Path):
    code, _, err = run("-C", str(tmp_path), "validate")
    assert code == 2
    assert "no worktrail.yaml" in err


def test_workspace_is_found_by_searching_upwards(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(BASE / "projects" / "web" / "tasks")
    code, out, _ = run("validate")
    assert code == 0, out


def test_warnings_exit_0_unless_strict(tmp_path: Path):
    ws = tmp_path / "ws"
    shutil.copytree(BASE, ws)
    (ws / "projects/web/tasks/WEB-2.md").write_text(
        "---\ntitle: Late\nstatus: open\ncreated: 2026-03-01\n---\n", encoding="utf-8"
    )
    assert run("-C", str(ws), "validate")[0] == 0
    assert run("-C", str(ws), "validate", "--strict")[0] == 1


def test_json_format_is_one_object_with_every_finding(broken: Path):
    code, out, _ = run("-C", str(broken), "validate", "--format", "json")
    payload = json.loads(out)
    assert code == 1
    assert payload["errors"] == 1 and payload["warnings"] == 0
    (finding,) = payload["findings"]
    assert finding["line"] == 3 and finding["column"] == 9
    assert finding["path"].endswith("projects/web/tasks/WEB-2.md")
    assert finding["code"] == "schema.enum"


def test_github_format_is_one_annotation_per_finding_with_file_and_line(broken: Path):
    code, out, _ = run("-C", str(broken), "validate", "--format", "github")
    lines = out.splitlines()
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("::error file=")
    assert "WEB-2.md,line=3,col=9,title=worktrail schema.enum::status" in lines[0]


def test_init_writes_a_minimal_workspace_that_validates(tmp_path: Path):
    target = tmp_path / "new"
    code, out, _ = run("init", str(target))
    assert code == 0, out
    assert run("-C", str(target), "validate", "--strict")[0] == 0
    first_line = (target / "people/owner.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../.schemas/person.schema.json"
    assert (target / ".schemas/person.schema.json").is_file()


def test_init_refuses_an_existing_workspace_and_changes_nothing(tmp_path: Path):
    target = tmp_path / "ws"
    shutil.copytree(BASE, target)
    before = sorted(p.as_posix() for p in target.rglob("*"))
    code, _, err = run("init", str(target))
    assert code == 1
    assert "already holds a workspace" in err
    assert sorted(p.as_posix() for p in target.rglob("*")) == before


def test_no_traceback_on_a_file_that_is_not_utf8(tmp_path: Path):
    ws = tmp_path / "ws"
    shutil.copytree(BASE, ws)
    (ws / "people/uma.yaml").write_bytes(b"name: \xff\xfe\n")
    code, out, err = run("-C", str(ws), "validate")
    assert code == 1
    assert "Traceback" not in out + err
    assert "people/uma.yaml:1:7: error: file is not valid UTF-8" in out


def test_validate_and_audit_share_one_format_option():
    from worktrail.report import FORMATS

    def format_param(name: str) -> click.Option:
        command = main.commands[name]
        (param,) = [p for p in command.params if p.name == "fmt"]
        assert isinstance(param, click.Option)
        return param

    validate, audit = format_param("validate"), format_param("audit")
    for param in (validate, audit):
        assert param.opts == ["--format"]
        assert isinstance(param.type, click.Choice)
        assert tuple(param.type.choices) == FORMATS
        assert param.default == "text"
    code, _, err = run("audit", "--format", "yaml")
    assert code == 2
    assert "Invalid value for '--format'" in err


def test_build_and_serve_refuse_an_unknown_audience_alike(tmp_path: Path):
    build = run("-C", str(BASE), "build", "--audience", "nobody", "--out", str(tmp_path / "o"), "--no-trail")
    serve = run("-C", str(BASE), "serve", "--audience", "nobody", "--no-trail")
    assert build[0] == serve[0] == 2
    assert build[2] == serve[2]
    assert build[2].startswith("worktrail: error: unknown audience: nobody\nknown audiences: ")
    assert not (tmp_path / "o").exists()


def test_the_program_exits_with_the_commands_status_after_writing_all_its_output(tmp_path: Path) -> None:
    """`python -m worktrail` (and the `worktrail` script) end with `os._exit` after flushing: same codes, whole output."""
    import json
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "worktrail", *args], capture_output=True, text=True, check=False, timeout=120
        )

    ok = run("-C", str(ROOT / "sample-workspace"), "validate", "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["findings"] == []
    broken = tmp_path / "ws"
    shutil.copytree(ROOT / "sample-workspace", broken)
    (broken / "worktrail.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    bad = run("-C", str(broken), "validate", "--format", "json")
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["findings"]
    usage = run("-C", str(ROOT / "no-such-folder"), "validate")
    assert usage.returncode == 2
    assert "is not a workspace" in usage.stderr
