"""Hostile input to the loader (issue 5, point 1): whatever bytes a workspace file holds, there is no
traceback, every problem is a `path:line:column: severity: message` line inside that file, the exit code
is 1 exactly when there is an error, and time and memory stay bounded by the documented limits.

Most examples go through `load_tree` on an in-memory tree (what the history reads from Git, and fast);
some go through the disk loader and the `worktrail validate` command.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worktrail.checks import check_workspace
from worktrail.cli import main
from worktrail.findings import Finding
from worktrail.load import load_tree, load_workspace
from worktrail.schema import MAX_FINDINGS_PER_FILE
from worktrail.tree import MemoryTree
from worktrail.validate import validate_workspace
from worktrail.yamlio import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NUMBER,
    MAX_VALUES,
    SourceError,
    decode,
    parse_front_matter,
    parse_yaml,
)

REPO = Path(__file__).resolve().parents[1]
HOSTS = {"base": REPO / "tests" / "cases" / "base", "sample": REPO / "sample-workspace"}
DATA_TOP = ("worktrail.yaml", "people/", "teams/", "projects/")
LINE = re.compile(r"^(?P<path>[^:\n]+):(?P<line>[1-9][0-9]*):(?P<column>[1-9][0-9]*): (?P<severity>error|warning): \S")

PERSON = "people/olga.yaml"
TASK = "projects/web/tasks/WEB-1.md"
TIME = "projects/web/time/2026-01.yaml"


def host_files(host: str) -> dict[str, bytes]:
    """The data files of a host workspace (documents under files/ other than the index are not parsed)."""
    root = HOSTS[host]
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel.startswith(DATA_TOP):
            files[rel] = path.read_bytes()
    return files


FILES = {host: host_files(host) for host in HOSTS}
TARGETS = sorted(
    (host, rel)
    for host, files in FILES.items()
    for rel in files
    if rel.endswith((".yaml", ".md")) and ("/files/" not in rel or rel.endswith("/files/index.yaml"))
)


def findings_of(files: dict[str, bytes]) -> list[Finding]:
    """Every finding `validate` reports for these files, loaded as the history loads a commit."""
    result = load_tree(MemoryTree(files), Path("/nowhere"))
    return sorted(set(result.findings) | set(check_workspace(result)))


def standalone_error(rel: str, data: bytes) -> SourceError | None:
    """The error reading this one file on its own gives (encoding, YAML, front matter), if any."""
    try:
        text = decode(data, rel)
        if rel.endswith(".md"):
            parse_front_matter(text, rel)
        else:
            parse_yaml(text, rel)
    except SourceError as exc:
        return exc
    return None


def line_lengths(data: bytes) -> list[int]:
    """Byte length of each line as the loader counts lines (every line ending style)."""
    return [len(line) for line in data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")]


def assert_well_formed(findings: list[Finding], rel: str, data: bytes) -> None:
    """Each finding is one `path:line:column: severity: message` line; those in `rel` point inside it."""
    lengths = line_lengths(data)
    for finding in findings:
        text = str(finding)
        assert LINE.match(text), text
        assert "\n" not in text and "\r" not in text, text
        assert "Traceback" not in finding.message
        if finding.loc.path == rel:
            assert finding.loc.line <= len(lengths), (text, len(lengths))
            # Columns count characters, which are never more than the line's bytes.
            assert finding.loc.column <= lengths[finding.loc.line - 1] + 1, (text, lengths[finding.loc.line - 1])


def check_mutation(host: str, rel: str, data: bytes) -> list[Finding]:
    """Load a host workspace with one file replaced by `data` and check every invariant."""
    findings = findings_of({**FILES[host], rel: data})
    assert_well_formed(findings, rel, data)
    problem = standalone_error(rel, data)
    if problem is not None:
        # A file that cannot be read on its own is reported exactly where the reader stopped.
        assert any(f.severity == "error" and f.loc == problem.loc and f.message == problem.message for f in findings)
    return findings


# ------------------------------------------------------------------------------------ mutations

SNIPPETS = (
    b"\x00",
    b"\xef\xbb\xbf",
    b"\r",
    b"\r\n",
    b"\t",
    b"\n---\n",
    b"\n...\n",
    b"[",
    b"{",
    b"]",
    b"}",
    b": ",
    b"- ",
    b"? ",
    b"&a ",
    b"*a ",
    b"<<: ",
    b"!!python/object/apply:os.system ",
    b"!thing ",
    b"%YAML 1.1\n",
    b"'",
    b'"',
    b'"\\x01\\u202e"',
    b"# ",
    b"|\n",
    b">-\n",
    b"~",
    b"1e999",
    b"0x" + b"f" * 40,
    b"9" * 30,
    b"2026-02-30",
    b"2026-13-01T25:00:00Z",
    b"yes",
    b"\xed\xa0\x80",  # an encoded lone surrogate: not UTF-8
    b"\xc0\xaf",  # an overlong '/'
    b"\xe0\x80\xaf",  # another overlong '/'
    b"\xf4\x90\x80\x80",  # past U+10FFFF
    b"\xff",
    b"\xc2\x85",  # U+0085, a YAML line break
    "\u2028".encode(),
    "\u202e".encode(),
    "\u200b".encode(),
    "😀".encode(),
    b"\x1b[31m",
    b"\x7f",
)


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with one to four random edits: bytes flipped, inserted or deleted, lines moved, endings mixed."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(("flip", "insert", "delete", "lines", "endings", "indent", "truncate", "bom")))
        at = draw(st.integers(0, max(len(out), 1))) % (len(out) + 1)
        if kind == "flip" and out:
            out[at % len(out)] = draw(st.integers(0, 255))
        elif kind == "insert":
            out[at:at] = draw(st.one_of(st.sampled_from(SNIPPETS), st.binary(min_size=1, max_size=6)))
        elif kind == "delete":
            del out[at : at + draw(st.integers(1, 12))]
        elif kind == "lines":
            lines = bytes(out).split(b"\n")
            first, second = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            action = draw(st.sampled_from(("duplicate", "delete", "swap")))
            if action == "duplicate":
                lines.insert(second, lines[first])
            elif action == "delete":
                del lines[first]
            else:
                lines[first], lines[second] = lines[second], lines[first]
            out = bytearray(b"\n".join(lines))
        elif kind == "endings":
            lines = bytes(out).split(b"\n")
            endings = draw(st.lists(st.sampled_from((b"\n", b"\r\n", b"\r")), min_size=1, max_size=4))
            joined = bytearray()
            for index, line in enumerate(lines):
                joined += line + (endings[index % len(endings)] if index < len(lines) - 1 else b"")
            out = joined
        elif kind == "indent":
            lines = bytes(out).split(b"\n")
            index = draw(st.integers(0, len(lines) - 1))
            lines[index] = draw(st.sampled_from((b"\t", b"  ", b" ", b"\t  "))) + lines[index]
            out = bytearray(b"\n".join(lines))
        elif kind == "truncate":
            del out[at:]
        else:
            out[0:0] = b"\xef\xbb\xbf"
    return bytes(out)


@st.composite
def target_and_mutation(draw: st.DrawFn) -> tuple[str, str, bytes]:
    host, rel = draw(st.sampled_from(TARGETS))
    return host, rel, draw(mutated(FILES[host][rel]))


YAML_TOKENS = st.sampled_from(
    (
        "[",
        "]",
        "{",
        "}",
        ",",
        ": ",
        "- ",
        "? ",
        "\n",
        "\n  ",
        "\t",
        " ",
        "&a ",
        "*a",
        "!!python/name:os.system ",
        "!!str ",
        "!local ",
        "'",
        '"',
        "#",
        "|",
        ">",
        "---\n",
        "...\n",
        "%YAML 1.2\n",
        "%TAG !p! tag:yaml.org,2002:python/\n",
        "title",
        "status",
        "open",
        "name",
        "hidden",
        "true",
        "null",
        "1",
        "-1.5e3",
        "0o17",
        "1e400",
        "2026-03-01",
        "\\x00",
        "\x00",
        "\x07",
        "\u2028",
        "\ufeff",
        "\x85",
        "é",
    )
)


# ------------------------------------------------------------------------------------ properties


@settings(derandomize=True, deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(target_and_mutation())
def test_a_mutated_file_never_raises_and_reports_each_problem_at_a_line_inside_that_file(
    case: tuple[str, str, bytes],
) -> None:
    host, rel, data = case
    check_mutation(host, rel, data)


@settings(derandomize=True, deadline=None, max_examples=150)
@given(target=st.sampled_from(TARGETS), data=st.binary(max_size=400))
def test_random_bytes_in_any_file_never_raise_and_give_located_findings(target: tuple[str, str], data: bytes) -> None:
    host, rel = target
    check_mutation(host, rel, data)


@settings(derandomize=True, deadline=None, max_examples=200)
@given(tokens=st.lists(YAML_TOKENS, max_size=40), as_markdown=st.booleans())
def test_hostile_yaml_token_soup_never_raises(tokens: list[str], as_markdown: bool) -> None:
    text = "".join(tokens)
    if as_markdown:
        check_mutation("base", TASK, f"---\n{text}\n---\nBody.\n".encode())
    else:
        check_mutation("base", PERSON, text.encode())


@settings(
    derandomize=True,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=target_and_mutation(), fmt=st.sampled_from(("text", "json")))
def test_validate_command_on_a_mutated_file_prints_located_findings_and_exits_1_exactly_on_errors(
    tmp_path: Path, case: tuple[str, str, bytes], fmt: str
) -> None:
    host, rel, data = case
    root = tmp_path / host
    if not root.exists():
        shutil.copytree(HOSTS[host], root, ignore=shutil.ignore_patterns("site"))
    original = (root / rel).read_bytes()
    (root / rel).write_bytes(data)
    try:
        report, _ = validate_workspace(root)
        outcome = CliRunner().invoke(main, ["-C", str(root), "validate", "--format", fmt])
    finally:
        (root / rel).write_bytes(original)
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), outcome.exception
    assert "Traceback" not in outcome.output
    assert_well_formed(list(report.findings), rel, data)
    assert report.exit_code() == (1 if report.errors else 0)
    if fmt == "json":
        payload = json.loads(outcome.stdout)
        errors = payload["errors"]
        assert all(item["line"] >= 1 and item["column"] >= 1 for item in payload["findings"])
    else:
        lines = outcome.stdout.splitlines()
        assert all(LINE.match(line) for line in lines[:-1]), lines
        errors = sum(": error: " in line for line in lines[:-1])
    assert errors == report.errors
    assert outcome.exit_code == (1 if errors else 0), outcome.output


# ------------------------------------------------------------------------------------ explicit hostile files


def only_errors(findings: list[Finding], rel: str) -> list[str]:
    return [
        f"{f.loc.line}:{f.loc.column}: {f.message}" for f in findings if f.severity == "error" and f.loc.path == rel
    ]


def test_deep_flow_nesting_is_refused_at_its_position() -> None:
    for data in (b"name: " + b"[" * 200_000, b"name: " + b"{a: " * 100_000, b"name: " + b"[" * 70 + b"]" * 70 + b"\n"):
        errors = only_errors(check_mutation("base", PERSON, data), PERSON)
        assert len(errors) == 1 and "nesting" in errors[0], errors


def test_deep_block_nesting_names_the_limit() -> None:
    data = "".join("  " * depth + "a:\n" for depth in range(MAX_DEPTH + 5)).encode()
    errors = only_errors(check_mutation("base", PERSON, data), PERSON)
    assert errors == [f"{MAX_DEPTH + 2}:{2 * (MAX_DEPTH + 1) + 1}: nesting is deeper than {MAX_DEPTH} levels"]


def test_a_one_megabyte_line_is_read_and_its_errors_keep_their_column() -> None:
    long_name = b"name: " + b"x" * 1_000_000 + b"\nteam: studio\nrole: owner\nemails: [olga@example.com]\n"
    assert only_errors(check_mutation("base", PERSON, long_name), PERSON) == []
    # A key longer than YAML's 1024-character limit for plain keys: refused at its ':'.
    broken = b"x" * 1_000_000 + b": 1\n"
    assert only_errors(check_mutation("base", PERSON, broken), PERSON) == [
        "1:1000001: invalid YAML: mapping values are not allowed in this context"
    ]


def test_a_file_at_the_size_limit_is_read_and_one_byte_more_is_refused_on_disk_and_from_git(tmp_path: Path) -> None:
    original = FILES["base"][PERSON]
    at_limit = original + b"#" * (MAX_FILE_BYTES - len(original) - 1) + b"\n"
    over = at_limit + b"\n"
    assert len(at_limit) == MAX_FILE_BYTES
    assert only_errors(check_mutation("base", PERSON, at_limit), PERSON) == []
    message = f"1:1: file is {MAX_FILE_BYTES + 1:,} bytes; the limit is {MAX_FILE_BYTES:,} bytes"
    assert [e[: len(message)] for e in only_errors(check_mutation("base", PERSON, over), PERSON)] == [message]
    root = tmp_path / "ws"
    shutil.copytree(HOSTS["base"], root)
    (root / PERSON).write_bytes(over)
    disk = [f for f in load_workspace(root).findings if f.loc.path == PERSON]
    assert [(f.code, f.message[: len(message) - 5]) for f in disk] == [("file.size", message[5:])]


def test_a_file_that_grew_since_it_was_measured_is_read_whole_and_still_capped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader reads what fstat promised plus one byte, then on: a growing file is not cut short."""
    import os

    real_fstat = os.fstat

    def shrunk(fd: int) -> os.stat_result:
        # Every file reports 10 bytes, as if it grew after it was measured.
        values = list(real_fstat(fd))
        values[6] = min(values[6], 10)
        return os.stat_result(values)

    root = tmp_path / "ws"
    shutil.copytree(HOSTS["base"], root)
    expected = load_workspace(root)
    monkeypatch.setattr(os, "fstat", shrunk)
    grown = load_workspace(root)
    assert grown.findings == expected.findings
    assert grown.workspace == expected.workspace
    original = FILES["base"][PERSON]
    (root / PERSON).write_bytes(original + b"#" * (MAX_FILE_BYTES - len(original)) + b"\n\n")
    refused = [f for f in load_workspace(root).findings if f.loc.path == PERSON]
    assert [f.code for f in refused] == ["file.size"]


def test_an_over_size_file_is_measured_and_refused_without_being_read(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(HOSTS["base"], root)
    # A sparse file: 64 GiB that take no disk, and no test machine could hold in memory.
    size = 64 * 2**30
    with (root / PERSON).open("r+b") as handle:
        handle.truncate(size)
    report, _ = validate_workspace(root)
    assert [str(f) for f in report.findings if f.loc.path == PERSON] == [
        f"{PERSON}:1:1: error: file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} bytes "
        "(split it, e.g. time by month)"
    ]
    assert report.exit_code() == 1
    (root / PERSON).unlink()


def test_a_file_with_too_many_values_is_refused_where_the_limit_is_passed() -> None:
    # The list itself is the first value, so the item on line MAX_VALUES is one too many.
    data = b"- 1\n" * (MAX_VALUES + 10)
    assert only_errors(check_mutation("base", TIME, data), TIME) == [
        f"{MAX_VALUES}:3: the file holds more than {MAX_VALUES:,} values (split it, e.g. time by month)"
    ]


def test_a_file_with_many_wrong_items_lists_the_first_ones_and_says_more_follow() -> None:
    data = b"- a\n" * 5000
    errors = only_errors(check_mutation("base", TIME, data), TIME)
    assert len(errors) == MAX_FINDINGS_PER_FILE + 1
    assert errors[0] == "1:3: [0]: expected a mapping of fields, got the text 'a'"
    assert errors[-1] == (
        f"{MAX_FINDINGS_PER_FILE + 1}:3: more problems from here on are not listed "
        f"(the first {MAX_FINDINGS_PER_FILE} are); fix those first"
    )


def test_many_unknown_fields_are_listed_up_to_the_limit() -> None:
    data = b"name: A\nteam: studio\nrole: owner\n" + b"".join(b"k%d: 1\n" % n for n in range(20_000))
    errors = only_errors(check_mutation("base", PERSON, data), PERSON)
    assert len(errors) == MAX_FINDINGS_PER_FILE + 1
    assert all("unknown field" in e for e in errors[:-1]) and "more problems" in errors[-1]


def test_an_alias_bomb_is_refused_at_its_first_anchor() -> None:
    rows = [b"a: &a [x, x, x, x, x, x, x, x, x]"]
    rows += [
        b"%c: &%c [%s]" % (ord("a") + n, ord("a") + n, b", ".join([b"*%c" % (ord("a") + n - 1)] * 9))
        for n in range(1, 9)
    ]
    data = b"\n".join(rows) + b"\n"
    assert only_errors(check_mutation("base", PERSON, data), PERSON) == [
        "1:4: YAML anchors (&a) are not allowed; write the value out"
    ]


def test_python_tags_are_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for tag in ("!!python/object/apply:os.mkdir", "!!python/object/new:os.mkdir", "!!python/name:os.mkdir"):
        data = f"name: {tag} [{json.dumps(str(marker))}]\nteam: studio\nrole: owner\n".encode()
        errors = only_errors(check_mutation("base", PERSON, data), PERSON)
        assert errors == [f"1:7: YAML tag {tag} is not allowed"]
    data = f"--- !!python/object/apply:os.mkdir\nargs: [{json.dumps(str(marker))}]\n".encode()
    assert "is not allowed" in only_errors(check_mutation("base", PERSON, data), PERSON)[0]
    assert not marker.exists()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"name: Ol\x00ga\n", "1:9: invalid YAML: control character U+0000 is not allowed"),
        (b"team: studio\nname: Ol\x1bga\n", "2:9: invalid YAML: control character U+001B is not allowed"),
        # After multi-byte characters the column still counts characters, not bytes.
        ("name: Ölgä 😀\x07\n".encode(), "1:13: invalid YAML: control character U+0007 is not allowed"),
        (b"name: a\x7f\n", "1:8: invalid YAML: control character U+007F is not allowed"),
        ("name: a\x9b\n".encode(), "1:8: invalid YAML: control character U+009B is not allowed"),
        (
            "name: Olga\u2028team: studio\n".encode(),
            "1:11: invalid YAML: U+2028 (a Unicode line separator) is not allowed: YAML would read it as a "
            "line break where editors show none; use an ordinary line break",
        ),
        (
            "name: Olga\x85\n".encode(),
            "1:11: invalid YAML: U+0085 (a next-line character) is not allowed: YAML would read it as a "
            "line break where editors show none; use an ordinary line break",
        ),
        (b"name: a\xed\xa0\x80b\n", "1:8: file is not valid UTF-8 (byte 0xed); save it as UTF-8"),
        (b"team: x\nname: a\xc0\xafb\n", "2:8: file is not valid UTF-8 (byte 0xc0); save it as UTF-8"),
        (b"name: a\xe0\x80\xaf\n", "1:8: file is not valid UTF-8 (byte 0xe0); save it as UTF-8"),
        (b"name: a\xf4\x90\x80\x80\n", "1:8: file is not valid UTF-8 (byte 0xf4); save it as UTF-8"),
        (b"name: caf\xc3", "1:10: file is not valid UTF-8 (byte 0xc3); save it as UTF-8"),
        (b"name: \xff\xfe\n", "1:7: file is not valid UTF-8 (byte 0xff); save it as UTF-8"),
        (b"\xff\xfen\x00a\x00", "1:1: file is not valid UTF-8 (byte 0xff); save it as UTF-8"),
    ],
)
def test_bad_characters_and_bad_encodings_are_located_exactly(data: bytes, expected: str) -> None:
    assert only_errors(check_mutation("base", PERSON, data), PERSON) == [expected]


def test_mixed_line_endings_a_bom_and_tabs_keep_line_numbers_true() -> None:
    data = b"\xef\xbb\xbfname: Olga\r\nteam:\tstudio\rrole: owner\nemails: [olga@example.com]\r\nphone: [\n"
    assert only_errors(check_mutation("base", PERSON, data), PERSON) == [
        "6:1: invalid YAML: did not find expected node content"
    ]
    fine = data.replace(b"phone: [\n", b"phone: '1'\n")
    assert only_errors(check_mutation("base", PERSON, fine), PERSON) == []


@pytest.mark.parametrize(
    ("number", "kept"),
    [
        (b"1e999", False),
        (b"-1e999", False),
        (b"9" * 5000, False),
        (b"0x" + b"f" * 5000, False),
        (b"0o" + b"7" * 20, False),
        (str(MAX_NUMBER + 1).encode(), False),
        (str(MAX_NUMBER).encode(), True),
        (b"1e15", True),
        (b"0" * 40 + b"12", True),
        (b"12.5", True),
    ],
)
def test_numbers_beyond_the_limit_are_refused_so_no_sum_or_product_overflows(number: bytes, kept: bool) -> None:
    data = b"name: Olga\nteam: studio\nrole: owner\nrate: {amount: " + number + b"}\n"
    errors = only_errors(check_mutation("base", PERSON, data), PERSON)
    if kept:
        assert errors == []
    else:
        assert len(errors) == 1 and errors[0].startswith("4:16: the number ") and "is too large" in errors[0]


def test_infinity_and_not_a_number_are_text_and_fail_the_schema_as_text() -> None:
    data = b"name: Olga\nteam: studio\nrole: owner\nrate: {amount: .inf}\n"
    assert only_errors(check_mutation("base", PERSON, data), PERSON) == [
        "4:16: rate.amount: expected a number, got the text '.inf'"
    ]


# ------------------------------------------------------------------------------------ front matter

FRONT_MATTER_CASES = [
    (b"---\ntitle: A\nstatus: open\n", ["1:1: front matter is not closed by a '---' line"]),
    (
        b"title: A\nstatus: open\n---\n",
        ["1:1: a Markdown record must start with YAML front matter: a '---' line, the fields, then '---'"],
    ),
    (b"", ["1:1: a Markdown record must start with YAML front matter: a '---' line, the fields, then '---'"]),
    (
        b"---\n- title\n- status\n---\nBody\n",
        ["2:1: front matter must be a mapping of fields (`field: value` lines), not a list"],
    ),
    (
        b"---\njust words\n---\nBody\n",
        ["2:1: front matter must be a mapping of fields (`field: value` lines), not the single value 'just words'"],
    ),
    (
        b"---\n42\n---\n",
        ["2:1: front matter must be a mapping of fields (`field: value` lines), not the single value '42'"],
    ),
    (b"---\n---\nBody\n", ["1:1: missing required field 'status'", "1:1: missing required field 'title'"]),
    (b"---\n# only a comment\n---\n", ["1:1: missing required field 'status'", "1:1: missing required field 'title'"]),
    (b"---\ntitle: A\nstatus: open\n---\n---\n---\nmore: 1\n---\n", []),
    (b"---\r\ntitle: A\r\nstatus: open\r\n---\r\nBody\r\n", []),
    (b"---\rtitle: A\rstatus: open\r---\rBody\r", []),
    (b"\xef\xbb\xbf---\ntitle: A\nstatus: open\n...\nBody\n", []),
    (b"---\ntitle: A\nstatus: [open\n---\nBody\n", ["3:14: invalid YAML: did not find expected ',' or ']'"]),
]


@pytest.mark.parametrize(("data", "expected"), FRONT_MATTER_CASES)
def test_front_matter_mutations_get_a_clear_message_with_its_line(data: bytes, expected: list[str]) -> None:
    assert only_errors(check_mutation("base", TASK, data), TASK) == expected


def test_dashes_in_the_body_after_the_front_matter_stay_body_text() -> None:
    text = "---\ntitle: A\nstatus: open\n---\nIntro\n---\nnot: front matter\n---\n"
    record = parse_front_matter(text, TASK)
    assert record.doc.data == {"title": "A", "status": "open"}
    assert record.body == "Intro\n---\nnot: front matter\n---\n"


@pytest.mark.parametrize("rel", [PERSON, TIME, "worktrail.yaml", "projects/web/files/index.yaml"])
@pytest.mark.parametrize("data", [b"- a\n", b"plain words\n", b"{}\n", b"[]\n", b"~\n", b""])
def test_a_yaml_file_of_the_wrong_shape_is_reported_in_that_file(rel: str, data: bytes) -> None:
    errors = only_errors(check_mutation("base", rel, data), rel)
    # An empty list file is a valid empty list; every other shape here is wrong for its file.
    valid = rel in (TIME, "projects/web/files/index.yaml") and data in (b"[]\n", b"~\n", b"")
    assert (errors == []) == valid, errors
