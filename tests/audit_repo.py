"""A builder of fixture Git repositories for the history and audit tests.

`FixtureRepo` makes a repository in a temporary folder, writes a small valid workspace into it
(optionally in a sub-folder) and commits as any person, with the author and committer set per
commit. Nothing depends on the user's Git configuration: every call gets a clean environment.

People of the fixture workspace (team, role, email):
- olga (studio, owner), uma (studio, user), ivan (studio, user)
- carl (acme client, user: a default approver), rita (acme, reader)
- gus, gina (crew freelancers, guests)

Project web (key WEB): members studio, acme, gus, gina; client acme; default approvers olga and carl;
milestone `beta`. Tasks: WEB-1 (assigned to gus), WEB-2 (assigned to gina), WEB-3 (implements CR-1,
assigned to uma, open). CR-1 is proposed by carl. Time: gus logged 2 h on WEB-1 in January.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

EMAILS = {
    "olga": "olga@studio.test",
    "uma": "uma@studio.test",
    "ivan": "ivan@studio.test",
    "carl": "carl@acme.test",
    "rita": "rita@acme.test",
    "gus": "gus@crew.test",
    "gina": "gina@crew.test",
}
STRANGER = "mallory@elsewhere.test"

PEOPLE = {
    "olga": ("Olga Owner", "studio", "owner"),
    "uma": ("Uma User", "studio", "user"),
    "ivan": ("Ivan User", "studio", "user"),
    "carl": ("Carl Client", "acme", "user"),
    "rita": ("Rita Reader", "acme", "reader"),
    "gus": ("Gus Guest", "crew", "guest"),
    "gina": ("Gina Guest", "crew", "guest"),
}


def person_yaml(pid: str, role: str | None = None) -> str:
    name, team, default_role = PEOPLE[pid]
    return f"name: {name}\nteam: {team}\nrole: {role or default_role}\nemails: [{EMAILS[pid]}]\n"


def task_md(
    title: str,
    status: str = "open",
    *,
    assignee: str | None = None,
    created_by: str | None = None,
    change_request: str | None = None,
    hidden: bool = False,
    body: str = "",
) -> str:
    lines = ["---", f"title: {title}", f"status: {status}"]
    if assignee:
        lines.append(f"assignee: {assignee}")
    if created_by:
        lines.append(f"created_by: {created_by}")
    if change_request:
        lines.append(f"change_request: {change_request}")
    if hidden:
        lines.append("hidden: true")
    lines.append("---")
    return "\n".join(lines) + "\n" + (body or "Details to follow.\n")


def comment_md(author: str, date: str = "2026-02-10T10:00:00Z", body: str = "A comment.") -> str:
    return f"---\nauthor: {author}\ndate: {date}\n---\n{body}\n"


def cr_md(status: str = "proposed", decided_by: str | None = None, note: str | None = None) -> str:
    lines = [
        "---",
        "title: Add a blog",
        "requested_by: carl",
        "requested_on: 2026-02-01",
        f"status: {status}",
    ]
    if decided_by:
        lines += ["decision:", f"  by: {decided_by}", "  on: 2026-02-05"]
        if note:
            lines.append(f"  note: {note}")
    lines += ["tasks: [WEB-3]", "---", "We want a blog.", ""]
    return "\n".join(lines)


def project_yaml(
    milestone_status: str = "open", signed_off_by: str | None = None, members: str = "[studio, acme, gus, gina]"
) -> str:
    text = (
        "name: Website\n"
        "key: WEB\n"
        "status: active\n"
        f"members: {members}\n"
        "client: acme\n"
        "milestones:\n"
        "  - id: beta\n"
        "    title: Beta\n"
        "    due: 2026-03-01\n"
        f"    status: {milestone_status}\n"
    )
    if signed_off_by:
        text += f"    signed_off_by: {signed_off_by}\n    signed_off_on: 2026-03-01\n"
    return text


def time_yaml(*entries: tuple[str, str, str, float]) -> str:
    """Lines of (date, person, task, hours)."""
    out = ""
    for date, person, task, hours in entries:
        out += f"- date: {date}\n  person: {person}\n  task: {task}\n  hours: {hours}\n"
    return out


BASE_TIME = ("2026-01-12", "gus", "WEB-1", 2)

BASE_FILES: dict[str, str] = {
    "worktrail.yaml": "name: Audit fixture\nplan:\n  paid_seats: 10\n",
    "teams/studio.yaml": "name: Studio\nkind: internal\n",
    "teams/acme.yaml": "name: Acme\nkind: client\n",
    "teams/crew.yaml": "name: Crew\nkind: freelancer\n",
    **{f"people/{pid}.yaml": person_yaml(pid) for pid in PEOPLE},
    "projects/web/project.yaml": project_yaml(),
    "projects/web/tasks/WEB-1.md": task_md("Home page", assignee="gus", created_by="uma"),
    "projects/web/tasks/WEB-2.md": task_md("Contact form", assignee="gina", created_by="uma"),
    "projects/web/tasks/WEB-3.md": task_md("Blog", assignee="uma", created_by="olga", change_request="CR-1"),
    "projects/web/changes/CR-1.md": cr_md(),
    "projects/web/time/2026-01.yaml": time_yaml(BASE_TIME),
}


class FixtureRepo:
    """A Git repository in `root` whose workspace lives in `root / sub`."""

    def __init__(self, root: Path, sub: str = "") -> None:
        self.root = root
        self.sub = sub
        self.workspace = root / sub if sub else root
        self.clock = 0
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def env(self, author: str, committer: str | None = None) -> dict[str, str]:
        # A fixed, increasing clock keeps commit ids and the order of the history reproducible.
        self.clock += 1
        when = f"2026-02-{1 + self.clock // 24:02d}T{self.clock % 24:02d}:00:00+00:00"
        committer = committer or author
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            {
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_AUTHOR_NAME": author.split("@")[0].title(),
                "GIT_AUTHOR_EMAIL": author,
                "GIT_AUTHOR_DATE": when,
                "GIT_COMMITTER_NAME": committer.split("@")[0].title(),
                "GIT_COMMITTER_EMAIL": committer,
                "GIT_COMMITTER_DATE": when,
            }
        )
        return env

    def git(self, *args: str, author: str = "setup@fixture.test", committer: str | None = None) -> str:
        proc = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", *args],
            cwd=self.root,
            env=self.env(author, committer),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout.strip()

    def path(self, rel: str) -> Path:
        return self.workspace / rel

    def write(self, rel: str, text: str) -> None:
        path = self.path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def remove(self, rel: str) -> None:
        self.path(rel).unlink()

    def move(self, old: str, new: str) -> None:
        self.path(new).parent.mkdir(parents=True, exist_ok=True)
        self.path(old).rename(self.path(new))

    def write_base(self) -> None:
        for rel, text in BASE_FILES.items():
            self.write(rel, text)

    def commit(self, who: str, message: str, *, committer: str | None = None, allow_empty: bool = False) -> str:
        """Stage everything and commit with `who` (a person id of the fixture, or an email) as author."""
        author = EMAILS.get(who, who)
        self.git("add", "-A")
        extra = ["--allow-empty"] if allow_empty else []
        self.git("commit", "-q", "-m", message, *extra, author=author, committer=EMAILS.get(committer or "", committer))
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def checkout(self, *args: str) -> None:
        self.git("checkout", "-q", *args)

    def fork_side(self) -> None:
        """Branch "side" (gus puts WEB-1 up for review) off main, then a commit on main (uma retitles
        WEB-2); main stays checked out, ready to merge side."""
        self.checkout("-b", "side")
        self.write("projects/web/tasks/WEB-1.md", task_md("Home page", "review", assignee="gus", created_by="uma"))
        self.commit("gus", "Ready for review")
        self.checkout("main")
        self.write("projects/web/tasks/WEB-2.md", task_md("Contact form v2", assignee="gina", created_by="uma"))
        self.commit("uma", "Retitle")

    def merge(self, who: str, branch: str, message: str = "Merge") -> str:
        self.git(
            "merge", "-q", "--no-ff", "-m", message, branch, author=EMAILS.get(who, who), committer=EMAILS.get(who, who)
        )
        return self.head()


def base_repo(root: Path, sub: str = "") -> tuple[FixtureRepo, str]:
    """A repository whose first commit (by olga) holds the fixture workspace; returns it and that commit."""
    repo = FixtureRepo(root, sub)
    if sub:
        repo.root.joinpath("README.md").write_text("Not workspace data.\n", encoding="utf-8")
    repo.write_base()
    return repo, repo.commit("olga", "Start the workspace")
