"""Read-only views of a workspace's files: on disk, or in memory (a Git tree at some commit).

The loader reads only through `TreePath`, so the same code loads the working copy and any commit
of the history. Symbolic links are reported as links and never followed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Literal, Protocol

Kind = Literal["file", "dir", "link", "other"]


def kind_of_mode(mode: int) -> Kind:
    """The kind of a file from its `lstat` mode (a symbolic link is a link, whatever it points to)."""
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"


def kind_of_entry(entry: os.DirEntry[str]) -> Kind:
    """The kind of a folder listing's entry, as `kind_of_mode` tells them apart (mostly without a stat)."""
    if entry.is_symlink():
        return "link"
    if entry.is_dir(follow_symlinks=False):
        return "dir"
    return "file" if entry.is_file(follow_symlinks=False) else "other"


class Tree(Protocol):
    """What the loader needs from a file tree; paths are '/'-separated and relative ('' = root)."""

    def kind(self, rel: str) -> Kind | None: ...

    def children(self, rel: str) -> list[str]: ...

    def read(self, rel: str) -> bytes: ...


class DiskTree:
    """The files under a folder on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _full(self, rel: str) -> Path:
        return self.root / rel if rel else self.root

    def kind(self, rel: str) -> Kind | None:
        if "/" in rel and self.kind(rel.rsplit("/", 1)[0]) != "dir":
            # Nothing below a symbolic link (or a file) is part of the workspace: links are never followed.
            return None
        try:
            return kind_of_mode(os.lstat(self._full(rel)).st_mode)
        except OSError:
            return None

    def children(self, rel: str) -> list[str]:
        if rel and self.kind(rel) != "dir":
            return []
        try:
            return sorted(os.listdir(self._full(rel)))
        except OSError:
            return []

    def read(self, rel: str) -> bytes:
        if self.kind(rel) != "file":
            raise OSError(f"{rel} is not a regular file inside the workspace")
        return self._full(rel).read_bytes()


class MemoryTree:
    """Files given as a mapping of relative path to bytes (folders are implied); `links` are links."""

    def __init__(self, files: Mapping[str, bytes], links: frozenset[str] = frozenset()) -> None:
        self.files = files
        self.links = links

    @cached_property
    def dirs(self) -> dict[str, set[str]]:
        """The folders and their entries' names, made when first asked (a record loaded alone never asks)."""
        dirs: dict[str, set[str]] = {"": set()}
        for path in (*self.files, *self.links):
            parts = path.split("/")
            for depth in range(len(parts)):
                parent = "/".join(parts[:depth])
                dirs.setdefault(parent, set()).add(parts[depth])
        return dirs

    def kind(self, rel: str) -> Kind | None:
        if rel in self.links:
            return "link"
        if rel in self.files:
            return "file"
        if rel in self.dirs:
            return "dir"
        return None

    def children(self, rel: str) -> list[str]:
        return sorted(self.dirs.get(rel, ()))

    def read(self, rel: str) -> bytes:
        return self.files[rel]


class TreePath:
    """A path inside a Tree with the few pathlib-like methods the loader uses."""

    __slots__ = ("rel", "tree")

    def __init__(self, tree: Tree, rel: str = "") -> None:
        self.tree = tree
        self.rel = rel

    def __truediv__(self, name: str) -> TreePath:
        return TreePath(self.tree, f"{self.rel}/{name}" if self.rel else name)

    def __str__(self) -> str:
        return self.rel

    @property
    def name(self) -> str:
        return self.rel.rsplit("/", 1)[-1]

    @property
    def parent(self) -> TreePath:
        return TreePath(self.tree, self.rel.rsplit("/", 1)[0] if "/" in self.rel else "")

    def is_symlink(self) -> bool:
        return self.tree.kind(self.rel) == "link"

    def is_dir(self) -> bool:
        return self.tree.kind(self.rel) == "dir"

    def is_file(self) -> bool:
        return self.tree.kind(self.rel) == "file"

    def exists(self) -> bool:
        return self.tree.kind(self.rel) is not None

    def kind(self) -> Kind | None:
        return self.tree.kind(self.rel)

    def read_bytes(self) -> bytes:
        return self.tree.read(self.rel)

    def iterdir_names(self) -> list[str]:
        return self.tree.children(self.rel)
