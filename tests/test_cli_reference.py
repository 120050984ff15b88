"""Command-line conventions: the README's CLI reference is generated from --help and checked for drift,
every command's help has an example, --quiet/--verbose, NO_COLOR and shell completion."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from worktrail import clidoc
from worktrail.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SAMPLE = ROOT / "sample-workspace"


def test_readme_cli_reference_matches_every_commands_help():
    readme = README.read_text(encoding="utf-8")
    assert clidoc.replace_block(readme, clidoc.reference()) == readme, (
        f"the CLI reference in README.md is out of date; run `{clidoc.REGENERATE}`"
    )


def test_every_command_has_its_own_section_in_the_reference():
    block = clidoc.reference()
    paths = [path for path, _ in clidoc.command_helps()]
    assert "worktrail" in paths and "worktrail task new" in paths and "worktrail report" in paths
    for path in paths:
        assert f"### `{path}`" in block


@pytest.mark.parametrize(("path", "text"), list(clidoc.command_helps()))
def test_every_commands_help_shows_an_example(path, text):
    assert "Example" in text, f"`{path} --help` has no example"
    assert "  worktrail " in text, f"`{path} --help` shows no command line"


def test_the_reference_does_not_depend_on_the_terminal_width(monkeypatch):
    wide = clidoc.reference()
    monkeypatch.setenv("COLUMNS", "40")
    assert clidoc.reference() == wide


def test_clidoc_check_fails_on_drift_and_write_repairs_it(tmp_path, capsys):
    doc = tmp_path / "README.md"
    doc.write_text(f"# T\n\n{clidoc.START}\nold text\n{clidoc.END}\n\n## After\n", encoding="utf-8")
    assert clidoc.main(["--check", str(doc)]) == 1
    assert clidoc.REGENERATE in capsys.readouterr().err
    assert clidoc.main(["--write", str(doc)]) == 0
    assert clidoc.main(["--check", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# T\n\n") and text.endswith("\n\n## After\n")
    assert "old text" not in text
    assert not list(tmp_path.glob(".*clidoc"))


def test_clidoc_refuses_a_document_without_markers(tmp_path, capsys):
    doc = tmp_path / "README.md"
    doc.write_text("# no markers\n", encoding="utf-8")
    assert clidoc.main(["--write", str(doc)]) == 1
    assert "must hold <!-- cli-reference:start -->" in capsys.readouterr().err
    assert doc.read_text(encoding="utf-8") == "# no markers\n"


def test_clidoc_needs_write_or_check():
    with pytest.raises(SystemExit) as caught:
        clidoc.main([])
    assert caught.value.code == 2


def test_readme_documents_how_to_regenerate_the_reference_and_enable_completion():
    readme = README.read_text(encoding="utf-8")
    assert clidoc.REGENERATE in readme
    assert "_WORKTRAIL_COMPLETE=bash_source worktrail" in readme


def test_shell_completion_script_is_printed_for_bash():
    result = CliRunner().invoke(main, [], prog_name="worktrail", env={"_WORKTRAIL_COMPLETE": "bash_source"})
    assert result.exit_code == 0
    assert "_worktrail_completion" in result.output
    assert "complete -o nosort -F _worktrail_completion worktrail" in result.output


def test_quiet_leaves_out_informational_lines(tmp_path):
    result = CliRunner().invoke(main, ["-q", "init", str(tmp_path / "w")])
    assert result.exit_code == 0
    assert result.output == ""
    assert (tmp_path / "w" / "worktrail.yaml").is_file()


def test_quiet_keeps_results():
    result = CliRunner().invoke(main, ["-q", "-C", str(SAMPLE), "validate"])
    assert result.exit_code == 0
    assert "no problems" in result.output


def test_quiet_and_verbose_together_are_a_usage_error():
    result = CliRunner().invoke(main, ["-q", "-v", "-C", str(SAMPLE), "validate"])
    assert result.exit_code == 2
    assert "--quiet and --verbose exclude each other" in result.stderr


@pytest.mark.parametrize(("value", "coloured"), [("1", False), ("", True)])
def test_no_color_with_any_value_turns_colour_off(monkeypatch, value, coloured):
    # `report` puts its headings in bold on a colour terminal (color=True stands for one).
    monkeypatch.setenv("NO_COLOR", value)
    args = ["-C", str(SAMPLE), "report", "budget", "--as", "role:admin"]
    result = CliRunner().invoke(main, args, color=True)
    assert result.exit_code == 0
    assert ("\x1b[" in result.output) is coloured
