"""A record file loaded on its own (`load.load_record`) gives exactly what loading it as a tree gives.

The history walk loads each new version of a task, comment, change request, meeting, feedback or
month of time straight into its model object instead of building a small tree around it with
stand-in settings and project files (`history._Group._load`). These tests compare both ways, as the
walk sees them (`Snapshot._loaded`: entities, records by file, list items, parsed data, findings),
on every record file of the sample and case workspaces, every version of every record file of the
example's history, and broken versions of each kind of record. A month that appends an item to the
version before it is checked and built from that version: the same as loading it from scratch.
"""

from __future__ import annotations

import bisect
import dataclasses
import pickle
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worktrail import history, load, yamllist
from worktrail.example import build_example
from worktrail.findings import Finding
from worktrail.history import Snapshot
from worktrail.load import ParseCache, load_record, load_tree
from worktrail.tree import MemoryTree
from worktrail.yamlio import MAX_FILE_BYTES, Doc

ROOT = Path(__file__).resolve().parent.parent
RECORD_FOLDERS = ("tasks", "changes", "meetings", "feedback", "time")
STAND_IN_PROJECT = b"name: Web\nkey: WEB\nstatus: active\nmembers: []\n"


def _both(rel: str, data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """The group of this one file loaded straight, then as a tree (each in a fresh context)."""
    out = []
    for direct in (True, False):
        monkeypatch.setattr(history, "_DIRECT_RECORDS", direct)
        out.append(Snapshot.of_contents(ROOT, {rel: data})._loaded(rel))
    return out[0], out[1]


def _is_record(rel: str) -> bool:
    parts = rel.split("/")
    return len(parts) >= 4 and parts[0] == "projects" and parts[2] in RECORD_FOLDERS


def _workspace_records(folder: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not path.is_symlink() and _is_record(rel):
            yield rel, path.read_bytes()


def _broken_versions() -> Iterator[tuple[str, bytes]]:
    task = "projects/web/tasks/WEB-1.md"
    yield task, b"---\ntitle: Fine\nstatus: open\n---\nBody\n"
    yield task, b"---\ntitle: Fine\nstatus: nonsense\n---\n"
    yield task, b"---\ntitle: [unclosed\nstatus: open\n---\n"
    yield task, b"---\ntitle: Dated\nstatus: open\ndue: 2026-02-30\n---\n"
    yield task, b"no front matter at all\n"
    yield task, b""
    yield task, b"---\ntitle: caf\xe9\nstatus: open\n---\n"
    yield task, b"\xef\xbb\xbf---\r\ntitle: BOM\r\nstatus: open\r\n---\r\n"
    yield task, b"---\ntitle: Big\nstatus: open\n---\n" + b"x" * MAX_FILE_BYTES
    yield task, b"---\ntitle: Hidden\nstatus: open\nhidden: yes\n---\n"
    comment = "projects/web/tasks/WEB-1/comments/c1.md"
    yield comment, b"---\nauthor: ana\ndate: 2026-03-01T10:00:00Z\n---\nHello\n"
    yield comment, b"---\nauthor: ana\ndate: 2026-03-01T10:00:00\n---\nNo time zone\n"
    yield comment, b"---\nauthor: ana\ndate: 2026-02-30T10:00:00Z\n---\n"
    yield comment, b"---\nauthor: ana\n---\nNo date\n"
    change = "projects/web/changes/CR-1.md"
    yield change, b"---\ntitle: More\nrequested_by: ana\nrequested_on: 2026-03-01\nstatus: proposed\n---\n"
    yield change, b"---\ntitle: More\nrequested_by: ana\nrequested_on: 2026-13-01\nstatus: proposed\n---\n"
    meeting = "projects/web/meetings/kickoff.md"
    yield meeting, b"---\ndate: 2026-03-01T10:00:00+01:00\ntitle: Kickoff\n---\nMinutes\n"
    yield meeting, b"---\ndate: 2026-03-01\ntitle: Kickoff\n---\n"
    feedback = "projects/web/feedback/f1.md"
    yield feedback, b"---\nauthor: ana\ndate: 2026-03-01\nrating: 4\n---\nGood\n"
    yield feedback, b"---\nauthor: ana\ndate: 2026-03-01\nrating: 9\n---\n"
    month = "projects/web/time/2026-03.yaml"
    entry = b"- date: 2026-03-02\n  person: ana\n  task: WEB-1\n  hours: 2\n"
    yield month, entry
    yield month, entry + b"- date: 2026-04-02\n  person: ana\n  task: WEB-1\n  hours: 2\n"
    yield month, entry + b"- date: 2026-03-31\n  person: ana\n  task: WEB-1\n  hours: 99\n"
    yield month, entry + b"- date: 2026-02-30\n  person: ana\n  task: WEB-1\n  hours: 1\n"
    yield month, entry + b"- {date: 2026-03-01, person: bo, task: WEB-2, hours: 1}\n" + entry
    yield month, b"# nothing yet\n"
    yield month, b"date: 2026-03-02\n"
    yield month, b"- date: 2026-03-02\n  person: [ana\n"
    # Files the loader reports by their place or name: not loaded alone, the tree loads them.
    yield "projects/web/tasks/web-1.md", b"---\ntitle: Lower\nstatus: open\n---\n"
    yield "projects/web/tasks/WEB-1.txt", b"---\ntitle: Text\nstatus: open\n---\n"
    yield "projects/Web/tasks/WEB-1.md", b"---\ntitle: Upper project\nstatus: open\n---\n"
    yield "projects/web/tasks/web-1/comments/c1.md", b"---\nauthor: ana\ndate: 2026-03-01T10:00:00Z\n---\n"
    yield "projects/web/time/2026-3.yaml", entry
    yield "projects/web/changes/cr-1.md", b"---\ntitle: x\n---\n"


def test_a_record_file_loaded_alone_equals_its_load_as_a_tree_on_the_sample_and_cases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folders = [ROOT / "sample-workspace", *sorted(p for p in (ROOT / "tests" / "cases").glob("*/*") if p.is_dir())]
    seen = 0
    for folder in folders:
        for rel, data in _workspace_records(folder):
            direct, tree = _both(rel, data, monkeypatch)
            assert direct == tree, rel
            seen += 1
    assert seen > 100


def test_a_broken_record_loaded_alone_gives_the_same_findings_as_its_load_as_a_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded_alone = 0
    for rel, data in _broken_versions():
        direct, tree = _both(rel, data, monkeypatch)
        assert direct == tree, (rel, data[:80])
        loaded_alone += load_record(ROOT, rel, data) is not None
    # Misplaced or misnamed files are left to the tree (which reports them); the others load alone.
    assert loaded_alone == len(list(_broken_versions())) - 6


def test_every_version_of_every_record_of_the_example_history_loads_alone_as_in_a_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "demo"
    build_example(root)
    listing = subprocess.run(
        ["git", "-C", str(root), "log", "--format=", "--raw", "--no-abbrev", "--no-renames", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    versions: set[tuple[str, str]] = set()
    for line in listing.splitlines():
        meta, _, rel = line.partition("\t")
        new_oid = meta.split()[3]
        if _is_record(rel) and set(new_oid) != {"0"}:
            versions.add((rel, new_oid))
    assert len(versions) > 50
    for rel, oid in sorted(versions):
        data = subprocess.run(["git", "-C", str(root), "cat-file", "blob", oid], check=True, capture_output=True).stdout
        direct, tree = _both(rel, data, monkeypatch)
        assert direct == tree, rel


def test_a_list_file_checked_item_by_item_has_the_findings_and_entries_of_a_whole_check() -> None:
    """Items found clean in one version are not checked again in the next; new or changed ones are."""
    month = "projects/web/time/2026-03.yaml"

    def entry(day: int, hours: str = "2", person: str = "ana") -> bytes:
        return f"- date: 2026-03-{day:02d}\n  person: {person}\n  task: WEB-1\n  hours: {hours}\n".encode()

    clean = entry(2) + entry(3)
    versions = [
        clean,
        clean + entry(4, hours="99"),
        clean + b"- date: 2026-02-30\n  person: ana\n  task: WEB-1\n  hours: 1\n",
        clean + b"- date: 2026-04-01\n  person: ana\n  task: WEB-1\n  hours: 1\n",
        entry(2, person="Not An Id") + entry(3),
        clean + entry(5),
        entry(2) + b"- date: 2026-03-03\n  person: ana\n  task: WEB-1\n  hours: 2\n  extra: field\n",
        clean + entry(5) + entry(6),
    ]
    state = Snapshot.of_contents(ROOT, {month: versions[0]})
    for version in versions:
        state = state.with_contents({month: version})
        whole = load_tree(
            MemoryTree({"worktrail.yaml": b"name: x\n", "projects/web/project.yaml": STAND_IN_PROJECT, month: version}),
            ROOT,
            ParseCache(),
        )
        assert state.problems(month) == [f for f in whole.findings if f.loc.path == month], version
        project = whole.workspace.projects["web"] if whole.workspace is not None else None
        entries = [line.entity for line in state.lines(month)]
        assert entries == list(project.time_entries if project is not None else ()), version


def test_a_month_that_appends_entries_is_placed_from_the_version_before_as_from_scratch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each version of a month that appends an entry (`history._placed_entries`) loads as in a tree.

    Entries come in any date order (a new one may go before others), some fail (another month, an
    impossible date), and a version may drop or change earlier ones: its lines and entries are the
    same as loading it as a tree.
    """

    month = "projects/web/time/2026-03.yaml"

    def entry(day: int, hours: int = 2, note: str = "") -> bytes:
        extra = f"  note: {note}\n" if note else ""
        return f"- date: 2026-03-{day:02d}\n  person: ana\n  task: WEB-1\n  hours: {hours}\n{extra}".encode()

    text = b""
    versions = []
    for item in (
        entry(10),
        entry(12),
        entry(5, note="before the others"),
        entry(12, hours=3),
        b"- date: 2026-04-01\n  person: ana\n  task: WEB-1\n  hours: 1\n",
        entry(1),
        entry(31, note="last day"),
    ):
        text += item
        versions.append(text)
    versions += [entry(10) + entry(5), entry(10) + entry(5) + entry(7)]
    # As the walk loads them: one version after the other, each straight into its model objects.
    placed_from_before = 0
    real_bisect = bisect.bisect

    def counted(*args: object, **kwargs: object) -> int:
        nonlocal placed_from_before
        placed_from_before += 1
        return real_bisect(*args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(bisect, "bisect", counted)
    monkeypatch.setattr(history, "_DIRECT_RECORDS", True)
    direct = [Snapshot.of_contents(ROOT, {month: version})._loaded(month) for version in versions]
    monkeypatch.undo()
    assert placed_from_before >= 4
    monkeypatch.setattr(history, "_DIRECT_RECORDS", False)
    tree = [Snapshot.of_contents(ROOT, {month: version})._loaded(month) for version in versions]
    assert direct == tree


DATEISH = st.sampled_from(
    [
        "2026-03-01", "2026-02-30", "2026-02-29", "2024-02-29", "2026-13-01", "2026-04-31", "0000-01-01",
        "2026-03-01T10:00:00Z", "2026-02-30T10:00:00Z", "2026-03-01T25:00:00Z", "2026-03-01T10:00", "2026-03-01x",
        "2026-3-1", "x2026-02-30", "2026-02-30 ", "title 2026-02-30", "", "word", "2026-", "12345-01-01",
    ]
)  # fmt: skip
DATED_VALUES = st.recursive(
    st.one_of(DATEISH, st.none(), st.booleans(), st.integers(-5, 5)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["a", "due", "x"]), inner)),
    max_leaves=10,
)


@settings(derandomize=True, deadline=None, max_examples=800)
@given(DATED_VALUES)
def test_a_document_is_walked_for_the_places_of_impossible_dates_exactly_when_it_has_one(value: object) -> None:
    # `_impossible_dates` looks for places only after a quick look found an impossible date.
    doc = Doc(path="f.yaml", data=value)
    walked: list[Finding] = []
    load._find_impossible_dates(doc, value, (), walked)
    assert load._has_impossible_date(value) == bool(walked)
    assert load._impossible_dates(doc) == walked


# -- a month checked and built from the version before ----------------------------------------------


class _ByItem(ParseCache):
    lists_by_item = True


def _entry(rng: random.Random, bad: bool) -> str:
    day = rng.choice([1, 2, 15, 28, 31])
    lines = {
        "date": f"2026-03-{day:02d}",
        "person": rng.choice(["ana", "bo"]),
        "task": rng.choice(["WEB-1", "WEB-2"]),
        "hours": rng.choice(["1", "2.5", "8"]),
    }
    if bad:
        field, value = rng.choice(
            [("date", "2026-02-30"), ("date", "2026-04-01"), ("hours", "99"), ("person", "Not Id"), ("extra", "x")]
        )
        lines[field] = value
    if rng.random() < 0.3:
        lines["note"] = rng.choice(["done", '"quoted note"', "'it''s'", "a: b"])
    text = "".join(f"  {key}: {value}\n" for key, value in lines.items())
    return "-" + text[1:]


def _fresh(rel: str, raw: bytes) -> Any:
    """`load_record` with nothing kept from other versions."""
    for kept in (yamllist._items, yamllist._lists, yamllist._made_from, load._CLEAN_ITEMS, load._KEPT_ENTRIES):
        kept.clear()
    load._CLEAN_LISTS.clear()
    load._BUILT_MONTHS.clear()
    return load_record(ROOT, rel, raw, ParseCache())


@settings(derandomize=True, deadline=None, max_examples=150)
@given(st.randoms(use_true_random=False))
def test_a_month_appended_to_loads_from_the_version_before_as_from_scratch(rng: random.Random) -> None:
    rel = "projects/web/time/2026-03.yaml"
    items: list[str] = []
    versions: list[bytes] = []
    for _ in range(rng.randint(1, 12)):
        action = rng.random()
        if action < 0.7 or not items:
            items.append(_entry(rng, bad=rng.random() < 0.2))
        elif action < 0.85:
            items[rng.randrange(len(items))] = _entry(rng, bad=False)
        else:
            items.pop(rng.randrange(len(items)))
        versions.append("".join(items).encode())
    cache = _ByItem()
    seen = [load_record(ROOT, rel, version, cache) for version in versions]
    for version, record in zip(versions, seen, strict=True):
        assert record == _fresh(rel, version), version.decode()


def test_a_month_that_appends_checks_and_builds_only_its_last_item(monkeypatch: pytest.MonkeyPatch) -> None:
    # Even when the items kept by identity are forgotten between versions (`_CLEAN_ITEMS`, `_KEPT_ENTRIES`).
    rel = "projects/web/time/2026-03.yaml"
    rng = random.Random(6)
    text = ""
    cache = _ByItem()
    checked: list[object] = []
    built: list[object] = []
    real_has = load._has_impossible_date
    real_date = load._date

    def has(value: object) -> bool:
        checked.append(value)
        return real_has(value)

    def date(value: object) -> object:
        built.append(value)
        return real_date(value)

    monkeypatch.setattr(load, "_has_impossible_date", has)
    monkeypatch.setattr(load, "_date", date)
    versions = []
    for _ in range(5):
        text += _entry(rng, bad=False)
        load._CLEAN_ITEMS.clear()
        load._KEPT_ENTRIES.clear()
        versions.append((text.encode(), load_record(ROOT, rel, text.encode(), cache)))
    assert len(checked) == len(built) == 5  # one item checked and one entry built per version
    monkeypatch.undo()
    for raw, record in versions:
        assert record == _fresh(rel, raw)


def test_a_memory_tree_makes_its_folders_when_first_asked_and_a_record_loaded_alone_never_asks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = {"worktrail.yaml": b"name: x\n", "projects/web/tasks/WEB-1.md": b"---\ntitle: T\nstatus: open\n---\n"}
    tree = MemoryTree(files, frozenset({"projects/web/link"}))
    assert tree.kind("projects/web/tasks/WEB-1.md") == "file"
    assert "dirs" not in tree.__dict__
    assert tree.kind("projects/web") == "dir"
    assert tree.kind("projects/web/link") == "link"
    assert tree.kind("projects/web/tasks/WEB-2.md") is None
    assert tree.children("") == ["projects", "worktrail.yaml"]
    assert tree.children("projects/web") == ["link", "tasks"]
    made: list[MemoryTree] = []
    real = MemoryTree.__init__

    def init(self: MemoryTree, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(MemoryTree, "__init__", init)
    record = load_record(ROOT, "projects/web/tasks/WEB-1.md", files["projects/web/tasks/WEB-1.md"], ParseCache())
    assert record is not None and record.entities
    assert made and all("dirs" not in one.__dict__ for one in made)


def test_tasks_comments_and_time_entries_are_made_with_every_field_in_order_as_their_constructors_make_them() -> None:
    # The loader puts their fields in place at once (`load._made`), without the classes' __init__.
    result = load.load_workspace(ROOT / "sample-workspace")
    assert result.workspace is not None
    made: list[object] = []
    for project in result.workspace.projects.values():
        made += project.time_entries
        for task in project.tasks:
            made += [task, *task.comments]
    assert {type(one).__name__ for one in made} == {"Task", "Comment", "TimeEntry"}
    for one in made:
        assert list(vars(one)) == [field.name for field in dataclasses.fields(one)]  # type: ignore[arg-type]
        rebuilt = type(one)(**vars(one))
        assert rebuilt == one
        assert pickle.dumps(rebuilt) == pickle.dumps(one)
