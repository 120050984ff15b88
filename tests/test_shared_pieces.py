"""Pieces many pages show alike are rendered once, and each page shows what rendering it for that page would give.

Rules: the chrome (head links, header and menus, footer) is rendered once for the pages whose site
context differs only in the title, and never shows a title; a context that differs in anything else
(audience, depth, menus, site name) gets its own; a site built after another audience's, in the
same process and environment, is byte for byte the site built alone. A task's row is rendered once
for the 11 variants of its project's list, and every variant shows it alike.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from worktrail import site as site_module
from worktrail.i18n import Formatter
from worktrail.policy import Policy
from worktrail.redact import View, default_audiences, redact
from worktrail.site import NavLink, SiteContext, build_audience_site
from worktrail.validate import validate_workspace

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample-workspace"
EPOCH = 1774958400  # 2026-03-31 12:00 UTC, "today" in the sample workspace
PIECES = ("_head.html", "_header.html", "_footer.html")

TASK_PAGE = SiteContext(
    lang="en",
    site_name="Northwind",
    audience_label="Acme",
    page_title="WEB-1 Secret title",
    root="../../../",
    nav=(NavLink("Home", "../../../index.html"), NavLink("Trail", "../../../trail.html")),
    project_name="Website",
    project_nav=(NavLink("Tasks", "index.html", True),),
    build_date=dt.date(2026, 3, 31),
    fmt=Formatter(),
)


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each fragment template rendered while the test runs."""
    names: list[str] = []
    render = site_module.render_fragment

    def spy(template: Any, site: SiteContext, **values: object) -> Any:
        names.append(template.name)
        return render(template, site, **values)

    monkeypatch.setattr(site_module, "render_fragment", spy)
    return names


def _view(name: str) -> View:
    report, result = validate_workspace(SAMPLE)
    assert report.errors == 0 and result.workspace is not None
    ws = result.workspace
    return redact(ws, next(a for a in default_audiences(ws) if a.name == name), Policy(ws))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_chrome_is_rendered_once_for_pages_alike_but_their_title_and_shows_no_title(rendered: list[str]) -> None:
    chrome = site_module._Chrome(site_module.environment())
    other_page = dataclasses.replace(TASK_PAGE, page_title="WEB-2 Another")
    first = [chrome(name, TASK_PAGE) for name in PIECES]
    second = [chrome(name, other_page) for name in PIECES]
    assert rendered == list(PIECES)
    assert first == second
    assert "Secret title" not in "".join(first)
    assert 'href="../../../trail.html"' in first[1] and 'aria-current="page">Tasks<' in first[1]


@pytest.mark.parametrize(
    "change",
    [
        {"audience_label": "Internal"},
        {"site_name": "Other studio"},
        {"root": "../"},
        {"nav": (NavLink("Home", "../../../index.html", True),)},
        {"project_name": None, "project_nav": ()},
        {"lang": "fr", "fmt": Formatter(lang="fr")},
    ],
)
def test_a_context_differing_in_more_than_the_title_gets_its_own_chrome(change: dict[str, Any]) -> None:
    env = site_module.environment()
    chrome = site_module._Chrome(env)
    for name in PIECES:
        chrome(name, TASK_PAGE)
    other = dataclasses.replace(TASK_PAGE, **change)
    for name in PIECES:
        alone = site_module._Chrome(env)(name, other)
        assert chrome(name, other) == alone
    assert chrome("_header.html", other) != chrome("_header.html", TASK_PAGE)


def test_a_site_built_after_another_audience_in_the_same_process_is_the_site_built_alone(
    tmp_path: Path, one_process: None
) -> None:
    views = {"acme": _view("acme"), "internal": _view("internal")}

    def build(name: str, folder: str, *, fresh: bool) -> dict[str, bytes]:
        if fresh:
            site_module.environment.cache_clear()
        (tmp_path / folder).mkdir()
        build_audience_site(views[name], tmp_path / folder, epoch=EPOCH, files_root=SAMPLE)
        return _files(tmp_path / folder)

    try:
        alone = {name: build(name, f"{name}-alone", fresh=True) for name in views}
        site_module.environment.cache_clear()
        # One environment (and its chrome) for the three builds: each audience after the other.
        assert build("acme", "acme-first", fresh=False) == alone["acme"]
        assert build("internal", "internal-second", fresh=False) == alone["internal"]
        assert build("acme", "acme-third", fresh=False) == alone["acme"]
    finally:
        site_module.environment.cache_clear()


def test_a_task_row_is_rendered_once_for_every_variant_of_its_list(
    tmp_path: Path, one_process: None, rendered: list[str]
) -> None:
    internal = _view("internal")
    build_audience_site(internal, tmp_path, epoch=EPOCH, files_root=SAMPLE)
    tasks = [task.id for project in internal.workspace.projects.values() for task in project.tasks]
    assert rendered.count("_task_row.html") == len(tasks)
    for project in internal.workspace.projects.values():
        lists = sorted((tmp_path / "projects" / project.id / "tasks").glob("*.html"))
        variants = [page for page in lists if page.stem == "index" or page.stem.startswith(("by-", "status-"))]
        assert len(variants) == 11
        rows: dict[str, set[str]] = {}
        for page in variants:
            for row in re.findall(r"    <tr data-search=.*?</tr>\n", page.read_text(encoding="utf-8"), re.S):
                task = re.search(r'<th scope="row"><a href="[^"]*">([^<]*)</a>', row)
                assert task is not None
                rows.setdefault(task.group(1), set()).add(row)
        assert sorted(rows) == sorted(task.id for task in project.tasks)
        assert all(len(shown) == 1 for shown in rows.values())
