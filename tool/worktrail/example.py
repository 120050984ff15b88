"""`worktrail example DIR`: the sample workspace as a Git repository with a replayed, multi-author history.

The history is derived from the sample's files, so it follows the sample when the sample changes:
1. the owner commits the trusted start: `worktrail.yaml`, people, teams, project settings (every
   milestone `open`), the projects' files, the editor schemas, the sample's README and CI workflow;
2. every later commit is one `Writer` operation (the code path of the CLI's write commands) by the
   person the files name: tasks by `created_by`, comments by `author`, change requests by
   `requested_by` then decided by `decision.by`, time by `person`, expenses by `by`, sign-offs by
   `signed_off_by`, feedback by `author` and its response by `response.by`. Meeting minutes are
   written by the first attendee allowed to, tasks move through `in-progress` to their final status
   by their assignee (else creator, else the project manager) on dates taken from their activity,
   and the project manager marks milestones `ready` and re-plans the due dates of the open tasks of
   a milestone that an approved change request delays (`impact.due_shift_days`).

Author and committer are the same person, and dates are spread over the sample's own dates
(January to March 2026), at times of day in the workspace's time zone. The final tree equals the
sample byte for byte except:
- each file's `# yaml-language-server: $schema=` line points at the repository's own `.schemas/`;
- a change request decided before its tasks were created does not list them in `tasks` (in the
  sample: acme-website CR-1 and CR-2, acme-app CR-1), since SPEC §4 allows editing a request only
  while it is proposed; those tasks still name it in `change_request`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import re
import shutil
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import model as m
from .load import WORKSPACE_FILE, ParseCache, load_workspace
from .policy import Action, Policy
from .resources import schemas_dir
from .scaffold import SCHEMA_FOLDER
from .schema import SCHEMA_NAMES
from .writes import Outcome, WriteError, Writer, edit_yaml_text, git
from .yamlio import SCHEMA_COMMENT

__all__ = ["ExampleError", "ExampleResult", "Step", "build_example", "replay_steps", "sample_dir"]

_SOURCE_ROOT = Path(__file__).resolve().parents[2]
_SCHEMA_LINE = re.compile(r"^# yaml-language-server: \$schema=\S*?([a-z-]+)\.schema\.json[ \t]*$", re.MULTILINE)


class ExampleError(Exception):
    """The example cannot be built (target not empty, sample invalid, a replayed step refused)."""


@cache
def sample_dir() -> Path:
    """The sample workspace: package `worktrail.sample` in a wheel, `sample-workspace/` in a checkout."""
    spec = importlib.util.find_spec("worktrail.sample")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location)
            if (candidate / WORKSPACE_FILE).is_file():
                return candidate
    return _SOURCE_ROOT / "sample-workspace"


@dataclass(frozen=True)
class Step:
    """One replayed write: when, by whom, what (for messages), and the operation itself."""

    when: dt.datetime
    order: int
    actor: str
    label: str
    run: Callable[[Writer], Outcome]


@dataclass(frozen=True)
class ExampleResult:
    """What `build_example` made."""

    root: Path
    commits: int
    authors: dict[str, int]


# ------------------------------------------------------------------------------------ the start


def _rewrite_schema_line(text: str, rel: str) -> str:
    prefix = "../" * rel.count("/")
    return _SCHEMA_LINE.sub(
        lambda match: f"{SCHEMA_COMMENT} $schema={prefix}{SCHEMA_FOLDER}/{match.group(1)}.schema.json", text
    )


def _reset_milestones(data: Any) -> Any:
    for item in data.get("milestones") or []:
        if isinstance(item, dict):
            item["status"] = "open"
            item.pop("signed_off_by", None)
            item.pop("signed_off_on", None)
    return data


def _start_files(sample: Path) -> dict[str, bytes]:
    """The trusted start: settings, people, teams, project settings, documents, README, CI workflow."""
    files: dict[str, bytes] = {}
    for path in sorted(sample.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        rel = path.relative_to(sample).as_posix()
        parts = rel.split("/")
        record = parts[0] in ("people", "teams") or rel == WORKSPACE_FILE
        project_setting = len(parts) == 3 and parts[0] == "projects" and parts[2] == "project.yaml"
        document = len(parts) >= 4 and parts[0] == "projects" and parts[2] == "files"
        if not (record or project_setting or document or rel == "README.md" or rel.startswith(".github/")):
            continue
        data = path.read_bytes()
        if record or project_setting or rel.endswith("files/index.yaml"):
            text = _rewrite_schema_line(data.decode("utf-8"), rel)
            if project_setting:
                text = edit_yaml_text(text, rel, _reset_milestones)
            data = text.encode("utf-8")
        files[rel] = data
    for name in SCHEMA_NAMES:
        files[f"{SCHEMA_FOLDER}/{name}.schema.json"] = (schemas_dir() / f"{name}.schema.json").read_bytes()
    return files


# ------------------------------------------------------------------------------------ the replay


def _minute(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


class _Planner:
    """Turns the final state of the sample into the steps that lead to it."""

    def __init__(self, ws: m.Workspace) -> None:
        self.ws = ws
        self.policy = Policy(ws)
        self.steps: list[Step] = []
        self.zone = _zone(ws)
        self.horizon = _horizon(ws, self.zone)

    def at(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        """A time of day in the workspace's time zone, so that recorded dates fall on `day`."""
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=self.zone)

    def add(self, when: dt.datetime, actor: str, label: str, run: Callable[[Writer], Outcome]) -> None:
        self.steps.append(Step(when, len(self.steps), actor, label, run))

    def manager(self, project: m.Project) -> str:
        """The project manager: an admin among the members, else an owner, else any manager."""
        managers = [p for p in self.ws.people.values() if p.is_manager and p.active]
        members = [p for p in managers if self.policy.is_member(p.id, project)] or managers
        if not members:
            raise ExampleError("the sample has no active owner or admin")
        return sorted(members, key=lambda p: (p.role != "admin", p.id))[0].id

    def first_allowed(self, candidates: Iterable[str | None], allowed: Callable[[str], bool], fallback: str) -> str:
        for candidate in candidates:
            if candidate is not None and candidate in self.ws.people and allowed(candidate):
                return candidate
        return fallback

    def plan(self) -> list[Step]:
        for project in self.ws.projects.values():
            self.project(project)
        return sorted(self.steps, key=lambda s: (s.when, s.order))

    def project(self, project: m.Project) -> None:
        pm = self.manager(project)
        decided: dict[str, dt.datetime] = {}
        for cr in project.changes:
            decided.update(self.change_request(project, cr, pm))
        replans = self.replans(project, decided)
        task_done: dict[str, dt.datetime] = {}
        for task in project.tasks:
            task_done[task.id] = self.task(project, task, pm, decided, replans)
        for cr in project.changes:
            if cr.status == "implemented":
                self.implement(project, cr, pm, decided, task_done)
        for meeting in project.meetings:
            self.meeting(project, meeting, pm)
        for index, entry in enumerate(project.time_entries):
            self.time(entry, index)
        for index, expense in enumerate(project.expenses):
            self.expense(expense, index)
        self.milestones(project, pm)
        for item in project.feedback:
            self.feedback(project, item)

    # -- change requests ----------------------------------------------------------------------

    def change_request(self, project: m.Project, cr: m.ChangeRequest, pm: str) -> dict[str, dt.datetime]:
        proposed = self.at(cr.requested_on, 10) + _minute(cr.number)
        # Tasks that name this request are linked when they are created; list only the others.
        listed = [
            t
            for t in cr.tasks
            if (task := project.task(t)) is not None
            and task.change_request != cr.id
            and task.created is not None
            and task.created <= cr.requested_on
        ]
        impact = cr.impact or m.Impact()

        def propose(w: Writer) -> Outcome:
            return w.cr_new(
                project.id,
                cr.title,
                cr.body,
                impact_hours=impact.hours,
                impact_cost=impact.cost,
                due_shift_days=impact.due_shift_days,
                tasks=listed,
                cr_id=cr.id,
            )

        self.add(proposed, cr.requested_by, f"propose {project.id}/{cr.id}", propose)
        out: dict[str, dt.datetime] = {}
        if cr.decision is not None and cr.status in ("approved", "rejected", "implemented"):
            decision = cr.decision
            when = max(self.at(decision.on, 11) + _minute(cr.number), proposed + _minute(1))
            approve = cr.status != "rejected"

            def decide(w: Writer) -> Outcome:
                return w.cr_decide(cr.id, approve, project_id=project.id, note=decision.note)

            self.add(when, decision.by, f"decide {project.id}/{cr.id}", decide)
            if approve:
                out[cr.id] = when
        elif cr.status == "withdrawn":
            day = min(cr.requested_on + dt.timedelta(days=7), max(self.horizon, cr.requested_on))
            actor = self.first_allowed(
                [cr.requested_by],
                lambda who: bool(self.policy.can_do(who, Action.EDIT_CR, dataclasses.replace(cr, status="proposed"))),
                pm,
            )
            self.add(
                max(self.at(day, 12), proposed + _minute(1)),
                actor,
                f"withdraw {project.id}/{cr.id}",
                lambda w: w.cr_withdraw(cr.id, project_id=project.id),
            )
        return out

    def implement(
        self,
        project: m.Project,
        cr: m.ChangeRequest,
        pm: str,
        decided: dict[str, dt.datetime],
        task_done: dict[str, dt.datetime],
    ) -> None:
        after = [task_done[t] for t in cr.tasks if t in task_done]
        start = decided.get(cr.id, self.at(cr.requested_on, 12))
        when = max([*after, start]) + _minute(30)
        approved = dataclasses.replace(cr, status="approved")
        actor = self.first_allowed(
            [cr.requested_by], lambda who: bool(self.policy.can_do(who, Action.IMPLEMENT_CR, approved)), pm
        )
        self.add(when, actor, f"implement {project.id}/{cr.id}", lambda w: w.cr_implement(cr.id, project_id=project.id))

    def replans(self, project: m.Project, decided: dict[str, dt.datetime]) -> dict[str, tuple[dt.date, dt.datetime]]:
        """Open tasks of a milestone delayed by an approved request: (due before the delay, when re-planned)."""
        out: dict[str, tuple[dt.date, dt.datetime]] = {}
        for cr in project.changes:
            shift = cr.impact.due_shift_days if cr.impact else None
            when = decided.get(cr.id)
            if not shift or when is None:
                continue
            milestones = {t.milestone for tid in cr.tasks if (t := project.task(tid)) is not None and t.milestone}
            for task in project.tasks:
                if (
                    task.milestone in milestones
                    and task.id not in cr.tasks
                    and task.id not in out
                    and task.due is not None
                    and task.created is not None
                    and task.created < when.date()
                    and task.status not in ("done", "cancelled")
                    and task.due - dt.timedelta(days=shift) >= task.created
                ):
                    out[task.id] = (task.due - dt.timedelta(days=shift), when + _minute(30 + len(out)))
        return out

    # -- tasks ----------------------------------------------------------------------------------

    def task(
        self,
        project: m.Project,
        task: m.Task,
        pm: str,
        decided: dict[str, dt.datetime],
        replans: dict[str, tuple[dt.date, dt.datetime]],
    ) -> dt.datetime:
        """Steps of one task and its comments; returns when it reached its final status."""
        created_day = task.created or project.start or self.horizon
        created = self.at(created_day, 9) + _minute(min(task.number, 480))
        gate = decided.get(task.change_request) if task.change_request else None
        first_comment = min((c.date for c in task.comments), default=None)
        if first_comment is not None and first_comment <= created:
            # Keep each comment's own date: the task must exist a minute before its first comment.
            created = first_comment - _minute(1)
        if gate is not None and gate.astimezone(self.zone).date() == created_day:
            created = max(created, gate + _minute(task.number % 30 + 1))
        creator = self.first_allowed(
            [task.created_by], lambda who: bool(self.policy.can_do(who, Action.CREATE_TASK, task)), pm
        )
        first_due = replans[task.id][0] if task.id in replans else task.due

        def create(w: Writer) -> Outcome:
            return w.task_new(
                project.id,
                task.title,
                assignee=task.assignee,
                subscribers=task.subscribers,
                due=first_due,
                estimate_hours=task.estimate_hours,
                priority=task.priority,
                tags=task.tags,
                milestone=task.milestone,
                deliverable=task.deliverable,
                change_request=task.change_request,
                attachments=task.attachments,
                hidden=task.hidden,
                visible_to=task.visible_to if task.hidden else (),
                body=task.body,
                task_id=task.id,
            )

        self.add(created, creator, f"create {task.id}", create)
        if task.id in replans and task.due is not None:
            due = task.due
            self.add(
                replans[task.id][1], pm, f"re-plan {task.id}", lambda w: w.task_set(task.id, {"due": due.isoformat()})
            )
        for comment in task.comments:
            self.comment(task, comment, created)
        return self.statuses(project, task, pm, created, gate)

    def comment(self, task: m.Task, comment: m.Comment, created: dt.datetime) -> None:
        when = max(comment.date, created + _minute(1))

        def add(w: Writer) -> Outcome:
            return w.comment_add(
                task.id,
                comment.body,
                hidden=comment.hidden,
                visible_to=comment.visible_to if comment.hidden else (),
                comment_id=comment.id,
            )

        self.add(when, comment.author, f"comment {task.id}/{comment.id}", add)

    def statuses(
        self, project: m.Project, task: m.Task, pm: str, created: dt.datetime, gate: dt.datetime | None
    ) -> dt.datetime:
        if task.status == "open":
            return created
        days = [e.date for e in project.time_entries if e.task == task.id]
        days += [x.date for x in project.expenses if x.task == task.id]
        days += [c.date.astimezone(self.zone).date() for c in task.comments]
        start_day = min(days) if days else created.date()
        end_day = max(days) if days else min(task.due or start_day, self.horizon)
        end_day = max(end_day, start_day)
        floor = max(created, gate or created) + _minute(2)
        # The assignee moves their own task; a cancellation is the creator's call.
        order = [task.created_by, task.assignee] if task.status == "cancelled" else [task.assignee, task.created_by]

        def allowed(who: str) -> bool:
            action = Action.SET_OWN_TASK_STATUS if who == task.assignee else Action.EDIT_TASK
            return bool(self.policy.can_do(who, action, task))

        actor = self.first_allowed(order, allowed, pm)
        when = max(self.at(start_day, 9, 30), floor)
        if task.status != "cancelled":
            self.add(when, actor, f"start {task.id}", lambda w: w.task_set(task.id, {"status": "in-progress"}))
        if task.status == "in-progress":
            return when
        end = max(self.at(end_day, 18), when + _minute(1))
        status = task.status
        self.add(end, actor, f"{status} {task.id}", lambda w: w.task_set(task.id, {"status": status}))
        return end

    # -- the rest -------------------------------------------------------------------------------

    def meeting(self, project: m.Project, meeting: m.Meeting, pm: str) -> None:
        actor = self.first_allowed(
            meeting.attendees, lambda who: bool(self.policy.can_do(who, Action.WRITE_MEETING, meeting)), pm
        )

        def add(w: Writer) -> Outcome:
            return w.meeting_add(
                project.id,
                meeting.title,
                meeting.date,
                meeting.body,
                attendees=meeting.attendees,
                decisions=meeting.decisions,
                hidden=meeting.hidden,
                visible_to=meeting.visible_to if meeting.hidden else (),
                meeting_id=meeting.id,
            )

        self.add(meeting.date + dt.timedelta(hours=1), actor, f"minutes {meeting.id}", add)

    def time(self, entry: m.TimeEntry, index: int) -> None:
        def log(w: Writer) -> Outcome:
            return w.time_log(
                entry.task, entry.hours, date=entry.date, note=entry.note, person=entry.person, billable=entry.billable
            )

        self.add(self.at(entry.date, 17) + _minute(index % 60), entry.person, f"time {entry.task}", log)

    def expense(self, expense: m.Expense, index: int) -> None:
        def add(w: Writer) -> Outcome:
            return w.expense_add(
                expense.project,
                expense.amount,
                expense.description,
                task_id=expense.task,
                date=expense.date,
                by=expense.by,
            )

        self.add(self.at(expense.date, 16) + _minute(index % 60), expense.by, f"expense {expense.project}", add)

    def milestones(self, project: m.Project, pm: str) -> None:
        for milestone in project.milestones:
            if milestone.status == "open":
                continue
            signed = milestone.signed_off_on if milestone.status == "signed-off" else None
            ready_day = min(d for d in (milestone.due, signed, self.horizon) if d is not None)
            ready = self.at(ready_day, 8)
            self.milestone(project, milestone.id, pm, ready, signed, milestone.signed_off_by)

    def milestone(
        self, project: m.Project, mid: str, pm: str, ready: dt.datetime, signed: dt.date | None, by: str | None
    ) -> None:
        self.add(ready, pm, f"ready {mid}", lambda w: w.milestone_set_status(project.id, mid, "ready"))
        if signed is not None and by is not None:
            when = max(self.at(signed, 16), ready + _minute(1))
            self.add(when, by, f"sign off {mid}", lambda w: w.milestone_sign_off(project.id, mid))

    def feedback(self, project: m.Project, item: m.Feedback) -> None:
        when = self.at(item.date, 17)

        def add(w: Writer) -> Outcome:
            return w.feedback_add(project.id, item.rating, item.body, milestone=item.milestone, feedback_id=item.id)

        self.add(when, item.author, f"feedback {item.id}", add)
        response = item.response
        if response is not None:
            self.add(
                max(self.at(response.date, 10), when + _minute(1)),
                response.by,
                f"respond {item.id}",
                lambda w: w.feedback_respond(project.id, item.id, response.text),
            )


def _zone(ws: m.Workspace) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(ws.settings.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _horizon(ws: m.Workspace, zone: dt.tzinfo) -> dt.date:
    """The latest date the sample records: its "today"."""
    days: list[dt.date] = []
    for project in ws.projects.values():
        days += [t.created for t in project.tasks if t.created]
        days += [c.date.astimezone(zone).date() for t in project.tasks for c in t.comments]
        days += [e.date for e in project.time_entries] + [x.date for x in project.expenses]
        days += [cr.requested_on for cr in project.changes]
        days += [cr.decision.on for cr in project.changes if cr.decision]
        days += [x.date.astimezone(zone).date() for x in project.meetings] + [f.date for f in project.feedback]
    return max(days) if days else dt.date(2026, 1, 1)


def replay_steps(ws: m.Workspace) -> list[Step]:
    """The writes that lead from the trusted start to `ws`, in time order."""
    return _Planner(ws).plan()


# ------------------------------------------------------------------------------------ building


def build_example(target: Path, sample: Path | None = None) -> ExampleResult:
    """Create `target` as a Git repository holding the sample workspace and its replayed history."""
    sample = sample or sample_dir()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ExampleError(f"{target} exists and is not an empty folder")
    loaded = load_workspace(sample)
    if loaded.workspace is None or loaded.errors:
        raise ExampleError(f"the sample workspace at {sample} does not validate; run `worktrail -C {sample} validate`")
    ws = loaded.workspace
    owners = sorted((p for p in ws.people.values() if p.role == "owner" and p.active and p.emails), key=lambda p: p.id)
    if not owners:
        raise ExampleError("the sample has no active owner with an email to make the first commit")
    steps = replay_steps(ws)
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    try:
        return _build(target.resolve(), sample, ws, owners[0], steps)
    except BaseException:
        # Half an example is no example: leave nothing behind.
        if created:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        raise


def _build(root: Path, sample: Path, ws: m.Workspace, owner: m.Person, steps: list[Step]) -> ExampleResult:
    git(root, "init", "--quiet", "--initial-branch=main")
    for rel, data in _start_files(sample).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    zone = _zone(ws)
    start = min([s.when.astimezone(zone) for s in steps] or [dt.datetime(2026, 1, 5, tzinfo=zone)])
    morning = dt.datetime.combine(start.date(), dt.time(8, 0), tzinfo=zone)
    first = min([morning, *(s.when - _minute(1) for s in steps)]).isoformat()
    identity = {"GIT_AUTHOR_NAME": owner.name, "GIT_AUTHOR_EMAIL": owner.emails[0]}
    identity |= {"GIT_COMMITTER_NAME": owner.name, "GIT_COMMITTER_EMAIL": owner.emails[0]}
    identity |= {"GIT_AUTHOR_DATE": first, "GIT_COMMITTER_DATE": first}
    git(root, "add", "--all", "--", ".")
    message = "workspace: settings, people, teams and projects (the trusted start)"
    git(root, "commit", "--quiet", "--no-verify", "-m", message, env=identity)
    authors: Counter[str] = Counter({owner.id: 1})
    cache = ParseCache()
    for step in steps:
        writer = Writer(root, step.actor, when=step.when, cache=cache, committer_is_author=True)
        try:
            outcome = step.run(writer)
        except WriteError as exc:
            raise ExampleError(f"replaying {step.label} as {step.actor} on {step.when:%Y-%m-%d %H:%M}: {exc}") from None
        if outcome.commit is None:
            raise ExampleError(f"replaying {step.label}: nothing was committed ({outcome.note})")
        authors[step.actor] += 1
    return ExampleResult(root=root, commits=sum(authors.values()), authors=dict(authors))
