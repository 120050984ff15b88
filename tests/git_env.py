"""Tests that run Git commands see no user or system Git configuration and no GIT_* variables."""

from __future__ import annotations

import os

import pytest


def isolate_git(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Drop every GIT_* variable, ignore system and global Git configuration, and give HOME a fresh folder."""
    for name in list(os.environ):
        if name.startswith("GIT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
