"""Golden sites: the sample workspace builds to exactly the committed output, byte for byte.

When a change to the site is intended, regenerate with `python tests/regen_golden.py` and review
the diff.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.regen_golden import GOLDEN, build_golden

REGENERATE = "regenerate with `python tests/regen_golden.py` if the change is intended"


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("golden") / "site"
    build_golden(out)
    return files_of(out)


@pytest.fixture(scope="module")
def golden() -> dict[str, bytes]:
    if not GOLDEN.is_dir():
        pytest.fail(f"{GOLDEN} is missing; {REGENERATE}")
    return files_of(GOLDEN)


def test_golden_sites_have_the_same_files(rebuilt: dict[str, bytes], golden: dict[str, bytes]):
    missing = sorted(set(golden) - set(rebuilt))
    extra = sorted(set(rebuilt) - set(golden))
    assert not missing and not extra, f"missing: {missing[:10]}, unexpected: {extra[:10]}; {REGENERATE}"


def test_golden_sites_are_byte_identical(rebuilt: dict[str, bytes], golden: dict[str, bytes]):
    differing = sorted(path for path in set(golden) & set(rebuilt) if golden[path] != rebuilt[path])
    if differing:
        first = differing[0]
        diff = "\n".join(
            difflib.unified_diff(
                golden[first].decode(errors="replace").splitlines(),
                rebuilt[first].decode(errors="replace").splitlines(),
                f"golden/{first}",
                f"rebuilt/{first}",
                lineterm="",
                n=1,
            )
        )
        pytest.fail(f"{len(differing)} file(s) differ, e.g. {first}:\n{diff[:3000]}\n{REGENERATE}")
