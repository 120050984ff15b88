"""CI workflow texts written by `worktrail init --ci github|gitlab`.

On a pull or merge request the workflow validates the workspace and audits the request's commits; on
the main branch it validates, audits the whole history, then builds each audience's site in a job of
its own and publishes it to that audience's own location, with that location's credentials only.
The texts explain how to protect each location, since a static site is only as private as where it
is published. Commands are written one per line with no `-C`: the workspace is the repository root.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from . import __version__

CI_KINDS: Final = ("github", "gitlab")
CI_PATHS: Final = {"github": ".github/workflows/worktrail.yml", "gitlab": ".gitlab-ci.yml"}
# The pip requirement the workflows install; teams replace it with the copy they use.
INSTALL: Final = f"worktrail=={__version__}"

_PROTECTION = """\
# A static site is only as private as where it is published. Each audience's site holds exactly
# what that audience may see, so each needs its own location that only that audience can open
# (a host or bucket behind a login of its own). Never publish several audiences, or the internal
# site, in one place: {single_site}
#
# Each audience publishes through its own environment, {environment},
# whose settings point at that audience's location only:
#   DEPLOY_TARGET       rsync destination, e.g. deploy@client-sites.example.com:/srv/acme/
#   DEPLOY_KNOWN_HOSTS  the host's SSH public key line(s), checked by you
#   DEPLOY_SSH_KEY      a private key that may write to that location and nowhere else
{protect}
"""


def github_workflow() -> str:
    """The GitHub Actions workflow (`.github/workflows/worktrail.yml`); it lists the audiences at run time."""
    protection = _PROTECTION.format(
        single_site="GitHub Pages serves ONE site per repository.",
        environment='"worktrail-<audience>" (Settings > Environments)',
        protect="""\
# (DEPLOY_SSH_KEY as an environment secret, the other two as environment variables). Protect every
# environment: deployment branches limited to main, and required reviewers for client sites, so no
# other branch can use its key. An audience whose environment has no DEPLOY_TARGET is built (and
# kept as a build artifact, which only those who can read this repository can download) but not
# published.""",
    )
    return f"""\
# Worktrail in GitHub Actions (written by `worktrail init --ci github`).
#
# On a pull request: validate the workspace and audit the request's commits against the write rules;
# findings show inline on the changed files. On a push to main: validate, audit the whole history,
# then build each audience's site in its own job and publish it to that audience's own location.
#
{protection}#
# The workspace is the repository root; if it is a sub-folder, add `-C <folder>` after `worktrail`.

name: worktrail

on:
  pull_request:
  push:
    branches: [main]

permissions:
  contents: read

env:
  # The pip requirement of the Worktrail you use: a released version, or for instance
  # "git+https://git.example.com/tools/worktrail.git@v{__version__}".
  WORKTRAIL_INSTALL: "{INSTALL}"

jobs:
  check:
    name: validate and audit the request
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          # The request's own commits (not GitHub's merge commit), with the whole history.
          ref: ${{{{ github.event.pull_request.head.sha }}}}
          fetch-depth: 0
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install Worktrail
        run: python -m pip install "$WORKTRAIL_INSTALL"
      - name: Validate
        run: worktrail validate --format github
      - name: Audit the request's commits
        if: ${{{{ !cancelled() }}}}
        env:
          BASE_SHA: ${{{{ github.event.pull_request.base.sha }}}}
        run: worktrail audit "$BASE_SHA..HEAD" --format github

  audiences:
    name: validate, audit and list the audiences
    if: github.event_name == 'push'
    runs-on: ubuntu-latest
    outputs:
      names: ${{{{ steps.list.outputs.names }}}}
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install Worktrail
        run: python -m pip install "$WORKTRAIL_INSTALL"
      # Worktrail's cache (parses, the trail's walk, the audit's verdicts, by commit) from the last
      # run on this branch: this run walks and judges only the pushed commits. Only runs of this
      # branch write it (a pull request's runs cannot); `worktrail audit --no-cache` ignores it.
      # The path is the default cache folder (set WORKTRAIL_CACHE_DIR to it if your runner sets
      # XDG_CACHE_HOME).
      - name: Keep Worktrail's cache between runs
        uses: actions/cache@v4
        with:
          path: ~/.cache/worktrail
          key: worktrail-${{{{ github.ref_name }}}}-all-${{{{ github.sha }}}}
          restore-keys: worktrail-${{{{ github.ref_name }}}}-all-
      - name: Validate
        run: worktrail validate --format github
      - name: Audit the history
        run: worktrail audit --format github
      - name: Build every audience
        run: worktrail build --out site
      - name: List the audiences
        id: list
        run: |
          names=""
          for folder in site/*/; do
            name="${{folder#site/}}"
            names="$names\\"${{name%/}}\\","
          done
          echo "names=[${{names%,}}]" >> "$GITHUB_OUTPUT"

  publish:
    name: publish ${{{{ matrix.audience }}}}
    needs: audiences
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        audience: ${{{{ fromJSON(needs.audiences.outputs.names) }}}}
    # One environment per audience: this job holds the credentials of one location only.
    environment: worktrail-${{{{ matrix.audience }}}}
    env:
      AUDIENCE: ${{{{ matrix.audience }}}}
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install Worktrail
        run: python -m pip install "$WORKTRAIL_INSTALL"
      - name: Keep Worktrail's cache between runs
        uses: actions/cache@v4
        with:
          path: ~/.cache/worktrail
          key: worktrail-${{{{ github.ref_name }}}}-${{{{ matrix.audience }}}}-${{{{ github.sha }}}}
          restore-keys: worktrail-${{{{ github.ref_name }}}}-${{{{ matrix.audience }}}}-
      - name: Build this audience's site
        run: worktrail build --audience "$AUDIENCE" --out site
      - name: Keep the site as a build artifact
        uses: actions/upload-artifact@v4
        with:
          name: site-${{{{ matrix.audience }}}}
          path: site/${{{{ matrix.audience }}}}
          retention-days: 7
      - name: Publish to this audience's own location
        if: vars.DEPLOY_TARGET != ''
        env:
          DEPLOY_TARGET: ${{{{ vars.DEPLOY_TARGET }}}}
          DEPLOY_KNOWN_HOSTS: ${{{{ vars.DEPLOY_KNOWN_HOSTS }}}}
          DEPLOY_SSH_KEY: ${{{{ secrets.DEPLOY_SSH_KEY }}}}
        run: |
          install -d -m 700 ~/.ssh
          printf '%s\\n' "$DEPLOY_KNOWN_HOSTS" > ~/.ssh/known_hosts
          printf '%s\\n' "$DEPLOY_SSH_KEY" > ~/.ssh/worktrail-deploy
          chmod 600 ~/.ssh/worktrail-deploy
          rsync -a --delete -e "ssh -i $HOME/.ssh/worktrail-deploy -o StrictHostKeyChecking=yes" \\
            "site/$AUDIENCE/" "$DEPLOY_TARGET"
"""


def gitlab_ci(audiences: Sequence[str]) -> str:
    """The GitLab CI/CD pipeline (`.gitlab-ci.yml`) publishing `audiences`, the names listed when it is written."""
    if not audiences:
        raise ValueError("a pipeline needs at least one audience")
    protection = _PROTECTION.format(
        single_site="GitLab Pages serves ONE site per project.",
        environment='"worktrail/<audience>"',
        protect="""\
# (CI/CD variables scoped to that environment, DEPLOY_KNOWN_HOSTS and DEPLOY_SSH_KEY of type File).
# Protect every environment (Settings > CI/CD > Protected environments) and mark its variables
# protected, so only pipelines of the protected default branch can use its key. An audience whose
# environment has no DEPLOY_TARGET is built but not published.""",
    )
    names = ", ".join(f'"{name}"' for name in audiences)
    return f"""\
# Worktrail in GitLab CI/CD (written by `worktrail init --ci gitlab`).
#
# On a merge request: validate the workspace and audit the request's commits against the write
# rules. On the default branch: validate, audit the whole history, then build each audience's site
# in its own job and publish it to that audience's own location.
#
{protection}#
# The audiences below are those of the workspace when this file was written: when you add one
# (in worktrail.yaml, or a client team or freelancer with default audiences), add it here; a
# removed audience makes its job fail. The workspace is the repository root; if it is a
# sub-folder, add `-C <folder>` after `worktrail`.

stages: [check, publish]

variables:
  # The pip requirement of the Worktrail you use: a released version, or for instance
  # "git+https://git.example.com/tools/worktrail.git@v{__version__}".
  WORKTRAIL_INSTALL: "{INSTALL}"
  # The audit and the sites' trail read the whole history.
  GIT_DEPTH: "0"

workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH

default:
  image: python:3.11
  before_script:
    - python -m pip install --quiet "$WORKTRAIL_INSTALL"

check-request:
  stage: check
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  script:
    - worktrail validate
    - worktrail audit "$CI_MERGE_REQUEST_DIFF_BASE_SHA..HEAD"

check-main:
  stage: check
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  # Worktrail's cache (parses, the trail's walk, the audit's verdicts, by commit) from the last run
  # of this job on this branch: this run walks and judges only the pushed commits. GitLab keeps
  # protected branches' caches apart, so merge requests' pipelines cannot write it;
  # `worktrail audit --no-cache` ignores it.
  variables:
    WORKTRAIL_CACHE_DIR: "$CI_PROJECT_DIR/.worktrail-cache"
  cache:
    key: "worktrail-$CI_COMMIT_REF_SLUG-$CI_JOB_NAME_SLUG"
    paths: [.worktrail-cache/]
  script:
    - worktrail validate
    - worktrail audit

publish:
  stage: publish
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  parallel:
    matrix:
      - AUDIENCE: [{names}]
  # One environment per audience: this job holds the credentials of one location only.
  environment:
    name: worktrail/$AUDIENCE
  # The cache as in check-main, one per audience's job.
  variables:
    WORKTRAIL_CACHE_DIR: "$CI_PROJECT_DIR/.worktrail-cache"
  cache:
    key: "worktrail-$CI_COMMIT_REF_SLUG-$CI_JOB_NAME_SLUG"
    paths: [.worktrail-cache/]
  script:
    - worktrail build --audience "$AUDIENCE" --out site
    - |
      if [ -z "${{DEPLOY_TARGET:-}}" ]; then
        echo "worktrail/$AUDIENCE has no DEPLOY_TARGET: built, not published"
        exit 0
      fi
      apt-get update -qq && apt-get install -y -qq rsync openssh-client > /dev/null
      chmod 600 "$DEPLOY_SSH_KEY"
      rsync -a --delete \\
        -e "ssh -i $DEPLOY_SSH_KEY -o UserKnownHostsFile=$DEPLOY_KNOWN_HOSTS -o StrictHostKeyChecking=yes" \\
        "site/$AUDIENCE/" "$DEPLOY_TARGET"
"""


def ci_file(kind: str, audiences: Sequence[str]) -> tuple[str, str]:
    """The workspace-relative path and text of the `kind` CI file (`github` or `gitlab`)."""
    if kind == "github":
        return CI_PATHS[kind], github_workflow()
    if kind == "gitlab":
        return CI_PATHS[kind], gitlab_ci(audiences)
    raise ValueError(f"unknown CI kind {kind!r}; use one of: {', '.join(CI_KINDS)}")
