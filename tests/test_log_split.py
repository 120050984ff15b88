"""Reading the history without limiting `git log` gives exactly the commits of one `git log` limited to the workspace.

`history._read_log_in_two` (an unlimited `git log` read as it comes for the commits' fields and
changes; on a linear history, the commits kept and their rewritten parents worked out from it; with
merges, rev-list limited to the workspace's paths for the commits, their order and rewritten
parents) must agree with `history._read_limited_log` on every history: commits outside the
workspace, a first commit without workspace files, renames across the workspace's edge, renames git
could pair differently when files outside change too, merges (of branches that change nothing in the
workspace, too), and ranges whose base changes nothing in the workspace.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.audit_repo import FixtureRepo, base_repo, task_md
from worktrail import history
from worktrail.gitutil import GitJob, Repository, RevRange, find_repository

LONG_TEXT = "".join(f"Line {n} of a text long enough for git to see a rename.\n" for n in range(40))


def no_limited_walk(repo: object, revs: object) -> None:
    raise AssertionError("a linear history is read without git rev-list limited to the workspace")


def both_ways(workspace: Path, base: str | None = None) -> list[history.Commit]:
    repo = find_repository(workspace)
    tip = repo.resolve("HEAD")
    assert tip is not None
    revs = [tip] if base is None else [f"^{base}", tip]
    limited = history._read_limited_log(repo, revs)
    in_two = history._read_log_in_two(repo, revs)
    assert in_two == limited
    assert history.read_log(repo, RevRange(base, tip)) == limited
    return limited


def test_commits_outside_the_workspace_are_left_out_and_parents_skip_them(tmp_path: Path) -> None:
    repo = FixtureRepo(tmp_path / "repo")
    repo.write("README.md", "Not workspace data.\n")
    repo.commit("olga", "A first commit without the workspace")
    repo.write_base()
    first = repo.commit("olga", "Start the workspace")
    repo.write("README.md", "Still not workspace data.\n")
    repo.commit("olga", "Outside only")
    repo.write("projects/web/tasks/WEB-4.md", task_md("New"))
    repo.write(".github/ci.yml", "on: push\n")
    last = repo.commit("uma", "Inside and outside")
    commits = both_ways(repo.root)
    assert [c.id for c in commits] == [first, last]
    assert commits[0].parents == ()
    assert commits[1].parents == (first,)
    assert [c.path for c in commits[1].changes] == ["projects/web/tasks/WEB-4.md"]


def test_renames_across_the_workspace_edge_are_a_deletion_or_an_addition(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write("projects/web/tasks/WEB-4.md", task_md("Moving out", body=LONG_TEXT))
    repo.commit("uma", "Add")
    repo.move("projects/web/tasks/WEB-4.md", "archive/WEB-4.md")
    repo.commit("uma", "Move out of the workspace")
    repo.move("archive/WEB-4.md", "projects/web/tasks/WEB-5.md")
    repo.commit("uma", "Move back in")
    commits = both_ways(repo.root)
    assert [c.status for c in commits[-2].changes] == ["deleted"]
    assert [c.status for c in commits[-1].changes] == ["added"]


def test_a_rename_git_could_pair_with_a_file_outside_is_read_limited_to_the_workspace(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write("projects/web/tasks/WEB-4.md", task_md("Renamed", body=LONG_TEXT))
    repo.commit("uma", "Add")
    # The deleted task is copied outside unchanged and renamed inside with an edit: unlimited, git
    # pairs it with the file outside; limited to the workspace, with the task inside.
    repo.write("notes/WEB-4.md", repo.path("projects/web/tasks/WEB-4.md").read_text(encoding="utf-8"))
    repo.move("projects/web/tasks/WEB-4.md", "projects/web/tasks/WEB-5.md")
    repo.write("projects/web/tasks/WEB-5.md", task_md("Renamed", body=LONG_TEXT + "One more line.\n"))
    repo.commit("uma", "Rename with a copy outside")
    commits = both_ways(repo.root)
    assert [(c.status, c.old_path, c.path) for c in commits[-1].changes] == [
        ("renamed", "projects/web/tasks/WEB-4.md", "projects/web/tasks/WEB-5.md")
    ]


def test_merges_keep_their_parents_as_the_limited_log_rewrites_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With merges, the order and rewritten parents come from git rev-list limited to the workspace."""
    limited: list[object] = []
    real = history._start_limited_order

    def start(repo: Repository, revs: Sequence[str]) -> GitJob:
        limited.append(revs)
        return real(repo, revs)

    monkeypatch.setattr(history, "_start_limited_order", start)
    repo, start_commit = base_repo(tmp_path / "repo")
    repo.git("branch", "side")
    repo.write("projects/web/tasks/WEB-4.md", task_md("On main"))
    repo.commit("uma", "Main")
    repo.checkout("side")
    repo.write("README.md", "Only outside.\n")
    repo.commit("uma", "Side, outside only")
    repo.checkout("main")
    repo.merge("uma", "side", "Merge a branch that changes nothing in the workspace")
    repo.checkout("-b", "other", start_commit)
    repo.write("projects/web/tasks/WEB-5.md", task_md("On other"))
    repo.commit("ivan", "Other")
    repo.write("docs/a.md", "outside\n")
    repo.commit("ivan", "Other, outside only")
    repo.checkout("main")
    repo.merge("olga", "other", "Merge a branch with workspace changes")
    commits = both_ways(repo.root)
    merges = [c for c in commits if len(c.parents) > 1]
    assert len(merges) == 2
    assert limited


def test_a_range_whose_base_changes_nothing_in_the_workspace(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write("README.md", "Outside.\n")
    base = repo.commit("olga", "Outside only")
    repo.write("projects/web/tasks/WEB-4.md", task_md("After the base"))
    repo.commit("uma", "Inside")
    commits = both_ways(repo.root, base)
    assert [c.parents for c in commits] == [(base,)]


def test_the_example_history_reads_the_same_both_ways(example: Path) -> None:
    assert both_ways(example)


@pytest.mark.parametrize("seed", range(8))
def test_random_histories_read_the_same_both_ways(tmp_path: Path, seed: int) -> None:
    """Seeded random histories: files inside and outside added, edited, removed and moved, on branches merged back."""
    rng = random.Random(seed)
    repo, _ = base_repo(tmp_path / "repo")
    folders = ["projects/web/tasks", "projects/web/notes", "docs", "archive"]
    files: list[str] = []
    branches = ["main"]
    for step in range(30):
        action = rng.random()
        if action < 0.1 and len(branches) < 4:
            name = f"b{step}"
            repo.git("branch", name)
            branches.append(name)
        elif action < 0.2 and len(branches) > 1:
            current = repo.git("rev-parse", "--abbrev-ref", "HEAD")
            other = rng.choice([b for b in branches if b != current])
            try:
                repo.merge("uma", other, f"Merge {other}")
            except AssertionError:
                repo.git("merge", "--abort")
        elif action < 0.3:
            repo.checkout(rng.choice(branches))
        else:
            for _ in range(rng.randint(1, 4)):
                existing = [f for f in files if repo.path(f).exists()]
                kind = rng.random()
                if kind < 0.4 or not existing:
                    path = f"{rng.choice(folders)}/F{rng.randint(1, 12)}.md"
                    text = LONG_TEXT if rng.random() < 0.5 else f"Short {step}\n"
                    repo.write(path, text)
                    files.append(path)
                elif kind < 0.6:
                    path = rng.choice(existing)
                    repo.write(path, repo.path(path).read_text(encoding="utf-8") + f"Edit {step}\n")
                elif kind < 0.8:
                    repo.remove(rng.choice(existing))
                else:
                    old = rng.choice(existing)
                    new = f"{rng.choice(folders)}/F{rng.randint(13, 24)}.md"
                    if not repo.path(new).exists():
                        repo.move(old, new)
                        files.append(new)
            repo.commit("uma", f"Step {step}", allow_empty=True)
    both_ways(repo.root)


@pytest.mark.parametrize("seed", range(4))
def test_linear_histories_are_read_by_one_git_log_from_any_base(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seeded linear histories (commits inside, outside, both, empty; moves across the edge), read whole and
    from every fifth commit, in two parts: the same commits and rewritten parents as the limited log,
    without git rev-list limited to the workspace."""
    rng = random.Random(1000 + seed)
    repo = FixtureRepo(tmp_path / "repo")
    if rng.random() < 0.5:
        repo.write("README.md", "A first commit without the workspace.\n")
        repo.commit("olga", "Outside first")
    repo.write_base()
    repo.commit("olga", "Start the workspace")
    folders = ["projects/web/tasks", "projects/web/notes", "docs", "archive"]
    ids: list[str] = []
    for step in range(24):
        for _ in range(rng.randint(0, 3)):
            path = f"{rng.choice(folders)}/F{rng.randint(1, 10)}.md"
            if repo.path(path).exists() and rng.random() < 0.3:
                target = f"{rng.choice(folders)}/F{rng.randint(11, 20)}.md"
                if not repo.path(target).exists():
                    repo.move(path, target)
                continue
            if repo.path(path).exists() and rng.random() < 0.3:
                repo.remove(path)
                continue
            repo.write(path, LONG_TEXT + f"Step {step}\n" if rng.random() < 0.5 else f"Short {step}\n")
        ids.append(repo.commit("uma", f"Step {step}", allow_empty=True))
    monkeypatch.setattr(history, "_start_limited_order", no_limited_walk)
    # Read in two parts at once from a few commits on, as long histories are.
    monkeypatch.setattr(history, "_SPLIT_LOG_LEAST", 3)
    whole = both_ways(repo.root)
    assert all(len(c.parents) <= 1 for c in whole)
    for base in ids[::5]:
        part = both_ways(repo.root, base)
        assert [c.id for c in part] == [c.id for c in whole if c.id in set(ids[ids.index(base) + 1 :])]


def test_a_copy_is_an_addition_of_its_new_file_and_nothing_when_the_copy_lies_outside(tmp_path: Path) -> None:
    """Copies (git reports them when configured to) leave their source in place."""
    repo, _ = base_repo(tmp_path / "repo")
    oid, blob = "a" * 40, "b" * 40
    date = b"2026-01-01T00:00:00+00:00"
    head = b"\x1e" + oid.encode() + b"\0\0Uma\0uma@example.com\0" + date + b"\0Uma\0uma@example.com\0" + date
    head += b"\0\0\0\0Copy files\n\0"

    def copy(source: str, target: str) -> bytes:
        return f"\n:100644 100644 {blob} {blob} C100\0{source}\0{target}\0".encode()

    out = head + copy("projects/web/tasks/WEB-1.md", "docs/WEB-1.md") + copy("docs/a.md", "projects/web/notes/a.md")
    (commit,) = history.parse_log(find_repository(repo.workspace), out)
    assert commit.changes == (
        history.FileChange("projects/web/notes/a.md", "projects/web/notes/a.md", None, history.BlobRef(blob)),
    )
