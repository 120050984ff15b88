"""pre-commit: the repository offers `worktrail-validate`; its entry, run as pre-commit runs it (from the
repository root, no file names), passes on a good workspace and fails on a bad one with file and line."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / ".pre-commit-hooks.yaml"
BASE = Path(__file__).parent / "cases" / "base"


@pytest.fixture(scope="module")
def hook() -> dict[str, Any]:
    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert isinstance(hooks, list) and len(hooks) == 1
    found: dict[str, Any] = hooks[0]
    return found


def entry_command(hook: dict[str, Any]) -> list[str]:
    """The hook's entry as pre-commit runs it for `language: python`: the installed console script."""
    words = shlex.split(hook["entry"])
    script = Path(sys.executable).parent / words[0]
    assert script.is_file(), f"{words[0]} is not installed beside {sys.executable}"
    return [str(script), *words[1:]]


def test_the_hook_validates_the_workspace_once_per_commit(hook):
    assert hook["id"] == "worktrail-validate"
    assert hook["entry"] == "worktrail validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    assert hook["name"] and hook["description"]


@pytest.mark.parametrize(
    "path",
    [
        "worktrail.yaml",
        "people/ana.yaml",
        "teams/acme.yaml",
        "projects/web/project.yaml",
        "projects/web/tasks/WEB-1.md",
        "projects/web/tasks/WEB-1/comments/c1.md",
        "projects/web/time/2026-03.yaml",
        "projects/web/files/index.yaml",
        "work/worktrail.yaml",
        "work/projects/web/changes/CR-1.md",
    ],
)
def test_the_hook_runs_for_workspace_files(hook, path):
    assert re.search(hook["files"], path)


@pytest.mark.parametrize(
    "path", ["README.md", "src/app.py", "my-worktrail.yaml", "people.yaml", "docs/people/index.md", "site/index.html"]
)
def test_the_hook_skips_other_files(hook, path):
    assert not re.search(hook["files"], path)


def run_entry(hook: dict[str, Any], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(entry_command(hook), cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


def test_the_entry_passes_on_a_good_workspace(hook, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(BASE, repo)
    done = run_entry(hook, repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no problems" in done.stdout


def test_the_entry_fails_on_a_bad_workspace_naming_file_and_line(hook, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(BASE, repo)
    (repo / "projects/web/tasks/WEB-2.md").write_text("---\ntitle: T\nstatus: started\n---\n", encoding="utf-8")
    done = run_entry(hook, repo)
    assert done.returncode == 1
    assert "projects/web/tasks/WEB-2.md:3:9: error: status: 'started' is not one of" in done.stdout
    assert "Traceback" not in done.stderr
