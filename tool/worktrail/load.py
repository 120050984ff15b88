"""Load a workspace folder into the typed model, collecting every problem on the way.

Each file is read, parsed (yamlio), validated against its schema (schema) and turned into model
objects. A broken file is reported and skipped; the others still load, so one error never hides
another. Cross-file rules live in `checks`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import os
import re
import stat
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

from . import model as m
from .findings import Finding, error, warning
from .gcpause import collector_paused
from .model import Loc
from .schema import item_check, validate
from .tree import DiskTree, Kind, MemoryTree, Tree, TreePath, kind_of_entry
from .yamlio import (
    MAX_FILE_BYTES,
    Doc,
    FrontMatterDoc,
    SourceError,
    decode,
    describe_path,
    parse_front_matter,
    parse_yaml,
    size_error,
)
from .yamllist import extends, parse_yaml_list

WORKSPACE_FILE = "worktrail.yaml"
LOWER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
TASK_ID = re.compile(r"^([A-Z][A-Z0-9]*)-([1-9][0-9]*)$")
CR_ID = re.compile(r"^CR-[1-9][0-9]*$")
MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
PROJECT_ENTRIES = frozenset(
    {"project.yaml", "tasks", "changes", "meetings", "time", "expenses.yaml", "files", "feedback"}
)

T = TypeVar("T")


class WorkspaceNotFound(Exception):
    """No `worktrail.yaml` where one was expected."""


def find_workspace(start: Path) -> Path:
    """The workspace folder: `start` itself or its nearest ancestor that holds `worktrail.yaml`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / WORKSPACE_FILE).is_file():
            return folder
    raise WorkspaceNotFound(f"no {WORKSPACE_FILE} in {start} or any folder above it")


@dataclass
class LoadResult:
    """The loaded workspace (None if settings could not be read), all findings, and parsed files."""

    root: Path
    workspace: m.Workspace | None
    findings: list[Finding] = field(default_factory=list)
    # Each parsed file's document by path, in the loader's order (a rebuild's may read them only when asked).
    docs: Mapping[str, Doc] = field(default_factory=dict)
    files: int = 0
    tree: Tree | None = None
    # Ids whose file exists but could not be loaded: references to them are not reported again.
    broken: set[str] = field(default_factory=set)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def where(self, entity: Any, *path: str | int) -> Loc:
        """Location of a field of a loaded entity (falls back to the entity's own location)."""
        loc: Loc = entity.loc
        doc = self.docs.get(loc.path)
        if doc is None:
            return loc
        return doc.loc((*doc.path_of(loc), *path))


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    return dt.date.fromisoformat(str(value))


def _datetime(value: Any) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError("a date-time needs a time zone (Z or an offset like +01:00)")
    return parsed


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if value else ()


def _sees(value: Any) -> m.SeesOverride | None:
    if value is None:
        return None
    return m.SeesOverride(costs=value.get("costs"), reports=value.get("reports"), contacts=value.get("contacts"))


M = TypeVar("M")


def _made(kind: type[M], **fields: Any) -> M:
    """`kind(**fields)` for a model class given every field in its declared order (tasks, comments, time entries).

    The model's classes are frozen dataclasses, whose generated `__init__` sets each field through
    `object.__setattr__` (~4 us for a task's 21 fields, a tenth of loading one). Records loaded by
    the thousand are made as `model.replaced` makes its copies: their fields put in place at once,
    the same object as the constructor makes (model classes have no `__post_init__` and no slots; a
    test checks that each record made here has every field, in order, and equals the constructor's).
    """
    made: M = object.__new__(kind)
    made.__dict__.update(fields)
    return made


_DATE_PREFIX = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T|$)")


def _impossible_dates(doc: Doc) -> list[Finding]:
    """Dates the schema's pattern accepts but the calendar does not (2026-02-30)."""
    if not _has_impossible_date(doc.data):
        return []  # nearly always: the walk that names each finding's place is then spared
    found: list[Finding] = []
    _find_impossible_dates(doc, doc.data, (), found)
    return found


def _find_impossible_dates(doc: Doc, value: Any, path: tuple[str | int, ...], found: list[Finding]) -> None:
    # A module function, not a nested one: a recursive closure is a reference cycle, which kept
    # every document it saw alive until the cyclic garbage collector ran.
    if isinstance(value, dict):
        for key, item in value.items():
            _find_impossible_dates(doc, item, (*path, key), found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find_impossible_dates(doc, item, (*path, index), found)
    elif _impossible_date(value):
        found.append(error(doc.loc(path), "value.date", f"{describe_path(path)}: {value!r} is not a real date"))


def _has_impossible_date(value: Any) -> bool:
    """Whether `_impossible_dates` would find anything in this value (without locations)."""
    items: Iterable[Any]
    if isinstance(value, dict):
        items = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return _impossible_date(value)
    for item in items:
        if isinstance(item, str):
            # Only a text with `-` fifth can be shaped like a date (see _DATE_PREFIX).
            if item[4:5] == "-" and _impossible_date(item):
                return True
        elif isinstance(item, dict | list) and _has_impossible_date(item):
            return True
    return False


def _impossible_date(value: Any) -> bool:
    """A text shaped like a date (or date-time) that the calendar does not have."""
    if not isinstance(value, str) or not _DATE_PREFIX.match(value):
        return False
    try:
        if "T" in value:
            dt.datetime.fromisoformat(value)
        else:
            dt.date.fromisoformat(value)
    except ValueError:
        return True
    return False


# List items found clean (valid against their schema's items, no impossible date), by schema and
# identity: parsed item by item (`yamllist`), an unchanged item is the same object in every version
# of its file, so a new version checks its new items only. Each item is held here, so its id stays its own.
_CLEAN_ITEMS: OrderedDict[tuple[str, int], Any] = OrderedDict()
_CLEAN_ITEMS_ENTRIES = 65_536


# Time entries that built cleanly, by file and identity of their item (see `_Loader.month`).
_KEPT_ENTRIES: OrderedDict[tuple[str, int], tuple[Any, m.TimeEntry]] = OrderedDict()

# A version of a list file is usually the version before it plus one item (`yamllist.extends`): the
# lists found clean by schema, and the months whose entries all built without a finding by file, are
# kept by identity, so that such a version checks and builds its last item alone. Each document is
# held here, so its id stays its own.
_LISTS_KEPT = 256
_CLEAN_LISTS: OrderedDict[tuple[str, int], Doc] = OrderedDict()
_BUILT_MONTHS: OrderedDict[tuple[str, int], tuple[Doc, tuple[tuple[int, m.TimeEntry], ...]]] = OrderedDict()


def _keep_bounded(kept: OrderedDict[tuple[str, int], T], key: tuple[str, int], value: T) -> None:
    kept[key] = value
    if len(kept) > _LISTS_KEPT:
        kept.popitem(last=False)


def _items_clean(doc: Doc, schema: str) -> bool:
    """Whether a list document has no finding (as `validate` and `_impossible_dates` would say), item by item."""
    check = item_check(schema)
    if check is None or not isinstance(doc.data, list):
        return False
    items: list[Any] = doc.data
    before = extends(doc)
    if before is not None and _CLEAN_LISTS.get((schema, id(before))) is before:
        items = items[-1:]  # the others are the items of `before`, found clean
    for item in items:
        key = (schema, id(item))
        if _CLEAN_ITEMS.get(key, _CLEAN_ITEMS) is item:
            continue
        if not check(item) or _has_impossible_date(item):
            return False
        _CLEAN_ITEMS[key] = item
        if len(_CLEAN_ITEMS) > _CLEAN_ITEMS_ENTRIES:
            _CLEAN_ITEMS.popitem(last=False)
    _keep_bounded(_CLEAN_LISTS, (schema, id(doc)), doc)
    return True


def _read_capped(path: TreePath) -> bytes:
    """A file's bytes; a file on disk is measured first, so an over-size one is refused unread."""
    tree = path.tree
    if not isinstance(tree, DiskTree):
        return path.read_bytes()
    # Neither follow a link nor wait on a FIFO that replaced the file since it was listed.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    with os.fdopen(os.open(os.path.join(tree.root, path.rel), flags), "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise size_error(path.rel, info.st_size)
        # Read what fstat promised plus one byte (asking for the limit each time allocates 4 MB per
        # file); a file still growing is read on, cut one byte past the limit, which `decode` refuses.
        data = handle.read(info.st_size + 1)
        if len(data) <= info.st_size:
            return data
        return data + handle.read(MAX_FILE_BYTES + 1 - len(data))


def read_input(tree: Tree, rel: str) -> bytes:
    """The bytes of the input file `rel` as the loader reads them (raises OSError or SourceError)."""
    return _read_capped(TreePath(tree, rel))


def parsed_doc(value: Any) -> Doc | None:
    """The document of a file's parse, as `LoadResult.docs` holds it (None: the file did not parse)."""
    if isinstance(value, FrontMatterDoc):
        return value.doc
    return value if isinstance(value, Doc) else None


class ParseCache:
    """Parsed-and-validated files keyed by path and content, reused across loads (history, rebuilds)."""

    # Parse list files (time, expenses, documents) item by item, keeping each item's parse (see
    # yamllist): it pays off where many versions of the same lists are read (the history walk) and
    # takes about twice as long where each file is read once (240 time files: 0.44 s against 0.23 s).
    lists_by_item = False

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str, bytes], tuple[Any, list[Finding]]] = {}

    def get(self, key: tuple[str, str, bytes]) -> tuple[Any, list[Finding]] | None:
        return self.entries.get(key)

    def put(self, key: tuple[str, str, bytes], value: tuple[Any, list[Finding]]) -> None:
        self.entries[key] = value


# How the loader orders each kind of record in its project (or task). `reload_records` and the
# history's project assembly sort with the same keys, so that a record lands where a full load puts it.
def task_order(task: m.Task) -> int:
    return task.number


def comment_order(comment: m.Comment) -> tuple[dt.datetime, str]:
    return (comment.date, comment.id)


def change_order(change: m.ChangeRequest) -> int:
    return change.number


def dated_order(record: m.Meeting | m.Feedback) -> tuple[dt.date, str]:
    return (record.date, record.id)


def time_order(entry: m.TimeEntry) -> tuple[dt.date, Loc]:
    return (entry.date, entry.loc)


class _Loader:
    def __init__(self, root: Path, tree: Tree, cache: ParseCache | None) -> None:
        self.root = TreePath(tree)
        self.cache = cache
        self.docs: dict[str, Doc] = {}
        self.result = LoadResult(root=root, workspace=None, docs=self.docs, tree=tree)

    # -- reading -------------------------------------------------------------------------------

    def rel(self, path: TreePath) -> str:
        return path.rel

    def report(self, finding: Finding) -> None:
        self.result.findings.append(finding)

    def read_raw(self, path: TreePath) -> bytes | None:
        rel = self.rel(path)
        self.result.files += 1
        kind = path.kind()
        if kind == "link":
            self.report(error(Loc(rel), "file.symlink", "symbolic links are not followed; replace it with a file"))
            return None
        if kind != "file":
            self.report(error(Loc(rel), "file.unexpected", "not a regular file"))
            return None
        try:
            return _read_capped(path)
        except SourceError as exc:
            self.report(error(exc.loc, "file.size", exc.message))
            return None
        except OSError as exc:
            self.report(error(Loc(rel), "file.unreadable", f"cannot read the file: {exc.strerror}"))
            return None

    def parsed(self, path: TreePath, schema: str, parse: Callable[[str, str], Any], by_item: bool = False) -> Any:
        """Read, decode, parse and validate one file (cached by content); None when it has errors."""
        raw = self.read_raw(path)
        if raw is None:
            return None
        rel = self.rel(path)
        key = (rel, schema, raw)
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is None:
            hit = self._parse(rel, raw, schema, parse, by_item)
            if self.cache is not None:
                self.cache.put(key, hit)
        value, findings = hit
        self.result.findings.extend(findings)
        doc = parsed_doc(value)
        if doc is not None:
            self.docs[rel] = doc
        return None if findings else value

    def _parse(
        self, rel: str, raw: bytes, schema: str, parse: Callable[[str, str], Any], by_item: bool = False
    ) -> tuple[Any, list[Finding]]:
        if len(raw) > MAX_FILE_BYTES:
            return None, [error(Loc(rel), "file.size", size_error(rel, len(raw)).message)]
        try:
            text = decode(raw, rel)
        except SourceError as exc:
            return None, [error(exc.loc, "file.encoding", exc.message)]
        try:
            value = parse(text, rel)
        except SourceError as exc:
            return None, [error(exc.loc, "yaml", exc.message)]
        doc = value.doc if isinstance(value, FrontMatterDoc) else value
        if by_item and _items_clean(doc, schema):
            return value, []
        return value, validate(doc, schema) or _impossible_dates(doc)

    def yaml_file(self, path: TreePath, schema: str, empty: Any = None) -> Doc | None:
        # In the history walk, list files are parsed item by item: a new version of a month of time
        # reparses only its new lines (see yamllist and ParseCache.lists_by_item).
        by_item = isinstance(empty, list) and self.cache is not None and self.cache.lists_by_item
        parse = parse_yaml_list if by_item else parse_yaml
        result: Doc | None = self.parsed(path, schema, lambda text, rel: parse(text, rel, empty=empty), by_item)
        return result

    def markdown_file(self, path: TreePath, schema: str) -> FrontMatterDoc | None:
        result: FrontMatterDoc | None = self.parsed(path, schema, parse_front_matter)
        return result

    def build(self, doc: Doc, path: tuple[str | int, ...], make: Callable[[], T]) -> T | None:
        """Run a model constructor; values the schema cannot check (real dates) fail here."""
        try:
            return make()
        except ValueError as exc:
            self.report(error(doc.loc(path), "value", f"{exc}"))
            return None

    def listing(self, folder: TreePath) -> list[TreePath]:
        """Entries of a folder in name order, dot-files skipped."""
        return [folder / name for name in folder.iterdir_names() if not name.startswith(".")]

    def expect_files(
        self, folder: TreePath, suffix: str, pattern: re.Pattern[str], what: str
    ) -> list[tuple[str, TreePath]]:
        """Files `<id><suffix>` in a folder; anything else is reported, never silently ignored."""
        found: list[tuple[str, TreePath]] = []
        for entry in self.listing(folder):
            name = entry.name
            if entry.is_dir() and not entry.is_symlink():
                continue
            if not name.endswith(suffix):
                self.report(
                    error(Loc(self.rel(entry)), "file.unexpected", f"unexpected file: {what} files end in {suffix}")
                )
                continue
            ident = name[: -len(suffix)]
            if not pattern.match(ident):
                self.report(
                    error(Loc(self.rel(entry)), "id.file-name", f"file name {ident!r} is not a valid {what} id")
                )
                continue
            found.append((ident, entry))
        return found

    # -- entities ------------------------------------------------------------------------------

    def load(self) -> LoadResult:
        settings = self.settings()
        people = self.people()
        teams = self.teams()
        projects = self.projects()
        if settings is not None:
            self.result.workspace = m.Workspace(
                root=str(self.result.root), settings=settings, people=people, teams=teams, projects=projects
            )
        self.result.findings.sort()
        return self.result

    def settings(self) -> m.Settings | None:
        path = self.root / WORKSPACE_FILE
        doc = self.yaml_file(path, "workspace", empty={})
        if doc is None:
            return None
        data = doc.data
        plan = data.get("plan") or {}
        audiences = tuple(
            m.Audience(
                name=name,
                team=spec.get("team"),
                person=spec.get("person"),
                role=spec.get("role"),
                loc=doc.loc(("audiences", name)),
            )
            for name, spec in sorted((data.get("audiences") or {}).items())
        )
        return m.Settings(
            name=data["name"],
            language=data.get("language", "en"),
            currency=data.get("currency", "EUR"),
            timezone=data.get("timezone", "UTC"),
            plan=m.Plan(paid_seats=plan.get("paid_seats"), reader_ratio=plan.get("reader_ratio", 2)),
            audiences=audiences,
            loc=doc.loc(),
        )

    def people(self) -> dict[str, m.Person]:
        out: dict[str, m.Person] = {}
        for ident, path in self.expect_files(self.root / "people", ".yaml", LOWER_ID, "person"):
            doc = self.yaml_file(path, "person", empty={})
            if doc is None:
                self.result.broken.add(ident)
                continue
            d = doc.data
            rate = d.get("rate")
            out[ident] = m.Person(
                id=ident,
                name=d["name"],
                team=d["team"],
                role=d["role"],
                emails=_tuple(d.get("emails")),
                title=d.get("title"),
                phone=d.get("phone"),
                rate=m.Rate(amount=rate["amount"], per=rate.get("per", "hour")) if rate else None,
                private_contact=d.get("private_contact", False),
                active=d.get("active", True),
                sees=_sees(d.get("sees")),
                loc=doc.loc(),
            )
        return out

    def teams(self) -> dict[str, m.Team]:
        out: dict[str, m.Team] = {}
        for ident, path in self.expect_files(self.root / "teams", ".yaml", LOWER_ID, "team"):
            doc = self.yaml_file(path, "team", empty={})
            if doc is None:
                self.result.broken.add(ident)
                continue
            d = doc.data
            out[ident] = m.Team(id=ident, name=d["name"], kind=d["kind"], sees=_sees(d.get("sees")), loc=doc.loc())
        return out

    def projects(self) -> dict[str, m.Project]:
        out: dict[str, m.Project] = {}
        folder = self.root / "projects"
        for entry in self.listing(folder):
            if not entry.is_dir() or entry.is_symlink():
                self.report(
                    error(
                        Loc(self.rel(entry)),
                        "file.unexpected",
                        "unexpected entry: projects/ holds one folder per project",
                    )
                )
                continue
            if not LOWER_ID.match(entry.name):
                self.report(
                    error(Loc(self.rel(entry)), "id.file-name", f"folder name {entry.name!r} is not a valid project id")
                )
                continue
            project = self.project(entry.name, entry)
            if project is None:
                self.result.broken.add(entry.name)
            else:
                out[entry.name] = project
        return out

    def project(self, ident: str, folder: TreePath) -> m.Project | None:
        settings_file = folder / "project.yaml"
        for entry in self.listing(folder):
            if entry.name not in PROJECT_ENTRIES:
                self.report(
                    warning(
                        Loc(self.rel(entry)),
                        "file.unexpected",
                        f"unknown entry in a project folder (known: {', '.join(sorted(PROJECT_ENTRIES))})",
                    )
                )
        if not settings_file.is_file():
            self.report(error(Loc(self.rel(folder)), "file.missing", "project folder has no project.yaml"))
            return None
        doc = self.yaml_file(settings_file, "project", empty={})
        tasks = self.tasks(ident, folder / "tasks")
        changes = self.changes(ident, folder / "changes")
        meetings = self.meetings(ident, folder / "meetings")
        time_entries = self.time_entries(ident, folder / "time")
        expenses = self.expenses(ident, folder / "expenses.yaml")
        documents = self.documents(ident, folder / "files" / "index.yaml")
        feedback = self.feedback(ident, folder / "feedback")
        if doc is None:
            return None
        d = doc.data
        scope = d.get("scope") or {}
        budget = d.get("budget")
        comm = d.get("communication")

        def make() -> m.Project:
            return m.Project(
                id=ident,
                name=d["name"],
                key=d["key"],
                status=d["status"],
                members=tuple(d["members"]),
                client=d.get("client"),
                start=_date(d.get("start")),
                due=_date(d.get("due")),
                budget=m.Budget(hours=budget.get("hours"), amount=budget.get("amount")) if budget else None,
                approvers=tuple(d["approvers"]) if "approvers" in d else None,
                scope=m.Scope(
                    objectives=_tuple(scope.get("objectives")),
                    deliverables=tuple(
                        m.Deliverable(id=x["id"], title=x["title"], due=_date(x.get("due")))
                        for x in scope.get("deliverables") or ()
                    ),
                    out_of_scope=_tuple(scope.get("out_of_scope")),
                    client_responsibilities=_tuple(scope.get("client_responsibilities")),
                    freelancer_terms=tuple(
                        m.FreelancerTerms(
                            for_=x["for"],
                            responsibilities=_tuple(x.get("responsibilities")),
                            standards=_tuple(x.get("standards")),
                            deadlines=_tuple(x.get("deadlines")),
                        )
                        for x in scope.get("freelancer_terms") or ()
                    ),
                ),
                baseline=_date(d.get("baseline")),
                milestones=tuple(
                    m.Milestone(
                        id=x["id"],
                        title=x["title"],
                        due=_date(x.get("due")),
                        criteria=_tuple(x.get("criteria")),
                        status=x.get("status", "open"),
                        signed_off_by=x.get("signed_off_by"),
                        signed_off_on=_date(x.get("signed_off_on")),
                    )
                    for x in d.get("milestones") or ()
                ),
                communication=m.Communication(**comm) if comm else None,
                description=d.get("description"),
                tasks=tasks,
                changes=changes,
                meetings=meetings,
                time_entries=time_entries,
                expenses=expenses,
                documents=documents,
                feedback=feedback,
                loc=doc.loc(),
            )

        return self.build(doc, (), make)

    def tasks(self, project: str, folder: TreePath) -> tuple[m.Task, ...]:
        out: list[m.Task] = []
        files = dict(self.expect_files(folder, ".md", TASK_ID, "task"))
        for entry in self.listing(folder):
            if entry.is_dir() and not entry.is_symlink() and entry.name not in files:
                self.report(
                    error(
                        Loc(self.rel(entry)),
                        "ref.task",
                        f"folder {entry.name!r} holds comments for a task that has no file {entry.name}.md",
                    )
                )
        for ident, path in files.items():
            task = self.task(project, ident, path, self.comments(project, ident, folder / ident / "comments"))
            if task is not None:
                out.append(task)
        return tuple(sorted(out, key=task_order))

    def task(self, project: str, ident: str, path: TreePath, comments: tuple[m.Comment, ...]) -> m.Task | None:
        """The task in file `path` (`<ident>.md`), with its comments; None (and marked broken) when it has errors."""
        record = self.markdown_file(path, "task")
        if record is None:
            self.result.broken.add(ident)
            return None
        d = record.doc.data
        doc = record.doc

        def make() -> m.Task:
            return _made(
                m.Task,
                id=ident,
                project=project,
                title=d["title"],
                status=d["status"],
                body=record.body,
                assignee=d.get("assignee"),
                subscribers=_tuple(d.get("subscribers")),
                created_by=d.get("created_by"),
                created=_date(d.get("created")),
                due=_date(d.get("due")),
                estimate_hours=d.get("estimate_hours"),
                priority=d.get("priority", "normal"),
                tags=_tuple(d.get("tags")),
                milestone=d.get("milestone"),
                deliverable=d.get("deliverable"),
                change_request=d.get("change_request"),
                attachments=_tuple(d.get("attachments")),
                hidden=d.get("hidden", False),
                visible_to=_tuple(d.get("visible_to")),
                comments=comments,
                loc=doc.loc(),
            )

        task = self.build(doc, (), make)
        if task is None:
            self.result.broken.add(ident)
        return task

    def comments(self, project: str, task: str, folder: TreePath) -> tuple[m.Comment, ...]:
        out: list[m.Comment] = []
        if folder.parent.is_dir():
            for entry in self.listing(folder.parent):
                if entry.name != "comments":
                    self.report(
                        error(
                            Loc(self.rel(entry)),
                            "file.unexpected",
                            "unexpected entry: a task folder holds only comments/",
                        )
                    )
        for ident, path in self.expect_files(folder, ".md", LOWER_ID, "comment"):
            comment = self.comment(project, task, ident, path)
            if comment is not None:
                out.append(comment)
        return tuple(sorted(out, key=comment_order))

    def comment(self, project: str, task: str, ident: str, path: TreePath) -> m.Comment | None:
        """The comment in file `path` (`<ident>.md`) on `task`; None when it has errors."""
        record = self.markdown_file(path, "comment")
        if record is None:
            return None
        d = record.doc.data

        def make() -> m.Comment:
            return _made(
                m.Comment,
                id=ident,
                project=project,
                task=task,
                author=d["author"],
                date=_datetime(d["date"]),
                body=record.body,
                hidden=d.get("hidden", False),
                visible_to=_tuple(d.get("visible_to")),
                loc=record.doc.loc(),
            )

        return self.build(record.doc, ("date",), make)

    def changes(self, project: str, folder: TreePath) -> tuple[m.ChangeRequest, ...]:
        out: list[m.ChangeRequest] = []
        for ident, path in self.expect_files(folder, ".md", CR_ID, "change request"):
            change = self.change(project, ident, path)
            if change is not None:
                out.append(change)
        return tuple(sorted(out, key=change_order))

    def change(self, project: str, ident: str, path: TreePath) -> m.ChangeRequest | None:
        """The change request in file `path` (`<ident>.md`); None (broken when unreadable) when it has errors."""
        record = self.markdown_file(path, "change-request")
        if record is None:
            self.result.broken.add(f"{project}/{ident}")
            return None
        d = record.doc.data

        def make() -> m.ChangeRequest:
            impact = d.get("impact")
            decision = d.get("decision")
            return m.ChangeRequest(
                id=ident,
                project=project,
                title=d["title"],
                requested_by=d["requested_by"],
                requested_on=_date(d["requested_on"]) or dt.date.min,
                status=d["status"],
                body=record.body,
                impact=m.Impact(**impact) if impact else None,
                decision=m.Decision(
                    by=decision["by"], on=_date(decision["on"]) or dt.date.min, note=decision.get("note")
                )
                if decision
                else None,
                tasks=_tuple(d.get("tasks")),
                loc=record.doc.loc(),
            )

        return self.build(record.doc, (), make)

    def meetings(self, project: str, folder: TreePath) -> tuple[m.Meeting, ...]:
        out: list[m.Meeting] = []
        for ident, path in self.expect_files(folder, ".md", LOWER_ID, "meeting"):
            meeting = self.meeting(project, ident, path)
            if meeting is not None:
                out.append(meeting)
        return tuple(sorted(out, key=dated_order))

    def meeting(self, project: str, ident: str, path: TreePath) -> m.Meeting | None:
        """The meeting minutes in file `path` (`<ident>.md`); None when they have errors."""
        record = self.markdown_file(path, "meeting")
        if record is None:
            return None
        d = record.doc.data

        def make() -> m.Meeting:
            return m.Meeting(
                id=ident,
                project=project,
                date=_datetime(d["date"]),
                title=d["title"],
                body=record.body,
                attendees=_tuple(d.get("attendees")),
                decisions=_tuple(d.get("decisions")),
                hidden=d.get("hidden", False),
                visible_to=_tuple(d.get("visible_to")),
                loc=record.doc.loc(),
            )

        return self.build(record.doc, ("date",), make)

    def time_entries(self, project: str, folder: TreePath) -> tuple[m.TimeEntry, ...]:
        out: list[m.TimeEntry] = []
        for month, path in self.expect_files(folder, ".yaml", MONTH, "time (YYYY-MM)"):
            out += (entry for _, entry in self.month(project, month, path))
        return tuple(sorted(out, key=time_order))

    def month(self, project: str, month: str, path: TreePath) -> list[tuple[int, m.TimeEntry]]:
        """The time entries of file `path` (`<month>.yaml`) that load, in file order, each with its place in the list."""
        doc = self.yaml_file(path, "time", empty=[])
        if doc is None:
            return []
        out: list[tuple[int, m.TimeEntry]] = []
        # Entries parsed item by item are the same objects where they stand in each version of the
        # file (`yamllist`): one that built cleanly in this file is reused (see `_CLEAN_ITEMS`).
        kept = _KEPT_ENTRIES if self.cache is not None and self.cache.lists_by_item else None
        rel = path.rel
        first = 0
        if kept is not None:
            # A version that appends an item to one whose entries all built without a finding: those
            # entries, then its last item's (see `_BUILT_MONTHS`).
            before = extends(doc)
            built = _BUILT_MONTHS.get((rel, id(before))) if before is not None else None
            if built is not None and built[0] is before:
                out = list(built[1])
                first = len(doc.data) - 1
        reported = len(self.result.findings)
        for index in range(first, len(doc.data)):
            d = doc.data[index]
            if kept is not None:
                found = kept.get((rel, id(d)))
                if found is not None and found[0] is d:
                    out.append((index, found[1]))
                    continue

            def make(d: dict[str, Any] = d, index: int = index) -> m.TimeEntry:
                return _made(
                    m.TimeEntry,
                    project=project,
                    date=_date(d["date"]) or dt.date.min,
                    person=d["person"],
                    task=d["task"],
                    hours=d["hours"],
                    note=d.get("note"),
                    billable=d.get("billable", True),
                    cost=None,
                    loc=doc.loc((index,)),
                )

            entry = self.build(doc, (index, "date"), make)
            if entry is None:
                continue
            if entry.date.strftime("%Y-%m") != month:
                self.report(
                    error(
                        doc.loc((index, "date")),
                        "time.month",
                        f"[{index}].date: {entry.date.isoformat()} is not in {month}; time entries go in the file of their month",
                    )
                )
            elif kept is not None:
                kept[(rel, id(d))] = (d, entry)
                if len(kept) > _CLEAN_ITEMS_ENTRIES:
                    kept.popitem(last=False)
            out.append((index, entry))
        if kept is not None and len(self.result.findings) == reported:
            _keep_bounded(_BUILT_MONTHS, (rel, id(doc)), (doc, tuple(out)))
        return out

    def expenses(self, project: str, path: TreePath) -> tuple[m.Expense, ...]:
        if not path.exists() and not path.is_symlink():
            return ()
        doc = self.yaml_file(path, "expenses", empty=[])
        if doc is None:
            return ()
        out: list[m.Expense] = []
        for index, d in enumerate(doc.data):

            def make(d: dict[str, Any] = d, index: int = index, doc: Doc = doc) -> m.Expense:
                return m.Expense(
                    project=project,
                    date=_date(d["date"]) or dt.date.min,
                    amount=d["amount"],
                    description=d["description"],
                    by=d["by"],
                    task=d.get("task"),
                    loc=doc.loc((index,)),
                )

            expense = self.build(doc, (index, "date"), make)
            if expense is not None:
                out.append(expense)
        return tuple(out)

    def documents(self, project: str, path: TreePath) -> tuple[m.Document, ...]:
        if not path.exists() and not path.is_symlink():
            return ()
        doc = self.yaml_file(path, "documents", empty=[])
        if doc is None:
            return ()
        return tuple(
            m.Document(
                project=project,
                path=d["path"],
                title=d["title"],
                description=d.get("description"),
                hidden=d.get("hidden", False),
                visible_to=_tuple(d.get("visible_to")),
                loc=doc.loc((index,)),
            )
            for index, d in enumerate(doc.data)
        )

    def feedback(self, project: str, folder: TreePath) -> tuple[m.Feedback, ...]:
        out: list[m.Feedback] = []
        for ident, path in self.expect_files(folder, ".md", LOWER_ID, "feedback"):
            item = self.feedback_item(project, ident, path)
            if item is not None:
                out.append(item)
        return tuple(sorted(out, key=dated_order))

    def feedback_item(self, project: str, ident: str, path: TreePath) -> m.Feedback | None:
        """The feedback in file `path` (`<ident>.md`); None when it has errors."""
        record = self.markdown_file(path, "feedback")
        if record is None:
            return None
        d = record.doc.data

        def make() -> m.Feedback:
            response = d.get("response")
            return m.Feedback(
                id=ident,
                project=project,
                author=d["author"],
                date=_date(d["date"]) or dt.date.min,
                rating=d["rating"],
                body=record.body,
                milestone=d.get("milestone"),
                response=m.Response(
                    by=response["by"], date=_date(response["date"]) or dt.date.min, text=response["text"]
                )
                if response
                else None,
                loc=record.doc.loc(),
            )

        return self.build(record.doc, ("date",), make)


class ScanTree(DiskTree):
    """A DiskTree that lists each folder once with `os.scandir` and remembers its entries' kinds.

    The loader asks the kind of every path several times; answering from the listing saves a
    `lstat` (and a `Path`) per question, which matters at tens of thousands of files.
    """

    def __init__(
        self, root: Path, kinds: Mapping[str, Kind | None] | None = None, listed: Mapping[str, list[str]] | None = None
    ) -> None:
        """`kinds` and `listed` (sorted names per folder), when given, are what a walk of the same folder
        found, as this class would find them: folders they list are not listed again (see
        `buildcache.input_signature`, which walks the inputs once for both)."""
        super().__init__(root)
        self.base = str(root)
        self.kinds: dict[str, Kind | None] = {**(kinds or {}), "": "dir"}
        self.listed: dict[str, list[str]] = dict(listed or {})

    def children(self, rel: str) -> list[str]:
        names = self.listed.get(rel)
        if names is None and self.kind(rel) != "dir":
            # Never list through a symbolic link (or a file): a linked folder's content is outside.
            self.listed[rel] = []
            return []
        if names is None:
            names = []
            prefix = f"{rel}/" if rel else ""
            try:
                with os.scandir(os.path.join(self.base, rel) if rel else self.base) as entries:
                    for entry in entries:
                        names.append(entry.name)
                        # d_type answers without a stat; symbolic links are reported, never followed.
                        self.kinds[prefix + entry.name] = kind_of_entry(entry)
            except OSError:
                names = []
            names.sort()
            self.listed[rel] = names
        return names

    def kind(self, rel: str) -> Kind | None:
        if rel in self.kinds:
            return self.kinds[rel]
        parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
        if self.kind(parent) != "dir":
            # Below a link (or a file) nothing exists for the loader: links are never followed.
            self.kinds[rel] = None
            return None
        if parent not in self.listed:
            self.children(parent)
        found = self.kinds.get(rel)
        self.kinds[rel] = found
        return found

    def read(self, rel: str) -> bytes:
        if self.kind(rel) != "file":
            raise OSError(f"{rel} is not a regular file inside the workspace")
        with open(os.path.join(self.base, rel), "rb") as handle:
            return handle.read()


def load_workspace(root: Path, cache: ParseCache | None = None, tree: ScanTree | None = None) -> LoadResult:
    """Read every file of the workspace folder at `root`; never raises for bad content.

    `cache` reuses parses of unchanged files (e.g. `buildcache.PersistentParseCache` across runs);
    `tree`, a `ScanTree` of `root` filled by an earlier walk, spares listing the folders again.
    """
    root = root.resolve()
    with collector_paused():
        return _Loader(root, tree if tree is not None else ScanTree(root), cache).load()


# A record's file where the loader looks for it: folder, then file name (comments: task, then file name).
_RECORD_FILE = re.compile(r"^projects/([^/]+)/(tasks|changes|meetings|feedback|time)/([^/]+)$")
_COMMENT_FILE = re.compile(r"^projects/([^/]+)/tasks/([^/]+)/comments/([^/]+)$")
_RECORD_NAMES: dict[str, tuple[str, re.Pattern[str]]] = {
    "tasks": (".md", TASK_ID),
    "changes": (".md", CR_ID),
    "meetings": (".md", LOWER_ID),
    "feedback": (".md", LOWER_ID),
    "time": (".yaml", MONTH),
}


@dataclass
class RecordLoad:
    """One record file loaded on its own, as the whole-tree loader loads it in its place.

    `entities`: the task (without comments), comment, change request, meeting or feedback it holds,
    or its time entries in file order, with `places` their indexes in the list; none when it has
    errors. `findings` are sorted.
    """

    kind: str
    project: str
    task: str | None
    entities: tuple[object, ...]
    doc: Doc | None
    findings: list[Finding]
    places: tuple[int, ...] = ()


def load_record(root: Path, rel: str, raw: bytes, cache: ParseCache | None = None) -> RecordLoad | None:
    """Load one record file (task, comment, change request, meeting, feedback, month of time) alone.

    The same reading, parsing, schema checks and model building as `load_tree`, without listing a
    tree: the history walk loads each new version of a record this way. None when `rel` is not
    where a record's file goes under a valid project (the caller then loads a tree: the loader
    reports such files itself).
    """
    task: str | None = None
    match = _RECORD_FILE.match(rel)
    if match is not None:
        project, folder, name = match.groups()
    else:
        match = _COMMENT_FILE.match(rel)
        if match is None:
            return None
        project, task, name = match.groups()
        folder = "comments"
        if not TASK_ID.match(task):
            return None
    suffix, pattern = _RECORD_NAMES.get(folder, (".md", LOWER_ID))
    ident = name[: -len(suffix)]
    if not name.endswith(suffix) or not pattern.match(ident) or not LOWER_ID.match(project):
        return None
    loader = _Loader(root, MemoryTree({rel: raw}), cache)
    path = loader.root / rel
    entities: tuple[object, ...]
    places: tuple[int, ...] = ()
    if folder == "time":
        entries = loader.month(project, ident, path)
        entities = tuple(map(itemgetter(1), entries))
        places = tuple(map(itemgetter(0), entries))
    else:
        one: object | None
        if folder == "tasks":
            one = loader.task(project, ident, path, ())
        elif folder == "comments":
            assert task is not None
            one = loader.comment(project, task, ident, path)
        elif folder == "changes":
            one = loader.change(project, ident, path)
        elif folder == "meetings":
            one = loader.meeting(project, ident, path)
        else:
            one = loader.feedback_item(project, ident, path)
        entities = (one,) if one is not None else ()
    result = loader.result
    result.findings.sort()
    return RecordLoad(folder, project, task, entities, result.docs.get(rel), result.findings, places)


def load_tree(tree: Tree, root: Path, cache: ParseCache | None = None) -> LoadResult:
    """Load a workspace from any Tree (e.g. a Git commit); `cache` reuses parses of unchanged files."""
    return _Loader(root, tree, cache).load()


class _DocsAfter(Mapping[str, Doc]):
    """The documents of an earlier load with those of files read again over them (`before` is not copied)."""

    def __init__(self, before: Mapping[str, Doc], again: Mapping[str, Doc]) -> None:
        self._before = before
        self._again = again

    def __getitem__(self, rel: str) -> Doc:
        found = self._again.get(rel)
        return found if found is not None else self._before[rel]

    def __contains__(self, rel: object) -> bool:
        return rel in self._again or rel in self._before

    def __iter__(self) -> Iterator[str]:
        yield from self._before
        yield from (rel for rel in self._again if rel not in self._before)

    def __len__(self) -> int:
        return len(self._before) + sum(1 for rel in self._again if rel not in self._before)


def reload_records(
    previous: LoadResult, changed: Iterable[str], tree: DiskTree, cache: ParseCache | None = None
) -> LoadResult | None:
    """`previous`, a load of this workspace, with the record files `changed` since then loaded again.

    It equals a full load of the workspace as it stands now when only these files changed and each
    was, and still is, a record (task, comment, change request, meeting, feedback, month of time)
    that loads without a finding: then the folders are as they were, no id becomes or stops being
    broken, and no finding comes or goes. Anything else returns None (load the whole workspace):
    a finding a record file had, or has now, can change how others are read (a broken task's
    comments are dropped). `cache` receives the parses made here. `tree` becomes the result's tree.
    """
    ws = previous.workspace
    if ws is None:
        return None
    with_findings = {finding.loc.path for finding in previous.findings}
    again: dict[str, Doc] = {}
    # The previous documents are not copied: a cached load reads them only when one is asked for.
    docs = _DocsAfter(previous.docs, again)
    projects = dict(ws.projects)
    for rel in changed:
        if rel not in docs or rel in with_findings:
            return None  # not read as a record, or it had findings
        try:
            raw = read_input(tree, rel)
        except (OSError, SourceError):
            return None
        record = load_record(previous.root, rel, raw, cache)
        if record is None or record.findings or record.doc is None or (record.kind != "time" and not record.entities):
            return None
        again[rel] = record.doc
        project = projects.get(record.project)
        if project is None:
            continue  # the project did not load (its project.yaml has errors): its records are read, not kept
        patched = _patch_project(project, rel, record)
        if patched is None:
            return None
        projects[record.project] = patched
    return LoadResult(
        root=previous.root,
        workspace=dataclasses.replace(ws, projects=projects),
        findings=list(previous.findings),
        docs=docs,
        files=previous.files,
        tree=tree,
        broken=set(previous.broken),
    )


def _patch_project(project: m.Project, rel: str, record: RecordLoad) -> m.Project | None:
    """The project with the record of `rel` in place of its previous version (None: it had none)."""
    if record.kind == "time":
        kept = [entry for entry in project.time_entries if entry.loc.path != rel]
        entries = [entry for entry in record.entities if isinstance(entry, m.TimeEntry)]
        return dataclasses.replace(project, time_entries=tuple(sorted([*kept, *entries], key=time_order)))
    new = record.entities[0]
    if isinstance(new, m.Task):
        old = project.task(new.id)
        if old is None:
            return None
        # The task file holds no comments: they are files of their own, unchanged here. Its id, so its
        # number, is its file name: it keeps its place (the loader leaves ties in file-name order).
        tasks = _replaced(project.tasks, dataclasses.replace(new, comments=old.comments), None)
        return None if tasks is None else dataclasses.replace(project, tasks=tasks)
    if isinstance(new, m.Comment):
        task = project.task(new.task)
        if task is None:
            return project  # a task that did not load drops its comments
        comments = _replaced(task.comments, new, comment_order)
        if comments is None:
            return None
        tasks = _replaced(project.tasks, dataclasses.replace(task, comments=comments), None)
        return None if tasks is None else dataclasses.replace(project, tasks=tasks)
    if isinstance(new, m.ChangeRequest):
        changes = _replaced(project.changes, new, change_order)
        return None if changes is None else dataclasses.replace(project, changes=changes)
    if isinstance(new, m.Meeting):
        meetings = _replaced(project.meetings, new, dated_order)
        return None if meetings is None else dataclasses.replace(project, meetings=meetings)
    if isinstance(new, m.Feedback):
        feedback = _replaced(project.feedback, new, dated_order)
        return None if feedback is None else dataclasses.replace(project, feedback=feedback)
    return None


R = TypeVar("R", m.Task, m.Comment, m.ChangeRequest, m.Meeting, m.Feedback)


def _replaced(records: tuple[R, ...], new: R, order: Callable[[R], Any] | None) -> tuple[R, ...] | None:
    """`records` with `new` in place of the one with its id, sorted by `order` as the loader sorts them
    (None: in the same place); None when no single record has that id."""
    places = [index for index, record in enumerate(records) if record.id == new.id]
    if len(places) != 1:
        return None
    out = list(records)
    out[places[0]] = new
    return tuple(out) if order is None else tuple(sorted(out, key=order))
