"""Incremental work (`.worktrail-cache/`): a cached build is byte-identical to a full one, and nothing stale is used."""

from __future__ import annotations

import errno
import filecmp
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.workspace_edits import age_inputs, aged_copy, replace_once, set_field
from worktrail import buildcache, render_pool
from worktrail import model as m
from worktrail import site as site_module
from worktrail.buildcache import BuildCache, cache_folder, code_salt, input_signature
from worktrail.cli import main
from worktrail.resources import schemas_dir, templates_dir

EPOCH = "1774958400"  # 2026-03-31 12:00 UTC, "today" in the sample workspace
ENV = {"SOURCE_DATE_EPOCH": EPOCH, "GIT_CONFIG_NOSYSTEM": "1"}


# Every cache of these tests under tmp_path (conftest `cache_home`).
pytestmark = pytest.mark.usefixtures("cache_home")


@pytest.fixture
def workspace(example: Path, tmp_path: Path) -> Path:
    return aged_copy(example, tmp_path)


def build(workspace: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, ["-C", str(workspace), "build", *args], env=ENV)
    assert result.exit_code == 0, result.output
    return result


def same_tree(left: Path, right: Path) -> list[str]:
    """Paths that differ between two folders (missing on one side or with different bytes)."""
    left_files = {p.relative_to(left).as_posix() for p in left.rglob("*") if p.is_file()}
    right_files = {p.relative_to(right).as_posix() for p in right.rglob("*") if p.is_file()}
    differ = sorted(left_files ^ right_files)
    for rel in sorted(left_files & right_files):
        if not filecmp.cmp(left / rel, right / rel, shallow=False):
            differ.append(rel)
    return differ


def assert_incremental_equals_full(workspace: Path, tmp_path: Path) -> None:
    build(workspace)
    full = tmp_path / "full"
    build(workspace, "--no-cache", "--out", str(full))
    assert same_tree(workspace / "site", full) == []


def _first_task(workspace: Path) -> Path:
    return sorted((workspace / "projects").glob("*/tasks/*.md"))[0]


def _web(ws: Path, rel: str) -> Path:
    return ws / "projects" / "acme-website" / rel


def _remove_app_14(ws: Path) -> None:
    """APP-14 goes; a meeting's notes still name it, and CR-1 lists it no more."""
    (ws / "projects/acme-app/tasks/APP-14.md").unlink()
    replace_once(ws / "projects/acme-app/changes/CR-1.md", "tasks: [APP-13, APP-14]", "tasks: [APP-13]")


def _new_task(ws: Path) -> None:
    text = "---\ntitle: New one\nstatus: open\ncreated: 2026-03-30\n---\n\nFollows WEB-23 and CR-1.\n"
    _web(ws, "tasks/WEB-90.md").write_text(text, encoding="utf-8")


EDITS: dict[str, Callable[[Path], None]] = {
    "a task title": lambda ws: set_field(_first_task(ws), "title", "Renamed task"),
    "a task hidden": lambda ws: replace_once(_first_task(ws), "status: ", "hidden: true\nstatus: "),
    "a comment removed": lambda ws: sorted((ws / "projects").glob("*/tasks/*/comments/*.md"))[0].unlink(),
    "a person renamed": lambda ws: set_field(sorted((ws / "people").glob("*.yaml"))[0], "name", "Doctor Renamed"),
    "a time entry changed": lambda ws: replace_once(
        sorted((ws / "projects").glob("*/time/*.yaml"))[0], "hours: ", "hours: 1"
    ),
    # Shown on other pages: WEB-8 in a comment of WEB-22, WEB-23 on CR-1's page and the scope page.
    "a task title referenced in another task's comment": lambda ws: set_field(
        _web(ws, "tasks/WEB-8.md"), "title", "Foot"
    ),
    "a task title listed on a change request": lambda ws: set_field(_web(ws, "tasks/WEB-23.md"), "title", "Consent"),
    "a task referenced elsewhere removed": lambda ws: _remove_app_14(ws),
    "a task referenced elsewhere hidden": lambda ws: replace_once(
        _web(ws, "tasks/WEB-8.md"), "status: ", "hidden: true\nstatus: "
    ),
    "a task with a change request and attachment hidden": lambda ws: replace_once(
        _web(ws, "tasks/WEB-17.md"), "status: ", "hidden: true\nstatus: "
    ),
    "a new task referencing another": lambda ws: _new_task(ws),
    "a comment's text": lambda ws: replace_once(
        _web(ws, "tasks/WEB-22/comments/c2.md"), "Cancelled.", "Dropped, see WEB-9."
    ),
    "a change request title": lambda ws: set_field(_web(ws, "changes/CR-1.md"), "title", "Consent banner v3"),
    "a milestone title": lambda ws: replace_once(
        _web(ws, "project.yaml"), "title: Beta site on staging", "title: Beta"
    ),
    "a deliverable title": lambda ws: replace_once(
        _web(ws, "project.yaml"), "title: Responsive website on the headless CMS", "title: Website"
    ),
    "a document title": lambda ws: replace_once(
        ws / "projects/acme-app/files/index.yaml", "title: User interview summary", "title: Interviews"
    ),
    "a project name": lambda ws: set_field(_web(ws, "project.yaml"), "name", "Acme relaunch"),
    "the workspace name": lambda ws: set_field(ws / "worktrail.yaml", "name", "Southwind Studio"),
    "the workspace language": lambda ws: set_field(ws / "worktrail.yaml", "language", "fr"),
    "a person's team": lambda ws: set_field(ws / "people/nina.yaml", "team", "studio"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_incremental_build_after_an_edit_is_byte_identical_to_a_full_build(
    workspace: Path, tmp_path: Path, edit: str
) -> None:
    build(workspace)
    assert cache_folder(workspace).is_dir()
    EDITS[edit](workspace)
    age_inputs(workspace)
    assert_incremental_equals_full(workspace, tmp_path)


def test_a_task_hidden_since_the_last_build_is_gone_from_every_file_of_the_sites_that_may_not_see_it(
    workspace: Path, tmp_path: Path
) -> None:
    build(workspace)
    title = "Homepage template"
    assert title in (workspace / "site/acme/projects/acme-website/tasks/index.html").read_text(encoding="utf-8")
    replace_once(_web(workspace, "tasks/WEB-8.md"), "status: ", "hidden: true\nstatus: ")
    age_inputs(workspace)
    build(workspace)
    client = workspace / "site/acme"
    assert not (client / "projects/acme-website/tasks/WEB-8.html").exists()
    assert [p for p in client.rglob("*") if p.is_file() and b"WEB-8.html" in p.read_bytes()] == []
    assert "WEB-8" in (workspace / "site/internal/projects/acme-website/tasks/index.html").read_text(encoding="utf-8")


def test_after_a_title_edit_only_the_task_pages_that_show_it_are_built_again(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_process: None
) -> None:
    build(workspace)
    built: list[str] = []
    real = site_module._Builder.task_page

    def counting(self: site_module._Builder, project: m.Project, task: m.Task) -> site_module.Page:
        built.append(f"{self.view.audience.name}:{task.id}")
        return real(self, project, task)

    monkeypatch.setattr(site_module._Builder, "task_page", counting)
    set_field(_web(workspace, "tasks/WEB-8.md"), "title", "Footer everywhere")
    age_inputs(workspace)
    build(workspace)
    # Its own page, and WEB-22's, whose comment links to it with its title; nothing else.
    assert sorted(built) == ["acme:WEB-22", "acme:WEB-8", "internal:WEB-22", "internal:WEB-8"]
    page = (workspace / "site/internal/projects/acme-website/tasks/WEB-22.html").read_text(encoding="utf-8")
    assert "WEB-8: Footer everywhere" in page
    built.clear()
    assert "(unchanged)" not in build(workspace, "--audience", "internal", "--audience", "acme").output
    assert built == []


def test_an_unchanged_file_is_the_previous_site_file_linked_and_no_build_writes_into_it(
    workspace: Path, tmp_path: Path
) -> None:
    build(workspace)
    site = workspace / "site/internal"
    unchanged = site / "projects/acme-app/tasks/APP-2.html"
    changed = site / "projects/acme-website/tasks/WEB-8.html"
    old_unchanged, old_changed = unchanged.stat(), changed.stat()
    kept = tmp_path / "kept-by-someone.html"
    os.link(changed, kept)
    before = kept.read_bytes()
    set_field(_web(workspace, "tasks/WEB-8.md"), "title", "Footer everywhere")
    age_inputs(workspace)
    build(workspace)
    assert unchanged.stat().st_ino == old_unchanged.st_ino
    assert changed.stat().st_ino != old_changed.st_ino
    # The previous site's file is made anew, never rewritten: another link to it keeps its bytes.
    assert kept.read_bytes() == before
    assert b"Footer everywhere" in changed.read_bytes()


def test_without_hard_links_unchanged_files_are_copied_byte_for_byte(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(workspace)

    def no_links(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EPERM, "no hard links here")

    monkeypatch.setattr(os, "link", no_links)
    set_field(_web(workspace, "tasks/WEB-8.md"), "title", "Footer everywhere")
    age_inputs(workspace)
    assert_incremental_equals_full(workspace, tmp_path)


def test_an_incremental_build_after_a_new_commit_is_byte_identical_to_a_full_build(
    workspace: Path, tmp_path: Path
) -> None:
    build(workspace)
    set_field(_first_task(workspace), "title", "Committed title")
    subprocess.run(["git", "-C", str(workspace), "commit", "-qam", "rename"], check=True, env={**os.environ, **ENV})
    age_inputs(workspace)
    assert_incremental_equals_full(workspace, tmp_path)


def test_a_rebuild_with_nothing_changed_is_skipped_and_leaves_the_sites_as_they_were(
    workspace: Path, tmp_path: Path
) -> None:
    build(workspace)
    before = {p: p.read_bytes() for p in (workspace / "site").rglob("*") if p.is_file()}
    again = build(workspace)
    assert "(unchanged)" in again.output
    assert {p: p.read_bytes() for p in (workspace / "site").rglob("*") if p.is_file()} == before


def test_a_tampered_site_file_is_rebuilt_not_reused(workspace: Path, tmp_path: Path) -> None:
    build(workspace)
    page = next((workspace / "site" / "internal").rglob("*.html"))
    original = page.read_bytes()
    page.write_bytes(b"tampered")
    again = build(workspace)
    assert "(unchanged)" not in again.output
    assert page.read_bytes() == original


def test_an_edit_made_within_the_racy_window_is_never_missed(workspace: Path, tmp_path: Path) -> None:
    build(workspace)
    # Written just now: a signature taken this instant is not trusted, so the content is read.
    set_field(_first_task(workspace), "title", "Racy title")
    assert not input_signature(workspace).trusted
    assert_incremental_equals_full(workspace, tmp_path)


def test_the_input_signature_is_the_same_whether_a_worker_describes_half_of_the_projects(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, forks: list[bool]
) -> None:
    for number in range(3):
        (workspace / "projects" / f"extra-{number}").mkdir()
        (workspace / "projects" / f"extra-{number}" / "notes.md").write_text(f"notes {number}\n", encoding="utf-8")
    (workspace / "projects" / "stray.txt").write_text("a file beside the project folders\n", encoding="utf-8")
    age_inputs(workspace)
    monkeypatch.setattr(buildcache, "_SIGNATURE_SPLIT", 2)
    monkeypatch.setattr(render_pool, "workers_available", lambda: False)
    alone = input_signature(workspace)
    monkeypatch.setattr(render_pool, "workers_available", lambda: True)
    forks.clear()
    split = input_signature(workspace)
    assert forks == [True]
    assert split.digest == alone.digest and split.trusted and split.whole
    assert (split.stats, split.kinds, split.listed, split.unsettled) == (
        alone.stats,
        alone.kinds,
        alone.listed,
        alone.unsettled,
    )
    assert "projects/extra-2/notes.md" in split.stats and split.listed["projects"][-1] == "stray.txt"


def test_validate_with_the_cache_reports_exactly_what_a_fresh_validation_reports(workspace: Path) -> None:
    def validate(*args: str) -> Result:
        return CliRunner().invoke(main, ["-C", str(workspace), "validate", "--format", "json", *args], env=ENV)

    assert validate().exit_code == 0
    set_field(_first_task(workspace), "status", "unheard-of")
    age_inputs(workspace)
    cached, again, fresh = validate(), validate(), validate("--no-cache")
    assert cached.exit_code == again.exit_code == fresh.exit_code == 1
    assert cached.output == again.output == fresh.output
    assert "unheard-of" in fresh.output


def test_a_reload_reads_parsed_documents_only_to_place_a_finding_and_places_it_as_a_fresh_load_does(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["-C", str(workspace), "build", *args], env=ENV)

    def edit(field: str, value: str) -> None:
        # Only the edited file is described anew (aging every input would change every file's ctime).
        task = _first_task(workspace)
        set_field(task, field, value)
        past = time.time() - 3600
        os.utime(task, (past, past))

    assert run().exit_code == 0
    read: list[str] = []
    real = BuildCache.get

    def reading(self: BuildCache, name: str) -> object:
        read.append(name)
        return real(self, name)

    monkeypatch.setattr(BuildCache, "get", reading)
    asked: list[str] = []
    real_doc = buildcache._StoredDocs.__getitem__

    def asking(self: buildcache._StoredDocs, rel: str) -> object:
        asked.append(rel)
        return real_doc(self, rel)

    monkeypatch.setattr(buildcache._StoredDocs, "__getitem__", asking)
    edit("title", "Renamed")
    assert run().exit_code == 0
    # Loaded again file by file: the shards read are the edited file's (rewritten with its new parse) and
    # those of the documents asked for to place the example's warnings, not all of them.
    shards = {
        f"parses-{buildcache._parse_shard(rel)}.pickle"
        for rel in [*asked, _first_task(workspace).relative_to(workspace).as_posix()]
    }
    assert "load.pickle" in read and {name for name in read if name.startswith("parses-")} == shards
    assert len(shards) < buildcache.PARSE_SHARDS
    edit("assignee", "nobody-here")
    cached, fresh = run(), run("--no-cache")
    assert cached.exit_code == fresh.exit_code == 1
    assert cached.output == fresh.output and "nobody-here" in fresh.output
    assert re.search(r"tasks/[A-Z]+-1\.md:[0-9]+:[0-9]+", fresh.output), fresh.output


def test_the_cache_lives_outside_the_workspace_and_the_site_folder(workspace: Path, cache_home: Path) -> None:
    before = sorted(p.relative_to(workspace) for p in workspace.rglob("*") if ".git" not in p.parts)
    build(workspace)
    after = sorted(p.relative_to(workspace) for p in workspace.rglob("*") if ".git" not in p.parts)
    assert [p for p in after if p not in before and p.parts[0] != "site"] == []
    assert cache_folder(workspace).is_relative_to(cache_home)
    assert any(cache_folder(workspace).iterdir())


def test_no_cache_builds_without_reading_or_writing_a_cache(workspace: Path) -> None:
    build(workspace, "--no-cache")
    assert not cache_folder(workspace).exists()


# -- invalidation -------------------------------------------------------------------------------


@pytest.fixture
def own_resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """Copies of the schemas and templates that the cache's salt is computed from."""
    schemas = tmp_path / "schemas"
    templates = tmp_path / "templates"
    shutil.copytree(schemas_dir(), schemas)
    shutil.copytree(templates_dir(), templates)
    monkeypatch.setattr(buildcache, "schemas_dir", lambda: schemas)
    monkeypatch.setattr(buildcache, "templates_dir", lambda: templates)
    code_salt.cache_clear()
    yield schemas, templates
    code_salt.cache_clear()


def _salt_after(change: Callable[[], None]) -> tuple[str, str]:
    code_salt.cache_clear()
    before = code_salt()
    change()
    code_salt.cache_clear()
    return before, code_salt()


def test_the_cache_is_invalidated_by_a_template_change(own_resources: tuple[Path, Path]) -> None:
    _, templates = own_resources
    page = next(templates.glob("*.html"))

    def change() -> None:
        page.write_text(page.read_text(encoding="utf-8") + "\n", encoding="utf-8")

    before, after = _salt_after(change)
    assert before != after


def test_the_cache_is_invalidated_by_a_schema_change(own_resources: tuple[Path, Path]) -> None:
    schemas, _ = own_resources
    schema = next(schemas.glob("*.json"))

    def change() -> None:
        schema.write_text(schema.read_text(encoding="utf-8") + " ", encoding="utf-8")

    before, after = _salt_after(change)
    assert before != after


def test_the_cache_is_invalidated_by_the_tool_version(
    own_resources: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    before, after = _salt_after(lambda: monkeypatch.setattr(buildcache, "__version__", "999.0"))
    assert before != after


def test_a_cache_written_by_other_code_is_emptied_before_use(workspace: Path, own_resources: tuple[Path, Path]) -> None:
    build(workspace)
    assert BuildCache(workspace).get("build.pickle") is not None
    _, templates = own_resources
    page = next(templates.glob("*.html"))
    page.write_text(page.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    code_salt.cache_clear()
    assert BuildCache(workspace).get("build.pickle") is None
    assert not list(cache_folder(workspace).glob("parses-*.pickle"))


def test_a_damaged_cache_file_counts_as_no_cache(workspace: Path, tmp_path: Path) -> None:
    build(workspace)
    for path in cache_folder(workspace).glob("*.pickle"):
        path.write_bytes(b"\x80\x05damaged")
    set_field(_first_task(workspace), "title", "After damage")
    age_inputs(workspace)
    assert_incremental_equals_full(workspace, tmp_path)


# -- what the cache keeps, and what a rebuild rewrites ------------------------------------------


def _written(folder: Path, pattern: str) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in folder.glob(pattern)}


def test_an_edit_rewrites_only_the_parse_cache_shard_of_its_file(workspace: Path, tmp_path: Path) -> None:
    build(workspace)
    folder = cache_folder(workspace)
    before = _written(folder, "parses-*.pickle")
    assert len(before) == buildcache.PARSE_SHARDS
    task = _web(workspace, "tasks/WEB-8.md")
    set_field(task, "title", "Footer everywhere")
    age_inputs(workspace)
    build(workspace)
    after = _written(folder, "parses-*.pickle")
    rel = task.relative_to(workspace).as_posix()
    assert [name for name in sorted(after) if after[name] != before[name]] == [
        f"parses-{buildcache._parse_shard(rel)}.pickle"
    ]
    assert_incremental_equals_full(workspace, tmp_path)


def test_a_rebuild_adds_a_markdown_segment_with_its_new_renders_and_segments_are_merged_past_the_limit(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(workspace)
    folder = cache_folder(workspace)
    assert sorted(_written(folder, "markdown-*.pickle")) == ["markdown-0.pickle"]
    comment = _web(workspace, "tasks/WEB-22/comments/c2.md")
    replace_once(comment, "Cancelled.", "Dropped.")
    age_inputs(workspace)
    build(workspace)
    assert sorted(_written(folder, "markdown-*.pickle")) == ["markdown-0.pickle", "markdown-1.pickle"]
    added = BuildCache(workspace).get("markdown-1.pickle")
    # Only the edited comment's text was rendered (HTML), and nothing else was stored again.
    assert [key[0].startswith("Dropped.") for key, _ in added[0]] == [True]
    monkeypatch.setattr(buildcache, "MAX_MARKDOWN_SEGMENTS", 2)
    replace_once(comment, "Dropped.", "Gone.")
    age_inputs(workspace)
    build(workspace)
    assert sorted(_written(folder, "markdown-*.pickle")) == ["markdown-2.pickle"]
    assert_incremental_equals_full(workspace, tmp_path)
