"""CI templates: valid YAML with the expected jobs, every worktrail command in them runs green on the
sample workspace, each audience publishes on its own, `init --ci` writes them, and the sample's copy
does not drift from the template."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.git_env import isolate_git
from worktrail.ci_templates import CI_PATHS, INSTALL, ci_file, github_workflow, gitlab_ci
from worktrail.cli import main
from worktrail.load import load_workspace
from worktrail.redact import default_audiences
from worktrail.scaffold import MINIMAL_AUDIENCES

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample-workspace"
SAMPLE_AUDIENCES = ["acme", "internal", "nina", "raj"]
MARIE = ("Marie Laurent", "marie@example.com")


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "HOME": str(home)})
    return env


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch, tmp_path_factory):
    isolate_git(monkeypatch, tmp_path_factory)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> tuple[Path, str]:
    """The sample as a Git repository: the owner's trusted start, then one write by ana (the 'request')."""
    base = tmp_path_factory.mktemp("ci")
    root = base / "repo"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("site"))
    env = clean_env(base)
    name, email = MARIE
    env.update(GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email)

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True).stdout

    git("init", "--quiet", "--initial-branch=main")
    git("add", "--all")
    git("commit", "--quiet", "--no-verify", "-m", "the trusted start")
    start = git("rev-parse", "HEAD").strip()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        patch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
        patch.setenv("HOME", str(base))
        result = CliRunner().invoke(
            main, ["-C", str(root), "time", "log", "WEB-23", "1.5", "--as", "ana", "--date", "2026-03-30"]
        )
    assert result.exit_code == 0, result.output
    assert git("rev-parse", "HEAD").strip() != start
    return root, start


def on_key(workflow: dict[Any, Any]) -> Any:
    # YAML 1.1 (PyYAML) reads the key `on` as the boolean true; GitHub reads it as "on".
    return workflow.get("on", workflow.get(True))


def github_runs(workflow: dict[str, Any], job: str) -> list[str]:
    return [step["run"] for step in workflow["jobs"][job]["steps"] if "run" in step]


def worktrail_lines(scripts: list[str]) -> list[str]:
    return [line.strip() for script in scripts for line in script.splitlines() if line.strip().startswith("worktrail ")]


def expand(line: str, values: dict[str, str]) -> list[str]:
    def value(match: re.Match[str]) -> str:
        assert match.group(1) in values, f"no test value for ${match.group(1)} in {line!r}"
        return values[match.group(1)]

    words = shlex.split(re.sub(r"\$([A-Z_]+)", value, line))
    assert words[0] == "worktrail"
    return words[1:]


def run_in(root: Path, args: list[str], monkeypatch) -> None:
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, f"worktrail {' '.join(args)}:\n{result.output}"


# ------------------------------------------------------------------------------------ GitHub


def test_github_workflow_is_valid_yaml_with_request_checks_and_per_audience_publishing():
    workflow = yaml.safe_load(github_workflow())
    triggers = on_key(workflow)
    assert set(triggers) == {"pull_request", "push"}
    assert triggers["push"]["branches"] == ["main"]
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["env"]["WORKTRAIL_INSTALL"] == INSTALL
    jobs = workflow["jobs"]
    assert set(jobs) == {"check", "audiences", "publish"}
    assert "pull_request" in jobs["check"]["if"] and "push" in jobs["audiences"]["if"]
    assert jobs["publish"]["needs"] == "audiences"
    assert "needs.audiences.outputs.names" in jobs["publish"]["strategy"]["matrix"]["audience"]


def test_github_request_job_validates_and_audits_the_requests_commits_with_annotations():
    workflow = yaml.safe_load(github_workflow())
    check = workflow["jobs"]["check"]
    checkout = check["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0
    assert "pull_request.head.sha" in checkout["with"]["ref"]
    lines = worktrail_lines(github_runs(workflow, "check"))
    assert lines == ["worktrail validate --format github", 'worktrail audit "$BASE_SHA..HEAD" --format github']
    audit_step = next(step for step in check["steps"] if "audit" in step.get("run", ""))
    assert "pull_request.base.sha" in audit_step["env"]["BASE_SHA"]


def test_github_each_audience_publishes_alone_from_its_own_environment():
    workflow = yaml.safe_load(github_workflow())
    publish = workflow["jobs"]["publish"]
    assert publish["environment"] == "worktrail-${{ matrix.audience }}"
    lines = worktrail_lines(github_runs(workflow, "publish"))
    assert lines == ['worktrail build --audience "$AUDIENCE" --out site']
    artifacts = [step for step in publish["steps"] if str(step.get("uses", "")).startswith("actions/upload-artifact@")]
    assert artifacts
    for step in artifacts:
        assert step["with"]["path"] == "site/${{ matrix.audience }}", "an artifact must hold one audience only"
    deploy = next(step for step in publish["steps"] if "rsync" in step.get("run", ""))
    assert '"site/$AUDIENCE/"' in deploy["run"]
    assert deploy["if"] == "vars.DEPLOY_TARGET != ''"
    assert "StrictHostKeyChecking=yes" in deploy["run"]


def test_github_workflow_explains_how_to_protect_each_location():
    text = github_workflow()
    assert "only as private as where it is published" in text
    assert "GitHub Pages serves ONE site per repository" in text
    assert "required reviewers" in text


def test_github_workflow_commands_run_green_on_the_sample_workspace(repo, monkeypatch):
    root, start = repo
    workflow = yaml.safe_load(github_workflow())
    for job in ("check", "audiences"):
        for line in worktrail_lines(github_runs(workflow, job)):
            run_in(root, expand(line, {"BASE_SHA": start}), monkeypatch)
    for audience in SAMPLE_AUDIENCES:
        for line in worktrail_lines(github_runs(workflow, "publish")):
            run_in(root, expand(line, {"AUDIENCE": audience}), monkeypatch)
        assert (root / "site" / audience / "index.html").is_file()


def test_github_audience_list_step_outputs_every_built_audience_as_json(repo, monkeypatch, tmp_path):
    root, _ = repo
    run_in(root, ["build", "--out", "site"], monkeypatch)
    workflow = yaml.safe_load(github_workflow())
    script = next(s["run"] for s in workflow["jobs"]["audiences"]["steps"] if s.get("id") == "list")
    output = tmp_path / "github-output"
    env = {"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output)}
    subprocess.run(["bash", "-e", "-c", script], cwd=root, env=env, check=True)
    key, _, value = output.read_text(encoding="utf-8").strip().partition("=")
    assert key == "names"
    assert json.loads(value) == SAMPLE_AUDIENCES


def test_sample_workspace_carries_the_generated_github_workflow_unchanged():
    committed = (SAMPLE / CI_PATHS["github"]).read_text(encoding="utf-8")
    assert committed == github_workflow(), (
        "sample-workspace/.github/workflows/worktrail.yml differs from ci_templates.github_workflow(); "
        'regenerate it with: python -c "from worktrail.ci_templates import github_workflow; '
        "open('sample-workspace/.github/workflows/worktrail.yml', 'w').write(github_workflow())\""
    )


def test_the_sample_workflow_is_not_read_as_workspace_data():
    loaded = load_workspace(SAMPLE)
    assert not loaded.errors
    assert not any(".github" in finding.loc.path for finding in loaded.findings)


# ------------------------------------------------------------------------------------ GitLab


def test_gitlab_pipeline_is_valid_yaml_with_request_checks_and_one_publish_job_per_audience():
    pipeline = yaml.safe_load(gitlab_ci(SAMPLE_AUDIENCES))
    assert pipeline["stages"] == ["check", "publish"]
    assert pipeline["variables"]["GIT_DEPTH"] == "0"
    assert pipeline["variables"]["WORKTRAIL_INSTALL"] == INSTALL
    request = pipeline["check-request"]
    assert request["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert worktrail_lines(request["script"]) == [
        "worktrail validate",
        'worktrail audit "$CI_MERGE_REQUEST_DIFF_BASE_SHA..HEAD"',
    ]
    publish = pipeline["publish"]
    assert publish["parallel"]["matrix"] == [{"AUDIENCE": SAMPLE_AUDIENCES}]
    assert publish["environment"] == {"name": "worktrail/$AUDIENCE"}
    assert "artifacts" not in publish, "a pipeline artifact may be readable more widely than the repository"


def test_gitlab_publish_script_skips_an_audience_without_a_location(tmp_path):
    pipeline = yaml.safe_load(gitlab_ci(["acme"]))
    deploy = next(item for item in pipeline["publish"]["script"] if "rsync" in item)
    done = subprocess.run(
        ["bash", "-e", "-c", deploy],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "AUDIENCE": "acme"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "worktrail/acme has no DEPLOY_TARGET: built, not published" in done.stdout


def test_gitlab_pipeline_commands_run_green_on_the_sample_workspace(repo, monkeypatch):
    root, start = repo
    pipeline = yaml.safe_load(gitlab_ci(SAMPLE_AUDIENCES))
    for job in ("check-request", "check-main"):
        for line in worktrail_lines(pipeline[job]["script"]):
            run_in(root, expand(line, {"CI_MERGE_REQUEST_DIFF_BASE_SHA": start}), monkeypatch)
    for audience in pipeline["publish"]["parallel"]["matrix"][0]["AUDIENCE"]:
        for line in worktrail_lines(pipeline["publish"]["script"]):
            run_in(root, expand(line, {"AUDIENCE": audience}), monkeypatch)


def test_a_pipeline_needs_an_audience_and_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="at least one audience"):
        gitlab_ci([])
    with pytest.raises(ValueError, match="unknown CI kind"):
        ci_file("jenkins", ["internal"])


# ------------------------------------------------------------------------------------ init --ci


def test_init_with_ci_github_writes_the_workflow_beside_a_valid_workspace(tmp_path):
    target = tmp_path / "work"
    result = CliRunner().invoke(main, ["init", str(target), "--ci", "github"])
    assert result.exit_code == 0, result.output
    assert (target / CI_PATHS["github"]).read_text(encoding="utf-8") == github_workflow()
    assert f"wrote {target / CI_PATHS['github']}" in result.output
    assert CliRunner().invoke(main, ["-C", str(target), "validate", "--strict"]).exit_code == 0


def test_init_with_ci_gitlab_publishes_the_audiences_of_the_new_workspace(tmp_path):
    target = tmp_path / "work"
    assert CliRunner().invoke(main, ["init", str(target), "--ci", "gitlab"]).exit_code == 0
    ws = load_workspace(target).workspace
    assert ws is not None
    names = [a.name for a in default_audiences(ws)]
    assert list(MINIMAL_AUDIENCES) == names
    assert (target / ".gitlab-ci.yml").read_text(encoding="utf-8") == gitlab_ci(names)


def test_init_with_ci_keeps_an_existing_workflows_folder(tmp_path):
    target = tmp_path / "work"
    other = target / ".github" / "workflows" / "tests.yml"
    other.parent.mkdir(parents=True)
    other.write_text("name: tests\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["init", str(target), "--ci", "github"])
    assert result.exit_code == 0, result.output
    assert other.read_text(encoding="utf-8") == "name: tests\n"
    assert (target / CI_PATHS["github"]).is_file()
    assert not [p for p in target.iterdir() if p.name.startswith(".worktrail-init-")]


def test_init_with_ci_on_an_existing_workspace_writes_only_the_ci_file(tmp_path):
    target = tmp_path / "sample"
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns("site", ".github"))
    before = sorted(p.relative_to(target).as_posix() for p in target.rglob("*"))
    result = CliRunner().invoke(main, ["init", str(target), "--ci", "gitlab"])
    assert result.exit_code == 0, result.output
    after = sorted(p.relative_to(target).as_posix() for p in target.rglob("*"))
    assert sorted(set(after) - set(before)) == [".gitlab-ci.yml"]
    assert (target / ".gitlab-ci.yml").read_text(encoding="utf-8") == gitlab_ci(SAMPLE_AUDIENCES)


def test_init_with_ci_refuses_to_replace_an_existing_ci_file(tmp_path):
    target = tmp_path / "work"
    assert CliRunner().invoke(main, ["init", str(target), "--ci", "github"]).exit_code == 0
    workflow = target / CI_PATHS["github"]
    workflow.write_text("# ours\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["init", str(target), "--ci", "github"])
    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert workflow.read_text(encoding="utf-8") == "# ours\n"


def test_init_of_a_new_workspace_refuses_a_folder_with_that_ci_file(tmp_path):
    target = tmp_path / "work"
    target.mkdir()
    (target / ".gitlab-ci.yml").write_text("stages: [test]\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["init", str(target), "--ci", "gitlab"])
    assert result.exit_code == 1
    assert ".gitlab-ci.yml" in result.stderr
    assert sorted(p.name for p in target.iterdir()) == [".gitlab-ci.yml"]


def test_init_refuses_an_unknown_ci_kind_as_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["init", str(tmp_path / "w"), "--ci", "jenkins"])
    assert result.exit_code == 2
    assert not (tmp_path / "w").exists()


def test_github_main_branch_jobs_keep_worktrails_cache_per_branch_and_the_request_job_does_not():
    workflow = yaml.safe_load(github_workflow())
    jobs = workflow["jobs"]

    def caches(job: str) -> list[dict[str, str]]:
        return [step["with"] for step in jobs[job]["steps"] if str(step.get("uses", "")).startswith("actions/cache@")]

    assert caches("check") == []
    for job in ("audiences", "publish"):
        (cache,) = caches(job)
        assert cache["path"] == "~/.cache/worktrail"
        assert cache["key"].startswith("worktrail-${{ github.ref_name }}-") and cache["key"].endswith(
            "${{ github.sha }}"
        )
        assert cache["key"].startswith(cache["restore-keys"])
    # Each audience's job keeps its own cache: its walk is for that audience's viewer.
    assert "matrix.audience" in caches("publish")[0]["key"]


def test_gitlab_main_branch_jobs_keep_worktrails_cache_per_job_and_the_request_job_does_not():
    pipeline = yaml.safe_load(gitlab_ci(SAMPLE_AUDIENCES))
    assert "cache" not in pipeline["check-request"]
    for job in ("check-main", "publish"):
        cache = pipeline[job]["cache"]
        assert cache["key"] == "worktrail-$CI_COMMIT_REF_SLUG-$CI_JOB_NAME_SLUG"
        # GitLab caches only paths inside the project: the cache folder is set to one.
        assert pipeline[job]["variables"]["WORKTRAIL_CACHE_DIR"] == "$CI_PROJECT_DIR/.worktrail-cache"
        assert cache["paths"] == [".worktrail-cache/"]


def test_a_cache_folder_inside_the_workspace_is_not_read_as_workspace_data(tmp_path, monkeypatch):
    workspace = tmp_path / "ws"
    shutil.copytree(SAMPLE, workspace)
    monkeypatch.setenv("WORKTRAIL_CACHE_DIR", str(workspace / ".worktrail-cache"))
    for _ in range(2):
        result = CliRunner().invoke(main, ["-C", str(workspace), "validate", "--strict"])
        assert result.exit_code == 0, result.output
    assert (workspace / ".worktrail-cache").is_dir()
