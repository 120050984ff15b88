"""`explain`: name a thing and a viewer, get the policy's verdict and the rule that decides it."""

from __future__ import annotations

import re

from . import model as m
from .policy import FieldRef, Policy, PolicyError, Verdict, describe, describe_viewer, parse_viewer

_TASK = re.compile(
    r"^(?:(?P<project>[a-z0-9][a-z0-9-]*)/)?(?P<task>[A-Z][A-Z0-9]*-[1-9][0-9]*)(?:/(?P<comment>[a-z0-9][a-z0-9-]*))?$"
)
_CR = re.compile(r"^(?:(?P<project>[a-z0-9][a-z0-9-]*)/)?(?P<cr>CR-[1-9][0-9]*)$")
_PREFIXED = re.compile(r"^(?:(?P<project>[a-z0-9][a-z0-9-]*)/)?(?P<kind>meeting|doc|feedback):(?P<name>.+)$")
_PERSON_FIELDS = ("name", "title", "team", "emails", "phone", "rate", "role", "sees")


class ExplainError(Exception):
    """The thing or the viewer does not name anything in the workspace."""


def _projects(ws: m.Workspace, name: str | None) -> list[m.Project]:
    if name is None:
        return list(ws.projects.values())
    project = ws.projects.get(name)
    if project is None:
        raise ExplainError(f"no project {name!r} (known: {', '.join(ws.projects) or 'none'})")
    return [project]


def _one(found: list[object], what: str) -> object:
    if not found:
        raise ExplainError(f"no {what}")
    if len(found) > 1:
        raise ExplainError(f"{what} is ambiguous: prefix it with its project, like PROJECT/{what}")
    return found[0]


def _from_path(ws: m.Workspace, text: str) -> str:
    """`projects/web/tasks/WEB-3.md` and friends to the short THING syntax."""
    parts = text.strip("/").split("/")
    if len(parts) >= 4 and parts[0] == "projects":
        project, folder = parts[1], parts[2]
        stem = parts[-1].rsplit(".", 1)[0]
        if folder == "tasks" and len(parts) == 4:
            return f"{project}/{stem}"
        if folder == "tasks" and len(parts) == 6 and parts[4] == "comments":
            return f"{project}/{parts[3]}/{stem}"
        if folder == "changes":
            return f"{project}/{stem}"
        if folder in ("meetings", "feedback"):
            return f"{project}/{folder.rstrip('s')}:{stem}"
        if folder == "files":
            return f"{project}/doc:{'/'.join(parts[3:])}"
    if len(parts) == 2 and parts[0] == "people":
        return f"person:{parts[1].rsplit('.', 1)[0]}"
    if len(parts) == 2 and parts[0] == "teams":
        return f"team:{parts[1].rsplit('.', 1)[0]}"
    if len(parts) == 3 and parts[0] == "projects" and parts[2] == "project.yaml":
        return f"project:{parts[1]}"
    if text == "worktrail.yaml":
        return "settings"
    return text


def resolve_thing(ws: m.Workspace, text: str) -> object:
    """The model object (or FieldRef) a THING argument names."""
    text = _from_path(ws, text.strip())
    if text == "settings":
        return ws.settings
    match = _CR.match(text)
    if match:
        changes = [p.change(match["cr"]) for p in _projects(ws, match["project"])]
        return _one([c for c in changes if c is not None], match["cr"])
    match = _TASK.match(text)
    if match:
        tasks = [p.task(match["task"]) for p in _projects(ws, match["project"])]
        task = _one([t for t in tasks if t is not None], match["task"])
        assert isinstance(task, m.Task)
        if match["comment"] is None:
            return task
        for comment in task.comments:
            if comment.id == match["comment"]:
                return comment
        raise ExplainError(f"no comment {match['comment']!r} on {task.id}")
    match = _PREFIXED.match(text)
    if match:
        projects = _projects(ws, match["project"])
        name, kind = match["name"], match["kind"]
        if kind == "meeting":
            return _one([x for p in projects for x in p.meetings if x.id == name], f"meeting:{name}")
        if kind == "feedback":
            return _one([x for p in projects for x in p.feedback if x.id == name], f"feedback:{name}")
        return _one([x for p in projects for x in p.documents if x.path == name], f"doc:{name}")
    kind, sep, name = text.partition(":")
    if sep and kind == "project":
        return _projects(ws, name)[0]
    if sep and kind == "team":
        team = ws.teams.get(name)
        if team is None:
            raise ExplainError(f"no team {name!r}")
        return team
    if sep and kind == "person":
        ident, dot, field = name.partition(".")
        person = ws.people.get(ident)
        if person is None:
            raise ExplainError(f"no person {ident!r}")
        if not dot:
            return person
        if field not in _PERSON_FIELDS:
            raise ExplainError(f"unknown person field {field!r} (known: {', '.join(_PERSON_FIELDS)})")
        return FieldRef(person, field)
    raise ExplainError(
        f"cannot tell what {text!r} names; use WEB-12, WEB-12/c1, CR-3, meeting:ID, doc:PATH, "
        "feedback:ID, project:ID, person:ID[.FIELD], team:ID, settings, or a record's file path"
    )


def explain_thing(ws: m.Workspace, thing_text: str, viewer_text: str) -> str:
    """A few lines: who the viewer is, what the thing is, the verdict and the deciding rule."""
    try:
        viewer = parse_viewer(ws, viewer_text)
    except PolicyError as exc:
        raise ExplainError(str(exc)) from None
    thing = resolve_thing(ws, thing_text)
    verdict: Verdict = Policy(ws).can_see(viewer, thing)
    answer = "SEES" if verdict.allowed else "does NOT see"
    return (
        f"viewer: {describe_viewer(ws, viewer)}\nthing:  {describe(thing)}\n{answer}: {verdict.rule}: {verdict.reason}"
    )
