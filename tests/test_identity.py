"""Identity (issue 5, point 5): which person a Git email is, by one rule used everywhere.

The rule (worktrail/identity.py): trim ASCII whitespace at both ends, compare ASCII letters A-Z
case-insensitively, and nothing fuzzier. Look-alikes (Cyrillic 'а', fullwidth '＠', the Kelvin sign,
'ſ', ligatures, zero-width or no-break spaces) are other addresses: never the same person. In a
people file an address must be written exactly (no surrounding spaces, nothing invisible), and no
two people may share one under the rule.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.audit_repo import BASE_FILES, EMAILS, base_repo, task_md
from worktrail import history, identity
from worktrail.audit import RULE_UNKNOWN_AUTHOR, run_audit
from worktrail.cli import main
from worktrail.history import Snapshot
from worktrail.load import load_tree
from worktrail.tree import MemoryTree
from worktrail.validate import validate_workspace
from worktrail.writes import person_for_email

CASES = Path(__file__).parent / "cases" / "base"
WEB1 = "projects/web/tasks/WEB-1.md"
GUS = EMAILS["gus"]  # gus@crew.test: a guest, assignee of WEB-1 in the fixture workspace

LOOK_ALIKES = {
    "cyrillic a": "\u0430na@example.com",
    "cyrillic e in the domain": "ana@\u0435xample.com",
    "fullwidth at sign": "ana\uff20example.com",
    "kelvin sign": "\u212aate@example.com",
    "long s": "\u017fam@example.com",
    "fi ligature": "\ufb01ona@example.com",
    "sharp s": "stra\u00dfe@example.com",
    "dotted capital i": "\u0130nes@example.com",
    "no-break space": "ana@example.com\u00a0",
    "zero-width space": "ana\u200b@example.com",
    "right-to-left override": "ana@example.com\u202e",
}
ASCII_TWINS = {
    "cyrillic a": "ana@example.com",
    "cyrillic e in the domain": "ana@example.com",
    "fullwidth at sign": "ana@example.com",
    "kelvin sign": "kate@example.com",
    "long s": "sam@example.com",
    "fi ligature": "fiona@example.com",
    "sharp s": "strasse@example.com",
    "dotted capital i": "ines@example.com",
    "no-break space": "ana@example.com",
    "zero-width space": "ana@example.com",
    "right-to-left override": "ana@example.com",
}


# ------------------------------------------------------------------------------------ the rule


@pytest.mark.parametrize(
    "variant",
    ["Ana@Example.COM", "ANA@EXAMPLE.COM", " ana@example.com", "ana@example.com  ", "\tAna@example.com\r\n"],
)
def test_addresses_differing_only_in_ascii_case_or_surrounding_spaces_are_the_same(variant: str) -> None:
    assert identity.same_email(variant, "ana@example.com")
    assert identity.normalize_email(variant) == "ana@example.com"


@pytest.mark.parametrize("name", sorted(LOOK_ALIKES))
def test_a_look_alike_is_never_the_same_address(name: str) -> None:
    assert not identity.same_email(LOOK_ALIKES[name], ASCII_TWINS[name])
    assert not identity.same_email(_ascii_upper(LOOK_ALIKES[name]), ASCII_TWINS[name])


def test_letters_beyond_ascii_keep_their_case_since_nothing_is_folded() -> None:
    assert not identity.same_email("\u00c9lodie@example.com", "\u00e9lodie@example.com")
    assert identity.same_email("\u00e9LODIE@example.com", "\u00e9lodie@EXAMPLE.com")


# ------------------------------------------------------------------------------------ one rule in three places

PEOPLE = {
    "ana": ["ana@example.com", "Ana.Work@Example.org"],
    "kate": ["kate@example.com"],
    "ines": ["ines@example.com", "\u00e9lodie@example.com"],
}


def people_files() -> dict[str, bytes]:
    files = {rel: text.encode() for rel, text in BASE_FILES.items() if not rel.startswith("people/")}
    for ident, emails in PEOPLE.items():
        listed = ", ".join(f'"{email}"' for email in emails)
        files[f"people/{ident}.yaml"] = (
            f"name: {ident.title()}\nteam: studio\nrole: reader\nemails: [{listed}]\n".encode()
        )
    return files


STATE = Snapshot.of_contents(Path("/nowhere"), people_files())
WORKSPACE = load_tree(MemoryTree(people_files()), Path("/nowhere")).workspace


def variants_of(email: str) -> st.SearchStrategy[str]:
    """The address with ASCII case flipped, spaces around it, or one character swapped for a look-alike."""
    swaps = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "@": "\uff20", "k": "\u212a", "s": "\u017f", "i": "\u0456"}

    @st.composite
    def variant(draw: st.DrawFn) -> str:
        chars = [c.upper() if c.isascii() and draw(st.booleans()) else c for c in email]
        if draw(st.booleans()):
            spots = [n for n, c in enumerate(email) if c.lower() in swaps]
            if spots:
                spot = draw(st.sampled_from(spots))
                chars[spot] = swaps[email[spot].lower()]
        padding = st.sampled_from(("", " ", "\t", "  ", "\u00a0", "\u200b"))
        return draw(padding) + "".join(chars) + draw(padding)

    return variant()


ALL_EMAILS = [email for emails in PEOPLE.values() for email in emails]


@settings(derandomize=True, deadline=None, max_examples=300)
@given(st.one_of(st.sampled_from(ALL_EMAILS).flatmap(variants_of), st.text(max_size=30)))
def test_history_audit_and_writes_map_every_address_to_the_same_person(address: str) -> None:
    assert WORKSPACE is not None
    expected = identity.owner_of(address, ((ident, emails) for ident, emails in PEOPLE.items()))
    assert history.normalize_email(address) == identity.normalize_email(address)
    assert STATE.person_for_email(address) == expected
    person = person_for_email(WORKSPACE, address)
    assert (person.id if person is not None else None) == expected
    # And the rule itself, written out independently: trimmed, A-Z lowered, the rest compared as is.
    wanted = _ascii_lower(address.strip(" \t\n\r\x0b\x0c"))
    owners = {_ascii_lower(email): ident for ident, emails in PEOPLE.items() for email in emails}
    assert expected == owners.get(wanted)


def _ascii_lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _ascii_upper(text: str) -> str:
    # str.upper() would turn 'ﬁ' into 'FI' and 'ß' into 'SS': exactly the folding the rule refuses.
    return "".join(chr(ord(c) - 32) if "a" <= c <= "z" else c for c in text)


# ------------------------------------------------------------------------------------ validation


def workspace_with(tmp_path: Path, people: dict[str, str]) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(CASES, root)
    for ident, text in people.items():
        (root / "people" / f"{ident}.yaml").write_text(text, encoding="utf-8")
    return root


def errors(root: Path) -> list[str]:
    report, _ = validate_workspace(root)
    assert report.exit_code() == (1 if report.errors else 0)
    return [str(f) for f in report.findings if f.severity == "error"]


def test_two_people_whose_emails_differ_only_by_case_is_an_error_naming_both(tmp_path: Path) -> None:
    root = workspace_with(
        tmp_path, {"zoe": "name: Zoe\nteam: studio\nrole: reader\nemails: [other@example.com, Olga@Example.COM]\n"}
    )
    assert errors(root) == [
        "people/zoe.yaml:4:29: error: emails[1]: 'Olga@Example.COM' is also an email of 'olga' "
        "('olga@example.com'); 'zoe' and 'olga' cannot share it: each Git identity maps to one person "
        "(compared ignoring the case of A-Z)"
    ]
    outcome = CliRunner().invoke(main, ["-C", str(root), "validate"])
    assert outcome.exit_code == 1 and "'zoe' and 'olga' cannot share it" in outcome.output


def test_every_further_claimant_of_an_address_is_told_its_first_owner(tmp_path: Path) -> None:
    third = "name: {0}\nteam: studio\nrole: reader\nemails: [OLGA@example.com]\n"
    root = workspace_with(tmp_path, {"pia": third.format("Pia"), "zoe": third.format("Zoe")})
    found = errors(root)
    assert [e.split(": error: ")[0] for e in found] == ["people/pia.yaml:4:10", "people/zoe.yaml:4:10"]
    assert "'pia' and 'olga' cannot share it" in found[0] and "'zoe' and 'olga' cannot share it" in found[1]


def test_one_person_may_list_the_same_address_in_two_cases(tmp_path: Path) -> None:
    root = workspace_with(
        tmp_path, {"olga": "name: Olga\nteam: studio\nrole: owner\nemails: [olga@example.com, OLGA@example.com]\n"}
    )
    assert errors(root) == []


@pytest.mark.parametrize("name", ["cyrillic a", "kelvin sign", "long s", "fi ligature", "sharp s"])
def test_look_alike_addresses_of_two_people_are_two_identities_not_a_collision(tmp_path: Path, name: str) -> None:
    people = {
        "zoe": f"name: Zoe\nteam: studio\nrole: reader\nemails: [{ASCII_TWINS[name]}]\n",
        "pia": f"name: Pia\nteam: studio\nrole: reader\nemails: [{LOOK_ALIKES[name]}]\n",
    }
    assert errors(workspace_with(tmp_path, people)) == []


EMAIL_HINT = "an email address like ana@example.com: one '@', no spaces (not even around it), no '<' or '>'"


@pytest.mark.parametrize(
    ("value", "column"),
    [
        ('" olga@example.com"', 10),
        ('"olga@example.com "', 10),
        ('"olga@example.com\\t"', 10),
        ('"olga @example.com"', 10),
        ('"olga@example.com\u00a0"', 10),
        ('"olga\u3000@example.com"', 10),
        ("olga\uff20example.com", 10),
        ("Olga <olga@example.com>", 10),
        ("olga@@example.com", 10),
    ],
)
def test_an_email_with_spaces_or_no_plain_at_sign_is_refused_with_a_clear_message(
    tmp_path: Path, value: str, column: int
) -> None:
    root = workspace_with(tmp_path, {"olga": f"name: Olga\nteam: studio\nrole: owner\nemails: [{value}]\n"})
    found = errors(root)
    assert len(found) == 1 and found[0].startswith(f"people/olga.yaml:4:{column}: error: emails[0]: the text "), found
    assert found[0].endswith(f"is not {EMAIL_HINT}")


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        ('"olga\\u200b@example.com"', "U+200B"),
        ('"olga@example.com\\u202e"', "U+202E"),
        ('"ol\\x01ga@example.com"', "U+0001"),
        ('"\\u2066olga@example.com\\u2069"', "U+2066, U+2069"),
        ('"olga\\ufeff@example.com"', "U+FEFF"),
    ],
)
def test_an_email_holding_invisible_characters_is_refused_naming_them(tmp_path: Path, value: str, codes: str) -> None:
    root = workspace_with(tmp_path, {"olga": f"name: Olga\nteam: studio\nrole: owner\nemails: [{value}]\n"})
    found = errors(root)
    assert len(found) == 1, found
    assert found[0].startswith("people/olga.yaml:4:10: error: emails[0]: ")
    assert found[0].endswith(f"holds {codes}, which cannot be seen; write the address exactly as Git records it")


# ------------------------------------------------------------------------------------ audit


def test_audit_accepts_an_author_email_in_other_ascii_case(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(WEB1, task_md("Home page", "in-progress", assignee="gus", created_by="uma"))
    repo.commit(GUS.upper(), "Start WEB-1")
    assert run_audit(repo.workspace).violations == []


def test_audit_trims_spaces_a_raw_commit_object_puts_around_the_author_email(tmp_path: Path) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(WEB1, task_md("Home page", "in-progress", assignee="gus", created_by="uma"))
    repo.git("add", "-A")
    # Git trims the email when it makes a commit; a hand-made commit object keeps the spaces.
    tree, parent = repo.git("write-tree"), repo.head()
    raw = (
        f"tree {tree}\nparent {parent}\nauthor Gus <  {GUS}  > 1767225600 +0000\n"
        f"committer Gus <{GUS}> 1767225600 +0000\n\nStart WEB-1\n"
    )
    oid = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo.root,
        input=raw,
        capture_output=True,
        text=True,
        check=True,
        env=repo.env(GUS),
    ).stdout.strip()
    repo.git("update-ref", "HEAD", oid)
    repo.git("reset", "-q", "--hard")
    assert repo.git("log", "-1", "--format=[%ae]") == f"[  {GUS}  ]"
    assert run_audit(repo.workspace).violations == []


@pytest.mark.parametrize(
    "author",
    [
        "gus@cr\u0435w.test",  # Cyrillic 'е'
        "gus\uff20crew.test",  # fullwidth '＠'
        "gu\u017f@crew.test",  # long s: str.casefold() would make it 'gus@crew.test'
        "gus@crew.test\u200b",  # zero-width space
        "gus@crew.test\u00a0",  # no-break space: not trimmed
    ],
)
def test_audit_reports_a_look_alike_author_as_unknown_and_accepts_none_of_its_changes(
    tmp_path: Path, author: str
) -> None:
    repo, _ = base_repo(tmp_path / "repo")
    repo.write(WEB1, task_md("Home page", "in-progress", assignee="gus", created_by="uma"))
    forged = repo.commit(author, "Start WEB-1 as a look-alike")
    result = run_audit(repo.workspace)
    assert [(v.commit, v.rule) for v in result.violations] == [(forged, RULE_UNKNOWN_AUTHOR)]
    assert "is in no person's emails" in result.violations[0].message


# ------------------------------------------------------------------------------------ writes


@pytest.fixture
def writes_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("GIT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    repo, _ = base_repo(tmp_path / "repo")
    repo.git("config", "user.name", "Someone")
    return repo.root


def git_out(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("configured", [GUS.upper(), f"  {GUS}  ", "Gus@Crew.Test"])
def test_writes_act_as_the_person_whose_email_git_config_names_in_any_ascii_case(
    writes_repo: Path, configured: str
) -> None:
    git_out(writes_repo, "config", "user.email", configured)
    outcome = CliRunner().invoke(main, ["-C", str(writes_repo), "task", "set", "WEB-1", "status=in-progress"])
    assert outcome.exit_code == 0, outcome.output
    # The commit names the person by the address written in their file, not the configured spelling.
    assert git_out(writes_repo, "log", "-1", "--format=%ae") == GUS


@pytest.mark.parametrize("configured", ["gus@cr\u0435w.test", "gus\uff20crew.test", "gu\u017f@crew.test"])
def test_writes_refuse_a_look_alike_git_email_and_change_nothing(writes_repo: Path, configured: str) -> None:
    git_out(writes_repo, "config", "user.email", configured)
    before = (writes_repo / WEB1).read_bytes(), git_out(writes_repo, "rev-parse", "HEAD")
    outcome = CliRunner().invoke(main, ["-C", str(writes_repo), "task", "set", "WEB-1", "status=in-progress"])
    assert outcome.exit_code == 1
    assert "no person's email" in outcome.output
    assert ((writes_repo / WEB1).read_bytes(), git_out(writes_repo, "rev-parse", "HEAD")) == before
