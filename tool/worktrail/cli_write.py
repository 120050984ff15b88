"""Write commands (`task`, `comment`, `cr`, `meeting`, `time`, `expense`, `milestone`, `feedback`) and `example`.

Each command only parses its arguments and calls one `writes.Writer` operation; the library asks the
policy, writes, validates and commits. Exit codes: 0 done, 1 refused or failed (nothing changed),
2 usage error.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from .cli_common import EXIT_FINDINGS, fail, fail_usage
from .model import PRIORITIES

if TYPE_CHECKING:
    from .cli import Context
    from .writes import Outcome, Writer

F = TypeVar("F", bound=Callable[..., Any])

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _when(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | dt.datetime | None:
    """Option callback: a date or date-time, or a usage error saying what is expected."""
    if value is None:
        return None
    from .writes import UsageError, parse_when

    try:
        return parse_when(value)
    except UsageError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def actor_options(func: F) -> F:
    """--as PERSON and --no-commit, shared by every write command."""
    func = click.option("--no-commit", is_flag=True, help="Write and validate the files, but do not commit.")(func)
    return click.option(
        "--as",
        "as_person",
        metavar="PERSON",
        help="Act as this person id (default: the person whose emails include `git config user.email`).",
    )(func)


def date_option(func: F) -> F:
    """--date: when the change happened (recorded dates and the Git author date)."""
    return click.option(
        "--date",
        "when",
        callback=_when,
        metavar="DATE",
        help="When this happened (YYYY-MM-DD or a date-time): the dates recorded and the Git author date. Default: now.",
    )(func)


def _text(text: str | None, file: Path | None, what: str, required: bool = True) -> str:
    if text is not None and file is not None:
        _usage(f"give the {what} either as text or as a file, not both")
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _usage(f"cannot read {file}: {exc}")
    if text is None and required:
        _usage(f"give the {what} with --text or --file")
    return text or ""


def _usage(message: str) -> NoReturn:
    raise click.UsageError(message)


def _run(
    obj: Context,
    as_person: str | None,
    when: dt.date | dt.datetime | None,
    no_commit: bool,
    operation: Callable[[Writer], Outcome],
) -> None:
    """Run one write and report it; refusals and failures exit 1 with the reason, bad input exits 2."""
    from .writes import Refused, UsageError, WriteError, Writer

    root = obj.workspace()
    writer = Writer(root, as_person, when=when, commit=not no_commit)
    try:
        try:
            outcome = operation(writer)
        finally:
            # What this write cleaned up after an earlier, interrupted one: said even if this one fails.
            for line in writer.recovered:
                click.echo(f"worktrail: note: {line}", err=True)
    except Refused as exc:
        click.echo(f"worktrail: refused by the rule '{exc.rule}': {exc}", err=True)
        sys.exit(EXIT_FINDINGS)
    except UsageError as exc:
        fail_usage(str(exc))
    except WriteError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write the workspace: {exc}")
    for finding in outcome.warnings:
        click.echo(f"{finding}", err=True)
    for line in outcome.info:
        obj.info(f"note: {line}")
    if not outcome.paths:
        click.echo(f"{outcome.message}: {outcome.note}")
        return
    click.echo(outcome.message)
    for path in outcome.paths:
        obj.info(f"  wrote {path}")
    if outcome.commit is not None:
        obj.info(f"committed {outcome.commit[:12]} as {outcome.author}")
    else:
        obj.info(outcome.note)


# ------------------------------------------------------------------------------------ task


@click.group()
def task() -> None:
    """Create and change tasks.

    \b
    Example:
      worktrail task new acme-website --title "Cookie banner" --assignee ana
      worktrail task set WEB-12 status=review
    """


@task.command("new")
@click.argument("project")
@click.option("--title", required=True, help="The task's title.")
@click.option("--assignee", metavar="PERSON", help="Who does it.")
@click.option("--subscriber", "subscribers", multiple=True, metavar="PERSON", help="Who follows it (repeatable).")
@click.option("--due", callback=_when, metavar="DATE", help="Due date, YYYY-MM-DD.")
@click.option("--priority", type=click.Choice(PRIORITIES), help="Priority (default: normal).")
@click.option("--milestone", help="Milestone id of the project.")
@click.option("--deliverable", help="Deliverable id of the project.")
@click.option("--change-request", metavar="CR", help="The change request this task implements (CR-3).")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option("--estimate", type=float, help="Estimated hours.")
@click.option("--attachment", "attachments", multiple=True, metavar="PATH", help="A path under files/ (repeatable).")
@click.option("--body", help="The description (Markdown).")
@click.option("--body-file", type=_FILE, help="Read the description from this file.")
@click.option("--hidden", is_flag=True, help="Hide it from everyone but managers, assignee, creator, --visible-to.")
@click.option("--visible-to", multiple=True, metavar="ID", help="Person or team who also sees the hidden task.")
@actor_options
@date_option
@click.pass_obj
def task_new(
    obj: Context,
    project: str,
    title: str,
    assignee: str | None,
    subscribers: tuple[str, ...],
    due: dt.date | None,
    priority: str | None,
    milestone: str | None,
    deliverable: str | None,
    change_request: str | None,
    tags: tuple[str, ...],
    estimate: float | None,
    attachments: tuple[str, ...],
    body: str | None,
    body_file: Path | None,
    hidden: bool,
    visible_to: tuple[str, ...],
    as_person: str | None,
    no_commit: bool,
    when: dt.date | dt.datetime | None,
) -> None:
    """Create a task in PROJECT (next free number; created_by you, created today).

    \b
    Example:
      worktrail task new acme-website --title "Cookie banner" --assignee ana --due 2026-04-10
    """
    text = _text(body, body_file, "description", required=False)
    if isinstance(due, dt.datetime):
        due = due.date()

    def run(w: Writer) -> Outcome:
        return w.task_new(
            project,
            title,
            assignee=assignee,
            subscribers=subscribers,
            due=due,
            estimate_hours=estimate,
            priority=priority,
            tags=tags,
            milestone=milestone,
            deliverable=deliverable,
            change_request=change_request,
            attachments=attachments,
            hidden=hidden,
            visible_to=visible_to,
            body=text,
        )

    _run(obj, as_person, when, no_commit, run)


def _field_help() -> str:
    from .writes import TASK_FIELDS

    return "\n".join(f"  {name:<15} {what}" for name, what in TASK_FIELDS.items())


@task.command("set")
@click.argument("task_id", metavar="TASK")
@click.argument("assignments", nargs=-1, required=True, metavar="FIELD=VALUE...")
@actor_options
@date_option
@click.pass_obj
def task_set(
    obj: Context,
    task_id: str,
    assignments: tuple[str, ...],
    as_person: str | None,
    no_commit: bool,
    when: dt.date | dt.datetime | None,
) -> None:
    """Change fields of TASK; an empty VALUE removes an optional field.

    The assignee changing only the status of their task needs no more than that;
    any other change needs the right to edit the task.

    \b
    Fields: title, status, assignee, subscribers, due, estimate_hours, priority,
    tags, milestone, deliverable, change_request, attachments, hidden, visible_to
    (lists are comma-separated).

    \b
    Examples:
      worktrail task set WEB-12 status=review
      worktrail task set WEB-12 due=2026-04-03 priority=high
    """
    changes: dict[str, str] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            _usage(f"{item!r} is not FIELD=VALUE (e.g. status=review)")
        if name.strip() in changes:
            _usage(f"{name.strip()} is given twice")
        changes[name.strip()] = value
    _run(obj, as_person, when, no_commit, lambda w: w.task_set(task_id, changes))


@task.command("assign")
@click.argument("task_id", metavar="TASK")
@click.argument("person")
@actor_options
@date_option
@click.pass_obj
def task_assign(
    obj: Context, task_id: str, person: str, as_person: str | None, no_commit: bool, when: dt.date | dt.datetime | None
) -> None:
    """Give TASK to PERSON.

    \b
    Example:
      worktrail task assign WEB-12 leo
    """
    _run(obj, as_person, when, no_commit, lambda w: w.task_assign(task_id, person))


# ------------------------------------------------------------------------------------ comment


@click.group()
def comment() -> None:
    """Comment on tasks.

    \b
    Example:
      worktrail comment add WEB-12 --text "Deployed to staging."
    """


@comment.command("add")
@click.argument("task_id", metavar="TASK")
@click.option("--text", help="The comment (Markdown).")
@click.option("--file", "file", type=_FILE, help="Read the comment from this file.")
@click.option("--hidden", is_flag=True, help="Hide it from everyone but managers, you and --visible-to.")
@click.option("--visible-to", multiple=True, metavar="ID", help="Person or team who also sees the hidden comment.")
@click.option("--id", "comment_id", help="Comment id (default: the next free c<n> of the task).")
@actor_options
@date_option
@click.pass_obj
def comment_add(
    obj: Context,
    task_id: str,
    text: str | None,
    file: Path | None,
    hidden: bool,
    visible_to: tuple[str, ...],
    comment_id: str | None,
    as_person: str | None,
    no_commit: bool,
    when: dt.date | dt.datetime | None,
) -> None:
    """Add a comment by you on TASK.

    \b
    Example:
      worktrail comment add WEB-12 --text "Deployed to staging."
    """
    body = _text(text, file, "comment")
    _run(
        obj,
        as_person,
        when,
        no_commit,
        lambda w: w.comment_add(task_id, body, hidden=hidden, visible_to=visible_to, comment_id=comment_id),
    )


# ------------------------------------------------------------------------------------ change requests


@click.group()
def cr() -> None:
    """Propose, decide, implement and withdraw change requests.

    \b
    Example:
      worktrail cr new acme-website --title "Store locator" --impact-hours 38 --text "Why..."
      worktrail cr approve CR-3 --project acme-website
    """


@cr.command("new")
@click.argument("project")
@click.option("--title", required=True, help="What is asked for.")
@click.option("--impact-hours", type=float, help="Estimated extra hours.")
@click.option("--impact-cost", type=float, help="Estimated extra cost (workspace currency).")
@click.option("--due-shift-days", type=int, help="Days the due date moves.")
@click.option("--task", "tasks", multiple=True, metavar="TASK", help="An existing task it concerns (repeatable).")
@click.option("--text", help="Description and justification (Markdown).")
@click.option("--file", "file", type=_FILE, help="Read the description from this file.")
@actor_options
@date_option
@click.pass_obj
def cr_new(
    obj: Context,
    project: str,
    title: str,
    impact_hours: float | None,
    impact_cost: float | None,
    due_shift_days: int | None,
    tasks: tuple[str, ...],
    text: str | None,
    file: Path | None,
    as_person: str | None,
    no_commit: bool,
    when: dt.date | dt.datetime | None,
) -> None:
    """Propose a change request in PROJECT, requested by you.

    \b
    Example:
      worktrail cr new acme-website --title "Store locator" --impact-hours 38 --text "Why..."
    """
    body = _text(text, file, "description")

    def run(w: Writer) -> Outcome:
        return w.cr_new(
            project,
            title,
            body,
            impact_hours=impact_hours,
            impact_cost=impact_cost,
            due_shift_days=due_shift_days,
            tasks=tasks,
        )

    _run(obj, as_person, when, no_commit, run)


def _decide(approve: bool) -> click.Command:
    verb = "approve" if approve else "reject"

    @click.command(verb)
    @click.argument("ref", metavar="CR")
    @click.option("--project", help="The project, when several have this CR id (or write PROJECT/CR-3).")
    @click.option("--note", help="Why: recorded in decision.note.")
    @actor_options
    @date_option
    @click.pass_obj
    def decide(
        obj: Context,
        ref: str,
        project: str | None,
        note: str | None,
        as_person: str | None,
        no_commit: bool,
        when: dt.date | dt.datetime | None,
    ) -> None:
        _run(obj, as_person, when, no_commit, lambda w: w.cr_decide(ref, approve, project_id=project, note=note))

    decide.help = (
        f"{verb.capitalize()} a proposed change request (approvers only); decision: by you, today.\n\n"
        f'\b\nExample:\n  worktrail cr {verb} CR-3 --project acme-website --note "..."'
    )
    return decide


cr.add_command(_decide(True))
cr.add_command(_decide(False))


@cr.command("implement")
@click.argument("ref", metavar="CR")
@click.option("--project", help="The project, when several have this CR id.")
@actor_options
@date_option
@click.pass_obj
def cr_implement(
    obj: Context,
    ref: str,
    project: str | None,
    as_person: str | None,
    no_commit: bool,
    when: dt.date | dt.datetime | None,
) -> None:
    """Mark an approved change request implemented.

    \b
    Example:
      worktrail cr implement CR-1 --project acme-website
    """
    _run(obj, as_person, when, no_commit, lambda w: w.cr_implement(ref, project_id=project))


@cr.command("withdraw")
@click.argument("ref", metavar="CR")
@click.option("--project", help="The project, when several have this CR id.")
@actor_options
@date_option
@click.pass_obj
def cr_withdraw(
    obj: Context,
    ref: str,
    project: str | None,
    as_person: str | None,
    no_commit: bool,
    when: dt.date | dt.datetime | None,
) -> None:
    """Withdraw a change request that is still proposed (its requester or a manager).

    \b
    Example:
      worktrail cr withdraw CR-4 --project acme-website
    """
    _run(obj, as_person, when, no_commit, lambda w: w.cr_withdraw(ref, project_id=project))


# ------------------------------------------------------------------------------------ meeting


@click.group()
def meeting() -> None:
    """Write meeting minutes.

    \b
    Example:
      worktrail meeting add acme-website --title "Weekly" --date 2026-03-19T09:00:00Z --notes "..."
    """


@meeting.command("add")
@click.argument("project")
@click.option("--title", required=True, help="The meeting's title.")
@click.option(
    "--date",
    "date",
    callback=_when,
    required=True,
    metavar="DATETIME",
    help="When it took place (also the Git author date).",
)
@click.option("--attendee", "attendees", multiple=True, metavar="ID", help="Who attended (repeatable).")
@click.option("--decision", "decisions", multiple=True, help="What was agreed, one line (repeatable).")
@click.option("--hidden", is_flag=True, help="Hide the minutes from everyone but managers, attendees, --visible-to.")
@click.option("--visible-to", multiple=True, metavar="ID", help="Person or team who also sees hidden minutes.")
@click.option("--notes", help="The notes (Markdown).")
@click.option("--notes-file", type=_FILE, help="Read the notes from this file.")
@click.option("--id", "meeting_id", help="Minutes id (default: <date>-<title in lowercase words>).")
@actor_options
@click.pass_obj
def meeting_add(
    obj: Context,
    project: str,
    title: str,
    date: dt.date | dt.datetime,
    attendees: tuple[str, ...],
    decisions: tuple[str, ...],
    hidden: bool,
    visible_to: tuple[str, ...],
    notes: str | None,
    notes_file: Path | None,
    meeting_id: str | None,
    as_person: str | None,
    no_commit: bool,
) -> None:
    """Write the minutes of a meeting of PROJECT.

    \b
    Example:
      worktrail meeting add acme-website --title "Weekly" --date 2026-03-19T09:00:00Z \\
        --attendee tom --attendee karen --decision "Beta on May 15" --notes "..."
    """
    body = _text(notes, notes_file, "notes")

    def run(w: Writer) -> Outcome:
        return w.meeting_add(
            project,
            title,
            date,
            body,
            attendees=attendees,
            decisions=decisions,
            hidden=hidden,
            visible_to=visible_to,
            meeting_id=meeting_id,
        )

    _run(obj, as_person, date, no_commit, run)


# ------------------------------------------------------------------------------------ time and money


@click.group("time")
def time_group() -> None:
    """Log time.

    \b
    Example:
      worktrail time log WEB-12 3.5 --note "Preview deployments"
    """


@time_group.command("log")
@click.argument("task_id", metavar="TASK")
@click.argument("hours", type=float)
@click.option("--note", help="What was done.")
@click.option("--person", metavar="PERSON", help="Whose time (default: yours; others' only for managers).")
@click.option("--non-billable", is_flag=True, help="Not billed to the client.")
@actor_options
@date_option
@click.pass_obj
def time_log(
    obj: Context,
    task_id: str,
    hours: float,
    note: str | None,
    person: str | None,
    non_billable: bool,
    as_person: str | None,
    no_commit: bool,
    when: dt.date | dt.datetime | None,
) -> None:
    """Log HOURS on TASK (appended to time/YYYY-MM.yaml of its project; --date sets the day).

    \b
    Example:
      worktrail time log WEB-12 3.5 --note "Preview deployments" --date 2026-03-02
    """
    _run(
        obj,
        as_person,
        when,
        no_commit,
        lambda w: w.time_log(task_id, hours, note=note, person=person, billable=not non_billable),
    )


@click.group()
def expense() -> None:
    """Record expenses.

    \b
    Example:
      worktrail expense add acme-website 49 --description "Mapbox, March" --task WEB-25
    """


@expense.command("add")
@click.argument("project")
@click.argument("amount", type=float)
@click.option("--description", required=True, help="What the money was spent on.")
@click.option("--task", "task_id", metavar="TASK", help="The task it belongs to.")
@click.option("--by", metavar="PERSON", help="Who spent it (default: you; others' only for managers).")
@actor_options
@date_option
@click.pass_obj
def expense_add(
    obj: Context,
    project: str,
    amount: float,
    description: str,
    task_id: str | None,
    by: str | None,
    as_person: str | None,
    no_commit: bool,
    when: dt.date | dt.datetime | None,
) -> None:
    """Add an expense of AMOUNT to PROJECT's expenses.yaml (--date sets the day).

    \b
    Example:
      worktrail expense add acme-website 49 --description "Mapbox, March" --task WEB-25
    """
    _run(
        obj,
        as_person,
        when,
        no_commit,
        lambda w: w.expense_add(project, amount, description, task_id=task_id, by=by),
    )


# ------------------------------------------------------------------------------------ milestones


@click.group()
def milestone() -> None:
    """Mark milestones ready and sign them off.

    \b
    Example:
      worktrail milestone set-status acme-website beta ready
      worktrail milestone sign-off acme-website design
    """


@milestone.command("sign-off")
@click.argument("project")
@click.argument("milestone_id", metavar="MILESTONE")
@actor_options
@date_option
@click.pass_obj
def milestone_sign_off(
    obj: Context,
    project: str,
    milestone_id: str,
    as_person: str | None,
    no_commit: bool,
    when: dt.date | dt.datetime | None,
) -> None:
    """Sign off MILESTONE of PROJECT (approvers only): signed_off_by you, today.

    \b
    Example:
      worktrail milestone sign-off acme-website design
    """
    _run(obj, as_person, when, no_commit, lambda w: w.milestone_sign_off(project, milestone_id))


@milestone.command("set-status")
@click.argument("project")
@click.argument("milestone_id", metavar="MILESTONE")
@click.argument("status", type=click.Choice(["open", "ready"]))
@actor_options
@date_option
@click.pass_obj
def milestone_set_status(
    obj: Context,
    project: str,
    milestone_id: str,
    status: str,
    as_person: str | None,
    no_commit: bool,
    when: dt.date | dt.datetime | None,
) -> None:
    """Mark MILESTONE of PROJECT open or ready for sign-off (a project setting: managers only).

    \b
    Example:
      worktrail milestone set-status acme-website beta ready
    """
    _run(obj, as_person, when, no_commit, lambda w: w.milestone_set_status(project, milestone_id, status))


# ------------------------------------------------------------------------------------ feedback


@click.group()
def feedback() -> None:
    """Give feedback and respond to it.

    \b
    Example:
      worktrail feedback add acme-website --rating 5 --milestone design --text "Great work."
    """


@feedback.command("add")
@click.argument("project")
@click.option("--rating", type=click.IntRange(1, 5), required=True, help="From 1 (poor) to 5 (excellent).")
@click.option("--milestone", "milestone_id", metavar="MILESTONE", help="The milestone it is about.")
@click.option("--text", help="The feedback (Markdown).")
@click.option("--file", "file", type=_FILE, help="Read the feedback from this file.")
@click.option("--id", "feedback_id", help="Feedback id (default: <milestone>-feedback or <date>-<you>).")
@actor_options
@date_option
@click.pass_obj
def feedback_add(
    obj: Context,
    project: str,
    rating: int,
    milestone_id: str | None,
    text: str | None,
    file: Path | None,
    feedback_id: str | None,
    as_person: str | None,
    no_commit: bool,
    when: dt.date | dt.datetime | None,
) -> None:
    """Give feedback on PROJECT, as its author.

    \b
    Example:
      worktrail feedback add acme-website --rating 5 --milestone design --text "Great work."
    """
    body = _text(text, file, "feedback")
    _run(
        obj,
        as_person,
        when,
        no_commit,
        lambda w: w.feedback_add(project, rating, body, milestone=milestone_id, feedback_id=feedback_id),
    )


@feedback.command("respond")
@click.argument("project")
@click.argument("feedback_id", metavar="FEEDBACK")
@click.option("--text", help="The response.")
@click.option("--file", "file", type=_FILE, help="Read the response from this file.")
@actor_options
@date_option
@click.pass_obj
def feedback_respond(
    obj: Context,
    project: str,
    feedback_id: str,
    text: str | None,
    file: Path | None,
    as_person: str | None,
    no_commit: bool,
    when: dt.date | dt.datetime | None,
) -> None:
    """Respond to FEEDBACK of PROJECT (users and managers who see it).

    \b
    Example:
      worktrail feedback respond acme-website discovery-sign-off --text "Thank you!"
    """
    body = _text(text, file, "response")
    _run(obj, as_person, when, no_commit, lambda w: w.feedback_respond(project, feedback_id, body))


# ------------------------------------------------------------------------------------ example


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def example(directory: Path) -> None:
    """Create DIRECTORY as a Git repository holding the sample workspace and a replayed history.

    Every commit after the first is a role-checked write by the person it
    records, so `validate`, `audit` and the sites have real material.

    \b
    Example:
      worktrail example demo && worktrail -C demo validate
    """
    from .example import ExampleError, build_example
    from .writes import WriteError

    try:
        result = build_example(directory)
    except (ExampleError, WriteError, OSError) as exc:
        fail(str(exc))
    people = ", ".join(f"{who} {count}" for who, count in sorted(result.authors.items(), key=lambda kv: -kv[1]))
    click.echo(f"created {directory}: {result.commits} commits by {len(result.authors)} people ({people})")
    click.echo(f"next: worktrail -C {directory} validate")
