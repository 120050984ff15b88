"""Findings: what validation, checks and audits report, with a location."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .model import Loc

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: where, how bad, a short code naming the rule, and a message for people."""

    loc: Loc
    severity: Severity
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.loc}: {self.severity}: {self.message}"


def error(loc: Loc, code: str, message: str) -> Finding:
    return Finding(loc, "error", code, message)


def warning(loc: Loc, code: str, message: str) -> Finding:
    return Finding(loc, "warning", code, message)
