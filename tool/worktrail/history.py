"""The Git history of a workspace: commits, their file changes, workspace states, and derived events.

One `git log` pass (restricted to the workspace's data: `worktrail.yaml`, `people/`, `teams/`,
`projects/`) gives every commit with its changed files; blob contents come from one long-lived
`git cat-file --batch` process and each version of a file is parsed once. Files elsewhere in the
repository are not workspace data and are not read.

Rules (SPEC §3 Trail, §4):
- **Person of a commit**: the Git *author* email (never the committer, who is only recorded) is
  compared with the `emails` of the people in the state before the commit: surrounding spaces
  trimmed, ASCII letters compared case-insensitively, nothing fuzzier (no Unicode folding, no name
  matching, no mailmap; see `identity`). No match means an unknown author (`person` is None).
- **Merges**: a merge commit's changes are those against its FIRST parent, minus what it carries
  over from another parent: a file whose merged content equals that parent's, where that branch
  changed it since the merge base. Only the rest (conflict resolutions, edits made in the merge)
  belongs to the merge commit. In time and expense files, lines the other branch added (or
  removed) count as carried over.
- **Renames** (`git log -M`): a renamed file keeps its history; a record whose file moved gets a
  `renamed` event, then its field changes.
- **Without Git** (no git program, not a repository, no commits): there is no history, and one
  warning says why.

Events are model-level: each names the entity (kind, project, id), the field, the old and new
values, the person, the date and the commit, and carries the entity as it was before and after, so
the site can show it only to viewers who see it now and in both states (`event_visible`).
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import datetime as dt
import hashlib
import heapq
import itertools
import json
import re
import zlib
from collections import Counter, OrderedDict
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from . import identity, yamllist
from . import model as m
from .findings import Finding
from .gitutil import (
    BlobReader,
    GitError,
    GitJob,
    GitUnavailable,
    Repository,
    RevisionError,
    RevRange,
    find_repository,
    is_oid,
    parse_range,
)
from .load import (
    WORKSPACE_FILE,
    ParseCache,
    RecordLoad,
    change_order,
    comment_order,
    dated_order,
    load_record,
    load_tree,
    task_order,
    time_order,
)
from .policy import FieldRef, MilestoneRef, Policy, Viewer
from .tree import MemoryTree
from .yamlio import MAX_FILE_BYTES, Doc

DATA_ROOTS = (WORKSPACE_FILE, "people", "teams", "projects")
# Projects and their records load on their own, with stand-ins for the settings (and project, and
# task) files they need to load at all: one changed record then reloads that record alone.
_STAND_IN_SETTINGS = b"name: history\n"
_STAND_IN_PROJECT = b"name: history\nkey: H\nstatus: active\nmembers: []\n"
_STAND_IN_TASK = b"---\ntitle: history\nstatus: open\n---\n"
_MARK = b"\x1e"
_HEADER_FIELDS = 12
_BLOB_CACHE_BYTES = 128 * 1024 * 1024
# Parses are mostly held by the states that use them; the cache is for contents that come back
# (stand-ins, reverted files). A large one held every old version's locations: ~1 GB at 10,000 tasks.
_PARSE_CACHE_ENTRIES = 8_192
# Loaded groups remembered by content (see `_Context.shared_load`).
_LOADED_GROUPS = 4_096
# Commits whose new file versions are read from cat-file in one batch.
_PREFETCH = 64
# Swaps waiting for a project no state asked for; past this many, the project is assembled anew.
_PENDING_SWAPS = 256
# Record groups of one file load straight into their model object (`load_record`), not through a tree.
_DIRECT_RECORDS = True
# Below this many commits to walk, a second process costs more (it reads one state whole) than it saves.
_PARALLEL_LEAST = 1_500
# How much more the last commit of a history costs to walk than the first, and the cost of loading a
# state whole, as a share of a walk (see `HistorySource.halves`).
_LATE_COST = 2.0
_FIRST_LOAD = 0.1


# ---------------------------------------------------------------------------------------- commits


@dataclass(frozen=True)
class BlobRef:
    """A file's content in Git: the blob id, and whether Git stores it as a link (or submodule)."""

    oid: str
    link: bool = False


@dataclass(frozen=True)
class FileChange:
    """One changed file of a commit, with workspace-relative paths (`old_path` differs on a rename)."""

    path: str
    old_path: str
    old: BlobRef | None
    new: BlobRef | None

    @property
    def status(self) -> Literal["added", "deleted", "modified", "renamed"]:
        if self.old is None:
            return "added"
        if self.new is None:
            return "deleted"
        return "renamed" if self.old_path != self.path else "modified"

    def edits(self) -> dict[str, BlobRef | None]:
        """What the change does to a state: path -> new content (None removes the file)."""
        out: dict[str, BlobRef | None] = {}
        if self.old_path != self.path:
            out[self.old_path] = None
        out[self.path] = self.new
        return out

    def split(self) -> list[FileChange]:
        """A rename as a deletion plus an addition; other changes as they are."""
        if self.old_path == self.path or self.old is None or self.new is None:
            return [self]
        return [
            FileChange(self.old_path, self.old_path, self.old, None),
            FileChange(self.path, self.path, None, self.new),
        ]


@dataclass(frozen=True)
class Signature:
    """What `git log` says of a commit's signature: `%G?` status, signer (`%GS`) and key fingerprint."""

    status: str
    signer: str
    fingerprint: str


@dataclass(frozen=True)
class Commit:
    """A commit that touched the workspace's data, with its own changes against its first parent."""

    id: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    author_date: dt.datetime
    committer_name: str
    committer_email: str
    committer_date: dt.datetime
    message: str
    changes: tuple[FileChange, ...] = ()
    signature: Signature | None = None

    @property
    def author(self) -> str:
        return f"{self.author_name} <{self.author_email}>"

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


def pathspecs(repo: Repository) -> list[str]:
    """The repository paths holding workspace data."""
    return [repo.to_repo_path(name) for name in DATA_ROOTS]


def _log_format(signed: bool) -> str:
    sig = "%G?%x00%GS%x00%GF" if signed else "%x00%x00"
    return f"%x1e%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00{sig}%x00%B%x00"


def _log_args(revs: Sequence[str], paths: Sequence[str], *, signed: bool = False, order: bool = True) -> list[str]:
    """`git log` giving each commit's fields and its changes against its first parent (`parse_log` reads it)."""
    return [
        "log",
        *(("--reverse", "--topo-order", "--parents", "--full-history") if order else ()),
        "--no-color",
        "--no-decorate",
        "--no-notes",
        "--no-mailmap",
        "--no-abbrev",
        "--no-textconv",
        "--no-ext-diff",
        "--raw",
        "--root",
        "-z",
        "-M",
        "--diff-merges=first-parent",
        "--encoding=UTF-8",
        f"--format={_log_format(signed)}",
        "--end-of-options",
        *revs,
        "--",
        *paths,
    ]


def read_log(repo: Repository, commits: RevRange, allowed_signers: Path | None = None) -> list[Commit]:
    """Commits touching the workspace in `commits` (already resolved ids), oldest first.

    Parents are rewritten to the nearest commits that touch the workspace (or to commits outside
    the range); merges show their changes against the first parent. This is what `git log` limited
    to the workspace's paths gives (`_read_limited_log`); where the workspace is the repository's
    top folder and no signature is checked, the same commits are read faster (`_read_log_in_two`).
    """
    revs = [commits.tip] if commits.base is None else [f"^{commits.base}", commits.tip]
    if allowed_signers is None and not repo.prefix:
        return _read_log_in_two(repo, revs)
    return _read_limited_log(repo, revs, allowed_signers)


def _read_limited_log(repo: Repository, revs: Sequence[str], allowed_signers: Path | None = None) -> list[Commit]:
    """The commits of `read_log` in one `git log` limited to the workspace's paths."""
    config = [f"gpg.ssh.allowedSignersFile={allowed_signers}"] if allowed_signers is not None else []
    args = _log_args(revs, pathspecs(repo), signed=allowed_signers is not None)
    return parse_log(repo, repo.run(args, config=config))


def _read_log_in_two(repo: Repository, revs: Sequence[str]) -> list[Commit]:
    """The commits of `read_log`, without limiting `git log` to the workspace's paths.

    Limiting `git log` to paths makes git compare each commit's tree with its parents' twice (to keep
    the commit, then for its changes). Instead, an unlimited `git log`, parsed as it comes, gives
    every commit's fields and changes. On a linear history (no merge among the commits, which an
    unlimited `git rev-list` tells first), that is enough: the commits kept are those that change a
    workspace path, and each one's parent is rewritten to the nearest such commit below it
    (`_linear_order`), as git does; a long one is read by two `git log` at once, each for half of the
    commits. With merges, `git rev-list` limited to the workspace's paths gives the commits, their
    order and their rewritten parents (`_limited_order`).

    The changes of a commit against its real first parent are its changes against the rewritten one
    (the commits between change no workspace path), but for renames: git pairs renames among all the
    changed files, so a commit that also changes files outside the workspace, and has a rename or both
    additions and deletions in it, is read again limited to the workspace (`_exact_changes`).
    """
    # The commits, newest first, with their parents: a linear history's log is read in two parts
    # at once (git's tree comparisons are most of its time), a history with merges in one.
    listing = repo.run(["rev-list", "--parents", "--end-of-options", *revs, "--"])
    lines = [line for line in listing.split(b"\n") if line]
    linear = all(line.count(b" ") <= 1 for line in lines)
    order = None if linear else _start_limited_order(repo, revs)
    parts = [list(revs)]
    if linear and len(lines) >= _SPLIT_LOG_LEAST:
        middle = lines[len(lines) // 2].split(b" ")[0].decode("ascii", "replace")
        if not is_oid(middle):
            raise GitError(f"unexpected git rev-list output: {lines[len(lines) // 2][:100]!r}")
        tip = [rev for rev in revs if not rev.startswith("^")]
        base = [rev for rev in revs if rev.startswith("^")]
        parts = [[f"^{middle}", *tip], [*base, middle]]
    later: list[GitJob] = []
    try:
        later = [repo.start(_log_args(part, (), order=False)) for part in parts[1:]]
        found: dict[str, Commit] = {}
        unsure: set[str] = set()
        reader = _LogReader(repo)
        with contextlib.closing(repo.stream(_log_args(parts[0], (), order=False))) as pieces:
            for piece in pieces:
                reader.feed(piece, found, unsure)
        reader.finish(found, unsure)
        for job in later:
            _LogReader(repo).read(job.result(), found, unsure)
        commits = _linear_order(found) if order is None else None
        if commits is None:
            if order is None:
                order = _start_limited_order(repo, revs)
            commits = _limited_order(found, order.result())
    finally:
        for job in later:
            job.close()
        if order is not None:
            order.close()
    redo = [commit.id for commit in commits if commit.id in unsure]
    if redo:
        exact = _exact_changes(repo, redo)
        commits = [
            dataclasses.replace(commit, changes=exact.get(commit.id, ())) if commit.id in unsure else commit
            for commit in commits
        ]
    return commits


def _read_after(repo: Repository, tip: str, head: str, kept: Sequence[str]) -> list[Commit] | None:
    """The commits of `read_log` from `head` (excluded) to `tip`, when the history of `tip` is that of
    `head` (whose log kept the commits `kept`, oldest first) and a chain of new commits; None otherwise.

    With no merge in the history, its log is one chain: the commits `head`'s log kept come first, in
    their order, then the new ones, whatever else the log holds. The first new commit's parent is
    rewritten to the last commit kept below it, as reading the whole log rewrites it.
    """
    if repo.prefix:
        # A workspace in a sub-folder: git limits the log to it and rewrites parents itself.
        return None
    listing = repo.run(["rev-list", "--parents", "--end-of-options", tip, "--"])
    lines = [line for line in listing.split(b"\n") if line]
    if any(line.count(b" ") > 1 for line in lines):
        return None
    ids = {line.split(b" ", 1)[0].decode("ascii", "replace") for line in lines}
    if head not in ids or not ids.issuperset(kept):
        return None
    later = read_log(repo, RevRange(head, tip))
    if later and later[0].parents == (head,):
        below = (kept[-1],) if kept else ()
        later[0] = dataclasses.replace(later[0], parents=below)
    return later


# From how many commits a linear history's log is read in two parts.
_SPLIT_LOG_LEAST = 400


def _start_limited_order(repo: Repository, revs: Sequence[str]) -> GitJob:
    walk = ["rev-list", "--reverse", "--topo-order", "--parents", "--full-history"]
    return repo.start([*walk, "--end-of-options", *revs, "--", *pathspecs(repo)])


def _limited_order(found: Mapping[str, Commit], listing: bytes) -> list[Commit]:
    """The commits of `found` that `git rev-list` limited to the workspace lists, in its order, with its parents."""
    commits: list[Commit] = []
    for line in listing.split(b"\n"):
        if not line:
            continue
        ids = line.decode("ascii", "replace").split(" ")
        if not all(is_oid(oid) for oid in ids):
            raise GitError(f"unexpected git rev-list output: {line[:100]!r}")
        commit = found.get(ids[0])
        if commit is None:
            raise GitError(f"git log did not show commit {ids[0]}, which git rev-list lists")
        commits.append(dataclasses.replace(commit, parents=tuple(ids[1:])))
    return commits


def _linear_order(found: Mapping[str, Commit]) -> list[Commit] | None:
    """What `git rev-list --reverse --full-history --parents` limited to the workspace gives, from an
    unlimited log of a linear history (newest first); None when the log is not one chain.

    A commit is kept when it changes a workspace path (the log's changes are already limited to
    the workspace's paths); its parent is rewritten to the nearest kept commit below it, or stays a
    commit outside the range (the range's base side), or goes when only commits that change no
    workspace path lie below it (git drops a parent that leads to no kept commit).
    """
    chain = list(found.values())
    for newer, older in itertools.pairwise(chain):
        if newer.parents != (older.id,):
            return None
    if chain and (len(chain[-1].parents) > 1 or (chain[-1].parents and chain[-1].parents[0] in found)):
        return None
    below: str | None = chain[-1].parents[0] if chain and chain[-1].parents else None
    kept: list[Commit] = []
    for commit in reversed(chain):
        if not commit.changes:
            continue
        parents = (below,) if below is not None else ()
        kept.append(commit if commit.parents == parents else dataclasses.replace(commit, parents=parents))
        below = commit.id
    return kept


def _exact_changes(repo: Repository, ids: Sequence[str]) -> dict[str, tuple[FileChange, ...]]:
    """Each commit's changes against its first parent, limited to the workspace's paths.

    A commit git leaves out changes no workspace path against that parent.
    """
    args = ["log", "--no-walk=unsorted", "--stdin", *_log_args((), pathspecs(repo), order=False)[1:]]
    out = repo.run(args, feed="".join(f"{oid}\n" for oid in ids).encode("ascii"))
    return {commit.id: commit.changes for commit in parse_log(repo, out)}


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _date(raw: bytes) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise GitError(f"unexpected date in git log output: {raw[:40]!r}") from None


def _blob(mode: str, oid: str) -> BlobRef | None:
    if mode == "000000" or not oid.strip("0"):
        return None
    return BlobRef(oid, link=not mode.startswith("100"))


def parse_log(repo: Repository, out: bytes) -> list[Commit]:
    """Parse the output of `read_log`'s command (fields are NUL-separated, so no message can fake one)."""
    found: dict[str, Commit] = {}
    _LogReader(repo).read(out, found, set())
    return list(found.values())


class _LogReader:
    """Reads `git log` output (see `_log_args`) piece by piece, as git writes it.

    Each commit goes into `found` (by id, in the order of the log); the ids of commits whose changes
    may differ from what a log limited to the workspace's paths shows (see `_read_log_in_two`) go
    into `unsure`.
    """

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._rest = b""

    def feed(self, piece: bytes, found: dict[str, Commit], unsure: set[str]) -> None:
        tokens = (self._rest + piece).split(b"\0")
        # The last token may be cut: it comes again with the next piece.
        done = self._parse(tokens[:-1], found, unsure, final=False)
        self._rest = b"\0".join(tokens[done:])

    def read(self, out: bytes, found: dict[str, Commit], unsure: set[str]) -> None:
        """Parse a whole output at once (`feed`, then `finish`)."""
        self.feed(out, found, unsure)
        self.finish(found, unsure)

    def finish(self, found: dict[str, Commit], unsure: set[str]) -> None:
        tokens = self._rest.split(b"\0")
        self._rest = b""
        self._parse(tokens, found, unsure, final=True)

    def _parse(self, tokens: list[bytes], found: dict[str, Commit], unsure: set[str], *, final: bool) -> int:
        """Parse the whole commits in `tokens` (all of them when `final`); returns how many tokens were used."""
        i = 0
        while i < len(tokens):
            start = i
            token = tokens[i]
            if not token.strip(b"\n"):
                i += 1
                continue
            if not token.startswith(_MARK) or i + _HEADER_FIELDS > len(tokens):
                if not final and token.startswith(_MARK):
                    return start
                raise GitError(f"unexpected git log output near {token[:60]!r}")
            head = tokens[i : i + _HEADER_FIELDS]
            i += _HEADER_FIELDS
            changes: list[FileChange] = []
            outside = renamed = added = deleted = False
            while i < len(tokens) and not tokens[i]:
                i += 1
            while i < len(tokens) and tokens[i].lstrip(b"\n").startswith(b":"):
                meta = _text(tokens[i].lstrip(b"\n")[1:]).split(" ")
                if len(meta) != 5:
                    raise GitError(f"unexpected git log --raw entry: {tokens[i][:80]!r}")
                old_mode, new_mode, old_oid, new_oid, status = meta
                count = 2 if status[:1] in ("R", "C") else 1
                if i + 1 + count > len(tokens):
                    if final:
                        raise GitError(f"unexpected end of git log output after {tokens[i][:80]!r}")
                    return start
                paths = [tokens[i + 1 + n].decode("utf-8", "surrogateescape") for n in range(count)]
                i += 1 + count
                change = _workspace_change(
                    self.repo, paths[0], paths[-1], _blob(old_mode, old_oid), _blob(new_mode, new_oid)
                )
                if status[:1] == "C":
                    # A copy leaves its source in place: only the new file is a change (none when the
                    # copy lies outside the workspace).
                    if change is not None and change.new is not None:
                        change = FileChange(change.path, change.path, None, change.new)
                    else:
                        change = None
                if change is None or (count == 2 and change.old_path == change.path):
                    outside = True
                renamed = renamed or count == 2
                if change is not None:
                    added = added or change.old is None
                    deleted = deleted or change.new is None
                    changes.append(change)
            if i == len(tokens) and not final:
                # More changes of this commit may follow in the next piece.
                return start
            commit = _commit(head, changes)
            found[commit.id] = commit
            if outside and (renamed or (added and deleted)):
                unsure.add(commit.id)
        return i


def _commit(head: list[bytes], changes: list[FileChange]) -> Commit:
    oid = _text(head[0][1:])
    parents = tuple(_text(head[1]).split())
    if not is_oid(oid) or not all(is_oid(p) for p in parents):
        raise GitError(f"unexpected commit id in git log output: {oid[:80]!r}")
    signature = None
    if head[9] or head[8]:
        signature = Signature(_text(head[8]), _text(head[9]), _text(head[10]))
    return Commit(
        id=oid,
        parents=parents,
        author_name=_text(head[2]).strip(),
        author_email=_text(head[3]),
        author_date=_date(head[4]),
        committer_name=_text(head[5]).strip(),
        committer_email=_text(head[6]),
        committer_date=_date(head[7]),
        message=_text(head[11]),
        changes=tuple(changes),
        signature=signature,
    )


def _in_data(path: str) -> bool:
    """Whether a workspace path lies in the workspace's data (what `pathspecs` names)."""
    return path.partition("/")[0] in DATA_ROOTS


def _workspace_change(
    repo: Repository, old_repo_path: str, new_repo_path: str, old: BlobRef | None, new: BlobRef | None
) -> FileChange | None:
    old_path = repo.from_repo_path(old_repo_path)
    new_path = repo.from_repo_path(new_repo_path)
    if old_path is None or not _in_data(old_path):
        old = None
    if new_path is None or not _in_data(new_path):
        new = None
    if old is None and new is None:
        return None
    if new is None:
        assert old_path is not None
        return FileChange(old_path, old_path, old, None)
    assert new_path is not None
    if old is None:
        return FileChange(new_path, new_path, None, new)
    return FileChange(new_path, old_path or new_path, old, new)


def tree_files(repo: Repository, commit: str) -> dict[str, BlobRef]:
    """The workspace's data files at one commit (for a range's base and parents outside the range)."""
    out = repo.run(["ls-tree", "-r", "-z", "--full-tree", "--end-of-options", commit, "--", *pathspecs(repo)])
    files: dict[str, BlobRef] = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        parts = _text(meta).split(" ")
        if len(parts) != 3:
            raise GitError(f"unexpected git ls-tree output: {entry[:80]!r}")
        mode, _kind, oid = parts
        path = repo.from_repo_path(raw_path.decode("utf-8", "surrogateescape"))
        ref = _blob(mode, oid)
        if path is not None and ref is not None:
            files[path] = ref
    return files


# ---------------------------------------------------------------------------------------- paths

PathKind = Literal[
    "settings",
    "person",
    "team",
    "project",
    "task",
    "comment",
    "change",
    "meeting",
    "time",
    "expenses",
    "documents",
    "file",
    "feedback",
    "other",
    "ignored",
]

_PATTERNS: tuple[tuple[PathKind, re.Pattern[str]], ...] = (
    ("settings", re.compile(r"^worktrail\.yaml$")),
    ("person", re.compile(r"^people/(?P<id>[^/]+)\.yaml$")),
    ("team", re.compile(r"^teams/(?P<id>[^/]+)\.yaml$")),
    ("project", re.compile(r"^projects/(?P<project>[^/]+)/project\.yaml$")),
    ("task", re.compile(r"^projects/(?P<project>[^/]+)/tasks/(?P<id>[^/]+)\.md$")),
    ("comment", re.compile(r"^projects/(?P<project>[^/]+)/tasks/(?P<task>[^/]+)/comments/(?P<id>[^/]+)\.md$")),
    ("change", re.compile(r"^projects/(?P<project>[^/]+)/changes/(?P<id>[^/]+)\.md$")),
    ("meeting", re.compile(r"^projects/(?P<project>[^/]+)/meetings/(?P<id>[^/]+)\.md$")),
    ("time", re.compile(r"^projects/(?P<project>[^/]+)/time/(?P<id>[^/]+)\.yaml$")),
    ("expenses", re.compile(r"^projects/(?P<project>[^/]+)/expenses\.yaml$")),
    ("documents", re.compile(r"^projects/(?P<project>[^/]+)/files/index\.yaml$")),
    ("file", re.compile(r"^projects/(?P<project>[^/]+)/files/(?P<id>.+)$")),
    ("feedback", re.compile(r"^projects/(?P<project>[^/]+)/feedback/(?P<id>[^/]+)\.md$")),
)
_IN_PROJECT = re.compile(r"^projects/(?P<project>[^/]+)/")


@dataclass(frozen=True)
class PathInfo:
    """What a workspace file holds, from its path alone."""

    kind: PathKind
    project: str | None = None
    id: str | None = None
    task: str | None = None


@lru_cache(maxsize=65_536)
def classify_path(path: str) -> PathInfo:
    """The kind of record a workspace-relative path holds (dot-files, which the loader skips: `ignored`)."""
    if any(part.startswith(".") for part in path.split("/")):
        return PathInfo("ignored")
    for kind, pattern in _PATTERNS:
        match = pattern.match(path)
        if match:
            groups = match.groupdict()
            return PathInfo(kind, groups.get("project"), groups.get("id"), groups.get("task"))
    match = _IN_PROJECT.match(path)
    return PathInfo("other", match.group("project") if match else None)


def path_owner(path: str) -> str:
    """The project a workspace-relative path is in ("": the workspace's own files, settings, people, teams)."""
    return classify_path(path).project or ""


_RECORD_FOLDERS = frozenset({"tasks", "changes", "meetings", "feedback", "time"})


@lru_cache(maxsize=1 << 17)
def _group_key(path: str) -> str:
    """Which group a file loads with: '' (settings, people, teams), a project, or one of its records."""
    parts = path.split("/")
    if parts[0] != "projects" or len(parts) < 3:
        return ""
    project = f"projects/{parts[1]}"
    if len(parts) < 4 or parts[2] not in _RECORD_FOLDERS:
        return project
    if parts[2] != "tasks":
        return f"{project}/{parts[2]}/{parts[3]}"
    task = parts[3][: -len(".md")] if len(parts) == 4 and parts[3].endswith(".md") else parts[3]
    if len(parts) >= 6 and parts[4] == "comments":
        return f"{project}/tasks/{task}/comments/{parts[5]}"
    # A task file and anything else in its folder.
    return f"{project}/tasks/{task}"


def _loader_reads(path: str) -> bool:
    # Documents under files/ are never parsed (only their index is): their blobs are not read.
    parts = path.split("/", 3)
    return not (len(parts) == 4 and parts[0] == "projects" and parts[2] == "files" and parts[3] != "index.yaml")


# ---------------------------------------------------------------------------------------- states


class BoundedParseCache(ParseCache):
    """A ParseCache that forgets the least recently used parses beyond `limit` entries.

    Used by the history walk, which reads every version of each list file: those parse item by item.
    """

    lists_by_item = True

    def __init__(self, limit: int = _PARSE_CACHE_ENTRIES) -> None:
        super().__init__()
        self.limit = limit
        self.lru: OrderedDict[tuple[str, str, bytes], tuple[Any, list[Finding]]] = OrderedDict()

    def get(self, key: tuple[str, str, bytes]) -> tuple[Any, list[Finding]] | None:
        value = self.lru.get(key)
        if value is not None:
            self.lru.move_to_end(key)
        return value

    def put(self, key: tuple[str, str, bytes], value: tuple[Any, list[Finding]]) -> None:
        self.lru[key] = value
        if len(self.lru) > self.limit:
            self.lru.popitem(last=False)


class BlobStore:
    """Blob contents by id, read through one cat-file process and kept in a bounded cache."""

    def __init__(self, reader: BlobReader | None, limit_bytes: int = _BLOB_CACHE_BYTES) -> None:
        self.reader = reader
        self.limit_bytes = limit_bytes
        self.size = 0
        self.cache: OrderedDict[str, bytes] = OrderedDict()
        self.missing: set[str] = set()

    def get(self, oid: str) -> bytes:
        """`get_many` of one blob."""
        hit = self.cache.get(oid)
        if hit is None:
            return self.get_many((oid,))[oid]
        self.cache.move_to_end(oid)
        return hit

    def get_many(self, oids: Iterable[str]) -> dict[str, bytes]:
        """Contents of these blobs; one Git does not have (or too large to read) reads as empty, noted in `missing`."""
        out: dict[str, bytes] = {}
        wanted: list[str] = []
        for oid in oids:
            hit = self.cache.get(oid)
            if hit is None:
                wanted.append(oid)
            else:
                self.cache.move_to_end(oid)
                out[oid] = hit
        if wanted:
            fetched = self.reader.read(wanted) if self.reader is not None else {}
            for oid in wanted:
                data = fetched.get(oid)
                if data is None:
                    self.missing.add(oid)
                    data = b""
                out[oid] = data
                self.put(oid, data)
        return out

    def put(self, oid: str, data: bytes) -> None:
        """Remember a blob's content (a store without a reader keeps everything: it cannot read again)."""
        if oid not in self.cache:
            self.size += len(data)
        self.cache[oid] = data
        while self.reader is not None and self.size > self.limit_bytes and len(self.cache) > 1:
            _, dropped = self.cache.popitem(last=False)
            self.size -= len(dropped)


@dataclass(frozen=True)
class Line:
    """One item of a list file (time, expenses, documents index): canonical key, data and model object."""

    key: str
    data: Any
    entity: object


def line_key(data: Any) -> str:
    """A canonical text for a list item, so that equal items compare equal whatever their layout."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)


# Keys of list items by the identity of their data: an unchanged item of a list file keeps its parsed
# data from one version to the next (`yamllist`), so its key is computed once. The data is held with
# its key, so its id cannot be reused while it is in here.
_LINE_KEYS: OrderedDict[int, tuple[Any, str]] = OrderedDict()
_LINE_KEYS_ENTRIES = 65_536


def _kept_line_key(data: Any) -> str:
    found = _LINE_KEYS.get(id(data))
    if found is not None and found[0] is data:
        return found[1]
    key = line_key(data)
    _LINE_KEYS[id(data)] = (data, key)
    if len(_LINE_KEYS) > _LINE_KEYS_ENTRIES:
        _LINE_KEYS.popitem(last=False)
    return key


@dataclass(frozen=True)
class _Part:
    """What a record group gives its project: tasks as their files hold them (no comments), comments
    by task id, time entries in order, change requests, meetings and feedback."""

    tasks: tuple[m.Task, ...] = ()
    comments: dict[str, tuple[m.Comment, ...]] = field(default_factory=dict)
    time_entries: tuple[m.TimeEntry, ...] = ()
    changes: tuple[m.ChangeRequest, ...] = ()
    meetings: tuple[m.Meeting, ...] = ()
    feedback: tuple[m.Feedback, ...] = ()

    @classmethod
    def of(cls, project: m.Project, comment_group: bool) -> _Part:
        """The part of a project loaded from one group's files (a comment group's tasks are stand-ins)."""
        if comment_group:
            return cls(comments={task.id: task.comments for task in project.tasks})
        return cls(project.tasks, {}, project.time_entries, project.changes, project.meetings, project.feedback)


@dataclass(slots=True)
class _Loaded:
    settings: m.Settings | None = None
    people: dict[str, m.Person] = field(default_factory=dict)
    teams: dict[str, m.Team] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    project: m.Project | None = None
    part: _Part | None = None
    records: dict[str, object] = field(default_factory=dict)
    lines: dict[str, list[Line]] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    findings: dict[str, list[Finding]] = field(default_factory=dict)


class _Context:
    """What every snapshot of one history shares: blobs, parses and the workspace root."""

    def __init__(self, root: Path, store: BlobStore, cache: ParseCache) -> None:
        self.root = root
        self.store = store
        self.cache = cache
        # Groups of equal contents load to equal results: the audit's actual, accepted and candidate
        # states each make their own group of a changed file, and would load it two or three times.
        self.loaded: OrderedDict[tuple[str, tuple[tuple[str, str, bool], ...]], _Loaded] = OrderedDict()
        # The policy built last: the next one over the same people and teams borrows its people indexes.
        self.last_policy: Policy | None = None

    def shared_load(self, group: _Group) -> _Loaded:
        files = group.files
        if len(files) == 1:
            # Most groups are one record's file: its key without sorting.
            ((path, ref),) = files.items()
            contents: tuple[tuple[str, str, bool], ...] = ((path, ref.oid, ref.link),)
        else:
            contents = tuple(sorted((path, ref.oid, ref.link) for path, ref in files.items()))
        key = (group.key, contents)
        found = self.loaded.get(key)
        if found is None:
            found = self.loaded[key] = group._load(self)
            if len(self.loaded) > _LOADED_GROUPS:
                self.loaded.popitem(last=False)
        else:
            self.loaded.move_to_end(key)
        return found


class _Group:
    """The files of one group (see `_group_key`): loaded once, then shared by every state holding them.

    Records load on their own, with stand-ins for the settings and project files, so that one
    changed task reloads that task alone; a project is then assembled from its parts.
    """

    __slots__ = ("comment_of", "files", "is_record", "key", "loaded", "project_id")

    def __init__(self, key: str, files: dict[str, BlobRef]) -> None:
        self.key = key
        self.files = files
        self.loaded: _Loaded | None = None
        parts = key.split("/")
        self.project_id: str | None = parts[1] if key else None
        self.is_record = len(parts) >= 4
        # The task whose comment this group holds (None for any other group).
        self.comment_of: str | None = parts[3] if len(parts) == 6 and parts[4] == "comments" else None

    def load(self, ctx: _Context) -> _Loaded:
        if self.loaded is None:
            self.loaded = ctx.shared_load(self)
        return self.loaded

    def _contents(self, ctx: _Context) -> tuple[dict[str, bytes], frozenset[str]]:
        regular = {p: ref for p, ref in self.files.items() if _loader_reads(p)}
        blobs = ctx.store.get_many(ref.oid for ref in regular.values() if not ref.link)
        files = {p: blobs[ref.oid] for p, ref in regular.items() if not ref.link}
        links = frozenset(p for p, ref in regular.items() if ref.link)
        return files, links

    def _load(self, ctx: _Context) -> _Loaded:
        if _DIRECT_RECORDS and self.is_record and len(self.files) == 1:
            # Most groups: one record's file, read by itself (the maps of `_contents` are for trees).
            ((rel, ref),) = self.files.items()
            if not ref.link and _loader_reads(rel):
                record = load_record(ctx.root, rel, ctx.store.get(ref.oid), ctx.cache)
                if record is not None:
                    return self._from_record(record)
        files, links = self._contents(ctx)
        out = _Loaded()
        project_id = self.project_id
        stand_ins: dict[str, bytes] = {WORKSPACE_FILE: _STAND_IN_SETTINGS}
        if project_id is None:
            result = load_tree(MemoryTree(files, links), ctx.root, ctx.cache)
            ws = result.workspace
            if ws is not None:
                out.settings = ws.settings
                out.records[WORKSPACE_FILE] = ws.settings
            else:
                # The settings are unreadable (or absent): people and teams still load.
                ws = load_tree(MemoryTree({**files, **stand_ins}, links), ctx.root, ctx.cache).workspace
            if ws is not None:
                out.people, out.teams = ws.people, ws.teams
                for person in ws.people.values():
                    out.records[person.loc.path] = person
                    for address in person.emails:
                        out.emails.setdefault(normalize_email(address), person.id)
                for team in ws.teams.values():
                    out.records[team.loc.path] = team
        else:
            if self.is_record:
                stand_ins[f"projects/{project_id}/project.yaml"] = _STAND_IN_PROJECT
            task = self.comment_of
            if task is not None:
                # A comment loads under a stand-in of its task; the project's assembly puts it in the real one.
                stand_ins[f"projects/{project_id}/tasks/{task}.md"] = _STAND_IN_TASK
            result = load_tree(MemoryTree({**files, **stand_ins}, links), ctx.root, ctx.cache)
            project = result.workspace.projects.get(project_id) if result.workspace is not None else None
            if project is not None:
                if self.is_record:
                    out.part = _Part.of(project, task is not None)
                else:
                    out.project = project
                _index_project(out, project, result.docs, self.files)
        for path, doc in result.docs.items():
            if path in self.files:
                out.data[path] = doc.data
        for finding in result.findings:
            if finding.loc.path not in stand_ins or not project_id:
                out.findings.setdefault(finding.loc.path, []).append(finding)
        return out

    def _from_record(self, record: RecordLoad) -> _Loaded:
        """What loading this one-record group as a tree gives (see `load_record`)."""
        out = _Loaded()
        entities: Any = record.entities
        if record.kind == "comments":
            assert record.task is not None
            out.part = _Part(comments={record.task: entities})
        elif record.kind != "time":
            # The record folder names the part's field: tasks, changes, meetings, feedback.
            out.part = _Part(**{record.kind: entities})
        else:
            placed, lines = _placed_entries(record)
            out.part = _Part(time_entries=tuple(entry for entry, _ in placed))
            if placed and record.doc is not None:
                out.lines[record.doc.path] = lines
        if record.doc is not None:
            out.data[record.doc.path] = record.doc.data
        if record.kind != "time":
            for entity in entities:
                if entity.loc.path in self.files:
                    out.records[entity.loc.path] = entity
        for finding in record.findings:
            out.findings.setdefault(finding.loc.path, []).append(finding)
        return out


# A month's time entries in date order with their places, and its lines, by the month's Doc (see
# `_placed_entries`); the next version of a month usually appends one entry.
_PLACED_ENTRIES = 1_024
_placed: OrderedDict[int, tuple[Doc, RecordLoad, list[tuple[m.TimeEntry, int]], list[Line]]] = OrderedDict()


def _placed_entries(record: RecordLoad) -> tuple[list[tuple[m.TimeEntry, int]], list[Line]]:
    """A month record's entries with their places in the file, in (date, location) order, and its lines.

    A version that appends entries to the version before it (`yamllist.extends`) puts the new ones in
    place among that version's, instead of sorting and keying every entry again (which grew with the
    month at every version): the same lists, since entries are never equal in (date, location).
    """
    doc = record.doc
    entities: Any = record.entities
    before = yamllist.extends(doc) if doc is not None else None
    kept = _placed.get(id(before)) if before is not None else None
    if kept is not None and kept[0] is before:
        _, earlier, placed_before, lines_before = kept
        count = len(earlier.entities)
        if entities[:count] == earlier.entities and record.places[:count] == earlier.places:
            placed = list(placed_before)
            lines = list(lines_before)
            for entry, index in zip(entities[count:], record.places[count:], strict=True):
                at = bisect.bisect(placed, time_order(entry), key=_placed_order)
                placed.insert(at, (entry, index))
                item = doc.data[index]  # type: ignore[union-attr]
                lines.insert(at, Line(_kept_line_key(item), item, entry))
            return _keep_placed(record, placed, lines)
    placed = sorted(zip(entities, record.places, strict=True), key=_placed_order)
    items = doc.data if doc is not None else []
    lines = [Line(_kept_line_key(items[index]), items[index], entry) for entry, index in placed] if doc else []
    return _keep_placed(record, placed, lines)


def _placed_order(pair: tuple[m.TimeEntry, int]) -> tuple[dt.date, m.Loc]:
    return time_order(pair[0])


def _keep_placed(
    record: RecordLoad, placed: list[tuple[m.TimeEntry, int]], lines: list[Line]
) -> tuple[list[tuple[m.TimeEntry, int]], list[Line]]:
    if record.doc is not None:
        _placed[id(record.doc)] = (record.doc, record, placed, lines)
        if len(_placed) > _PLACED_ENTRIES:
            _placed.popitem(last=False)
    return placed, list(lines)


def _index_project(out: _Loaded, project: m.Project, docs: Mapping[str, Any], owned: Container[str]) -> None:
    """Record the group's own entities by file (never the stand-ins it was loaded with)."""
    records: list[m.Project | m.Task | m.Comment | m.ChangeRequest | m.Meeting | m.Feedback] = [
        project,
        *project.changes,
        *project.meetings,
        *project.feedback,
    ]
    for task in project.tasks:
        records.append(task)
        records += task.comments
    for record in records:
        if record.loc.path in owned:
            out.records[record.loc.path] = record
    lines: tuple[m.TimeEntry | m.Expense | m.Document, ...] = (
        *project.time_entries,
        *project.expenses,
        *project.documents,
    )
    positions: dict[str, dict[m.Loc, int]] = {}
    for entity in lines:
        path = entity.loc.path
        doc = docs.get(path)
        if doc is None:
            continue
        if path not in positions:
            positions[path] = {doc.loc((index,)): index for index in range(len(doc.data))}
        index = positions[path].get(entity.loc)
        if index is None:
            continue
        data = doc.data[index]
        out.lines.setdefault(path, []).append(Line(_kept_line_key(data), data, entity))


def _has_others(part: _Part) -> bool:
    """Whether a record group's part holds change requests, meetings or feedback."""
    return bool(part.changes or part.meetings or part.feedback)


# A key removed from a `_Layered` map's base.
_GONE: Any = object()
_ABSENT: Any = object()
# How many changed keys a `_Layered` map carries before it becomes one dict again: each state copies
# its changed keys, and making one dict copies them all, so about the square root of the map's size.
_LAYER_LIMIT = 48
_V = TypeVar("_V")


class _Layered(Mapping[str, _V]):
    """An ordered map shared by the states of a history: a base dict that nothing changes, and the
    keys changed since, which a new state copies instead of the whole map (a project's tasks were
    copied at every commit: three dicts of 1,000 entries, a fifth of the audit).

    It iterates as the dict that took the same changes in the same order would: a replaced key keeps
    its place, a new key goes last, a removed key set again goes last.
    """

    __slots__ = ("_base", "_size", "_top")

    def __init__(self, base: dict[str, _V], top: dict[str, Any] | None = None, size: int | None = None) -> None:
        self._base = base
        self._top: dict[str, Any] = top if top is not None else {}
        self._size = size if size is not None else len(base)

    def get(self, key: str, default: Any = None) -> Any:
        found = self._top.get(key, _ABSENT)
        if found is _ABSENT:
            return self._base.get(key, default)
        return default if found is _GONE else found

    def __getitem__(self, key: str) -> _V:
        found = self.get(key, _ABSENT)
        if found is _ABSENT:
            raise KeyError(key)
        return found  # type: ignore[no-any-return]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _ABSENT) is not _ABSENT

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[str]:
        base, top = self._base, self._top
        if not top:
            yield from base
            return
        for key in base:
            if top.get(key) is not _GONE:
                yield key
        for key in top:
            if key not in base:
                yield key

    def flat(self) -> dict[str, _V]:
        """The map as a new dict."""
        flat = dict(self._base)
        for key, value in self._top.items():
            # Replaced keys keep their place; new ones go last, in the order they came.
            if value is _GONE:
                del flat[key]
            else:
                flat[key] = value
        return flat

    def updated(self, steps: Iterable[tuple[str, Any]]) -> _Layered[_V]:
        """This map after these steps, in order: (key, value) sets a key, (key, `_GONE`) removes it."""
        steps = list(steps)
        if not steps:
            # Nothing changes: the map itself, which nothing changes either.
            return self
        base, size = self._base, self._size
        top = dict(self._top)
        for index, (key, value) in enumerate(steps):
            was = top.get(key, _ABSENT)
            if value is _GONE:
                if was is _ABSENT:
                    if key in base:
                        top[key] = _GONE
                        size -= 1
                elif was is not _GONE:
                    if key in base:
                        top[key] = _GONE
                    else:
                        del top[key]
                    size -= 1
            elif was is _GONE:
                # A removed key of the base set again goes last, which a changed key cannot say.
                flat = _Layered(base, top, size).flat()
                for later_key, later_value in steps[index:]:
                    if later_value is _GONE:
                        flat.pop(later_key, None)
                    else:
                        flat[later_key] = later_value
                return _Layered(flat)
            else:
                if was is _ABSENT and key not in base:
                    size += 1
                top[key] = value
        if len(top) > _LAYER_LIMIT:
            return _Layered(_Layered(base, top, size).flat())
        return _Layered(base, top, size)


# The fields of a project that an assembled project puts together when first read.
_ASSEMBLED_FIELDS = ("tasks", "changes", "meetings", "time_entries", "feedback")
_PROJECT_FIELDS = tuple(f.name for f in dataclasses.fields(m.Project))
_KEPT_FIELDS = tuple(name for name in _PROJECT_FIELDS if name not in _ASSEMBLED_FIELDS)


def _plain_project(values: dict[str, Any]) -> m.Project:
    made = object.__new__(m.Project)
    made.__dict__.update(values)
    return made


class _AssembledProject(m.Project):
    """A project of a history state whose tasks, change requests, meetings, time entries and feedback
    are put together from its assembly when first read.

    Most states are only asked for a few tasks by id (`task_index`, handed over from the assembly):
    building the tuples of every task and entry at every commit was most of a project's assembly.
    It equals, hashes and pickles as the plain project with the same fields.
    """

    @classmethod
    def of(cls, assembly: _Assembly) -> _AssembledProject:
        made = object.__new__(cls)
        values = assembly.base.__dict__
        made.__dict__.update({name: values[name] for name in _KEPT_FIELDS})
        # Not the assembly itself, which holds this project: a cycle would wait for the collector.
        made.__dict__["_lists"] = assembly.lists
        # `tasks` is the project's task index (`Project.task_index`): handed over instead of being
        # built again for every state.
        made.__dict__["task_index"] = assembly.tasks
        return made

    @cached_property
    def tasks(self) -> tuple[m.Task, ...]:
        return tuple(self.task_index.values())

    @cached_property
    def time_entries(self) -> tuple[m.TimeEntry, ...]:
        return self._parts.entries()

    @cached_property
    def changes(self) -> tuple[m.ChangeRequest, ...]:
        return self._parts.sorted_others()[0]

    @cached_property
    def meetings(self) -> tuple[m.Meeting, ...]:
        return self._parts.sorted_others()[1]

    @cached_property
    def feedback(self) -> tuple[m.Feedback, ...]:
        return self._parts.sorted_others()[2]

    @property
    def _parts(self) -> _Lists:
        return self.__dict__["_lists"]  # type: ignore[no-any-return]

    def plain(self) -> m.Project:
        """The same project as a plain `m.Project`."""
        return _plain_project({name: getattr(self, name) for name in _PROJECT_FIELDS})

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _AssembledProject):
            other = other.plain()
        if isinstance(other, m.Project):
            return self.plain() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.plain())

    def __repr__(self) -> str:
        return repr(self.plain())

    def __reduce__(self) -> tuple[Any, ...]:
        return (_plain_project, (self.plain().__dict__,))


class _Lists:
    """A project's time entries, change requests, meetings and feedback by record group, and each
    list in order once asked for: shared by the assemblies of states whose commits change none of
    those groups (each list is sorted once, not per commit)."""

    __slots__ = ("entries_made", "others", "others_made", "time")

    def __init__(self, time: dict[str, tuple[m.TimeEntry, ...]], others: dict[str, _Part]) -> None:
        self.time = time
        self.others = others
        self.entries_made: tuple[m.TimeEntry, ...] | None = None
        self.others_made: tuple[tuple[m.ChangeRequest, ...], tuple[m.Meeting, ...], tuple[m.Feedback, ...]] | None = (
            None
        )

    def entries(self) -> tuple[m.TimeEntry, ...]:
        """The project's time entries, in (date, place) order."""
        if self.entries_made is None:
            entries: list[m.TimeEntry] = []
            in_order = True
            for key in sorted(self.time):
                group_entries = self.time[key]
                if entries and (entries[-1].date, entries[-1].loc) > (group_entries[0].date, group_entries[0].loc):
                    in_order = False
                entries += group_entries
            if not in_order:
                entries.sort(key=time_order)
            self.entries_made = tuple(entries)
        return self.entries_made

    def sorted_others(self) -> tuple[tuple[m.ChangeRequest, ...], tuple[m.Meeting, ...], tuple[m.Feedback, ...]]:
        """The project's change requests, meetings and feedback, each in order."""
        if self.others_made is None:
            parts = list(self.others.values())
            self.others_made = (
                tuple(sorted((c for part in parts for c in part.changes), key=change_order)),
                tuple(sorted((x for part in parts for x in part.meetings), key=dated_order)),
                tuple(sorted((x for part in parts for x in part.feedback), key=dated_order)),
            )
        return self.others_made


@dataclass
class _Assembly:
    """A project put together from its parts, kept so that a commit's changed parts update it.

    Rebuilding a project from every one of its record groups at every commit made long histories
    quadratic; a commit changes a few groups, and `updated` replaces only their contributions, in
    maps that share what they did not change with the state before (`_Layered`). Both ways give the
    same project: tasks by number, comments by (date, id), time by (date, place).
    """

    base: m.Project
    # Tasks as their own files load them (no comments), in number order.
    raw: _Layered[m.Task]
    # Task id -> comment group key -> the comments that group holds for it.
    comments: _Layered[dict[str, tuple[m.Comment, ...]]]
    # Tasks with their comments, in the order of `raw`.
    tasks: _Layered[m.Task]
    # Time entries, change requests, meetings and feedback by record group.
    lists: _Lists
    # The number of the last task in `raw` (or higher, after the last one went).
    last: int = 0
    _project: m.Project | None = None
    # The rules over this project alone, with the settings group they were built with (`Snapshot.policy_for`).
    policy: tuple[_Loaded, Policy] | None = None

    @classmethod
    def full(cls, base: m.Project, groups: Iterable[_Group], ctx: _Context) -> _Assembly:
        raw: list[m.Task] = []
        comments: dict[str, dict[str, tuple[m.Comment, ...]]] = {}
        time: dict[str, tuple[m.TimeEntry, ...]] = {}
        others: dict[str, _Part] = {}
        for group in groups:
            part = group.load(ctx).part
            if part is None:
                continue
            if group.comment_of is not None:
                for task_id, task_comments in part.comments.items():
                    comments.setdefault(task_id, {})[group.key] = task_comments
                continue
            raw += part.tasks
            if part.time_entries:
                time[group.key] = part.time_entries
            if _has_others(part):
                others[group.key] = part
        made = cls(base, _Layered({}), _Layered(comments), _Layered({}), _Lists(time, others))
        made.put_in_order(raw)
        return made

    def put_in_order(self, raw: Iterable[m.Task]) -> None:
        """Take these tasks as the project's, ordered as the loader orders them, each with its comments."""
        ordered = {task.id: task for task in sorted(raw, key=task_order)}
        self.raw = _Layered(ordered)
        self.tasks = _Layered({tid: self.with_comments(task) for tid, task in ordered.items()})
        self.last = next(reversed(ordered.values())).number if ordered else 0

    def with_comments(self, task: m.Task) -> m.Task:
        per_group = self.comments.get(task.id)
        if per_group is None:
            return task
        merged = [comment for group_comments in per_group.values() for comment in group_comments]
        return m.replaced(task, comments=tuple(sorted(merged, key=comment_order)))

    def updated(
        self, changes: Sequence[tuple[_Group | None, _Group | None]], ctx: _Context, base: m.Project
    ) -> _Assembly | None:
        """This project on `base` (its project group's load) with the parts of these (old, new) record
        groups swapped; None: rebuild it in full.

        Records load with a stand-in project file, so a new `base` (project.yaml, expenses, documents)
        changes nothing of the parts.
        """
        # Steps on the task and comment maps, in the order a dict would take them; the time and
        # other maps (a few groups each) are copied when this commit first changes them.
        raw_steps: list[tuple[str, Any]] = []
        comment_steps: dict[str, dict[str, tuple[m.Comment, ...]]] = {}
        time, others = self.lists.time, self.lists.others
        # Whether a task this commit has set or removed so far is there.
        present: dict[str, bool] = {}
        dirty: set[str] = set()
        added: list[m.Task] = []
        time_changed = others_changed = False
        for old_group, new_group in changes:
            group = new_group if new_group is not None else old_group
            if group is None:
                continue
            key = group.key
            old_part = old_group.load(ctx).part if old_group is not None else None
            new_part = new_group.load(ctx).part if new_group is not None else None
            if group.comment_of is not None:
                for part, keep in ((old_part, False), (new_part, True)):
                    for task_id, task_comments in part.comments.items() if part is not None else ():
                        per_group = comment_steps.get(task_id)
                        if per_group is None:
                            per_group = comment_steps[task_id] = dict(self.comments.get(task_id, {}))
                        if keep:
                            per_group[key] = task_comments
                        else:
                            per_group.pop(key, None)
                        dirty.add(task_id)
                continue
            new_tasks = {task.id: task for task in new_part.tasks} if new_part is not None else {}
            if time is self.lists.time and (key in time or (new_part is not None and new_part.time_entries)):
                time = dict(time)
            if others is self.lists.others and (key in others or (new_part is not None and _has_others(new_part))):
                others = dict(others)
            for task in old_part.tasks if old_part is not None else ():
                dirty.add(task.id)
                if task.id not in new_tasks and present.get(task.id, task.id in self.raw):
                    raw_steps.append((task.id, _GONE))
                    present[task.id] = False
            time_changed |= time.pop(key, None) is not None
            others_changed |= others.pop(key, None) is not None
            if new_part is None:
                continue
            for tid, task in new_tasks.items():
                if not present.get(tid, tid in self.raw):
                    added.append(task)
                raw_steps.append((tid, task))
                present[tid] = True
                dirty.add(tid)
            if new_part.time_entries:
                time[key] = new_part.time_entries
                time_changed = True
            if _has_others(new_part):
                others[key] = new_part
                others_changed = True
        # New tasks usually come after every other one; anything else is left to a full build, which
        # orders tasks (and ties between equal numbers) exactly as the loader does.
        last = self.last
        for task in sorted(added, key=task_order):
            if task.number <= last:
                return None
            last = task.number
        # A task none of whose comment groups is left has no comments entry, as after a full build.
        comments = self.comments.updated(
            (tid, per_group if per_group else _GONE) for tid, per_group in comment_steps.items()
        )
        raw = self.raw.updated(raw_steps)
        lists = self.lists
        if time_changed or others_changed:
            lists = _Lists(time, others)
            lists.entries_made = None if time_changed else self.lists.entries_made
            lists.others_made = None if others_changed else self.lists.others_made
        made = _Assembly(base, raw, comments, self.tasks, lists, last)
        if len(added) > 1:
            # Several new tasks went in in the order of their files: let the sort put them in place.
            made.put_in_order(raw.values())
            return made
        # The tasks take the same steps as the raw ones, so both keep one order; tasks whose
        # comments alone changed are replaced where they are.
        steps: list[tuple[str, Any]] = [
            (tid, _GONE if task is _GONE else made.with_comments(task)) for tid, task in raw_steps
        ]
        stepped = {tid for tid, _ in raw_steps}
        for tid in dirty - stepped:
            task = raw.get(tid)
            if task is not None:
                steps.append((tid, made.with_comments(task)))
        made.tasks = self.tasks.updated(steps) if steps else self.tasks
        return made

    def project(self) -> m.Project:
        if self._project is None:
            self._project = _AssembledProject.of(self)
        return self._project


# Shards of a group map: rows of `_ROW` shards, so that a change copies one row of shard references
# and one shard, not a list of every shard (which was 40 % of the map's updates at 10,000 tasks).
_ROW_BITS = 5
_ROW = 1 << _ROW_BITS
_SHARDS = _ROW * _ROW


@lru_cache(maxsize=1 << 17)
def _shard(key: str) -> int:
    # A fixed hash (not `hash`, which changes per process) keeps iteration order the same on every run.
    return zlib.crc32(key.encode()) & (_SHARDS - 1)


class _GroupMap:
    """Group key -> group, split into shards so that a commit copies only the shards it changes.

    Copying one dict of every group per commit was linear in the workspace, so quadratic over a
    long history. Shards are held in rows (`_ROW_BITS`); iteration goes shard by shard in order.
    """

    __slots__ = ("rows",)

    def __init__(self, rows: list[list[dict[str, _Group]]]) -> None:
        self.rows = rows

    @classmethod
    def of(cls, groups: Mapping[str, _Group]) -> _GroupMap:
        rows: list[list[dict[str, _Group]]] = [[{} for _ in range(_ROW)] for _ in range(_ROW)]
        for key, group in groups.items():
            index = _shard(key)
            rows[index >> _ROW_BITS][index & (_ROW - 1)][key] = group
        return cls(rows)

    def get(self, key: str) -> _Group | None:
        index = _shard(key)
        return self.rows[index >> _ROW_BITS][index & (_ROW - 1)].get(key)

    def __getitem__(self, key: str) -> _Group:
        index = _shard(key)
        return self.rows[index >> _ROW_BITS][index & (_ROW - 1)][key]

    def __iter__(self) -> Iterator[str]:
        for row in self.rows:
            for shard in row:
                yield from shard

    def values(self) -> Iterator[_Group]:
        for row in self.rows:
            for shard in row:
                yield from shard.values()

    def updated(self, changes: Mapping[str, _Group | None]) -> _GroupMap:
        """A new map with these groups replaced (None removes one); untouched rows and shards are shared."""
        rows = list(self.rows)
        copied_rows: set[int] = set()
        copied: set[int] = set()
        for key, group in changes.items():
            index = _shard(key)
            row_index = index >> _ROW_BITS
            if row_index not in copied_rows:
                rows[row_index] = list(rows[row_index])
                copied_rows.add(row_index)
            row = rows[row_index]
            column = index & (_ROW - 1)
            if index not in copied:
                row[column] = dict(row[column])
                copied.add(index)
            if group is None:
                row[column].pop(key, None)
            else:
                row[column][key] = group
        return _GroupMap(rows)


_EMPTY_GROUPS = _GroupMap.of({})


class Snapshot:
    """The workspace's data files at one point of the history, loaded on demand (and cached)."""

    __slots__ = (
        "_assemblies",
        "_ctx",
        "_groups",
        "_pending",
        "_policy",
        "_project_keys",
        "_projects",
        "_records",
        "_scoped",
        "_ws",
        "_ws_done",
    )

    def __init__(
        self,
        ctx: _Context,
        groups: Mapping[str, _Group] | _GroupMap,
        projects: Mapping[str, m.Project | None] | None = None,
    ) -> None:
        self._ctx = ctx
        self._groups = groups if isinstance(groups, _GroupMap) else _GroupMap.of(groups)
        self._ws: m.Workspace | None = None
        self._ws_done = False
        self._policy: Policy | None = None
        # Assembled projects, some inherited from the state this one was derived from.
        self._projects: dict[str, m.Project | None] = dict(projects or {})
        # Record groups by project, derived from the parent's index when there is one.
        self._records: dict[str, _GroupMap] | None = None
        # Keys of the project groups, sorted; inherited while no commit adds or removes a project file.
        self._project_keys: tuple[str, ...] | None = None
        # Policies over this state reduced to one project (see `policy_for`).
        self._scoped: dict[str, Policy] = {}
        # How each assembled project was put together, and for projects this state changed, the
        # parent's assembly with the (old, new) groups to swap in it (see `_Assembly.updated`).
        self._assemblies: dict[str, _Assembly] = {}
        self._pending: dict[str, tuple[_Assembly, list[tuple[_Group | None, _Group | None]]]] = {}

    def _record_groups(self) -> dict[str, _GroupMap]:
        if self._records is None:
            found: dict[str, dict[str, _Group]] = {}
            for group in self._groups.values():
                project_id = group.project_id
                if project_id is not None and group.is_record:
                    found.setdefault(project_id, {})[group.key] = group
            self._records = {project_id: _GroupMap.of(groups) for project_id, groups in found.items()}
        return self._records

    @classmethod
    def of_files(cls, ctx: _Context, files: Mapping[str, BlobRef]) -> Snapshot:
        groups: dict[str, dict[str, BlobRef]] = {"": {}}
        for path, ref in files.items():
            groups.setdefault(_group_key(path), {})[path] = ref
        return cls(ctx, {key: _Group(key, value) for key, value in groups.items()})

    @classmethod
    def of_contents(cls, root: Path, files: Mapping[str, bytes]) -> Snapshot:
        """A state from file contents (no Git needed): for tests, and to judge a change before it is committed."""
        store = BlobStore(None)
        refs: dict[str, BlobRef] = {}
        for path, data in files.items():
            oid = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
            store.put(oid, data)
            refs[path] = BlobRef(oid)
        return cls.of_files(_Context(root, store, BoundedParseCache()), refs)

    def with_contents(self, files: Mapping[str, bytes | None]) -> Snapshot:
        """This state with some files replaced by these contents (None removes one)."""
        edits: dict[str, BlobRef | None] = {}
        for path, data in files.items():
            if data is None:
                edits[path] = None
                continue
            oid = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
            self._ctx.store.put(oid, data)
            edits[path] = BlobRef(oid)
        return self.apply(edits)

    def get(self, path: str) -> BlobRef | None:
        """The content at `path`, or None when there is no such file."""
        group = self._groups.get(_group_key(path))
        return group.files.get(path) if group is not None else None

    def apply(self, edits: Mapping[str, BlobRef | None]) -> Snapshot:
        """A new state with these files replaced (None removes one); unchanged parts are shared."""
        if not edits:
            return self
        touched: dict[str, dict[str, BlobRef | None]] = {}
        for path, ref in edits.items():
            touched.setdefault(_group_key(path), {})[path] = ref
        replaced: dict[str, _Group | None] = {}
        for key, changes in touched.items():
            old = self._groups.get(key)
            files = dict(old.files) if old is not None else {}
            for path, ref in changes.items():
                if ref is None:
                    files.pop(path, None)
                else:
                    files[path] = ref
            replaced[key] = _Group(key, files) if files or not key else None
        groups = self._groups.updated(replaced)
        changed_projects = {key.split("/")[1] for key in touched if key}
        kept = {pid: project for pid, project in self._projects.items() if pid not in changed_projects}
        child = Snapshot(self._ctx, groups, kept)
        child._assemblies = {pid: made for pid, made in self._assemblies.items() if pid not in changed_projects}
        # Swaps not yet applied carry on (a state derived from one never asked for its project, as the
        # audit's candidate states are): the project is assembled once, when first asked for.
        child._pending = {pid: waiting for pid, waiting in self._pending.items() if pid not in changed_projects}
        for project_id in changed_projects:
            prefix = f"projects/{project_id}/"
            swaps = [(self._groups.get(key), replaced[key]) for key in touched if key.startswith(prefix)]
            assembly = self._assemblies.get(project_id)
            waiting = self._pending.get(project_id)
            if assembly is not None:
                child._pending[project_id] = (assembly, swaps)
            elif waiting is not None and len(waiting[1]) < _PENDING_SWAPS:
                child._pending[project_id] = (waiting[0], [*waiting[1], *swaps])
        if self._project_keys is not None and not any(key.count("/") == 1 for key in touched):
            child._project_keys = self._project_keys
        if self._records is not None:
            # The index of record groups follows the edits instead of being rebuilt from every group
            # (sharded too: a project's records are thousands of groups).
            records = dict(self._records)
            for project_id in changed_projects:
                prefix = f"projects/{project_id}/"
                mine = {key: replaced[key] for key in touched if key.startswith(prefix) and key.count("/") >= 3}
                if mine:
                    records[project_id] = records.get(project_id, _EMPTY_GROUPS).updated(mine)
            child._records = records
        return child

    def _loaded(self, path: str) -> _Loaded | None:
        group = self._groups.get(_group_key(path))
        return group.load(self._ctx) if group is not None else None

    def has_settings(self) -> bool:
        """Whether `worktrail.yaml` is present and readable: `workspace()` is not None (without assembling it)."""
        return self._groups[""].load(self._ctx).settings is not None

    def workspace(self) -> m.Workspace | None:
        """The workspace model of this state; None when `worktrail.yaml` is absent or unreadable."""
        if not self._ws_done:
            self._ws_done = True
            top = self._groups[""].load(self._ctx)
            if top.settings is not None:
                projects: dict[str, m.Project] = {}
                if self._project_keys is None:
                    # Sorting every group per state is quadratic over a long history: done once, then inherited.
                    self._project_keys = tuple(sorted(key for key in self._groups if key.count("/") == 1))
                for key in self._project_keys:
                    project = self.project(key.split("/")[1])
                    if project is not None:
                        projects[project.id] = project
                self._ws = m.Workspace(
                    root=str(self._ctx.root),
                    settings=top.settings,
                    people=top.people,
                    teams=top.teams,
                    projects=projects,
                )
        return self._ws

    def project(self, project_id: str | None) -> m.Project | None:
        """A project of this state, with all its records (None when its project.yaml is absent or unreadable)."""
        if project_id is None:
            return None
        if project_id not in self._projects:
            assembly: _Assembly | None = None
            base = self._groups.get(f"projects/{project_id}")
            base_project = base.load(self._ctx).project if base is not None else None
            pending = self._pending.pop(project_id, None)
            if pending is not None and base_project is not None:
                assembly = pending[0].updated(pending[1], self._ctx, base_project)
            if assembly is None and base_project is not None:
                groups = self._record_groups().get(project_id, _EMPTY_GROUPS).values()
                assembly = _Assembly.full(base_project, groups, self._ctx)
            if assembly is not None:
                self._assemblies[project_id] = assembly
            self._projects[project_id] = assembly.project() if assembly is not None else None
        return self._projects[project_id]

    def policy(self) -> Policy | None:
        """The rules as they stand in this state (None without a workspace)."""
        if self._policy is None:
            ws = self.workspace()
            if ws is not None:
                self._policy = Policy(ws)
        return self._policy

    def policy_for(self, project_id: str | None) -> Policy | None:
        """The rules of this state for questions about one project's records (None: the whole workspace).

        Visibility and write rules for a project's records depend only on that project, the
        settings, people and teams; a policy over just those is built in a fraction of the time
        (building one over every project, once per commit, made long histories quadratic).
        """
        if project_id is None:
            return self.policy()
        scoped = self._scoped.get(project_id)
        if scoped is None:
            if self._policy is not None:
                return self._policy
            top = self._groups[""].load(self._ctx)
            if top.settings is None:
                return None
            project = self.project(project_id)
            # States that share this project's assembly and the settings group share its rules too.
            assembly = self._assemblies.get(project_id)
            if assembly is not None and assembly.policy is not None and assembly.policy[0] is top:
                self._scoped[project_id] = assembly.policy[1]
                return assembly.policy[1]
            scoped = Policy(
                m.Workspace(
                    root=str(self._ctx.root),
                    settings=top.settings,
                    people=top.people,
                    teams=top.teams,
                    projects={project_id: project} if project is not None else {},
                ),
                like=self._ctx.last_policy,
            )
            self._ctx.last_policy = scoped
            self._scoped[project_id] = scoped
            if assembly is not None:
                assembly.policy = (top, scoped)
        return scoped

    def people(self) -> dict[str, m.Person]:
        """The people of this state (read even when the settings file is unreadable)."""
        return self._groups[""].load(self._ctx).people

    def person_for_email(self, email: str) -> str | None:
        """The person whose `emails` hold this address (trimmed, case-insensitive), or None."""
        return self._groups[""].load(self._ctx).emails.get(normalize_email(email))

    def record(self, path: str) -> object | None:
        """The model object the file at `path` holds (None when absent or unreadable)."""
        loaded = self._loaded(path)
        return loaded.records.get(path) if loaded is not None else None

    def data(self, path: str) -> Any:
        """The parsed YAML (front matter) of a file, even when it fails its schema; None if unparsable."""
        loaded = self._loaded(path)
        return loaded.data.get(path) if loaded is not None else None

    def lines(self, path: str) -> list[Line]:
        """The loaded items of a list file (time, expenses, documents index)."""
        loaded = self._loaded(path)
        return loaded.lines.get(path, []) if loaded is not None else []

    def problems(self, path: str) -> list[Finding]:
        """What the loader found wrong with the file at `path` in this state."""
        loaded = self._loaded(path)
        return loaded.findings.get(path, []) if loaded is not None else []


def normalize_email(email: str) -> str:
    """The form in which author emails and people's `emails` are compared (the rule of `identity`)."""
    return identity.normalize_email(email)


# ---------------------------------------------------------------------------------------- graph


class CommitGraph:
    """The commits of one log with their order, merge bases, and how often each state is needed."""

    def __init__(self, commits: Sequence[Commit], repo: Repository | None) -> None:
        self.commits = list(commits)
        self.repo = repo
        self.by_id = {c.id: c for c in self.commits}
        self.rank = {c.id: i for i, c in enumerate(self.commits)}
        self.bases: dict[tuple[str, str], tuple[str, ...]] = {}
        self.uses: Counter[str] = Counter()
        for commit in self.commits:
            for parent in commit.parents:
                self.uses[parent] += 1
            for side in commit.parents[1:]:
                bases = self.merge_bases(commit.parents[0], side)
                self.bases[(commit.id, side)] = bases
                for base in bases:
                    self.uses[base] += 1

    def merge_bases(self, a: str, b: str) -> tuple[str, ...]:
        """Best common ancestors of two commits (git's paint-down walk over the log's graph)."""
        if a == b:
            return (a,)
        one, two, stale = 1, 2, 4
        flags: dict[str, int] = {a: one, b: two}
        heap = [(-self.rank.get(a, -1), a), (-self.rank.get(b, -1), b)]
        heapq.heapify(heap)
        found: list[str] = []
        incomplete = False
        while heap and not all(flags[c] & stale for _, c in heap):
            _, oid = heapq.heappop(heap)
            mark = flags[oid]
            if mark & (one | two) == (one | two):
                if not mark & stale and oid not in found:
                    found.append(oid)
                mark |= stale
                flags[oid] = mark
            commit = self.by_id.get(oid)
            if commit is None:
                # Outside the log (before a range's base): its ancestry is unknown here.
                incomplete = incomplete or mark & (one | two) != (one | two)
                continue
            for parent in commit.parents:
                new = flags.get(parent, 0) | mark
                if new != flags.get(parent, 0):
                    flags[parent] = new
                    heapq.heappush(heap, (-self.rank.get(parent, -1), parent))
        if not found and incomplete and self.repo is not None:
            out = self.repo.run(["merge-base", "--all", "--end-of-options", a, b], ok_codes=(0, 1))
            return tuple(line for line in _text(out).split() if is_oid(line))
        return tuple(found)


class Keeper:
    """States of commits kept exactly as long as a later commit of the graph still needs them."""

    def __init__(self, graph: CommitGraph) -> None:
        self.graph = graph
        self.uses = Counter(graph.uses)
        self.values: dict[str, Any] = {}

    def put(self, oid: str, value: Any) -> None:
        if self.uses[oid] > 0:
            self.values[oid] = value

    def get(self, oid: str) -> Any:
        return self.values.get(oid)

    def done(self, oid: str) -> None:
        self.uses[oid] -= 1
        if self.uses[oid] <= 0:
            self.values.pop(oid, None)

    def release(self, commit: Commit) -> None:
        """`commit` is done (walked, or passed over): its parents and merge bases are needed once less."""
        for parent in commit.parents:
            self.done(parent)
        for parent in commit.parents[1:]:
            for base in self.graph.bases.get((commit.id, parent), ()):
                self.done(base)


# ---------------------------------------------------------------------------------------- source


class HistorySource:
    """An opened history: the repository, the commits of a range, and the shared blob and parse caches.

    Without Git (no program, not a repository, no commits) `commits` is empty and `warnings` says why.
    """

    def __init__(
        self,
        workspace: Path,
        revision: RevRange | None = None,
        allowed_signers: Path | None = None,
        after: tuple[str, Sequence[str]] | None = None,
    ) -> None:
        """The history of `revision` (default: HEAD), its commits read with their changes.

        `after`: a HEAD whose history was read before and the commits that read kept, oldest first.
        When HEAD's history is that one plus a chain of new commits (no merge anywhere), only the new
        commits are read (`commits`); the earlier ones are `passed`, by id, not read at all. Otherwise
        every commit is read, as without it.
        """
        self.workspace = workspace.resolve()
        self.warnings: list[str] = []
        self.repo: Repository | None = None
        self.commits: list[Commit] = []
        # The commits before `after`'s HEAD, not read (ids, oldest first): their results are kept elsewhere.
        self.passed: list[str] = []
        self.base: str | None = None
        self.tip: str | None = None
        self._reader: BlobReader | None = None
        self._outside: dict[str, Snapshot] = {}
        try:
            self.repo = find_repository(self.workspace)
        except GitUnavailable as exc:
            self.warnings.append(f"no history: {exc}")
        store_reader = None
        if self.repo is not None:
            self._reader = store_reader = BlobReader(self.repo, MAX_FILE_BYTES + 1)
        self.context = _Context(self.workspace, BlobStore(store_reader), BoundedParseCache())
        self.empty = Snapshot.of_files(self.context, {})
        if self.repo is not None:
            self._read(revision or RevRange(None, "HEAD"), allowed_signers, after if revision is None else None)
        self.graph = CommitGraph(self.commits, self.repo)

    def _read(self, revision: RevRange, allowed_signers: Path | None, after: tuple[str, Sequence[str]] | None) -> None:
        repo = self.repo
        assert repo is not None
        if repo.shallow:
            self.warnings.append(
                "the repository is a shallow clone: history before its first fetched commit is missing "
                "(fetch the whole history, e.g. fetch-depth: 0)"
            )
        tip = repo.resolve(revision.tip)
        if tip is None:
            if revision.tip == "HEAD" and revision.base is None:
                self.warnings.append("no history: the repository has no commits yet")
                return
            raise RevisionError(f"{revision.tip!r} names no commit")
        base = None
        if revision.base is not None:
            base = repo.resolve(revision.base)
            if base is None:
                raise RevisionError(f"{revision.base!r} names no commit")
        if revision.symmetric:
            raise RevisionError("a symmetric range (A...B) has no single base; use A..B")
        self.tip, self.base = tip, base
        if after is not None and base is None and allowed_signers is None:
            later = _read_after(repo, tip, *after)
            if later is not None:
                self.passed, self.commits = list(after[1]), later
                return
        self.commits = read_log(repo, RevRange(base, tip), allowed_signers)

    def for_another_process(self) -> HistorySource:
        """This source for a forked worker: the same log and graph, its own `git cat-file` and caches.

        A forked process must not talk to its parent's `git cat-file`: both would read its answers.
        """
        twin = object.__new__(HistorySource)
        twin.workspace = self.workspace
        twin.warnings = list(self.warnings)
        twin.repo = self.repo
        twin.commits = self.commits
        twin.passed = self.passed
        twin.base, twin.tip = self.base, self.tip
        twin._outside = {}
        twin._reader = BlobReader(self.repo, MAX_FILE_BYTES + 1) if self.repo is not None else None
        twin.context = _Context(self.workspace, BlobStore(twin._reader), BoundedParseCache())
        twin.empty = Snapshot.of_files(twin.context, {})
        twin.graph = self.graph
        return twin

    def halves(self, known: Container[str]) -> tuple[list[str], list[str]] | None:
        """The commits not in `known`, cut in two in log order for two processes; None when too few.

        The cut is where both parts should take as long: a commit costs more the later it comes (its
        projects are larger), and the process taking the later part first loads the state it starts
        from whole. Measured at 10,000 tasks, a commit at the end costs about three times one at the
        start and that first load about a tenth of the walk: cut evenly, the later part took 64 % of
        the work.
        """
        total = len(self.commits)
        todo = [(index, commit.id) for index, commit in enumerate(self.commits) if commit.id not in known]
        if len(todo) < max(_PARALLEL_LEAST, 2):
            return None
        weights = [1 + _LATE_COST * index / total for index, _ in todo]
        # The earlier part's share: half of all the work plus the later part's first load.
        share = sum(weights) * (1 + _FIRST_LOAD) / 2
        cut, done = 0, 0.0
        while cut < len(todo) - 1 and done + weights[cut] <= share:
            done += weights[cut]
            cut += 1
        ids = [oid for _, oid in todo]
        return ids[:cut], ids[cut:]

    def owner_halves(self, known: Container[str]) -> tuple[frozenset[str], frozenset[str]] | None:
        """The owners (`path_owner`) of the changes of the commits not in `known`, in two sets of about
        as much work for two walks (`walk(derives=...)`), the first with "" (settings, people, teams);
        None when there are too few commits or projects, or a change moves a file between owners
        (its events read both).

        Unlike a cut of the commits, neither walk loads a state whole to start from: each walks
        every commit, and loads only the records its own events read.
        """
        weights: Counter[str] = Counter()
        todo = 0
        for commit in self.commits:
            if commit.id in known:
                continue
            todo += 1
            for change in commit.changes:
                owner = path_owner(change.path)
                if change.old_path != change.path and path_owner(change.old_path) != owner:
                    return None
                weights[owner] += 1
        projects = sorted((weight, owner) for owner, weight in weights.items() if owner)
        if todo < max(_PARALLEL_LEAST, 2) or len(projects) < 2:
            return None
        first: list[str] = [""]
        second: list[str] = []
        load = [weights[""], 0]
        # The heaviest first, each to the lighter side.
        for weight, owner in reversed(projects):
            side = 0 if load[0] <= load[1] else 1
            (first if side == 0 else second).append(owner)
            load[side] += weight
        return frozenset(first), frozenset(second)

    def outside(self, oid: str) -> Snapshot:
        """The state of a commit that is not in the log (a range's base, or an older parent)."""
        snapshot = self._outside.get(oid)
        if snapshot is None:
            files = tree_files(self.repo, oid) if self.repo is not None else {}
            snapshot = Snapshot.of_files(self.context, files)
            self._outside[oid] = snapshot
        return snapshot

    def prefetch(self, index: int, known: Container[str] = frozenset(), derives: Container[str] | None = None) -> None:
        """Read ahead, in one batch, the new file versions of the commits from `index` on (but `known` ones),
        of the owners a walk `derives` (`walk`) and of the workspace's settings, people and teams."""
        if index % _PREFETCH and self.commits[index - 1].id not in known:
            return
        oids = [
            change.new.oid
            for commit in self.commits[index : index + _PREFETCH]
            if commit.id not in known
            for change in commit.changes
            if change.new is not None
            and not change.new.link
            and _loader_reads(change.path)
            and (derives is None or path_owner(change.path) in derives or not path_owner(change.path))
        ]
        self.context.store.get_many(oids)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> HistorySource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def missing_blobs(self) -> list[str]:
        return sorted(self.context.store.missing)


# ---------------------------------------------------------------------------------------- merges


@dataclass(frozen=True)
class Side:
    """Another parent of a merge: its state and the merge bases it shares with the first parent."""

    state: Snapshot
    bases: tuple[Snapshot, ...]


def carried_from(path: str, merged: BlobRef | None, sides: Sequence[Side]) -> int | None:
    """Which other parent a merge's content of `path` comes from (index into `sides`), if any."""
    for index, side in enumerate(sides):
        theirs = side.state.get(path)
        if theirs == merged and all(base.get(path) != theirs for base in side.bases):
            return index
    return None


def own_changes(commit: Commit, sides: Sequence[Side]) -> list[FileChange]:
    """The changes a commit made itself: all of them, or for a merge those not carried over."""
    if not sides:
        return list(commit.changes)
    out: list[FileChange] = []
    for change in commit.changes:
        kept = [part for part in change.split() if carried_from(part.path, part.new, sides) is None]
        if len(kept) == 2:
            out.append(change)
        else:
            out.extend(kept)
    return out


def carried_lines(path: str, sides: Sequence[Side]) -> tuple[set[str], set[str]]:
    """Lines of a list file that a merge's other branches added, and lines they removed."""
    added: set[str] = set()
    removed: set[str] = set()
    for side in sides:
        theirs = {line.key for line in side.state.lines(path)}
        base_keys: set[str] = set()
        for base in side.bases:
            base_keys |= {line.key for line in base.lines(path)}
        added |= theirs - base_keys
        removed |= base_keys - theirs
    return added, removed


# ---------------------------------------------------------------------------------------- events

EntityKind = Literal[
    "settings",
    "person",
    "team",
    "project",
    "milestone",
    "task",
    "comment",
    "change",
    "meeting",
    "time",
    "expense",
    "document",
    "feedback",
]
EventKind = Literal["created", "changed", "deleted", "renamed", "comment-added", "decided", "signed-off", "time-logged"]


@dataclass(frozen=True)
class EntityRef:
    """Which entity an event is about. Time and expense lines have no id: `id` is '' and `task` names theirs."""

    kind: EntityKind
    id: str
    project: str | None = None
    task: str | None = None


@dataclass(frozen=True)
class Event:
    """One derived event: "status open → review, uma, 2026-03-03, commit abc…"."""

    kind: EventKind
    entity: EntityRef
    commit: str
    date: dt.datetime
    person: str | None
    author: str
    path: str
    field: str | None = None
    old: Any = None
    new: Any = None
    # `field` names the event's field here, so the dataclasses helper is spelled out.
    before: object | None = dataclasses.field(default=None, compare=False, repr=False)
    after: object | None = dataclasses.field(default=None, compare=False, repr=False)


_RECORD_KINDS: dict[str, EntityKind] = {
    "settings": "settings",
    "person": "person",
    "team": "team",
    "project": "project",
    "task": "task",
    "comment": "comment",
    "change": "change",
    "meeting": "meeting",
    "feedback": "feedback",
}
_LINE_KINDS: dict[str, EntityKind] = {"time": "time", "expenses": "expense", "documents": "document"}
# Nested fields the policy judges one by one (money vs hours): events name them with a dot.
_SPLIT_FIELDS = {("project", "budget"), ("change", "impact"), ("change", "decision")}
_DECIDED = ("approved", "rejected")


@dataclass(frozen=True)
class _Who:
    commit: Commit
    person: str | None

    def event(self, kind: EventKind, entity: EntityRef, path: str, **values: Any) -> Event:
        return Event(
            kind=kind,
            entity=entity,
            commit=self.commit.id,
            date=self.commit.author_date,
            person=self.person,
            author=self.commit.author,
            path=path,
            **values,
        )


def _ref(info: PathInfo, entity: object | None, path: str) -> EntityRef:
    kind = _RECORD_KINDS.get(info.kind) or _LINE_KINDS.get(info.kind, "settings")
    if info.kind == "settings":
        return EntityRef("settings", "settings")
    if info.kind == "project":
        return EntityRef("project", info.project or "", info.project)
    if info.kind == "comment":
        return EntityRef("comment", info.id or "", info.project, info.task)
    if info.kind == "time" and isinstance(entity, m.TimeEntry):
        return EntityRef("time", "", info.project, entity.task)
    if info.kind == "expenses" and isinstance(entity, m.Expense):
        return EntityRef("expense", "", info.project, entity.task)
    if info.kind == "documents" and isinstance(entity, m.Document):
        return EntityRef("document", entity.path, info.project)
    return EntityRef(kind, info.id or path, info.project)


def _field_changes(kind: str, old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    out: list[tuple[str, Any, Any]] = []
    for key in [*new, *(k for k in old if k not in new)]:
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if (kind, key) in _SPLIT_FIELDS and isinstance(before or {}, dict) and isinstance(after or {}, dict):
            for sub in [*(after or {}), *(k for k in (before or {}) if k not in (after or {}))]:
                sub_old, sub_new = (before or {}).get(sub), (after or {}).get(sub)
                if sub_old != sub_new:
                    out.append((f"{key}.{sub}", sub_old, sub_new))
            continue
        out.append((key, before, after))
    return out


def derive_events(
    commit: Commit,
    person: str | None,
    before: Snapshot,
    after: Snapshot,
    changes: Iterable[FileChange],
    sides: Sequence[Side] = (),
) -> list[Event]:
    """The events of a commit's own changes, comparing the loaded records before and after."""
    who = _Who(commit, person)
    events: list[Event] = []
    for change in changes:
        info = classify_path(change.path)
        if info.kind in _LINE_KINDS:
            for part in change.split():
                events += _line_events(who, info, part.path, before, after, sides)
        elif info.kind in _RECORD_KINDS:
            events += _record_events(who, info, change, before, after)
    return events


def _record_events(who: _Who, info: PathInfo, change: FileChange, before: Snapshot, after: Snapshot) -> list[Event]:
    old = before.record(change.old_path)
    new = after.record(change.path)
    path = change.path
    if old is None and new is None:
        return []
    if old is None:
        kind: EventKind = "comment-added" if info.kind == "comment" else "created"
        return [who.event(kind, _ref(info, new, path), path, after=new)]
    if new is None:
        old_info = classify_path(change.old_path)
        return [who.event("deleted", _ref(old_info, old, change.old_path), change.old_path, before=old)]
    ref = _ref(info, new, path)
    events: list[Event] = []
    if change.old_path != path:
        events.append(
            who.event("renamed", ref, path, field="path", old=change.old_path, new=path, before=old, after=new)
        )
    if isinstance(old, m.Project) and isinstance(new, m.Project):
        events += _milestone_events(who, path, old, new)
    fields = _field_changes(info.kind, before.data(change.old_path), after.data(path))
    decided = False
    if (
        isinstance(old, m.ChangeRequest)
        and isinstance(new, m.ChangeRequest)
        and new.status != old.status
        and new.status in _DECIDED
    ):
        decided = True
        events.append(
            who.event("decided", ref, path, field="status", old=old.status, new=new.status, before=old, after=new)
        )
    for name, old_value, new_value in fields:
        if info.kind == "project" and name == "milestones":
            continue
        if decided and (name == "status" or name.startswith("decision")):
            continue
        events.append(who.event("changed", ref, path, field=name, old=old_value, new=new_value, before=old, after=new))
    old_body, new_body = getattr(old, "body", None), getattr(new, "body", None)
    if old_body != new_body:
        events.append(who.event("changed", ref, path, field="body", old=old_body, new=new_body, before=old, after=new))
    return events


def _milestone_events(who: _Who, path: str, old: m.Project, new: m.Project) -> list[Event]:
    events: list[Event] = []
    old_by_id = {ms.id: ms for ms in old.milestones}
    new_by_id = {ms.id: ms for ms in new.milestones}
    for ms_id, ms in new_by_id.items():
        ref = EntityRef("milestone", ms_id, new.id)
        after = MilestoneRef(new, ms)
        previous = old_by_id.get(ms_id)
        if previous is None:
            events.append(who.event("created", ref, path, after=after))
            continue
        before = MilestoneRef(old, previous)
        if ms.status == "signed-off" and previous.status != "signed-off":
            events.append(
                who.event(
                    "signed-off",
                    ref,
                    path,
                    field="status",
                    old=previous.status,
                    new=ms.status,
                    before=before,
                    after=after,
                )
            )
        for name in ("title", "due", "criteria", "status", "signed_off_by", "signed_off_on"):
            if (
                ms.status == "signed-off"
                and previous.status != "signed-off"
                and name in ("status", "signed_off_by", "signed_off_on")
            ):
                continue
            old_value, new_value = _plain(getattr(previous, name)), _plain(getattr(ms, name))
            if old_value != new_value:
                events.append(
                    who.event(
                        "changed", ref, path, field=name, old=old_value, new=new_value, before=before, after=after
                    )
                )
    for ms_id, previous in old_by_id.items():
        if ms_id not in new_by_id:
            events.append(
                who.event("deleted", EntityRef("milestone", ms_id, old.id), path, before=MilestoneRef(old, previous))
            )
    return events


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _pair_key(entity: object) -> tuple[Any, ...]:
    # Lines that keep these values are shown as edited rather than as removed and added.
    if isinstance(entity, m.TimeEntry):
        return ("time", entity.date, entity.person, entity.task)
    if isinstance(entity, m.Expense):
        return ("expense", entity.date, entity.by, entity.description)
    if isinstance(entity, m.Document):
        return ("document", entity.path)
    return ("?", id(entity))


def _line_events(
    who: _Who, info: PathInfo, path: str, before: Snapshot, after: Snapshot, sides: Sequence[Side]
) -> list[Event]:
    old_lines = before.lines(path)
    new_lines = after.lines(path)
    carried_added, carried_removed = carried_lines(path, sides) if sides else (set(), set())
    old_count = Counter(line.key for line in old_lines)
    new_count = Counter(line.key for line in new_lines)
    added: list[Line] = []
    for line in new_lines:
        if old_count[line.key] > 0:
            old_count[line.key] -= 1
        elif line.key not in carried_added:
            added.append(line)
    removed: list[Line] = []
    for line in old_lines:
        if new_count[line.key] > 0:
            new_count[line.key] -= 1
        elif line.key not in carried_removed:
            removed.append(line)
    events: list[Event] = []
    unpaired_removed = list(removed)
    for line in added:
        partner = next((r for r in unpaired_removed if _pair_key(r.entity) == _pair_key(line.entity)), None)
        ref = _ref(info, line.entity, path)
        if partner is None:
            kind: EventKind = "time-logged" if info.kind == "time" else "created"
            events.append(who.event(kind, ref, path, after=line.entity))
            continue
        unpaired_removed.remove(partner)
        for name, old_value, new_value in _field_changes(info.kind, partner.data, line.data):
            events.append(
                who.event(
                    "changed",
                    ref,
                    path,
                    field=name,
                    old=old_value,
                    new=new_value,
                    before=partner.entity,
                    after=line.entity,
                )
            )
    for line in unpaired_removed:
        events.append(who.event("deleted", _ref(info, line.entity, path), path, before=line.entity))
    return events


# ---------------------------------------------------------------------------------------- walking


@dataclass(frozen=True)
class Step:
    """One commit of the history: the state before (first parent) and after, its own changes and events."""

    commit: Commit
    before: Snapshot
    after: Snapshot
    changes: tuple[FileChange, ...]
    person: str | None
    events: tuple[Event, ...]
    # With `walk(derives=...)`: for each event, the place of its change among `changes`.
    orders: tuple[int, ...] = ()


def commit_person(commit: Commit, before: Snapshot, after: Snapshot) -> str | None:
    """The person who authored a commit: by the people before it (by those after it for the first one)."""
    if before.people():
        return before.person_for_email(commit.author_email)
    return after.person_for_email(commit.author_email)


def walk(
    source: HistorySource, known: Container[str] = frozenset(), derives: Container[str] | None = None
) -> Iterator[Step]:
    """Every commit of the source, oldest first, with its derived events (states kept only while needed).

    Commits in `known` are passed over (their results are kept elsewhere, see `trail.read_candidates`):
    a commit's events depend only on its own state and its parents', so a later commit whose parent
    was passed over starts from that parent's state read whole from Git (`HistorySource.outside`).

    `derives`: the owners (`path_owner`) whose changes' events this walk derives (None: all). Only the
    records those events read are loaded: their owners' and the workspace's own (settings, people,
    teams). On a history without merges, the states hold only those files too: other owners' edits
    are not applied (at 10,000 tasks, ~5 % of a walk shared by two processes). With a merge, a
    change's own-ness is judged against the other branch's whole state, so the states stay whole.
    Each event's `Step.orders` entry is the place of its change among the commit's own changes, so
    the events of walks that derive the other owners fit back in the order one walk gives
    (`trail.read_candidates`).
    """
    graph = source.graph
    keeper = Keeper(graph)
    # The owners whose files the states keep: those derived (and the workspace's own), when some are and
    # the history has no merge; None: every file.
    kept = (
        derives if derives is not None and not graph.bases and all(len(c.parents) <= 1 for c in graph.commits) else None
    )
    # By path: whether a walk deriving `derives` reads the file (`_read_here`).
    owners: dict[str, bool] = {}

    def state(oid: str) -> Snapshot:
        found: Snapshot | None = keeper.get(oid)
        if found is None:
            found = source.outside(oid)
            keeper.put(oid, found)
        return found

    for index, commit in enumerate(graph.commits):
        if commit.id in known:
            keeper.release(commit)
            continue
        source.prefetch(index, known, derives)
        before = state(commit.parents[0]) if commit.parents else source.empty
        sides = [
            Side(state(p), tuple(state(b) for b in graph.bases.get((commit.id, p), ()))) for p in commit.parents[1:]
        ]
        edits: dict[str, BlobRef | None] = {}
        for change in commit.changes:
            edits.update(change.edits())
        if kept is not None:
            edits = {path: ref for path, ref in edits.items() if _read_here(path, kept, owners)}
        after = before.apply(edits)
        own = own_changes(commit, sides)
        person = commit_person(commit, before, after) if own else None
        orders: list[int] = []
        if derives is None:
            events = derive_events(commit, person, before, after, own, sides)
        else:
            # A change's events are those derive_events gives for it among the others (each alone).
            events = []
            for place, change in enumerate(own):
                if path_owner(change.path) in derives:
                    found = derive_events(commit, person, before, after, (change,), sides)
                    events += found
                    orders += [place] * len(found)
        yield Step(commit, before, after, tuple(own), person, tuple(events), tuple(orders))
        keeper.put(commit.id, after)
        keeper.release(commit)


def _read_here(path: str, derives: Container[str], known: dict[str, bool]) -> bool:
    """Whether a walk deriving the events of `derives` reads the file at `path`: one of theirs, or the workspace's own."""
    found = known.get(path)
    if found is None:
        owner = path_owner(path)
        found = known[path] = owner == "" or owner in derives
    return found


@dataclass
class History:
    """All derived events of a workspace's history, oldest first, and why there may be none."""

    events: list[Event]
    warnings: list[str]
    commits: int


def read_history(workspace: Path, revision: str | None = None) -> History:
    """Read the events of the workspace's Git history (empty, with a warning, without Git)."""
    rev = parse_range(revision) if revision is not None else None
    with HistorySource(workspace, rev) as source:
        events: list[Event] = []
        for step in walk(source):
            events.extend(step.events)
        warnings = list(source.warnings)
        missing = source.missing_blobs()
        if missing:
            warnings.append(
                f"{len(missing)} file version(s) are missing from the repository or too large, read as empty"
            )
        return History(events=events, warnings=warnings, commits=len(source.commits))


# ---------------------------------------------------------------------------------------- visibility


def find_entity(ws: m.Workspace, ref: EntityRef) -> object | None:
    """The entity an event names, as it stands in `ws` (None when it does not exist there)."""
    project = ws.projects.get(ref.project) if ref.project is not None else None
    if ref.kind == "settings":
        return ws.settings
    if ref.kind == "person":
        return ws.people.get(ref.id)
    if ref.kind == "team":
        return ws.teams.get(ref.id)
    if project is None:
        return None
    if ref.kind == "project":
        return project
    if ref.kind == "milestone":
        milestone = project.milestone(ref.id)
        return MilestoneRef(project, milestone) if milestone is not None else None
    if ref.kind == "task":
        return project.task(ref.id)
    if ref.kind == "comment":
        task = project.task(ref.task or "")
        return next((c for c in task.comments if c.id == ref.id), None) if task is not None else None
    if ref.kind == "change":
        return project.change(ref.id)
    if ref.kind == "meeting":
        return next((x for x in project.meetings if x.id == ref.id), None)
    if ref.kind == "feedback":
        return next((x for x in project.feedback if x.id == ref.id), None)
    if ref.kind == "document":
        return next((x for x in project.documents if x.path == ref.id), None)
    return None


def _container(ws: m.Workspace, ref: EntityRef) -> object | None:
    project = ws.projects.get(ref.project) if ref.project is not None else None
    if project is None:
        return None
    if ref.task is not None and ref.kind in ("comment", "time", "expense"):
        task = project.task(ref.task)
        if task is not None:
            return task
    return project


def _sees(policy: Policy, viewer: Viewer, ref: EntityRef, thing: object | None, field_name: str | None) -> bool:
    # A viewer the rules answer alike for every thing (a role that sees everything, a manager) is not
    # asked about this one: the policy gives that answer once per viewer, and the entity need not be found.
    verdict = policy.verdict_for_all(viewer)
    if verdict is not None:
        return bool(verdict)
    return _sees_thing(policy, viewer, ref, thing, field_name)


def _sees_thing(policy: Policy, viewer: Viewer, ref: EntityRef, thing: object | None, field_name: str | None) -> bool:
    if thing is None:
        # The entity does not exist in this state: judge by what holds it, or managers only.
        holder = _container(policy.ws, ref)
        if holder is None:
            return policy.sees(viewer, policy.ws.settings)
        return policy.sees(viewer, holder)
    if not policy.sees(viewer, thing):
        return False
    if field_name is None or field_name in ("path", "body") or isinstance(thing, MilestoneRef):
        return True
    return policy.sees(viewer, FieldRef(thing, field_name))


def seen_now(policy_now: Policy, viewer: Viewer, event: Event) -> bool:
    """The "now" half of `event_visible`: the viewer sees the entity (and field) in the current workspace."""
    verdict = policy_now.verdict_for_all(viewer)
    if verdict is not None:
        # The same answer for every thing: the entity need not be found (see `_sees`).
        return bool(verdict)
    now_thing = find_entity(policy_now.ws, event.entity)
    if now_thing is None and event.entity.kind in ("time", "expense"):
        now_thing = event.after if event.after is not None else event.before
    return _sees_thing(policy_now, viewer, event.entity, now_thing, event.field)


def seen_in_states(
    policy_before: Policy | None, policy_after: Policy | None, viewer: Viewer, event: Event
) -> bool | Literal["managers"]:
    """The history half of `event_visible`: seen before and after the commit (True), not (False), or

    "managers" when a state has no workspace, where only viewers who see the settings now see it.
    """
    answer: bool | Literal["managers"] = True
    for policy, thing in ((policy_before, event.before), (policy_after, event.after)):
        if policy is None:
            answer = "managers"
        elif not _sees(policy, viewer, event.entity, thing, event.field):
            return False
    return answer


def event_visible(
    policy_before: Policy | None, policy_after: Policy | None, policy_now: Policy, viewer: Viewer, event: Event
) -> bool:
    """Whether a viewer may see an event: they see the entity (and field) now, before and after it.

    A state without the entity (before a creation, after a deletion, now for a deleted one) is
    judged by what holds the entity (its task or project); with neither, only managers see it.
    Time and expense lines have no id: "now" judges the line itself by the current rules.
    A missing before/after policy (no workspace in that state) shows the event to managers only.
    """
    if not seen_now(policy_now, viewer, event):
        return False
    states = seen_in_states(policy_before, policy_after, viewer, event)
    if states == "managers":
        return bool(policy_now.can_see(viewer, policy_now.ws.settings))
    return states
