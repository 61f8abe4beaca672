"""Time `passerelles import` on the 17,717 local authorities + 23,322 twinnings of issue 11.

    python bench/import_bench.py [--runs 3] [--postgres URL] [--tsv TSV] [--files FOLDER]

The files are built by `bench/import_files.py` from the real Wikidata sister-city network (TSV
default: `datasets/wikidata_sister_cities.tsv`, see `datasets/README.md`) and
kept in `bench/.cache/` (git-ignored; rebuilt when the TSV or the builder is newer).

Each run migrates a fresh database (an SQLite file in a temporary folder; with `--postgres URL`,
also a scratch PostgreSQL database created beside URL's and dropped afterwards, as
tests/databases.py does) and times, each as its own process, exactly what a developer types:

    passerelles import actors.csv --source bench                    # dry run, empty database
    passerelles import actors.csv --source bench --apply
    passerelles import twinnings.csv --source bench                 # dry run, actors present
    passerelles import twinnings.csv --source bench --apply
    passerelles import actors.csv --source bench --apply            # again: all unchanged
    passerelles import twinnings.csv --source bench --apply         # again: all unchanged

(a dry run of the twinnings before the actors are applied would refuse every row: their parties
do not exist yet). Each command also gets `--report FILE`, whose summary the benchmark checks
(every row created, then every row unchanged); writing it costs a fraction of a second. Times
are wall-clock, process start included; `import s` is the importer's own time from its summary.

After the first applies and after the second, the database must hold exactly the rows created:
live actors, conventions, their parties, one event per record, one file id per row; the second
applies must add nothing. The target (issue 11): apply of both ≤ 30 s, dry run of both ≤ 15 s,
on SQLite on a 2-core machine.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench import import_files  # noqa: E402

SOURCE = "bench"
APPLY_TARGET, DRY_RUN_TARGET = 30.0, 15.0


@dataclass(frozen=True)
class Step:
    name: str
    file: str  # "actors" or "twinnings"
    apply: bool
    expect: str  # the action every row must report


STEPS = (
    Step("dry run actors (empty db)", "actors", False, "create"),
    Step("apply actors", "actors", True, "create"),
    Step("dry run twinnings", "twinnings", False, "create"),
    Step("apply twinnings", "twinnings", True, "create"),
    Step("re-apply actors", "actors", True, "unchanged"),
    Step("re-apply twinnings", "twinnings", True, "unchanged"),
)
TOTALS = {
    "dry run of both": ("dry run actors (empty db)", "dry run twinnings"),
    "apply of both": ("apply actors", "apply twinnings"),
    "re-apply of both": ("re-apply actors", "re-apply twinnings"),
}


@dataclass
class Run:
    backend: str
    seconds: dict[str, float] = field(default_factory=dict)
    importer_seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    # name → (seconds, bytes, lines or features) of an export downloaded after the imports
    exports: dict[str, tuple[float, int, int]] = field(default_factory=dict)

    def total(self, name: str) -> float:
        return sum(self.seconds[step] for step in TOTALS[name])


def command() -> list[str]:
    """The `passerelles` console script of this interpreter's environment, or its module."""
    script = Path(sys.executable).parent / "passerelles"
    return [str(script)] if script.exists() else [sys.executable, "-m", "services.registry"]


def files(tsv: Path, folder: Path) -> import_files.BuiltFiles:
    """The two files, rebuilt unless the cached ones are newer than the TSV and the builder."""
    actors, twinnings = folder / "actors.csv", folder / "twinnings.csv"
    sources = max(tsv.stat().st_mtime, Path(import_files.__file__).stat().st_mtime)
    if all(path.exists() and path.stat().st_mtime > sources for path in (actors, twinnings)):
        return import_files.BuiltFiles(
            actors, twinnings, _lines(actors) - 1, _lines(twinnings) - 1, 0, 0, 0
        )
    return import_files.build(tsv, folder)


def _lines(path: Path) -> int:
    with path.open(encoding="utf-8") as file:
        return sum(1 for _ in file)


@contextmanager
def sqlite_database() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="passerelles-bench-"))
    try:
        yield f"sqlite:///{folder / 'bench.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A scratch database next to `admin_url`'s, dropped afterwards."""
    name = f"passerelles_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def run_once(backend: str, url: str, built: import_files.BuiltFiles) -> Run:
    run = Run(backend)
    work = Path(tempfile.mkdtemp(prefix="passerelles-bench-run-"))
    # A folder of its own: no .env of the working tree, the cursor secret kept there.
    env = {**os.environ, "DATABASE_URL": url, "CURSOR_SECRET_FILE": str(work / "cursor-secret")}
    env.pop("PYTHONPATH", None)
    try:
        subprocess.run(
            [sys.executable, "-m", "services.registry", "migrate"],
            cwd=work,
            env=env,
            check=True,
            capture_output=True,
        )
        paths = {"actors": built.actors, "twinnings": built.twinnings}
        counts = {"actors": built.actor_rows, "twinnings": built.twinning_rows}
        for step in STEPS:
            report_path = work / "report.json"
            argv = [*command(), "import", str(paths[step.file]), "--source", SOURCE]
            argv += ["--apply"] if step.apply else []
            argv += ["--report", str(report_path)]
            started = time.perf_counter()
            done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True)
            run.seconds[step.name] = time.perf_counter() - started
            run.rows[step.name] = counts[step.file]
            if done.returncode != 0:
                run.failures.append(f"{step.name}: exit {done.returncode}\n{done.stderr[-2000:]}")
                break
            summary = json.loads(report_path.read_text(encoding="utf-8"))["summary"]
            run.importer_seconds[step.name] = summary["seconds"]
            actions = {a: n for by in summary["counts"].values() for a, n in by.items()}
            if actions != {step.expect: counts[step.file]}:
                run.failures.append(
                    f"{step.name}: expected {counts[step.file]} {step.expect}, got {actions}"
                )
            if step.name == "apply twinnings":
                run.failures += check_database(url, built, "after the applies")
        else:
            run.failures += check_database(url, built, "after the re-applies")
            time_exports(run, env, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return run


EXPORTS = ("actors.csv", "conventions.csv", "map.geojson")


def time_exports(run: Run, env: dict[str, str], work: Path) -> None:
    """Download each export of the imported data from a real registry process, streamed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [*command(), "serve", "--port", str(port)],
        cwd=work,
        env={**env, "WEBHOOK_DISPATCHER": "off"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=300) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    run.failures.append("exports: the registry did not start")
                    return
                time.sleep(0.2)
            for name in EXPORTS:
                started = time.perf_counter()
                size = lines = 0
                with client.stream("GET", f"/v1/exports/{name}") as response:
                    if response.status_code != 200:
                        run.failures.append(f"export {name}: HTTP {response.status_code}")
                        continue
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        # Rows of a CSV file (with its header); features of GeoJSON.
                        lines += chunk.count(b'"Feature"' if name.endswith("json") else b"\n")
                run.exports[name] = (time.perf_counter() - started, size, lines)
    finally:
        server.terminate()
        server.wait(timeout=30)


def check_database(url: str, built: import_files.BuiltFiles, when: str) -> list[str]:
    """The database holds exactly what the files created, with one event per record."""
    actors, twinnings = built.actor_rows, built.twinning_rows
    expected = {
        "live actors": ("SELECT count(*) FROM actor WHERE deleted_at IS NULL", actors),
        "conventions": ("SELECT count(*) FROM convention WHERE deleted_at IS NULL", twinnings),
        "convention parties": ("SELECT count(*) FROM convention_party", 2 * twinnings),
        "actor.created events": (
            "SELECT count(*) FROM event WHERE type = 'actor.created'",
            actors,
        ),
        "convention.created events": (
            "SELECT count(*) FROM event WHERE type = 'convention.created'",
            twinnings,
        ),
        "events": ("SELECT count(*) FROM event", actors + twinnings),
        "file ids": (
            f"SELECT count(*) FROM source_ref WHERE source = '{SOURCE}'",
            actors + twinnings,
        ),
    }
    engine = create_engine(url)
    failures = []
    try:
        with engine.connect() as connection:
            for name, (query, want) in expected.items():
                got = connection.execute(text(query)).scalar_one()
                if got != want:
                    failures.append(f"{when}: {name} = {got}, expected {want}")
    finally:
        engine.dispose()
    return failures


def print_run(title: str, runs: list[Run]) -> None:
    """One table; with several runs, the median of each figure."""
    print(f"\n{title}")
    print(f"{'step':<28}{'rows':>8}{'seconds':>10}{'rows/s':>9}{'import s':>10}")
    for step in STEPS:
        if not all(step.name in run.seconds for run in runs):
            continue
        seconds = statistics.median(run.seconds[step.name] for run in runs)
        inner = [
            run.importer_seconds[step.name] for run in runs if step.name in run.importer_seconds
        ]
        rows = runs[0].rows[step.name]
        inner_text = f"{statistics.median(inner):10.2f}" if inner else f"{'-':>10}"
        print(f"{step.name:<28}{rows:>8}{seconds:>10.2f}{rows / seconds:>9.0f}{inner_text}")
    for name, steps in TOTALS.items():
        if not all(step in run.seconds for run in runs for step in steps):
            continue
        seconds = statistics.median(run.total(name) for run in runs)
        rows = sum(runs[0].rows[step] for step in steps)
        target = {"apply of both": APPLY_TARGET, "dry run of both": DRY_RUN_TARGET}.get(name)
        verdict = (
            ""
            if target is None
            else f"  target ≤ {target:.0f} s: " + ("met" if seconds <= target else "MISSED")
        )
        print(f"{'TOTAL ' + name:<28}{rows:>8}{seconds:>10.2f}{rows / seconds:>9.0f}{verdict}")
    for name in EXPORTS:
        timings = [run.exports[name] for run in runs if name in run.exports]
        if timings:
            seconds = statistics.median(t[0] for t in timings)
            _, size, lines = timings[0]
            print(
                f"{'export ' + name:<28}{lines:>8}{seconds:>10.2f}{lines / seconds:>9.0f}"
                f"{size / 1e6:>9.1f} MB"
            )
    if len(runs) > 1:
        for name in TOTALS:
            values = ", ".join(f"{run.total(name):.2f}" for run in runs if _complete(run, name))
            print(f"  {name} per run: {values}")


def _complete(run: Run, name: str) -> bool:
    return all(step in run.seconds for step in TOTALS[name])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="SQLite runs (default: %(default)s)")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also run once on PostgreSQL, in a scratch database created beside URL's",
    )
    parser.add_argument("--tsv", type=Path, default=import_files.DEFAULT_TSV)
    parser.add_argument("--files", type=Path, default=import_files.DEFAULT_OUT)
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args(argv)

    built = files(args.tsv, args.files)
    print(
        f"files: {built.actors} ({built.actor_rows} rows), {built.twinnings} "
        f"({built.twinning_rows} rows); cpus: {os.cpu_count()}"
    )
    print("command: " + " ".join(command()) + f" import FILE --source {SOURCE} [--apply]")
    results: dict[str, list[Run]] = {"sqlite": []}
    for number in range(1, args.runs + 1):
        with sqlite_database() as url:
            run = run_once("sqlite", url, built)
        results["sqlite"].append(run)
        print_run(f"SQLite, run {number}", [run])
    if args.runs > 1:
        print_run(f"SQLite, median of {args.runs} runs", results["sqlite"])
    if args.postgres:
        with postgres_database(args.postgres) as url:
            run = run_once("postgresql", url, built)
        results["postgresql"] = [run]
        print_run("PostgreSQL", [run])
    failures = [
        f"{run.backend}: {f}" for runs in results.values() for run in runs for f in run.failures
    ]
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    backend: [
                        {
                            "seconds": run.seconds,
                            "importer_seconds": run.importer_seconds,
                            "failures": run.failures,
                        }
                        for run in runs
                    ]
                    for backend, runs in results.items()
                },
                indent=2,
            ),
            encoding="utf-8",
        )
    print("\nchecks: " + ("all passed" if not failures else f"{len(failures)} FAILED"))
    for failure in failures:
        print("  " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
