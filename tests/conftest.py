"""Shared test settings and fixtures: hypothesis runs are derandomized and have no deadline, so CI is stable."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from worktrail.example import build_example
from worktrail.policy import Policy
from worktrail.redact import View, default_audiences, redact
from worktrail.validate import validate_workspace

SAMPLE = Path(__file__).resolve().parent.parent / "sample-workspace"

# Build caches go to a folder of this test run, never to the user's ~/.cache.
os.environ["WORKTRAIL_CACHE_DIR"] = tempfile.mkdtemp(prefix="worktrail-test-cache-")
atexit.register(shutil.rmtree, os.environ["WORKTRAIL_CACHE_DIR"], True)

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", derandomize=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example workspace with its replayed Git history (`worktrail example`), built once per test module."""
    folder = tmp_path_factory.mktemp("example") / "demo"
    build_example(folder)
    return folder


@pytest.fixture(scope="module")
def internal() -> View:
    """The sample workspace redacted for its internal audience, made once per test module."""
    report, result = validate_workspace(SAMPLE)
    assert report.errors == 0 and result.workspace is not None
    ws = result.workspace
    audience = next(a for a in default_audiences(ws) if a.name == "internal")
    return redact(ws, audience, Policy(ws))


@pytest.fixture
def one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every job of a build runs in the test's process (no forked worker), where the test counts the calls it spies on."""
    from worktrail import render_pool

    monkeypatch.setattr(render_pool, "workers_available", lambda: False)


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per worker process forked (`render_pool.Forked`) while the test runs."""
    from worktrail import render_pool

    forked: list[bool] = []
    real = render_pool.Forked.__init__

    def counted(self: render_pool.Forked[Any], work: Callable[[], Any]) -> None:
        forked.append(True)
        real(self, work)

    monkeypatch.setattr(render_pool.Forked, "__init__", counted)
    return forked


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every build cache of the test under tmp_path (not the run's shared cache folder)."""
    from worktrail.buildcache import CACHE_ENV

    home = tmp_path / "cache-home"
    monkeypatch.setenv(CACHE_ENV, str(home))
    return home
