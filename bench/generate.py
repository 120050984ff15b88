"""`python bench/generate.py SIZE DIR`: a deterministic synthetic Worktrail workspace with a Git history.

The workspace has 10 projects, 200 people (internal, client and freelancer teams), SIZE tasks with
3 comments each (a tenth hidden, a tenth assigned to freelancer guests), time entries, expenses,
change requests, meetings, feedback and documents. Its history has at least two commits per task
(the creator adds the task; a project manager then records its comments, time and final status),
plus commits for change requests, meetings and feedback, so `worktrail audit` finds it clean.

The history is written with one `git fast-import` stream (thousands of commits in seconds), then
checked out. The same SIZE always gives the same files and the same commit ids.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_KEYS = ("ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA", "JULIET")
START = dt.datetime(2024, 1, 2, 8, 0, tzinfo=dt.UTC)
SPAN_DAYS = 720
_WORD_TEXT = (
    "homepage checkout banner payment search filter mobile layout editor review content migration "
    "analytics consent cookie header footer navigation store locator product category journal article "
    "newsletter signup accessibility contrast keyboard focus image gallery video caching latency deploy "
    "staging release rollback translation copy legal invoice export report chart budget dashboard login "
    "password session token audit backup database index query schema form validation error message"
)
WORDS = _WORD_TEXT.split()
VERBS = ("Fix", "Design", "Build", "Review", "Migrate", "Test", "Document", "Refactor", "Measure", "Plan")
FIRST = ("Ana", "Ben", "Chloé", "David", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Karen", "Leo", "Mei")
LAST = ("Costa", "Okafor", "Laurent", "Martin", "Petrova", "Schneider", "Walsh", "Nakamura", "Silva", "Dubois")
STATUSES = ("open", "in-progress", "review", "done", "done", "done", "cancelled")
PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")


@dataclass
class Person:
    ident: str
    name: str
    team: str
    role: str

    @property
    def email(self) -> str:
        return f"{self.ident}@bench.example"


@dataclass
class Project:
    ident: str
    key: str
    client: str
    freelancers: list[str]
    managers: list[str]
    users: list[str]
    client_users: list[str]
    client_people: list[str]
    documents: list[str] = field(default_factory=list)
    changes: dict[str, str] = field(default_factory=dict)  # CR id -> final status


@dataclass(order=True)
class Commit:
    when: dt.datetime
    order: int
    author: str = field(compare=False)
    message: str = field(compare=False)
    files: dict[str, bytes] = field(compare=False, default_factory=dict)
    # (path, line) appended to a YAML list file (time, expenses) at this commit.
    appends: list[tuple[str, str]] = field(compare=False, default_factory=list)


def _yaml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


class Generator:
    """Builds every file and commit of the synthetic workspace from one seeded random source."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.rng = random.Random(f"worktrail-bench-{size}")
        self.people: dict[str, Person] = {}
        self.projects: list[Project] = []
        self.commits: list[Commit] = []
        self.order = 0

    # -- helpers --------------------------------------------------------------------------------

    def words(self, count: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(count))

    def sentence(self) -> str:
        text = self.words(self.rng.randint(6, 14))
        return text[0].upper() + text[1:] + "."

    def commit(self, when: dt.datetime, author: str, message: str) -> Commit:
        self.order += 1
        made = Commit(when, self.order, author, message)
        self.commits.append(made)
        return made

    # -- people, teams, projects ----------------------------------------------------------------

    def make_people(self) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        teams = {
            "studio": ("Bench Studio", "internal", ""),
            "freelance-design": ("Design freelancers", "freelancer", ""),
            "freelance-dev": ("Development freelancers", "freelancer", ""),
        }
        for number in range(1, 11):
            teams[f"client-{number:02d}"] = (f"Client {number:02d} Ltd", "client", "")
        for ident, (name, kind, _) in teams.items():
            files[f"teams/{ident}.yaml"] = f"name: {name}\nkind: {kind}\n".encode()
        roles = ["owner"] * 2 + ["admin"] * 8 + ["user"] * 50
        for index, role in enumerate(roles, 1):
            self.add_person(f"in-{index:02d}", "studio", role)
        for client in range(1, 11):
            for index in range(1, 11):
                self.add_person(
                    f"c{client:02d}-{index:02d}", f"client-{client:02d}", "user" if index <= 3 else "reader"
                )
        for index in range(1, 41):
            self.add_person(f"fl-{index:02d}", "freelance-design" if index <= 20 else "freelance-dev", "guest")
        for person in self.people.values():
            lines = [f"name: {person.name}", f"team: {person.team}", f"role: {person.role}", "emails:"]
            lines.append(f"  - {person.email}")
            lines.append(f"title: {self.words(2).capitalize()}")
            if self.rng.random() < 0.6:
                lines.append(f'phone: "+33 1 {self.rng.randint(10, 99)} {self.rng.randint(10, 99)} 00 00"')
            if person.team == "studio" or person.role == "guest":
                lines.append(f"rate:\n  amount: {self.rng.choice((60, 75, 90, 120))}\n  per: hour")
            files[f"people/{person.ident}.yaml"] = ("\n".join(lines) + "\n").encode()
        return files

    def add_person(self, ident: str, team: str, role: str) -> None:
        name = f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)} {ident.upper()}"
        self.people[ident] = Person(ident, name, team, role)

    def make_projects(self) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        internal = [p for p in self.people.values() if p.team == "studio"]
        managers = [p.ident for p in internal if p.role in ("owner", "admin")]
        users = [p.ident for p in internal if p.role == "user"]
        per_project_docs = max(5, self.size // 100)
        for index, key in enumerate(PROJECT_KEYS):
            client = f"client-{index + 1:02d}"
            freelancers = sorted({f"fl-{(4 * index + j) % 40 + 1:02d}" for j in range(8)})
            client_people = [p.ident for p in self.people.values() if p.team == client]
            project = Project(
                ident=f"p{index + 1:02d}-{key.lower()}",
                key=key,
                client=client,
                freelancers=freelancers,
                managers=[managers[index % len(managers)], managers[(index + 1) % len(managers)]],
                users=users[index * 5 : index * 5 + 12] if index * 5 + 12 <= len(users) else users[-12:],
                client_users=[p for p in client_people if self.people[p].role == "user"],
                client_people=client_people,
            )
            self.projects.append(project)
            base = f"projects/{project.ident}"
            members = ["studio", client, *freelancers]
            milestones = "\n".join(
                f"  - id: m{m}\n    title: Milestone {m}, {self.words(3)}\n    due: {(START + dt.timedelta(days=180 * m)).date()}\n"
                f"    criteria:\n      - {self.sentence()}\n      - {self.sentence()}\n    status: open"
                for m in range(1, 5)
            )
            deliverables = "\n".join(
                f"    - id: d{d}\n      title: Deliverable {d}, {self.words(3)}\n      due: {(START + dt.timedelta(days=180 * d)).date()}"
                for d in range(1, 5)
            )
            files[f"{base}/project.yaml"] = (
                f"name: Project {key.capitalize()} for {client}\nkey: {key}\nstatus: active\n"
                f"members: {_list(members)}\nclient: {client}\nstart: {START.date()}\n"
                f"due: {(START + dt.timedelta(days=SPAN_DAYS + 30)).date()}\n"
                f"budget:\n  hours: {self.size * 2}\n  amount: {self.size * 150}\n"
                f"scope:\n  objectives:\n    - {self.sentence()}\n    - {self.sentence()}\n  deliverables:\n{deliverables}\n"
                f"  out_of_scope:\n    - {self.sentence()}\n  client_responsibilities:\n    - {self.sentence()}\n"
                f"  freelancer_terms:\n    - for: {freelancers[0]}\n      responsibilities:\n        - {self.sentence()}\n"
                f"      standards:\n        - {self.sentence()}\n      deadlines:\n        - {self.sentence()}\n"
                f"milestones:\n{milestones}\n"
                'communication:\n  cadence: weekly\n  weekday: tuesday\n  time: "10:00"\n  timezone: Europe/Paris\n'
                "  duration_minutes: 30\n  channel: Video call\n"
                f"description: |\n  {self.sentence()}\n\n  {self.sentence()}\n"
            ).encode()
            index_lines = []
            for number in range(1, per_project_docs + 1):
                path = f"docs/doc-{number:03d}.md"
                project.documents.append(path)
                files[f"{base}/files/{path}"] = f"# Document {number}\n\n{self.sentence()}\n".encode()
                entry = f"- path: {path}\n  title: Document {number}, {self.words(3)}\n  description: {self.sentence()}"
                if number % 10 == 0:
                    entry += f"\n  hidden: true\n  visible_to: [{project.users[0]}]"
                index_lines.append(entry)
            files[f"{base}/files/index.yaml"] = ("\n".join(index_lines) + "\n").encode()
            files[f"{base}/expenses.yaml"] = b"[]\n"
        return files

    def settings(self) -> bytes:
        freelancer = self.projects[0].freelancers[0]
        return (
            "name: Bench Agency\nlanguage: en\ncurrency: EUR\ntimezone: Europe/Paris\n"
            "plan:\n  paid_seats: 120\n  reader_ratio: 2\n"
            "audiences:\n  internal: {role: admin}\n  client: {team: client-01}\n"
            f"  freelancer: {{person: {freelancer}}}\n"
        ).encode()

    # -- records --------------------------------------------------------------------------------

    def changes(self) -> None:
        per_project = max(2, self.size // 200)
        for project in self.projects:
            approver = project.managers[0]
            for number in range(1, per_project + 1):
                cr = f"CR-{number}"
                when = START + dt.timedelta(days=self.rng.uniform(1, 60))
                requester = self.rng.choice(project.client_users)
                status = self.rng.choice(("approved", "approved", "implemented", "proposed", "rejected"))
                project.changes[cr] = status
                body = f"## Request\n\n{self.sentence()} {self.sentence()}\n\n## Justification\n\n{self.sentence()}\n"
                head = (
                    f"title: {self.words(4).capitalize()}\nrequested_by: {requester}\nrequested_on: {when.date()}\n"
                    f"impact:\n  hours: {self.rng.randint(4, 80)}\n  cost: {self.rng.randint(5, 80) * 100}\n"
                    f"  due_shift_days: {self.rng.randint(0, 10)}\n"
                )
                path = f"projects/{project.ident}/changes/{cr}.md"
                proposed = f"---\n{head}status: proposed\n---\n\n{body}".encode()
                self.commit(when, requester, f"{project.key}: propose {cr}").files[path] = proposed
                if status == "proposed":
                    continue
                decided_on = when + dt.timedelta(days=2)
                decision = "approved" if status != "rejected" else "rejected"
                decided = (
                    f'---\n{head}status: {decision}\ndecision:\n  by: {approver}\n  "on": {decided_on.date()}\n'
                    f"  note: {self.sentence()}\n---\n\n{body}"
                ).encode()
                self.commit(decided_on, approver, f"{project.key}: {decision} {cr}").files[path] = decided
                if status == "implemented":
                    done = decided.replace(b"status: approved", b"status: implemented", 1)
                    self.commit(decided_on + dt.timedelta(days=20), approver, f"{project.key}: {cr} implemented").files[
                        path
                    ] = done

    def tasks(self) -> None:
        for index in range(self.size):
            project = self.projects[index % len(self.projects)]
            number = index // len(self.projects) + 1
            self.task(project, number, START + dt.timedelta(days=SPAN_DAYS * index / self.size, minutes=index % 50))

    def task(self, project: Project, number: int, when: dt.datetime) -> None:
        rng = self.rng
        ident = f"{project.key}-{number}"
        creator = rng.choice(project.users + project.managers)
        kind = rng.random()
        hidden = kind < 0.1
        guest = 0.1 <= kind < 0.2
        assignee = rng.choice(project.freelancers) if guest else rng.choice(project.users)
        subscribers = sorted(set(rng.sample(project.client_people, 2)))
        if guest and rng.random() < 0.5:
            subscribers = sorted({*subscribers, rng.choice(project.freelancers)})
        status = rng.choice(STATUSES)
        change = None
        if project.changes and rng.random() < 0.05 and when > START + dt.timedelta(days=90):
            change = rng.choice(sorted(project.changes))
            if project.changes[change] not in ("approved", "implemented") and status in (
                "in-progress",
                "review",
                "done",
            ):
                status = "open"
        due = (when + dt.timedelta(days=rng.randint(5, 60))).date()
        head = [
            f"title: {rng.choice(VERBS)} {self.words(rng.randint(2, 5))}",
            "status: {status}",
            f"assignee: {assignee}",
            f"subscribers: {_list(subscribers)}",
            f"created_by: {creator}",
            f"created: {when.date()}",
            f"due: {due}",
            f"estimate_hours: {rng.randint(1, 40)}",
            f"priority: {rng.choice(PRIORITIES)}",
            f"tags: {_list(sorted(set(rng.sample(WORDS, 2))))}",
            f"milestone: m{rng.randint(1, 4)}",
            f"deliverable: d{rng.randint(1, 4)}",
        ]
        if change is not None:
            head.append(f"change_request: {change}")
        if rng.random() < 0.05:
            head.append(f"attachments: [{rng.choice(project.documents[:9])}]")
        if hidden:
            head.append("hidden: true")
            if rng.random() < 0.5:
                head.append(f"visible_to: [{rng.choice(project.client_people)}]")
        related = f"{project.key}-{rng.randint(1, number - 1)}" if number > 1 else "the kick-off"
        body = (
            f"{self.sentence()} {self.sentence()}\n\n## Acceptance\n\n"
            f"- {self.sentence()}\n- {self.sentence()}\n- follows {related}, see `{self.words(1)}.py`\n\n"
            f"{self.sentence()} **{self.words(2)}** and *{self.words(1)}*. {self.sentence()}\n"
        )
        template = "---\n" + "\n".join(head) + "\n---\n\n" + body
        path = f"projects/{project.ident}/tasks/{ident}.md"
        created = self.commit(when, creator, f"{ident}: new task")
        created.files[path] = template.replace("{status}", "open").encode()
        manager = project.managers[number % 2]
        later = when + dt.timedelta(days=rng.randint(1, 6), hours=rng.randint(1, 8))
        update = self.commit(later, manager, f"{ident}: {status}, comments and time")
        update.files[path] = template.replace("{status}", status).encode()
        authors = [assignee, rng.choice(project.client_users), rng.choice(project.users)]
        for offset, author in enumerate(authors, 1):
            moment = when + (later - when) * offset / 4
            front = f"author: {author}\ndate: {moment.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
            if rng.random() < 0.05:
                front += "hidden: true\n"
            text = f"---\n{front}---\n\n{self.sentence()} {self.sentence()}\n"
            if offset == 2:
                text += f"\nSee {related} and {ident}.\n"
            update.files[f"projects/{project.ident}/tasks/{ident}/comments/c{offset}.md"] = text.encode()
        logged = later.date()
        update.appends.append(
            (
                f"projects/{project.ident}/time/{logged:%Y-%m}.yaml",
                f"- date: {logged}\n  person: {assignee}\n  task: {ident}\n  hours: {rng.randint(1, 16) / 2}\n"
                f"  note: {_yaml_str(self.sentence())}\n  billable: {'true' if rng.random() < 0.8 else 'false'}\n",
            )
        )
        if rng.random() < 0.02:
            update.appends.append(
                (
                    f"projects/{project.ident}/expenses.yaml",
                    f"- date: {logged}\n  amount: {rng.randint(20, 900)}\n  description: {_yaml_str(self.sentence())}\n"
                    f"  by: {assignee}\n  task: {ident}\n",
                )
            )

    def meetings_and_feedback(self) -> None:
        per_project = max(2, self.size // 250)
        for project in self.projects:
            for number in range(per_project):
                when = START + dt.timedelta(days=SPAN_DAYS * (number + 0.5) / per_project, hours=2)
                writer = project.users[number % len(project.users)]
                attendees = sorted({writer, project.managers[0], *self.rng.sample(project.client_people, 2)})
                hidden = "hidden: true\n" if number % 7 == 3 else ""
                text = (
                    f"---\ndate: {when.strftime('%Y-%m-%dT%H:%M:%SZ')}\ntitle: Weekly {number + 1}\n"
                    f"attendees: {_list(attendees)}\ndecisions:\n  - {self.sentence()}\n  - {self.sentence()}\n"
                    f"{hidden}---\n\n## Notes\n\n{self.sentence()} {self.sentence()}\n"
                )
                meeting = f"{when.date()}-weekly-{number + 1}"
                self.commit(when, writer, f"{project.key}: minutes {meeting}").files[
                    f"projects/{project.ident}/meetings/{meeting}.md"
                ] = text.encode()
            for number in (1, 2):
                when = START + dt.timedelta(days=SPAN_DAYS * number / 3, hours=5)
                author = project.client_users[number % len(project.client_users)]
                text = (
                    f"---\nauthor: {author}\ndate: {when.date()}\nrating: {self.rng.randint(3, 5)}\nmilestone: m{number}\n"
                    f"---\n\n{self.sentence()} {self.sentence()}\n"
                )
                self.commit(when, author, f"{project.key}: feedback").files[
                    f"projects/{project.ident}/feedback/review-{number}.md"
                ] = text.encode()

    # -- history --------------------------------------------------------------------------------

    def build(self) -> None:
        base: dict[str, bytes] = {}
        base.update(self.make_people())
        base.update(self.make_projects())
        base["worktrail.yaml"] = self.settings()
        owner = "in-01"
        first = self.commit(START - dt.timedelta(days=1), owner, "Workspace, people, teams and projects")
        first.files.update(base)
        self.changes()
        self.tasks()
        self.meetings_and_feedback()
        self.commits.sort()

    def stream(self) -> Iterator[bytes]:
        """The fast-import stream: one commit after another on refs/heads/main."""
        lists: dict[str, list[str]] = {}
        for number, made in enumerate(self.commits, 1):
            person = self.people[made.author]
            stamp = int(made.when.timestamp())
            message = made.message.encode()
            who = f"{person.name} <{person.email}> {stamp} +0000\n".encode()
            parts = [
                b"commit refs/heads/main\n",
                f"mark :{number}\n".encode(),
                b"author " + who,
                b"committer " + who,
                f"data {len(message)}\n".encode() + message + b"\n",
            ]
            if number > 1:
                parts.append(f"from :{number - 1}\n".encode())
            files = dict(made.files)
            for path, line in made.appends:
                lines = lists.setdefault(path, [])
                lines.append(line)
                files[path] = "".join(lines).encode()
            for path in sorted(files):
                data = files[path]
                parts.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
            yield b"".join(parts)


def generate(size: int, target: Path) -> int:
    """Write the workspace for `size` tasks into `target` (new or empty); returns the number of commits."""
    if target.exists() and any(target.iterdir()):
        raise SystemExit(f"generate: {target} is not empty")
    target.mkdir(parents=True, exist_ok=True)
    generator = Generator(size)
    generator.build()
    env_config = ["-c", "core.autocrlf=false", "-c", "gc.auto=0"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(target)], check=True)
    process = subprocess.Popen(
        ["git", *env_config, "fast-import", "--quiet", "--done"], cwd=target, stdin=subprocess.PIPE
    )
    assert process.stdin is not None
    for chunk in generator.stream():
        process.stdin.write(chunk)
    process.stdin.write(b"done\n")
    process.stdin.close()
    if process.wait() != 0:
        raise SystemExit("generate: git fast-import failed")
    subprocess.run(["git", *env_config, "reset", "-q", "--hard", "main"], cwd=target, check=True)
    return len(generator.commits)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("size", type=int, help="number of tasks (e.g. 1000 or 10000)")
    parser.add_argument("directory", type=Path, help="folder to create (must be new or empty)")
    args = parser.parse_args(argv)
    if args.size < 10:
        parser.error("SIZE must be at least 10")
    commits = generate(args.size, args.directory)
    print(f"generated {args.size} tasks and {commits} commits in {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
