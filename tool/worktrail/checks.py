"""Cross-file checks: references resolve, ids are unique, and SPEC §4's "Always" rules hold.

These run on a loaded workspace and only add findings; they never change the model. References to
a file that exists but failed to load are not reported again (its own error says what is wrong).
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections import Counter
from collections.abc import Iterable
from typing import Any

from . import model as m
from .findings import Finding, error, warning
from .identity import invisible_characters, normalize_email
from .load import LoadResult
from .model import Loc
from .render import UNSAFE_CHARACTERS
from .tree import DiskTree, Tree
from .yamlio import describe_path

GATED_STATUSES = frozenset({"in-progress", "review", "done"})
OPEN_CR_STATUSES = frozenset({"approved", "implemented"})
# What a document name may not hold (see site._safe_doc_path): what pages replace, tabs, line breaks.
_ODD_NAME = re.compile(f"{UNSAFE_CHARACTERS.pattern}|[\t\n]")


class _Checker:
    def __init__(self, result: LoadResult, ws: m.Workspace) -> None:
        self.result = result
        self.ws = ws
        self.findings: list[Finding] = []
        self.broken = result.broken
        self.tree: Tree = result.tree or DiskTree(result.root)

    def err(self, loc: Loc, code: str, message: str) -> None:
        self.findings.append(error(loc, code, message))

    def warn(self, loc: Loc, code: str, message: str) -> None:
        self.findings.append(warning(loc, code, message))

    def at(self, entity: Any, *path: str | int) -> Loc:
        return self.result.where(entity, *path)

    # -- references ---------------------------------------------------------------------------

    def person(self, value: str | None, entity: Any, *path: str | int) -> bool:
        """Report `value` unless it names a person; True when it does."""
        if value is None or value in self.broken:
            return value is not None
        if value in self.ws.people:
            return True
        hint = " (that is a team; a person is needed here)" if value in self.ws.teams else ""
        self.err(self.at(entity, *path), "ref.person", f"{describe_path(path)}: no person {value!r}{hint}")
        return False

    def party(self, value: str, entity: Any, *path: str | int) -> None:
        """A person or team id (members, visible_to, subscribers' teams, attendees)."""
        if value in self.ws.people or value in self.ws.teams or value in self.broken:
            return
        self.err(self.at(entity, *path), "ref.party", f"{describe_path(path)}: no person or team {value!r}")

    def people_list(self, values: Iterable[str], entity: Any, field: str) -> None:
        for index, value in enumerate(values):
            self.person(value, entity, field, index)

    def party_list(self, values: Iterable[str], entity: Any, field: str) -> None:
        for index, value in enumerate(values):
            self.party(value, entity, field, index)

    # -- whole workspace ----------------------------------------------------------------------

    def linked_folders(self) -> None:
        """Report data folders that are symbolic links: what they hold lies outside the workspace.

        Linked files are reported where they are read; a linked folder is reported here, so that
        validation (and so `build`) refuses a workspace that would read anything through one.
        """
        folders = ["people", "teams", "projects"]
        projects = self.tree.children("projects") if self.tree.kind("projects") == "dir" else []
        for name in projects:
            base = f"projects/{name}"
            if self.tree.kind(base) != "dir":
                continue  # the loader reports a linked project folder itself
            folders += [f"{base}/{entry}" for entry in ("tasks", "changes", "meetings", "time", "files", "feedback")]
            if self.tree.kind(f"{base}/tasks") == "dir":
                for task in self.tree.children(f"{base}/tasks"):
                    folders += [f"{base}/tasks/{task}", f"{base}/tasks/{task}/comments"]
        for rel in folders:
            if self.tree.kind(rel) == "link":
                self.err(
                    Loc(rel), "file.symlink", "a symbolic link to a folder; links are not followed: make it a folder"
                )

    def run(self) -> list[Finding]:
        self.linked_folders()
        self.settings()
        self.people_and_teams()
        self.quotas()
        keys: dict[str, m.Project] = {}
        for project in self.ws.projects.values():
            other = keys.get(project.key)
            if other is not None:
                self.err(
                    self.at(project, "key"),
                    "id.unique",
                    f"key: {project.key!r} is already the key of project {other.id!r}; task ids would clash",
                )
            keys[project.key] = project
            self.project(project)
        return self.findings

    def settings_at(self, *path: str) -> Loc:
        """Where a field of worktrail.yaml is (its document is read only to place a finding)."""
        doc = self.result.docs.get("worktrail.yaml")
        return doc.loc(path) if doc else self.ws.settings.loc

    def settings(self) -> None:
        settings = self.ws.settings
        if not _known_zone(settings.timezone):
            self.err(
                self.settings_at("timezone"),
                "value.timezone",
                f"timezone: {settings.timezone!r} is not a known IANA time zone (like Europe/Paris)",
            )
        for audience in settings.audiences:
            where = audience.loc or settings.loc
            if audience.team is not None and audience.team not in self.ws.teams and audience.team not in self.broken:
                self.err(where, "ref.team", f"audiences.{audience.name}: no team {audience.team!r}")
            if (
                audience.person is not None
                and audience.person not in self.ws.people
                and audience.person not in self.broken
            ):
                self.err(where, "ref.person", f"audiences.{audience.name}: no person {audience.person!r}")

    def people_and_teams(self) -> None:
        for ident in sorted(set(self.ws.people) & set(self.ws.teams)):
            self.err(
                self.ws.people[ident].loc,
                "id.unique",
                f"{ident!r} is both a person and a team; people and teams share one namespace",
            )
        # The first person (in file-name order) to list an address owns it; later ones are told whom.
        owners: dict[str, tuple[str, str]] = {}
        for person in self.ws.people.values():
            if person.team not in self.ws.teams and person.team not in self.broken:
                hint = " (that is a person)" if person.team in self.ws.people else ""
                self.err(self.at(person, "team"), "ref.team", f"team: no team {person.team!r}{hint}")
            for index, email in enumerate(person.emails):
                unseen = invisible_characters(email)
                if unseen:
                    self.err(
                        self.at(person, "emails", index),
                        "value.email",
                        f"emails[{index}]: {email!r} holds {', '.join(unseen)}, which cannot be seen; "
                        "write the address exactly as Git records it",
                    )
                other, first = owners.setdefault(normalize_email(email), (person.id, email))
                if other != person.id:
                    self.err(
                        self.at(person, "emails", index),
                        "id.email",
                        f"emails[{index}]: {email!r} is also an email of {other!r} ({first!r}); "
                        f"{person.id!r} and {other!r} cannot share it: each Git identity maps to one person "
                        "(compared ignoring the case of A-Z)",
                    )
        people_broken = any(self.tree.kind(f"people/{i}.yaml") is not None for i in self.broken)
        for team in self.ws.teams.values():
            if not people_broken and not any(p.team == team.id for p in self.ws.people.values()):
                self.warn(team.loc, "team.empty", f"team {team.id!r} has no members")

    def quotas(self) -> None:
        plan = self.ws.settings.plan
        if plan.paid_seats is None:
            return
        active = [p for p in self.ws.people.values() if p.active]
        paid = sorted(p.id for p in active if p.role in m.PAID_ROLES)
        readers = sorted(p.id for p in active if p.role == "reader")
        if len(paid) > plan.paid_seats:
            self.err(
                self.settings_at("plan"),
                "quota.paid",
                f"plan: {len(paid)} active people have paid roles (owner, admin, user) but paid_seats is {plan.paid_seats}: {', '.join(paid)}",
            )
        allowed = math.floor(plan.reader_ratio * plan.paid_seats)
        if len(readers) > allowed:
            self.err(
                self.settings_at("plan"),
                "quota.readers",
                f"plan: {len(readers)} active readers but reader_ratio x paid_seats allows {allowed}: {', '.join(readers)}",
            )

    # -- one project --------------------------------------------------------------------------

    def project(self, project: m.Project) -> None:
        ws = self.ws
        self.party_list(project.members, project, "members")
        if project.client is not None and project.client not in self.broken:
            team = ws.teams.get(project.client)
            if team is None:
                self.err(self.at(project, "client"), "ref.team", f"client: no team {project.client!r}")
            elif team.kind != "client":
                self.err(
                    self.at(project, "client"),
                    "ref.team",
                    f"client: team {project.client!r} is of kind {team.kind!r}, not 'client'",
                )
        if project.approvers is not None:
            for index, ident in enumerate(project.approvers):
                if self.person(ident, project, "approvers", index):
                    person = ws.people.get(ident)
                    if person is not None and person.role in ("reader", "guest"):
                        self.err(
                            self.at(project, "approvers", index),
                            "rule.approver",
                            f"approvers[{index}]: {ident!r} is a {person.role}; readers and guests can never approve",
                        )
        for index, terms in enumerate(project.scope.freelancer_terms):
            self.party(terms.for_, project, "scope", "freelancer_terms", index, "for")
        self.unique([d.id for d in project.scope.deliverables], project, ("scope", "deliverables"), "deliverable")
        self.unique([x.id for x in project.milestones], project, ("milestones",), "milestone")
        for index, milestone in enumerate(project.milestones):
            if milestone.signed_off_by is not None:
                self.person(milestone.signed_off_by, project, "milestones", index, "signed_off_by")
            if milestone.status == "signed-off" and (
                milestone.signed_off_by is None or milestone.signed_off_on is None
            ):
                self.err(
                    self.at(project, "milestones", index),
                    "rule.sign-off",
                    f"milestones[{index}]: a signed-off milestone needs signed_off_by and signed_off_on",
                )
        members = self.member_ids(project)
        files_root = f"projects/{project.id}/files"
        for task in project.tasks:
            self.task(project, task, members, files_root)
        for cr in project.changes:
            self.person(cr.requested_by, cr, "requested_by")
            if cr.decision is not None:
                self.person(cr.decision.by, cr, "decision", "by")
            elif cr.status in ("approved", "rejected", "implemented"):
                self.warn(
                    self.at(cr, "status"),
                    "rule.decision",
                    f"status: a change request that is {cr.status} should record its decision (decision: by, on)",
                )
            for index, task_id in enumerate(cr.tasks):
                if project.task(task_id) is None and task_id not in self.broken:
                    self.err(
                        self.at(cr, "tasks", index),
                        "ref.task",
                        f"tasks[{index}]: no task {task_id!r} in project {project.id!r}",
                    )
        self.unique([d.path for d in project.documents], None, (), "document path", docs=project.documents)
        for meeting in project.meetings:
            self.party_list(meeting.attendees, meeting, "attendees")
            self.party_list(meeting.visible_to, meeting, "visible_to")
        for entry in project.time_entries:
            self.person(entry.person, entry, "person")
            self.task_ref(project, entry.task, entry, "task")
        for expense in project.expenses:
            self.person(expense.by, expense, "by")
            if expense.task is not None:
                self.task_ref(project, expense.task, expense, "task")
        for document in project.documents:
            self.attachment(files_root, document.path, document, "path")
            self.party_list(document.visible_to, document, "visible_to")
        for item in project.feedback:
            self.person(item.author, item, "author")
            if item.milestone is not None and project.milestone(item.milestone) is None:
                self.err(
                    self.at(item, "milestone"),
                    "ref.milestone",
                    f"milestone: no milestone {item.milestone!r} in project {project.id!r}",
                )
            if item.response is not None:
                self.person(item.response.by, item, "response", "by")

    def member_ids(self, project: m.Project) -> set[str]:
        named = set(project.members)
        return {p.id for p in self.ws.people.values() if p.id in named or p.team in named}

    def unique(
        self, ids: list[str], entity: Any, path: tuple[str | int, ...], what: str, docs: tuple[m.Document, ...] = ()
    ) -> None:
        counts = Counter(ids)
        seen: set[str] = set()
        for index, ident in enumerate(ids):
            if counts[ident] > 1 and ident in seen:
                where = self.at(docs[index]) if docs else self.at(entity, *path, index)
                self.err(where, "id.unique", f"{what} {ident!r} appears more than once")
            seen.add(ident)

    def task_ref(self, project: m.Project, task_id: str, entity: Any, *path: str | int) -> m.Task | None:
        task = project.task(task_id)
        if task is None and task_id not in self.broken:
            elsewhere = self.ws.find_task(task_id)
            hint = f" (it belongs to project {elsewhere.project!r})" if elsewhere else ""
            self.err(
                self.at(entity, *path),
                "ref.task",
                f"{describe_path(path)}: no task {task_id!r} in project {project.id!r}{hint}",
            )
        return task

    def attachment(self, files_root: str, rel: str, entity: Any, *path: str | int) -> None:
        # Placed only when reported: a location reads the file's parsed document.
        def where() -> Loc:
            return self.at(entity, *path)

        parts = rel.split("/")
        # Never let a path or a link lead outside the project's files/ folder.
        if rel.startswith("/") or "\\" in rel or any(part in ("", ".", "..") for part in parts):
            self.err(
                where(),
                "ref.file",
                f"{describe_path(path)}: {rel!r} must be a plain path inside the project's files/ folder",
            )
            return
        # Sites do not publish hidden files, nor names that read differently from what they are.
        if any(part.startswith(".") for part in parts):
            self.err(where(), "ref.file", f"{describe_path(path)}: {rel!r} is a hidden file (a name starts with '.')")
            return
        if _ODD_NAME.search(rel):
            self.err(
                where(),
                "ref.file",
                f"{describe_path(path)}: {rel!r} holds a control character, tab, line break or direction override; "
                "rename the file",
            )
            return
        # The project's own folders count too: a linked files/ folder leads outside as surely.
        prefixes = files_root.split("/")
        chain = ["/".join(prefixes[: n + 1]) for n in range(len(prefixes))]
        chain += [f"{files_root}/{'/'.join(parts[: n + 1])}" for n in range(len(parts))]
        for current in chain:
            if self.tree.kind(current) == "link":
                self.err(
                    where(),
                    "ref.file",
                    f"{describe_path(path)}: {rel!r} goes through a symbolic link ({current}); links are not followed",
                )
                return
        kind = self.tree.kind(chain[-1])
        if kind != "file":
            problem = {
                None: f"no file {rel!r} in the project's files/ folder",
                "dir": f"{rel!r} is a folder, not a file",
            }.get(kind, f"{rel!r} is not a regular file but a FIFO, socket or device")
            self.err(where(), "ref.file", f"{describe_path(path)}: {problem}")
            return
        if rel == "index.yaml":
            self.err(
                where(), "ref.file", f"{describe_path(path)}: files/index.yaml is the documents index, not a document"
            )

    def task(self, project: m.Project, task: m.Task, members: set[str], files_root: str) -> None:
        ws = self.ws
        match = task.id.rsplit("-", 1)[0]
        if match != project.key:
            self.err(
                task.loc,
                "id.key",
                f"task id {task.id!r} does not use its project's key {project.key!r} (expected {project.key}-<n>)",
            )
        if task.assignee is not None and self.person(task.assignee, task, "assignee"):
            person = ws.people.get(task.assignee)
            if person is not None and person.role == "reader":
                self.err(
                    self.at(task, "assignee"),
                    "rule.reader-assignee",
                    f"assignee: {task.assignee!r} is a reader; readers are never assignees",
                )
            elif person is not None and person.role == "guest" and person.id not in members:
                self.err(
                    self.at(task, "assignee"),
                    "rule.guest-assignee",
                    f"assignee: guest {task.assignee!r} is not a member of project {project.id!r}; guests are assignees only in their projects",
                )
        self.people_list(task.subscribers, task, "subscribers")
        if task.created_by is not None:
            self.person(task.created_by, task, "created_by")
        self.party_list(task.visible_to, task, "visible_to")
        if task.visible_to and not task.hidden:
            self.warn(
                self.at(task, "visible_to"),
                "rule.visible-to",
                "visible_to has no effect unless the task is hidden: true",
            )
        if task.milestone is not None and project.milestone(task.milestone) is None:
            self.err(
                self.at(task, "milestone"),
                "ref.milestone",
                f"milestone: no milestone {task.milestone!r} in project {project.id!r}",
            )
        if task.deliverable is not None and task.deliverable not in {d.id for d in project.scope.deliverables}:
            self.err(
                self.at(task, "deliverable"),
                "ref.deliverable",
                f"deliverable: no deliverable {task.deliverable!r} in project {project.id!r}",
            )
        cr: m.ChangeRequest | None = None
        if task.change_request is not None:
            cr = project.change(task.change_request)
            broken = f"{project.id}/{task.change_request}" in self.broken
            if cr is None and not broken:
                self.err(
                    self.at(task, "change_request"),
                    "ref.change-request",
                    f"change_request: no change request {task.change_request!r} in project {project.id!r}",
                )
            if cr is not None and task.status in GATED_STATUSES and cr.status not in OPEN_CR_STATUSES:
                self.err(
                    self.at(task, "status"),
                    "rule.gated-status",
                    f"status: {task.status!r} needs change request {cr.id} approved or implemented, but it is {cr.status!r}",
                )
        after_baseline = project.baseline is not None and task.created is not None and task.created > project.baseline
        if after_baseline and (cr is None or cr.status not in OPEN_CR_STATUSES):
            self.warn(
                self.at(task, "created"),
                "rule.unapproved-scope",
                f"created: {task.id} was created after the baseline ({project.baseline}) "
                "without an approved change request: unapproved scope",
            )
        for index, rel in enumerate(task.attachments):
            self.attachment(files_root, rel, task, "attachments", index)
        for comment in task.comments:
            self.person(comment.author, comment, "author")
            self.party_list(comment.visible_to, comment, "visible_to")


def _known_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_workspace(result: LoadResult) -> list[Finding]:
    """All cross-file findings for a loaded workspace (none when settings could not be loaded)."""
    if result.workspace is None:
        return []
    return sorted(_Checker(result, result.workspace).run())
