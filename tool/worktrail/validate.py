"""`validate`: load a workspace, run the cross-file checks, and decide the exit code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .checks import check_workspace
from .findings import Finding
from .load import LoadResult, load_workspace

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class Report:
    """Everything `validate` found in one workspace."""

    root: Path
    findings: tuple[Finding, ...]
    files: int

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    def exit_code(self, strict: bool = False) -> int:
        """0 when clean; 1 on any error, or on any warning with `strict`."""
        if self.errors or (strict and self.warnings):
            return EXIT_FINDINGS
        return EXIT_OK


def validate_loaded(result: LoadResult) -> Report:
    """Findings of an already loaded workspace plus its cross-file checks."""
    findings = sorted(set(result.findings) | set(check_workspace(result)))
    return Report(root=result.root, findings=tuple(findings), files=result.files)


def validate_workspace(root: Path) -> tuple[Report, LoadResult]:
    """Load and check the workspace at `root`."""
    result = load_workspace(root)
    return validate_loaded(result), result
