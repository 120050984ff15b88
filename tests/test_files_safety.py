"""Documents and attachments: nothing outside the workspace is ever read into a site (issue 5, point 3).

Absolute paths, `..`, symbolic links (to files and folders, inside and outside the workspace, a
linked files/ folder, a linked project folder), FIFOs, folders, hidden files and names holding
controls or direction overrides are refused by `validate` with the file and line of the reference;
the site builder refuses the same on its own (a warning, the document not copied), so a build that
skips validation still never reads them. Any linked data folder (people/, tasks/, changes/, ...) is
a validation error, so `build` refuses the workspace. Documents over `site.MAX_DOCUMENT_BYTES` are
skipped with a warning. Odd but harmless names (spaces, Unicode, a leading dash, URL characters,
long names) are copied and their links work.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml
from click.testing import CliRunner

from worktrail import model as m
from worktrail import site as site_module
from worktrail.cli import main
from worktrail.site import MAX_DOCUMENT_BYTES, build_sites
from worktrail.validate import validate_workspace

BASE = Path(__file__).parent / "cases" / "base"
CANARY = "CANARY-outside-the-workspace-7f3a"
INDEX = "projects/web/files/index.yaml"
EPOCH = 1774958400


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the base case (valid; WEB-1 attaches files/brief.md, listed in files/index.yaml)."""
    target = tmp_path / "ws"
    shutil.copytree(BASE, target)
    return target


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the workspace holding the canary, as a file and in a would-be files/ folder."""
    folder = tmp_path / "outside"
    (folder / "files").mkdir(parents=True)
    (folder / "canary.md").write_text(f"# {CANARY}\n", encoding="utf-8")
    (folder / "files/canary.md").write_text(f"# {CANARY}\n", encoding="utf-8")
    (folder / "files/brief.md").write_text(f"# {CANARY}\n", encoding="utf-8")
    (folder / "files/index.yaml").write_text("- path: brief.md\n  title: Brief\n", encoding="utf-8")
    return folder


def add_document(root: Path, path: str) -> int:
    """List `path` as a document in files/index.yaml; returns the line of its `path:`."""
    index = root / INDEX
    text = index.read_text(encoding="utf-8")
    line = text.count("\n") + 1
    entry = yaml.safe_dump([{"path": path, "title": "Listed document"}], allow_unicode=True, width=10_000)
    index.write_text(text + entry, encoding="utf-8")
    return line


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def output_bytes(folder: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under `folder`, with its name, as bytes."""
    if folder.exists():
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                yield path.relative_to(folder).as_posix(), path.read_bytes()


def assert_no_canary(folder: Path) -> None:
    for name, data in output_bytes(folder):
        assert CANARY.encode() not in data and CANARY not in name, name


def build_unvalidated(root: Path, out: Path) -> list[str]:
    """Build every audience from the workspace as loaded, errors ignored (as if validation were skipped)."""
    _, result = validate_workspace(root)
    assert result.workspace is not None
    warnings: list[str] = []
    build_sites(result.workspace, out, epoch=EPOCH, root=root, warn=warnings.append)
    return warnings


@contextmanager
def watched_fifo(path: Path) -> Iterator[Callable[[], bool]]:
    """A FIFO at `path`; yields a function telling whether anything opened it for reading.

    A watcher keeps trying to open the write end without blocking: that succeeds only once a reader
    has opened the FIFO, and then writing the canary and closing releases that reader. So the test
    never hangs, and a reader would carry the canary into the output.
    """
    os.mkfifo(path)
    opened = threading.Event()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.02):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                continue
            opened.set()
            try:
                os.write(fd, CANARY.encode())
            finally:
                os.close(fd)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield opened.is_set
    finally:
        done.set()
        watcher.join()


# ================================================================================== refused references


@dataclass(frozen=True)
class Bad:
    """A document reference that must be refused: how to set it up and what the message says."""

    name: str
    setup: Callable[[Path, Path], str]  # (workspace, outside) -> the path to list
    message: str


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def _files(root: Path) -> Path:
    return root / "projects/web/files"


def _absolute(root: Path, outside: Path) -> str:
    return str(outside / "canary.md")


def _dot_dot(root: Path, outside: Path) -> str:
    return os.path.relpath(outside / "canary.md", _files(root))


def _inner_dot_dot(root: Path, outside: Path) -> str:
    return "sub/../brief.md"


def _link_to_outside_file(root: Path, outside: Path) -> str:
    _link(_files(root) / "notes.md", outside / "canary.md")
    return "notes.md"


def _link_to_inside_file(root: Path, outside: Path) -> str:
    _link(_files(root) / "alias.md", _files(root) / "brief.md")
    return "alias.md"


def _link_to_outside_folder(root: Path, outside: Path) -> str:
    _link(_files(root) / "shared", outside)
    return "shared/canary.md"


def _link_to_inside_folder(root: Path, outside: Path) -> str:
    (_files(root) / "real").mkdir()
    (_files(root) / "real/doc.md").write_text("# Doc\n", encoding="utf-8")
    _link(_files(root) / "again", _files(root) / "real")
    return "again/doc.md"


def _folder(root: Path, outside: Path) -> str:
    (_files(root) / "folder").mkdir()
    return "folder"


def _hidden(root: Path, outside: Path) -> str:
    (_files(root) / ".secret.md").write_text("# Secret\n", encoding="utf-8")
    return ".secret.md"


def _control(root: Path, outside: Path) -> str:
    name = "a\x01b.md"
    (_files(root) / name).write_text("# Doc\n", encoding="utf-8")
    return name


def _direction_override(root: Path, outside: Path) -> str:
    name = "invoice-\u202efdp.exe"
    (_files(root) / name).write_text("# Doc\n", encoding="utf-8")
    return name


def _backslash(root: Path, outside: Path) -> str:
    return "..\\..\\worktrail.yaml"


def _socket_like(root: Path, outside: Path) -> str:
    # A FIFO stands for every special file (sockets and devices take the same path).
    os.mkfifo(_files(root) / "pipe.md")
    return "pipe.md"


# The schema refuses what a path's text alone betrays; the checks refuse what only the disk shows.
NOT_RELATIVE = "is not valid (A path relative to the project's `files/` folder"
BAD = [
    Bad("absolute path", _absolute, NOT_RELATIVE),
    Bad("dot-dot path", _dot_dot, NOT_RELATIVE),
    Bad("inner dot-dot", _inner_dot_dot, NOT_RELATIVE),
    Bad("backslash", _backslash, NOT_RELATIVE),
    Bad("link to a file outside", _link_to_outside_file, "goes through a symbolic link"),
    Bad("link to a file inside", _link_to_inside_file, "goes through a symbolic link"),
    Bad("link to a folder outside", _link_to_outside_folder, "goes through a symbolic link"),
    Bad("link to a folder inside", _link_to_inside_folder, "goes through a symbolic link"),
    Bad("a folder", _folder, "is a folder, not a file"),
    Bad("a FIFO", _socket_like, "is not a regular file"),
    Bad("a hidden file", _hidden, "is a hidden file"),
    Bad("a control character", _control, NOT_RELATIVE),
    Bad("a direction override", _direction_override, "direction override"),
]


@pytest.mark.parametrize("bad", BAD, ids=lambda bad: bad.name)
def test_validate_refuses_a_document_path_with_the_file_and_line_of_the_reference(bad: Bad, root: Path, outside: Path):
    line = add_document(root, bad.setup(root, outside))
    code, output = run("-C", str(root), "validate")
    assert code == 1, output
    pattern = rf"(^|/){re.escape(INDEX)}:{line}:\d+: error: (\[\d+\]\.)?path: .*{re.escape(bad.message)}"
    assert re.search(pattern, output, re.M), output
    assert "Traceback" not in output


@pytest.mark.parametrize("bad", BAD, ids=lambda bad: bad.name)
def test_validate_refuses_the_same_path_as_a_task_attachment(bad: Bad, root: Path, outside: Path):
    task = root / "projects/web/tasks/WEB-1.md"
    path = bad.setup(root, outside)
    text = task.read_text(encoding="utf-8")
    quoted = json.dumps(path, ensure_ascii=False)
    task.write_text(text.replace("attachments: [brief.md]", f"attachments: [brief.md, {quoted}]"), encoding="utf-8")
    code, output = run("-C", str(root), "validate")
    assert code == 1, output
    pattern = rf"(^|/)projects/web/tasks/WEB-1\.md:8:\d+: error: attachments\[1\]: .*{re.escape(bad.message)}"
    assert re.search(pattern, output, re.M), output


@pytest.mark.parametrize("bad", BAD, ids=lambda bad: bad.name)
def test_build_refuses_the_workspace_and_writes_nothing(bad: Bad, root: Path, outside: Path, tmp_path: Path):
    add_document(root, bad.setup(root, outside))
    code, output = run("-C", str(root), "build", "--no-trail", "--out", str(tmp_path / "site"))
    assert code == 1 and "nothing was built" in output
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("bad", BAD, ids=lambda bad: bad.name)
def test_the_site_refuses_the_same_document_on_its_own(bad: Bad, root: Path, outside: Path, tmp_path: Path):
    # The model is built by hand, as if validation (schema and checks) had been skipped.
    ws = load(root)
    listed = bad.setup(root, outside)
    project = ws.projects["web"]
    document = m.Document(project="web", path=listed, title="Listed document")
    ws = dataclasses.replace(
        ws, projects={"web": dataclasses.replace(project, documents=(*project.documents, document))}
    )
    warnings: list[str] = []
    build_sites(ws, tmp_path / "site", epoch=EPOCH, root=root, warn=warnings.append)
    assert_no_canary(tmp_path / "site")
    copied = {name for name, _ in output_bytes(tmp_path / "site") if "/documents/" in name}
    assert all(name.endswith("/documents/brief.md") for name in copied), copied
    assert any("not copied" in warning for warning in warnings), warnings


def load(root: Path) -> m.Workspace:
    report, result = validate_workspace(root)
    assert not report.errors and result.workspace is not None
    return result.workspace


# ================================================================================== linked folders


def test_a_linked_files_folder_is_refused_and_nothing_is_read_through_it(root: Path, outside: Path, tmp_path: Path):
    shutil.rmtree(_files(root))
    _link(_files(root), outside / "files")
    code, output = run("-C", str(root), "validate")
    assert code == 1
    assert "goes through a symbolic link (projects/web/files)" in output
    code, output = run("-C", str(root), "build", "--no-trail", "--out", str(tmp_path / "site"))
    assert code == 1 and not (tmp_path / "site").exists()
    # Built anyway from the loaded model, nothing is read through the link: the loader does not
    # follow it (no document index is loaded from it), and the site copies nothing from it.
    build_unvalidated(root, tmp_path / "unvalidated")
    assert_no_canary(tmp_path / "unvalidated")


def test_a_linked_project_folder_is_refused_and_never_read(root: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere" / "web"
    shutil.move(root / "projects/web", elsewhere)
    (elsewhere / "files/brief.md").write_text(f"# {CANARY}\n", encoding="utf-8")
    (elsewhere / "tasks/WEB-1.md").write_text(
        (elsewhere / "tasks/WEB-1.md").read_text(encoding="utf-8").replace("Build the home page", CANARY),
        encoding="utf-8",
    )
    _link(root / "projects/web", elsewhere)
    code, output = run("-C", str(root), "validate")
    assert code == 1 and "projects/web" in output
    code, output = run("-C", str(root), "build", "--no-trail", "--out", str(tmp_path / "site"))
    assert code == 1 and not (tmp_path / "site").exists()
    build_unvalidated(root, tmp_path / "unvalidated")
    assert_no_canary(tmp_path / "unvalidated")


MEETING = "---\ndate: 2026-01-15T10:00:00Z\ntitle: Kickoff\n---\nNotes.\n"
FEEDBACK = "---\nauthor: carl\ndate: 2026-01-16\nrating: 4\n---\nGood.\n"

# A data folder, and a change inside it that puts the canary where a site would show it.
LINKED_FOLDERS = [
    ("people", "people/carl.yaml", "Carl Client", CANARY),
    ("teams", "teams/acme.yaml", "Acme", CANARY),
    ("projects", "projects/web/project.yaml", "Website", CANARY),
    ("projects/web/tasks", "projects/web/tasks/WEB-1.md", "Build the home page", CANARY),
    ("projects/web/tasks/WEB-1", "projects/web/tasks/WEB-1/comments/c1.md", "On it.", CANARY),
    ("projects/web/tasks/WEB-1/comments", "projects/web/tasks/WEB-1/comments/c1.md", "On it.", CANARY),
    ("projects/web/changes", "projects/web/changes/CR-1.md", "Add a blog", CANARY),
    ("projects/web/time", "projects/web/time/2026-01.yaml", "hours: 2.5", f"hours: 2.5\n  note: {CANARY}"),
    ("projects/web/files", "projects/web/files/index.yaml", "title: Brief", f"title: {CANARY}"),
    ("projects/web/meetings", "projects/web/meetings/kickoff.md", "Notes.", CANARY),
    ("projects/web/feedback", "projects/web/feedback/f1.md", "Good.", CANARY),
]


@pytest.mark.parametrize(("folder", "file", "old", "new"), LINKED_FOLDERS, ids=[f[0] for f in LINKED_FOLDERS])
def test_a_linked_data_folder_is_refused_so_nothing_outside_reaches_a_site(
    folder: str, file: str, old: str, new: str, root: Path, tmp_path: Path
):
    (root / "projects/web/meetings").mkdir(exist_ok=True)
    (root / "projects/web/meetings/kickoff.md").write_text(MEETING, encoding="utf-8")
    (root / "projects/web/feedback").mkdir(exist_ok=True)
    (root / "projects/web/feedback/f1.md").write_text(FEEDBACK, encoding="utf-8")
    edited = root / file
    edited.write_text(edited.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    code, output = run("-C", str(root), "validate")
    assert code == 0, output  # the canary itself is valid: only the link below is refused
    elsewhere = tmp_path / "elsewhere" / folder
    elsewhere.parent.mkdir(parents=True)
    shutil.move(root / folder, elsewhere)
    _link(root / folder, elsewhere)
    code, output = run("-C", str(root), "validate")
    assert code == 1
    assert f"{folder}:1:1: error: a symbolic link to a folder; links are not followed" in output, output
    code, output = run("-C", str(root), "build", "--no-trail", "--out", str(tmp_path / "site"))
    assert code == 1 and not (tmp_path / "site").exists()


# ================================================================================== special files


def test_a_fifo_listed_as_a_document_is_never_opened(root: Path, tmp_path: Path):
    with watched_fifo(_files(root) / "pipe.md") as was_opened:
        add_document(root, "pipe.md")
        code, output = run("-C", str(root), "validate")
        assert code == 1 and "is not a regular file" in output
        warnings = build_unvalidated(root, tmp_path / "site")
        assert not was_opened()
    assert any("pipe.md: it is not a regular file" in warning for warning in warnings), warnings
    assert_no_canary(tmp_path / "site")


def test_a_fifo_in_place_of_a_workspace_file_is_reported_and_never_opened(root: Path):
    (root / "projects/web/files/index.yaml").unlink()
    with watched_fifo(root / "projects/web/files/index.yaml") as was_opened:
        code, output = run("-C", str(root), "validate")
        assert not was_opened()
    assert code == 1 and "projects/web/files/index.yaml" in output and "not a regular file" in output


def test_the_documents_index_itself_is_never_copied(root: Path, tmp_path: Path):
    add_document(root, "index.yaml")
    code, output = run("-C", str(root), "validate")
    assert code == 1 and "documents index" in output
    warnings = build_unvalidated(root, tmp_path / "site")
    assert not any(name.endswith("documents/index.yaml") for name, _ in output_bytes(tmp_path / "site"))
    assert any("documents index" in warning for warning in warnings)


# ================================================================================== size limit


def test_documents_over_the_size_limit_are_skipped_with_a_warning(root: Path, tmp_path: Path):
    big = _files(root) / "video.bin"
    with big.open("wb") as handle:
        handle.truncate(MAX_DOCUMENT_BYTES + 1)  # sparse: no disk space, no time
    add_document(root, "video.bin")
    code, output = run("-C", str(root), "build", "--no-trail", "--out", str(tmp_path / "site"))
    assert code == 0, output
    assert "video.bin: it is 52,428,801 bytes, over the 52,428,800-byte limit" in output
    assert not any(name.endswith("video.bin") for name, _ in output_bytes(tmp_path / "site"))
    files_page = (tmp_path / "site/internal/projects/web/files/index.html").read_text(encoding="utf-8")
    assert "video.bin" in files_page  # listed, marked as not available


def test_a_document_of_exactly_the_limit_is_copied(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(site_module, "MAX_DOCUMENT_BYTES", 1000)
    (_files(root) / "exact.bin").write_bytes(b"x" * 1000)
    (_files(root) / "over.bin").write_bytes(b"x" * 1001)
    add_document(root, "exact.bin")
    add_document(root, "over.bin")
    warnings = build_unvalidated(root, tmp_path / "site")
    names = {name for name, _ in output_bytes(tmp_path / "site")}
    assert "internal/projects/web/documents/exact.bin" in names
    assert "internal/projects/web/documents/over.bin" not in names
    assert any("over.bin" in warning and "1,001 bytes" in warning for warning in warnings)


# ================================================================================== odd but harmless names


ODD_NAMES = [
    "with spaces.md",
    "folder with spaces/inner doc.md",
    "-leading-dash.md",
    "--help",
    "\u00e9t\u00e9 \u2013 r\u00e9sum\u00e9.md",
    "\u6587\u4ef6.md",
    "\U0001f600 emoji.md",
    "e\u0301-combining.md",
    "hash#and?query&amp;.md",
    "percent%20encoded%2F.md",
    "quotes \"double\" and 'single'.md",
    "<angle> brackets.md",
    "semi;colon:colon,comma.md",
    "javascript:alert(1).md",
    "x" * 200 + ".md",
]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_documents_with_odd_names_validate_copy_and_link_correctly(name: str, root: Path, tmp_path: Path):
    content = f"# contents of {name}\n".encode()
    (_files(root) / name).parent.mkdir(parents=True, exist_ok=True)
    (_files(root) / name).write_bytes(content)
    add_document(root, name)
    task = root / "projects/web/tasks/WEB-1.md"
    quoted = json.dumps(name, ensure_ascii=False)
    text = task.read_text(encoding="utf-8")
    task.write_text(text.replace("attachments: [brief.md]", f"attachments: [brief.md, {quoted}]"), encoding="utf-8")
    code, output = run("-C", str(root), "validate")
    assert code == 0, output
    code, output = run("-C", str(root), "build", "--no-trail", "--out", str(tmp_path / "site"))
    assert code == 0 and "warning" not in output, output
    site = tmp_path / "site/internal"
    assert (site / "projects/web/documents" / name).read_bytes() == content
    for page in ("projects/web/files/index.html", "projects/web/tasks/WEB-1.html"):
        html = (site / page).read_text(encoding="utf-8")
        targets = {
            (site / page).parent.joinpath(unquote(href)).resolve()
            for href in re.findall(r'href="([^"]*documents/[^"]*)"', html)
        }
        assert (site / "projects/web/documents" / name).resolve() in targets, page
        assert all(not href.startswith(("javascript:", "-")) for href in re.findall(r'href="([^"]*)"', html))


def test_the_site_takes_a_document_path_exactly_as_listed():
    # A leading "./" names the same file; nothing is trimmed, and a backslash is never a separator.
    assert site_module._safe_doc_path("./brief.md") == "brief.md"
    assert site_module._safe_doc_path(" brief.md") == " brief.md"
    assert site_module._safe_doc_path("a\\b.md") is None
    assert site_module._safe_doc_path("sub/.hidden") is None
