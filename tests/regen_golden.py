"""Regenerate the golden sites that tests/test_golden.py compares against.

Run from the repository root, after a change to the site, its templates or the sample workspace:

    python tests/regen_golden.py

It builds every audience of sample-workspace/ with a fixed build date into tests/golden/<audience>/;
review the diff (`git diff --stat tests/golden`) before committing it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from worktrail.site import build_sites
from worktrail.validate import validate_workspace

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample-workspace"
GOLDEN = Path(__file__).resolve().parent / "golden"
# 2026-03-31 12:00 UTC: "today" in the sample workspace (its README), so "next meeting" and
# "next deadlines" are meaningful and stable.
EPOCH = 1774958400


def build_golden(out: Path) -> list[Path]:
    """Build the sample workspace's sites into `out` exactly as the golden copy is built."""
    report, result = validate_workspace(SAMPLE)
    if report.errors or result.workspace is None:
        raise SystemExit(f"sample-workspace has {report.errors} error(s); run `worktrail -C sample-workspace validate`")
    return build_sites(result.workspace, out, epoch=EPOCH, root=result.root)


def main() -> int:
    for folder in build_golden(GOLDEN):
        print(f"wrote {folder.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
