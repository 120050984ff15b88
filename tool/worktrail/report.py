"""Reporters: the same findings as text, JSON or GitHub workflow annotations."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from .findings import Finding

FORMATS = ("text", "json", "github")


def display_path(root: Path, rel: str, cwd: Path | None = None) -> str:
    """A workspace-relative path shown relative to the current folder when below it."""
    full = root / rel if rel else root
    base = cwd or Path.cwd()
    try:
        return full.relative_to(base.resolve()).as_posix()
    except ValueError:
        return os.path.relpath(full, base) if full.is_absolute() else full.as_posix()


def render_text(root: Path, findings: Iterable[Finding], files: int) -> str:
    lines = []
    errors = warnings = 0
    for f in findings:
        errors += f.severity == "error"
        warnings += f.severity == "warning"
        lines.append(f"{display_path(root, f.loc.path)}:{f.loc.line}:{f.loc.column}: {f.severity}: {f.message}")
    summary = f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {_plural(files, 'file')}"
    lines.append(summary if errors or warnings else f"ok: {_plural(files, 'file')} checked, no problems")
    return "\n".join(lines) + "\n"


def render_json(root: Path, findings: Iterable[Finding], files: int) -> str:
    items = [
        {
            "path": display_path(root, f.loc.path),
            "line": f.loc.line,
            "column": f.loc.column,
            "severity": f.severity,
            "code": f.code,
            "message": f.message,
        }
        for f in findings
    ]
    payload = {
        "findings": items,
        "errors": sum(1 for i in items if i["severity"] == "error"),
        "warnings": sum(1 for i in items if i["severity"] == "warning"),
        "files": files,
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(root: Path, findings: Iterable[Finding], files: int) -> str:
    """One `::error`/`::warning` workflow command per finding, with file, line and column."""
    lines = []
    for f in findings:
        props = ",".join(
            [
                f"file={_escape_property(display_path(root, f.loc.path))}",
                f"line={f.loc.line}",
                f"col={f.loc.column}",
                f"title={_escape_property('worktrail ' + f.code)}",
            ]
        )
        lines.append(f"::{f.severity} {props}::{_escape_data(f.message)}")
    return "\n".join(lines) + ("\n" if lines else "")


def render(fmt: str, root: Path, findings: Iterable[Finding], files: int) -> str:
    """Findings in one of FORMATS."""
    if fmt == "json":
        return render_json(root, findings, files)
    if fmt == "github":
        return render_github(root, findings, files)
    return render_text(root, findings, files)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")
