"""`worktrail audit` (SPEC §4): the history checked against the write rules, as they stood in each parent.

The main fixture history (see tests/audit_repo.py for the people) has legitimate commits and one
forbidden commit of every kind; the audit must flag exactly the forbidden ones.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.audit_repo import (
    BASE_TIME,
    EMAILS,
    STRANGER,
    FixtureRepo,
    base_repo,
    comment_md,
    cr_md,
    person_yaml,
    project_yaml,
    task_md,
    time_yaml,
)
from worktrail.audit import (
    RULE_GATED,
    RULE_NO_WORKSPACE,
    RULE_RECORDED,
    RULE_SIGNATURE,
    RULE_UNKNOWN_AUTHOR,
    AuditResult,
    run_audit,
)
from worktrail.cli import main
from worktrail.policy import RULE_APPROVERS, RULE_MANAGERS_ONLY, RULE_OWN, RULE_ROLE, RULE_STATUS
from worktrail.validate import validate_workspace

WEB2 = "projects/web/tasks/WEB-2.md"
WEB1 = "projects/web/tasks/WEB-1.md"
WEB3 = "projects/web/tasks/WEB-3.md"
CR1 = "projects/web/changes/CR-1.md"
TIME = "projects/web/time/2026-01.yaml"


def rules(result: AuditResult) -> set[tuple[str, str]]:
    return {(v.commit, v.rule) for v in result.violations}


def audit_cli(repo: FixtureRepo, *args: str) -> tuple[int, str, str]:
    outcome = CliRunner().invoke(main, ["-C", str(repo.workspace), "audit", *args])
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), outcome.exception
    return outcome.exit_code, outcome.stdout, outcome.stderr


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[FixtureRepo, dict[str, str]]:
    """The fixture history: L* commits are legitimate, F* commits forbidden."""
    repo, start = base_repo(tmp_path_factory.mktemp("audit") / "repo")
    c = {"start": start}
    repo.write(WEB2, task_md("Contact form v2", assignee="gina", created_by="uma"))
    c["L user edits a task"] = repo.commit("uma", "Retitle WEB-2")
    repo.write(WEB2, task_md("Contact form v3", assignee="gina", created_by="uma"))
    c["F reader edits a task"] = repo.commit("rita", "Reader edits WEB-2")
    repo.write(WEB2, task_md("Contact form v4", assignee="gina", created_by="uma"))
    c["F guest edits a task not theirs"] = repo.commit("gus", "Guest edits WEB-2")
    repo.write(WEB1, task_md("Home page", "in-progress", assignee="gus", created_by="uma"))
    c["L guest moves own task"] = repo.commit("gus", "Start WEB-1")
    repo.write("people/gina.yaml", person_yaml("gina", "user"))
    repo.write(WEB1, task_md("Home page, by gina", "in-progress", assignee="gus", created_by="uma"))
    c["F self-promotion used in the same commit"] = repo.commit("gina", "Promote and edit")
    repo.write(CR1, cr_md("approved", "uma"))
    c["F approval by a non-approver"] = repo.commit("uma", "Approve CR-1")
    repo.write(WEB3, task_md("Blog", "in-progress", assignee="uma", created_by="olga", change_request="CR-1"))
    c["F work started before approval"] = repo.commit("uma", "Start the blog early")
    repo.write(TIME, time_yaml(BASE_TIME, ("2026-01-14", "gus", "WEB-1", 1)))
    c["F someone else's time"] = repo.commit("uma", "Log time for gus")
    repo.write(WEB1, task_md("Home page?", "in-progress", assignee="gus", created_by="uma"))
    c["F unknown author"] = repo.commit(STRANGER, "Drive-by edit")
    repo.write("projects/web/tasks/WEB-1/comments/r1.md", comment_md("rita"))
    c["F reader comments"] = repo.commit("rita", "Reader comments")
    repo.write("projects/web/tasks/WEB-1/comments/g1.md", comment_md("gus"))
    c["L guest comments"] = repo.commit("gus", "Comment on WEB-1")
    repo.write(TIME, time_yaml(BASE_TIME, ("2026-01-14", "gus", "WEB-1", 1), ("2026-01-15", "gus", "WEB-1", 3)))
    c["L guest logs own time"] = repo.commit("gus", "Log my time")
    repo.write("people/gus.yaml", person_yaml("gus", "user"))
    c["F rejected self-promotion"] = repo.commit("gus", "Make me a user")
    repo.write(WEB2, task_md("Contact form, by gus", assignee="gina", created_by="uma"))
    c["F uses the rejected promotion"] = repo.commit("gus", "Edit WEB-2 as a user")
    repo.write(CR1, cr_md("approved", "carl", note="Go ahead"))
    c["L approver decides"] = repo.commit("carl", "Approve CR-1")
    repo.write(
        WEB3,
        task_md("Blog", "in-progress", assignee="uma", created_by="olga", change_request="CR-1", body="Started.\n"),
    )
    c["L work starts after approval"] = repo.commit("uma", "Start the blog")
    repo.write("projects/web/tasks/WEB-4.md", task_md("Footer", created_by="olga"))
    c["F task created in someone else's name"] = repo.commit("uma", "Add WEB-4")
    repo.write("projects/web/tasks/WEB-5.md", task_md("Header", created_by="uma"))
    repo.write("projects/web/tasks/WEB-5/comments/u1.md", comment_md("uma"))
    c["L task and its first comment in one commit"] = repo.commit("uma", "Add WEB-5 with a note")
    repo.write("projects/web/project.yaml", project_yaml("signed-off", "carl"))
    c["L approver signs off"] = repo.commit("carl", "Sign off beta")
    repo.write("people/rita.yaml", person_yaml("rita").replace("Rita Reader", "Rita R."))
    c["L manager edits a person"] = repo.commit("olga", "Rename Rita")
    return repo, c


EXPECTED = {
    ("F reader edits a task", RULE_ROLE),
    ("F guest edits a task not theirs", RULE_ROLE),
    ("F self-promotion used in the same commit", RULE_MANAGERS_ONLY),
    ("F self-promotion used in the same commit", RULE_ROLE),
    ("F approval by a non-approver", RULE_APPROVERS),
    ("F work started before approval", RULE_GATED),
    ("F someone else's time", RULE_OWN),
    ("F unknown author", RULE_UNKNOWN_AUTHOR),
    ("F reader comments", RULE_ROLE),
    ("F rejected self-promotion", RULE_MANAGERS_ONLY),
    ("F uses the rejected promotion", RULE_ROLE),
    ("F task created in someone else's name", RULE_RECORDED),
}


def test_the_fixture_workspace_starts_valid(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    report, _ = validate_workspace(repo.workspace)
    assert report.errors == 0, report.findings


def test_audit_flags_exactly_the_forbidden_commits(history: tuple[FixtureRepo, dict[str, str]]) -> None:
    repo, c = history
    result = run_audit(repo.workspace)
    assert rules(result) == {(c[label], rule) for label, rule in EXPECTED}
    assert result.checked == len(c) - 1
    assert result.failure is None


def test_each_violation_names_the_full_commit_author_file_and_action(
    history: tuple[FixtureRepo, dict[str, str]],
) -> None:
    repo, c = history
    result = run_audit(repo.workspace)
    by_commit = {v.commit: v for v in result.violations}
    guest = by_commit[c["F guest edits a task not theirs"]]
    assert len(guest.commit) == 40
    assert guest.author == f"Gus <{EMAILS['gus']}>"
    assert guest.file == WEB2
    assert guest.action == "edit-task"
    assert "gus" in guest.message
    unknown = by_commit[c["F unknown author"]]
    assert unknown.file is None
    assert STRANGER in unknown.message


def test_a_rejected_self_promotion_grants_nothing_later(history: tuple[FixtureRepo, dict[str, str]]) -> None:
    repo, c = history
    result = run_audit(repo.workspace)
    later = [v for v in result.violations if v.commit == c["F uses the rejected promotion"]]
    assert [(v.file, v.rule) for v in later] == [(WEB2, RULE_ROLE)]
    assert "guest" in later[0].message


def test_cli_exits_1_on_violations_and_prints_one_line_each(history: tuple[FixtureRepo, dict[str, str]]) -> None:
    repo, c = history
    code, out, _ = audit_cli(repo)
    assert code == 1
    assert c["F reader comments"] in out
    assert "violation(s)" in out.splitlines()[-1]


def test_cli_exits_0_on_a_clean_history(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(WEB2, task_md("Contact form v2", assignee="gina", created_by="uma"))
    repo.commit("uma", "Retitle WEB-2")
    code, out, _ = audit_cli(repo)
    assert code == 0
    assert out == "ok: 1 commit(s) checked, no violations\n"


def test_json_format_prints_exactly_one_object_with_the_documented_keys(
    history: tuple[FixtureRepo, dict[str, str]],
) -> None:
    repo, c = history
    code, out, _ = audit_cli(repo, "--format", "json")
    assert code == 1
    payload = json.loads(out)
    assert set(payload) == {"violations", "warnings", "checked"}
    assert payload["checked"] == len(c) - 1
    for item in payload["violations"]:
        assert set(item) == {"commit", "author", "file", "action", "rule", "message"}
    assert {(v["commit"], v["rule"]) for v in payload["violations"]} == {(c[label], rule) for label, rule in EXPECTED}


def test_github_format_prints_one_error_annotation_per_violation(history: tuple[FixtureRepo, dict[str, str]]) -> None:
    repo, c = history
    code, out, _ = audit_cli(repo, "--format", "github")
    assert code == 1
    errors = [line for line in out.splitlines() if line.startswith("::error")]
    assert len(errors) == len(EXPECTED)
    assert any(line.startswith(f"::error file={WEB2},") and c["F reader edits a task"] in line for line in errors)


@pytest.mark.parametrize("args", [["--", "-x"], ["--", "--output=/tmp/x"], ["--", "main..-x"], ["--bogus"]])
def test_a_revision_that_looks_like_an_option_is_refused_with_exit_2(tmp_path: Path, args: list[str]) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    code, _, err = audit_cli(repo, *args)
    assert code == 2
    assert "Traceback" not in err


@pytest.mark.parametrize("rev", ["nope", "HEAD~5", "a...b", "main\x01"])
def test_an_unknown_or_malformed_revision_is_a_usage_error(tmp_path: Path, rev: str) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    code, out, err = audit_cli(repo, rev)
    assert code == 2
    assert out == ""
    assert err.startswith("worktrail: error:")


def test_a_range_audits_only_commits_after_its_base(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(WEB2, task_md("By rita", assignee="gina", created_by="uma"))
    repo.commit("rita", "Reader edit, before the base")
    base = repo.head()
    repo.write(WEB2, task_md("By uma", assignee="gina", created_by="uma"))
    repo.commit("uma", "User edit")
    repo.write(WEB1, task_md("By gina", assignee="gus", created_by="uma"))
    forbidden = repo.commit("gina", "Guest edit")
    result = run_audit(repo.workspace, f"{base}..HEAD")
    assert rules(result) == {(forbidden, RULE_ROLE)}
    assert result.checked == 2
    code, _, _ = audit_cli(repo, f"{base}..{forbidden}~1")
    assert code == 0


def test_a_workspace_in_a_sub_folder_is_audited_alone(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo", sub="plan/work")
    (repo.root / "src.py").write_text("print('hi')\n", encoding="utf-8")
    repo.commit(STRANGER, "Code change by someone who is not in the workspace")
    repo.write(WEB2, task_md("By rita", assignee="gina", created_by="uma"))
    forbidden = repo.commit("rita", "Reader edit")
    result = run_audit(repo.workspace)
    assert rules(result) == {(forbidden, RULE_ROLE)}
    assert result.violations[0].file == f"plan/work/{WEB2}"
    assert result.checked == 1


def test_a_merge_carries_branch_changes_without_blaming_the_merger(tmp_path: Path) -> None:
    # gus logs time locally while others change main, then pulls (a merge whose first parent is his).
    repo, _ = base_repo(tmp_path / "repo")
    repo.checkout("-b", "gus-local")
    repo.write(TIME, time_yaml(BASE_TIME, ("2026-01-20", "gus", "WEB-1", 4)))
    repo.commit("gus", "Log my time")
    repo.checkout("main")
    repo.write(WEB2, task_md("Contact form v2", assignee="gina", created_by="uma"))
    repo.commit("uma", "Retitle WEB-2")
    repo.write(CR1, cr_md("approved", "carl"))
    repo.commit("carl", "Approve CR-1")
    # Far enough from gus's line for git to merge the file on its own: both lines survive.
    repo.write(TIME, time_yaml(("2026-01-02", "gus", "WEB-1", 1), BASE_TIME))
    repo.commit("olga", "Record gus's call from January 2")
    repo.checkout("gus-local")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge main", "main", author=EMAILS["gus"])
    merged = repo.path(TIME).read_text(encoding="utf-8")
    assert "2026-01-02" in merged and "2026-01-20" in merged
    result = run_audit(repo.workspace)
    assert result.violations == [], result.violations
    assert result.checked == 5


def test_a_merge_with_its_own_forbidden_change_is_flagged_on_the_merge(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.checkout("-b", "side")
    repo.write(WEB1, task_md("Home page", "in-progress", assignee="gus", created_by="uma"))
    repo.commit("gus", "Start WEB-1")
    repo.checkout("main")
    repo.write(WEB3, task_md("Blog, planned", assignee="uma", created_by="olga", change_request="CR-1"))
    repo.commit("uma", "Plan the blog")
    repo.git("merge", "-q", "--no-ff", "--no-commit", "side", author=EMAILS["gus"])
    repo.write(WEB2, task_md("Edited inside a merge", assignee="gina", created_by="uma"))
    merge = repo.commit("gus", "Merge side")
    result = run_audit(repo.workspace)
    assert rules(result) == {(merge, RULE_ROLE)}
    assert [v.file for v in result.violations] == [WEB2]


def test_a_merge_of_an_unrelated_history_is_never_trusted(tmp_path: Path) -> None:
    # An orphan branch brings its own workspace in which gus is an owner.
    repo, _ = base_repo(tmp_path / "repo")
    repo.checkout("--orphan", "takeover")
    repo.write("people/gus.yaml", person_yaml("gus", "owner"))
    repo.commit("gus", "My own workspace")
    repo.checkout("main")
    repo.git(
        "merge",
        "-q",
        "--no-ff",
        "--allow-unrelated-histories",
        "-X",
        "theirs",
        "-m",
        "Merge",
        "takeover",
        author=EMAILS["gus"],
    )
    merge = repo.head()
    result = run_audit(repo.workspace)
    assert (merge, RULE_MANAGERS_ONLY) in rules(result)
    assert {v.commit for v in result.violations} == {merge}


def test_a_renamed_task_file_deletes_one_task_and_creates_another(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.move(WEB2, "projects/web/tasks/WEB-7.md")
    repo.commit("uma", "Renumber WEB-2")
    repo.move(WEB1, "projects/web/tasks/WEB-8.md")
    forbidden = repo.commit("gus", "Renumber WEB-1")
    result = run_audit(repo.workspace)
    assert {(v.commit, v.file, v.action) for v in result.violations} == {
        (forbidden, WEB1, "edit-task"),
        (forbidden, "projects/web/tasks/WEB-8.md", "create-task"),
    }


def test_the_author_acts_and_the_committer_is_only_recorded(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(WEB2, task_md("By gus", assignee="gina", created_by="uma"))
    forbidden = repo.commit("gus", "Guest edit committed by the owner", committer="olga")
    repo.write(WEB1, task_md("By olga", assignee="gus", created_by="uma"))
    repo.commit("olga", "Owner edit committed by a guest", committer="gus")
    result = run_audit(repo.workspace)
    assert rules(result) == {(forbidden, RULE_ROLE)}


def test_author_emails_match_case_insensitively_and_nothing_fuzzier(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(WEB2, task_md("Upper-case email", assignee="gina", created_by="uma"))
    repo.commit(EMAILS["uma"].upper(), "Same person")
    repo.write(WEB2, task_md("Plus address", assignee="gina", created_by="uma"))
    stranger = repo.commit("uma+work@studio.test", "Not the same address")
    result = run_audit(repo.workspace)
    assert rules(result) == {(stranger, RULE_UNKNOWN_AUTHOR)}


def test_a_manager_may_record_a_decision_only_for_an_approver(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(CR1, cr_md("approved", "uma"))
    forbidden = repo.commit("olga", "Record a decision by uma, who is no approver")
    repo.write(CR1, cr_md("approved", "carl"))
    repo.commit("olga", "Record carl's decision")
    result = run_audit(repo.workspace)
    assert rules(result) == {(forbidden, RULE_APPROVERS)}


def test_an_approver_must_name_themselves_in_the_decision(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(CR1, cr_md("approved", "olga"))
    forbidden = repo.commit("carl", "Carl approves but writes olga")
    result = run_audit(repo.workspace)
    assert rules(result) == {(forbidden, RULE_RECORDED)}


def test_only_an_approver_signs_off_a_milestone(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write("projects/web/project.yaml", project_yaml("signed-off", "uma"))
    forbidden = repo.commit("uma", "Sign off beta")
    result = run_audit(repo.workspace)
    assert rules(result) == {(forbidden, RULE_APPROVERS)}
    assert result.violations[0].action == "sign-off-milestone"


def test_a_change_that_breaks_a_record_counts_as_deleting_it(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(WEB1, "---\ntitle: [unclosed\n---\n")
    allowed = repo.commit("uma", "A user breaks WEB-1 (users may delete tasks)")
    repo.write(WEB2, "not front matter\n")
    forbidden = repo.commit("gus", "A guest breaks WEB-2")
    result = run_audit(repo.workspace)
    assert rules(result) == {(forbidden, RULE_ROLE)}
    assert any(WEB1 in w and allowed[:12] in w for w in result.warnings)


def test_a_guest_logs_time_only_on_tasks_they_see(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(TIME, time_yaml(BASE_TIME, ("2026-01-21", "gus", "WEB-2", 1)))
    forbidden = repo.commit("gus", "Time on a task that is not mine")
    result = run_audit(repo.workspace)
    assert rules(result) == {(forbidden, RULE_ROLE)}


def test_deleting_worktrail_yaml_leaves_nothing_to_judge_later_commits_by(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.remove("worktrail.yaml")
    repo.commit("olga", "Remove the settings")
    repo.write(WEB2, task_md("Later", assignee="gina", created_by="uma"))
    later = repo.commit("uma", "Edit after that")
    result = run_audit(repo.workspace)
    assert rules(result) == {(later, RULE_NO_WORKSPACE)}


def test_without_git_the_audit_fails_with_a_clear_message(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    plain = tmp_path / "plain"
    shutil.copytree(repo.workspace, plain, ignore=shutil.ignore_patterns(".git"))
    outcome = CliRunner().invoke(main, ["-C", str(plain), "audit"])
    assert outcome.exit_code == 1
    assert "not inside a Git repository" in outcome.stdout
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit)


def test_a_workspace_that_was_never_committed_has_nothing_to_audit(tmp_path: Path) -> None:
    repo = FixtureRepo(tmp_path / "repo")
    (repo.root / "README.md").write_text("x\n", encoding="utf-8")
    repo.commit("olga", "Unrelated start")
    repo.write_base()
    code, out, _ = audit_cli(repo)
    assert code == 1
    assert "never committed" in out


def test_a_repository_configuration_never_makes_worktrail_run_a_program(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(WEB2, task_md("Edited", assignee="gina", created_by="uma"))
    repo.commit("uma", "Edit")
    marker = tmp_path / "MARKER"
    program = tmp_path / "evil.sh"
    program.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n", encoding="utf-8")
    program.chmod(0o755)
    hooks = repo.root / ".git" / "evil-hooks"
    hooks.mkdir()
    for hook in ("post-checkout", "pre-commit", "post-index-change", "reference-transaction"):
        (hooks / hook).symlink_to(program)
    for key, value in {
        "core.fsmonitor": str(program),
        "core.hooksPath": str(hooks),
        "core.pager": str(program),
        "diff.external": str(program),
        "gpg.program": str(program),
        "gpg.ssh.program": str(program),
        "core.sshCommand": str(program),
        "log.showSignature": "true",
    }.items():
        repo.git("config", key, value)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    subprocess.run(["git", "status"], cwd=repo.root, env=env, capture_output=True, check=False)
    assert marker.exists(), "the fixture's configuration should run the program for plain git"
    marker.unlink()
    code, out, _ = audit_cli(repo)
    assert (code, out) == (0, "ok: 1 commit(s) checked, no violations\n")
    assert not marker.exists()


@pytest.fixture
def ssh_key(tmp_path: Path) -> Path:
    if shutil.which("ssh-keygen") is None:
        if os.environ.get("CI"):
            pytest.fail("ssh-keygen is not installed; .ci/run installs openssh-client", pytrace=False)
        pytest.skip("ssh-keygen is not installed")
    key = tmp_path / "keys" / "signer"
    key.parent.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(key)], check=True)
    return key


def signed_commit(repo: FixtureRepo, who: str, message: str, key: Path) -> str:
    repo.git("add", "-A")
    repo.git(
        "-c", "gpg.format=ssh", "-c", f"user.signingkey={key.with_suffix('.pub')}", "commit", "-q", "-S", "-m", message,
        author=EMAILS[who],
    )  # fmt: skip
    return repo.head()


def test_require_signed_accepts_only_good_signatures_by_the_author(tmp_path: Path, ssh_key: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    public = ssh_key.with_suffix(".pub").read_text(encoding="utf-8")
    signers = tmp_path / "keys" / "allowed_signers"
    signers.write_text(f"{EMAILS['uma']} {public}", encoding="utf-8")
    repo.write(WEB2, task_md("Signed by uma", assignee="gina", created_by="uma"))
    signed_commit(repo, "uma", "Signed edit", ssh_key)
    repo.write(WEB2, task_md("Not signed", assignee="gina", created_by="uma"))
    unsigned = repo.commit("uma", "Unsigned edit")
    repo.write(WEB1, task_md("Signed with uma's key, authored by ivan", assignee="gus", created_by="uma"))
    borrowed = signed_commit(repo, "ivan", "Borrowed key", ssh_key)
    result = run_audit(repo.workspace, require_signed=True, allowed_signers=signers)
    assert rules(result) == {(unsigned, RULE_SIGNATURE), (borrowed, RULE_SIGNATURE)}
    assert run_audit(repo.workspace).violations == []


def test_require_signed_refuses_an_allowed_signers_file_inside_the_repository(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    inside = repo.root / "signers"
    inside.write_text("olga@studio.test ssh-ed25519 AAAA\n", encoding="utf-8")
    code, _, err = audit_cli(repo, "--require-signed", "--allowed-signers", str(inside))
    assert code == 2
    assert "inside the repository" in err
    code, _, err = audit_cli(repo, "--require-signed")
    assert code == 2
    assert "--allowed-signers" in err


def test_users_may_list_new_tasks_on_an_approved_change_request_but_not_rewrite_it(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(CR1, cr_md("approved", "carl"))
    repo.commit("carl", "Carl approves CR-1")
    repo.write(WEB1.replace("WEB-1", "WEB-4"), task_md("Blog templates", created_by="uma", change_request="CR-1"))
    repo.write(CR1, cr_md("approved", "carl").replace("tasks: [WEB-3]", "tasks: [WEB-3, WEB-4]"))
    repo.commit("uma", "task: WEB-4 implements CR-1")
    repo.write(CR1, cr_md("approved", "carl").replace("title: Add a blog", "title: Add a blog and a shop"))
    rewritten = repo.commit("uma", "Widen the approved request")
    repo.write(CR1, cr_md("approved", "carl").replace("tasks: [WEB-3]", "tasks: [WEB-4]"))
    unlisted = repo.commit("uma", "Drop WEB-3 from the approved request")
    result = run_audit(repo.workspace)
    assert rules(result) == {(rewritten, RULE_STATUS), (unlisted, RULE_STATUS)}


def test_time_lines_are_judged_as_added_or_edited_wherever_they_are_in_the_month(tmp_path: Path) -> None:
    """Lines added after the kept ones, before them, reordered or changed among them: each added line
    is judged as logging time, each line gone or changed as editing it, and reordering as neither."""
    repo, _ = base_repo(tmp_path / "repo")
    late = ("2026-01-14", "gus", "WEB-1", 1)
    early = ("2026-01-05", "gus", "WEB-1", 1.5)
    repo.write(TIME, time_yaml(BASE_TIME, late))
    repo.commit("gus", "Log my time after the others")
    repo.write(TIME, time_yaml(BASE_TIME, late, early))
    repo.commit("gus", "Log my time before the others")
    repo.write(TIME, time_yaml(BASE_TIME, late, early, ("2026-01-16", "gus", "WEB-1", 2)))
    added_for_gus = repo.commit("uma", "Log time for gus after the others")
    repo.write(TIME, time_yaml(early, late, ("2026-01-16", "gus", "WEB-1", 2), BASE_TIME))
    repo.commit("gus", "Reorder the month")
    repo.write(TIME, time_yaml(early, ("2026-01-14", "gus", "WEB-1", 5), ("2026-01-16", "gus", "WEB-1", 2), BASE_TIME))
    edited_for_gus = repo.commit("uma", "Change gus's hours in the middle of the month")
    result = run_audit(repo.workspace)
    assert rules(result) == {(added_for_gus, RULE_OWN), (edited_for_gus, RULE_OWN)}
