"""A whole-history audit keeps each commit's results; a later audit judges only new commits, and finds the same.

Rules proven here: an audit using kept results equals an audit without them (violations in order,
warnings, checked count), also when a kept commit's rejected change must still not take effect in a
new commit, across merges, and when the options change; and a kept commit is not judged again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audit_repo import BASE_TIME, EMAILS, FixtureRepo, base_repo, person_yaml, task_md, time_yaml
from worktrail import audit
from worktrail.audit import AuditResult, run_audit
from worktrail.history import Commit

WEB1 = "projects/web/tasks/WEB-1.md"
WEB2 = "projects/web/tasks/WEB-2.md"
TIME = "projects/web/time/2026-01.yaml"


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKTRAIL_CACHE_DIR", str(tmp_path / "cache"))


def same(repo: FixtureRepo) -> AuditResult:
    """Audit with kept results; assert it equals an audit from scratch; return it."""
    kept = run_audit(repo.workspace)
    fresh = run_audit(repo.workspace, use_cache=False)
    assert kept == fresh
    return kept


def count_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    judged: list[str] = []
    original = audit.Auditor._check

    def counting(self: audit.Auditor, commit: Commit, *args: object) -> object:
        judged.append(commit.id)
        return original(self, commit, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(audit.Auditor, "_check", counting)
    return judged


def test_an_audit_with_kept_results_equals_one_from_scratch_as_the_history_grows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    assert same(repo).violations == []
    repo.write("people/gus.yaml", person_yaml("gus", "user"))
    promotion = repo.commit("gus", "Make me a user")
    first = same(repo)
    assert {v.commit for v in first.violations} == {promotion}
    # The rejected promotion was kept as "no effect": gus is still a guest in the next commit.
    repo.write(WEB2, task_md("Contact form, by gus", assignee="gina", created_by="uma"))
    uses = repo.commit("gus", "Edit WEB-2 as a user")
    judged = count_checks(monkeypatch)
    second = same(repo)
    assert {v.commit for v in second.violations} == {promotion, uses}
    # Kept commits are not judged again: the first audit of the two judged the new commit only.
    assert judged.count(uses) == 2 and judged.count(promotion) == 1
    # A side line merged later: the branch's commits and the merge are new, the rest is kept.
    repo.checkout("-b", "side")
    repo.write(TIME, time_yaml(BASE_TIME, ("2026-01-20", "gus", "WEB-1", 4)))
    repo.commit("gus", "Log my time")
    repo.checkout("main")
    repo.write(WEB1, task_md("Home page v2", assignee="gus", created_by="uma"))
    repo.commit("uma", "Retitle WEB-1")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge side", "side", author=EMAILS["olga"])
    same(repo)
    repo.write(WEB1, task_md("Home page v3", assignee="gus", created_by="uma"))
    repo.commit("rita", "A reader edits")
    assert len(same(repo).violations) == 3


def test_kept_results_are_not_used_for_other_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(WEB2, task_md("Contact form v2", assignee="gina", created_by="uma"))
    repo.commit("uma", "Retitle")
    run_audit(repo.workspace)
    judged = count_checks(monkeypatch)
    run_audit(repo.workspace)
    assert judged == []
    signers = tmp_path / "allowed_signers"
    signers.write_text("", encoding="utf-8")
    signed = run_audit(repo.workspace, require_signed=True, allowed_signers=signers)
    assert judged, "an audit under --require-signed must judge every commit again"
    assert signed == run_audit(repo.workspace, require_signed=True, allowed_signers=signers, use_cache=False)
    assert signed.violations


def test_a_range_audit_neither_uses_nor_keeps_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, start = base_repo(tmp_path / "repo")
    repo.write(WEB2, task_md("Contact form v2", assignee="gina", created_by="uma"))
    repo.commit("uma", "Retitle")
    run_audit(repo.workspace)
    judged = count_checks(monkeypatch)
    result = run_audit(repo.workspace, f"{start}..HEAD")
    assert len(judged) == 1 and result.checked == 1


def test_audit_no_cache_neither_reads_nor_keeps_results(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from worktrail.buildcache import cache_folder
    from worktrail.cli import main

    repo, _ = base_repo(tmp_path / "repo")
    outcome = CliRunner().invoke(main, ["-C", str(repo.workspace), "audit", "--no-cache"])
    assert outcome.exit_code == 0, outcome.output
    assert not (cache_folder(repo.workspace) / "audit.pickle").exists()
    outcome = CliRunner().invoke(main, ["-C", str(repo.workspace), "audit"])
    assert outcome.exit_code == 0, outcome.output
    assert (cache_folder(repo.workspace) / "audit.pickle").is_file()


def test_an_audit_shared_by_two_processes_equals_one_by_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worktrail import history, render_pool

    monkeypatch.setattr(history, "_PARALLEL_LEAST", 2)
    monkeypatch.setattr(render_pool, "workers_available", lambda: True)
    repo, _ = base_repo(tmp_path / "repo")
    steps = [
        ("people/gus.yaml", person_yaml("gus", "user"), "gus"),  # rejected: gus stays a guest
        (WEB2, task_md("Contact form, by gus", assignee="gina", created_by="uma"), "gus"),  # relies on it
        (WEB1, task_md("Home page v2", assignee="gus", created_by="uma"), "uma"),
        (WEB1, task_md("Home page v3", assignee="gus", created_by="uma"), "rita"),  # a reader edits
        (WEB2, task_md("Contact form v3", assignee="gina", created_by="uma"), "uma"),
        (WEB2, task_md("Contact form v4", assignee="gina", created_by="uma"), "gus"),
    ]
    for path, text, who in steps:
        repo.write(path, text)
        repo.commit(who, f"{who} edits {path}")
        # Each length puts the half-way cut elsewhere: before, on and after the rejected change.
        one = run_audit(repo.workspace, use_cache=False, parallel=False)
        two = run_audit(repo.workspace, use_cache=False)
        assert two == one
    assert len(one.violations) == 4
