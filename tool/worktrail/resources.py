"""Where the shipped data lives: the JSON Schemas and the site templates.

In a wheel they are the packages `worktrail.schemas` and `worktrail.site_templates`; in a source
checkout they are the top-level `schemas/` and `site-templates/` folders.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def _package_dir(package: str, fallback: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location)
            if candidate.is_dir():
                return candidate
    return _SOURCE_ROOT / fallback


@cache
def schemas_dir() -> Path:
    """The folder holding `<entity>.schema.json` files."""
    return _package_dir("worktrail.schemas", "schemas")


@cache
def templates_dir() -> Path:
    """The folder holding the Jinja2 site templates and their static assets."""
    return _package_dir("worktrail.site_templates", "site-templates")
