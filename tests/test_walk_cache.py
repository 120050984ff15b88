"""A walk that passes over commits walked before gives exactly what a walk of every commit gives.

`trail.read_candidates(..., known=...)` is what lets a CI build after a push walk only the pushed
commits; these tests prove it changes nothing, whichever commits are known (a prefix, a scattered
subset, one side of a merge), and that the build cache never reuses a walk made for other viewers.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.audit_repo import base_repo, task_md
from worktrail import trail
from worktrail.buildcache import CACHE_ENV
from worktrail.cli import main
from worktrail.history import HistorySource, path_owner, walk
from worktrail.load import load_workspace
from worktrail.redact import default_audiences
from worktrail.trail import Candidate, HistoryTrail, read_candidates

WEB1 = "projects/web/tasks/WEB-1.md"
WEB2 = "projects/web/tasks/WEB-2.md"
EPOCH = "1774958400"
ENV = {"SOURCE_DATE_EPOCH": EPOCH, "GIT_CONFIG_NOSYSTEM": "1"}


def _audiences(root: Path) -> list:  # type: ignore[type-arg]
    ws = load_workspace(root).workspace
    assert ws is not None
    return list(default_audiences(ws))


def _partial(root: Path, full: HistoryTrail, known_ids: list[str]) -> HistoryTrail:
    known = {oid: full.walked[oid] for oid in known_ids}
    return read_candidates(root, _audiences(root), known)


def test_a_walk_that_passes_over_known_commits_equals_a_walk_of_every_commit(example: Path) -> None:
    full = read_candidates(example, _audiences(example))
    order = list(full.walked)
    assert len(order) > 10 and full.candidates
    subsets = {
        "first half": order[: len(order) // 2],
        "all but the last": order[:-1],
        "every other": order[::2],
        "every third but the first": order[1::3],
        "all": order,
    }
    for name, known_ids in subsets.items():
        partial = _partial(example, full, known_ids)
        assert partial.candidates == full.candidates, name
        assert partial.walked == full.walked, name
        assert partial.commits == full.commits


def test_the_walk_yields_no_step_for_a_known_commit(example: Path) -> None:
    with HistorySource(example) as source:
        ids = [commit.id for commit in source.commits]
        known = set(ids[: len(ids) - 3])
        walked = [step.commit.id for step in walk(source, known)]
    assert walked == ids[len(ids) - 3 :]


def test_a_walk_knowing_one_side_of_a_merge_equals_a_walk_of_every_commit(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.fork_side()
    repo.git("merge", "-q", "--no-ff", "--no-commit", "side", author="olga@fixture.test")
    repo.write(WEB2, task_md("Contact form, settled in the merge", assignee="gina", created_by="uma"))
    repo.commit("olga", "Merge side")
    root = repo.workspace
    full = read_candidates(root, _audiences(root))
    order = list(full.walked)
    for cut in range(len(order)):
        known_ids = [oid for index, oid in enumerate(order) if index != cut]
        assert _partial(root, full, known_ids).candidates == full.candidates
        assert _partial(root, full, order[:cut]).candidates == full.candidates


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The base of each log `HistorySource` reads (None: the whole history)."""
    from worktrail import history

    bases: list[str | None] = []
    real = history.read_log

    def reading(repo: Any, commits: Any, allowed_signers: Any = None) -> Any:
        bases.append(commits.base)
        return real(repo, commits, allowed_signers)

    monkeypatch.setattr(history, "read_log", reading)
    return bases


def _linear_repo(tmp_path: Path) -> Any:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(WEB1, task_md("Home page", "in-progress", assignee="gus", created_by="uma"))
    repo.commit("gus", "Start the home page")
    return repo


def _grow(repo: Any) -> None:
    """New commits: one outside the workspace's data, then two that change it."""
    repo.root.joinpath("NOTES.md").write_text("Not workspace data.\n", encoding="utf-8")
    repo.commit("uma", "Notes")
    repo.write(WEB1, task_md("Home page", "review", assignee="gus", created_by="uma"))
    repo.commit("gus", "Ready for review")
    repo.write(WEB2, task_md("Contact form, retitled", assignee="gina", created_by="uma"))
    repo.commit("uma", "Retitle")


def test_a_walk_after_new_commits_of_a_linear_history_reads_only_them_and_equals_a_walk_of_every_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _linear_repo(tmp_path)
    root = repo.workspace
    # The last walk's HEAD changes no workspace data: the first new commit's parent is the commit below it.
    repo.root.joinpath("README.md").write_text("About.\n", encoding="utf-8")
    head = repo.commit("uma", "Readme")
    before = read_candidates(root, _audiences(root))
    _grow(repo)
    full = read_candidates(root, _audiences(root))
    reads = _reads(monkeypatch)
    again = read_candidates(root, _audiences(root), before.walked, known_head=head)
    assert reads == [head], "only the commits after the last walk's HEAD are read"
    assert again == full and list(again.walked) == list(full.walked) and again.commits == full.commits
    assert len(full.walked) == len(before.walked) + 2 and full.candidates != before.candidates
    # The new commits are read as reading the whole history reads them (parents rewritten alike).
    with HistorySource(root) as whole, HistorySource(root, after=(head, list(before.walked))) as later:
        assert later.passed == list(before.walked) and len(later.commits) == 2
        assert later.commits == whole.commits[-2:] and [c.id for c in whole.commits[:-2]] == later.passed


def test_a_walk_reads_every_commit_again_when_the_history_has_a_merge_or_lost_the_last_walks_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _linear_repo(tmp_path)
    root = repo.workspace
    head = repo.head()
    before = read_candidates(root, _audiences(root))
    # The last walk's HEAD rewritten (amended): it is no longer in the history.
    repo.git("commit", "-q", "--amend", "-m", "Start the home page, amended")
    reads = _reads(monkeypatch)
    rewritten = read_candidates(root, _audiences(root), before.walked, known_head=head)
    assert reads == [None] and rewritten == read_candidates(root, _audiences(root))
    # A merge after the last walk's HEAD.
    head = repo.head()
    before = read_candidates(root, _audiences(root))
    repo.fork_side()
    repo.merge("olga", "side")
    reads.clear()
    merged = read_candidates(root, _audiences(root), before.walked, known_head=head)
    assert reads == [None] and merged == read_candidates(root, _audiences(root))
    # A merge before the last walk's HEAD, and only a plain commit after it.
    head = repo.head()
    before = read_candidates(root, _audiences(root))
    repo.write(WEB1, task_md("Home page", "done", assignee="gus", created_by="uma"))
    repo.commit("gus", "Done")
    reads.clear()
    later = read_candidates(root, _audiences(root), before.walked, known_head=head)
    assert reads == [None] and later == read_candidates(root, _audiences(root))


def test_a_walk_of_a_workspace_in_a_sub_folder_reads_every_commit_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git limits the log to the sub-folder and rewrites parents itself: nothing is passed over."""
    repo, _ = base_repo(tmp_path / "repo", "team/work")
    root = repo.workspace
    repo.write(WEB1, task_md("Home page", "in-progress", assignee="gus", created_by="uma"))
    head = repo.commit("gus", "Start the home page")
    before = read_candidates(root, _audiences(root))
    _grow(repo)
    reads = _reads(monkeypatch)
    later = read_candidates(root, _audiences(root), before.walked, known_head=head)
    assert reads == [None] and later == read_candidates(root, _audiences(root))
    assert len(later.walked) == len(before.walked) + 2


def _build(workspace: Path, out: Path, *args: str) -> None:
    result = CliRunner().invoke(main, ["-C", str(workspace), "build", "--out", str(out), *args], env=ENV)
    assert result.exit_code == 0, result.output


def _same_tree(left: Path, right: Path) -> list[str]:
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    a, b = files(left), files(right)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def test_a_build_after_new_commits_walks_only_them_and_equals_a_full_build(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    workspace = tmp_path / "demo"
    shutil.copytree(example, workspace, symlinks=True)
    _build(workspace, tmp_path / "first")
    task = sorted((workspace / "projects").glob("*/tasks/*.md"))[0]
    lines = task.read_text(encoding="utf-8").split("\n")
    lines = ["title: Renamed in a new commit" if line.startswith("title: ") else line for line in lines]
    task.write_text("\n".join(lines), encoding="utf-8")
    env = {**os.environ, **ENV, "GIT_AUTHOR_DATE": "2026-03-30T10:00:00Z", "GIT_COMMITTER_DATE": "2026-03-30T10:00:00Z"}
    subprocess.run(["git", "-C", str(workspace), "commit", "-qam", "rename"], check=True, env=env)
    _build(workspace, tmp_path / "incremental")
    _build(workspace, tmp_path / "full", "--no-cache")
    assert _same_tree(tmp_path / "incremental", tmp_path / "full") == []


def test_a_cached_walk_is_never_reused_for_an_audience_whose_viewer_changed(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    workspace = tmp_path / "demo"
    shutil.copytree(example, workspace, symlinks=True)
    settings = workspace / "worktrail.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text + "audiences:\n  client:\n    team: acme\n", encoding="utf-8")
    _build(workspace, tmp_path / "first")
    # Same audience name, another viewer: the walk made for team acme must not be reused.
    settings.write_text(text + "audiences:\n  client:\n    role: admin\n", encoding="utf-8")
    _build(workspace, tmp_path / "incremental")
    _build(workspace, tmp_path / "full", "--no-cache")
    assert _same_tree(tmp_path / "incremental", tmp_path / "full") == []


@pytest.mark.parametrize("split", ["owners", "commits"])
def test_a_walk_shared_by_two_processes_equals_a_walk_by_one(
    example: Path, monkeypatch: pytest.MonkeyPatch, split: str
) -> None:
    """Two processes share a walk by owners (each derives the events of some projects) or, where that
    cannot be done, by commits (each walks a part of the history); either equals one walk."""
    from worktrail import history, render_pool

    monkeypatch.setattr(history, "_PARALLEL_LEAST", 2)
    monkeypatch.setattr(render_pool, "workers_available", lambda: True)
    one = read_candidates(example, _audiences(example), parallel=False)
    if split == "commits":
        monkeypatch.setattr(history.HistorySource, "owner_halves", lambda self, known: None)
    parts: list[str] = []
    for name in ("_walk_part", "_walk_placed"):
        real = getattr(trail, name)

        def counted(*args: Any, real: Any = real, name: str = name) -> Any:
            parts.append(name)
            return real(*args)

        monkeypatch.setattr(trail, name, counted)
    two = read_candidates(example, _audiences(example))
    assert two.candidates == one.candidates and two.walked == one.walked
    if split == "owners":
        # A commit (the first) has events of both parts, one part's between the other's: put back in order.
        with HistorySource(example) as source:
            owners = source.owner_halves(frozenset())
        assert owners is not None
        parts_of = [[(c.event.entity.project or "") in owners[0] for c in found] for found in one.walked.values()]
        assert any(sum(a != b for a, b in itertools.pairwise(sides)) >= 2 for sides in parts_of)
    # This process walked its part; the worker's part came back (a failed worker's would be redone here).
    assert parts == (["_walk_placed"] if split == "owners" else ["_walk_part"])
    # With some commits known too.
    order = list(one.walked)
    known = {oid: one.walked[oid] for oid in order[::3]}
    assert read_candidates(example, _audiences(example), known).candidates == one.candidates


def test_a_whole_walk_grouped_by_the_processes_that_derived_it_equals_one_walk_grouped(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`read_grouped`: each process of a walk shared by owners pickles its own projects' candidates; placed
    by the commits' order and each change's place, they are the groups of one walk, digest for digest."""
    from worktrail import history, render_pool
    from worktrail.buildcache import candidates_digest, placed_digest
    from worktrail.trail import candidates_by_project, read_grouped

    monkeypatch.setattr(history, "_PARALLEL_LEAST", 2)
    monkeypatch.setattr(render_pool, "workers_available", lambda: True)
    audiences = _audiences(example)
    one = read_candidates(example, audiences, parallel=False)
    expected = candidates_by_project(one)
    grouped = read_grouped(example, audiences)
    assert grouped is not None
    assert {pid: group.value() for pid, group in grouped.groups.items()} == expected
    assert (grouped.order, grouped.commits, grouped.warnings) == (list(one.walked), one.commits, one.warnings)
    for pid, group in grouped.groups.items():
        assert placed_digest(zip(group.positions, grouped.commits_of[pid], strict=True)) == candidates_digest(
            expected[pid]
        )
    # A build that walks so (its worker walks ahead, with no walk kept) equals one without the cache.
    real, marker = trail.read_grouped, tmp_path / "grouped-walk"

    def noted(*args: Any) -> Any:
        found = real(*args)
        marker.write_text(str(found is not None), encoding="utf-8")  # the worker is another process
        return found

    monkeypatch.setattr(trail, "read_grouped", noted)
    _build(example, tmp_path / "grouped")
    assert marker.read_text(encoding="utf-8") == "True"
    monkeypatch.setattr(trail, "read_grouped", real)
    _build(example, tmp_path / "full", "--no-cache")
    assert _same_tree(tmp_path / "grouped", tmp_path / "full") == []
    # A failed worker's projects are walked here: the same groups.
    with monkeypatch.context() as failing:
        failing.setattr(render_pool.Forked, "result", lambda self: None)
        again = read_grouped(example, audiences)
    assert again is not None and {pid: group.value() for pid, group in again.groups.items()} == expected
    # Where the walk cannot be shared by owners, there is none (the walk is `read_candidates`).
    monkeypatch.setattr(history.HistorySource, "owner_halves", lambda self, known: None)
    assert read_grouped(example, audiences) is None


def test_halves_of_a_walk_are_placed_as_one_walk_even_when_both_hold_candidates_of_a_project(example: Path) -> None:
    """`_placed_halves`: each commit's candidates by their changes' places, across both halves, and a
    project whose candidates are on both sides put together (not met in a walk shared by owners)."""
    import pickle

    from worktrail.trail import _Half, _placed_halves, candidates_by_project

    one = read_candidates(example, _audiences(example), parallel=False)
    orders: tuple[dict[str, list[tuple[int, str]]], dict[str, list[tuple[int, str]]]] = ({}, {})
    found: tuple[dict[str, list[Candidate]], dict[str, list[Candidate]]] = ({}, {})
    for oid, candidates in one.walked.items():
        for place, candidate in enumerate(candidates):
            side, pid = place % 2, candidate.event.entity.project or ""
            orders[side].setdefault(oid, []).append((place, pid))
            found[side].setdefault(pid, []).append(candidate)

    def half(side: int) -> _Half:
        groups = {
            pid: (pickle.dumps(tuple(candidates)), tuple(c.event.commit for c in candidates))
            for pid, candidates in found[side].items()
        }
        return _Half({oid: tuple(marks) for oid, marks in orders[side].items()}, groups)

    groups, commits_of = _placed_halves(list(one.walked), half(0), half(1))
    expected = candidates_by_project(one)
    assert {pid: group.value() for pid, group in groups.items()} == expected
    assert commits_of == {pid: tuple(c.event.commit for _, c in placed) for pid, placed in expected.items()}
    assert any(found[0].get(pid) and found[1].get(pid) for pid in expected), "a project on both sides"


def test_a_walk_is_shared_by_owners_only_when_no_change_moves_a_file_between_them(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worktrail import history

    monkeypatch.setattr(history, "_PARALLEL_LEAST", 2)
    with HistorySource(example) as source:
        owners = source.owner_halves(frozenset())
        assert owners is not None
        mine, theirs = owners
        # Every project is in one part; the workspace's own files ("") in the first.
        projects = {path_owner(change.path) for commit in source.commits for change in commit.changes}
        assert "" in mine and not mine & theirs and mine | theirs == projects and theirs
        moved = dataclasses.replace(
            source.commits[-1].changes[0],
            path="projects/elsewhere/tasks/X-1.md",
            old_path="projects/web/tasks/WEB-1.md",
        )
        source.commits.append(dataclasses.replace(source.commits[-1], id="0" * 40, changes=(moved,)))
        assert source.owner_halves(frozenset()) is None
        # Commits known already are not walked: their changes do not count.
        assert source.owner_halves(frozenset({"0" * 40})) == owners


def test_a_history_is_cut_where_both_processes_have_as_much_work_the_later_commits_costing_more() -> None:
    from types import SimpleNamespace

    from worktrail import history

    source = object.__new__(HistorySource)
    source.commits = [SimpleNamespace(id=f"c{index}") for index in range(3000)]  # type: ignore[misc]
    halves = source.halves(frozenset())
    assert halves is not None
    first, second = halves
    assert first + second == [f"c{index}" for index in range(3000)]
    # The earlier part takes more commits (later ones cost more, and the later part first loads its
    # start whole), but not all of them.
    assert len(second) < len(first) < 3000

    def weight(ids: list[str]) -> float:
        return sum(1 + history._LATE_COST * int(oid[1:]) / 3000 for oid in ids)

    # The earlier part's work: half of all of it plus the later part's first load, to one commit's cost.
    whole = weight(first) + weight(second)
    assert abs(weight(first) - whole * (1 + history._FIRST_LOAD) / 2) <= 1 + history._LATE_COST
    # Known commits are left out; too few left to share: one process.
    assert source.halves({f"c{index}" for index in range(0, 3000, 2)}) is not None
    assert source.halves({f"c{index}" for index in range(2000)}) is None


def test_a_walk_kept_by_project_in_the_cache_is_given_back_whole(example: Path, tmp_path: Path) -> None:
    """The cache keeps a walk as each project's candidates and the commits in order; put together, it is the walk."""
    from worktrail.buildcache import BuildCache, WalkSummary, candidates_digest
    from worktrail.trail import PlacedGroup, candidates_by_project, viewers_key

    audiences = _audiences(example)
    walked = read_candidates(example, audiences)
    # Commits without a candidate (first, and between two with some) keep their place too.
    order = list(walked.walked.items())
    with_empty = {"0" * 40: (), **dict(order[:1]), "1" * 40: (), **dict(order[1:])}
    full = HistoryTrail(walked=with_empty, warnings=["a warning"], commits=walked.commits + 2)
    cache = BuildCache(example, tmp_path / "cache")
    viewers = viewers_key(audiences)
    assert cache.last_walk(viewers) is None and not cache.has_trail("abc")
    placed = candidates_by_project(full)
    grouped = {pid: PlacedGroup.of(candidates) for pid, candidates in placed.items()}
    digests = {pid: candidates_digest(candidates) for pid, candidates in placed.items()}
    cache.store_trail("abc", viewers, WalkSummary.of(full), grouped, digests)
    found = cache.last_walk(viewers)
    assert found is not None and found[0] == "abc"
    assert found[1] == full and list(found[1].walked) == list(full.walked)
    assert cache.has_trail("abc") and not cache.has_trail("def")
    assert cache.last_walk((("x", "y"),)) is None
    # A later walk at another HEAD replaces it whole: no file of the earlier one is left.
    before = {path.name for path in (tmp_path / "cache").glob("candidates-*.pickle")}
    cache.store_trail("def", viewers, WalkSummary.of(full), grouped, digests)
    after = {path.name for path in (tmp_path / "cache").glob("candidates-*.pickle")}
    found = cache.last_walk(viewers)
    assert before and after and not before & after and found is not None and found[0] == "def"
    assert not cache.has_trail("abc")


def test_the_worker_that_walks_ahead_keeps_the_walk_and_the_build_stores_none_of_it_again(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk is pickled once, by the worker that made it; the build's process only reads it."""
    from worktrail import render_pool
    from worktrail.buildcache import BuildCache

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(render_pool, "workers_available", lambda: True)
    stored: list[str] = []
    real = BuildCache.store_trail

    def storing(self: BuildCache, head: str, *args: Any) -> None:
        stored.append(head)  # only calls in this process are seen here
        real(self, head, *args)

    monkeypatch.setattr(BuildCache, "store_trail", storing)
    _build(example, tmp_path / "site")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=example, capture_output=True, text=True, check=True)
    assert stored == [] and BuildCache(example).has_trail(head.stdout.strip())
    # Without a worker, this process walks and keeps it.
    monkeypatch.setattr(render_pool, "workers_available", lambda: False)
    shutil.rmtree(tmp_path / "cache")
    _build(example, tmp_path / "site")
    assert stored == [head.stdout.strip()]


def test_a_build_starts_walking_the_history_before_it_describes_its_inputs_and_not_when_nothing_changed(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk needs neither the input signature nor the validated workspace: it starts first."""
    from worktrail import buildcache, render_pool

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(render_pool, "workers_available", lambda: True)
    workspace = tmp_path / "demo"
    shutil.copytree(example, workspace, symlinks=True)
    steps: list[str] = []
    prefetch, signature = buildcache.prefetch_history, buildcache.input_signature

    def walking(root: Path, cache: Any, head: str | None) -> Any:
        steps.append("walk")
        return prefetch(root, cache, head)

    def describing(root: Path) -> Any:
        steps.append("signature")
        return signature(root)

    monkeypatch.setattr(buildcache, "prefetch_history", walking)
    monkeypatch.setattr(buildcache, "input_signature", describing)
    past = 1_700_000_000
    for path in workspace.rglob("*"):
        if ".git" not in path.parts:
            os.utime(path, (past, past), follow_symlinks=False)
    _build(workspace, tmp_path / "site")
    assert steps[:2] == ["walk", "signature"]
    steps.clear()
    _build(workspace, tmp_path / "site")
    assert steps == ["signature"], "built at this HEAD before: nothing to walk"


def test_a_walk_deriving_some_owners_of_a_linear_history_keeps_only_their_files_and_equals_one_walk(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other owners' edits are left out of the states of a walk that derives some owners' events (their
    events read only their own records and the workspace's settings, people and teams), where the
    history has no merge; with a merge the states stay whole. The events are one walk's either way."""
    from worktrail import history

    monkeypatch.setattr(history, "_PARALLEL_LEAST", 2)
    audiences = _audiences(example)
    one = read_candidates(example, audiences, parallel=False)
    with HistorySource(example) as source:
        owners = source.owner_halves(frozenset())
        assert owners is not None and not any(len(commit.parents) > 1 for commit in source.commits)
        mine, theirs = owners
        theirs_files = {
            change.path for commit in source.commits for change in commit.changes if path_owner(change.path) in theirs
        }
        last = None
        for step in walk(source, derives=mine):
            last = step
        assert last is not None and theirs_files
        assert all(last.after.get(path) is None for path in theirs_files), "other owners' files left out"
        mine_files = {change.path for commit in source.commits for change in commit.changes} - theirs_files
        assert any(last.after.get(path) is not None for path in mine_files), "its own owners' files kept"
    with HistorySource(example) as source:
        whole = None
        for step in walk(source):
            whole = step
        assert whole is not None and any(whole.after.get(path) is not None for path in theirs_files)
    two = read_candidates(example, audiences)
    assert two.candidates == one.candidates and two.walked == one.walked
    # A history with a merge: the states of a walk deriving some owners stay whole.
    repo, _ = base_repo(tmp_path / "repo")
    repo.fork_side()
    repo.git("merge", "-q", "--no-ff", "--no-commit", "side", author="olga@fixture.test")
    repo.write(WEB2, task_md("Contact form, settled in the merge", assignee="gina", created_by="uma"))
    repo.commit("olga", "Merge side")
    with HistorySource(repo.workspace) as source:
        steps = list(walk(source, derives=frozenset({""})))
        assert any(len(step.commit.parents) > 1 for step in steps)
        assert steps[-1].after.get(WEB2) is not None
