"""`python bench/run.py`: how fast and lean Worktrail is at 1,000 and 10,000 tasks, against Hugo and MkDocs.

For each size it generates the workspace (`bench/generate.py`, reused when already there), then
measures wall time and peak memory (the largest resident set of the process tree, from GNU
`time`'s `%M`), the median of `--runs` runs, of:

- cold `validate` (no Worktrail cache), warm `validate` (cache filled, nothing changed);
- full `build` of the 3 audiences (no cache, empty output), a rebuild with nothing changed, and a
  rebuild after editing one task (its title changes, so its page, the lists, search and the trail page do);
- a build after one new commit with the cache of the previous build kept (what CI sees after a
  push: each run adds one more commit on top, in a fresh checkout, every file just written; only the
  new commit is walked for the trail);
- `audit` of the whole history (no cache), and after one new commit with the kept verdicts of the
  previous audit; `worktrail --help`;
- Hugo building the same task pages (Markdown with front matter, comments included) as ONE site,
  each run right after one of the full builds (both measured in the same minutes), and, at 1,000
  tasks only, MkDocs (its navigation makes it roughly quadratic).

Outputs a run starts without (sites, caches) are moved aside, not deleted, until every run is
measured (`set_aside`): on some file systems, files created just after thousands were deleted cost
far more system time, which would land on whichever tool ran next.

The package under test is byte-compiled first, as `pip install` leaves it (`compile_package`).
It prints the ratios and writes `bench/RESULTS.md` (machine, versions, load, every figure, each
target met or missed; `--profile` adds the top cProfile entries of the slow steps). Benchmarks never
run in the test suite. Needs `hugo` on PATH (`apt-get install -y hugo`) and MkDocs in the venv named
by `--mkdocs` (default `/tmp/venv-mkdocs`: `python -m venv /tmp/venv-mkdocs && /tmp/venv-mkdocs/bin/pip
install mkdocs`); a missing tool is reported, not fatal.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
import ssg  # noqa: E402

EPOCH = "1767225600"  # 2026-01-01: the same build date in every run, so rebuilds can be skipped


@dataclass
class Measure:
    """The runs of one step: wall seconds and peak resident memory (MiB) of each."""

    name: str
    walls: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    failed: str | None = None

    @property
    def wall(self) -> float:
        return statistics.median(self.walls) if self.walls else float("nan")

    @property
    def peak(self) -> float:
        return statistics.median(self.peaks) if self.peaks else float("nan")


TIME = shutil.which("time", path="/usr/bin:/bin")


def run(command: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, float]:
    """Run a command to its end; (wall seconds, peak RSS in MiB of its process tree). Fails loudly.

    The peak comes from GNU time (`%M`, the largest resident set of the command and its waited-for
    children) when installed: its own small process forks the command. Without it, `wait4`'s figure
    also counts this harness's memory, copied into the child before it runs the command.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        wrapped = [TIME, "-f", "%M", "-o", report.name, *command] if TIME else list(command)
        start = time.perf_counter()
        process = subprocess.Popen(
            wrapped,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert process.stderr is not None
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited {process.returncode}: {errors.decode(errors='replace')[-2000:]}"
            )
        peak_kib = usage.ru_maxrss
        if TIME:
            lines = [line for line in report.read().splitlines() if line.strip().isdigit()]
            peak_kib = int(lines[-1]) if lines else peak_kib
    return wall, peak_kib / 1024


HUGO = shutil.which("hugo")


def set_aside(path: Path, work: Path) -> None:
    """Move `path` (if there) into `work`'s trash folder; `empty_trash` deletes it after the last run.

    Deleting thousands of files just before a measured run slows the run down on some file systems:
    ext4 without a journal (as on this benchmark's machine) skips, for each new file, the inodes deleted
    in the last minute (five more while their table is unwritten), so a build right after `rm -rf` of
    the last one spent seconds of system time in the kernel's inode search, Hugo's as much as ours.
    Moved aside, nothing is deleted while runs are measured.
    """
    if not os.path.lexists(path):
        return
    trash = work / TRASH
    trash.mkdir(parents=True, exist_ok=True)
    os.rename(path, Path(tempfile.mkdtemp(prefix="set-aside-", dir=trash)) / path.name)


def empty_trash(work: Path) -> None:
    """Delete what `set_aside` moved there."""
    shutil.rmtree(work / TRASH, ignore_errors=True)


TRASH = "trash"


class Bench:
    """The measurements of one workspace size."""

    def __init__(self, size: int, work: Path, runs: int, worktrail: str, mkdocs: Path | None) -> None:
        self.size = size
        self.work = work
        self.runs = runs
        self.worktrail = worktrail
        self.mkdocs = mkdocs
        self.workspace = work / f"ws-{size}"
        self.cache = work / f"cache-{size}"
        self.out = work / f"site-{size}"
        self.env = {"SOURCE_DATE_EPOCH": EPOCH, "WORKTRAIL_CACHE_DIR": str(self.cache)}
        self.results: dict[str, Measure] = {}
        self.commits = 0
        self.generated_head = ""
        # Commits made by the benchmark get fixed dates, like the generated ones.
        self.git_env = {
            **os.environ,
            "GIT_COMMITTER_DATE": "2026-01-01T12:00:00Z",
            "GIT_AUTHOR_DATE": "2026-01-01T12:00:00Z",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "bench@bench.example",
        }

    def wt(self, *args: str) -> list[str]:
        return [self.worktrail, "-C", str(self.workspace), *args]

    def measure(
        self, name: str, command: Callable[[], Sequence[str]], before: Callable[[], None] | None = None
    ) -> None:
        self.runs_of(name, command, before, self.runs)

    def runs_of(
        self, name: str, command: Callable[[], Sequence[str]], before: Callable[[], None] | None, runs: int
    ) -> None:
        measure = self.results.setdefault(name, Measure(name))
        if measure.failed:
            return
        for _ in range(runs):
            if before is not None:
                before()
            try:
                wall, peak = run(command(), env=self.env)
            except (RuntimeError, OSError) as exc:
                measure.failed = str(exc)
                print(f"  {name}: FAILED {exc}", flush=True)
                return
            measure.walls.append(wall)
            measure.peaks.append(peak)
            print(f"  {name}: {wall:.2f} s, {peak:.0f} MiB", flush=True)

    def prepare(self) -> None:
        marker = self.workspace / ".bench-generated"
        if not marker.is_file():
            shutil.rmtree(self.workspace, ignore_errors=True)
            self.commits = generate.generate(self.size, self.workspace)
            marker.write_text(str(self.commits), encoding="utf-8")
        self.commits = int(marker.read_text(encoding="utf-8"))
        # The generated history ends at tag bench-generated; steps that commit go back to it.
        if (
            subprocess.run(
                ["git", "-C", str(self.workspace), "rev-parse", "-q", "--verify", "bench-generated"],
                capture_output=True,
            ).returncode
            != 0
        ):
            self.git("tag", "bench-generated")
        self.generated_head = self.git("rev-parse", "bench-generated^{commit}")
        self.git("reset", "-q", "--hard", self.generated_head)
        # Files written seconds ago are "racy" to the cache: date them back, as a checkout hours old would be.
        past = time.time() - 3600
        for path in self.workspace.rglob("*"):
            if ".git" not in path.parts:
                os.utime(path, (past, past), follow_symlinks=False)

    def discard(self, path: Path) -> None:
        """Move an output out of the way (`set_aside`), for the next run to start without it."""
        set_aside(path, self.work)

    def clear_cache(self) -> None:
        self.discard(self.cache)

    def clear_all(self) -> None:
        self.clear_cache()
        self.discard(self.out)

    def edit_one_task(self) -> None:
        task = self.workspace / "projects" / "p01-alpha" / "tasks" / "ALPHA-7.md"
        text = task.read_text(encoding="utf-8")
        lines = text.split("\n")
        for index, line in enumerate(lines):
            if line.startswith("title: "):
                lines[index] = f"title: Edited at {time.time_ns()}"
                break
        task.write_text("\n".join(lines), encoding="utf-8")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(self.workspace), *args], check=True, capture_output=True, text=True, env=self.git_env
        )
        return done.stdout.strip()

    def new_commit(self) -> None:
        """One new commit editing one task, on top of the last one, in a fresh checkout: what a CI run after
        a push sees (the previous run's HEAD is the new commit's parent, and every file of the workspace
        was just written by the clone, so the cache knows the files by content only). `worktrail_steps`
        goes back to the generated history before the first and after the last."""
        self.edit_one_task()
        task = "projects/p01-alpha/tasks/ALPHA-7.md"
        # By the person who last changed the task (a manager of its project), so the audit finds it clean.
        author = self.git("log", "-1", "--format=%an <%ae>", "--", task)
        self.git("commit", "-q", f"--author={author}", "-m", "ALPHA-7: retitled", "--", task)
        now = time.time()
        for path in self.workspace.rglob("*"):
            if ".git" not in path.parts:
                os.utime(path, (now, now), follow_symlinks=False)

    def worktrail_steps(self) -> None:
        build = lambda: self.wt("build", "--out", str(self.out))  # noqa: E731
        audit = lambda: self.wt("audit")  # noqa: E731
        self.measure("validate (cold)", lambda: self.wt("validate"), before=self.clear_cache)
        run(self.wt("validate"), env=self.env)
        self.measure("validate (warm)", lambda: self.wt("validate"))
        # Each full build alternates with Hugo's build of its one site: both measured in the same minutes.
        hugo = self.hugo_site()
        for _ in range(self.runs):
            self.runs_of("build (full, 3 audiences)", build, before=self.clear_all, runs=1)
            if hugo is not None:
                folder, public = hugo
                command = [HUGO or "hugo", "--quiet", "-s", str(folder), "-d", str(public)]
                self.runs_of("hugo (1 site)", lambda: command, before=lambda: self.discard(public), runs=1)  # noqa: B023
        self.measure("rebuild (nothing changed)", build)
        self.measure("rebuild (one task edited)", build, before=self.edit_one_task)
        self.git("reset", "-q", "--hard", self.generated_head)
        # CI after a push: the cache of the previous run is there, the history has one more commit.
        self.measure("build after one new commit (cache kept)", build, before=self.new_commit)
        self.git("reset", "-q", "--hard", self.generated_head)
        self.measure("audit (whole history)", audit, before=self.clear_cache)
        self.measure("audit after one new commit (cache kept)", audit, before=self.new_commit)
        self.git("reset", "-q", "--hard", self.generated_head)
        self.measure("worktrail --help", lambda: [self.worktrail, "--help"])

    def hugo_site(self) -> tuple[Path, Path] | None:
        """Hugo's site of the same task pages (its folder and output), written once; None without Hugo."""
        if HUGO is None:
            self.results["hugo (1 site)"] = Measure("hugo (1 site)", failed="hugo is not installed")
            return None
        folder = self.work / f"hugo-{self.size}"
        if not (folder / "hugo.toml").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            ssg.write_hugo_site(ssg.task_pages(self.workspace), folder)
        return folder, folder / "public"

    def other_generators(self) -> None:
        """MkDocs (at 1,000 tasks only); Hugo runs beside the full builds (`worktrail_steps`)."""
        if self.size > 1000:
            return
        pages = ssg.task_pages(self.workspace)
        mkdocs = self.mkdocs / "bin" / "mkdocs" if self.mkdocs is not None else None
        if mkdocs is None or not mkdocs.is_file():
            self.results["mkdocs (1 site)"] = Measure("mkdocs (1 site)", failed=f"mkdocs not found at {mkdocs}")
            return
        folder = self.work / f"mkdocs-{self.size}"
        if not (folder / "mkdocs.yml").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            ssg.write_mkdocs_site(pages, folder)
        out = folder / "site"
        self.measure(
            "mkdocs (1 site)",
            lambda: [str(mkdocs), "build", "-q", "-f", str(folder / "mkdocs.yml"), "-d", str(out)],
            before=lambda: self.discard(out),
        )


# ================================================================================== report


def _capture(command: Sequence[str]) -> str:
    try:
        return subprocess.run(list(command), capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "not installed"


def compile_package() -> None:
    """Byte-compile the worktrail package the runs import, as `pip install` does when it installs it.

    An editable install or a copy on PYTHONPATH has no bytecode, and where PYTHONDONTWRITEBYTECODE is
    set (as in some sandboxes and containers) Python never writes it: every run would compile the
    package's modules from source first (~0.1 s of each build), which no installed tool does.
    """
    code = (
        "import compileall, os, sys, worktrail;"
        "sys.exit(0 if compileall.compile_dir(os.path.dirname(worktrail.__file__), quiet=1) else 1)"
    )
    if subprocess.run([sys.executable, "-c", code], check=False).returncode != 0:
        print("warning: the worktrail package could not be byte-compiled; runs compile it from source", flush=True)


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as handle:
        memory = handle.readline().split(":", 1)[1].strip()
    return {
        "cpus (nproc)": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "worktrail": _capture([sys.executable, "-c", "import worktrail; print(worktrail.__version__)"]),
        "PyYAML C loader": _capture([sys.executable, "-c", "import yaml; print(hasattr(yaml, 'CSafeLoader'))"]),
        "git": _capture(["git", "--version"]),
        "hugo": _capture(["hugo", "version"]).split(" BuildDate")[0] if shutil.which("hugo") else "not installed",
    }


@dataclass
class Target:
    label: str
    value: float
    limit: float
    unit: str

    @property
    def met(self) -> bool:
        return self.value <= self.limit


def targets(benches: dict[int, Bench]) -> list[Target]:
    """The issue's targets, from the largest size measured (and 1,000 for MkDocs)."""
    big = benches[max(benches)]
    r = big.results
    out: list[Target] = []

    def wall(name: str, bench: Bench = big) -> float:
        measure = bench.results.get(name)
        return measure.wall if measure is not None and not measure.failed else float("nan")

    full = wall("build (full, 3 audiences)")
    out.append(Target("full build of 3 audiences ≤ 2 × Hugo (1 site)", full / wall("hugo (1 site)"), 2.0, "×"))
    out.append(Target("stretch: full build ≤ 1.5 × Hugo", full / wall("hugo (1 site)"), 1.5, "×"))
    if 1000 in benches:
        small = benches[1000]
        ratio = wall("mkdocs (1 site)", small) / wall("build (full, 3 audiences)", small)
        # Stated as "our build ≤ MkDocs / 3", so that every target reads "value ≤ limit".
        out.append(Target("MkDocs ≥ 3 × slower than our full build (1,000 tasks)", 1 / ratio, 1 / 3, "× MkDocs"))
    out.append(
        Target("rebuild, nothing changed ≤ 10 % of a full build", wall("rebuild (nothing changed)") / full, 0.10, "")
    )
    out.append(
        Target("rebuild after one task edit ≤ 15 % of a full build", wall("rebuild (one task edited)") / full, 0.15, "")
    )
    out.append(Target("cold validate ≤ 5 s", wall("validate (cold)"), 5.0, "s"))
    out.append(Target("warm validate ≤ 1 s", wall("validate (warm)"), 1.0, "s"))
    out.append(Target(f"audit of {big.commits:,} commits ≤ 10 s", wall("audit (whole history)"), 10.0, "s"))
    peak = max((m.peak for m in r.values() if m.peaks and not m.name.startswith(("hugo", "mkdocs"))), default=0.0)
    out.append(Target("peak memory ≤ 1 GB (1024 MiB)", peak, 1024.0, "MiB"))
    if 1000 in benches and big.size != 1000:
        small = benches[1000]
        growth = max(
            (
                wall(name) / wall(name, small)
                for name in ("validate (cold)", "build (full, 3 audiences)", "audit (whole history)")
            ),
            default=float("nan"),
        )
        out.append(Target("time from 1,000 to 10,000 tasks grows ≤ 11 ×", growth, 11.0, "×"))
    out.append(Target("worktrail --help ≤ 150 ms", wall("worktrail --help") * 1000, 150.0, "ms"))
    return out


def _fmt(target: Target) -> str:
    value = target.value
    if target.unit == "":
        return f"{value:.1%}" if value == value else "n/a"
    if target.unit == "× MkDocs":
        return f"{value:.2f} × MkDocs (MkDocs is {1 / value:.1f} × slower)" if value == value and value else "n/a"
    return f"{value:.2f} {target.unit}" if value == value else "n/a"


def write_results(
    path: Path, benches: dict[int, Bench], info: dict[str, str], load: tuple[str, str], profiles: str
) -> None:
    lines = [
        "# Benchmark results",
        "",
        "Produced by `python bench/run.py` (see its docstring); every figure is the median of "
        f"{next(iter(benches.values())).runs} runs. Wall time in seconds, peak memory = the largest resident set of "
        "the command's process tree (MiB). `build` runs with `SOURCE_DATE_EPOCH` fixed.",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in info.items()),
        f"- load average (1, 5, 15 min) at start: {load[0]}; at end: {load[1]}",
        "",
        "## Figures",
        "",
        "| step | " + " | ".join(f"{size:,} tasks: wall s | peak MiB" for size in benches) + " |",
        "|---|" + "---|---|" * len(benches),
    ]
    names: list[str] = []
    for bench in benches.values():
        names += [name for name in bench.results if name not in names]
    for name in names:
        cells = []
        for bench in benches.values():
            measure = bench.results.get(name)
            if measure is None:
                cells += ["–", "–"]
            elif measure.failed:
                cells += [f"failed: {measure.failed[:60]}", "–"]
            else:
                cells += [f"{measure.wall:.2f}", f"{measure.peak:.0f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Targets (2-core machine, largest size measured)",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for target in targets(benches):
        lines.append(f"| {target.label} | {_fmt(target)} | {'yes' if target.met else '**no**'} |")
    analysis = HERE / "analysis.md"
    if analysis.is_file():
        # The hand-written part: where the time goes and what would close each missed target.
        lines += ["", analysis.read_text(encoding="utf-8").rstrip()]
    if profiles:
        lines += ["", "## Profiles", "", profiles]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


PROFILED = {
    "history walk of the trail (`trail.read_candidates`, run by `build` in a worker)": (
        "from worktrail.render_pool import light_audiences; from worktrail.trail import read_candidates;"
        "audiences = light_audiences(ROOT)",
        "read_candidates(ROOT, audiences)",
    ),
    "sites of the 3 audiences without the trail (`site.build_sites`)": (
        "import shutil; from worktrail.validate import validate_workspace; from worktrail.site import build_sites;"
        "shutil.rmtree(OUT, ignore_errors=True); _, result = validate_workspace(ROOT)",
        "build_sites(result.workspace, OUT, root=ROOT, epoch=1767225600)",
    ),
    "cold validate (`validate.validate_workspace`)": (
        "from worktrail.validate import validate_workspace",
        "validate_workspace(ROOT)",
    ),
    "audit (`audit.run_audit`)": ("from worktrail.audit import run_audit", "run_audit(ROOT, None)"),
}


def profile(bench: Bench, top: int) -> str:
    """The top cProfile entries (own time, then cumulative) of each slow part, at this size."""
    out: list[str] = []
    for title, (setup, statement) in PROFILED.items():
        stats = bench.work / f"profile-{bench.size}-{len(out)}.prof"
        code = (
            f"import cProfile, time; from pathlib import Path; ROOT = Path({str(bench.workspace)!r}).resolve();"
            f"OUT = Path({str(bench.work / 'profile-site')!r}); {setup}; start = time.perf_counter();"
            f"cProfile.run({statement!r}, {str(stats)!r}); print(round(time.perf_counter() - start, 1))"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        seconds = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "failed: " + done.stderr[-300:]
        report = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import pstats; s = pstats.Stats({str(stats)!r}); s.sort_stats('tottime').print_stats({top});"
                f"s.sort_stats('cumulative').print_stats({top})",
            ],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        kept = [
            line[:160]
            for line in report.splitlines()
            if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced", "/tmp/", "Thu", "Fri"))
        ]
        out += [
            f"### {title}, {bench.size:,} tasks: {seconds} s under cProfile",
            "",
            "```",
            *kept,
            "```",
            "",
        ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/worktrail-bench"), help="workspaces, caches and sites")
    parser.add_argument("--mkdocs", type=Path, default=Path("/tmp/venv-mkdocs"), help="venv with mkdocs installed")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--profile", action="store_true", help="add cProfile tables of the slow parts (largest size)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    worktrail = shutil.which("worktrail", path=str(Path(sys.executable).parent)) or shutil.which("worktrail")
    if worktrail is None:
        parser.error("the worktrail command is not installed next to this Python")
    compile_package()
    args.work.mkdir(parents=True, exist_ok=True)
    # Left by an interrupted run (deleted now, before any run is measured; see `set_aside`).
    empty_trash(args.work)
    info = machine()
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    benches: dict[int, Bench] = {}
    for size in sorted(args.sizes):
        bench = Bench(size, args.work, args.runs, worktrail, args.mkdocs)
        print(f"== {size:,} tasks", flush=True)
        bench.prepare()
        bench.worktrail_steps()
        bench.other_generators()
        benches[size] = bench
    load_end = " ".join(f"{x:.2f}" for x in os.getloadavg())
    empty_trash(args.work)
    profiles = profile(benches[max(benches)], args.top) if args.profile else ""
    print("\n== ratios")
    for target in targets(benches):
        print(f"  {target.label}: {_fmt(target)} ({'met' if target.met else 'MISSED'})")
    write_results(args.results, benches, info, (load_start, load_end), profiles)
    raw = {
        size: {name: {"walls": m.walls, "peaks": m.peaks, "failed": m.failed} for name, m in b.results.items()}
        for size, b in benches.items()
    }
    (args.work / "results.json").write_text(json.dumps(raw, indent=2), encoding="utf-8")
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
