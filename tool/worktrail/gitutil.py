"""Running git safely: fixed argument lists, no shell, and settings that keep a repository from running programs.

A repository's own configuration (`.git/config`, files it includes, an embedded bare repository) is not
trusted: every call overrides the settings that can start a program (hooks, fsmonitor, pager, external
diff, textconv, signature programs), forbids network transports, ignores replace refs, and clears the
environment variables that would redirect git to another repository or inject configuration.
Revisions typed by users are validated before they reach git, so nothing can be read as an option.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# `-c` settings given on every call. Command-line settings win over every configuration file.
SAFE_CONFIG: tuple[str, ...] = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.pager=cat",
    "diff.external=",
    "protocol.allow=never",
    "safe.bareRepository=explicit",
    "log.showSignature=false",
    "log.follow=false",
    "gc.auto=0",
    "maintenance.auto=false",
    # Signatures are verified only with ssh-keygen against an allowed-signers file we are given;
    # OpenPGP and X.509 programs are replaced by `false`, so such signatures never verify.
    "gpg.program=false",
    "gpg.x509.program=false",
    "gpg.ssh.program=ssh-keygen",
)

# Environment variables kept from the caller; every other GIT_* variable is dropped, since they can
# point git at another repository (GIT_DIR, GIT_INDEX_FILE...) or inject configuration.
_KEPT_GIT_VARIABLES = frozenset({"GIT_EXEC_PATH", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM"})

_OID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
# Characters a revision may use: names, ids, `~N`, `^N`, `@{N}`.
_REVISION_CHARS = re.compile(r"^[A-Za-z0-9._/@{}~^+-]+$")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
# Requests written to cat-file before its answers are read: small enough to fit in a pipe buffer.
_BATCH = 256
# Most bytes read at once from a command whose output is used as it comes (a pipe holds 64 KiB).
_STREAM_PIECE = 1 << 20


class GitError(Exception):
    """A git command failed, or git could not be used at all."""


class GitUnavailable(GitError):
    """No git program, or the folder is not inside a Git repository: there is no history to read."""


class RevisionError(ValueError):
    """A revision or range typed by a user that is refused (bad syntax) or names no commit."""


def is_oid(text: str) -> bool:
    """Whether `text` is a full object id (SHA-1 or SHA-256, lowercase hex)."""
    return bool(_OID.match(text))


def git_program() -> str | None:
    """The absolute path of the git program, or None when git is not installed."""
    return shutil.which("git")


def git_env() -> dict[str, str]:
    """The environment for git: the caller's, minus repository-redirecting GIT_* variables, plus safe settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEPT_GIT_VARIABLES}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_NO_REPLACE_OBJECTS="1",
        GIT_NO_LAZY_FETCH="1",
        GIT_LITERAL_PATHSPECS="1",
        # A repository's info/grafts could otherwise rewrite parents (and so the trusted start).
        GIT_GRAFT_FILE="/dev/null",
        GIT_ATTR_NOSYSTEM="1",
        GIT_PAGER="cat",
        LC_ALL="C",
    )
    return env


def git_command(args: Sequence[str], config: Sequence[str] = ()) -> list[str]:
    """The full argument list for one git call (raises GitUnavailable when git is missing)."""
    program = git_program()
    if program is None:
        raise GitUnavailable("git is not installed (no `git` program on PATH)")
    command = [program, "--no-pager", "--no-replace-objects", "--literal-pathspecs"]
    for setting in (*SAFE_CONFIG, *config):
        command += ["-c", setting]
    return [*command, *args]


def run_git(
    cwd: Path,
    args: Sequence[str],
    config: Sequence[str] = (),
    ok_codes: Sequence[int] = (0,),
    feed: bytes | None = None,
) -> bytes:
    """Run one git command in `cwd` (fed `feed` on standard input) and return its standard output; GitError on any other exit code."""
    command = git_command(args, config)
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=git_env(),
            capture_output=True,
            input=feed,
            stdin=subprocess.DEVNULL if feed is None else None,
            check=False,
        )
    except OSError as exc:
        raise GitUnavailable(f"cannot run git: {exc.strerror or exc}") from None
    if done.returncode not in ok_codes:
        raise GitError(_first_line(done.stderr) or f"git {args[0]} failed with exit code {done.returncode}")
    return done.stdout


def _start_git(cwd: Path, args: Sequence[str], stdout: IO[bytes] | int, stderr: IO[bytes]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            git_command(args), cwd=cwd, env=git_env(), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr
        )
    except OSError as exc:
        raise GitUnavailable(f"cannot run git: {exc.strerror or exc}") from None


def _finish_git(process: subprocess.Popen[bytes], args: Sequence[str], stderr: IO[bytes]) -> None:
    """Wait for a started command; GitError (its first line of standard error) when it failed."""
    if process.wait() != 0:
        stderr.seek(0)
        raise GitError(_first_line(stderr.read()) or f"git {args[0]} failed with exit code {process.returncode}")


def _stop_git(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()


def stream_git(cwd: Path, args: Sequence[str]) -> Generator[bytes, None, None]:
    """Run one git command in `cwd`, yielding its standard output piece by piece as git writes it.

    GitError (after the last piece) when it failed; closing the iterator early stops git.
    """
    # Standard error goes to a file: unread, a pipe could fill and block git.
    with tempfile.TemporaryFile() as stderr:
        process = _start_git(cwd, args, subprocess.PIPE, stderr)
        try:
            stdout = process.stdout
            assert isinstance(stdout, io.BufferedReader)
            with stdout:
                while piece := stdout.read1(_STREAM_PIECE):
                    yield piece
            _finish_git(process, args, stderr)
        finally:
            _stop_git(process)


class GitJob:
    """One git command running beside the caller's work; `result()` waits for its standard output."""

    def __init__(self, cwd: Path, args: Sequence[str]) -> None:
        self._args = list(args)
        # Output to files, so that git never waits for a reader while the caller does other work.
        self._stdout = tempfile.TemporaryFile()  # noqa: SIM115 - open until result() or close()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - open until result() or close()
        try:
            self._process: subprocess.Popen[bytes] | None = _start_git(cwd, args, self._stdout, self._stderr)
        except BaseException:
            self.close()
            raise

    def result(self) -> bytes:
        """Its standard output; GitError when it failed."""
        process = self._process
        if process is None:
            raise GitError(f"git {self._args[0]} was stopped")
        try:
            _finish_git(process, self._args, self._stderr)
            self._stdout.seek(0)
            return self._stdout.read()
        finally:
            self.close()

    def close(self) -> None:
        """Stop git if it still runs, and drop its output."""
        process, self._process = getattr(self, "_process", None), None
        if process is not None:
            _stop_git(process)
        self._stdout.close()
        self._stderr.close()


def _first_line(raw: bytes) -> str:
    for line in raw.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line:
            return line.removeprefix("fatal: ").removeprefix("error: ")
    return ""


# ----------------------------------------------------------------------------------------- revisions


def validate_revision(text: str) -> str:
    """A single revision (branch, tag, id, `HEAD~3`, `main^2`); raises RevisionError otherwise."""
    if not text:
        raise RevisionError("an empty revision")
    if _CONTROL_OR_SPACE.search(text):
        raise RevisionError(f"revision {text!r} contains a space or a control character")
    if text.startswith("-"):
        raise RevisionError(f"revision {text!r} starts with '-': revisions are never options")
    if not _REVISION_CHARS.match(text):
        bad = sorted({c for c in text if not _REVISION_CHARS.match(c)})
        raise RevisionError(f"revision {text!r} contains {' '.join(repr(c) for c in bad)}, not allowed in a revision")
    if ".." in text:
        raise RevisionError(f"revision {text!r} contains '..'")
    return text


@dataclass(frozen=True)
class RevRange:
    """A parsed `REV`, `A..B` or `A...B` (an empty side means HEAD, as in git)."""

    base: str | None
    tip: str
    symmetric: bool = False


def parse_range(text: str | None) -> RevRange:
    """Parse a user's revision range; RevisionError when it is not one."""
    if text is None:
        return RevRange(None, "HEAD")
    if text.startswith("-"):
        raise RevisionError(f"revision range {text!r} starts with '-': revisions are never options")
    if _CONTROL_OR_SPACE.search(text):
        raise RevisionError(f"revision range {text!r} contains a space or a control character")
    for operator, symmetric in (("...", True), ("..", False)):
        if operator in text:
            base, _, tip = text.partition(operator)
            base, tip = base or "HEAD", tip or "HEAD"
            return RevRange(validate_revision(base), validate_revision(tip), symmetric)
    return RevRange(None, validate_revision(text))


# ----------------------------------------------------------------------------------------- repository


@dataclass(frozen=True)
class Repository:
    """A Git work tree: its top folder, the workspace's folder inside it ('' or 'a/b/'), and its git dir."""

    top: Path
    prefix: str
    git_dir: Path
    shallow: bool

    def run(
        self,
        args: Sequence[str],
        config: Sequence[str] = (),
        ok_codes: Sequence[int] = (0,),
        feed: bytes | None = None,
    ) -> bytes:
        """Run git at the top of the work tree (fed `feed`); GitError when it fails."""
        return run_git(self.top, args, config, ok_codes, feed)

    def stream(self, args: Sequence[str]) -> Generator[bytes, None, None]:
        """Run git at the top of the work tree, yielding its output as it comes (see `stream_git`)."""
        return stream_git(self.top, args)

    def start(self, args: Sequence[str]) -> GitJob:
        """Start git at the top of the work tree; its output is read later (`GitJob.result`)."""
        return GitJob(self.top, args)

    def to_repo_path(self, path: str) -> str:
        """A workspace-relative path as a path from the repository's top."""
        return f"{self.prefix}{path}" if path else (self.prefix.rstrip("/") or ".")

    def from_repo_path(self, path: str) -> str | None:
        """A repository path relative to the workspace folder, or None when it lies outside."""
        if not self.prefix:
            return path
        return path[len(self.prefix) :] if path.startswith(self.prefix) else None

    def resolve(self, revision: str) -> str | None:
        """The full id of the commit a revision names, or None when it names none."""
        validate_revision(revision)
        try:
            out = self.run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"])
        except GitUnavailable:
            raise
        except GitError:
            return None
        commit = out.decode("ascii", "replace").strip()
        return commit if is_oid(commit) else None

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of two commit ids, or None when they share no history."""
        if not (is_oid(a) and is_oid(b)):
            raise GitError("merge_base needs full commit ids")
        out = self.run(["merge-base", "--end-of-options", a, b], ok_codes=(0, 1))
        commit = out.decode("ascii", "replace").strip()
        return commit if is_oid(commit) else None


def find_repository(folder: Path) -> Repository:
    """The repository holding `folder`; GitUnavailable when there is none (or no git)."""
    try:
        out = run_git(
            folder,
            ["rev-parse", "--show-toplevel", "--show-prefix", "--absolute-git-dir", "--is-shallow-repository"],
        )
    except GitUnavailable:
        raise
    except GitError as exc:
        raise GitUnavailable(f"{folder} is not inside a Git repository ({exc})") from None
    lines = out.decode("utf-8", "surrogateescape").split("\n")
    if len(lines) < 4:
        raise GitUnavailable(f"{folder}: git rev-parse gave an unexpected answer")
    top, prefix, git_dir, shallow = lines[:4]
    return Repository(top=Path(top), prefix=prefix, git_dir=Path(git_dir), shallow=shallow.strip() == "true")


# ----------------------------------------------------------------------------------------- blobs


class BlobReader:
    """One long-lived `git cat-file --batch` process answering every blob request of a run."""

    def __init__(self, repo: Repository, limit: int | None = None) -> None:
        self.repo = repo
        self.limit = limit
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            try:
                self._process = subprocess.Popen(
                    git_command(["cat-file", "--batch"]),
                    cwd=self.repo.top,
                    env=git_env(),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    # Unread standard error could fill its pipe and block git; a missing blob is
                    # reported on standard output anyway.
                    stderr=subprocess.DEVNULL,
                )
            except OSError as exc:
                raise GitUnavailable(f"cannot run git: {exc.strerror or exc}") from None
        return self._process

    def read(self, oids: Iterable[str]) -> dict[str, bytes]:
        """Contents of these blobs; ids that are missing, not blobs, or larger than `limit` are left out."""
        wanted = list(dict.fromkeys(oids))
        for oid in wanted:
            if not is_oid(oid):
                raise GitError(f"not a full object id: {oid!r}")
        out: dict[str, bytes] = {}
        for start in range(0, len(wanted), _BATCH):
            out.update(self._read_batch(wanted[start : start + _BATCH]))
        return out

    def _read_batch(self, oids: list[str]) -> dict[str, bytes]:
        process = self._start()
        assert process.stdin is not None and process.stdout is not None
        try:
            # All requests first (they fit in the pipe buffer), then every answer.
            process.stdin.write(b"".join(oid.encode("ascii") + b"\n" for oid in oids))
            process.stdin.flush()
        except OSError as exc:
            raise GitError(f"git cat-file stopped: {exc}") from None
        out: dict[str, bytes] = {}
        for oid in oids:
            header = process.stdout.readline()
            if not header:
                raise GitError("git cat-file stopped unexpectedly")
            parts = header.rstrip(b"\n").split(b" ")
            if len(parts) != 3:
                continue  # "<oid> missing"
            kind, size = parts[1], int(parts[2])
            if kind != b"blob" or (self.limit is not None and size > self.limit):
                _discard(process.stdout, size + 1)
                continue
            out[oid] = _read_exactly(process.stdout, size)
            _read_exactly(process.stdout, 1)  # the newline after the content
        return out

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()
            if process.stdout is not None:
                process.stdout.close()
            process.wait()


def _discard(stream: IO[bytes], size: int) -> None:
    while size > 0:
        chunk = stream.read(min(size, 1 << 20))
        if not chunk:
            raise GitError("git cat-file stopped unexpectedly")
        size -= len(chunk)


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise GitError("git cat-file stopped unexpectedly")
    return data
