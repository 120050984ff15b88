"""Role-checked writes (SPEC §4): each operation asks the policy, writes atomically, validates, commits.

Every operation of `Writer` follows the same steps, so a refusal never leaves a trace:
0. take the workspace's write lock (one write at a time; see "interruptions" below) and undo what a
   killed write left;
1. load the workspace and find the acting person (`--as`, else `git config user.email` matched
   case-insensitively against people's `emails`);
2. ask `Policy.can_do` about the state before the change; a denial raises `Refused` before any
   file is touched;
3. write each file to a temporary file in the same folder and rename it into place;
4. load and check the workspace again: if the change introduced an error, restore every file and
   raise `Refused`;
5. commit only the files written (`git commit --only`), with the acting person as Git author. The
   user's other staged or unstaged changes stay as they were; a file the write must change that
   already has uncommitted changes is refused, since committing it would sweep those changes in.

A task created (or set) with `change_request` is also added to that request's `tasks` when the
actor may edit the request (still proposed; its requester or a manager). A decided request keeps
its list as decided (SPEC §4), and the task's own `change_request` is the link.

Ids of new records: tasks take the next free number of their project (`WEB-27`), change requests
the next free `CR-<n>` of their project, comments the next free `c<n>` of their task, meetings
`<date>-<slug of the title>`, feedback `<milestone>-feedback` or `<date>-<author>` (a `-2`, `-3`
suffix when taken). YAML is written in the sample's style: block mappings, short id lists in flow
style (`[ana, leo]`), strings that YAML 1.1 would misread quoted, no line wrapping.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import re
import secrets
import stat
import subprocess
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Concatenate, Literal, ParamSpec, cast

import yaml

from . import model as m
from .findings import Finding
from .gitutil import GitUnavailable, git_command, git_env
from .identity import owner_of
from .load import CR_ID, LOWER_ID, TASK_ID, LoadResult, ParseCache, load_tree
from .locking import LockBusy, LockError, locked
from .policy import Action, MilestoneRef, PersonViewer, Policy, Verdict
from .scaffold import SCHEMA_FOLDER
from .tree import DiskTree
from .validate import validate_loaded
from .yamlio import SCHEMA_COMMENT, SourceError, decode, parse_yaml

__all__ = [
    "TASK_FIELDS",
    "Outcome",
    "Refused",
    "UsageError",
    "WriteError",
    "Writer",
    "dump_yaml",
    "edit_yaml_text",
    "format_datetime",
    "git",
    "parse_when",
    "person_for_email",
    "schema_comment",
]

_Priority = Literal["low", "normal", "high", "urgent"]

# Field order of each record, as the SPEC lists them; new keys are inserted at their place.
TASK_ORDER = (
    "title",
    "status",
    "assignee",
    "subscribers",
    "created_by",
    "created",
    "due",
    "estimate_hours",
    "priority",
    "tags",
    "milestone",
    "deliverable",
    "change_request",
    "attachments",
    "hidden",
    "visible_to",
)
CR_ORDER = ("title", "requested_by", "requested_on", "status", "impact", "decision", "tasks")
MILESTONE_ORDER = ("id", "title", "due", "criteria", "status", "signed_off_by", "signed_off_on")
FEEDBACK_ORDER = ("author", "date", "rating", "milestone", "response")

# Fields `task set` may change, with what each takes. `created_by` and `created` are facts of the
# creation and never change.
TASK_FIELDS: dict[str, str] = {
    "title": "text",
    "status": "one of " + ", ".join(m.TASK_STATUSES),
    "assignee": "a person id (empty: nobody)",
    "subscribers": "person ids, comma-separated",
    "due": "a date YYYY-MM-DD (empty: none)",
    "estimate_hours": "a number of hours (empty: none)",
    "priority": "one of " + ", ".join(m.PRIORITIES),
    "tags": "words, comma-separated",
    "milestone": "a milestone id of the project (empty: none)",
    "deliverable": "a deliverable id of the project (empty: none)",
    "change_request": "a change request id of the project (empty: none)",
    "attachments": "paths under the project's files/, comma-separated",
    "hidden": "true or false",
    "visible_to": "person or team ids, comma-separated",
}
_LIST_FIELDS = frozenset({"subscribers", "tags", "attachments", "visible_to"})
_DATE_KEYS = frozenset({"created", "due", "start", "baseline", "requested_on", "on", "signed_off_on", "date"})
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DATETIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})$")
_FLOW_ITEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]*$")
_CLOSED_CR = frozenset({"rejected", "withdrawn"})


# --------------------------------------------------------------------------------------- errors


class WriteError(Exception):
    """A write that cannot be done (unknown record, unusable file, Git failure); nothing was changed."""


class UsageError(WriteError):
    """The request itself is malformed: an unknown field, a value of the wrong shape."""


class Refused(WriteError):
    """The write rules or the workspace checks refused the change; nothing was changed."""

    def __init__(self, rule: str, reason: str, details: Sequence[str] = ()) -> None:
        super().__init__(reason if not details else reason + "\n" + "\n".join(f"  {d}" for d in details))
        self.rule = rule
        self.reason = reason
        self.details = tuple(details)

    @classmethod
    def from_verdict(cls, verdict: Verdict) -> Refused:
        return cls(verdict.rule, verdict.reason)


@dataclass(frozen=True)
class Outcome:
    """What a write did: the commit message, files written, the commit (if any) and why not."""

    message: str
    paths: tuple[str, ...]
    ident: str | None = None
    commit: str | None = None
    author: str | None = None
    note: str = ""
    warnings: tuple[Finding, ...] = ()
    rule: str = ""
    info: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------- YAML out


class Timestamp(str):
    """A date-time already formatted (`2026-01-20T09:10:00Z`), written unquoted like a date."""

    __slots__ = ()


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key ("decisions:\n  - ..."), as people write them.
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        style: str = super().choose_scalar_style()
        # Double quotes read more naturally than single ones ("10:00", "on").
        return '"' if style == "'" else style


def _represent_list(dumper: _Dumper, data: list[Any]) -> yaml.Node:
    flow = not data or all(
        isinstance(item, str)
        and _FLOW_ITEM.match(item) is not None
        and dumper.resolve(yaml.ScalarNode, item, (True, False)) == "tag:yaml.org,2002:str"  # type: ignore[no-untyped-call]
        for item in data
    )
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_str(dumper: _Dumper, data: str) -> yaml.Node:
    if "\n" in data.strip("\n"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_str(data)


def _represent_timestamp(dumper: _Dumper, data: Timestamp) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", str(data))


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(Timestamp, _represent_timestamp)


def _typed(value: Any, key: str | None = None) -> Any:
    """Date strings under date keys become dates, so they are written unquoted as people write them."""
    if isinstance(value, dict):
        return {k: _typed(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v, key) for v in value]
    if isinstance(value, str) and key in _DATE_KEYS:
        if _DATE.match(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                return value
        if _DATETIME.match(value):
            return Timestamp(value)
    return value


def dump_yaml(data: Any) -> str:
    """YAML text of plain data in the workspace style (stable, readable, unwrapped)."""
    text: str = yaml.dump(
        _typed(data),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,
    )
    return text


def format_datetime(value: dt.datetime) -> str:
    """`2026-01-20T09:10:00Z` for UTC, else the ISO form with its offset (seconds precision)."""
    value = value.replace(microsecond=0)
    if value.utcoffset() == dt.timedelta(0):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def schema_comment(root: Path, rel: str, name: str) -> str:
    """The editor schema line for a new file, or "" when the workspace has no `.schemas/` folder."""
    if not (root / SCHEMA_FOLDER).is_dir():
        return ""
    depth = rel.count("/")
    return f"{SCHEMA_COMMENT} $schema={'../' * depth}{SCHEMA_FOLDER}/{name}.schema.json\n"


def _put(mapping: dict[str, Any], key: str, value: Any, order: Sequence[str]) -> dict[str, Any]:
    """`mapping` with `key` set: replaced in place, or inserted at its place in `order`."""
    if key in mapping:
        out = dict(mapping)
        out[key] = value
        return out
    rank = {k: i for i, k in enumerate(order)}
    mine = rank.get(key, len(order))
    items = list(mapping.items())
    at = 0
    for index, (existing, _) in enumerate(items):
        if rank.get(existing, -1) < mine:
            at = index + 1
    items.insert(at, (key, value))
    return dict(items)


def _new_record(front: Mapping[str, Any], body: str, schema: str) -> str:
    text = "---\n" + schema + dump_yaml(dict(front)) + "---\n"
    body = body.strip("\n")
    return text + ("\n" + body + "\n" if body.strip() else "")


def _split_leading_comments(text: str) -> tuple[str, str]:
    lines = text.split("\n")
    count = 0
    while count < len(lines) and (lines[count].startswith("#") or not lines[count].strip()):
        count += 1
    return "".join(line + "\n" for line in lines[:count]), "\n".join(lines[count:])


def edit_yaml_text(text: str, rel: str, update: Callable[[Any], Any]) -> str:
    """Re-dump a YAML file after `update(data)`, keeping its leading comment lines."""
    head, rest = _split_leading_comments(text)
    data = parse_yaml(rest, rel).data
    return head + dump_yaml(update(data))


def _edit_record(text: str, rel: str, update: Callable[[dict[str, Any]], dict[str, Any]]) -> str:
    """Re-dump a Markdown record's front matter; everything from the closing `---` on stays byte-identical."""
    lines = text.split("\n")
    start = 0
    while start < len(lines) and lines[start].startswith(SCHEMA_COMMENT):
        start += 1
    if start >= len(lines) or lines[start].rstrip() != "---":
        raise WriteError(f"{rel}: no front matter to edit")
    end = start + 1
    while end < len(lines) and lines[end].rstrip() not in ("---", "..."):
        end += 1
    if end >= len(lines):
        raise WriteError(f"{rel}: its front matter is not closed by a '---' line")
    head, front = _split_leading_comments("\n".join(lines[start + 1 : end]))
    data = parse_yaml(front, rel, empty={}).data
    if not isinstance(data, dict):
        raise WriteError(f"{rel}: its front matter is not a mapping")
    before = "".join(line + "\n" for line in lines[: start + 1])
    return before + head + dump_yaml(update(data)) + "\n".join(lines[end:])


def _append_item(text: str | None, rel: str, item: Mapping[str, Any], schema: str) -> str:
    """A list file with `item` appended: as text after the existing bytes when that parses the same."""
    piece = dump_yaml([dict(item)])
    if text is None or not text.strip():
        return schema + piece
    old = parse_yaml(text, rel, empty=[]).data
    if not isinstance(old, list):
        raise WriteError(f"{rel}: expected a list of entries")
    expected = [*old, *parse_yaml(piece, rel).data]
    candidate = (text if text.endswith("\n") else text + "\n") + piece
    try:
        if parse_yaml(candidate, rel, empty=[]).data == expected:
            return candidate
    except SourceError:
        pass
    head, _ = _split_leading_comments(text)
    return head + dump_yaml([*old, dict(item)])


def _slug(text: str, limit: int = 40) -> str:
    words = re.sub(r"[^a-z0-9]+", " ", text.lower()).split()
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    return out or "note"


# --------------------------------------------------------------------------------------- Git


def git(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run git with gitutil's safe settings (no shell, hooks, fsmonitor, signing or prompts); WriteError on failure."""
    full_env = git_env()
    if env:
        full_env.update(env)
    try:
        command = git_command(args, ("commit.gpgsign=false",))
    except GitUnavailable as exc:
        raise WriteError(str(exc)) from None
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            check=False,
        )
    except OSError as exc:
        raise WriteError(f"cannot run git: {exc.strerror}") from None
    if check and done.returncode != 0:
        raise WriteError(f"git {args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done


def _in_repository(root: Path) -> bool:
    try:
        done = git(root, "rev-parse", "--is-inside-work-tree", check=False)
    except WriteError:
        return False
    return done.returncode == 0 and done.stdout.strip() == "true"


def _config(root: Path, key: str) -> str | None:
    try:
        done = git(root, "config", "--get", key, check=False)
    except WriteError:
        return None
    value = done.stdout.strip(" \t\r\n")
    return value if done.returncode == 0 and value else None


def person_for_email(ws: m.Workspace, email: str) -> m.Person | None:
    """The person one of whose `emails` is `email` under the one identity rule (`identity`)."""
    ident = owner_of(email, ((person.id, person.emails) for person in ws.people.values()))
    return ws.people[ident] if ident is not None else None


# --------------------------------------------------------------------------------------- input


def parse_when(text: str) -> dt.date | dt.datetime:
    """`2026-03-01` or `2026-03-01T10:00:00Z` (a date-time without offset is in the workspace zone)."""
    raw = text.strip()
    try:
        if _DATE.match(raw):
            return dt.date.fromisoformat(raw)
        return dt.datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise UsageError(
            f"{text!r} is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[:SS][Z|+01:00])"
        ) from None


def _date_value(field_name: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{field_name}: {text!r} is not a date written YYYY-MM-DD") from None


def _number(field_name: str, text: str | float, *, positive: bool = False) -> int | float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise UsageError(f"{field_name}: {text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")) or value < 0 or (positive and value == 0):
        raise UsageError(f"{field_name}: {text!r} must be a {'positive' if positive else 'non-negative'} number")
    return int(value) if value.is_integer() else value


def _words(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _show(value: Any) -> str:
    if value is None or value == []:
        return "(none)"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and " " in value:
        return f'"{value}"'
    return str(value)


def _hours(value: float) -> str:
    return f"{value:g}h"


# --------------------------------------------------------------------------------------- files


def _atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename."""
    # A recognisable name: one left by a killed write is removed by the next write (`_remove_temporary`).
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{TMP_SUFFIX}"
    # 0o666 lets the umask decide, as for any file the user creates.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists() and not path.is_symlink():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class _Transaction:
    """Files written so far, with their previous bytes, so any failure can put them back."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.saved: dict[str, bytes | None] = {}
        self.made_dirs: list[Path] = []

    def write(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        if rel not in self.saved:
            self.saved[rel] = path.read_bytes() if path.is_file() else None
        missing: list[Path] = []
        folder = path.parent
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for folder in reversed(missing):
            folder.mkdir()
            self.made_dirs.append(folder)
        _atomic_write(path, data)

    def rollback(self) -> None:
        for rel, old in self.saved.items():
            path = self.root / rel
            if old is None:
                path.unlink(missing_ok=True)
            else:
                _atomic_write(path, old)
        for folder in reversed(self.made_dirs):
            with contextlib.suppress(OSError):
                folder.rmdir()


# --------------------------------------------------------------------------------------- interruptions
#
# One write at a time per workspace: a lock (`worktrail.lock` in the Git folder, `.worktrail.lock` in
# the workspace outside Git). Before touching a file, a write records what it is about to change in a
# journal beside the lock (previous bytes, a hash of the new ones, folders it creates) and deletes the
# journal when it has committed or rolled back. A journal that is still there when the next write takes
# the lock belongs to a write that was killed: the next write undoes its uncommitted files first, removes
# its temporary files, and says so.

# A write waits this long for another one on the same workspace (one takes well under a second).
LOCK_WAIT_SECONDS = 30.0
TMP_SUFFIX = ".worktrail.tmp"
_TMP_NAME = re.compile(r"^\..+\.[0-9a-f]{8}" + re.escape(TMP_SUFFIX) + "$")
_GIT_LOCKS = ("index.lock", "HEAD.lock")
_GIT_LOCK_FAILURE = re.compile(r"Unable to create '([^']+\.lock)': File exists")


def _shown(path: Path) -> str:
    """`path` as the user would type it: relative to the current folder when inside it."""
    with contextlib.suppress(ValueError, OSError):
        return path.relative_to(Path.cwd()).as_posix()
    return str(path)


def _git_lock_error(path: Path) -> WriteError:
    shown = _shown(path)
    return WriteError(
        f"git's lock file {shown} exists: a git command is running in this repository, or one was killed; "
        f"remove {shown} if no other git process is running, then run the command again"
    )


def _git_dir(root: Path) -> Path | None:
    """The Git folder of the repository holding `root`, or None (no repository, or no git)."""
    try:
        done = git(root, "rev-parse", "--absolute-git-dir", check=False)
    except WriteError:
        return None
    text = done.stdout.strip()
    return Path(text) if done.returncode == 0 and text else None


def _write_journal(journal: Path, root: Path, changed: Mapping[str, bytes], committing: bool) -> None:
    """Record what a write is about to change, so that the next write can undo it if this one is killed."""
    files: dict[str, dict[str, str | None]] = {}
    made: set[str] = set()
    for rel, data in changed.items():
        old = _bytes_of(root / rel)
        files[rel] = {
            "old": None if old is None else base64.b64encode(old).decode("ascii"),
            "new": hashlib.sha256(data).hexdigest(),
        }
        folder = (root / rel).parent
        while not folder.exists():
            made.add(folder.relative_to(root).as_posix())
            folder = folder.parent
    # The workspace relative to the journal's folder: still right if the repository is moved meanwhile.
    where = os.path.relpath(root, journal.parent)
    record = {"pid": os.getpid(), "root": where, "commit": committing, "files": files, "folders": sorted(made)}
    # Written in place, not renamed: a journal cut short by a kill is not valid JSON, and then no
    # workspace file had been touched yet (files are written only after this returns). No fsync: what
    # the system has accepted survives a killed process, which is what the journal is for.
    fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666)
    with os.fdopen(fd, "wb") as handle:
        handle.write(json.dumps(record, indent=1, sort_keys=True).encode())


def _remove_temporary(folders: Iterable[Path]) -> list[Path]:
    """Remove the temporary files that killed writes left in `folders`; returns them."""
    removed: list[Path] = []
    for folder in sorted(set(folders)):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            path = folder / name
            if _TMP_NAME.match(name) and not path.is_symlink() and path.is_file():
                path.unlink()
                removed.append(path)
    return removed


def _journal_rel(value: object) -> str | None:
    """A workspace-relative path from a journal, or None when it could point anywhere else."""
    if not isinstance(value, str) or not value or "\\" in value or "\0" in value:
        return None
    pure = PurePosixPath(value)
    if pure.is_absolute() or any(part in ("", ".", "..") for part in value.split("/")):
        return None
    return pure.as_posix()


def _prefixes(rel: str) -> list[str]:
    """`a`, `a/b`, `a/b/c` for `a/b/c`."""
    parts = rel.split("/")
    return ["/".join(parts[: n + 1]) for n in range(len(parts))]


def _uncommitted(root: Path, rel: str) -> bool:
    done = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching", "--", rel)
    return bool(done.stdout.strip("\0"))


def _undo_interrupted(journal: Path, root: Path, in_repo: bool) -> list[str]:
    """Undo a killed write from its journal: put back the files it wrote but did not commit. Returns notes."""
    try:
        record = json.loads(journal.read_bytes())
        pid, files, folders = record["pid"], record["files"], record["folders"]
        where = (journal.parent / str(record["root"])).resolve()
        if not isinstance(files, dict) or not isinstance(folders, list):
            raise TypeError("journal")
    except (OSError, ValueError, KeyError, TypeError):
        # Cut short by the kill (see `_write_journal`): the write had not touched any file yet.
        journal.unlink(missing_ok=True)
        return [f"removed {_shown(journal)}, the unfinished record of a write killed before it changed any file"]
    who = f"an interrupted write (pid {pid})"
    if where != root:
        raise WriteError(
            f"{who} in the workspace {where} left {_shown(journal)}; run a write command there first "
            f"(or, if that workspace moved, check `git status` in it and remove {_shown(journal)})"
        )
    undone: list[str] = []
    reset: list[str] = []
    committed: list[str] = []
    kept: list[str] = []
    for key, entry in sorted(files.items()):
        rel = _journal_rel(key)
        try:
            if rel is None or not isinstance(entry, dict):
                raise ValueError(key)
            old = None if entry.get("old") is None else base64.b64decode(str(entry["old"]), validate=True)
        except ValueError:
            raise WriteError(
                f"{_shown(journal)}, the record of {who}, is damaged at {key!r}; "
                "check `git status` for what that write left, then remove the file"
            ) from None
        target = root / rel
        if any((root / part).is_symlink() for part in _prefixes(rel)):
            kept.append(rel)  # never written through a link
            continue
        current = None if target.is_symlink() else _bytes_of(target)
        if current == old:
            continue
        if current is None or hashlib.sha256(current).hexdigest() != entry.get("new"):
            kept.append(rel)  # changed by someone since: not ours to undo
        elif in_repo and not _uncommitted(root, rel):
            committed.append(rel)
        else:
            if old is None:
                target.unlink()
                undone.append(f"removed {rel}")
            else:
                _atomic_write(target, old)
                undone.append(f"put back {rel}")
            reset.append(rel)
    if in_repo and reset:
        # `git add` may have staged them before the kill: put their index entries back too.
        git(root, "reset", "--quiet", "--", *reset, check=False)
    for folder in sorted((f for f in map(_journal_rel, folders) if f), key=lambda f: -f.count("/")):
        with contextlib.suppress(OSError):
            (root / folder).rmdir()
    notes: list[str] = []
    if undone:
        notes.append(f"{who} was undone ({', '.join(undone)}): it had not been committed")
    if committed:
        notes.append(f"{who} had committed {', '.join(committed)}; nothing to undo")
    if kept:
        notes.append(f"{', '.join(kept)} changed after {who} wrote it; left as it is")
    parents = {(root / rel).parent for rel in map(_journal_rel, files) if rel}
    for path in _remove_temporary(parents):
        notes.append(f"removed {_shown(path)}, a temporary file of {who}")
    journal.unlink()
    return notes or [f"{who} had not changed any file; nothing to undo"]


_P = ParamSpec("_P")


def _exclusive(method: Callable[Concatenate[Writer, _P], Outcome]) -> Callable[Concatenate[Writer, _P], Outcome]:
    """Run a write operation holding the workspace's write lock (see `Writer.exclusive`)."""

    @functools.wraps(method)
    def run(self: Writer, /, *args: _P.args, **kwargs: _P.kwargs) -> Outcome:
        with self.exclusive():
            return method(self, *args, **kwargs)

    return run


# --------------------------------------------------------------------------------------- writer


@dataclass
class _State:
    result: LoadResult
    ws: m.Workspace
    policy: Policy
    actor: m.Person
    errors: frozenset[tuple[str, str, str]]
    warnings: frozenset[tuple[str, str, str]]
    files: dict[str, bytes] = field(default_factory=dict)
    info: list[str] = field(default_factory=list)


def _key(finding: Finding) -> tuple[str, str, str]:
    # Line numbers shift when a file is edited; the file, rule and message identify a problem.
    return (finding.loc.path, finding.code, finding.message)


class Writer:
    """Role-checked write operations on the workspace at `root`, each one commit by the acting person.

    `actor` is a person id (`--as`); None means `git config user.email`. `when` is the moment of the
    change (dates recorded and the Git author and committer dates); None means now. With
    `commit=False`, or outside a Git repository, files are written and nothing is committed.
    """

    def __init__(
        self,
        root: Path,
        actor: str | None = None,
        *,
        when: dt.date | dt.datetime | None = None,
        commit: bool = True,
        cache: ParseCache | None = None,
        committer_is_author: bool = False,
    ) -> None:
        self.root = root.resolve()
        self.actor_id = actor
        self.when = when
        self.commit = commit
        self.cache = cache if cache is not None else ParseCache()
        self.committer_is_author = committer_is_author
        # What this writer did about writes that were killed midway (one line each), for the caller to show.
        self.recovered: list[str] = []
        self._journal: Path | None = None
        self._held = False

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the workspace's write lock inside the block, first undoing any write killed midway.

        Waits up to LOCK_WAIT_SECONDS for another write (WriteError naming the lock and its holder); re-entrant.
        """
        if self._held:
            yield
            return
        git_dir = _git_dir(self.root)
        where, prefix = (git_dir, "") if git_dir is not None else (self.root, ".")
        lock = where / f"{prefix}worktrail.lock"
        journal = where / f"{prefix}worktrail-write.json"
        try:
            with locked(lock, wait=LOCK_WAIT_SECONDS):
                self._held = True
                try:
                    if git_dir is not None and (self.commit or journal.exists()):
                        for name in _GIT_LOCKS:
                            if (git_dir / name).exists():
                                raise _git_lock_error(git_dir / name)
                    for path in _remove_temporary([where]):
                        self.recovered.append(f"removed {_shown(path)}, a temporary file of an interrupted write")
                    if journal.exists() or journal.is_symlink():
                        self.recovered.extend(_undo_interrupted(journal, self.root, git_dir is not None))
                    self._journal = journal
                    yield
                finally:
                    self._held = False
                    self._journal = None
        except LockBusy as exc:
            holder = f"pid {exc.pid}" if exc.pid is not None else "pid unknown"
            raise WriteError(
                f"another worktrail write ({holder}) is changing this workspace: {_shown(lock)} stayed locked "
                f"for {LOCK_WAIT_SECONDS:g} s; run the command again when it has finished"
            ) from None
        except LockError as exc:
            raise WriteError(str(exc)) from None

    # ----------------------------------------------------------------- common steps

    def _load(self) -> LoadResult:
        return load_tree(DiskTree(self.root), self.root, self.cache)

    def _begin(self) -> _State:
        result = self._load()
        ws = result.workspace
        if ws is None:
            raise WriteError("the workspace settings (worktrail.yaml) cannot be read; run `worktrail validate`")
        report = validate_loaded(result)
        actor = self._resolve_actor(ws)
        return _State(
            result=result,
            ws=ws,
            policy=Policy(ws),
            actor=actor,
            errors=frozenset(_key(f) for f in report.findings if f.severity == "error"),
            warnings=frozenset(_key(f) for f in report.findings if f.severity == "warning"),
        )

    def _resolve_actor(self, ws: m.Workspace) -> m.Person:
        if self.actor_id is not None:
            person = ws.people.get(self.actor_id)
            if person is None:
                raise WriteError(f"--as {self.actor_id}: no such person in people/ (known: {', '.join(ws.people)})")
            return person
        email = _config(self.root, "user.email")
        if email is None:
            raise WriteError("who is acting? give --as PERSON, or set `git config user.email` to one of your emails")
        person = person_for_email(ws, email)
        if person is None:
            raise WriteError(
                f"git config user.email is {email!r}, which is no person's email (emails: in people/*.yaml); "
                "add it there or give --as PERSON"
            )
        return person

    def _moment(self, ws: m.Workspace) -> dt.datetime:
        zone = _zone(ws)
        when = self.when
        if when is None:
            return dt.datetime.now(dt.UTC).replace(microsecond=0)
        if isinstance(when, dt.datetime):
            return when if when.tzinfo is not None else when.replace(tzinfo=zone)
        # A bare date is noon in the workspace's zone: the same calendar day almost everywhere.
        return dt.datetime.combine(when, dt.time(12, 0), tzinfo=zone)

    def _today(self, ws: m.Workspace) -> dt.date:
        return self._moment(ws).astimezone(_zone(ws)).date()

    def _check(self, st: _State, action: Action, target: object) -> Verdict:
        verdict = st.policy.can_do(st.actor.id, action, target)
        if not verdict:
            raise Refused.from_verdict(verdict)
        return verdict

    def _read(self, st: _State, rel: str) -> str | None:
        """The current text of a workspace file (None when it does not exist)."""
        path = self.root / rel
        if path.is_symlink():
            raise WriteError(f"{rel} is a symbolic link; Worktrail does not write through links")
        if not path.exists():
            return None
        try:
            return decode(path.read_bytes(), rel)
        except SourceError as exc:
            raise WriteError(f"{exc.loc}: {exc.message}") from None

    def _stage(self, st: _State, rel: str, text: str) -> None:
        st.files[rel] = text.encode("utf-8")

    def _edit_record(self, st: _State, rel: str, update: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        text = st.files.get(rel)
        current = text.decode("utf-8") if isinstance(text, bytes) else self._read(st, rel)
        if current is None:
            raise WriteError(f"{rel} does not exist")
        try:
            self._stage(st, rel, _edit_record(current, rel, update))
        except SourceError as exc:
            raise WriteError(f"cannot edit {rel}: {exc}") from None

    def _finish(self, st: _State, message: str, verdict: Verdict, ident: str | None = None) -> Outcome:
        """Write the staged files, check the result, and commit them (or explain why not)."""
        changed = {rel: data for rel, data in st.files.items() if data != _bytes_of(self.root / rel)}
        paths = tuple(sorted(changed))
        if not changed:
            note = "nothing to change: the files already say so"
            return Outcome(message, (), ident, note=note, rule=verdict.rule, info=tuple(st.info))
        committing = self.commit and _in_repository(self.root)
        author = _author(st.actor)
        if committing:
            if author is None:
                raise WriteError(
                    f"{st.actor.id} has no emails in people/{st.actor.id}.yaml, so a commit cannot name them"
                )
            self._refuse_dirty(paths)
        tx = _Transaction(self.root)
        journal = self._journal
        if journal is not None:
            _write_journal(journal, self.root, changed, committing)
        try:
            # New files first: a file naming a new one (a request listing a new task) never lands
            # before it, so a write killed between two renames still leaves a valid workspace.
            for rel in sorted(paths, key=lambda rel: (self.root / rel).exists()):
                tx.write(rel, changed[rel])
            new_warnings = self._validate_after(st)
            commit_id = self._commit(st, paths, message, author) if committing and author else None
        except BaseException:
            tx.rollback()
            if journal is not None:
                journal.unlink(missing_ok=True)
            raise
        if journal is not None:
            journal.unlink(missing_ok=True)
        if commit_id is not None:
            note = ""
        elif not self.commit:
            note = "not committed (--no-commit)"
        else:
            note = "not committed: the workspace is not in a Git repository"
        shown = f"{author[0]} <{author[1]}>" if author else None
        return Outcome(message, paths, ident, commit_id, shown, note, new_warnings, verdict.rule, tuple(st.info))

    def _validate_after(self, st: _State) -> tuple[Finding, ...]:
        report = validate_loaded(self._load())
        new_errors = [f for f in report.findings if f.severity == "error" and _key(f) not in st.errors]
        if new_errors:
            raise Refused(
                "validation",
                "the change would make the workspace invalid, so nothing was written:",
                [str(f) for f in new_errors],
            )
        return tuple(f for f in report.findings if f.severity == "warning" and _key(f) not in st.warnings)

    def _refuse_dirty(self, paths: Iterable[str]) -> None:
        done = git(self.root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *paths)
        dirty = [entry[3:] for entry in done.stdout.split("\0") if len(entry) > 3]
        if dirty:
            raise WriteError(
                f"{', '.join(dirty)}: uncommitted changes that this commit would sweep in; "
                "commit or discard them first, or use --no-commit"
            )

    def _commit(self, st: _State, paths: Sequence[str], message: str, author: tuple[str, str]) -> str:
        env = {"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1]}
        if self.when is not None:
            stamp = self._moment(st.ws).isoformat()
            env.update({"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
        if (
            self.committer_is_author
            or _config(self.root, "user.email") is None
            or _config(self.root, "user.name") is None
        ):
            env.update({"GIT_COMMITTER_NAME": author[0], "GIT_COMMITTER_EMAIL": author[1]})
        try:
            git(self.root, "add", "--", *paths)
            git(self.root, "commit", "--quiet", "--no-verify", "--only", "-m", message, "--", *paths, env=env)
        except WriteError as exc:
            # Put the index entries of these paths back as they were (clean, or absent if new).
            git(self.root, "reset", "--quiet", "--", *paths, check=False)
            stale = _GIT_LOCK_FAILURE.search(str(exc))
            if stale:
                raise _git_lock_error(Path(stale.group(1))) from None
            raise
        return git(self.root, "rev-parse", "HEAD").stdout.strip()

    # ----------------------------------------------------------------- lookups

    def _project(self, ws: m.Workspace, project_id: str) -> m.Project:
        project = ws.projects.get(project_id)
        if project is None:
            raise WriteError(f"no project {project_id!r} (projects: {', '.join(ws.projects) or 'none'})")
        return project

    def _task(self, ws: m.Workspace, task_id: str) -> m.Task:
        if not TASK_ID.match(task_id):
            raise UsageError(f"{task_id!r} is not a task id (like WEB-12)")
        task = ws.find_task(task_id)
        if task is None:
            raise WriteError(f"no task {task_id}")
        return task

    def _change(self, ws: m.Workspace, ref: str, project_id: str | None) -> m.ChangeRequest:
        if "/" in ref and project_id is None:
            project_id, ref = ref.split("/", 1)
        if not CR_ID.match(ref):
            raise UsageError(f"{ref!r} is not a change request id (like CR-3)")
        projects = [self._project(ws, project_id)] if project_id is not None else list(ws.projects.values())
        found = [cr for p in projects if (cr := p.change(ref)) is not None]
        if not found:
            raise WriteError(f"no change request {ref}" + (f" in project {project_id}" if project_id else ""))
        if len(found) > 1:
            names = ", ".join(cr.project for cr in found)
            raise UsageError(f"{ref} exists in several projects ({names}); say which with --project or PROJECT/{ref}")
        return found[0]

    def _milestone(self, project: m.Project, milestone_id: str) -> m.Milestone:
        milestone = project.milestone(milestone_id)
        if milestone is None:
            known = ", ".join(x.id for x in project.milestones) or "none"
            raise WriteError(f"no milestone {milestone_id!r} in project {project.id} (milestones: {known})")
        return milestone

    def _feedback(self, project: m.Project, feedback_id: str) -> m.Feedback:
        for item in project.feedback:
            if item.id == feedback_id:
                return item
        raise WriteError(f"no feedback {feedback_id!r} in project {project.id}")

    def _person_ref(self, ws: m.Workspace, value: str, what: str) -> str:
        if value not in ws.people:
            hint = " (that is a team; a person is needed)" if value in ws.teams else ""
            raise WriteError(f"{what}: no person {value!r}{hint}")
        return value

    def _party_refs(self, ws: m.Workspace, values: Iterable[str], what: str) -> list[str]:
        out = []
        for value in values:
            if value not in ws.people and value not in ws.teams:
                raise WriteError(f"{what}: no person or team {value!r}")
            out.append(value)
        return out

    def _free_id(self, folder: Path, base: str) -> str:
        ident, n = base, 1
        while (folder / f"{ident}.md").exists() or (folder / ident).exists():
            n += 1
            ident = f"{base}-{n}"
        return ident

    def _new_id(self, folder: Path, ident: str | None, default: str, what: str) -> str:
        if ident is None:
            return self._free_id(folder, default)
        if not LOWER_ID.match(ident):
            raise UsageError(f"{ident!r} is not a valid {what} id (lowercase letters, digits and dashes)")
        if (folder / f"{ident}.md").exists():
            raise WriteError(f"{what} {ident} already exists")
        return ident

    # ----------------------------------------------------------------- tasks

    @_exclusive
    def task_new(
        self,
        project_id: str,
        title: str,
        *,
        assignee: str | None = None,
        subscribers: Sequence[str] = (),
        due: dt.date | None = None,
        estimate_hours: float | None = None,
        priority: str | None = None,
        tags: Sequence[str] = (),
        milestone: str | None = None,
        deliverable: str | None = None,
        change_request: str | None = None,
        attachments: Sequence[str] = (),
        hidden: bool = False,
        visible_to: Sequence[str] = (),
        body: str = "",
        task_id: str | None = None,
    ) -> Outcome:
        """Create a task (next free number) with `created_by` the actor and `created` today."""
        st = self._begin()
        ws = st.ws
        project = self._project(ws, project_id)
        if not title.strip():
            raise UsageError("a task needs a title")
        if priority is not None and priority not in m.PRIORITIES:
            raise UsageError(f"priority: {priority!r} is not one of {', '.join(m.PRIORITIES)}")
        if visible_to and not hidden:
            raise UsageError("--visible-to has effect only on a hidden task: add --hidden")
        folder = self.root / "projects" / project.id / "tasks"
        if task_id is None:
            task_id = f"{project.key}-{_next_number(folder, project.key + '-', '.md')}"
        elif not TASK_ID.match(task_id) or not task_id.startswith(project.key + "-"):
            raise UsageError(f"{task_id!r} is not a task id of project {project.id} (like {project.key}-12)")
        elif (folder / f"{task_id}.md").exists():
            raise WriteError(f"task {task_id} already exists")
        if assignee is not None:
            self._person_ref(ws, assignee, "assignee")
        if milestone is not None:
            self._milestone(project, milestone)
        if deliverable is not None and deliverable not in {d.id for d in project.scope.deliverables}:
            raise WriteError(f"no deliverable {deliverable!r} in project {project.id}")
        for person in subscribers:
            self._person_ref(ws, person, "subscribers")
        self._party_refs(ws, visible_to, "visible_to")
        today = self._today(ws)
        task = m.Task(
            id=task_id,
            project=project.id,
            title=title,
            status="open",
            assignee=assignee,
            subscribers=tuple(subscribers),
            created_by=st.actor.id,
            created=today,
            due=due,
            priority=cast(_Priority, priority or "normal"),
            hidden=hidden,
            visible_to=tuple(visible_to),
        )
        verdict = self._check(st, Action.CREATE_TASK, task)
        cr: m.ChangeRequest | None = None
        if change_request is not None:
            cr = self._change(ws, change_request, project.id)
            if cr.status in _CLOSED_CR:
                raise Refused("status", f"{cr.id} is {cr.status}; no task can implement it")
            seen = st.policy.can_see(PersonViewer(st.actor.id), cr)
            if not seen:
                raise Refused.from_verdict(seen)
        front: dict[str, Any] = {"title": title, "status": "open"}
        if assignee is not None:
            front["assignee"] = assignee
        if subscribers:
            front["subscribers"] = list(subscribers)
        front["created_by"] = st.actor.id
        front["created"] = today
        if due is not None:
            front["due"] = due
        if estimate_hours is not None:
            front["estimate_hours"] = _number("estimate_hours", estimate_hours)
        front["priority"] = priority or "normal"
        optional: list[tuple[str, Any]] = [
            ("tags", list(tags)),
            ("milestone", milestone),
            ("deliverable", deliverable),
            ("change_request", cr.id if cr else None),
            ("attachments", list(attachments)),
            ("hidden", True if hidden else None),
            ("visible_to", list(visible_to)),
        ]
        for key, value in optional:
            if value:
                front[key] = value
        rel = f"projects/{project.id}/tasks/{task_id}.md"
        self._stage(st, rel, _new_record(front, body, schema_comment(self.root, rel, "task")))
        if cr is not None:
            self._link(st, cr, task_id, listed=True)
        return self._finish(st, f"task: new {task_id}", verdict, task_id)

    def _link(self, st: _State, cr: m.ChangeRequest, task_id: str, *, listed: bool) -> None:
        """List (or unlist) a task in a request's `tasks`, when the actor may.

        While proposed, that is editing the request (its requester or a manager); once approved,
        users and managers may add the tasks that implement it (never remove one).
        """
        if (task_id in cr.tasks) == listed:
            return
        action = Action.LINK_CR_TASKS if listed and cr.status in ("approved", "implemented") else Action.EDIT_CR
        verdict = st.policy.can_do(st.actor.id, action, cr)
        if not verdict:
            st.info.append(f"the tasks list of {cr.id} is left as it is: {verdict.reason}")
            return
        if listed:
            self._edit_record(st, cr.loc.path, lambda d: _put(d, "tasks", [*(d.get("tasks") or []), task_id], CR_ORDER))
        else:
            self._edit_record(st, cr.loc.path, lambda d: _drop_from(d, "tasks", task_id))

    @_exclusive
    def task_set(self, task_id: str, changes: Mapping[str, str]) -> Outcome:
        """Change fields of a task (`FIELD=VALUE`; an empty value removes an optional field)."""
        if not changes:
            raise UsageError("nothing to set: give FIELD=VALUE pairs, e.g. status=review")
        for name in changes:
            if name in ("created_by", "created"):
                raise UsageError(f"{name} records the task's creation and cannot be changed")
            if name not in TASK_FIELDS:
                raise UsageError(f"unknown task field {name!r}; fields: {', '.join(TASK_FIELDS)}")
        st = self._begin()
        ws = st.ws
        task = self._task(ws, task_id)
        project = ws.projects[task.project]
        values = {name: self._task_value(ws, project, name, raw) for name, raw in changes.items()}
        own_status = set(values) == {"status"} and task.assignee == st.actor.id
        action = Action.SET_OWN_TASK_STATUS if own_status else Action.EDIT_TASK
        verdict = self._check(st, action, task)
        old_cr = task.change_request
        new_cr_id = values.get("change_request", old_cr)
        new_cr: m.ChangeRequest | None = None
        if new_cr_id is not None and new_cr_id != old_cr:
            new_cr = self._change(ws, str(new_cr_id), project.id)
            if new_cr.status in _CLOSED_CR:
                raise Refused("status", f"{new_cr.id} is {new_cr.status}; no task can implement it")
        descriptions: list[str] = []

        def update(data: dict[str, Any]) -> dict[str, Any]:
            for name, value in values.items():
                old = data.get(name)
                if value is None or value == []:
                    data = {k: v for k, v in data.items() if k != name}
                else:
                    data = _put(data, name, value, TASK_ORDER)
                if _show(_typed(old, name)) != _show(value):
                    descriptions.append(f"{name} {_show(_typed(old, name))} → {_show(value)}")
            return data

        self._edit_record(st, task.loc.path, update)
        if new_cr_id != old_cr:
            if old_cr is not None and (previous := project.change(old_cr)) is not None:
                self._link(st, previous, task.id, listed=False)
            if new_cr is not None:
                self._link(st, new_cr, task.id, listed=True)
        message = f"task: {task.id} " + (", ".join(descriptions) or "unchanged")
        return self._finish(st, message, verdict, task.id)

    def _task_value(self, ws: m.Workspace, project: m.Project, name: str, raw: str) -> Any:
        text = raw.strip()
        if name in _LIST_FIELDS:
            items = _words(text)
            if name == "subscribers":
                for item in items:
                    self._person_ref(ws, item, name)
            elif name == "visible_to":
                self._party_refs(ws, items, name)
            return items
        if text == "":
            if name in ("title", "status", "priority", "hidden"):
                raise UsageError(f"{name} cannot be empty")
            return None
        if name == "status":
            if text not in m.TASK_STATUSES:
                raise UsageError(f"status: {text!r} is not one of {', '.join(m.TASK_STATUSES)}")
            return text
        if name == "priority":
            if text not in m.PRIORITIES:
                raise UsageError(f"priority: {text!r} is not one of {', '.join(m.PRIORITIES)}")
            return text
        if name == "due":
            return _date_value(name, text)
        if name == "estimate_hours":
            return _number(name, text)
        if name == "hidden":
            if text.lower() not in ("true", "false"):
                raise UsageError(f"hidden: {text!r} is not true or false")
            return text.lower() == "true"
        if name == "assignee":
            return self._person_ref(ws, text, name)
        if name == "milestone":
            self._milestone(project, text)
        if name == "deliverable" and text not in {d.id for d in project.scope.deliverables}:
            raise WriteError(f"no deliverable {text!r} in project {project.id}")
        return text

    @_exclusive
    def task_assign(self, task_id: str, person: str | None) -> Outcome:
        """Give a task to a person (None: to nobody)."""
        return self.task_set(task_id, {"assignee": person or ""})

    # ----------------------------------------------------------------- comments

    @_exclusive
    def comment_add(
        self,
        task_id: str,
        text: str,
        *,
        hidden: bool = False,
        visible_to: Sequence[str] = (),
        comment_id: str | None = None,
    ) -> Outcome:
        """Add a comment by the actor on a task (id: the next free `c<n>`)."""
        if not text.strip():
            raise UsageError("a comment needs some text")
        if visible_to and not hidden:
            raise UsageError("--visible-to has effect only on a hidden comment: add --hidden")
        st = self._begin()
        ws = st.ws
        task = self._task(ws, task_id)
        self._party_refs(ws, visible_to, "visible_to")
        folder = self.root / "projects" / task.project / "tasks" / task.id / "comments"
        if comment_id is None:
            comment_id = f"c{_next_number(folder, 'c', '.md')}"
        else:
            comment_id = self._new_id(folder, comment_id, comment_id, "comment")
        moment = self._moment(ws)
        comment = m.Comment(
            id=comment_id,
            project=task.project,
            task=task.id,
            author=st.actor.id,
            date=moment,
            body=text,
            hidden=hidden,
            visible_to=tuple(visible_to),
        )
        verdict = self._check(st, Action.ADD_COMMENT, comment)
        front: dict[str, Any] = {"author": st.actor.id, "date": Timestamp(format_datetime(moment))}
        if hidden:
            front["hidden"] = True
        if visible_to:
            front["visible_to"] = list(visible_to)
        rel = f"projects/{task.project}/tasks/{task.id}/comments/{comment_id}.md"
        self._stage(st, rel, _new_record(front, text, schema_comment(self.root, rel, "comment")))
        return self._finish(st, f"comment: add {comment_id} on {task.id}", verdict, comment_id)

    # ----------------------------------------------------------------- change requests

    @_exclusive
    def cr_new(
        self,
        project_id: str,
        title: str,
        text: str,
        *,
        impact_hours: float | None = None,
        impact_cost: float | None = None,
        due_shift_days: int | None = None,
        tasks: Sequence[str] = (),
        cr_id: str | None = None,
    ) -> Outcome:
        """Propose a change request (next free `CR-<n>` of the project), requested by the actor."""
        if not title.strip():
            raise UsageError("a change request needs a title")
        st = self._begin()
        ws = st.ws
        project = self._project(ws, project_id)
        folder = self.root / "projects" / project.id / "changes"
        if cr_id is None:
            cr_id = f"CR-{_next_number(folder, 'CR-', '.md')}"
        elif not CR_ID.match(cr_id) or (folder / f"{cr_id}.md").exists():
            raise UsageError(f"{cr_id!r} is not a free change request id of project {project.id}")
        for task_id in tasks:
            if project.task(task_id) is None:
                raise WriteError(f"tasks: no task {task_id} in project {project.id}")
        today = self._today(ws)
        impact: dict[str, Any] = {}
        if impact_hours is not None:
            impact["hours"] = _number("impact hours", impact_hours)
        if impact_cost is not None:
            impact["cost"] = _number("impact cost", impact_cost)
        if due_shift_days is not None:
            impact["due_shift_days"] = int(due_shift_days)
        cr = m.ChangeRequest(
            id=cr_id,
            project=project.id,
            title=title,
            requested_by=st.actor.id,
            requested_on=today,
            status="proposed",
            body=text,
            tasks=tuple(tasks),
        )
        verdict = self._check(st, Action.PROPOSE_CR, cr)
        front: dict[str, Any] = {
            "title": title,
            "requested_by": st.actor.id,
            "requested_on": today,
            "status": "proposed",
        }
        if impact:
            front["impact"] = impact
        if tasks:
            front["tasks"] = list(tasks)
        rel = f"projects/{project.id}/changes/{cr_id}.md"
        self._stage(st, rel, _new_record(front, text, schema_comment(self.root, rel, "change-request")))
        return self._finish(st, f"cr: propose {cr_id} in {project.id}", verdict, cr_id)

    @_exclusive
    def cr_decide(self, ref: str, approve: bool, *, project_id: str | None = None, note: str | None = None) -> Outcome:
        """Approve or reject a proposed change request; `decision` records the actor and today."""
        st = self._begin()
        cr = self._change(st.ws, ref, project_id)
        verdict = self._check(st, Action.DECIDE_CR, cr)
        decision: dict[str, Any] = {"by": st.actor.id, "on": self._today(st.ws)}
        if note:
            decision["note"] = note
        status = "approved" if approve else "rejected"

        def update(data: dict[str, Any]) -> dict[str, Any]:
            return _put(_put(data, "status", status, CR_ORDER), "decision", decision, CR_ORDER)

        self._edit_record(st, cr.loc.path, update)
        verb = "approve" if approve else "reject"
        return self._finish(st, f"cr: {verb} {cr.id} in {cr.project}", verdict, cr.id)

    @_exclusive
    def cr_implement(self, ref: str, *, project_id: str | None = None) -> Outcome:
        """Mark an approved change request `implemented`."""
        st = self._begin()
        cr = self._change(st.ws, ref, project_id)
        verdict = self._check(st, Action.IMPLEMENT_CR, cr)
        self._edit_record(st, cr.loc.path, lambda d: _put(d, "status", "implemented", CR_ORDER))
        return self._finish(st, f"cr: implement {cr.id} in {cr.project}", verdict, cr.id)

    @_exclusive
    def cr_withdraw(self, ref: str, *, project_id: str | None = None) -> Outcome:
        """Withdraw a change request that is still proposed."""
        st = self._begin()
        cr = self._change(st.ws, ref, project_id)
        verdict = self._check(st, Action.EDIT_CR, cr)
        self._edit_record(st, cr.loc.path, lambda d: _put(d, "status", "withdrawn", CR_ORDER))
        return self._finish(st, f"cr: withdraw {cr.id} in {cr.project}", verdict, cr.id)

    # ----------------------------------------------------------------- meetings

    @_exclusive
    def meeting_add(
        self,
        project_id: str,
        title: str,
        date: dt.date | dt.datetime,
        notes: str,
        *,
        attendees: Sequence[str] = (),
        decisions: Sequence[str] = (),
        hidden: bool = False,
        visible_to: Sequence[str] = (),
        meeting_id: str | None = None,
    ) -> Outcome:
        """Write meeting minutes (id: `<date>-<slug of the title>` unless given)."""
        if not title.strip():
            raise UsageError("meeting minutes need a title")
        if visible_to and not hidden:
            raise UsageError("--visible-to has effect only on hidden minutes: add --hidden")
        st = self._begin()
        ws = st.ws
        project = self._project(ws, project_id)
        self._party_refs(ws, attendees, "attendees")
        self._party_refs(ws, visible_to, "visible_to")
        when = date if isinstance(date, dt.datetime) else dt.datetime.combine(date, dt.time(9, 0))
        if when.tzinfo is None:
            when = when.replace(tzinfo=_zone(ws))
        folder = self.root / "projects" / project.id / "meetings"
        day = when.astimezone(_zone(ws)).date().isoformat()
        meeting_id = self._new_id(folder, meeting_id, f"{day}-{_slug(title)}", "meeting")
        meeting = m.Meeting(
            id=meeting_id,
            project=project.id,
            date=when,
            title=title,
            body=notes,
            attendees=tuple(attendees),
            decisions=tuple(decisions),
            hidden=hidden,
            visible_to=tuple(visible_to),
        )
        verdict = self._check(st, Action.WRITE_MEETING, meeting)
        front: dict[str, Any] = {"date": Timestamp(format_datetime(when)), "title": title}
        if attendees:
            front["attendees"] = list(attendees)
        if decisions:
            front["decisions"] = list(decisions)
        if hidden:
            front["hidden"] = True
        if visible_to:
            front["visible_to"] = list(visible_to)
        rel = f"projects/{project.id}/meetings/{meeting_id}.md"
        self._stage(st, rel, _new_record(front, notes, schema_comment(self.root, rel, "meeting")))
        return self._finish(st, f"meeting: add {meeting_id} in {project.id}", verdict, meeting_id)

    # ----------------------------------------------------------------- time and money

    @_exclusive
    def time_log(
        self,
        task_id: str,
        hours: float,
        *,
        date: dt.date | None = None,
        note: str | None = None,
        person: str | None = None,
        billable: bool = True,
    ) -> Outcome:
        """Append a time entry to `time/<YYYY-MM>.yaml` of the task's project (person: the actor)."""
        amount = _number("hours", hours, positive=True)
        if amount > 24:
            raise UsageError(f"hours: {hours} is more than a day")
        st = self._begin()
        ws = st.ws
        task = self._task(ws, task_id)
        who = self._person_ref(ws, person, "--person") if person else st.actor.id
        day = date or self._today(ws)
        entry = m.TimeEntry(project=task.project, date=day, person=who, task=task.id, hours=amount, note=note)
        verdict = self._check(st, Action.LOG_TIME, entry)
        item: dict[str, Any] = {"date": day, "person": who, "task": task.id, "hours": amount}
        if note:
            item["note"] = note
        item["billable"] = billable
        rel = f"projects/{task.project}/time/{day.strftime('%Y-%m')}.yaml"
        self._append(st, rel, item, "time")
        message = f"time: log {_hours(amount)} on {task.id} by {who} ({day.isoformat()})"
        return self._finish(st, message, verdict)

    @_exclusive
    def expense_add(
        self,
        project_id: str,
        amount: float,
        description: str,
        *,
        task_id: str | None = None,
        date: dt.date | None = None,
        by: str | None = None,
    ) -> Outcome:
        """Append an expense to the project's `expenses.yaml` (by: the actor)."""
        value = _number("amount", amount, positive=True)
        if not description.strip():
            raise UsageError("an expense needs a description")
        st = self._begin()
        ws = st.ws
        project = self._project(ws, project_id)
        who = self._person_ref(ws, by, "--by") if by else st.actor.id
        if task_id is not None and project.task(task_id) is None:
            raise WriteError(f"task: no task {task_id} in project {project.id}")
        day = date or self._today(ws)
        expense = m.Expense(project=project.id, date=day, amount=value, description=description, by=who, task=task_id)
        verdict = self._check(st, Action.ADD_EXPENSE, expense)
        item: dict[str, Any] = {"date": day, "amount": value, "description": description, "by": who}
        if task_id is not None:
            item["task"] = task_id
        self._append(st, f"projects/{project.id}/expenses.yaml", item, "expenses")
        message = f"expense: add {value:g} {ws.settings.currency} in {project.id} by {who} ({day.isoformat()})"
        return self._finish(st, message, verdict)

    def _append(self, st: _State, rel: str, item: Mapping[str, Any], schema: str) -> None:
        text = self._read(st, rel)
        try:
            self._stage(st, rel, _append_item(text, rel, item, schema_comment(self.root, rel, schema)))
        except SourceError as exc:
            raise WriteError(f"cannot add to {rel}: {exc}") from None

    # ----------------------------------------------------------------- milestones

    @_exclusive
    def milestone_sign_off(self, project_id: str, milestone_id: str) -> Outcome:
        """Sign off a milestone: `status: signed-off`, `signed_off_by` the actor, `signed_off_on` today."""
        st = self._begin()
        project = self._project(st.ws, project_id)
        milestone = self._milestone(project, milestone_id)
        verdict = self._check(st, Action.SIGN_OFF_MILESTONE, MilestoneRef(project, milestone))
        fields = {"status": "signed-off", "signed_off_by": st.actor.id, "signed_off_on": self._today(st.ws)}
        self._edit_milestone(st, project, milestone_id, fields)
        return self._finish(st, f"milestone: sign off {milestone_id} in {project.id}", verdict, milestone_id)

    @_exclusive
    def milestone_set_status(self, project_id: str, milestone_id: str, status: str) -> Outcome:
        """Set a milestone `open` or `ready` (project settings: managers); sign-off has its own command."""
        if status not in ("open", "ready"):
            raise UsageError(f"status: {status!r} must be open or ready (use `milestone sign-off` to sign off)")
        st = self._begin()
        project = self._project(st.ws, project_id)
        milestone = self._milestone(project, milestone_id)
        verdict = self._check(st, Action.EDIT_SETTINGS, project)
        if milestone.status == "signed-off":
            raise Refused("status", f"milestone {milestone_id} is signed off; its status no longer changes")
        self._edit_milestone(st, project, milestone_id, {"status": status})
        message = f"milestone: {milestone_id} in {project.id} status {milestone.status} → {status}"
        return self._finish(st, message, verdict, milestone_id)

    def _edit_milestone(self, st: _State, project: m.Project, milestone_id: str, fields: Mapping[str, Any]) -> None:
        rel = project.loc.path

        def update(data: Any) -> Any:
            items = []
            for item in data.get("milestones") or []:
                if isinstance(item, dict) and item.get("id") == milestone_id:
                    for key, value in fields.items():
                        item = _put(item, key, value, MILESTONE_ORDER)
                items.append(item)
            data["milestones"] = items
            return data

        text = self._read(st, rel)
        if text is None:
            raise WriteError(f"{rel} does not exist")
        try:
            self._stage(st, rel, edit_yaml_text(text, rel, update))
        except SourceError as exc:
            raise WriteError(f"cannot edit {rel}: {exc}") from None

    # ----------------------------------------------------------------- feedback

    @_exclusive
    def feedback_add(
        self,
        project_id: str,
        rating: int,
        text: str,
        *,
        milestone: str | None = None,
        feedback_id: str | None = None,
    ) -> Outcome:
        """Give feedback on a project (author: the actor, date: today)."""
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise UsageError(f"rating: {rating!r} must be a whole number from 1 to 5")
        st = self._begin()
        ws = st.ws
        project = self._project(ws, project_id)
        if milestone is not None:
            self._milestone(project, milestone)
        today = self._today(ws)
        folder = self.root / "projects" / project.id / "feedback"
        default = f"{milestone}-feedback" if milestone else f"{today.isoformat()}-{st.actor.id}"
        feedback_id = self._new_id(folder, feedback_id, default, "feedback")
        item = m.Feedback(
            id=feedback_id,
            project=project.id,
            author=st.actor.id,
            date=today,
            rating=rating,
            body=text,
            milestone=milestone,
        )
        verdict = self._check(st, Action.ADD_FEEDBACK, item)
        front: dict[str, Any] = {"author": st.actor.id, "date": today, "rating": rating}
        if milestone:
            front["milestone"] = milestone
        rel = f"projects/{project.id}/feedback/{feedback_id}.md"
        self._stage(st, rel, _new_record(front, text, schema_comment(self.root, rel, "feedback")))
        return self._finish(st, f"feedback: add {feedback_id} in {project.id} (rating {rating})", verdict, feedback_id)

    @_exclusive
    def feedback_respond(self, project_id: str, feedback_id: str, text: str) -> Outcome:
        """Answer feedback: `response: {by: actor, date: today, text}`; an answered one is not answered again."""
        if not text.strip():
            raise UsageError("a response needs some text")
        st = self._begin()
        project = self._project(st.ws, project_id)
        item = self._feedback(project, feedback_id)
        verdict = self._check(st, Action.RESPOND_FEEDBACK, item)
        if item.response is not None:
            raise Refused("status", f"feedback {feedback_id} was already answered by {item.response.by}")
        response = {"by": st.actor.id, "date": self._today(st.ws), "text": text.strip()}
        self._edit_record(st, item.loc.path, lambda d: _put(d, "response", response, FEEDBACK_ORDER))
        return self._finish(st, f"feedback: respond to {feedback_id} in {project.id}", verdict, feedback_id)


# --------------------------------------------------------------------------------------- helpers


def _zone(ws: m.Workspace) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(ws.settings.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _bytes_of(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def _author(person: m.Person) -> tuple[str, str] | None:
    if not person.emails:
        return None
    # Git refuses angle brackets and newlines in a name.
    name = re.sub(r"[<>\n]", "", person.name).strip() or person.id
    return name, person.emails[0].strip()


def _next_number(folder: Path, prefix: str, suffix: str) -> int:
    """1 + the highest `<prefix><n>` among the folder's entries (files `...<suffix>` or folders)."""
    highest = 0
    pattern = re.compile(rf"^{re.escape(prefix)}([1-9][0-9]*)(?:{re.escape(suffix)})?$")
    if folder.is_dir():
        for name in os.listdir(folder):
            match = pattern.match(name)
            if match:
                highest = max(highest, int(match.group(1)))
    return highest + 1


def _drop_from(data: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    items = [v for v in data.get(key) or [] if v != value]
    if items:
        return _put(data, key, items, CR_ORDER)
    return {k: v for k, v in data.items() if k != key}
