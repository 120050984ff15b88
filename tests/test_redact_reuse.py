"""Redaction copies only what it changes: a task or comment the viewer sees whole is the loaded record itself.

The redacted view is the same as it was (equal records, field by field); only the copies of records
that hold nothing to redact are left out, which makes redaction of a large internal site cheap.
"""

from __future__ import annotations

import dataclasses

from tests.conftest import SAMPLE
from worktrail import model as m
from worktrail.policy import Policy
from worktrail.redact import View, default_audiences, redact
from worktrail.validate import validate_workspace


def _load() -> m.Workspace:
    report, result = validate_workspace(SAMPLE)
    assert report.errors == 0 and result.workspace is not None
    return result.workspace


def _views() -> tuple[m.Workspace, dict[str, View]]:
    ws = _load()
    policy = Policy(ws)
    return ws, {audience.name: redact(ws, audience, policy) for audience in default_audiences(ws)}


def test_a_task_and_comments_the_viewer_sees_whole_are_the_loaded_records_themselves() -> None:
    ws, views = _views()
    internal = views["internal"]
    for pid, project in internal.workspace.projects.items():
        loaded = {task.id: task for task in ws.projects[pid].tasks}
        for task in project.tasks:
            assert task is loaded[task.id]
            assert all(a is b for a, b in zip(task.comments, loaded[task.id].comments, strict=True))


def test_a_task_or_comment_with_anything_redacted_is_a_copy_and_the_loaded_record_is_untouched() -> None:
    ws, views = _views()
    copies = 0
    for name, view in views.items():
        if name == "internal":
            continue
        for pid, project in view.workspace.projects.items():
            loaded = {task.id: task for task in ws.projects[pid].tasks}
            for task in project.tasks:
                original = loaded[task.id]
                fields = dataclasses.fields(task)
                same = all(getattr(task, f.name) == getattr(original, f.name) for f in fields)
                # The record itself exactly when nothing of it was redacted; a copy otherwise.
                assert (task is original) == same
                if not same:
                    copies += 1
                for comment in task.comments:
                    first = next(c for c in original.comments if c.id == comment.id)
                    assert (comment is first) == (comment == first)
    assert copies > 0, "the sample has tasks whose people a client or freelancer may not see"
    # Redacting copied what it changed: the loaded workspace holds what a fresh load holds.
    assert ws == _load()
