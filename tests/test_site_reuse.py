"""Taking files from the previous site (`site.PreviousSite`, kept by `buildcache.PageCache`): same bytes, nothing shared is written."""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jinja2
import pytest

from worktrail import model as m
from worktrail import site as site_module
from worktrail.buildcache import PageCache
from worktrail.policy import Policy
from worktrail.redact import View, default_audiences, redact
from worktrail.render import MarkdownRenderer
from worktrail.resources import templates_dir
from worktrail.site import TrailEvent, build_audience_site, project_versions
from worktrail.validate import validate_workspace

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample-workspace"
EPOCH = 1774958400  # 2026-03-31 12:00 UTC, "today" in the sample workspace


def events(count: int, *, retitled: int | None = None, hostile: int | None = None) -> list[TrailEvent]:
    """`count` events on the sample's tasks, oldest first, each with its own key."""
    out: list[TrailEvent] = []
    for index in range(count):
        summary = f"status open → review ({index})"
        if index == retitled:
            summary = "status review → done"
        if index == hostile:
            summary = "a\r\nb \x00 \u202e <b>&"
        when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=index)
        task = f"WEB-{index % 26 + 1}"
        out.append(TrailEvent(when, summary, "Ana", "acme-website", task, message=f"commit {index}", key=f"k{index}"))
    return out


def build(view: View, out: Path, trail: Sequence[TrailEvent], previous: PageCache | None = None) -> PageCache:
    out.mkdir()
    build_audience_site(view, out, epoch=EPOCH, events=trail, files_root=SAMPLE, previous=previous)
    if previous is not None:
        previous.record_written()
    return previous or PageCache(out)


def again(cache: PageCache) -> PageCache:
    """The cache of the next build into the same folder (the previous site stays there until swapped)."""
    return PageCache(cache.folder, dict(cache.current))


def rendered_runs(monkeypatch: pytest.MonkeyPatch, macro: str, probes: Sequence[object]) -> list[list[Any]]:
    """The runs of items that `site_module.<macro>` (`_event_items`, `_search_items`) renders from now on,
    not read from the previous file (runs of `probes`, which find the page's frame, aside)."""
    rendered: list[list[Any]] = []
    real: Callable[[jinja2.Environment, site_module.SiteContext], Callable[[Sequence[Any]], str]]
    real = getattr(site_module, macro)

    def counting(env: jinja2.Environment, site: site_module.SiteContext) -> Callable[[Sequence[Any]], str]:
        items = real(env, site)

        def render(run: Sequence[Any]) -> str:
            if not any(item in probes for item in run):
                rendered.append(list(run))
            return items(run)

        return render

    monkeypatch.setattr(site_module, macro, counting)
    return rendered


def overlaid(name: str, old: str, new: str) -> jinja2.Environment:
    """The build's environment with template `name` changed (`old` replaced by `new`), as an overlay:
    the shared environment stays as it is."""
    shared = site_module.environment()
    source = (templates_dir() / name).read_text(encoding="utf-8")
    changed = source.replace(old, new)
    assert changed != source and shared.loader is not None
    return shared.overlay(loader=jinja2.ChoiceLoader([jinja2.DictLoader({name: changed}), shared.loader]))


def test_a_trail_month_page_made_from_runs_of_the_previous_one_is_byte_identical_to_one_rendered_whole(
    internal: View, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hourly from 1 January (UTC): 743 events in January (Paris time), 657 in February.
    january, february = "trail/2026-01.html", "trail/2026-02.html"
    first = build(internal, tmp_path / "first", events(1400), PageCache(tmp_path / "first"))
    assert len(first.current[january].parts or {}) > 3 and len(first.current[february].parts or {}) > 3
    # A new event (the newest: first on the page), one that reads otherwise, one with hostile text.
    later = events(1401, retitled=1200, hostile=1300)
    rendered = rendered_runs(monkeypatch, "_event_items", site_module._PROBES)
    second = build(internal, tmp_path / "second", later, again(first))
    monkeypatch.undo()
    build(internal, tmp_path / "whole", later)
    for path in ("trail.html", january, february):
        assert (tmp_path / "second" / path).read_bytes() == (tmp_path / "whole" / path).read_bytes(), path
    # Only the runs that show a change (or the new event) were rendered; the rest came from the previous
    # page, and the month none of them is in is the previous page itself.
    assert 0 < len(rendered) <= 3 and sum(map(len, rendered)) < 657 / 2
    assert second.current[february].parts
    assert (tmp_path / "first" / january).stat().st_ino == (tmp_path / "second" / january).stat().st_ino


def test_an_unchanged_trail_is_the_previous_pages_linked(internal: View, tmp_path: Path) -> None:
    first = build(internal, tmp_path / "first", events(800), PageCache(tmp_path / "first"))
    build(internal, tmp_path / "second", events(800), again(first))
    for path in ("trail.html", "trail/2026-01.html", "trail/2026-02.html"):
        assert (tmp_path / "first" / path).stat().st_ino == (tmp_path / "second" / path).stat().st_ino


def test_a_trail_month_page_that_shows_more_of_its_events_than_their_items_is_rendered_whole(internal: View) -> None:
    items = "{{ events_list(page.events) }}"
    env = overlaid("trail.html", items, "{{ page.events|length }} " + items)
    builder = site_module._Builder(internal, EPOCH, MarkdownRenderer(), events(3), SAMPLE, lambda _: None)
    page = builder.trail_month_page(0)
    assert site_module._trail_frame(site_module.environment(), page, builder.site_context(page)) is not None
    assert site_module._trail_frame(env, page, builder.site_context(page)) is None


def test_a_document_whose_file_is_as_before_is_the_previous_copy_linked_and_any_other_is_read_again(
    internal: View, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = tmp_path / "workspace"
    shutil.copytree(SAMPLE, files, symlinks=True)
    app = files / "projects/acme-app/files"
    copy = "projects/acme-app/documents/"

    def build_from(name: str, previous: PageCache | None, settled: int) -> tuple[PageCache, list[str]]:
        monkeypatch.setattr(site_module, "_SETTLED_NS", settled)
        warnings: list[str] = []
        out = tmp_path / name
        out.mkdir()
        cache = previous or PageCache(out)
        build_audience_site(
            internal, out, epoch=EPOCH, events=(), files_root=files, previous=cache, warn=warnings.append
        )
        cache.record_written()
        return cache, warnings

    def inode(name: str, doc: str) -> int:
        return (tmp_path / name / copy / doc).stat().st_ino

    first, _ = build_from("first", None, 0)
    # A rewritten file is read again; one that became a symbolic link is not copied (nor linked).
    (app / "specs/architecture.md").write_text("# Architecture, rewritten\n", encoding="utf-8")
    (app / "research/interview-summary.md").unlink()
    (app / "research/interview-summary.md").symlink_to("../specs/app-requirements.md")
    second, warnings = build_from("second", again(first), 0)
    assert inode("first", "design/onboarding-flow.svg") == inode("second", "design/onboarding-flow.svg")
    assert inode("first", "specs/architecture.md") != inode("second", "specs/architecture.md")
    assert (tmp_path / "second" / copy / "specs/architecture.md").read_text(encoding="utf-8") == (
        "# Architecture, rewritten\n"
    )
    assert not (tmp_path / "second" / copy / "research/interview-summary.md").exists()
    assert any("interview-summary.md" in warning and "symbolic link" in warning for warning in warnings)
    # A file changed in the last moments (not settled: a change within the same time tick could
    # keep its times) is read and copied again, not linked.
    build_from("third", again(second), 10**18)
    assert inode("second", "design/onboarding-flow.svg") != inode("third", "design/onboarding-flow.svg")
    # Each copy is the bytes of its file now, as a build without the previous site makes it.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    build_audience_site(internal, fresh, epoch=EPOCH, events=(), files_root=files)
    for name in ("second", "third"):
        for doc in (fresh / copy).rglob("*"):
            if doc.is_file():
                assert (tmp_path / name / doc.relative_to(fresh)).read_bytes() == doc.read_bytes()


def retitled(view: View, task_id: str, title: str) -> View:
    """The view with one task's title changed."""
    ws = view.workspace
    projects = {
        pid: dataclasses.replace(
            project,
            tasks=tuple(dataclasses.replace(t, title=title) if t.id == task_id else t for t in project.tasks),
        )
        for pid, project in ws.projects.items()
    }
    return dataclasses.replace(view, workspace=dataclasses.replace(ws, projects=projects))


def test_a_search_page_and_index_made_from_runs_of_the_previous_ones_are_byte_identical_to_whole_ones(
    internal: View, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build(internal, tmp_path / "first", events(3), PageCache(tmp_path / "first"))
    # One run per project and one of the people.
    assert len(first.current["search.html"].parts or {}) == len(internal.workspace.projects) + 1
    assert len(first.current["search-index.json"].parts or {}) == len(internal.workspace.projects) + 1
    edited = retitled(internal, "WEB-3", "Hostile \r\n\u202e <b>& title")
    rendered = rendered_runs(monkeypatch, "_search_items", site_module._SEARCH_PROBES)
    second = build(edited, tmp_path / "second", events(3), again(first))
    monkeypatch.undo()
    build(edited, tmp_path / "whole", events(3))
    for name in ("search.html", "search-index.json"):
        assert (tmp_path / f"second/{name}").read_bytes() == (tmp_path / f"whole/{name}").read_bytes()
        assert (tmp_path / f"second/{name}").read_bytes() != (tmp_path / f"first/{name}").read_bytes()
        assert second.current[name].parts
    # Only the edited task's project was rendered again; the other project and the people came from the previous page.
    assert len(rendered) == 1 and "WEB-3: Hostile \r\n\u202e <b>& title" in [entry.title for entry in rendered[0]]


def test_an_unchanged_search_page_and_index_are_the_previous_files_linked(internal: View, tmp_path: Path) -> None:
    first = build(internal, tmp_path / "first", events(3), PageCache(tmp_path / "first"))
    build(internal, tmp_path / "second", events(3), again(first))
    for name in ("search.html", "search-index.json"):
        assert (tmp_path / f"first/{name}").stat().st_ino == (tmp_path / f"second/{name}").stat().st_ino


def test_a_search_page_that_shows_more_of_its_entries_than_their_items_is_made_whole(
    internal: View, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = "{{ search_items(page.entries) }}"
    env = overlaid("search.html", items, "{{ page.entries|length }} " + items)
    monkeypatch.setattr(site_module, "environment", lambda *_: env)
    first = build(internal, tmp_path / "first", events(3), PageCache(tmp_path / "first"))
    edited = retitled(internal, "WEB-3", "Another title")
    build(edited, tmp_path / "second", events(3), again(first))
    build(edited, tmp_path / "whole", events(3))
    # The page is rendered whole (it shows how many entries there are); the index still comes in runs.
    assert not first.current["search.html"].parts and first.current["search-index.json"].parts
    for name in ("search.html", "search-index.json"):
        assert (tmp_path / f"second/{name}").read_bytes() == (tmp_path / f"whole/{name}").read_bytes()
    page = (tmp_path / "second/search.html").read_text(encoding="utf-8")
    assert "Another title" in page and f"\n{page.count('<li data-search')} " in page


def test_the_site_writer_makes_a_new_file_where_one_is_left_and_never_writes_into_it(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    writer = site_module._SiteWriter(tmp_path / "site")
    writer.write("index.html", b"left by a worker that failed")
    published = tmp_path / "published.html"
    os.link(tmp_path / "site/index.html", published)
    writer.write("index.html", b"made again")
    assert (tmp_path / "site/index.html").read_bytes() == b"made again"
    assert published.read_bytes() == b"left by a worker that failed"


def test_kept_files_are_all_kept_or_none_when_one_is_no_longer_as_written(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    for name in ("a.html", "b.html"):
        (old / name).write_bytes(name.encode())

    def written(name: str) -> tuple[int, int, int]:
        info = (old / name).stat()
        return info.st_size, info.st_mtime_ns, info.st_ino

    files = [(name, str(old / name), written(name)) for name in ("a.html", "b.html")]
    stale = [files[0], (files[1][0], files[1][1], (99, 0, 0))]
    writer = site_module._SiteWriter(new)
    assert not writer.keep(stale)
    assert sorted(p.name for p in new.iterdir()) == []
    assert writer.keep(files)
    assert (new / "b.html").stat().st_ino == (old / "b.html").stat().st_ino


def test_a_previous_page_whose_inputs_changed_is_made_again_not_kept(internal: View, tmp_path: Path) -> None:
    first = build(internal, tmp_path / "first", (), PageCache(tmp_path / "first"))
    task = next(t for t in internal.workspace.projects["acme-website"].tasks if t.id == "WEB-8")
    project = internal.workspace.projects["acme-website"]
    retitled = dataclasses.replace(task, title="Footer everywhere")
    tasks = tuple(retitled if t.id == "WEB-8" else t for t in project.tasks)
    changed_project = dataclasses.replace(project, tasks=tasks)
    workspace = dataclasses.replace(
        internal.workspace, projects={**internal.workspace.projects, "acme-website": changed_project}
    )
    view = dataclasses.replace(internal, workspace=workspace)
    second = build(view, tmp_path / "second", (), again(first))
    page = "projects/acme-website/tasks/WEB-8.html"
    assert (tmp_path / "first" / page).stat().st_ino != (tmp_path / "second" / page).stat().st_ino
    assert b"Footer everywhere" in (tmp_path / "second" / page).read_bytes()
    assert second.rendered < second.reused


@pytest.mark.parametrize("count", [0, 3, 40, 400])
def test_an_export_whose_trail_runs_come_from_the_previous_file_is_byte_identical_to_one_made_whole(
    internal: View, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int, one_process: None
) -> None:
    read: list[bytes] = []
    real_read = site_module._PreviousParts.read

    def spying(self: site_module._PreviousParts, key: bytes) -> bytes | None:
        found = real_read(self, key)
        if found is not None:
            read.append(key)
        return found

    runs: list[list[bytes]] = []
    real_runs = site_module._Builder.export_trail_runs

    def listing(self: site_module._Builder) -> list[tuple[bytes, int, int]]:
        made = real_runs(self)
        runs.append([key for key, _, _ in made])
        return made

    def made_again() -> list[bytes]:
        """The runs of the last build's trail not read from the previous file."""
        return [key for key in runs[-1] if key not in read]

    def after(cache: PageCache, out: Path, trail: Sequence[TrailEvent]) -> PageCache:
        """A build after the one `cache` recorded, into `out`: as if swapped into its place (read from there next)."""
        previous = PageCache(cache.folder, dict(cache.current))
        out.mkdir()
        build_audience_site(internal, out, epoch=EPOCH, events=trail, files_root=SAMPLE, previous=previous)
        made = PageCache(out, current=dict(previous.current))
        made.record_written()
        return made

    monkeypatch.setattr(site_module._PreviousParts, "read", spying)
    monkeypatch.setattr(site_module._Builder, "export_trail_runs", listing)
    first = after(PageCache(tmp_path / "none"), tmp_path / "first", events(count))
    second = after(first, tmp_path / "second", events(count))
    assert made_again() == []
    assert (count == 0) == (runs[-1] == []) and (count < 400 or len(runs[-1]) > 2)
    build(internal, tmp_path / "whole", events(count))
    for folder in ("first", "second"):
        assert (tmp_path / folder / "export.json").read_bytes() == (tmp_path / "whole/export.json").read_bytes()
    # An event that reads otherwise (in the middle, then one more at the end): only the runs that
    # hold it (and, where it moves a cut, the next) are made again.
    read.clear()
    third = after(second, tmp_path / "third", events(count, retitled=count // 2))
    assert len(made_again()) <= 2 and (count == 0 or len(made_again()) >= 1)
    build(internal, tmp_path / "third-whole", events(count, retitled=count // 2))
    assert (tmp_path / "third/export.json").read_bytes() == (tmp_path / "third-whole/export.json").read_bytes()
    read.clear()
    after(third, tmp_path / "fourth", events(count + 1, retitled=count // 2, hostile=count))
    assert 1 <= len(made_again()) <= 2
    build(internal, tmp_path / "fourth-whole", events(count + 1, retitled=count // 2, hostile=count))
    assert (tmp_path / "fourth/export.json").read_bytes() == (tmp_path / "fourth-whole/export.json").read_bytes()


def test_a_calendar_whose_projects_all_day_events_come_from_the_previous_file_is_byte_identical_to_one_made_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_process: None
) -> None:
    report, result = validate_workspace(SAMPLE)
    assert report.errors == 0 and result.workspace is not None
    ws = result.workspace
    read: list[bytes] = []
    real_read = site_module._PreviousParts.read

    def spying(self: site_module._PreviousParts, key: bytes) -> bytes | None:
        found = real_read(self, key)
        if found is not None and self._found is not None and self._found[0].endswith("calendar.ics"):
            read.append(key)
        return found

    monkeypatch.setattr(site_module._PreviousParts, "read", spying)
    audience = next(a for a in default_audiences(ws) if a.name == "internal")

    def after(cache: PageCache, out: Path, workspace: m.Workspace, generations: dict[str, str]) -> PageCache:
        """A build of `workspace` (its projects known by `generations`) after the one `cache` recorded."""
        previous = PageCache(cache.folder, dict(cache.current))
        stamps = {pid: (project, generations[pid]) for pid, project in workspace.projects.items()}
        view = redact(workspace, audience, Policy(workspace))
        out.mkdir()
        build_audience_site(
            view, out, epoch=EPOCH, files_root=SAMPLE, previous=previous, versions=project_versions(workspace, stamps)
        )
        whole = tmp_path / f"{out.name}-whole"
        build(view, whole, ())
        assert (out / "calendar.ics").read_bytes() == (whole / "calendar.ics").read_bytes()
        made = PageCache(out, current=dict(previous.current))
        made.record_written()
        return made

    generations = {pid: f"generation of {pid}" for pid in ws.projects}
    first = after(PageCache(tmp_path / "none"), tmp_path / "first", ws, generations)
    assert read == []
    second = after(first, tmp_path / "second", ws, generations)
    # Both projects' all-day events were read back, nothing else of the calendar.
    assert len(read) == len(ws.projects) == 2
    read.clear()
    # A task of one project retitled (and so a new generation of that project): only the other one is read.
    app = ws.projects["acme-app"]
    task = next(task for task in app.tasks if task.due is not None and task.status != "cancelled")
    retitled = dataclasses.replace(task, title="Retitled")
    edited = dataclasses.replace(
        ws,
        projects={
            **ws.projects,
            "acme-app": dataclasses.replace(app, tasks=tuple(retitled if t is task else t for t in app.tasks)),
        },
    )
    third = after(second, tmp_path / "third", edited, {**generations, "acme-app": "a new generation"})
    assert len(read) == 1
    assert f"{task.id} due: Retitled".encode() in (tmp_path / "third/calendar.ics").read_bytes()
    read.clear()
    # Without generations, nothing is taken from the previous file.
    previous = PageCache(third.folder, dict(third.current))
    (tmp_path / "fourth").mkdir()
    build_audience_site(redact(edited, audience, Policy(edited)), tmp_path / "fourth", epoch=EPOCH, previous=previous)
    assert read == []


def test_where_hard_links_fail_unchanged_files_are_copied_and_the_copies_are_kept_by_the_next_build(
    internal: View, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EXDEV, "another file system")

    first = build(internal, tmp_path / "first", events(100), PageCache(tmp_path / "first"))
    monkeypatch.setattr(os, "link", no_links)
    second = build(internal, tmp_path / "second", events(100), again(first))
    third = build(internal, tmp_path / "third", events(100), PageCache(tmp_path / "second", dict(second.current)))
    # Everything but the export and the calendar (always made again) is kept, the second time from the copies.
    assert second.rendered == third.rendered == 2 and second.reused == third.reused > 50
    page = "projects/acme-website/tasks/WEB-8.html"
    assert (tmp_path / "second" / page).stat().st_ino != (tmp_path / "first" / page).stat().st_ino
    assert (tmp_path / "third" / page).read_bytes() == (tmp_path / "first" / page).read_bytes()
