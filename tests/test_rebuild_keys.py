"""A rebuild keys what it can skip by what it knows of the last build: same bytes as a full build, nothing hidden survives.

A project whose loaded files, whose audience's view and whose events did not change takes its pages
over whole from the previous site (`site._Builder.plan_project`), without building or keying any of
them; every other project's pages are keyed one by one. After each kind of edit, the rebuilt sites
are byte-identical to a full build's, and text made hidden is in no file of a site that may not see it.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.workspace_edits import age_inputs, aged_copy, checkout_again, replace_once, set_field
from worktrail import buildcache, render_pool
from worktrail import model as m
from worktrail import site as site_module
from worktrail import trail as trail_module
from worktrail.buildcache import PageCache, PageRecord
from worktrail.cli import main
from worktrail.history import Event, seen_now
from worktrail.load import load_workspace
from worktrail.policy import Policy, Viewer
from worktrail.redact import default_audiences
from worktrail.site import TrailEvent
from worktrail.trail import TrailPart, read_candidates, trails_from

EPOCH = "1774958400"  # 2026-03-31 12:00 UTC, "today" in the sample workspace
ENV = {"SOURCE_DATE_EPOCH": EPOCH, "GIT_CONFIG_NOSYSTEM": "1"}
SECRET = "The runners loved the trail pack previews"


# Every cache of these tests under tmp_path (conftest `cache_home`).
pytestmark = pytest.mark.usefixtures("cache_home")


@pytest.fixture
def workspace(example: Path, tmp_path: Path) -> Path:
    return aged_copy(example, tmp_path)


def _age_edited(folder: Path) -> None:
    """Only the files written since the workspace was aged a minute back (others keep their description)."""
    now = time.time()
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).parts
        if ".git" not in rel and rel[0] != "site" and not path.is_symlink() and path.stat().st_mtime > now - 30:
            os.utime(path, (now - 60, now - 60))


def build(workspace: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, ["-C", str(workspace), "build", *args], env=ENV)
    assert result.exit_code == 0, result.output
    return result


def differing(left: Path, right: Path) -> list[str]:
    left_files = {p.relative_to(left).as_posix(): p for p in left.rglob("*") if p.is_file()}
    right_files = {p.relative_to(right).as_posix(): p for p in right.rglob("*") if p.is_file()}
    out = sorted(left_files.keys() ^ right_files.keys())
    out += [
        rel
        for rel in sorted(left_files.keys() & right_files.keys())
        if left_files[rel].read_bytes() != right_files[rel].read_bytes()
    ]
    return out


def assert_rebuild_equals_full(workspace: Path, tmp_path: Path) -> None:
    _age_edited(workspace)
    build(workspace)
    full = tmp_path / "full"
    build(workspace, "--no-cache", "--out", str(full))
    assert differing(workspace / "site", full) == []


def _app(ws: Path, rel: str) -> Path:
    return ws / "projects" / "acme-app" / rel


def _web(ws: Path, rel: str) -> Path:
    return ws / "projects" / "acme-website" / rel


def _refer_to_web_8(ws: Path) -> None:
    """A comment of the other project (acme-app) links to WEB-8 by id: its page shows WEB-8's title."""
    replace_once(_app(ws, "tasks/APP-3/comments/c1.md"), "went very well.", "went very well, as in WEB-8.")


def _with_cross_reference(edit: Callable[[Path], object]) -> tuple[Callable[[Path], object], Callable[[Path], object]]:
    return _refer_to_web_8, edit


# Each: (what the workspace holds before the first build, the edit made before the rebuild).
EDITS: dict[str, tuple[Callable[[Path], object], Callable[[Path], object]]] = {
    "a task title": (lambda ws: None, lambda ws: set_field(_web(ws, "tasks/WEB-8.md"), "title", "Footer")),
    "a task title referenced from another project": _with_cross_reference(
        lambda ws: set_field(_web(ws, "tasks/WEB-8.md"), "title", "Footer everywhere")
    ),
    "a task referenced from another project hidden": _with_cross_reference(
        lambda ws: replace_once(_web(ws, "tasks/WEB-8.md"), "status: ", "hidden: true\nstatus: ")
    ),
    "a new task that a text of another project names already": (
        lambda ws: replace_once(_app(ws, "tasks/APP-3/comments/c1.md"), "went very well.", "went very well (WEB-90)."),
        lambda ws: _web(ws, "tasks/WEB-90.md").write_text(
            "---\ntitle: New one\nstatus: open\ncreated: 2026-03-30\n---\n\nFollows WEB-23.\n", encoding="utf-8"
        ),
    ),
    "a comment's text": (
        lambda ws: None,
        lambda ws: replace_once(_app(ws, "tasks/APP-3/comments/c1.md"), "went", "goes"),
    ),
    "a comment hidden": (
        lambda ws: None,
        lambda ws: replace_once(_app(ws, "tasks/APP-3/comments/c1.md"), "author: ", "hidden: true\nauthor: "),
    ),
    "a hidden comment made visible to the client team": (
        lambda ws: replace_once(_app(ws, "tasks/APP-3/comments/c1.md"), "author: ", "hidden: true\nauthor: "),
        lambda ws: replace_once(
            _app(ws, "tasks/APP-3/comments/c1.md"), "hidden: true", "hidden: true\nvisible_to: [acme]"
        ),
    ),
    "a task hidden": (
        lambda ws: None,
        lambda ws: replace_once(_app(ws, "tasks/APP-3.md"), "status: ", "hidden: true\nstatus: "),
    ),
    "an audience that views as someone else under the same name": (
        lambda ws: None,
        lambda ws: (ws / "worktrail.yaml").write_text(
            (ws / "worktrail.yaml").read_text(encoding="utf-8")
            + "audiences:\n  internal: {role: admin}\n  acme: {person: nina}\n",
            encoding="utf-8",
        ),
    ),
    "a person renamed": (lambda ws: None, lambda ws: set_field(ws / "people/karen.yaml", "name", "Karen Renamed")),
    "every file written again as it was (a fresh checkout)": (lambda ws: None, checkout_again),
    "a document's bytes": (
        lambda ws: None,
        lambda ws: _app(ws, "files/design/onboarding-flow.svg").write_text("<svg/>\n", encoding="utf-8"),
    ),
    "a time entry": (
        lambda ws: None,
        lambda ws: replace_once(sorted(_app(ws, "time").glob("*.yaml"))[0], "hours: ", "hours: 1"),
    ),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_rebuild_after_an_edit_is_byte_identical_to_a_full_build(workspace: Path, tmp_path: Path, edit: str) -> None:
    before, change = EDITS[edit]
    before(workspace)
    age_inputs(workspace)
    build(workspace)
    change(workspace)
    assert_rebuild_equals_full(workspace, tmp_path)


def _keyed_projects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The projects whose task pages a build keys one by one (`task_page_inputs`), by audience (all keyed
    in this process: no forked worker)."""
    monkeypatch.setattr(render_pool, "workers_available", lambda: False)
    keyed: list[str] = []
    real = site_module._Builder.task_page_inputs

    def counting(self: site_module._Builder, project: m.Project, task: m.Task) -> tuple[object, ...]:
        keyed.append(f"{self.view.audience.name}:{project.id}")
        return real(self, project, task)

    monkeypatch.setattr(site_module._Builder, "task_page_inputs", counting)
    return keyed


def test_a_project_whose_inputs_did_not_change_is_taken_over_whole_without_keying_its_pages(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(workspace)
    keyed = _keyed_projects(monkeypatch)
    set_field(_web(workspace, "tasks/WEB-9.md"), "title", "Renamed")
    assert_rebuild_equals_full(workspace, tmp_path)
    assert keyed, "the edited project's pages are keyed one by one"
    assert {entry.split(":")[1] for entry in keyed} == {"acme-website"}
    keyed.clear()
    # Nothing changed since: every project is taken over whole.
    assert "(unchanged)" not in build(workspace, "--audience", "internal").output
    assert keyed == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(checkout_again, id="a fresh checkout"),
        pytest.param(
            lambda ws: _web(ws, "tasks/WEB-90.md").write_text(
                "---\ntitle: New one\nstatus: open\n---\n\nA new task.\n", encoding="utf-8"
            ),
            id="a task added to the other project",
        ),
    ],
)
def test_a_project_whose_files_did_not_change_is_taken_over_whole_after_any_load(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Callable[[Path], object]
) -> None:
    build(workspace)
    keyed = _keyed_projects(monkeypatch)
    change(workspace)
    assert_rebuild_equals_full(workspace, tmp_path)
    assert "acme-app" not in {entry.split(":")[1] for entry in keyed}


def test_a_project_is_keyed_page_by_page_again_when_a_title_its_texts_show_changes_in_another_project(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _refer_to_web_8(workspace)
    age_inputs(workspace)
    build(workspace)
    keyed = _keyed_projects(monkeypatch)
    set_field(_web(workspace, "tasks/WEB-8.md"), "title", "Footer everywhere")
    assert_rebuild_equals_full(workspace, tmp_path)
    assert "internal:acme-app" in keyed
    page = (workspace / "site/internal/projects/acme-app/tasks/APP-3.html").read_text(encoding="utf-8")
    assert "WEB-8: Footer everywhere" in page


def test_text_of_a_comment_hidden_since_the_last_build_is_in_no_file_of_a_site_that_may_not_see_it(
    workspace: Path, tmp_path: Path
) -> None:
    build(workspace)
    client = workspace / "site" / "acme"
    assert any(SECRET in p.read_text(encoding="utf-8", errors="replace") for p in client.rglob("*") if p.is_file())
    replace_once(_app(workspace, "tasks/APP-3/comments/c1.md"), "author: ", "hidden: true\nauthor: ")
    assert_rebuild_equals_full(workspace, tmp_path)
    for site in ("acme", "nina"):
        for path in (workspace / "site" / site).rglob("*"):
            if path.is_file():
                assert SECRET not in path.read_text(encoding="utf-8", errors="replace"), path
    assert any(SECRET in p.read_text(encoding="utf-8") for p in (workspace / "site/internal").rglob("*.html"))


def test_a_tampered_page_of_a_project_taken_over_whole_is_made_again(workspace: Path, tmp_path: Path) -> None:
    build(workspace)
    page = workspace / "site/internal/projects/acme-app/tasks/APP-3.html"
    data = page.read_bytes()
    page.unlink()
    page.write_bytes(data.replace(b"</html>", b"<!-- tampered --></html>"))
    set_field(_web(workspace, "tasks/WEB-9.md"), "title", "Renamed")
    assert_rebuild_equals_full(workspace, tmp_path)
    assert b"tampered" not in page.read_bytes()


def test_a_project_record_is_kept_only_when_its_pages_are_exactly_the_files_made_under_its_folder(
    tmp_path: Path,
) -> None:
    pages = PageCache(tmp_path)
    for rel in ("projects/a/index.html", "projects/a/tasks/A-1.html", "projects/b/index.html", "index.html"):
        pages.current[rel] = PageRecord(b"k", (1, 1, 1))
    pages.made_project("a", (b"v", (), b"key", ("projects/a/index.html", "projects/a/tasks/A-1.html")))
    # One page of b is not listed, one listed page of c was not made: both dropped.
    pages.made_project("b", (b"v", (), b"key", ()))
    pages.made_project("c", (b"v", (), b"key", ("projects/c/index.html",)))
    assert sorted(pages.checked_projects()) == ["a"]


def test_the_export_of_a_project_whose_version_did_not_change_is_read_from_the_previous_export(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_process: None
) -> None:
    build(workspace)
    made: list[str] = []
    real = site_module._json_pieces

    def spying(value: object) -> object:
        if isinstance(value, m.Project):
            made.append(value.id)
        return real(value)

    monkeypatch.setattr(site_module, "_json_pieces", spying)
    set_field(_web(workspace, "tasks/WEB-9.md"), "title", "Renamed")
    assert_rebuild_equals_full(workspace, tmp_path)
    # Made again for the edited project only (the full build writes its export in one go, without holes).
    assert set(made) == {"acme-website"}


def test_report_tables_are_taken_over_with_their_project_and_made_again_when_it_changed(
    workspace: Path, tmp_path: Path
) -> None:
    build(workspace)

    def tables(pid: str) -> Path:
        return workspace / f"site/internal/projects/{pid}/reports/time-entries.csv"

    before = {pid: tables(pid).stat().st_ino for pid in ("acme-app", "acme-website")}
    set_field(_web(workspace, "tasks/WEB-9.md"), "title", "Renamed")
    assert_rebuild_equals_full(workspace, tmp_path)
    # The unchanged project's tables are the previous files; the edited project's are new files.
    assert tables("acme-app").stat().st_ino == before["acme-app"]
    assert tables("acme-website").stat().st_ino != before["acme-website"]


class _Judged:
    """The project ("" for none) of each event the trail filter judges "now", in this process or a forked
    worker (each audience's events are filtered where its site is built): a line each in a file."""

    def __init__(self, log: Path) -> None:
        self.log = log
        log.write_text("")

    def __iter__(self) -> Iterator[str]:
        return iter(self.log.read_text().splitlines())

    def clear(self) -> None:
        self.log.write_text("")


def _judged(monkeypatch: pytest.MonkeyPatch, log: Path) -> _Judged:
    judged = _Judged(log)
    real = seen_now

    def counting(policy: Policy, viewer: Viewer, event: Event) -> bool:
        with log.open("a") as out:
            out.write((event.entity.project or "") + "\n")
        return real(policy, viewer, event)

    monkeypatch.setattr(trail_module, "seen_now", counting)
    return judged


def test_a_rebuild_judges_again_only_the_trail_events_of_projects_whose_inputs_changed(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(workspace)
    judged = _judged(monkeypatch, tmp_path / "judged.log")
    walked: list[bool] = []
    real_history = buildcache.history_cached

    def reading_history(*args: Any) -> buildcache.StoredCandidates:
        walked.append(True)
        return real_history(*args)

    monkeypatch.setattr(buildcache, "history_cached", reading_history)
    set_field(_web(workspace, "tasks/WEB-9.md"), "title", "Renamed")
    _age_edited(workspace)
    build(workspace)
    # Only the edited project's events, from its own candidates: the history as a whole is not read.
    assert set(judged) == {"acme-website"} and walked == []
    # A person's name shows in every project's events: all are judged and summarised again.
    judged.clear()
    set_field(workspace / "people/karen.yaml", "name", "Karen Renamed")
    _age_edited(workspace)
    build(workspace)
    again = set(judged)
    judged.clear()
    full = tmp_path / "full"
    build(workspace, "--no-cache", "--out", str(full))
    assert again == set(judged) and len(again) > 2
    assert differing(workspace / "site", full) == []


def test_a_build_after_a_new_commit_judges_again_only_the_trail_events_of_projects_it_gave_new_events(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(workspace)
    judged = _judged(monkeypatch, tmp_path / "judged.log")
    set_field(_web(workspace, "tasks/WEB-9.md"), "title", "Renamed in a commit")
    when = {"GIT_AUTHOR_DATE": "2026-03-30T10:00:00Z", "GIT_COMMITTER_DATE": "2026-03-30T10:00:00Z"}
    subprocess.run(
        ["git", "commit", "-qam", "WEB-9: renamed"], cwd=workspace, check=True, env={**os.environ, **ENV, **when}
    )
    _age_edited(workspace)
    build(workspace)
    # The trail's parts are keyed by their candidates, not by HEAD: the other project's are taken over.
    assert set(judged) == {"acme-website"}
    full = tmp_path / "full"
    build(workspace, "--no-cache", "--out", str(full))
    assert differing(workspace / "site", full) == []


def test_trail_parts_are_taken_over_exactly_when_their_key_is_the_one_given(example: Path) -> None:
    result = load_workspace(example)
    ws = result.workspace
    assert ws is not None
    audiences = default_audiences(ws)
    history = read_candidates(example, audiences, parallel=False)
    plain = trails_from(history, ws, audiences)
    keys = {pid: pid.encode() or b"none" for pid in {*ws.projects, ""}}
    keyed = trails_from(history, ws, audiences, keys)
    assert keyed.events == plain.events
    assert {pid: part.key for pid, part in keyed.parts.items()} == {pid: keys[pid] for pid in keyed.parts}
    assert trails_from(history, ws, audiences, keys, keyed.parts).events == plain.events
    # A part is the events it holds: taken over with its key, never with another one.
    name = audiences[0].name
    stand_in = TrailEvent(when=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), summary="stand-in", author="x", key="x")
    forged = {"acme-website": TrailPart(keys["acme-website"], {name: ((0, stand_in),)})}
    taken = trails_from(history, ws, audiences, keys, forged)
    assert stand_in in taken.events[name]
    assert not any(e.project == "acme-website" for e in taken.events[name] if e is not stand_in)
    other = {"acme-website": TrailPart(b"another", forged["acme-website"].events)}
    assert trails_from(history, ws, audiences, keys, other).events == plain.events


def test_a_rebuild_whose_kept_candidates_are_missing_reads_the_history_and_equals_a_full_build(
    workspace: Path, tmp_path: Path, cache_home: Path
) -> None:
    build(workspace)
    kept = list(cache_home.rglob("candidates-*.pickle"))
    assert kept
    kept[0].unlink()
    set_field(_web(workspace, "tasks/WEB-9.md"), "title", "Renamed")
    assert_rebuild_equals_full(workspace, tmp_path)


def _filtered_where(monkeypatch: pytest.MonkeyPatch, log: Path) -> None:
    """Record in `log` each audience whose trail events are filtered, and the process that filters them."""
    real = trail_module.Trails.for_audience

    def recording(self: trail_module.Trails, name: str) -> list[TrailEvent]:
        if name in self.pending:
            with log.open("a") as out:
                out.write(f"{name} {os.getpid()}\n")
        return real(self, name)

    monkeypatch.setattr(trail_module.Trails, "for_audience", recording)


def _kept_parts_hold_every_audience_as_one_filter_gives(workspace: Path) -> None:
    """The trail parts the build cache keeps: every audience's events in each, those a whole filter makes."""
    ws = load_workspace(workspace).workspace
    assert ws is not None
    audiences = default_audiences(ws)
    cache = buildcache.BuildCache(workspace)
    index = cache.get("filtered-trails.pickle")
    assert isinstance(index, dict) and index
    parts = {pid: cache.get(name) for pid, (_, name) in index.items()}
    assert all(set(part.events) == {audience.name for audience in audiences} for part in parts.values())
    whole = trails_from(read_candidates(workspace, audiences, parallel=False), ws, audiences)
    for audience in audiences:
        assert trail_module._merged(parts, audience.name) == whole.for_audience(audience.name)


def test_each_audiences_trail_is_filtered_where_its_site_is_built_and_kept_whole_for_the_next_build(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "filtered.log"
    _filtered_where(monkeypatch, log)
    build(workspace)
    lines = [line.split() for line in log.read_text().splitlines()]
    ws = load_workspace(workspace).workspace
    assert ws is not None
    names = sorted(audience.name for audience in default_audiences(ws))
    # Each audience once, the one built here in this process, the others where a worker built them.
    assert sorted(name for name, _ in lines) == names
    processes = {pid for _, pid in lines}
    assert str(os.getpid()) in processes
    assert len(processes) == (2 if render_pool.workers_available() else 1)
    _kept_parts_hold_every_audience_as_one_filter_gives(workspace)
    # A rebuild takes the kept parts over: the same sites as a full build.
    set_field(_web(workspace, "tasks/WEB-9.md"), "title", "Renamed")
    assert_rebuild_equals_full(workspace, tmp_path)


def test_a_build_of_one_audience_keeps_every_audiences_trail_for_the_next_build(
    workspace: Path, tmp_path: Path
) -> None:
    build(workspace, "--audience", "internal")
    _kept_parts_hold_every_audience_as_one_filter_gives(workspace)
    assert_rebuild_equals_full(workspace, tmp_path)


def test_a_trail_filtered_when_first_asked_for_or_by_a_worker_equals_one_filtered_at_once(example: Path) -> None:
    ws = load_workspace(example).workspace
    assert ws is not None
    audiences = default_audiences(ws)
    names = [audience.name for audience in audiences]
    history = read_candidates(example, audiences, parallel=False)
    grouped = trail_module.candidates_by_project(history)
    keys = {pid: pid.encode() or b"none" for pid in {*ws.projects, ""}}

    def filtered(later: Sequence[str]) -> trail_module.Trails:
        return trail_module.filter_trails(grouped, history.warnings, history.commits, ws, audiences, keys, later=later)

    whole = filtered(())
    lazy = filtered(names)
    assert lazy.pending == set(names) and lazy.events == {}
    # A worker (forked with the same trails) filters one audience; its events come back here.
    worker = filtered(names)
    worker.for_audience(names[-1])
    lazy.merge_worker_state(worker.worker_state())
    assert lazy.pending == set(names[:-1])
    for name in names:
        assert lazy.for_audience(name) == whole.for_audience(name)
    assert not lazy.pending and lazy.parts == whole.parts
