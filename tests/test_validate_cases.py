"""Example workspaces: every negative case fails with exactly the expected messages and lines.

A case is a folder under tests/cases/{negative,positive}/<name>/ holding `files/`, laid over the
base workspace in tests/cases/base/. Negative cases also hold `expected.txt`: the exact findings.
Adding a case is adding a folder. Regenerate expectations after a deliberate message change with
`python tests/test_validate_cases.py --regenerate` (then review the diff).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

CASES = Path(__file__).parent / "cases"
NEGATIVE = sorted(p for p in (CASES / "negative").iterdir() if p.is_dir())
POSITIVE = sorted(p for p in (CASES / "positive").iterdir() if p.is_dir())


def build_case(case: Path, target: Path) -> Path:
    shutil.copytree(CASES / "base", target)
    shutil.copytree(case / "files", target, dirs_exist_ok=True)
    return target


def finding_lines(root: Path) -> tuple[list[str], int, int]:
    from worktrail.validate import validate_workspace

    report, _ = validate_workspace(root)
    lines = [str(f) for f in report.findings]
    return lines, report.exit_code(strict=False), report.exit_code(strict=True)


def test_base_workspace_is_clean(tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(CASES / "base", root)
    lines, code, strict = finding_lines(root)
    assert (lines, code, strict) == ([], 0, 0)


@pytest.mark.parametrize("case", POSITIVE, ids=[p.name for p in POSITIVE])
def test_positive_case_validates_clean_even_with_strict(case, tmp_path):
    lines, code, strict = finding_lines(build_case(case, tmp_path / "ws"))
    assert lines == []
    assert code == 0 and strict == 0


@pytest.mark.parametrize("case", NEGATIVE, ids=[p.name for p in NEGATIVE])
def test_negative_case_reports_exact_messages_and_lines(case, tmp_path):
    lines, code, strict = finding_lines(build_case(case, tmp_path / "ws"))
    expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert lines == expected
    assert strict == 1, "every negative case fails under --strict"
    has_error = any(": error: " in line for line in expected)
    assert code == (1 if has_error else 0), "warnings alone leave the exit code 0 without --strict"


if __name__ == "__main__" and "--regenerate" in sys.argv:
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tool"))
    for case in NEGATIVE:
        with tempfile.TemporaryDirectory() as tmp:
            found, _, _ = finding_lines(build_case(case, Path(tmp) / "ws"))
        (case / "expected.txt").write_text("".join(f"{line}\n" for line in found), encoding="utf-8")
        print(f"{case.name}: {len(found)} finding(s)")
