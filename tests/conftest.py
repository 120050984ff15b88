"""Shared test settings: hypothesis runs are derandomized and have no deadline, so CI is stable."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from hypothesis import settings

# Build caches go to a folder of this test run, never to the user's ~/.cache.
os.environ["WORKTRAIL_CACHE_DIR"] = tempfile.mkdtemp(prefix="worktrail-test-cache-")
atexit.register(shutil.rmtree, os.environ["WORKTRAIL_CACHE_DIR"], True)

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", derandomize=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
