"""Hostile text and workspaces full of it, for the output-safety and file-safety suites.

`SNIPPETS` are the classic ways to break out of an output format: markup, script, attribute
quotes, template syntax (Jinja, `${}`, Python `format`), dangerous link schemes, spreadsheet
formulas, iCalendar separators, control characters, direction overrides, zero-width and combining
characters. `hostile_text()` mixes them with arbitrary Unicode; `hostile_cases()` puts such texts in
every free-text field of a small workspace model, and `write_hostile_workspace` writes one as files.

Template syntax is written so that evaluating it would print `EVALUATED` (or `evaluated-*`), which
appears nowhere in the literal texts: finding it in an output means something ran it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from hypothesis import strategies as st

from worktrail import model as m
from worktrail.site import TrailEvent

# Evaluating any template syntax below yields one of these; the literal texts never contain them.
EVALUATED = ("EVALUATED", "evaluated-")

CONTROLS = (
    "".join(chr(c) for c in range(0x20) if c not in (0x09, 0x0A)) + "\x7f" + "".join(chr(c) for c in range(0x80, 0xA0))
)
DIRECTION = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f"

SNIPPETS: tuple[str, ...] = (
    '<script>alert("xss")</script>',
    "<SCRIPT SRC=//example.org/x.js></SCRIPT>",
    "</textarea></title></style></script><img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "' onmouseover='alert(1)' x='",
    '" autofocus onfocus="alert(1)',
    "<iframe src=javascript:alert(1)></iframe>",
    '<a href="javascript:alert(1)">link</a>',
    "<!-- a comment --><![CDATA[ data ]]><?php echo 1; ?>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "{{ 'EVALU' ~ 'ATED' }}",
    "{{ 7*7 }}{% raw %}{% endraw %}{# note #}",
    "{% if true %}evalu{% endif %}ated-jinja",
    "${'EVALU' + 'ATED'}",
    "#{'evalu' + 'ated-ruby'}",
    "{label} {0} {date} {site_name} %s %(name)s",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[tab](java\tscript:alert(1))",
    "[encoded](javascript%3Aalert(1))",
    "[entity](javascript&#58;alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[vb](vbscript:msgbox(1))",
    "<javascript:alert(2)>",
    "<data:text/html,<script>alert(1)</script>>",
    "![image](javascript:alert(3))",
    "![remote](https://example.org/pixel.png)",
    '[titled](https://example.org "a \\" onmouseover=alert(1) x=")',
    "&lt;escaped&gt; &amp; &#x3C;script&#x3E; &#0; &#x202e;",
    '=HYPERLINK("https://example.org","click")',
    "+1+2",
    "-2-3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    " =1+1",
    "a,b;c\\d\\n,e",
    CONTROLS,
    DIRECTION,
    INVISIBLE,
    "\u202egnp.exe",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 e\u0301 \u0915\u094d\u0937 \u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd",
    "\u2028\u2029\u0085",
    "\U0010fffd\U0001f600",
    "line one\nline two\n\n# heading\n\n```\ncode </pre>\n```\n",
    "\r\nwindows\r\nline\r",
)

# Arbitrary Unicode but lone surrogates, which no UTF-8 file can hold.
_ANY = st.text(st.characters(codec="utf-8"), max_size=12)


def hostile_text(min_size: int = 0) -> st.SearchStrategy[str]:
    """Snippets and arbitrary characters, concatenated (at least `min_size` characters)."""
    parts = st.lists(st.sampled_from(SNIPPETS) | _ANY, min_size=1, max_size=5).map("".join)
    return parts.filter(lambda text: len(text) >= min_size) if min_size else parts


def hostile_line() -> st.SearchStrategy[str]:
    """A hostile text that still has something printable (titles and names are never blank)."""
    return hostile_text().map(lambda text: f"T{text}")


DAY = dt.date(2026, 3, 2)
WHEN = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
EPOCH = 1772400000  # 2026-03-01 21:20 UTC: the dates above are upcoming deadlines


@dataclass
class HostileCase:
    """A workspace model whose every free-text field is hostile, with the trail events to show."""

    ws: m.Workspace
    events: list[TrailEvent]
    # Texts shown as plain text (not Markdown) on the internal site: each must appear there, escaped.
    plain: list[str] = field(default_factory=list)


@st.composite
def hostile_cases(draw: st.DrawFn) -> HostileCase:
    """One project with every kind of record, each free-text field hostile."""
    return build_case(lambda: draw(hostile_line()), lambda: draw(hostile_text()))


def snippet_case(size: int = 0) -> HostileCase:
    """The same workspace with every snippet in turn in each field (padded to `size` characters)."""
    texts = cycle(list(SNIPPETS))

    def text() -> str:
        value = next(texts)
        return value + "x" * (size - len(value)) if size > len(value) else value

    return build_case(text, text)


def build_case(make_line: Callable[[], str], make_body: Callable[[], str]) -> HostileCase:
    """The workspace of `hostile_cases`, with plain texts from `make_line` and Markdown from `make_body`."""
    plain: list[str] = []

    def line() -> str:
        text = make_line()
        plain.append(text)
        return text

    body = make_body
    teams = {
        "studio": m.Team(id="studio", name=line(), kind="internal"),
        "acme": m.Team(id="acme", name=line(), kind="client"),
        "crew": m.Team(id="crew", name=line(), kind="freelancer"),
    }
    people = {
        "olga": m.Person(
            id="olga",
            name=line(),
            team="studio",
            role="owner",
            emails=("olga@example.org",),
            title=line(),
            phone=line(),
            rate=m.Rate(80),
        ),
        "carl": m.Person(id="carl", name=line(), team="acme", role="user", title=line()),
        "gus": m.Person(id="gus", name=line(), team="crew", role="guest"),
    }
    comment = m.Comment(id="c1", project="web", task="WEB-1", author="gus", date=WHEN, body=body())
    task = m.Task(
        id="WEB-1",
        project="web",
        title=line(),
        status="in-progress",
        body=body(),
        assignee="gus",
        subscribers=("carl",),
        created_by="olga",
        created=DAY,
        due=DAY + dt.timedelta(days=10),
        tags=(line(),),
        milestone="beta",
        change_request="CR-1",
        attachments=("brief.md",),
        comments=(comment,),
    )
    other = m.Task(id="WEB-2", project="web", title=line(), status="open", body=body(), due=DAY + dt.timedelta(days=3))
    change = m.ChangeRequest(
        id="CR-1",
        project="web",
        title=line(),
        requested_by="carl",
        requested_on=DAY,
        status="approved",
        body=body(),
        impact=m.Impact(hours=4, cost=400, due_shift_days=2),
        decision=m.Decision(by="olga", on=DAY, note=line()),
        tasks=("WEB-1",),
    )
    meeting = m.Meeting(
        id="kickoff",
        project="web",
        date=WHEN,
        title=line(),
        body=body(),
        attendees=("olga", "carl"),
        decisions=(line(), line()),
    )
    project = m.Project(
        id="web",
        name=line(),
        key="WEB",
        status="active",
        members=("studio", "acme", "gus"),
        client="acme",
        start=DAY - dt.timedelta(days=30),
        due=DAY + dt.timedelta(days=90),
        budget=m.Budget(hours=100, amount=10000),
        scope=m.Scope(
            objectives=(line(),),
            deliverables=(m.Deliverable(id="site", title=line(), due=DAY + dt.timedelta(days=20)),),
            out_of_scope=(line(),),
            client_responsibilities=(line(),),
            freelancer_terms=(
                m.FreelancerTerms(for_="crew", responsibilities=(line(),), standards=(line(),), deadlines=(line(),)),
            ),
        ),
        baseline=DAY - dt.timedelta(days=20),
        milestones=(m.Milestone(id="beta", title=line(), due=DAY + dt.timedelta(days=15), criteria=(line(),)),),
        communication=m.Communication(
            cadence="weekly", weekday="monday", time="10:00", timezone="Europe/Paris", channel=line()
        ),
        description=body(),
        tasks=(task, other),
        changes=(change,),
        meetings=(meeting,),
        time_entries=(
            m.TimeEntry(project="web", date=DAY, person="gus", task="WEB-1", hours=2.5, note=line(), cost=200),
        ),
        expenses=(m.Expense(project="web", date=DAY, amount=12.5, description=line(), by="olga", task="WEB-1"),),
        documents=(m.Document(project="web", path="brief.md", title=line(), description=line()),),
        feedback=(
            m.Feedback(
                id="f1",
                project="web",
                author="carl",
                date=DAY,
                rating=4,
                body=body(),
                response=m.Response(by="olga", date=DAY, text=line()),
            ),
        ),
    )
    settings = m.Settings(
        name=line(),
        timezone="Europe/Paris",
        audiences=(m.Audience("internal", role="admin"), m.Audience("acme", team="acme")),
    )
    ws = m.Workspace(root="", settings=settings, people=people, teams=teams, projects={"web": project})
    events = [
        TrailEvent(
            when=WHEN,
            summary=line(),
            author=line(),
            project="web",
            entity="WEB-1",
            kind="task",
            message=body(),
            key="e1",
        ),
        TrailEvent(when=WHEN, summary=line(), author=line(), project="web", entity="CR-1", kind="change", key="e2"),
    ]
    return HostileCase(ws=ws, events=events, plain=plain)


# ------------------------------------------------------------------------------ as files on disk


def _dump(data: object) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)


def _markdown(front: dict[str, object], body: str) -> str:
    return f"---\n{_dump(front)}---\n{body}"


def write_hostile_workspace(root: Path, texts: Iterator[str]) -> None:
    """A valid workspace under `root` whose every free text is the next item of `texts`."""
    text = texts.__next__
    files: dict[str, str] = {
        "worktrail.yaml": _dump({"name": text(), "timezone": "Europe/Paris"}),
        "teams/studio.yaml": _dump({"name": text(), "kind": "internal"}),
        "teams/acme.yaml": _dump({"name": text(), "kind": "client"}),
        "people/olga.yaml": _dump(
            {"name": text(), "team": "studio", "role": "owner", "emails": ["olga@example.org"], "title": text()}
        ),
        "people/carl.yaml": _dump({"name": text(), "team": "acme", "role": "user", "phone": text()}),
        "projects/web/project.yaml": _dump(
            {
                "name": text(),
                "key": "WEB",
                "status": "active",
                "members": ["studio", "acme"],
                "client": "acme",
                "start": "2026-02-01",
                "description": text(),
                "scope": {
                    "objectives": [text()],
                    "deliverables": [{"id": "site", "title": text(), "due": "2026-03-20"}],
                },
                "milestones": [{"id": "beta", "title": text(), "due": "2026-03-15", "criteria": [text()]}],
                "communication": {"cadence": "weekly", "weekday": "monday", "time": "10:00", "channel": text()},
            }
        ),
        "projects/web/tasks/WEB-1.md": _markdown(
            {
                "title": text(),
                "status": "open",
                "assignee": "olga",
                "created_by": "olga",
                "created": "2026-02-02",
                "due": "2026-03-10",
                "tags": [text()],
                "attachments": ["brief.md"],
            },
            text(),
        ),
        "projects/web/tasks/WEB-1/comments/c1.md": _markdown(
            {"author": "carl", "date": "2026-02-03T10:00:00Z"}, text()
        ),
        "projects/web/changes/CR-1.md": _markdown(
            {
                "title": text(),
                "requested_by": "carl",
                "requested_on": "2026-02-04",
                "status": "approved",
                "decision": {"by": "olga", "on": "2026-02-05", "note": text()},
            },
            text(),
        ),
        "projects/web/meetings/kickoff.md": _markdown(
            {"date": "2026-02-06T10:00:00Z", "title": text(), "attendees": ["olga", "carl"], "decisions": [text()]},
            text(),
        ),
        "projects/web/time/2026-02.yaml": _dump(
            [{"date": "2026-02-07", "person": "olga", "task": "WEB-1", "hours": 2, "note": text()}]
        ),
        "projects/web/expenses.yaml": _dump(
            [{"date": "2026-02-08", "amount": 10, "description": text(), "by": "olga", "task": "WEB-1"}]
        ),
        "projects/web/files/index.yaml": _dump([{"path": "brief.md", "title": text(), "description": text()}]),
        "projects/web/files/brief.md": "# Brief\n",
        "projects/web/feedback/f1.md": _markdown(
            {
                "author": "carl",
                "date": "2026-02-09",
                "rating": 5,
                "response": {"by": "olga", "date": "2026-02-10", "text": text()},
            },
            text(),
        ),
    }
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8", newline="")


def cycle(texts: list[str]) -> Iterator[str]:
    """`texts` over and over, each time with a counter so that no two fields are equal."""
    for n, text in enumerate(itertools.cycle(texts)):
        yield f"F{n} {text}"
