"""The content-hash cache behind incremental `validate` and `build`: same input, same bytes, less work.

Where: one folder per workspace, `<cache home>/<hash of the workspace's path>-<its name>/`, where the
cache home is `$WORKTRAIL_CACHE_DIR` when set, else `$XDG_CACHE_HOME/worktrail`, else
`~/.cache/worktrail`: outside the workspace (which may be read-only, or a package's sample) and never
inside a site folder. Delete it at any time: the next run rebuilds it. `--no-cache` ignores it; a
cache that cannot be written is skipped silently. CI can keep it between runs by caching that
folder (set `WORKTRAIL_CACHE_DIR` to a path the CI caches).

What it keeps, each keyed by content so that a stale entry is never used:
- the **input signature**: every file and folder under `worktrail.yaml`, `people/`, `teams/` and
  `projects/` by path, size, modification and change times and inode (like Git's index). A file modified less
  than two seconds before the signature was taken is "racy" (its next change may keep the same
  time): a signature holding one is never trusted, so the content path below runs instead;
- **parses**: each file's parsed and schema-checked content, keyed by path, schema and a BLAKE2
  hash of its bytes (a full load still reads every file; it skips only parsing and checking), in
  shards by path, so that an edit rewrites one shard;
- **the last load**: its projects, findings and the rest of its LoadResult, with each input path
  as the signature described it then and the hash of the bytes the load read of it (path shards
  beside the parse shards). A file described otherwise since (or then in the racy window) is read
  and hashed: the same bytes, or a file the loader does not read (an attachment), change nothing,
  so a fresh checkout of the same commit loads nothing again. When only record files (tasks,
  comments, change requests, meetings, feedback, months of time) changed, each loading without a
  finding before and after, only those are read again and put in place (`BuildCache.reloaded`,
  `load.reload_records`); any other change loads the whole workspace. Each project's load is kept
  under its generation, a hash of everything loading it read (its folder and the files outside
  the project folders): a project whose inputs did not change keeps its generation through any
  load, and its pages are then taken over whole;
- **reports**: the `validate` report of an input signature;
- **Markdown**: each rendered text, keyed by text, resolved links and heading level (as in one build),
  in segments: each build adds one with what it rendered;
- **pages**: per audience and file, the key of the job that made it (a hash of what it was made
  from: a page's full context, or the inputs it declares, see `site._Builder.jobs`; a document's
  copy, its file's path, inode, size and times, once settled); a job whose key is unchanged
  hard-links its files from the previous site when each is still exactly as written (size, time,
  inode), without building or rendering them. Per audience and project too, what all its pages were
  made from (its load's generation, the view, its events and the targets of its texts' references):
  an unchanged project takes all its pages over without keying any of them
  (`site._Builder.plan_project`), and its part of the JSON export;
- **templates**: the site templates compiled (Jinja2 bytecode, checked against each template's
  source), in `templates/`;
- **trail**: the history events and, per audience, whether the states before and after each event
  let it see them, keyed by the Git commit at HEAD; only the "does it see it now" part is redone;
- **builds**: the key of the last build (signature, HEAD, audiences, options, build date) and what
  it wrote; an identical build whose sites are untouched is skipped.

Everything is salted with the tool's version, the hash of its code, schemas and templates, and the
versions of Python and of the libraries that shape the output: any change to them starts an empty
cache. Files are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import operator
import os
import pickle
import shutil
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Container, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from . import __version__
from . import model as m
from .findings import Finding
from .gcpause import LongLived, collector_paused
from .load import (
    WORKSPACE_FILE,
    LoadResult,
    ParseCache,
    ScanTree,
    load_workspace,
    parsed_doc,
    read_input,
    reload_records,
)
from .resources import schemas_dir, templates_dir
from .tree import Kind, Tree, kind_of_entry, kind_of_mode
from .yamlio import Doc, SourceError

if TYPE_CHECKING:
    from .model import Audience
    from .render import MarkdownRenderer
    from .render_pool import Forked
    from .site import Keep, Parts, PreviousParts, ProjectRecord, Versions
    from .trail import Candidate, HistoryTrail, Placed, PlacedGroup, TrailPart, Trails
    from .validate import Report

CACHE_ENV: Final = "WORKTRAIL_CACHE_DIR"
FORMAT: Final = 3
INPUT_ROOTS: Final = (WORKSPACE_FILE, "people", "teams", "projects")
# Files changed this recently may change again within the same timestamp tick (see the module doc).
RACY_NS: Final = 2_000_000_000
# Beyond this many remembered Markdown texts the cache starts over (edits leave stale entries).
MAX_MARKDOWN_ENTRIES: Final = 500_000
# Remembered Markdown is kept in at most this many files (each build adds one with its new renders).
MAX_MARKDOWN_SEGMENTS: Final = 16
# The parse cache is kept in this many files, by path: an edit rewrites the file of its path only.
PARSE_SHARDS: Final = 16

ParseKey = tuple[str, str, bytes]


def cache_folder(workspace: Path) -> Path:
    """The cache folder of a workspace (see the module docstring)."""
    home = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "worktrail"
    )
    where = str(workspace.resolve())
    key = hashlib.blake2b(where.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()
    return Path(home) / f"{key}-{workspace.resolve().name or 'workspace'}"


@cache
def code_salt() -> str:
    """A hash of the tool version, its Python code, schemas and site templates."""
    digest = hashlib.blake2b(f"worktrail {__version__} cache {FORMAT} {sys.version}".encode(), digest_size=16)
    # The libraries that turn the same input into other bytes when they change.
    for dist in ("Jinja2", "MarkupSafe", "markdown-it-py", "PyYAML", "jsonschema"):
        try:
            digest.update(f"{dist} {metadata.version(dist)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{dist} -\n".encode())
    package = Path(__file__).resolve().parent
    for folder, pattern in ((package, "*.py"), (schemas_dir(), "*.json"), (templates_dir(), "**/*")):
        for path in sorted(folder.glob(pattern)):
            if path.is_file():
                digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Signature:
    """The input files by path, size, time and inode: `digest`, and the newest modification time.

    For loading again file by file (`BuildCache.reloaded`): `stats`, each path's description (as
    hashed into the digest), and `unsettled`, the files modified in the racy window. `kinds` and
    `listed` are the walk as `load.ScanTree` records one (every folder's sorted names), so the
    loader lists nothing again (`tree`); `whole` is False when an entry listed could not be described.
    """

    digest: str
    newest_ns: int
    taken_ns: int
    stats: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)
    unsettled: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    kinds: dict[str, Kind | None] = field(default_factory=dict, compare=False, repr=False)
    listed: dict[str, list[str]] = field(default_factory=dict, compare=False, repr=False)
    whole: bool = field(default=True, compare=False, repr=False)

    @property
    def trusted(self) -> bool:
        """False when a file changed so recently that the same signature could hide a later change."""
        return self.newest_ns < self.taken_ns - RACY_NS

    def tree(self, root: Path) -> ScanTree:
        """The input folders of the workspace at `root` as this walk found them."""
        return ScanTree(root.resolve(), self.kinds, self.listed)


def _describe(rel: str, info: os.stat_result) -> bytes:
    # The change time moves on any write or metadata change, even one that puts the old mtime back.
    return f"{rel}\0{info.st_mode}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ctime_ns}\0{info.st_ino}\n".encode()


def _described_kind(described: bytes) -> Kind:
    return kind_of_mode(int(described.split(b"\0")[1]))


def input_signature(root: Path) -> Signature:
    """The signature of the workspace's input files (symbolic links are described, never followed).

    The inputs are described in parts: each input root, with each project's folder a part of its
    own. On a workspace of many projects, a forked worker describes every other project's folder
    meanwhile (stat calls for tens of thousands of files). The parts go into the digest in order.
    """
    taken = time.time_ns()
    racy = taken - RACY_NS
    base = str(root)
    first: list[_Walked] = []
    for name in INPUT_ROOTS:
        walked = _Walked(base, racy)
        walked.visit(name, deep=name != "projects")
        first.append(walked)
    projects = [f"projects/{name}" for name in first[-1].listings.get("projects", ())]
    projects = [rel for rel in projects if first[-1].kinds.get(rel) == "dir"]
    parts = _walk_parts(base, racy, projects)
    stats: dict[str, bytes] = {}
    unsettled: set[str] = set()
    kinds: dict[str, Kind | None] = {}
    listings: dict[str, list[str]] = {}
    digest = hashlib.blake2b(digest_size=20)
    newest = 0
    whole = True
    for walked in (*first, *parts):
        stats.update(walked.stats)
        unsettled.update(walked.unsettled)
        kinds.update(walked.kinds)
        listings.update(walked.listings)
        digest.update(b"".join(walked.described))
        newest = max(newest, walked.newest)
        whole = whole and walked.whole
    return Signature(digest.hexdigest(), newest, taken, stats, frozenset(unsettled), kinds, listings, whole)


# From this many project folders on, a worker describes half of them (a fork costs a few milliseconds).
_SIGNATURE_SPLIT = 8


def _walk_parts(base: str, racy: int, folders: Sequence[str]) -> list[_Walked]:
    """Each folder's tree described (`_Walked`), in the order given; half of them by a forked worker when there are many."""
    from .render_pool import Forked, workers_available

    def walk(some: Sequence[str]) -> list[_Walked]:
        out: list[_Walked] = []
        for rel in some:
            walked = _Walked(base, racy)
            walked.visit(rel, deep=True, described=True)
            out.append(walked)
        return out

    if len(folders) < _SIGNATURE_SPLIT or not workers_available():
        return walk(folders)
    worker = Forked(lambda: walk(folders[1::2]))
    try:
        mine = walk(folders[0::2])
        theirs = worker.result()
    finally:
        worker.cancel()
    if theirs is None:
        theirs = walk(folders[1::2])
    out: list[_Walked] = []
    for index in range(len(folders)):
        out.append(mine[index // 2] if index % 2 == 0 else theirs[index // 2])
    return out


class _Walked:
    """One part of the input signature: the paths it described, their kinds and listings, and what they were."""

    def __init__(self, base: str, racy: int) -> None:
        self.base = base
        self.racy = racy
        self.newest = 0
        self.whole = True
        self.described: list[bytes] = []
        self.stats: dict[str, bytes] = {}
        self.unsettled: set[str] = set()
        self.kinds: dict[str, Kind | None] = {}
        self.listings: dict[str, list[str]] = {}

    def describe(self, rel: str, info: os.stat_result) -> None:
        self.newest = max(self.newest, info.st_mtime_ns)
        described = self.stats[rel] = _describe(rel, info)
        self.described.append(described)
        if info.st_mtime_ns >= self.racy:
            self.unsettled.add(rel)

    def visit(self, rel: str, *, deep: bool, described: bool = False) -> None:
        """Describe `rel` (unless `described`: its listing's part did) and, when a folder, what it holds:
        every file and folder under it (`deep`), or only its own entries."""
        kinds = self.kinds
        if not described:
            try:
                info = os.lstat(os.path.join(self.base, rel))
            except OSError:
                self.described.append(f"{rel}\0-\n".encode())
                kinds[rel] = None
                return
            self.describe(rel, info)
            kinds[rel] = kind_of_mode(info.st_mode)
            if kinds[rel] != "dir":
                return
        stack = [rel]
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(os.path.join(self.base, folder)) as entries:
                    listed = sorted(entries, key=lambda e: e.name)
            except OSError:
                self.listings[folder] = []
                self.whole = False
                continue
            self.listings[folder] = [entry.name for entry in listed]
            for entry in listed:
                path = f"{folder}/{entry.name}"
                kind = kinds[path] = kind_of_entry(entry)
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    self.whole = False
                    continue
                self.describe(path, info)
                # Changed between listing and stat: the listing and the stat disagree.
                self.whole = self.whole and kind == kind_of_mode(info.st_mode)
                if kind == "dir" and deep:
                    stack.append(path)


def _load(path: Path) -> Any:
    """An unpickled cache file, or None when it is missing or unreadable (a broken cache is just empty)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    # Unpickling many small objects with the cycle collector on is ~10x slower (it runs repeatedly).
    try:
        with collector_paused():
            return pickle.loads(raw)  # noqa: S301 -- our own files, in a folder only this tool writes
    except Exception:  # any damage to a cache file means "no cache"
        return None


def _store(path: Path, value: Any) -> None:
    """Write a cache file atomically; a cache that cannot be written is silently skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        # The pickler's memo makes an object per object written: with the collector on, each of its
        # runs traversed every object of the process (a loaded workspace: ~1 s of 1.7 s at 10,000 tasks).
        with os.fdopen(handle, "wb") as out, collector_paused():
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(temporary)


class PersistentParseCache(ParseCache):
    """The loader's parse cache, filled from disk and keyed by a hash of each file's bytes."""

    def __init__(self, stored: Mapping[tuple[str, str, bytes], tuple[Any, list[Finding]]] | None = None) -> None:
        super().__init__()
        self.stored = dict(stored or {})
        # The shards as stored (`BuildCache.parses`), to rewrite only those that change.
        self.shards: list[ParseShard] = []
        self.used: dict[tuple[str, str, bytes], tuple[Any, list[Finding]]] = {}
        self.added = 0

    @staticmethod
    def _key(key: ParseKey) -> tuple[str, str, bytes]:
        return (key[0], key[1], content_digest(key[2]))

    def get(self, key: ParseKey) -> tuple[Any, list[Finding]] | None:
        short = self._key(key)
        hit = self.used.get(short) or self.stored.get(short)
        if hit is not None:
            self.used[short] = hit
        return hit

    def put(self, key: ParseKey, value: tuple[Any, list[Finding]]) -> None:
        self.used[self._key(key)] = value
        self.added += 1


@dataclass
class PageRecord:
    """A file of the last build: the key of the job that made it, the file as written (size, time, inode),
    and where each of its parts is, for a file made in parts (the trail page)."""

    digest: bytes
    stat: tuple[int, int, int] | None = None
    parts: Parts | None = None


@dataclass
class PageCache:
    """An audience's previous site (`site.PreviousSite`): the key each file was made from, and how it was written.

    A job whose key is unchanged takes its files from the previous site (hard links), when each is
    still exactly as written (size, modification time, inode); otherwise it makes them.
    """

    folder: Path
    records: dict[str, PageRecord] = field(default_factory=dict)
    current: dict[str, PageRecord] = field(default_factory=dict)
    rendered: int = 0
    reused: int = 0
    # Per project: what all its pages were made from last time (`site.ProjectRecord`), and this time.
    projects: dict[str, ProjectRecord] = field(default_factory=dict)
    projects_now: dict[str, ProjectRecord] = field(default_factory=dict)

    def reuse(self, key: bytes, paths: Sequence[str], keep: Keep) -> bool:
        """Keep the previous files of `paths` when all were made from `key` and are as written."""
        files: list[tuple[str, str, tuple[int, int, int]]] = []
        for rel in paths:
            old = self.records.get(rel)
            if old is None or old.digest != key or old.stat is None:
                return False
            files.append((rel, os.path.join(self.folder, rel), old.stat))
        kept = keep(files)
        if kept is None:
            return False
        for (rel, _, _), now in zip(files, kept, strict=True):
            # A link publishes the same file again (a copy is a new one): trusted as it now stands.
            self.current[rel] = PageRecord(key, now, self.records[rel].parts)
        self.reused += len(files)
        return True

    def project(self, pid: str) -> ProjectRecord | None:
        """What the pages of a project were made from in the previous build (None: not known)."""
        return self.projects.get(pid)

    def made_project(self, pid: str, record: ProjectRecord) -> None:
        """Remember what the pages of a project are made from in this build (called in the main process)."""
        self.projects_now[pid] = record

    def reuse_project(self, pid: str, key: bytes, keep: Keep) -> bool:
        """Keep every previous page of a project when all were made from `key` and each is still as written.

        Each file keeps the key of its own job (for a later build that makes the project's pages one by one).
        """
        record = self.projects.get(pid)
        if record is None or record[2] != key:
            return False
        files: list[tuple[str, str, tuple[int, int, int]]] = []
        olds: list[PageRecord] = []
        for rel in record[3]:
            old = self.records.get(rel)
            if old is None or old.stat is None:
                return False
            olds.append(old)
            files.append((rel, os.path.join(self.folder, rel), old.stat))
        kept = keep(files)
        if kept is None:
            return False
        for rel, old, now in zip(record[3], olds, kept, strict=True):
            self.current[rel] = PageRecord(old.digest, now, old.parts)
        self.reused += len(files)
        return True

    def made(self, key: bytes, paths: Sequence[str], parts: Mapping[str, Parts] | None = None) -> None:
        """Remember the key each new file was made from (its stat is taken once the site is swapped in)."""
        for rel in paths:
            self.current[rel] = PageRecord(key, None, dict(parts[rel]) if parts and rel in parts else None)
        self.rendered += len(paths)

    def parts(self, path: str) -> PreviousParts | None:
        """The previous file at `path`, as written, and where each of its parts is (None: not made in parts)."""
        old = self.records.get(path)
        if old is None or old.stat is None or not old.parts:
            return None
        return os.path.join(self.folder, path), old.stat, old.parts

    def worker_state(self) -> tuple[dict[str, PageRecord], int, int, dict[str, ProjectRecord]]:
        """What a worker process learnt while running its share of the jobs, or building the whole site
        (see `render_pool`, `site.build_sites`)."""
        return self.current, self.rendered, self.reused, self.projects_now

    def merge_worker_state(self, state: tuple[dict[str, PageRecord], int, int, dict[str, ProjectRecord]]) -> None:
        current, rendered, reused, projects_now = state
        self.current.update(current)
        self.rendered += rendered
        self.reused += reused
        self.projects_now.update(projects_now)

    def checked_projects(self) -> dict[str, ProjectRecord]:
        """This build's project records whose pages are exactly the files this build made or kept under the
        project's folder but its document copies (each keyed by its own file: `site._Builder.copy_documents`);
        any other is dropped (its pages are then made one by one next time)."""
        under: dict[str, set[str]] = {}
        for rel in self.current:
            parts = rel.split("/", 2)
            if len(parts) == 3 and parts[0] == "projects" and not parts[2].startswith("documents/"):
                under.setdefault(parts[1], set()).add(rel)
        return {
            pid: record
            for pid, record in self.projects_now.items()
            if under.get(pid, set()) == set(record[3]) and all(rel in self.current for rel in record[3])
        }

    def record_written(self) -> None:
        """After the site was swapped in: remember how each new file stands, to trust it next time."""
        for rel, record in self.current.items():
            if record.stat is not None:
                continue
            try:
                info = os.lstat(self.folder / rel)
            except OSError:
                continue
            record.stat = (info.st_size, info.st_mtime_ns, info.st_ino)


# The parse cache and the last load are kept in files of one generation each: the index of the
# last load (`load.pickle`) names the generation of every file it was made with, so files of two
# loads never mix. By path (`_parse_shard`), `parses-<n>.pickle` holds the parses the last load
# used, and `paths-<n>.pickle` the input paths as the signature described them when that load ran
# (a folder as `_FOLDER`: its times do not matter), with the files then unsettled (modified in the
# racy window) and what the load read of each file (`_shard_contents`). A shard's generation is new
# each time it is written; a project's is the hash of everything its load read (`_project_generations`).
ParseShard = tuple[str, dict[ParseKey, tuple[Any, list[Finding]]]]
PathShard = tuple[str, dict[str, bytes], frozenset[str], dict[str, bytes]]
_NO_PARSES: ParseShard = ("", {})
_NO_PATHS: PathShard = ("", {}, frozenset(), {})
_FOLDER: Final = b"dir"
# What `_shard_contents` says of a file the load never read (nor tried to: no finding names it).
_UNREAD: Final = b""


def content_digest(data: bytes) -> bytes:
    """The hash a file's bytes are known by in the parse cache and the path shards."""
    return hashlib.blake2b(data, digest_size=20).digest()


def _shard_contents(paths: Mapping[str, bytes], read: Iterable[ParseKey], findings_at: set[str]) -> dict[str, bytes]:
    """What a load read of each file of a path shard: the hash of its bytes (`read`: the parse keys of the
    shard's files), or `_UNREAD` for a file it did not read and no finding names. A file left out (one
    with a finding, or read twice otherwise) is changed whenever it is described otherwise.

    The loader sees of the inputs only their paths, kinds and the bytes of the files it reads: with the
    same paths and kinds, a file whose bytes hash the same, or one it did not read, loads the same.
    """
    digests: dict[str, bytes] = {}
    twice: set[str] = set()
    for rel, _, digest in read:
        if digests.setdefault(rel, digest) != digest:
            twice.add(rel)
    out: dict[str, bytes] = {}
    for rel, described in paths.items():
        if described == _FOLDER or rel in twice:
            continue
        known = digests.get(rel)
        if known is not None:
            out[rel] = known
        elif rel not in findings_at and _described_kind(described) == "file":
            out[rel] = _UNREAD
    return out


def _project_generations(
    shards: Iterable[tuple[Mapping[str, bytes], Mapping[str, bytes]]], wanted: Container[str] | None = None
) -> dict[str, str]:
    """By project folder (those `wanted`, default all), the generation of its loaded project: a hash of
    every input path outside the project folders and inside its own, each with what the load read of
    it (`_shard_contents`) or, for a file it says nothing of, its description (a folder's is `_FOLDER`).

    The same generation is the same loaded project: a load sees only paths, kinds and the bytes it
    reads, and a project is made from its own folder and the files outside every project folder (the
    cache starts over when the tool's code changes: `code_salt`).
    """
    outside: list[tuple[str, bytes]] = []
    inside: dict[str, list[tuple[str, bytes]]] = {}
    for paths, contents in shards:
        for rel, described in paths.items():
            if rel.startswith("projects/"):
                folder = rel[9:].split("/", 1)[0]
                if wanted is not None and folder not in wanted:
                    continue
                entries = inside.get(folder)
                if entries is None:
                    entries = inside[folder] = []
            else:
                entries = outside
            seen = contents.get(rel)
            entries.append((rel, described if seen is None else seen))

    def hashed(entries: list[tuple[str, bytes]], into: Any) -> None:
        named = sorted((rel.encode("utf-8", "surrogateescape"), seen) for rel, seen in entries)
        into.update(b"".join(b"%d:%s%d:%s" % (len(name), name, len(seen), seen) for name, seen in named))

    base = hashlib.blake2b(b"worktrail project generation\n", digest_size=16)
    hashed(outside, base)
    out: dict[str, str] = {}
    for folder, entries in inside.items():
        digest = base.copy()
        hashed(entries, digest)
        out[folder] = digest.hexdigest()
    return out


def _project_name(pid: str) -> str:
    """What the index of the last load names a project's generation by."""
    return f"load-project-{pid}.pickle"


def _project_file(pid: str, generation: str) -> str:
    """The file of a project's load of that generation."""
    return f"load-project-{pid}-{generation}.pickle"


def _same_bytes(tree: Tree, rel: str, digest: bytes) -> bool:
    """Whether the file `rel` now holds bytes of that hash (False when it cannot be read as the loader reads it)."""
    try:
        return content_digest(read_input(tree, rel)) == digest
    except (OSError, SourceError):
        return False


@dataclass
class Changes:
    """The files described otherwise since the last load (`StoredLoad.changed`): those to read again, and
    those whose bytes are as that load read them, or that it did not read (a fresh checkout, a touch)."""

    changed: list[str]
    restated: list[str]


class _StoredParses:
    """The parse shards of the last load, each read when first asked for (None: of another generation)."""

    def __init__(self, cache: BuildCache, generations: Mapping[str, str]) -> None:
        self._cache = cache
        self._generations = generations
        self._shards: dict[int, ParseShard | None] = {}

    def shard(self, index: int) -> ParseShard | None:
        if index not in self._shards:
            stored = self._cache._stored_parses(index)
            good = stored[0] and stored[0] == self._generations.get(f"parses-{index}.pickle")
            self._shards[index] = stored if good else None
        return self._shards[index]


class _StoredDocs(Mapping[str, Doc]):
    """The documents of the last load (`LoadResult.docs`) in the loader's order, each read from its parse
    shard when asked for: a build with no finding to place reads none (16 files, ~0.15 s at 10,000
    tasks). A shard of another load's generation gives no documents: a finding in one of its files is
    placed at its entity's own line (`LoadResult.where`)."""

    def __init__(self, order: Sequence[str], parses: _StoredParses) -> None:
        self._order = dict.fromkeys(order)
        self._parses = parses
        self._shards: dict[int, dict[str, Doc]] = {}

    def __getitem__(self, rel: str) -> Doc:
        if rel not in self._order:
            raise KeyError(rel)
        index = _parse_shard(rel)
        docs = self._shards.get(index)
        if docs is None:
            shard = self._parses.shard(index)
            values = {key[0]: value for key, (value, _) in shard[1].items()} if shard is not None else {}
            docs = self._shards[index] = {
                path: doc for path, value in values.items() if (doc := parsed_doc(value)) is not None
            }
        return docs[rel]

    def __contains__(self, rel: object) -> bool:
        return rel in self._order

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)


@dataclass
class StoredLoad:
    """The last load, as the cache keeps it (`BuildCache.reloaded`): the LoadResult (without its
    tree), the parse and path shards it was made with, and the generations its index names."""

    result: LoadResult
    parses: _StoredParses
    paths: list[PathShard]
    generations: dict[str, str]

    def changed(self, signature: Signature, tree: Tree) -> Changes | None:
        """The files described otherwise now, or unsettled then, each read again when the load read it;
        None when a path came, went or changed kind, or anything but a regular file changed."""
        stats, kinds = signature.stats, signature.kinds
        if len(stats) != sum(len(shard[1]) for shard in self.paths):
            return None
        out = Changes([], [])
        for _, paths, unsettled, contents in self.paths:
            for rel, old in paths.items():
                now = stats.get(rel)
                if now is None:
                    return None
                if now == old and rel not in unsettled:
                    continue
                kind = kinds.get(rel)
                if old == _FOLDER and kind == "dir":
                    continue
                if kind != "file" or old == _FOLDER or _described_kind(old) != "file":
                    return None
                seen = contents.get(rel)
                if seen is not None and (seen == _UNREAD or _same_bytes(tree, rel, seen)):
                    out.restated.append(rel)
                else:
                    out.changed.append(rel)
        out.changed.sort()
        out.restated.sort()
        return out


@dataclass
class StoredCandidates:
    """The history at a HEAD as the trails read it and the cache keeps it: candidates by project (those
    asked for), warnings from reading it, its number of commits, and for every project a digest of its
    candidates (`candidates_digest`: what filtering them reads of the history)."""

    grouped: dict[str, Placed]
    warnings: list[str]
    commits: int
    digests: dict[str, bytes]


class BuildCache:
    """One workspace's cache folder (see the module docstring)."""

    def __init__(self, workspace: Path, folder: Path | None = None) -> None:
        self.workspace = workspace
        self.folder = folder if folder is not None else cache_folder(workspace)
        self.salt = code_salt()
        self._ready = False
        self._signature: Signature | None = None
        # The last load's projects as this run holds them, each with the generation of its file (`stamps`).
        self._stamps: dict[str, tuple[m.Project, str]] = {}

    # -- housekeeping -----------------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        return self.folder / name

    def _prepare(self) -> None:
        """Start an empty cache when the code, schemas or templates changed since it was written."""
        if self._ready:
            return
        self._ready = True
        marker = self._path("salt")
        try:
            if marker.read_text(encoding="ascii") == self.salt:
                return
        except OSError:
            pass
        with contextlib.suppress(OSError):
            if self.folder.is_dir() and not self.folder.is_symlink():
                for entry in self.folder.iterdir():
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink()
            self.folder.mkdir(parents=True, exist_ok=True)
            marker.write_text(self.salt, encoding="ascii")

    def get(self, name: str) -> Any:
        self._prepare()
        return _load(self._path(name))

    def put(self, name: str, value: Any) -> None:
        self._prepare()
        _store(self._path(name), value)

    def signature(self) -> Signature:
        """The input signature, taken once per run (before anything is read)."""
        if self._signature is None:
            self._signature = input_signature(self.workspace)
        return self._signature

    # -- validation -------------------------------------------------------------------------------

    def report(self) -> Report | None:
        """The `validate` report of these exact inputs, when an earlier run left one."""
        signature = self.signature()
        stored = self.get("report.pickle")
        if not signature.trusted or not isinstance(stored, tuple) or len(stored) != 2:
            return None
        key, report = stored
        return report if key == signature.digest else None

    def store_report(self, report: Report) -> None:
        signature = self.signature()
        if signature.trusted:
            self.put("report.pickle", (signature.digest, report))

    def parses(self) -> PersistentParseCache:
        """The parse cache, from its shards (`PARSE_SHARDS` files, by path: an edit rewrites one of them)."""
        shards = [self._stored_parses(index) for index in range(PARSE_SHARDS)]
        merged: dict[tuple[str, str, bytes], tuple[Any, list[Finding]]] = {}
        for shard in shards:
            merged.update(shard[1])
        parses = PersistentParseCache(merged)
        parses.shards = shards
        return parses

    def _stored_parses(self, index: int) -> ParseShard:
        stored = self.get(f"parses-{index}.pickle")
        return stored if isinstance(stored, tuple) and len(stored) == 2 else _NO_PARSES

    def _stored_paths(self, index: int) -> PathShard:
        stored = self.get(f"paths-{index}.pickle")
        return stored if isinstance(stored, tuple) and len(stored) == 4 else _NO_PATHS

    def store_load(self, result: LoadResult, parses: PersistentParseCache, *, model: bool = True) -> None:
        """Keep a full load of the inputs as the signature saw them: the parses it used (parses of old
        file versions drop out) and the input paths, rewriting only the shards that changed; with
        `model`, the rest of the LoadResult, to load it again file by file (`reloaded`)."""
        entries: list[dict[ParseKey, tuple[Any, list[Finding]]]] = [{} for _ in range(PARSE_SHARDS)]
        for key, value in parses.used.items():
            entries[_parse_shard(key[0])][key] = value
        findings_at = {finding.loc.path for finding in result.findings}
        generations: dict[str, str] = {}
        shards: list[tuple[dict[str, bytes], dict[str, bytes]]] = []
        for index, (paths, unsettled) in enumerate(_described_by_shard(self.signature())):
            name = f"parses-{index}.pickle"
            parsed = parses.shards[index] if index < len(parses.shards) else _NO_PARSES
            if parsed[0] and parsed[1].keys() == entries[index].keys():
                generations[name] = parsed[0]
            else:
                generations[name] = self._put_shard(name, (entries[index],))
            name = f"paths-{index}.pickle"
            contents = _shard_contents(paths, entries[index], findings_at)
            shards.append((paths, contents))
            described = self._stored_paths(index)
            if described[0] and described[1:] == (paths, unsettled, contents):
                generations[name] = described[0]
            else:
                generations[name] = self._put_shard(name, (paths, unsettled, contents))
        if model:
            self._store_index(result, generations, shards)

    def _put_shard(self, name: str, value: tuple[Any, ...]) -> str:
        generation = os.urandom(8).hex()
        self.put(name, (generation, *value))
        return generation

    # -- loading again file by file ------------------------------------------------------------------
    # The last load is kept in the parse shards (its parsed documents), the path shards (each input
    # path as described then), `load-project-<id>-<generation>.pickle` (its projects) and
    # `load.pickle`, the index: the generation of each of those files (a project's under the name
    # `load-project-<id>.pickle`), and the rest of the LoadResult. An edit of a record file writes
    # the index, the two shards of its path and its project's file of a new generation.

    def reloaded(self) -> LoadResult | None:
        """The last load with the record files changed since loaded again, when that equals a full load now.

        Every input path must be as it was (same paths, same kinds, the same description for every
        file but changed record files), and each changed file a record that loads without findings,
        now and before (`load.reload_records`). A file described otherwise, or described in the racy
        window, whose bytes hash as the load read them, or that the load did not read, is unchanged
        (`StoredLoad.changed`): after a fresh checkout of the same files nothing is loaded again.
        """
        signature = self.signature()
        stored = self._stored_load() if signature.whole else None
        if stored is None:
            return None
        tree = signature.tree(self.workspace)
        changes = stored.changed(signature, tree)
        if changes is None:
            return None
        if not changes.changed:
            result = dataclasses.replace(stored.result, tree=tree)
            if changes.restated:
                self._store_reloaded(result, stored, changes, ParseCache())
            else:
                self._stamp(stored.result, stored.generations)
            return result
        parses = ParseCache()
        again = reload_records(stored.result, changes.changed, tree, parses)
        if again is None:
            return None
        self._store_reloaded(again, stored, changes, parses)
        return again

    def _stored_load(self) -> StoredLoad | None:
        index = self.get("load.pickle")
        if not isinstance(index, tuple) or len(index) != 4:
            return None
        generations, skeleton, project_ids, doc_order = index
        ws = skeleton.workspace
        if ws is None:
            return None
        paths = [self._stored_paths(number) for number in range(PARSE_SHARDS)]
        projects = [self.get(_project_file(pid, generations.get(_project_name(pid), ""))) for pid in project_ids]
        names = [
            *(f"paths-{number}.pickle" for number in range(PARSE_SHARDS)),
            *(_project_name(pid) for pid in project_ids),
        ]
        for name, stored in zip(names, [*paths, *projects], strict=True):
            # A file of another load (one was interrupted, or ran beside this one) is never mixed in.
            if not isinstance(stored, tuple) or not stored[0] or stored[0] != generations.get(name):
                return None
        parses = _StoredParses(self, generations)
        docs = _StoredDocs(doc_order.split("\0") if doc_order else [], parses)
        workspace = dataclasses.replace(ws, projects={pid: p[1] for pid, p in zip(project_ids, projects, strict=True)})
        result = dataclasses.replace(skeleton, workspace=workspace, docs=docs)
        return StoredLoad(result, parses, paths, generations)

    def _store_reloaded(self, result: LoadResult, stored: StoredLoad, changes: Changes, parses: ParseCache) -> None:
        """Rewrite the shards of the files loaded again (their new parses, descriptions and hashes) and of those
        restated (their descriptions), the projects loaded again, the index."""
        signature = self.signature()
        generations = dict(stored.generations)
        changed = set(changes.changed)
        by_shard: dict[int, set[str]] = {}
        for rel in (*changes.changed, *changes.restated):
            by_shard.setdefault(_parse_shard(rel), set()).add(rel)
        new_entries = {PersistentParseCache._key(key): value for key, value in parses.entries.items()}
        shards = [(paths, contents) for _, paths, _, contents in stored.paths]
        for index, described in sorted(by_shard.items()):
            again = described & changed
            _, old_paths, old_unsettled, old_contents = stored.paths[index]
            contents = old_contents
            if again:
                shard = stored.parses.shard(index)
                if shard is None:
                    # Rewritten by another load since this one: the index is not written (the next run loads all).
                    with contextlib.suppress(OSError):
                        self._path("load.pickle").unlink()
                    return
                entries = {key: value for key, value in shard[1].items() if key[0] not in again}
                entries.update((key, value) for key, value in new_entries.items() if key[0] in again)
                generations[f"parses-{index}.pickle"] = self._put_shard(f"parses-{index}.pickle", (entries,))
                # Files loaded again load without a finding (`reload_records`): each was read.
                contents = {**old_contents, **_shard_contents({rel: old_paths[rel] for rel in again}, entries, set())}
            paths = {**old_paths, **{rel: signature.stats[rel] for rel in described}}
            unsettled = (old_unsettled - described) | (described & signature.unsettled)
            name = f"paths-{index}.pickle"
            generations[name] = self._put_shard(name, (paths, unsettled, contents))
            shards[index] = (paths, contents)
        self._store_index(result, generations, shards, stored)

    def _store_index(
        self,
        result: LoadResult,
        generations: dict[str, str],
        shards: Sequence[tuple[Mapping[str, bytes], Mapping[str, bytes]]],
        previous: StoredLoad | None = None,
    ) -> None:
        """Write each project's load under its generation (`_project_generations` of `shards`, the path
        shards as now stored), unless a file of that generation is there, and the index naming all files
        (`generations`). With `previous` (the load this one loaded records into again), a project that is
        the very object it held keeps its generation: only records changed, none of its files."""
        ws = result.workspace
        if ws is None or not self.signature().whole:
            with contextlib.suppress(OSError):
                self._path("load.pickle").unlink()
            return
        before = previous.result.workspace.projects if previous and previous.result.workspace else {}
        named = previous.generations if previous is not None else {}
        same = {
            pid for pid, project in ws.projects.items() if before.get(pid) is project and _project_name(pid) in named
        }
        projects = _project_generations(shards, ws.projects.keys() - same)
        kept: set[str] = set()
        for pid, project in ws.projects.items():
            generation = named[_project_name(pid)] if pid in same else projects.get(pid) or os.urandom(8).hex()
            file = _project_file(pid, generation)
            # A file is named by its project's generation, and written whole or not at all (`put`).
            if not self._path(file).is_file():
                self.put(file, (generation, project))
            generations[_project_name(pid)] = generation
            kept.add(file)
        for old in self.folder.glob("load-project-*.pickle"):
            if old.name not in kept:
                with contextlib.suppress(OSError):
                    old.unlink()
        skeleton = dataclasses.replace(result, workspace=dataclasses.replace(ws, projects={}), docs={}, tree=None)
        self.put("load.pickle", (generations, skeleton, list(ws.projects), "\0".join(result.docs)))
        self._stamp(result, generations)

    def _stamp(self, result: LoadResult, generations: Mapping[str, str]) -> None:
        ws = result.workspace
        projects = ws.projects if ws is not None else {}
        self._stamps = {
            pid: (project, generations[name])
            for pid, project in projects.items()
            if (name := _project_name(pid)) in generations
        }

    def stamps(self) -> dict[str, tuple[m.Project, str]]:
        """Each project of the last load this run made or took, with its generation in the cache.

        A project's generation is a hash of what loading it read (`_project_generations`): its own
        folder and every file outside the project folders, by path, kind and bytes. It changes with
        any edit of settings, people, teams or the project's own files, and with nothing else (a
        fresh checkout, another project's edit). The same generation in two builds is the same
        project, loaded from the same bytes (`site` takes a project's pages over whole then).
        """
        return dict(self._stamps)

    # -- building ---------------------------------------------------------------------------------

    def renderer(self) -> MarkdownRenderer:
        """A Markdown renderer that starts with every text rendered by earlier builds.

        They are kept in segments, `markdown-<n>.pickle`: a build adds one with what it rendered
        (not all of them again); past `MAX_MARKDOWN_SEGMENTS` they are made one again.
        """
        from .render import MarkdownRenderer

        renderer = MarkdownRenderer()
        self._markdown_segments = self._segments()
        for number in self._markdown_segments:
            stored = self.get(f"markdown-{number}.pickle")
            if not isinstance(stored, tuple) or len(stored) != 2:
                continue
            html, plain = stored
            if isinstance(html, list) and isinstance(plain, list):
                renderer.remember((html, plain))
        if sum(renderer.remembered()) >= MAX_MARKDOWN_ENTRIES:
            # Edits leave renders of old texts behind: past this many, start over (the next store
            # replaces every segment).
            renderer = MarkdownRenderer()
        self._markdown_before = renderer.remembered()
        return renderer

    def _segments(self) -> list[int]:
        self._prepare()
        numbers: list[int] = []
        for path in self.folder.glob("markdown-*.pickle"):
            number = path.name[len("markdown-") : -len(".pickle")]
            if number.isdigit():
                numbers.append(int(number))
        return sorted(numbers)

    def store_renderer(self, renderer: MarkdownRenderer) -> None:
        """Add a segment with what this build rendered (or, past the limit, store all as one)."""
        before = getattr(self, "_markdown_before", (0, 0))
        segments: list[int] = getattr(self, "_markdown_segments", [])
        if renderer.remembered() == before:
            return
        if len(segments) >= MAX_MARKDOWN_SEGMENTS or before == (0, 0):
            number = (segments[-1] + 1) if segments else 0
            self.put(f"markdown-{number}.pickle", renderer.remembered_since())
            for old in segments:
                with contextlib.suppress(OSError):
                    self._path(f"markdown-{old}.pickle").unlink()
            self._markdown_segments = [number]
        else:
            number = segments[-1] + 1
            self.put(f"markdown-{number}.pickle", renderer.remembered_since(before))
            self._markdown_segments = [*segments, number]
        self._markdown_before = renderer.remembered()

    def pages(self, audience: str, folder: Path) -> PageCache:
        stored = self.get(f"pages-{audience}.pickle")
        if not isinstance(stored, tuple) or len(stored) != 2:
            return PageCache(folder)
        records, projects = stored
        return PageCache(folder, records, projects=projects)

    def store_pages(self, audience: str, pages: PageCache) -> None:
        pages.record_written()
        self.put(f"pages-{audience}.pickle", (pages.current, pages.checked_projects()))

    # -- whole builds -----------------------------------------------------------------------------

    def build_key(self, head: str | None, options: Sequence[object]) -> str | None:
        """The key of a build of these inputs, this commit and these options (None: inputs too fresh)."""
        signature = self.signature()
        if not signature.trusted:
            return None
        return hashlib.blake2b(repr((signature.digest, head, tuple(options))).encode(), digest_size=20).hexdigest()

    def unchanged_build(self, key: str | None) -> list[Path] | None:
        """The folders of the last build when it had this key and every file it wrote is still as written."""
        if key is None:
            return None
        stored = self.get("build.pickle")
        if not isinstance(stored, tuple) or len(stored) != 3 or stored[0] != key:
            return None
        _, folders, manifest = stored
        for folder in folders:
            if _manifest(folder) != manifest.get(str(folder)):
                return None
        # A build stopped while it removed the sites it replaced leaves its staging folder (it noted
        # this build meanwhile: `site.build_sites`, `then`): building again removes it.
        if any(_holds_staging(Path(folder).parent) for folder in folders):
            return None
        return list(folders)

    def store_build(self, key: str | None, folders: Sequence[Path]) -> None:
        if key is None:
            return
        self.put("build.pickle", (key, list(folders), {str(folder): _manifest(folder) for folder in folders}))

    # -- trail ------------------------------------------------------------------------------------

    def last_walk(self, viewers: Hashable) -> tuple[str, HistoryTrail] | None:
        """The history half of the trails (`trail.read_candidates`) last walked for these viewers
        (`trail.viewers_key`), with the HEAD it was walked at: a walk at a new HEAD passes over its
        commits. Put together again from what `store_trail` kept."""
        from .trail import HistoryTrail

        index = self._trail_index()
        if index is None or index.viewers != viewers:
            return None
        stored = self.trail_candidates(index.head, viewers, lambda _: True)
        order = self.get(index.order)
        if stored is None or not isinstance(order, list):
            return None
        walked: dict[str, tuple[Candidate, ...]] = dict.fromkeys(order, ())
        placed = sorted((item for items in stored.grouped.values() for item in items), key=operator.itemgetter(0))
        for commit, found in itertools.groupby((candidate for _, candidate in placed), key=_commit_of):
            if commit not in walked:
                return None
            walked[commit] = tuple(found)
        return index.head, HistoryTrail(walked=walked, warnings=stored.warnings, commits=stored.commits)

    def has_trail(self, head: str) -> bool:
        """Whether the history at this HEAD was walked before (for some audiences)."""
        index = self._trail_index()
        return index is not None and index.head == head

    def _trail_index(self) -> _TrailIndex | None:
        index = self.get("candidates.pickle")
        return index if isinstance(index, _TrailIndex) else None

    def trail_parts(self, keys: Mapping[str, bytes]) -> dict[str, TrailPart]:
        """The trail parts of the last build (`trail.TrailPart`) that have these keys, by project id.

        An index, `filtered-trails.pickle`, gives each part's key and file: parts whose key changed are
        not read at all.
        """
        from .trail import TrailPart

        index = self.get("filtered-trails.pickle")
        if not isinstance(index, dict):
            return {}
        parts: dict[str, TrailPart] = {}
        for pid, key in keys.items():
            entry = index.get(pid)
            if not isinstance(entry, tuple) or entry[0] != key:
                continue
            part = self.get(entry[1])
            if isinstance(part, TrailPart) and part.key == key:
                parts[pid] = part
        return parts

    def store_trail_parts(self, parts: Mapping[str, TrailPart]) -> None:
        """Keep these trail parts (the last build's): only those not kept with the same key are written."""
        self._prepare()
        index = self.get("filtered-trails.pickle")
        index = index if isinstance(index, dict) else {}
        kept: dict[str, tuple[bytes, str]] = {}
        for pid, part in sorted(parts.items()):
            if not part.key:
                continue
            entry = index.get(pid)
            if isinstance(entry, tuple) and entry[0] == part.key and self._path(entry[1]).is_file():
                kept[pid] = entry
                continue
            name = f"filtered-trail-{hashlib.blake2b(pid.encode(), digest_size=8).hexdigest()}-{os.urandom(4).hex()}.pickle"
            self.put(name, part)
            kept[pid] = (part.key, name)
        self.put("filtered-trails.pickle", kept)
        wanted = {name for _, name in kept.values()}
        for old in self.folder.glob("filtered-trail-*.pickle"):
            if old.name not in wanted:
                with contextlib.suppress(OSError):
                    old.unlink()

    def trail_candidates(self, head: str, viewers: Hashable, needed: Callable[[str], bool]) -> StoredCandidates | None:
        """The history walked at this HEAD for these viewers as candidates by project (`trail.candidates_by_project`),
        with those of the projects `needed` says read: None when it was not kept, or a file is missing."""
        index = self._trail_index()
        if index is None or (index.head, index.viewers) != (head, viewers):
            return None
        from .trail import PlacedGroup

        grouped: dict[str, Placed] = {}
        for pid, name in index.files.items():
            if not needed(pid):
                continue
            stored = self.get(name)
            try:
                if not isinstance(stored, PlacedGroup):
                    return None
                grouped[pid] = stored.value()
            except Exception:  # any damage to a cache file means "no cache"
                return None
        return StoredCandidates(grouped, list(index.warnings), index.commits, dict(index.digests))

    def trail_digests(self, head: str, viewers: Hashable) -> dict[str, bytes] | None:
        """The digest of each project's candidates in the history walked at this HEAD for these viewers
        (`StoredCandidates.digests`), without reading them; None when it was not kept."""
        index = self._trail_index()
        if index is None or (index.head, index.viewers) != (head, viewers):
            return None
        return dict(index.digests)

    def store_trail(
        self,
        head: str,
        viewers: Hashable,
        walked: WalkSummary,
        grouped: Mapping[str, PlacedGroup],
        digests: Mapping[str, bytes],
    ) -> None:
        """Keep the history walked at this HEAD: its candidates by project (`grouped`, its
        `trail.candidates_by_project`, with their `digests`), one file each (a rebuild at the same HEAD
        reads only those of the projects it filters again), and its commits in order (`walked`: a walk
        at a new HEAD passes over them). One HEAD at a time: a walk at this HEAD holds every commit an
        older one held that still counts."""
        self._prepare()
        # Named by a generation of their own: a build storing beside this one never mixes its files in.
        generation = os.urandom(8).hex()
        files: dict[str, str] = {}
        for number, (pid, placed) in enumerate(sorted(grouped.items())):
            files[pid] = f"candidates-{generation}-{number}.pickle"
            self.put(files[pid], placed)
        order = f"candidates-{generation}-commits.pickle"
        self.put(order, list(walked.order))
        index = _TrailIndex(head, viewers, list(walked.warnings), walked.commits, files, order, dict(digests))
        self.put("candidates.pickle", index)
        for old in self.folder.glob("candidates-*.pickle"):
            if not old.name.startswith(f"candidates-{generation}-"):
                with contextlib.suppress(OSError):
                    old.unlink()


@dataclass(frozen=True)
class WalkSummary:
    """What the cache keeps of a walk besides its candidates: its commits in order, warnings, number of commits."""

    order: list[str]
    warnings: list[str]
    commits: int

    @classmethod
    def of(cls, history: HistoryTrail) -> WalkSummary:
        return cls(list(history.walked), list(history.warnings), history.commits)


@dataclass(frozen=True)
class _TrailIndex:
    """What `BuildCache.store_trail` kept of a walk: its HEAD and viewers, warnings and number of commits,
    the file of each project's candidates, and the file of its commits in order."""

    head: str
    viewers: Hashable
    warnings: list[str]
    commits: int
    files: dict[str, str]
    order: str
    digests: dict[str, bytes]


def _commit_of(candidate: Candidate) -> str:
    return candidate.event.commit


def _described_by_shard(signature: Signature) -> list[tuple[dict[str, bytes], frozenset[str]]]:
    """Each parse-cache shard's input paths as described by the signature, and its unsettled files."""
    paths: list[dict[str, bytes]] = [{} for _ in range(PARSE_SHARDS)]
    kinds = signature.kinds
    for rel, described in signature.stats.items():
        paths[_parse_shard(rel)][rel] = _FOLDER if kinds.get(rel) == "dir" else described
    return [
        (shard, frozenset(rel for rel in signature.unsettled if shard.get(rel, _FOLDER) != _FOLDER)) for shard in paths
    ]


def _parse_shard(rel: str) -> int:
    """The parse cache's file for a path (stable across runs and processes)."""
    return zlib.crc32(rel.encode("utf-8", "surrogateescape")) % PARSE_SHARDS


def _holds_staging(out: Path) -> bool:
    """Whether the output folder `out` holds a build's staging folder (`buildbase.STAGING_PREFIX`)."""
    from .buildbase import STAGING_PREFIX

    try:
        with os.scandir(out) as entries:
            return any(entry.name.startswith(STAGING_PREFIX) for entry in entries)
    except OSError:
        return False


def _manifest(folder: Path) -> dict[str, tuple[int, int, int]] | None:
    """Every file under `folder` by relative path: (size, modification time, inode); None when absent."""
    if not folder.is_dir() or folder.is_symlink():
        return None
    out: dict[str, tuple[int, int, int]] = {}
    for path in _walk(str(folder), ""):
        info = os.lstat(os.path.join(folder, path))
        out[path] = (info.st_size, info.st_mtime_ns, info.st_ino)
    return out


def _walk(base: str, rel: str) -> Iterator[str]:
    with os.scandir(os.path.join(base, rel) if rel else base) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            path = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(base, path)
            else:
                yield path


# ================================================================================== the commands' use


def validate_cached(
    root: Path, cache: BuildCache | None, *, need_model: bool = True
) -> tuple[Report, LoadResult | None]:
    """Validate the workspace, reusing what the cache knows; the LoadResult is None only when not needed.

    Without a model to return, identical inputs give the stored report at once. Otherwise the last
    load is taken with the record files changed since read again (`BuildCache.reloaded`), or every
    file is read, and only files whose bytes changed are parsed and schema-checked again.
    """
    from .validate import validate_loaded, validate_workspace

    if cache is None:
        return validate_workspace(root)
    if not need_model:
        report = cache.report()
        if report is not None:
            return dataclasses.replace(report, root=root), None
    # What a load makes lives on (the workspace, its documents): the collector would walk all of it
    # again after each step (~1 s of a cold `validate` at 10,000 tasks). Nothing here makes cycles.
    with collector_paused():
        result = cache.reloaded()
        if result is None:
            parses = cache.parses()
            result = load_workspace(root, parses, cache.signature().tree(root))
            # Keeping the model costs a cold `validate` time it does not need: only a build keeps it.
            cache.store_load(result, parses, model=need_model)
        report = validate_loaded(result)
        cache.store_report(report)
    return report, result


def git_head(root: Path) -> str | None:
    """The commit at HEAD of the repository holding the workspace (None without Git or commits)."""
    from .gitutil import GitError, GitUnavailable, find_repository

    try:
        return find_repository(root).resolve("HEAD")
    except (GitError, GitUnavailable, OSError):
        return None


def history_cached(
    root: Path, audiences: Sequence[Audience], cache: BuildCache | None, head: str | None
) -> StoredCandidates:
    """The history half of the trails, as candidates by project: from the cache when HEAD is unchanged,
    else walked and kept, with each project's digest.

    A walk passes over the commits of the last walk stored for the same viewers (a CI build after a
    push walks only the pushed commits).
    """
    from .trail import viewers_key

    if cache is not None and head is not None:
        stored = cache.trail_candidates(head, viewers_key(audiences), lambda _: True)
        if stored is not None:
            return stored
    history, placed, _, digests = _walk_by_project(root, audiences, cache, head, pickle_all=False)
    return StoredCandidates(placed, list(history.warnings), history.commits, digests)


def _walk_by_project(
    root: Path, audiences: Sequence[Audience], cache: BuildCache | None, head: str | None, *, pickle_all: bool
) -> tuple[HistoryTrail, dict[str, Placed], dict[str, PlacedGroup], dict[str, bytes]]:
    """Walk the history (`walk_history`) and keep it in the cache at `head`: the walk, its candidates by
    project with their digests (`candidates_digest`), and each project's as the cache keeps them (when
    kept, or `pickle_all`)."""
    from .trail import PlacedGroup, candidates_by_project, viewers_key

    history = walk_history(root, audiences, cache)
    placed = candidates_by_project(history)
    digests = {pid: candidates_digest(candidates) for pid, candidates in placed.items()}
    pickled: dict[str, PlacedGroup] = {}
    if pickle_all or (cache is not None and head is not None):
        pickled = {pid: PlacedGroup.of(candidates) for pid, candidates in placed.items()}
    if cache is not None and head is not None:
        cache.store_trail(head, viewers_key(audiences), WalkSummary.of(history), pickled, digests)
    return history, placed, pickled, digests


def candidates_digest(placed: Placed) -> bytes:
    """A digest of a project's candidates (`trail.candidates_by_project`): their places and commits.

    A commit's candidates are the same whenever it is walked for the same viewers by the same code
    (what the cache's salt and the walk's viewers hold): they depend only on the commit and its
    ancestors, which its id names. So their places and commits say what they are, without reading
    them (their pickled bytes would not: objects read back share differently than new ones).
    """
    return placed_digest((position, candidate.event.commit) for position, candidate in placed)


def placed_digest(marks: Iterable[tuple[int, str]]) -> bytes:
    """`candidates_digest` of candidates known by their places and commits alone."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update("\n".join(f"{position} {commit}" for position, commit in marks).encode())
    return digest.digest()


@dataclass(frozen=True)
class WalkedAhead:
    """The history walked by a worker (`prefetch_history`), kept in the cache when it has a HEAD: each
    project's candidates as pickled for the cache, which is also how they cross to the build's process."""

    grouped: dict[str, PlacedGroup]
    warnings: list[str]
    commits: int
    digests: dict[str, bytes]

    def stored(self, needed: Callable[[str], bool]) -> StoredCandidates:
        """The candidates of the projects `needed` says (the others are not even unpickled)."""
        grouped = {pid: placed.value() for pid, placed in self.grouped.items() if needed(pid)}
        return StoredCandidates(grouped, self.warnings, self.commits, self.digests)


def _walk_ahead(root: Path, audiences: Sequence[Audience], cache: BuildCache | None, head: str | None) -> WalkedAhead:
    """Walk the history and keep it in the cache at `head` (`_walk_by_project`); give it by project, pickled.

    Without a walk to pass over (none kept for these viewers), the walk is shared by owners where it can
    be, each process pickling its own projects' candidates (`trail.read_grouped`)."""
    from .trail import read_grouped, viewers_key

    viewers = viewers_key(audiences)
    kept = cache._trail_index() if cache is not None else None
    grouped = read_grouped(root, audiences) if kept is None or kept.viewers != viewers else None
    if grouped is None:
        history, _, pickled, digests = _walk_by_project(root, audiences, cache, head, pickle_all=True)
        return WalkedAhead(pickled, list(history.warnings), history.commits, digests)
    digests = {
        pid: placed_digest(zip(group.positions, grouped.commits_of[pid], strict=True))
        for pid, group in grouped.groups.items()
    }
    if cache is not None and head is not None:
        summary = WalkSummary(grouped.order, grouped.warnings, grouped.commits)
        cache.store_trail(head, viewers, summary, grouped.groups, digests)
    return WalkedAhead(grouped.groups, grouped.warnings, grouped.commits, digests)


def prefetch_history(
    root: Path, cache: BuildCache | None, head: str | None
) -> tuple[tuple[Audience, ...], Forked[WalkedAhead]] | None:
    """Start walking the history for the trail in a worker; None when no worker can help.

    The worker passes over the commits of the last walk in `cache` (see `walk_history`) and keeps
    its walk there at `head` itself (`_walk_ahead`): the build's process, busy until then, pickles
    none of it again.
    """
    from .render_pool import Forked, light_audiences, workers_available

    if not workers_available():
        return None
    audiences = light_audiences(root)
    if audiences is None:
        return None

    return audiences, Forked(lambda: _walk_ahead(root, audiences, cache, head))


def walk_history(root: Path, audiences: Sequence[Audience], cache: BuildCache | None) -> HistoryTrail:
    """Walk the history for these audiences, passing over the commits of the last walk `cache` holds for their viewers."""
    from .trail import read_candidates, viewers_key

    previous = cache.last_walk(viewers_key(audiences)) if cache is not None else None
    if previous is None:
        return read_candidates(root, audiences)
    head, walked = previous
    return read_candidates(root, audiences, walked.walked, known_head=head)


class BuildSession:
    """What `worktrail build` asks of the cache, step by step (all of it optional: `use_cache=False`).

    1. `unchanged()`: the folders of an identical earlier build whose files are untouched (skip all);
    2. `validate()`: the report and the loaded workspace, parsing only changed files;
    3. `trails()`: the trail of each audience, the history half from the cache or a worker, each
       project's events filtered again only when what filtering them reads changed;
    4. `site_hooks(ws)`: the Markdown renderer, previous sites, project versions and event keys for
       `site.build_sites`;
    5. `finish()`: remember this build.
    """

    def __init__(
        self, root: Path, *, use_cache: bool, trail: bool, names: Sequence[str], target: Path, epoch: int
    ) -> None:
        self.root = root
        self.cache = BuildCache(root) if use_cache else None
        self.trail = trail
        self.target = target.absolute()
        self.head = git_head(root) if trail else None
        self._prefetch = None
        walked = self.cache is not None and self.head is not None and self.cache.has_trail(self.head)
        if trail and not walked:
            # The history walk needs neither the input signature nor the validated workspace: it starts
            # at once, beside them (a build with nothing changed was walked at this HEAD before).
            self._prefetch = prefetch_history(root, self.cache, self.head)
        options = (sorted(names), str(self.target), trail, epoch)
        self.key = self.cache.build_key(self.head, options) if self.cache is not None else None
        self._unchanged = self.cache.unchanged_build(self.key) if self.cache is not None else None
        if self._unchanged is not None and self._prefetch is not None:
            self._prefetch[1].cancel()
            self._prefetch = None
        self._renderer: MarkdownRenderer | None = None
        self._pages: dict[str, PageCache] = {}
        self._held = LongLived()
        self._versions: tuple[m.Workspace, Versions | None] | None = None
        # By project, the key of its events in the trails made (`trail.TrailPart.key`).
        self._event_keys: dict[str, bytes] | None = None
        # The trails made, to keep their parts once the sites are built (`finish`).
        self._trails: Trails | None = None

    @contextlib.contextmanager
    def _long_lived(self) -> Iterator[None]:
        """Run a step with the cycle collector paused, then set aside (`gc.freeze`) all that lives after it.

        What validation and the trails load (the workspace, its documents, the history) lives for
        the whole build, and makes no cycles: each collection after them walked all of it again (at
        10,000 tasks, ~0.7 s of a rebuild after one edit). `site_hooks` hands it back to the
        collector, as `site.build_sites` sets aside what lives when it starts. Objects someone else
        set aside are left as they are.
        """
        with collector_paused():
            yield
            self._held.set_aside()

    def _hand_back(self) -> None:
        self._held.hand_back()

    def unchanged(self) -> list[Path] | None:
        """The sites of an identical earlier build, all files as it wrote them (None: build)."""
        return self._unchanged

    def cached_report(self) -> Report | None:
        """The validation report of these inputs from an earlier run (for its warnings)."""
        return self.cache.report() if self.cache is not None else None

    def validate(self) -> tuple[Report, LoadResult | None]:
        with self._long_lived():
            return validate_cached(self.root, self.cache)

    def trails(self, ws: m.Workspace) -> Trails:
        """Every audience's trail; the history is walked at most once per HEAD, and a project's events
        are filtered again only when the project or what else the filter reads changed."""
        from .redact import default_audiences
        from .trail import filter_trails, viewers_key

        audiences = default_audiences(ws)
        if self._prefetch is not None:
            light, worker = self._prefetch
            self._prefetch = None
            # The sites compile their templates first (`site.environment` keeps them): done while the
            # walk runs, which leaves a core idle part of the time.
            from .site import environment

            environment(str(self.cache.folder / "templates") if self.cache is not None else None)
            ahead = worker.result()
            # The worker read the audiences without the projects: use its walk only if they agree.
            if ahead is not None and tuple(light) != tuple(audiences):
                ahead = None
        else:
            ahead = None
        with self._long_lived():
            viewers = viewers_key(audiences)
            cache, head = self.cache, self.head
            # Each project's events are filtered from its candidates: the digest of those (not HEAD) keys
            # its part, so after a push only the projects with new candidates are filtered again.
            stored: StoredCandidates | None = None
            if ahead is not None:
                digests: dict[str, bytes] | None = ahead.digests
            elif cache is not None and head is not None:
                digests = cache.trail_digests(head, viewers)
            else:
                digests = None
            if digests is None:
                stored = history_cached(self.root, audiences, cache, head)
                digests = stored.digests
            keys = self._trail_keys(ws, viewers, digests)
            kept = cache.trail_parts(keys) if cache is not None and keys else {}
            if stored is None:
                # Only the candidates of projects not taken over are read (or unpickled).
                needed = lambda pid: pid not in kept  # noqa: E731
                if ahead is not None:
                    stored = ahead.stored(needed)
                elif cache is not None and head is not None:
                    stored = cache.trail_candidates(head, viewers, needed)
            if stored is None:
                # A file of the kept walk is missing: walked again, keyed again.
                stored = history_cached(self.root, audiences, cache, head)
                keys = self._trail_keys(ws, viewers, stored.digests)
                kept = cache.trail_parts(keys) if cache is not None and keys else {}
            # Each audience's events are filtered where its site is built (a worker builds some), when
            # first asked for; `finish` keeps the parts, every audience filtered by then.
            names = [audience.name for audience in audiences]
            trails = filter_trails(
                stored.grouped, stored.warnings, stored.commits, ws, audiences, keys, kept, later=names
            )
            if cache is not None and keys:
                self._trails = trails
            self._event_keys = {pid: part.key for pid, part in trails.parts.items() if part.key}
            return trails

    def _trail_keys(self, ws: m.Workspace, viewers: Hashable, digests: Mapping[str, bytes]) -> dict[str, bytes]:
        """By project id ("": events of no project), the key of what filtering its events reads (`trails_from`):
        its candidates (`digests`), the viewers, and what judging and summarising them reads of `ws`."""
        from .site import job_key

        versions = self._versions_of(ws)
        if versions is None or self.head is None:
            return {}
        skeleton, known = versions
        return {
            "": job_key("trail", digests.get(""), viewers, skeleton),
            **{pid: job_key("trail", digests.get(pid), viewers, skeleton, stamp) for pid, stamp in known.items()},
        }

    def _versions_of(self, ws: m.Workspace) -> Versions | None:
        """`site.project_versions` of the workspace validated, worked out once."""
        from .site import project_versions

        if self._versions is None and self.cache is not None:
            self._versions = (ws, project_versions(ws, self.cache.stamps()))
        return self._versions[1] if self._versions is not None and self._versions[0] is ws else None

    def site_hooks(self, ws: m.Workspace) -> dict[str, Any]:
        """Keyword arguments for `site.build_sites` of `ws`: cached Markdown, previous sites, compiled
        templates, each project's generation (empty without cache)."""
        if self.cache is None:
            self._hand_back()
            return {}
        cache = self.cache
        with self._long_lived():
            self._renderer = cache.renderer()
        self._hand_back()

        def previous(name: str) -> PageCache:
            pages = self._pages[name] = cache.pages(name, self.target / name)
            return pages

        return {
            "renderer": self._renderer,
            "previous": previous,
            "template_cache": cache.folder / "templates",
            "versions": self._versions_of(ws),
            "event_keys": self._event_keys,
            # The trail events the worker that builds other audiences filters come back to be kept.
            "shared": [self._trails] if self._trails is not None else [],
        }

    def finish(self, folders: Sequence[Path]) -> None:
        """Remember the build: Markdown, pages as written, and its key with what it wrote."""
        if self.cache is None:
            return
        if self._trails is not None:
            with collector_paused():
                # Audiences no site of this build showed (`--audience`) are filtered for the next build.
                self._trails.complete()
                self.cache.store_trail_parts(self._trails.parts)
        if self._renderer is not None:
            self.cache.store_renderer(self._renderer)
        for name, pages in self._pages.items():
            self.cache.store_pages(name, pages)
        self.cache.store_build(self.key, folders)

    def close(self) -> None:
        """End a worker that is no longer wanted (the build stopped early)."""
        self._hand_back()
        if self._prefetch is not None:
            self._prefetch[1].cancel()
            self._prefetch = None
