"""Load measurements of issue 13: the registry, the change feed and the matching service under
a real load generator, each throughput also as a ratio to a bare endpoint measured in the same run.

    python bench/perf_bench.py                        # SQLite, 10,000 actors
    python bench/perf_bench.py --quick                # demo data set, short durations (~3 min)
    python bench/perf_bench.py --scales 10000,100000 \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres     # the whole issue

What it does:

1. **Data sets**, one per scale, cached in `bench/.cache/data/` keyed by scale, seed and the
   generator's source: `python -m services.registry generate --actors N --seed S --out DIR`
   when the registry has that command, else the real sister-city network of
   `bench/import_files.py` repeated to N actors (local authorities and twinnings only). The
   scale `demo` is the demo data set (`load-demo`, 235 actors).
2. **Databases**, one per scale and backend, built once with `migrate`, `import FILE --apply
   --source bench` for each file (timed: the bulk import rate) and `keys create --scope admin`,
   then reused while the data set and `migrations/` are unchanged (`--rebuild` forces it):
   an SQLite file in `bench/.cache/db/`, a PostgreSQL database `bench_<scale>_<key>` (stale
   ones of the same scale are dropped; no other database is touched), vacuumed before it is
   measured as autovacuum would have left it. Each phase works on a copy (the file copied, or
   `CREATE DATABASE … TEMPLATE`) dropped afterwards.
3. **Servers** are real processes started as a developer does (`python -m services.registry
   serve`, `python -m services.matching serve`, `python bench/bare_app.py`: same FastAPI and
   uvicorn, one worker) with the write and query rate limits off. The server under load is
   pinned to CPU 0 with `taskset -c 0`, `wrk` to CPU 1 (`wrk -t1 -c32 -dNs`); the bare app
   stays up the whole run, on CPU 0 too.
4. **Throughput** figures are interleaved rounds (bare GET, each GET endpoint, bare POST, the
   POST) repeated `--runs` times after a warm-up; the value is the median req/s, the ratio the
   median of each round's ratio to the bare endpoint of that round. After them,
   `write_cost.py` measures the CPU of a POST's own code in one process, without HTTP or
   worker threads, on the same copy and CPU: with the bare POST's time per request, it bounds
   the ratio any serving of that code could reach.
5. **Feed lag**: a Python client writes (`POST /v1/actors`) at a steady pace of 20 and 50 a
   second, while another polls the matching service's `/health` (`last_applied_sequence`)
   every 10 ms; each write's event sequence is read back from `/v1/events`, its lag is from
   the 201 to the first poll that shows it applied (so ≤ 10 ms pessimistic).
6. **Matching**: graph build is from starting the process to `/health` saying `synced`;
   memory is VmRSS and VmHWM of `/proc/PID/status`; suggestions latency is one client asking
   for `--samples` random sources in turn, throughput is `wrk` cycling through them;
   overlaps, federations and coordination metrics are timed whole (median of up to 3 calls),
   then once more after one write has reached the graph; GraphML is `GET /v1/graph?format=graphml`.

One table is printed at the end (markdown) and written as JSON to `bench/.cache/last-bench.json`;
the servers' logs of the last run are kept in `bench/.cache/logs/`. `wrk` is installed with
`apt-get install -y wrk` when missing (as root). Two cores at least (`taskset -c 0` and `-c 1`).
"""

import argparse
import bisect
import hashlib
import json
import os
import random
import re
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench import import_files, processes  # noqa: E402

BENCH = REPO / "bench"
CACHE = BENCH / ".cache"
LOGS = CACHE / "logs"
LUA_PATHS = BENCH / "wrk_paths.lua"
WRITE_COST = BENCH / "write_cost.py"
LUA_POST = BENCH / "wrk_post.lua"
BARE_APP = BENCH / "bare_app.py"
SOURCE = "bench"
READY = "passerelles bench database, complete"
SERVER_CPU, LOAD_CPU = 0, 1
CONNECTIONS = 32
# Writes in flight at most while pacing the feed's load.
WRITERS = 32
# The generator's files, in the order their references need (when it writes no manifest.json).
GENERATED_FILES = ("actors.csv", "relationships.csv", "conventions.csv", "projects.csv")
# The services of this tree, whatever the virtual environment's editable install points at.
TREE = {"PYTHONPATH": str(REPO)}
RATE_LIMITS_OFF = {
    "WRITE_RATE_PER_KEY": "0",
    "WRITE_RATE_PER_IP": "0",
    "MATCHING_WRITE_RATE_PER_KEY": "0",
    "MATCHING_WRITE_RATE_PER_IP": "0",
    "MATCHING_QUERY_RATE_PER_KEY": "0",
    "MATCHING_QUERY_RATE_PER_IP": "0",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- figures and targets ---------------------------------------------------------------------


@dataclass
class Figure:
    figure: str
    backend: str
    scale: str
    value: float | None
    unit: str
    bare: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    samples: list[float] = field(default_factory=list)
    errors: int = 0
    note: str = ""


def judge(
    figure: Figure, *, ratio_at_least: float | None = None, at_most: float | None = None
) -> Figure:
    """Set the figure's target and whether it is met."""
    if ratio_at_least is not None:
        figure.target = f"≥ {ratio_at_least:g}× bare"
        figure.met = figure.ratio is not None and figure.ratio >= ratio_at_least
    elif at_most is not None:
        figure.target = f"≤ {at_most:g} {figure.unit}"
        figure.met = figure.value is not None and figure.value <= at_most
    if figure.errors:
        figure.met = False
    return figure


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100), linear between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- wrk ----------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise SystemExit(
            "wrk is not installed and cannot be installed here (needs apt-get as root): "
            "install Debian's `wrk` package, e.g. `sudo apt-get install -y wrk`"
        )
    log("wrk missing: apt-get install -y wrk")
    install = ["apt-get", "install", "-y", "wrk"]
    done = subprocess.run(install, capture_output=True, text=True)
    if done.returncode != 0:  # perhaps no package lists yet
        subprocess.run(["apt-get", "update"], capture_output=True, text=True)
        done = subprocess.run(install, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"could not install wrk with apt-get:\n{done.stderr[-2000:]}")
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("apt-get install wrk succeeded but wrk is not on PATH")
    return found


@dataclass
class WrkResult:
    rps: float
    requests: int
    non_2xx: int
    socket_errors: int
    latency_ms: dict[str, float]
    output: str

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def wrk(
    url: str, *, duration: float, script: Path | None = None, args: list[str] | None = None
) -> WrkResult:
    argv = ["taskset", "-c", str(LOAD_CPU), "wrk", "-t1", f"-c{CONNECTIONS}"]
    argv += [f"-d{max(1, round(duration))}s", "--timeout", "30s", "--latency"]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(url)
    if args:
        argv += ["--", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120)
    out = done.stdout + done.stderr
    if done.returncode != 0 or "Requests/sec" not in out:
        raise SystemExit(f"wrk failed ({' '.join(argv)}):\n{out[-2000:]}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    latency = {
        f"p{q}": float(value) * _UNITS[unit]
        for q, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    }
    return WrkResult(
        rps=rps,
        requests=requests,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
        latency_ms=latency,
        output=out,
    )


@dataclass
class Load:
    """One thing to put under load: a URL, how (plain, cycling paths, posting), its bare twin."""

    name: str
    url: str
    kind: str  # "get" or "post": which bare endpoint it is compared with
    script: Path | None = None
    args: list[str] = field(default_factory=list)
    ratio_target: float | None = None

    def run(self, duration: float) -> WrkResult:
        args = list(self.args)
        if self.script == LUA_POST:
            args.append(uuid.uuid4().hex[:6])  # names of their own in every round
        return wrk(self.url, duration=duration, script=self.script, args=args)


def interleaved(
    loads: list[Load], bare: dict[str, Load], *, runs: int, duration: float, warmup: float
) -> dict[str, tuple[list[WrkResult], list[float]]]:
    """Rounds of: bare GET, each GET load, bare POST, each POST load. Per load, its results and
    its ratio to the bare endpoint of the same round."""
    kinds = [k for k in ("get", "post") if any(load.kind == k for load in loads)]
    order: list[Load] = []
    for kind in kinds:
        order += [bare[kind], *[load for load in loads if load.kind == kind]]
    if warmup > 0:
        for load in order:
            load.run(warmup)
    results: dict[str, tuple[list[WrkResult], list[float]]] = {
        load.name: ([], []) for load in order
    }
    for number in range(1, runs + 1):
        this_round: dict[str, WrkResult] = {}
        for load in order:
            result = load.run(duration)
            this_round[load.name] = result
            results[load.name][0].append(result)
        for load in order:
            base = this_round[bare[load.kind].name].rps
            results[load.name][1].append(this_round[load.name].rps / base if base else 0.0)
        summary = ", ".join(f"{name} {r.rps:.0f}" for name, r in this_round.items())
        log(f"  round {number}/{runs}: {summary} req/s")
    return results


def throughput_figure(
    load: Load,
    bare: Load,
    results: dict[str, tuple[list[WrkResult], list[float]]],
    backend: str,
    scale: str,
) -> Figure:
    own, ratios = results[load.name]
    figure = Figure(
        figure=load.name,
        backend=backend,
        scale=scale,
        value=statistics.median(r.rps for r in own),
        unit="req/s",
        bare=statistics.median(r.rps for r in results[bare.name][0]),
        ratio=statistics.median(ratios),
        samples=[round(r.rps, 1) for r in own],
        errors=sum(r.errors for r in own),
    )
    p99 = [r.latency_ms.get("p99") for r in own if "p99" in r.latency_ms]
    if p99:
        figure.note = f"p99 under load {statistics.median(p99):.0f} ms"
    if figure.errors:
        kinds: Counter[str] = Counter()
        for r in own:
            kinds["non-2xx"] += r.non_2xx
            kinds["socket errors"] += r.socket_errors
        figure.note += ("; " if figure.note else "") + ", ".join(
            f"{n} {k}" for k, n in kinds.items() if n
        )
    return judge(figure, ratio_at_least=load.ratio_target) if load.ratio_target else figure


# --- data sets -----------------------------------------------------------------------------------


@dataclass
class DataSet:
    scale: str  # "demo" or a number of actors
    seed: int
    origin: str  # "generator", "network" or "demo"
    key: str
    files: list[Path] = field(default_factory=list)


def _digest(paths: list[Path], extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def generator_available() -> bool:
    folder = REPO / "services" / "registry" / "generate"
    if not folder.is_dir():
        return False
    done = subprocess.run(
        [*processes.registry_command(), "generate", "--help"], capture_output=True, cwd=REPO
    )
    return done.returncode == 0


def dataset(scale: str, seed: int, tsv: Path, use_generator: bool) -> DataSet:
    if scale == "demo":
        demo = REPO / "services" / "registry" / "demo"
        return DataSet(
            scale, seed, "demo", _digest([*sorted(demo.glob("*.py")), demo / "demo.json"])
        )
    actors = int(scale)
    if use_generator:
        sources = sorted(
            path
            for path in (REPO / "services" / "registry" / "generate").rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        )
        origin, key = "generator", _digest(sources, f"{actors}/{seed}")
    else:
        stat = tsv.stat()
        origin = "network"
        key = _digest([Path(import_files.__file__)], f"{actors}/{tsv}/{stat.st_size}")
    root = CACHE / "data"
    folder = root / f"{origin}-{actors}-s{seed}-{key}"
    marker = folder / "complete.json"
    if marker.exists():
        names = json.loads(marker.read_text())["files"]
        return DataSet(scale, seed, origin, key, [folder / name for name in names])
    for stale in root.glob(f"{origin}-{actors}-s{seed}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if use_generator:
        log(f"generating {actors} actors (seed {seed}) in {folder}")
        processes.run(
            [
                *processes.registry_command(),
                "generate",
                "--actors",
                str(actors),
                "--seed",
                str(seed),
                "--out",
                str(folder),
            ],
            env={**os.environ, **TREE},
            cwd=REPO,
        )
        manifest = folder / "manifest.json"
        if manifest.exists():  # the generator says which files, in which order
            names = [entry["file"] for entry in json.loads(manifest.read_text())["files"]]
        else:
            names = [name for name in GENERATED_FILES if (folder / name).exists()]
        if "actors.csv" not in names:
            found = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
            raise SystemExit(f"the generator wrote no actors.csv in {folder} (found: {found})")
        others = sorted(p.name for p in folder.glob("*.csv") if p.name not in names)
        if others:
            log(f"  note: generated files not imported (unknown order): {', '.join(others)}")
    else:
        log(f"no generator: {actors} actors from the sister-city network ({tsv.name})")
        names = _network_files(tsv, folder, actors)
    log(f"  data set ready in {time.perf_counter() - started:.1f} s")
    marker.write_text(json.dumps({"files": names, "origin": origin, "scale": scale}))
    return DataSet(scale, seed, origin, key, [folder / name for name in names])


def _network_files(tsv: Path, folder: Path, actors: int) -> list[str]:
    # As many twinnings as the repeated network has between those actors (about 1.3 a place).
    for per_actor in (1.3, 1.2, 1.1, 1.0, 0.8, 0.6, 0.4):
        try:
            import_files.build(tsv, folder, actors=actors, twinnings=int(actors * per_actor))
        except SystemExit:
            continue
        return ["actors.csv", "twinnings.csv"]
    raise SystemExit(f"could not build {actors} actors from {tsv}")


# --- databases -----------------------------------------------------------------------------------


def schema_key() -> str:
    return _digest(sorted((REPO / "migrations").rglob("*.py")))


@dataclass
class Database:
    backend: str  # "sqlite" or "postgresql"
    data: DataSet
    location: str  # the SQLite file, or the PostgreSQL database's name
    secret: str  # an admin key
    build: dict[str, Any]
    cached: bool
    admin_url: str = ""


def _build_into(url: str, data: DataSet, work: Path, key_file: Path) -> dict[str, Any]:
    """Migrate `url`, load the data set, issue an admin key; returns the import timings."""
    env = processes.registry_env(url, work, **TREE)
    registry = processes.registry_command()
    processes.run([*registry, "migrate"], env=env, cwd=work)
    stats: dict[str, Any] = {
        "files": {},
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if data.origin == "demo":
        processes.run([*registry, "load-demo"], env=env, cwd=work)
    for path in data.files:
        report = work / "report.json"
        started = time.perf_counter()
        processes.run(
            [
                *registry,
                "import",
                str(path),
                "--source",
                SOURCE,
                "--apply",
                "--report",
                str(report),
            ],
            env=env,
            cwd=work,
        )
        wall = time.perf_counter() - started
        summary = json.loads(report.read_text(encoding="utf-8"))["summary"]
        actions = Counter()
        for by_action in summary["counts"].values():
            actions.update(by_action)
        stats["files"][path.name] = {
            "rows": sum(actions.values()),
            "actions": dict(actions),
            "seconds": wall,
            "importer_seconds": summary["seconds"],
        }
        log(
            f"  imported {path.name}: {dict(actions)} in {wall:.1f} s "
            f"(importer {summary['seconds']:.1f} s)"
        )
    processes.run(
        [
            *registry,
            "keys",
            "create",
            "--name",
            "bench",
            "--scope",
            "admin",
            "--output",
            str(key_file),
        ],
        env=env,
        cwd=work,
    )
    return stats


def sqlite_database(data: DataSet, rebuild: bool) -> Database:
    folder = CACHE / "db"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"sqlite-{data.origin}-{data.scale}-s{data.seed}-{data.key}-{schema_key()}"
    path, meta = folder / f"{name}.db", folder / f"{name}.json"
    if path.exists() and meta.exists() and not rebuild:
        info = json.loads(meta.read_text())
        return Database("sqlite", data, str(path), info["secret"], info["build"], True)
    log(f"building the SQLite database of scale {data.scale} ({data.origin})")
    work = Path(tempfile.mkdtemp(prefix="passerelles-perf-build-"))
    try:
        part = work / "registry.db"
        build = _build_into(f"sqlite:///{part}", data, work, work / "key")
        processes.copy_sqlite(part, path)
        secret = (work / "key").read_text().strip()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    meta.write_text(json.dumps({"secret": secret, "build": build}, indent=2))
    for stale in folder.glob(f"sqlite-{data.origin}-{data.scale}-s{data.seed}-*"):
        if stale not in (path, meta):  # of another data set or schema
            stale.unlink()
    return Database("sqlite", data, str(path), secret, build, False)


def _pg(admin_url: str, statement: str, **params: Any) -> list[Any]:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            result = connection.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def _pg_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _vacuum(admin_url: str, name: str) -> None:
    """VACUUM (ANALYZE) the database, as autovacuum does on a production server some time
    after a bulk load, before any copy of it is measured: its working copies take its
    visibility map with its files.

    Not vacuumed, no page of a table is known to hold only visible rows, so every index scan
    reads each matching row's table page too, even from an index that holds all it needs:
    the likely-duplicate probe of a `POST /v1/actors` cost PostgreSQL 1.07 ms, 0.56 ms once
    vacuumed. A server may run with autovacuum off (this project's CI machines do): the
    bench would then measure a state a production database is not left in. Quick on a
    database already vacuumed, which skips the pages its visibility map marks.
    """
    started = time.perf_counter()
    _pg(_pg_url(admin_url, name), "VACUUM (ANALYZE)")
    log(f"  vacuumed {name} in {time.perf_counter() - started:.1f} s")


def postgres_database(data: DataSet, admin_url: str, rebuild: bool) -> Database:
    name = (
        f"bench_{data.scale}_{hashlib.sha256((data.key + schema_key()).encode()).hexdigest()[:8]}"
    )
    meta = CACHE / "db" / f"postgresql-{name}.json"
    existing = {
        row[0]: row[1]
        for row in _pg(
            admin_url,
            "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname LIKE :pattern",
            pattern=f"bench\\_{data.scale}\\_%",
        )
    }
    if existing.get(name) == READY and meta.exists() and not rebuild:
        info = json.loads(meta.read_text())
        _vacuum(admin_url, name)
        return Database(
            "postgresql", data, name, info["secret"], info["build"], True, admin_url=admin_url
        )
    if name in existing:  # an unfinished build
        _pg(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    log(f"building the PostgreSQL database {name} ({data.origin})")
    _pg(admin_url, f'CREATE DATABASE "{name}"')
    work = Path(tempfile.mkdtemp(prefix="passerelles-perf-build-"))
    try:
        build = _build_into(_pg_url(admin_url, name), data, work, work / "key")
        secret = (work / "key").read_text().strip()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _vacuum(admin_url, name)
    meta.parent.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps({"secret": secret, "build": build}, indent=2))
    _pg(admin_url, f"COMMENT ON DATABASE \"{name}\" IS '{READY}'")
    for stale in existing.keys() - {name}:  # of another data set or schema
        _pg(admin_url, f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
    return Database("postgresql", data, name, secret, build, False, admin_url=admin_url)


@contextmanager
def working_copy(database: Database, work: Path) -> Iterator[str]:
    """A copy of the database for one phase, dropped afterwards; yields its URL."""
    if database.backend == "sqlite":
        url = f"sqlite:///{database.location}"
    else:
        url = _pg_url(database.admin_url, database.location)
    with processes.database_copy(url, work, database.admin_url or None) as copy:
        yield copy


def sample_actors(url: str, count: int, seed: int) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id FROM actor WHERE deleted_at IS NULL ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    ids = [str(uuid.UUID(str(row[0]))) for row in rows]
    return random.Random(seed).sample(ids, min(count, len(ids)))


def commonest_kind_country(url: str) -> tuple[str, str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT kind, country, count(*) AS n FROM actor WHERE deleted_at IS NULL "
                    "GROUP BY kind, country ORDER BY n DESC, kind, country LIMIT 1"
                )
            ).one()
    finally:
        engine.dispose()
    return str(row[0]), str(row[1]), int(row[2])


# --- servers -------------------------------------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    logs: Path
    bare_url: str = ""
    findings: list[str] = field(default_factory=list)


def registry_server(
    url: str, work: Path, ctx: Context, label: str, cpu: int
) -> AbstractContextManager[processes.Server]:
    port = processes.free_port()
    env = processes.registry_env(url, work, **TREE, **RATE_LIMITS_OFF)
    return processes.serving(
        [*processes.registry_command(), "serve", "--port", str(port)],
        env=env,
        cwd=work,
        port=port,
        cpu=cpu,
        log=ctx.logs / f"registry-{label}.log",
        what=f"registry ({label})",
    )


_STATUS = re.compile(r'HTTP/1\.[01]" (\d{3})')


def check_log(path: Path, what: str, ctx: Context) -> None:
    """Report 5xx answers and tracebacks in a server's log."""
    if not path.exists():
        return
    statuses: Counter[str] = Counter()
    tracebacks = 0
    first: str | None = None
    with path.open(errors="replace") as lines:
        for line in lines:
            found = _STATUS.search(line)
            if found and found.group(1).startswith("5"):
                statuses[found.group(1)] += 1
                first = first or line.strip()
            elif line.startswith("Traceback"):
                tracebacks += 1
    if statuses or tracebacks:
        ctx.findings.append(
            f"{what}: {dict(statuses)} 5xx answers, {tracebacks} tracebacks "
            f"(first: {first}); log: {path}"
        )


# --- registry figures ----------------------------------------------------------------------------


def registry_phase(database: Database, ctx: Context, bare: dict[str, Load]) -> list[Figure]:
    args, backend, scale = ctx.args, database.backend, database.data.scale
    figures: list[Figure] = []
    work = Path(tempfile.mkdtemp(prefix="passerelles-perf-"))
    label = f"{backend}-{scale}-registry"
    try:
        with working_copy(database, work) as url:
            ids = sample_actors(url, 1000, args.seed)
            kind, country, count = commonest_kind_country(url)
            paths = work / "actor-paths.txt"
            paths.write_text("".join(f"/v1/actors/{i}\n" for i in ids))
            with registry_server(url, work, ctx, label, SERVER_CPU) as server:
                base = server.url
                loads = [
                    Load(
                        "registry GET /v1/actors/{id}",
                        base,
                        "get",
                        LUA_PATHS,
                        [str(paths)],
                        ratio_target=0.5,
                    ),
                    Load(
                        f"registry GET /v1/actors?limit=50&kind={kind}&country={country}",
                        f"{base}/v1/actors?limit=50&kind={kind}&country={country}",
                        "get",
                        ratio_target=0.25,
                    ),
                    Load(
                        "registry GET /v1/conventions?limit=50",
                        f"{base}/v1/conventions?limit=50",
                        "get",
                        ratio_target=0.25,
                    ),
                    Load(
                        "registry GET /v1/events?after=0&limit=200",
                        f"{base}/v1/events?after=0&limit=200",
                        "get",
                        ratio_target=0.15,
                    ),
                    Load(
                        "registry POST /v1/actors",
                        base,
                        "post",
                        LUA_POST,
                        ["/v1/actors", database.secret],
                        ratio_target=0.2,
                    ),
                ]
                _check_loads(loads, ctx, label)
                log(f"{backend} {scale}: registry throughput ({args.runs} rounds)")
                results = interleaved(
                    loads, bare, runs=args.runs, duration=args.duration, warmup=args.warmup
                )
                if server.process.poll() is not None:
                    ctx.findings.append(f"registry ({label}) exited: {server.process.returncode}")
            for load in loads:
                figure = throughput_figure(load, bare[load.kind], results, backend, scale)
                if "kind=" in load.name:
                    figure.note = f"{count} such actors; " + figure.note
                figures.append(figure)
            check_log(ctx.logs / f"registry-{label}.log", f"registry ({label})", ctx)
            bare_post = statistics.median(r.rps for r in results[bare["post"].name][0])
            figures.append(write_cost_figure(url, database, bare_post, ctx))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures.append(import_figure(database))
    return figures


def write_cost_figure(url: str, database: "Database", bare_post: float, ctx: Context) -> Figure:
    """The CPU of a `POST /v1/actors` in the registry's own code, without HTTP or worker
    threads (`write_cost.py`, pinned as the server is), and the best ratio to the bare POST
    that serving it could reach: the bare POST's time plus this, per request."""
    done = processes.run(
        ["taskset", "-c", str(SERVER_CPU), sys.executable, str(WRITE_COST), url, database.secret],
        env={**os.environ, **TREE},
        cwd=REPO,
        check=False,
    )
    figure = Figure(
        figure="registry POST /v1/actors, the code's own CPU (in process, no HTTP)",
        backend=database.backend,
        scale=database.data.scale,
        value=None,
        unit="ms/write",
    )
    if done.returncode != 0:
        ctx.findings.append(f"write_cost.py failed: {done.stderr[-1000:]}")
        return figure
    cost = json.loads(done.stdout.strip().splitlines()[-1])["cpu_ms_per_write"]
    figure.value = cost
    if bare_post:
        bare_ms = 1000 / bare_post
        figure.note = (
            f"at most {bare_ms / (bare_ms + cost):.2f}× the bare POST ({bare_ms:.2f} ms a "
            "request) for any serving of this code"
        )
    return figure


def _check_loads(loads: list[Load], ctx: Context, label: str) -> None:
    """One request of each before timing: a load answering errors is reported up front."""
    with httpx.Client(timeout=60) as client:
        for load in loads:
            if load.script is None:
                response = client.get(load.url)
                if response.status_code != 200:
                    ctx.findings.append(
                        f"{label}: {load.name} answers {response.status_code}: "
                        f"{response.text[:300]}"
                    )


def import_figure(database: Database) -> Figure:
    files = database.build.get("files", {})
    rows = sum(f["rows"] for f in files.values())
    seconds = sum(f["importer_seconds"] for f in files.values())
    when = "build" if not database.cached else f"build of {database.build.get('built_at')}"
    detail = ", ".join(
        f"{name} {f['rows']} rows in {f['importer_seconds']:.1f} s" for name, f in files.items()
    )
    return Figure(
        figure="registry bulk import (apply, all files)",
        backend=database.backend,
        scale=database.data.scale,
        value=rows / seconds if seconds else None,
        unit="rows/s",
        note=f"{detail}; measured at the {when}" if files else "no import at this scale",
    )


# --- matching and feed figures --------------------------------------------------------------------


def matching_phase(
    database: Database, ctx: Context, bare: dict[str, Load], *, matching: bool, feed: bool
) -> list[Figure]:
    args, backend, scale = ctx.args, database.backend, database.data.scale
    figures: list[Figure] = []
    work = Path(tempfile.mkdtemp(prefix="passerelles-perf-"))
    label = f"{backend}-{scale}"
    try:
        with working_copy(database, work) as url:
            sources = sample_actors(url, args.samples, args.seed + 1)
            with registry_server(url, work, ctx, f"{label}-matching", LOAD_CPU) as registry:
                port = processes.free_port()
                env = processes.matching_env(
                    processes.registry_env(url, work, **TREE, **RATE_LIMITS_OFF),
                    registry.url,
                    work,
                    MATCHING_TRAINING_CHECK_SECONDS="1",
                )
                processes.run([*processes.matching_command(), "migrate"], env=env, cwd=work)
                log(f"{backend} {scale}: starting the matching service")
                with processes.serving(
                    [*processes.matching_command(), "serve", "--port", str(port)],
                    env=env,
                    cwd=work,
                    port=port,
                    cpu=SERVER_CPU,
                    log=ctx.logs / f"matching-{label}.log",
                    ready=lambda r: r.json()["synced"] is True,
                    timeout=args.build_timeout,
                    what=f"matching ({label})",
                ) as server:
                    build = server.ready_at - server.started
                    health = httpx.get(f"{server.url}/health", timeout=30).json()
                    log(
                        f"  synced in {build:.1f} s: {health['nodes']} nodes, "
                        f"{health['edges']} edges"
                    )
                    figures.append(
                        judge(
                            Figure(
                                "matching graph build (start → synced)",
                                backend,
                                scale,
                                build,
                                "s",
                                note=f"{health['nodes']} nodes, {health['edges']} edges",
                            ),
                            at_most=60,
                        )
                    )
                    memory = processes.memory_kb(server.pid)
                    figures.append(
                        judge(
                            Figure(
                                "matching resident memory after build",
                                backend,
                                scale,
                                memory.get("VmRSS", 0) / 1024,
                                "MB",
                                note=f"peak so far {memory.get('VmHWM', 0) / 1024:.0f} MB",
                            ),
                            at_most=1536,
                        )
                    )
                    trained = _wait_trained(server.url, args.build_timeout)
                    trace = MemoryTrace(server.pid)
                    trace.mark("trained")
                    figures.append(
                        Figure(
                            "matching ranker trained (after synced)",
                            backend,
                            scale,
                            trained - server.ready_at,
                            "s",
                            note=f"resident memory peak by then {trace.steps[0][2]:.0f} MB",
                        )
                    )
                    if matching:
                        figures += matching_figures(
                            server, registry, database, sources, ctx, bare, trace
                        )
                    if feed:
                        # End to end: the registry, the matching service and the writers share
                        # both CPUs as the scheduler sees fit.
                        everything = set(range(os.cpu_count() or 2))
                        for pid in (server.pid, registry.pid):
                            with suppress(OSError):
                                os.sched_setaffinity(pid, everything)
                        for rate in args.feed_rates:
                            figures += feed_figures(
                                registry.url, server.url, database, rate, args.feed_seconds, ctx
                            )
                            trace.mark(f"feed {rate:g}/s")
                    memory = processes.memory_kb(server.pid)
                    figures.append(
                        judge(
                            Figure(
                                "matching resident memory, peak (whole phase)",
                                backend,
                                scale,
                                memory.get("VmHWM", 0) / 1024,
                                "MB",
                                note=f"now {memory.get('VmRSS', 0) / 1024:.0f} MB; "
                                + trace.summary(),
                            ),
                            at_most=1536,
                        )
                    )
                    for proc, what in ((server, "matching"), (registry, "registry")):
                        if proc.process.poll() is not None:
                            ctx.findings.append(
                                f"{what} ({label}) exited during the phase: "
                                f"{proc.process.returncode}"
                            )
            check_log(ctx.logs / f"matching-{label}.log", f"matching ({label})", ctx)
            check_log(ctx.logs / f"registry-{label}-matching.log", f"registry ({label}, feed)", ctx)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return figures


class MemoryTrace:
    """The matching process's resident memory after each step, to tell which one grows it."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.steps: list[tuple[str, float, float]] = []

    def mark(self, step: str) -> None:
        memory = processes.memory_kb(self.pid)
        self.steps.append((step, memory.get("VmRSS", 0) / 1024, memory.get("VmHWM", 0) / 1024))

    def summary(self) -> str:
        return "RSS/peak MB after " + ", ".join(
            f"{step} {rss:.0f}/{peak:.0f}" for step, rss, peak in self.steps
        )


def _wait_trained(url: str, timeout: float) -> float:
    return processes.wait_until(
        f"{url}/health",
        lambda r: r.json()["model"]["trainings"] >= 1,
        timeout=timeout,
        interval=0.5,
        what="the ranker's first training",
    )


def matching_figures(
    server: processes.Server,
    registry: processes.Server,
    database: Database,
    sources: list[str],
    ctx: Context,
    bare: dict[str, Load],
    trace: MemoryTrace,
) -> list[Figure]:
    args, backend, scale = ctx.args, database.backend, database.data.scale
    figures: list[Figure] = []
    # Suggestions, one client.
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    with httpx.Client(base_url=server.url, timeout=120) as client:
        for source in sources[:10]:  # warm-up: the feature snapshot, caches
            client.get(f"/v1/actors/{source}/suggestions")
        for source in sources:
            started = time.perf_counter()
            response = client.get(f"/v1/actors/{source}/suggestions")
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[response.status_code] += 1
    errors = sum(n for status, n in statuses.items() if status != 200)
    note = f"{len(sources)} random sources, limit 10" + (
        f"; statuses {dict(statuses)}" if errors else ""
    )
    for q in (50, 95, 99):
        figure = Figure(
            f"matching suggestions p{q}, one client",
            backend,
            scale,
            percentile(latencies, q),
            "ms",
            samples=[round(v, 1) for v in latencies] if q == 50 else [],
            errors=errors,
            note=note,
        )
        figures.append(judge(figure, at_most=25) if q == 95 else figure)
    log(
        f"  suggestions one client: p50 {figures[-3].value:.1f} ms, "
        f"p95 {figures[-2].value:.1f} ms, "
        f"p99 {figures[-1].value:.1f} ms"
    )
    trace.mark("suggestions, one client")
    # Suggestions, wrk.
    paths = server.log.parent / f"suggestion-paths-{backend}-{scale}.txt"  # type: ignore[union-attr]
    paths.write_text("".join(f"/v1/actors/{s}/suggestions\n" for s in sources))
    load = Load(
        "matching GET /v1/actors/{id}/suggestions",
        server.url,
        "get",
        LUA_PATHS,
        [str(paths)],
        ratio_target=0.3,
    )
    log(f"{backend} {scale}: suggestions throughput ({args.runs} rounds)")
    results = interleaved([load], bare, runs=args.runs, duration=args.duration, warmup=args.warmup)
    figures.append(throughput_figure(load, bare["get"], results, backend, scale))
    trace.mark("suggestions under wrk")
    # Whole-graph computations, then after one change.
    endpoints = {
        "overlaps": ("/v1/overlaps", 15.0),
        "federations": ("/v1/federations", 15.0),
        "coordination metrics": ("/v1/metrics/coordination", None),
    }
    repeat = max(1, min(3, args.runs))
    with httpx.Client(base_url=server.url, timeout=600) as client:
        for name, (path, limit) in endpoints.items():
            timings, status = _time_get(client, path, repeat)
            figure = Figure(
                f"matching {name} (GET {path}), full",
                backend,
                scale,
                statistics.median(timings),
                "s",
                samples=[round(t, 3) for t in timings],
                errors=0 if status == 200 else 1,
                note=f"median of {repeat}" + ("" if status == 200 else f"; HTTP {status}"),
            )
            figures.append(judge(figure, at_most=limit) if limit else figure)
            log(f"  {name}: {figure.value:.2f} s")
        trace.mark("overlaps, federations, metrics")
        sequence = _one_write(registry.url, database.secret)
        _wait_applied(server.url, sequence, 120)
        for name, (path, limit) in endpoints.items():
            timings, status = _time_get(client, path, 1)
            figure = Figure(
                f"matching {name} (GET {path}), after one change",
                backend,
                scale,
                timings[0],
                "s",
                errors=0 if status == 200 else 1,
                note="" if status == 200 else f"HTTP {status}",
            )
            figures.append(judge(figure, at_most=limit) if limit else figure)
        # GraphML.
        started = time.perf_counter()
        response = client.get("/v1/graph", params={"format": "graphml"})
        seconds = time.perf_counter() - started
        if response.status_code == 200:
            figures.append(
                Figure(
                    "matching GraphML export, whole graph",
                    backend,
                    scale,
                    seconds,
                    "s",
                    note=f"{len(response.content) / 1e6:.1f} MB",
                )
            )
        else:
            figures.append(
                Figure(
                    "matching GraphML export, whole graph",
                    backend,
                    scale,
                    None,
                    "s",
                    errors=1,
                    note=f"HTTP {response.status_code}: {response.text[:160]}",
                )
            )
            timings = []
            size = 0
            for source in sources[:5]:
                started = time.perf_counter()
                response = client.get(
                    "/v1/graph", params={"format": "graphml", "center": source, "depth": 2}
                )
                timings.append(time.perf_counter() - started)
                size = max(size, len(response.content))
            figures.append(
                Figure(
                    "matching GraphML export, neighbourhood depth 2",
                    backend,
                    scale,
                    statistics.median(timings),
                    "s",
                    note=f"median of {len(timings)} centres, largest {size / 1e3:.0f} kB",
                )
            )
    trace.mark("GraphML")
    return figures


def _time_get(client: httpx.Client, path: str, repeat: int) -> tuple[list[float], int]:
    timings = []
    status = 200
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - started)
        if response.status_code != 200:
            status = response.status_code
    return timings, status


def _actor_body(tag: str, number: int, rng: random.Random) -> dict[str, Any]:
    def word(length: int) -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(length)).capitalize()

    themes = rng.sample(["water_sanitation", "health", "education", "youth", "culture"], 2)
    return {
        "kind": "association",
        "name": f"{word(7)} {word(5)} {word(8)} {tag}-{number}",
        "country": "FR",
        "description": "Association créée par le banc d'essai du flux de changements.",
        "themes": themes,
        "intervention_countries": rng.sample(["ML", "SN", "BF", "MA", "HT"], 2),
    }


def _one_write(registry_url: str, secret: str) -> int:
    """Create one actor; returns the feed's head after it."""
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=registry_url, headers=headers, timeout=60) as client:
        body = _actor_body(uuid.uuid4().hex[:6], 0, random.Random())
        response = client.post("/v1/actors", json=body)
        if response.status_code != 201:
            raise SystemExit(f"POST /v1/actors: {response.status_code} {response.text[:500]}")
        return client.get("/v1/events/head").json()["head"]


def _wait_applied(matching_url: str, sequence: int, timeout: float) -> None:
    processes.wait_until(
        f"{matching_url}/health",
        lambda r: r.json()["last_applied_sequence"] >= sequence,
        timeout=timeout,
        interval=0.05,
        what=f"the matching service applying event {sequence}",
    )


def feed_figures(
    registry_url: str,
    matching_url: str,
    database: Database,
    rate: float,
    seconds: float,
    ctx: Context,
) -> list[Figure]:
    backend, scale = database.backend, database.data.scale
    log(f"{backend} {scale}: feed lag at {rate:g} writes/s for {seconds:g} s")
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def watch() -> None:
        with httpx.Client(base_url=matching_url, timeout=10) as client:
            while not stop.is_set():
                with suppress(httpx.HTTPError, ValueError, KeyError):
                    applied = client.get("/health").json()["last_applied_sequence"]
                    samples.append((time.monotonic(), applied))
                time.sleep(0.01)

    headers = {"Authorization": f"Bearer {database.secret}"}
    tag = uuid.uuid4().hex[:6]
    rng = random.Random(tag)
    writes: list[tuple[str, float]] = []
    statuses: Counter[int] = Counter()
    late = 0
    starts: list[float] = []
    lock = threading.Lock()
    watcher = threading.Thread(target=watch, daemon=True)
    limits = httpx.Limits(max_connections=WRITERS, max_keepalive_connections=WRITERS)

    def write(client: httpx.Client, body: dict[str, Any], due: float) -> None:
        nonlocal late
        begun = time.monotonic()
        with lock:
            starts.append(begun)
            if begun - due > 1 / rate:
                late += 1
        try:
            response = client.post("/v1/actors", json=body)
        except httpx.HTTPError as error:
            with lock:
                statuses[-1] += 1
            log(f"  write failed: {error!r}")
            return
        done = time.monotonic()
        with lock:
            statuses[response.status_code] += 1
            if response.status_code == 201:
                writes.append((response.json()["id"], done))

    with (
        httpx.Client(base_url=registry_url, headers=headers, timeout=60, limits=limits) as client,
        ThreadPoolExecutor(WRITERS) as pool,
    ):
        head_before = client.get("/v1/events/head").json()["head"]
        watcher.start()
        count = int(rate * seconds)
        bodies = [_actor_body(tag, n, rng) for n in range(count)]
        started = time.monotonic()
        # Open loop: each write starts on time whatever the previous ones take (up to WRITERS
        # in flight), as independent clients would.
        for number, body in enumerate(bodies):
            due = started + number / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            pool.submit(write, client, body, due)
        pool.shutdown(wait=True)
        # The pace the writes could start at: behind schedule when every writer was busy.
        elapsed = max(starts) - started + 1 / rate if starts else 0.0
        head_after = client.get("/v1/events/head").json()["head"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not samples or samples[-1][1] < head_after):
            time.sleep(0.05)
        stop.set()
        watcher.join(timeout=10)
        sequences: dict[str, int] = {}
        after = head_before
        while True:
            page = client.get(
                "/v1/events", params={"after": after, "limit": 200, "types": "actor.created"}
            ).json()
            for event in page["items"]:
                sequences[event["resource"]["id"]] = event["sequence"]
            if not page["items"] or page["next_after"] <= after:
                break
            after = page["next_after"]
    times = [t for t, _ in samples]
    applied = [a for _, a in samples]
    # The applied sequence only grows (a resync would reset it: then this is pessimistic).
    for index in range(1, len(applied)):
        applied[index] = max(applied[index], applied[index - 1])
    lags: list[float] = []
    missing = 0
    for actor_id, done in writes:
        sequence = sequences.get(actor_id)
        index = bisect.bisect_left(applied, sequence) if sequence is not None else len(applied)
        if index >= len(applied):
            missing += 1
            continue
        lags.append(max(0.0, times[index] - done))
    errors = sum(n for status, n in statuses.items() if status != 201) + missing
    achieved = len(starts) / elapsed if elapsed else 0.0
    note = f"{len(writes)} writes, {achieved:.1f}/s achieved"
    if late:
        note += f", {late} started late (all {WRITERS} writers busy)"
    if errors:
        note += f"; statuses {dict(statuses)}, {missing} never applied"
    figures = []
    for q in (50, 95):
        figure = Figure(
            f"feed lag p{q} at {rate:g} writes/s",
            backend,
            scale,
            percentile(lags, q) if lags else None,
            "s",
            errors=errors,
            note=note,
        )
        if q == 95 and rate >= 50:
            judge(figure, at_most=2)
            if achieved < 0.9 * rate:  # the lag was not measured at the rate the target names
                figure.met = False
                figure.note += f"; the paced rate ({rate:g}/s) was not reached"
        figures.append(figure)
    log(
        f"  lag p50 {figures[0].value or float('nan'):.2f} s, "
        f"p95 {figures[1].value or float('nan'):.2f} s ({note})"
    )
    if errors:
        ctx.findings.append(f"feed ({backend} {scale}, {rate:g}/s): {note}")
    return figures


# --- the table -----------------------------------------------------------------------------------


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text_value = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text_value} {unit}".strip()


def table(figures: list[Figure]) -> str:
    lines = [
        "| figure | backend | scale | value | bare | ratio | target | met? |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for f in figures:
        met = "—" if f.met is None else ("yes" if f.met else "**NO**")
        lines.append(
            f"| {f.figure} | {f.backend} | {f.scale} | {_number(f.value, f.unit)} | "
            f"{_number(f.bare, f.unit)} | {'—' if f.ratio is None else f'{f.ratio:.2f}×'} | "
            f"{f.target or '—'} | {met} |"
        )
    return "\n".join(lines)


def notes(figures: list[Figure]) -> list[str]:
    """Each figure's note, once for a run of figures with the same note."""
    lines: list[str] = []
    previous: tuple[str, str, str] | None = None
    for f in figures:
        key = (f.backend, f.scale, f.note)
        if f.note and key != previous:
            errors = f" [{f.errors} errors]" if f.errors and "error" not in f.note else ""
            lines.append(f"- {f.figure} ({f.backend}, {f.scale}): {f.note}{errors}")
        previous = key
    return lines


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scales", help="comma-separated: demo and/or numbers of actors (default: 10000)"
    )
    parser.add_argument("--quick", action="store_true", help="demo data set, short durations")
    parser.add_argument("--runs", type=int, help="interleaved rounds (default 3, quick 2)")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (default 10, quick 3)")
    parser.add_argument("--warmup", type=float, help="seconds of wrk warm-up (default 2, quick 1)")
    parser.add_argument("--samples", type=int, help="suggestion sources (default 300, quick 100)")
    parser.add_argument(
        "--feed-seconds", type=float, help="seconds of paced writes per rate (default 20, quick 5)"
    )
    parser.add_argument(
        "--feed-rates", default="20,50", help="writes/s, comma-separated (default %(default)s)"
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also on PostgreSQL; URL of a database to administer from (e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres)",
    )
    parser.add_argument(
        "--sqlite", action=argparse.BooleanOptionalAction, default=True, help="on SQLite"
    )
    parser.add_argument(
        "--only",
        default="registry,feed,matching",
        help="comma-separated parts: registry, feed, matching (default: all)",
    )
    parser.add_argument("--seed", type=int, default=1, help="data set seed (default 1)")
    parser.add_argument("--tsv", type=Path, default=import_files.DEFAULT_TSV)
    parser.add_argument(
        "--generator",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="use `services.registry generate` (default: when it exists)",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached databases")
    parser.add_argument("--build-timeout", type=float, default=900, help="seconds (default 900)")
    parser.add_argument("--json", type=Path, default=CACHE / "last-bench.json")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "runs": 2 if quick else 3,
        "duration": 3.0 if quick else 10.0,
        "warmup": 1.0 if quick else 2.0,
        "samples": 100 if quick else 300,
        "feed_seconds": 5.0 if quick else 20.0,
        "scales": "demo" if quick else "10000",
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    for scale in args.scales:
        if scale != "demo" and not scale.isdigit():
            parser.error(f"--scales: {scale!r} is neither demo nor a number of actors")
    args.feed_rates = [float(r) for r in args.feed_rates.split(",") if r.strip()]
    args.only = {part.strip() for part in args.only.split(",") if part.strip()}
    unknown = args.only - {"registry", "feed", "matching"}
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}")
    if not args.sqlite and not args.postgres:
        parser.error("nothing to run: --no-sqlite without --postgres")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two CPUs at least: the server on CPU 0, wrk on CPU 1")
    if {"registry", "matching"} & args.only:
        ensure_wrk()
    begun = time.perf_counter()
    shutil.rmtree(LOGS, ignore_errors=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    ctx = Context(args, LOGS)
    use_generator = generator_available() if args.generator is None else args.generator
    backends = (["sqlite"] if args.sqlite else []) + (["postgresql"] if args.postgres else [])
    log(
        f"scales {', '.join(args.scales)}; backends {', '.join(backends)}; parts "
        f"{', '.join(sorted(args.only))}; {args.runs} rounds of {args.duration:g} s; data: "
        + ("generator" if use_generator else "sister-city network (no generator)")
    )
    figures: list[Figure] = []
    timings: dict[str, float] = {}
    bare_port = processes.free_port()
    bare_work = Path(tempfile.mkdtemp(prefix="passerelles-perf-bare-"))
    try:
        with processes.serving(
            [sys.executable, str(BARE_APP), "--port", str(bare_port)],
            env=processes.own_environment(),
            cwd=bare_work,
            port=bare_port,
            cpu=SERVER_CPU,
            log=LOGS / "bare.log",
            what="bare app",
        ) as bare_server:
            ctx.bare_url = bare_server.url
            bare = {
                "get": Load("bare GET", f"{bare_server.url}/bare", "get"),
                "post": Load("bare POST", bare_server.url, "post", LUA_POST, ["/bare", "-"]),
            }
            for scale in args.scales:
                data = dataset(scale, args.seed, args.tsv, use_generator)
                for backend in backends:
                    phase_started = time.perf_counter()
                    database = (
                        sqlite_database(data, args.rebuild)
                        if backend == "sqlite"
                        else postgres_database(data, args.postgres, args.rebuild)
                    )
                    built = time.perf_counter() - phase_started
                    if not database.cached:
                        timings[f"build {backend} {scale}"] = built
                    if "registry" in args.only:
                        started = time.perf_counter()
                        figures += registry_phase(database, ctx, bare)
                        timings[f"registry {backend} {scale}"] = time.perf_counter() - started
                    if {"matching", "feed"} & args.only:
                        started = time.perf_counter()
                        figures += matching_phase(
                            database,
                            ctx,
                            bare,
                            matching="matching" in args.only,
                            feed="feed" in args.only,
                        )
                        timings[f"matching/feed {backend} {scale}"] = time.perf_counter() - started
        check_log(LOGS / "bare.log", "bare app", ctx)
    finally:
        shutil.rmtree(bare_work, ignore_errors=True)
    total = time.perf_counter() - begun
    print()
    print(table(figures))
    print()
    print(
        f"Medians of {args.runs} interleaved rounds of {args.duration:g} s "
        f"(wrk -t1 -c{CONNECTIONS}, "
        f"server on CPU {SERVER_CPU}, wrk on CPU {LOAD_CPU}); ratio: median of each round's "
        "ratio to the bare endpoint of the same round. Data: "
        + ("generator" if use_generator else "sister-city network")
        + f", seed {args.seed}."
    )
    for line in notes(figures):
        print(line)
    print(
        "\ntimes: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
        + f"; total {total:.0f} s"
    )
    if ctx.findings:
        print("\nfindings:")
        for finding in ctx.findings:
            print(f"- {finding}")
    missed = [f for f in figures if f.met is False]
    print(f"\ntargets: {sum(1 for f in figures if f.met)} met, {len(missed)} missed")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "argv": sys.argv[1:] if argv is None else argv,
                "data": "generator" if use_generator else "network",
                "runs": args.runs,
                "duration": args.duration,
                "figures": [asdict(f) for f in figures],
                "findings": ctx.findings,
                "timings": timings,
            },
            indent=2,
            default=str,
        ),
        encoding="utf-8",
    )
    print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
