"""`worktrail audit`: the Git history checked against the write rules (SPEC §4).

How a history is judged:
- **Trusted start**: the commit that added `worktrail.yaml` on the first-parent line of the
  audited tip (or, for `BASE..TIP`, the state at BASE and every commit outside the range). Commits
  descending from it are checked; commits from unrelated lines (an orphan branch bringing its own
  `worktrail.yaml`) are never trusted: their changes count only once merged, as the merge's own.
- **Person**: the commit's *author* email, trimmed and compared case-insensitively with the
  `emails` of the people in the parent's accepted state (nothing fuzzier). The author is the
  acting person; the committer is only recorded. An unknown author is a violation.
- **Rules as they stood in the parent**: each change is checked with the policy of the parent's
  accepted state, so nobody grants themselves a role and uses it in the same commit. A thing
  created earlier in the same commit (a task and its first comment) is looked up in the state
  with the commit's accepted changes so far; roles and memberships still come from the parent.
- **A rejected change does not take effect**: each file keeps its last accepted content until an
  accepted commit changes it; a commit with an unknown author (or a missing signature under
  `--require-signed`) changes nothing.
- **Merges**: the merge's own changes are those against its first parent that it does not carry
  over from another parent (see `history`); a file carried over from a branch where it was
  accepted is accepted; one whose branch content was rejected is checked as the merge's own
  change. A merge with no own change needs no known author.
- **Changes are judged by their effect on the loaded workspace**: a record whose new content does
  not load counts as deleted (and a warning names the problem); one whose old content did not load
  counts as created.
- **Files and actions**: settings, people, teams, `project.yaml` and everything under `files/`
  (documents and their index) are "edit workspace, people, teams, project settings" (managers),
  except a milestone moving to `signed-off`, which is a sign-off (approvers). Feedback is edited or
  deleted under the rule for adding it (its author). A task change that touches only `status` is
  allowed to its assignee; any other task change is an edit.
- **Recorded persons**: `created_by` (tasks), `author` (comments, feedback), `requested_by`,
  `person`/`by` (time, expenses), `response.by`, `decision.by` and `signed_off_by` that are new or
  changed must name the commit's author; managers may record for others, but a decision or
  sign-off they record for someone must name an approver.
- **Gated tasks** move to `in-progress`, `review` or `done` only when their change request is
  `approved` or `implemented` in the parent or by an accepted change of the same commit.
- **Signatures** (`--require-signed`): every checked commit with changes needs `%G?` = `G` from an
  SSH key listed in an allowed-signers file kept outside the repository, whose principal is the
  author (one of that person's emails).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from . import model as m
from .gcpause import collector_paused
from .gitutil import GitError, Repository, RevisionError, RevRange, find_repository, parse_range
from .history import (
    BlobRef,
    Commit,
    CommitGraph,
    FileChange,
    HistorySource,
    Keeper,
    PathInfo,
    Side,
    Snapshot,
    carried_from,
    classify_path,
    normalize_email,
)
from .load import WORKSPACE_FILE
from .policy import RULE_UNKNOWN, Action, MilestoneRef, Policy, Verdict

if TYPE_CHECKING:
    from .buildcache import BuildCache

RULE_UNKNOWN_AUTHOR: Final = "unknown author"
RULE_SIGNATURE: Final = "signature"
RULE_RECORDED: Final = "recorded person"
RULE_GATED: Final = "gated status"
RULE_NO_WORKSPACE: Final = "no workspace"

ACTION_COMMIT: Final = "commit"
GATED_STATUSES = frozenset({"in-progress", "review", "done"})
OPEN_CR_STATUSES = frozenset({"approved", "implemented"})
SETTINGS_KINDS = frozenset({"settings", "person", "team", "documents", "file", "other"})
# Files are judged in this order so that what a commit creates is known to what refers to it.
_PHASES: tuple[frozenset[str], ...] = (
    frozenset({*SETTINGS_KINDS, "project"}),
    frozenset({"change", "meeting", "feedback"}),
    frozenset({"task"}),
    frozenset({"comment", "time", "expenses"}),
)


class AuditUsageError(Exception):
    """The audit was asked something it cannot do as asked (exit code 2)."""


@dataclass(frozen=True)
class Violation:
    """One forbidden change: full commit id, author, repository path (None: the whole commit), action, rule."""

    commit: str
    author: str
    file: str | None
    action: str
    rule: str
    message: str

    def as_json(self) -> dict[str, str | None]:
        return {
            "commit": self.commit,
            "author": self.author,
            "file": self.file,
            "action": self.action,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass
class AuditResult:
    """Violations found, warnings, how many commits were checked, and why the audit could not run."""

    violations: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checked: int = 0
    failure: str | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.violations or self.failure else 0


@dataclass(frozen=True)
class _Problem:
    action: str
    rule: str
    message: str


@dataclass
class _State:
    actual: Snapshot
    accepted: Snapshot
    # The edits from `actual` to `accepted` (files whose accepted content differs), kept commit by commit.
    delta: dict[str, BlobRef | None] = field(default_factory=dict)

    def after(self, actual: Snapshot, accepted: Snapshot, edits: Mapping[str, BlobRef | None]) -> _State:
        """The next state: only files this state had apart, or that `edits` touched, can differ now.

        When nothing differs, one state serves as both, so they share every load: the accepted one,
        which holds the projects assembled to judge the commit (the next commit updates them).
        """
        delta: dict[str, BlobRef | None] = {}
        if accepted is not actual:
            for path in self.delta.keys() | edits.keys():
                want = accepted.get(path)
                if actual.get(path) != want:
                    delta[path] = want
            if not delta:
                actual = accepted
        return _State(actual, accepted, delta)


@dataclass(frozen=True)
class KeptCommit:
    """What auditing one commit found, kept so that a later audit of the same history need not redo it.

    A commit's verdicts depend only on it, its ancestors and the audit's options; `accepted` holds
    the edits from its actual state to its accepted one (empty when every change took effect).
    """

    category: str
    checked: bool
    violations: tuple[Violation, ...]
    warnings: tuple[str, ...]
    accepted: Mapping[str, BlobRef | None]


@dataclass
class AuditMemo:
    """The kept results of a whole-history audit, by commit id (see `run_audit`)."""

    commits: dict[str, KeptCommit] = field(default_factory=dict)


def _denied(action: Action | str, verdict: Verdict) -> list[_Problem]:
    name = action.value if isinstance(action, Action) else action
    return [] if verdict else [_Problem(name, verdict.rule, verdict.reason)]


class _CommitJudge:
    """Judges the own changes of one checked commit by one known person."""

    def __init__(
        self,
        commit: Commit,
        person: str,
        before: Snapshot,
        candidate: Snapshot,
        sides: Sequence[_SideState],
        scope: str | None = None,
    ) -> None:
        self.commit = commit
        self.person = person
        self.before = before
        self.candidate = candidate
        self.sides = sides
        # A commit that changes one project's files only is judged by the rules over that project
        # (`Snapshot.policy_for`), which are the same for its records and far cheaper to build.
        self.scope = scope
        policy = before.policy_for(scope)
        assert policy is not None
        self.policy = policy
        self.manager = policy.ws.people[person].is_manager
        self.accepted_edits: dict[str, BlobRef | None] = {}
        self._so_far: tuple[int, Policy | None] | None = None

    # -- policy questions ---------------------------------------------------------------------

    def policy_so_far(self) -> Policy | None:
        """Rules with this commit's accepted changes so far (for things created in this commit)."""
        if self._so_far is None or self._so_far[0] != len(self.accepted_edits):
            self._so_far = (len(self.accepted_edits), self.before.apply(self.accepted_edits).policy_for(self.scope))
        return self._so_far[1]

    def can(self, action: Action, target: object, person: str | None = None) -> Verdict:
        who = person or self.person
        verdict = self.policy.can_do(who, action, target)
        if not verdict and verdict.rule == RULE_UNKNOWN and self.accepted_edits:
            later = self.policy_so_far()
            if later is not None:
                return later.can_do(who, action, target)
        return verdict

    def check(self, action: Action, target: object) -> list[_Problem]:
        return _denied(action, self.can(action, target))

    def recorded(self, action: Action, what: str, value: str | None, previous: str | None = None) -> list[_Problem]:
        """A person field that is new or changed must name the author (managers may record others)."""
        if value is None or value == previous or value == self.person or self.manager:
            return []
        return [_Problem(action.value, RULE_RECORDED, f"{what} is {value}, but the commit's author is {self.person}")]

    # -- one file ---------------------------------------------------------------------------

    def judge(self, change: FileChange) -> list[_Problem]:
        """What is wrong with one own change of the commit (nothing: it is accepted)."""
        info = classify_path(change.path)
        if self._no_effect(change.path):
            return []
        handlers: dict[str, Callable[[PathInfo, str], list[_Problem]]] = {
            "project": self._project,
            "task": self._task,
            "comment": self._comment,
            "change": self._change,
            "meeting": self._meeting,
            "feedback": self._feedback,
            "time": self._time,
            "expenses": self._expenses,
        }
        return handlers.get(info.kind, self._settings)(info, change.path)

    def _no_effect(self, path: str) -> bool:
        # A change the loaded workspace cannot tell (layout, YAML comments) changes nothing.
        old_data, new_data = self.before.data(path), self.candidate.data(path)
        if old_data is None or new_data is None or old_data != new_data:
            return False
        old, new = self.before.record(path), self.candidate.record(path)
        if (old is None) != (new is None):
            return False
        return getattr(old, "body", None) == getattr(new, "body", None)

    def _settings(self, info: PathInfo, path: str) -> list[_Problem]:
        target = self.before.record(path) or self.candidate.record(path)
        if target is None or info.kind in ("documents", "file", "other"):
            target = self.policy.ws.projects.get(info.project or "") if info.project else None
            if target is None:
                target = self.candidate.project(info.project) if info.project else None
            if target is None:
                target = self.policy.ws.settings
        return self.check(Action.EDIT_SETTINGS, target)

    def _changed_fields(self, path: str, body_changed: bool) -> set[str]:
        old_data, new_data = self.before.data(path) or {}, self.candidate.data(path) or {}
        changed = {k for k in {*old_data, *new_data} if old_data.get(k) != new_data.get(k)}
        if body_changed:
            changed.add("body")
        return changed

    def _project(self, info: PathInfo, path: str) -> list[_Problem]:
        old, new = self.before.record(path), self.candidate.record(path)
        if not isinstance(old, m.Project) or not isinstance(new, m.Project):
            return self._settings(info, path)
        problems: list[_Problem] = []
        old_ms = {ms.id: ms for ms in old.milestones}
        signed: list[str] = []
        for milestone in new.milestones:
            previous = old_ms.get(milestone.id)
            if previous is None or milestone.status != "signed-off" or previous.status == "signed-off":
                continue
            signed.append(milestone.id)
            problems += self._approval(
                Action.SIGN_OFF_MILESTONE,
                MilestoneRef(old, previous),
                milestone.signed_off_by,
                f"signed_off_by of milestone {milestone.id}",
            )
        if _without_sign_offs(self.candidate.data(path), self.before.data(path), signed) != self.before.data(path):
            problems += self.check(Action.EDIT_SETTINGS, old)
        return problems

    def _approval(self, action: Action, target: object, decider: str | None, what: str) -> list[_Problem]:
        if self.manager and decider is not None and decider != self.person:
            verdict = self.can(action, target, person=decider)
            if not verdict:
                return [_Problem(action.value, verdict.rule, f"recorded for {decider}: {verdict.reason}")]
            return []
        problems = self.check(action, target)
        if not problems and decider is not None and decider != self.person:
            problems.append(
                _Problem(action.value, RULE_RECORDED, f"{what} is {decider}, but the commit's author is {self.person}")
            )
        return problems

    def _task(self, info: PathInfo, path: str) -> list[_Problem]:
        old, new = self.before.record(path), self.candidate.record(path)
        if not isinstance(old, m.Task):
            if not isinstance(new, m.Task):
                return []
            problems = self.check(Action.CREATE_TASK, new)
            problems += self.recorded(Action.CREATE_TASK, f"created_by of {new.id}", new.created_by)
            return problems or self._gated(Action.CREATE_TASK, None, new)
        if not isinstance(new, m.Task):
            return self.check(Action.EDIT_TASK, old)
        changed = self._changed_fields(path, old.body != new.body)
        action = Action.EDIT_TASK
        verdict = self.can(Action.EDIT_TASK, old)
        if not verdict and changed == {"status"}:
            action = Action.SET_OWN_TASK_STATUS
            verdict = self.can(action, old)
        problems = _denied(action, verdict)
        problems += self.recorded(action, f"created_by of {new.id}", new.created_by, old.created_by)
        return problems or self._gated(action, old, new)

    def _gated(self, action: Action, old: m.Task | None, new: m.Task) -> list[_Problem]:
        if new.status not in GATED_STATUSES or new.change_request is None:
            return []
        if old is not None and old.status in GATED_STATUSES and old.change_request == new.change_request:
            return []
        state = self.before.apply(self.accepted_edits) if self.accepted_edits else self.before
        project = state.project(new.project)
        change = project.change(new.change_request) if project is not None else None
        if change is not None and change.status in OPEN_CR_STATUSES:
            return []
        why = f"it is {change.status}" if change is not None else "it does not exist"
        return [
            _Problem(
                action.value,
                RULE_GATED,
                f"{new.id} moved to {new.status} but implements {new.change_request}, and {why}; "
                "work starts only after the change request is approved",
            )
        ]

    def _comment(self, info: PathInfo, path: str) -> list[_Problem]:
        old, new = self.before.record(path), self.candidate.record(path)
        if not isinstance(old, m.Comment):
            return self.check(Action.ADD_COMMENT, new) if isinstance(new, m.Comment) else []
        problems = self.check(Action.EDIT_COMMENT, old)
        if isinstance(new, m.Comment):
            problems += self.recorded(Action.EDIT_COMMENT, f"author of comment {new.id}", new.author, old.author)
        return problems

    def _change(self, info: PathInfo, path: str) -> list[_Problem]:
        old, new = self.before.record(path), self.candidate.record(path)
        if not isinstance(old, m.ChangeRequest):
            if not isinstance(new, m.ChangeRequest):
                return []
            proposed = self.check(Action.PROPOSE_CR, new)
            if not proposed and new.status not in ("proposed", "withdrawn"):
                stand_in = dataclasses.replace(new, status="proposed", decision=None)
                proposed += self._decision(stand_in, new)
            return proposed
        if not isinstance(new, m.ChangeRequest):
            return self.check(Action.EDIT_CR, old)
        changed = self._changed_fields(path, old.body != new.body)
        problems = []
        linked_only = set(new.tasks) >= set(old.tasks)
        if old.status == new.status and changed == {"tasks"} and linked_only and old.status != "proposed":
            return self.check(Action.LINK_CR_TASKS, old)
        if old.status == new.status or (old.status == "proposed" and new.status == "withdrawn"):
            problems += self.check(Action.EDIT_CR, old)
            rest: set[str] = set()
        elif new.status in ("approved", "rejected"):
            problems += self._decision(old, new)
            rest = changed - {"status", "decision"}
        else:
            action = Action.IMPLEMENT_CR if new.status == "implemented" else Action.DECIDE_CR
            problems += self.check(action, old)
            rest = changed - {"status"}
        if rest == {"tasks"} and linked_only and new.status == "implemented":
            problems += self.check(Action.LINK_CR_TASKS, old)
        elif rest:
            problems += self.check(Action.EDIT_CR, old)
        problems += self.recorded(Action.EDIT_CR, f"requested_by of {new.id}", new.requested_by, old.requested_by)
        return problems

    def _decision(self, old: m.ChangeRequest, new: m.ChangeRequest) -> list[_Problem]:
        decider = new.decision.by if new.decision is not None else None
        return self._approval(Action.DECIDE_CR, old, decider, f"decision.by of {new.id}")

    def _meeting(self, info: PathInfo, path: str) -> list[_Problem]:
        old, new = self.before.record(path), self.candidate.record(path)
        target = old if isinstance(old, m.Meeting) else new
        return self.check(Action.WRITE_MEETING, target) if target is not None else []

    def _feedback(self, info: PathInfo, path: str) -> list[_Problem]:
        old, new = self.before.record(path), self.candidate.record(path)
        if not isinstance(old, m.Feedback):
            if not isinstance(new, m.Feedback):
                return []
            problems = self.check(Action.ADD_FEEDBACK, new)
            if new.response is not None:
                problems += self.check(Action.RESPOND_FEEDBACK, new)
                problems += self.recorded(Action.RESPOND_FEEDBACK, f"response.by of feedback {new.id}", new.response.by)
            return problems
        if not isinstance(new, m.Feedback):
            return self.check(Action.ADD_FEEDBACK, old)
        problems = []
        changed = self._changed_fields(path, old.body != new.body)
        if changed - {"response"}:
            problems += self.check(Action.ADD_FEEDBACK, old)
            problems += self.recorded(Action.ADD_FEEDBACK, f"author of feedback {new.id}", new.author, old.author)
        if "response" in changed:
            problems += self.check(Action.RESPOND_FEEDBACK, old)
            by = new.response.by if new.response is not None else None
            previous = old.response.by if old.response is not None else None
            problems += self.recorded(Action.RESPOND_FEEDBACK, f"response.by of feedback {new.id}", by, previous)
        return problems

    def _time(self, info: PathInfo, path: str) -> list[_Problem]:
        return self._lines(path, Action.LOG_TIME, Action.EDIT_TIME)

    def _expenses(self, info: PathInfo, path: str) -> list[_Problem]:
        return self._lines(path, Action.ADD_EXPENSE, Action.EDIT_EXPENSE)

    def _lines(self, path: str, add: Action, edit: Action) -> list[_Problem]:
        old_lines, new_lines = self.before.lines(path), self.candidate.lines(path)
        carried_added, carried_removed = _carried_lines(path, self.sides)
        problems: list[_Problem] = []
        count = len(old_lines)
        if len(new_lines) >= count and all(
            old.key == new.key for old, new in zip(old_lines, new_lines[:count], strict=True)
        ):
            # Usually a version keeps every line and adds some after them (lines are in date order):
            # the lines added are those after the kept ones, and none went.
            for line in new_lines[count:]:
                if line.key not in carried_added:
                    problems += self.check(add, line.entity)
            return problems
        remaining = Counter(line.key for line in old_lines)
        for line in new_lines:
            if remaining[line.key] > 0:
                remaining[line.key] -= 1
            elif line.key not in carried_added:
                problems += self.check(add, line.entity)
        kept = Counter(line.key for line in new_lines)
        for line in old_lines:
            if kept[line.key] > 0:
                kept[line.key] -= 1
            elif line.key not in carried_removed:
                problems += self.check(edit, line.entity)
        return problems


@dataclass(frozen=True)
class _SideState:
    """Another parent of a merge: actual and accepted states, and the merge bases' actual states."""

    actual: Snapshot
    accepted: Snapshot
    bases: tuple[Snapshot, ...]


def _carried_lines(path: str, sides: Sequence[_SideState]) -> tuple[set[str], set[str]]:
    # Lines another branch added count only if they were accepted there; lines it removed count
    # only if that removal was accepted there too.
    added: set[str] = set()
    removed: set[str] = set()
    for side in sides:
        accepted = {line.key for line in side.accepted.lines(path)}
        actual = {line.key for line in side.actual.lines(path)}
        base_keys: set[str] = set()
        for base in side.bases:
            base_keys |= {line.key for line in base.lines(path)}
        added |= accepted
        removed |= base_keys - actual - accepted
    return added, removed


def _without_sign_offs(new_data: Any, old_data: Any, signed: Iterable[str]) -> Any:
    """`project.yaml` data with the given sign-offs undone, to see whether anything else changed."""
    ids = set(signed)
    if not ids or not isinstance(new_data, dict) or not isinstance(old_data, dict):
        return new_data
    out = copy.deepcopy(new_data)
    old_items = {item.get("id"): item for item in old_data.get("milestones") or () if isinstance(item, dict)}
    for item in out.get("milestones") or ():
        if not isinstance(item, dict) or item.get("id") not in ids:
            continue
        previous = old_items.get(item.get("id"), {})
        for key in ("status", "signed_off_by", "signed_off_on"):
            if key in previous:
                item[key] = previous[key]
            else:
                item.pop(key, None)
    return out


# ---------------------------------------------------------------------------------------- the walk


class Auditor:
    """Walks a history once, keeping each commit's actual and accepted states while they are needed."""

    def __init__(self, source: HistorySource, require_signed: bool = False, kept: AuditMemo | None = None) -> None:
        self.source = source
        self.require_signed = require_signed
        self.result = AuditResult(warnings=list(source.warnings))
        self.graph: CommitGraph = source.graph
        # Results of commits audited before (same history, same options), and this run's.
        self.kept = kept if kept is not None else AuditMemo()
        self.memo = AuditMemo()

    def _label(self, path: str) -> str:
        repo = self.source.repo
        return repo.to_repo_path(path) if repo is not None else path

    def _violation(self, commit: Commit, file: str | None, problem: _Problem) -> None:
        self.result.violations.append(
            Violation(
                commit=commit.id,
                author=commit.author,
                file=self._label(file) if file is not None else None,
                action=problem.action,
                rule=problem.rule,
                message=problem.message,
            )
        )

    def _categories(self) -> dict[str, str]:
        """'checked', 'trusted' or 'untrusted' for every commit of the log."""
        commits = self.graph.commits
        if self.source.base is not None:
            return {c.id: "checked" for c in commits}
        has: dict[str, bool] = {}
        for commit in commits:
            present = has.get(commit.parents[0], False) if commit.parents else False
            for change in commit.changes:
                for path, ref in change.edits().items():
                    if path == WORKSPACE_FILE:
                        present = ref is not None
            has[commit.id] = present
        chain: list[str] = []
        oid: str | None = self.source.tip
        while oid is not None and oid in self.graph.by_id:
            chain.append(oid)
            parents = self.graph.by_id[oid].parents
            oid = parents[0] if parents else None
        start = next((oid for oid in reversed(chain) if has.get(oid)), None)
        if start is None:
            return {c.id: "untrusted" for c in commits}
        trusted = {start}
        todo = [start]
        while todo:
            ancestor = self.graph.by_id.get(todo.pop())
            for parent in ancestor.parents if ancestor is not None else ():
                if parent not in trusted:
                    trusted.add(parent)
                    todo.append(parent)
        out: dict[str, str] = {}
        for commit in commits:
            if commit.id in trusted:
                out[commit.id] = "trusted"
            elif any(out.get(p) == "checked" or p == start for p in commit.parents):
                out[commit.id] = "checked"
            else:
                out[commit.id] = "untrusted"
        return out

    def run(self) -> AuditResult:
        """Check every commit of the source; the result lists the violations in history order."""
        repo = self.source.repo
        if repo is None or self.source.tip is None:
            self.result.failure = self.result.warnings[-1] if self.result.warnings else "no history to audit"
            return self.result
        categories = self._categories()
        if self.source.base is None and "trusted" not in categories.values():
            self.result.failure = (
                f"{repo.to_repo_path(WORKSPACE_FILE)} was never committed on this branch: nothing to audit"
            )
            return self.result
        keeper = Keeper(self.graph)
        source = self.source
        kept = self.kept.commits
        if any(kept[oid].category != category for oid, category in categories.items() if oid in kept):
            # Another trusted start: every commit may be judged differently now.
            kept = {}

        def state(oid: str) -> _State:
            found: _State | None = keeper.get(oid)
            if found is None:
                snapshot = source.outside(oid)
                before = kept.get(oid)
                delta = dict(before.accepted) if before is not None else {}
                found = _State(snapshot, snapshot.apply(delta), delta)
                keeper.put(oid, found)
            return found

        empty = _State(source.empty, source.empty)
        for index, commit in enumerate(self.graph.commits):
            done = kept.get(commit.id)
            if done is not None:
                self.result.checked += done.checked
                self.result.violations.extend(done.violations)
                self.result.warnings.extend(done.warnings)
                self.memo.commits[commit.id] = done
                keeper.release(commit)
                continue
            violations, warnings = len(self.result.violations), len(self.result.warnings)
            source.prefetch(index, kept)
            first = state(commit.parents[0]) if commit.parents else empty
            edits: dict[str, BlobRef | None] = {}
            for change in commit.changes:
                edits.update(change.edits())
            category = categories[commit.id]
            if category == "checked":
                # The judge assembles these projects in the parent's state anyway: done first, the
                # state derived from it updates those assemblies instead of replaying older swaps.
                for project_id in {classify_path(path).project for path in edits} - {None}:
                    first.actual.project(project_id)
            actual = first.actual.apply(edits)
            if category == "trusted":
                after = _State(actual, actual, {})
            elif category == "untrusted":
                after = first.after(actual, first.accepted, edits)
            else:
                self.result.checked += 1
                sides = [
                    _SideState(
                        state(p).actual,
                        state(p).accepted,
                        tuple(state(b).actual for b in self.graph.bases.get((commit.id, p), ())),
                    )
                    for p in commit.parents[1:]
                ]
                after = first.after(actual, self._check(commit, first, sides, actual, edits), edits)
            keeper.put(commit.id, after)
            keeper.release(commit)
            self.memo.commits[commit.id] = KeptCommit(
                category=category,
                checked=category == "checked",
                violations=tuple(self.result.violations[violations:]),
                warnings=tuple(self.result.warnings[warnings:]),
                accepted=after.delta,
            )
        missing = source.missing_blobs()
        if missing:
            self.result.warnings.append(
                f"{len(missing)} file version(s) are missing from the repository or too large, read as empty"
            )
        return self.result

    def _check(
        self,
        commit: Commit,
        first: _State,
        sides: Sequence[_SideState],
        actual: Snapshot,
        edits: Mapping[str, BlobRef | None],
    ) -> Snapshot:
        """Judge one commit (`actual`: its parent's actual state with `edits`, all its changes); returns its accepted state."""
        carried: dict[str, BlobRef | None] = {}
        own: list[FileChange] = []
        plain_sides = [Side(side.actual, side.bases) for side in sides]
        for change in commit.changes:
            for part in change.split():
                if classify_path(part.path).kind == "ignored":
                    carried[part.path] = part.new
                    continue
                index = carried_from(part.path, part.new, plain_sides) if sides else None
                if index is not None and sides[index].accepted.get(part.path) == part.new:
                    carried[part.path] = part.new
                else:
                    own.append(part)
        before = first.accepted
        base_after = before.apply(carried)
        if not own:
            return base_after
        if not self._allowed_to_commit(commit, before, own):
            return base_after
        person = before.person_for_email(commit.author_email)
        assert person is not None
        own_edits = {c.path: c.new for c in own}
        # Usually the parent's states are one and every change is the commit's own: the candidate is
        # then the actual state, and, when every change is accepted, the accepted one too (one state
        # judged and kept, not three made).
        same = base_after is first.actual and own_edits == edits
        candidate = actual if same else base_after.apply(own_edits)
        projects = {classify_path(change.path).project for change in own}
        scope = projects.pop() if len(projects) == 1 else None
        judge = _CommitJudge(commit, person, before, candidate, sides, scope)
        for phase in _PHASES:
            for change in own:
                if classify_path(change.path).kind not in phase:
                    continue
                for problem in judge.judge(change):
                    self._violation(commit, change.path, problem)
                    break
                else:
                    judge.accepted_edits[change.path] = change.new
                    self._warn_unreadable(commit, candidate, change)
        if judge.accepted_edits == own_edits:
            return candidate
        return base_after.apply(judge.accepted_edits)

    def _allowed_to_commit(self, commit: Commit, before: Snapshot, own: Sequence[FileChange]) -> bool:
        """The commit-level checks: a workspace to judge by, a known author, a good signature."""
        if not before.has_settings():
            self._violation(
                commit,
                None,
                _Problem(
                    ACTION_COMMIT,
                    RULE_NO_WORKSPACE,
                    "the state before this commit has no readable worktrail.yaml, so no change can be allowed",
                ),
            )
            return False
        person = before.person_for_email(commit.author_email)
        if person is None:
            self._violation(
                commit,
                None,
                _Problem(
                    ACTION_COMMIT,
                    RULE_UNKNOWN_AUTHOR,
                    f"author email {commit.author_email!r} is in no person's emails; "
                    f"its {len(own)} change(s) are not accepted",
                ),
            )
            return False
        if self.require_signed:
            problem = _signature_problem(commit, before, person)
            if problem is not None:
                self._violation(commit, None, problem)
                return False
        return True

    def _warn_unreadable(self, commit: Commit, candidate: Snapshot, change: FileChange) -> None:
        if change.new is None:
            return
        problems = candidate.problems(change.path)
        if problems:
            first = problems[0]
            self.result.warnings.append(
                f"{self._label(change.path)}: unreadable after commit {commit.id[:12]} "
                f"(line {first.loc.line}: {first.message}); it counts as removed until fixed"
            )


def _signature_problem(commit: Commit, before: Snapshot, person: str) -> _Problem | None:
    sig = commit.signature
    if sig is None or sig.status != "G":
        status = sig.status if sig is not None else "N"
        what = {"N": "has no signature", "B": "has a bad signature", "E": "has a signature that cannot be checked"}
        return _Problem(
            ACTION_COMMIT,
            RULE_SIGNATURE,
            f"the commit {what.get(status, f'has no good signature (status {status})')} "
            "from a key of the allowed-signers file",
        )
    if not sig.fingerprint.startswith("SHA256:"):
        return _Problem(
            ACTION_COMMIT, RULE_SIGNATURE, "only SSH signatures checked against the allowed-signers file count"
        )
    signer = before.person_for_email(sig.signer)
    if signer != person and normalize_email(sig.signer) != normalize_email(commit.author_email):
        return _Problem(
            ACTION_COMMIT,
            RULE_SIGNATURE,
            f"signed by {sig.signer!r}, who is not the author {person}",
        )
    return None


# ---------------------------------------------------------------------------------------- entry point


def _check_signers_file(workspace: Path, path: Path) -> Path:
    full = path.expanduser().resolve()
    if not full.is_file():
        raise AuditUsageError(f"--allowed-signers {path}: no such file")
    try:
        repo: Repository | None = find_repository(workspace)
    except GitError:
        repo = None
    if repo is not None:
        for folder in (repo.top.resolve(), repo.git_dir.resolve()):
            if full == folder or folder in full.parents:
                raise AuditUsageError(
                    f"--allowed-signers {path} is inside the repository ({folder}); anyone who can commit could "
                    "change it: keep it outside (e.g. in CI secrets)"
                )
    return full


def run_audit(
    workspace: Path,
    revision: str | None = None,
    *,
    require_signed: bool = False,
    allowed_signers: Path | None = None,
    use_cache: bool = True,
    parallel: bool = True,
) -> AuditResult:
    """Audit the workspace's history (or BASE..TIP); AuditUsageError for a refused request.

    A whole-history audit keeps each commit's results in the workspace's cache (see `buildcache`),
    under the tool's code, the options and the allowed signers' contents; the next audit of a
    history that grew by a push judges only the new commits. Nothing is kept when a file version
    was missing (a partial clone), so that warning is never lost. With `parallel` and a long
    history, a forked worker audits the later half of the commits (see `_audit_in_two`).
    """
    if require_signed and allowed_signers is None:
        raise AuditUsageError("--require-signed needs --allowed-signers FILE (kept outside the repository)")
    if allowed_signers is not None and not require_signed:
        raise AuditUsageError("--allowed-signers is used only with --require-signed")
    try:
        rev = parse_range(revision) if revision is not None else None
    except RevisionError as exc:
        raise AuditUsageError(f"invalid revision: {exc}") from None
    if rev is not None and rev.symmetric:
        raise AuditUsageError(f"invalid revision: {revision!r} is a symmetric range (A...B); use A..B")
    # Vet the signers file against the repository before git is ever told about it.
    signers = _check_signers_file(workspace, allowed_signers) if allowed_signers is not None else None
    # Everything the audit makes is dropped before the collector is back: enabled with it alive, the
    # collector's next pass would walk all of it (millions of objects at 10,000 tasks) once more.
    with collector_paused():
        return _audit_history(workspace, revision, rev, signers, require_signed, use_cache, parallel)


def _audit_history(
    workspace: Path,
    revision: str | None,
    rev: RevRange | None,
    signers: Path | None,
    require_signed: bool,
    use_cache: bool,
    parallel: bool,
) -> AuditResult:
    """`run_audit` once its options are checked."""
    try:
        source = HistorySource(workspace, rev, signers)
    except RevisionError as exc:
        raise AuditUsageError(str(exc)) from None
    except GitError as exc:
        return AuditResult(failure=str(exc))
    with source:
        if source.repo is not None and source.repo.shallow:
            result = AuditResult(warnings=list(source.warnings))
            result.failure = source.warnings[0]
            return result
        cache, key = _audit_cache(workspace, revision, require_signed, signers) if use_cache else (None, None)
        stored = cache.get("audit.pickle") if cache is not None else None
        kept = stored[1] if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == key else None
        memo = kept if isinstance(kept, AuditMemo) else AuditMemo()
        if parallel:
            memo = _audit_in_two(source, require_signed, memo) or memo
        auditor = Auditor(source, require_signed, memo)
        result = auditor.run()
        if cache is not None and not source.missing_blobs() and result.failure is None:
            with contextlib.suppress(OSError):
                cache.put("audit.pickle", (key, auditor.memo))
        return result


def _audit_part(source: HistorySource, require_signed: bool, skip: dict[str, KeptCommit], part: Sequence[str]) -> Any:
    """Audit the commits of `part` (passing over those in `skip`): their kept results, or None on any trouble."""
    auditor = Auditor(source, require_signed, AuditMemo(skip))
    result = auditor.run()
    found = {oid: auditor.memo.commits.get(oid) for oid in part}
    if result.failure is not None or source.missing_blobs() or any(v is None for v in found.values()):
        return None
    return found


def _audit_in_two(source: HistorySource, require_signed: bool, kept: AuditMemo) -> AuditMemo | None:
    """Every commit's results, the later half audited by a forked worker; None: audit in one process.

    The worker starts from the states of earlier commits as committed, assuming every change in
    them took effect (as in a clean history). When this process finds that a change it judged was
    rejected in a commit the later half starts from, the later half is judged again here.
    """
    from .render_pool import Forked, workers_available

    halves = source.halves(kept.commits) if workers_available() else None
    if halves is None:
        return None
    first, second = halves
    categories = Auditor(source, require_signed)._categories()

    def assumed(ids: Sequence[str]) -> dict[str, KeptCommit]:
        return {oid: KeptCommit(categories[oid], False, (), (), {}) for oid in ids}

    worker = Forked(
        lambda: _audit_part(source.for_another_process(), require_signed, {**kept.commits, **assumed(first)}, second)
    )
    mine = _audit_part(source, require_signed, {**kept.commits, **assumed(second)}, first)
    theirs = worker.result()
    if mine is None:
        return None
    later = set(second)
    graph = source.graph
    starts = {
        start
        for oid in second
        for parent in graph.by_id[oid].parents
        for start in (parent, *graph.bases.get((oid, parent), ()))
        if start not in later
    }
    if theirs is None or any(mine[oid].accepted for oid in starts if oid in mine):
        return AuditMemo({**kept.commits, **mine})
    return AuditMemo({**kept.commits, **mine, **theirs})


def _audit_cache(
    workspace: Path, revision: str | None, require_signed: bool, signers: Path | None
) -> tuple[BuildCache | None, tuple[Any, ...] | None]:
    """The cache of whole-history audits and the key of these options (None for a range: nothing kept)."""
    from .buildcache import BuildCache

    if revision is not None:
        return None, None
    allowed = hashlib.sha256(signers.read_bytes()).hexdigest() if signers is not None else None
    return BuildCache(workspace), ("audit", require_signed, allowed)


def render_text(result: AuditResult) -> str:
    """Violations and warnings for people, one per line, then a summary."""
    lines = []
    for v in result.violations:
        where = v.file or "(whole commit)"
        lines.append(f"{v.commit} {v.author}: {where}: {v.action}: {v.message} [{v.rule}]")
    for warning in result.warnings:
        if warning != result.failure:
            lines.append(f"warning: {warning}")
    if result.failure:
        lines.append(f"audit failed: {result.failure}")
    elif result.violations:
        commits = len({v.commit for v in result.violations})
        lines.append(f"{len(result.violations)} violation(s) in {commits} of {result.checked} checked commit(s)")
    else:
        lines.append(f"ok: {result.checked} commit(s) checked, no violations")
    return "\n".join(lines) + "\n"


def render_json(result: AuditResult) -> str:
    """Exactly one JSON object: violations, warnings, checked."""
    import json

    warnings = list(result.warnings)
    if result.failure and result.failure not in warnings:
        warnings.append(result.failure)
    payload = {"violations": [v.as_json() for v in result.violations], "warnings": warnings, "checked": result.checked}
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(result: AuditResult) -> str:
    """GitHub workflow annotations: one `::error` per violation, `::warning` per warning."""
    lines = []
    for v in result.violations:
        props = [f"title={_escape_property('worktrail audit: ' + v.rule)}"]
        if v.file:
            props.insert(0, f"file={_escape_property(v.file)}")
        lines.append(f"::error {','.join(props)}::{_escape_data(f'{v.commit} by {v.author}: {v.action}: {v.message}')}")
    for warning in result.warnings:
        lines.append(f"::warning title=worktrail audit::{_escape_data(warning)}")
    if result.failure and result.failure not in result.warnings:
        lines.append(f"::error title=worktrail audit::{_escape_data(result.failure)}")
    return "\n".join(lines) + ("\n" if lines else "")


def render(fmt: str, result: AuditResult) -> str:
    """The result in one of text, json, github."""
    if fmt == "json":
        return render_json(result)
    if fmt == "github":
        return render_github(result)
    return render_text(result)
