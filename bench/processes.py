"""The registry and the matching service as real processes, for the benchmarks and evaluations.

Every helper runs the services exactly as a developer does (`python -m services.registry …`,
`python -m services.matching …`) in a working folder of the caller's (so no `.env` of the work
tree is read), optionally pinned to one CPU with `taskset -c N`.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

__all__ = [
    "Server",
    "copy_sqlite",
    "database_copy",
    "free_port",
    "matching_command",
    "matching_env",
    "memory_kb",
    "own_environment",
    "registry_command",
    "registry_env",
    "run",
    "serving",
    "start",
    "stop",
    "wait_until",
]


def registry_command() -> list[str]:
    return [sys.executable, "-m", "services.registry"]


def matching_command() -> list[str]:
    return [sys.executable, "-m", "services.matching"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def own_environment() -> dict[str, str]:
    """This process's environment but its PYTHONPATH: a service started with it imports the
    tree its virtual environment's editable install points at, unless told otherwise."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


def registry_env(database_url: str, work: Path, **extra: str) -> dict[str, str]:
    """The environment of a registry process on `database_url`, its cursor secret in `work`
    (the caller's PYTHONPATH left out, unless `extra` sets one)."""
    return {
        **own_environment(),
        "DATABASE_URL": database_url,
        "CURSOR_SECRET_FILE": str(work / "cursor-secret"),
        **extra,
    }


def matching_env(
    base: dict[str, str], registry_url: str, work: Path, **extra: str
) -> dict[str, str]:
    """A matching service following `registry_url`, its own database in `work`."""
    return {
        **base,
        "MATCHING_DATABASE_URL": f"sqlite:///{work / 'matching.db'}",
        "MATCHING_REGISTRY_URL": registry_url,
        **extra,
    }


def run(
    argv: list[str], *, env: dict[str, str], cwd: Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """A command to its end, its output captured; a failure shows its output."""
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)}: exit {done.returncode}\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        )
    return done


def start(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    cpu: int | None = None,
    stdout: IO[Any] | int | None = subprocess.DEVNULL,
    stderr: IO[Any] | int | None = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """Start `argv`, pinned to `cpu` with taskset (which execs it: the pid is the server's)."""
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu), *argv]
    return subprocess.Popen(argv, cwd=cwd, env=env, stdout=stdout, stderr=stderr)


def stop(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


def wait_until(
    url: str,
    ready: Callable[[httpx.Response], bool] = lambda response: response.status_code == 200,
    *,
    timeout: float = 120,
    interval: float = 0.2,
    process: subprocess.Popen[bytes] | None = None,
    what: str = "",
) -> float:
    """Poll `url` until `ready(response)`; returns when (time.monotonic()). Gives up after
    `timeout` seconds, or at once if `process` exits."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=30) as client:
        while True:
            with suppress(httpx.TransportError, ValueError, KeyError, TypeError):
                if ready(client.get(url)):
                    return time.monotonic()
            if process is not None and process.poll() is not None:
                raise SystemExit(f"{what or url}: the process exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{what or url}: not ready after {timeout:.0f} s")
            time.sleep(interval)


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (resident at its peak) of a process, in kB."""
    found: dict[str, int] = {}
    with suppress(OSError), open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0])
    return found


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path | None
    started: float  # time.monotonic() just before the process was started
    ready_at: float = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, chars: int = 3000) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return self.log.read_text(errors="replace")[-chars:]


@contextmanager
def serving(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    port: int,
    cpu: int | None = None,
    log: Path | None = None,
    health: str = "/health",
    ready: Callable[[httpx.Response], bool] = lambda response: response.status_code == 200,
    timeout: float = 120,
    what: str = "",
) -> Iterator[Server]:
    """A server process, once `health` answers as `ready` says; stopped afterwards. `argv`
    must make it listen on `port`. Its output goes to `log` (or nowhere)."""
    output = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    started = time.monotonic()
    process = start(argv, env=env, cwd=cwd, cpu=cpu, stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"
    server = Server(process, url, log, started)
    try:
        try:
            server.ready_at = wait_until(
                url + health, ready, timeout=timeout, process=process, what=what or argv[-1]
            )
        except SystemExit:
            tail = server.log_tail()
            if tail:
                print(tail, file=sys.stderr)
            raise
        yield server
    finally:
        stop(process)
        if output is not subprocess.DEVNULL:
            output.close()  # type: ignore[union-attr]


@contextmanager
def database_copy(url: str, work: Path, admin_url: str | None = None) -> Iterator[str]:
    """A copy of the database at `url`, dropped afterwards; yields its URL. An SQLite file is
    copied into `work`; a PostgreSQL database with `CREATE DATABASE … TEMPLATE`, from
    `admin_url` (by default the same server's `postgres` database)."""
    parsed = make_url(url)
    assert parsed.database is not None
    if parsed.get_backend_name() == "sqlite":
        target = work / f"copy-{uuid.uuid4().hex[:10]}.db"
        copy_sqlite(Path(parsed.database), target)
        try:
            yield f"sqlite:///{target}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                target.with_name(target.name + suffix).unlink(missing_ok=True)
        return
    name = f"bench_run_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        admin_url or parsed.set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"'))
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy an SQLite database with its WAL side files, if any."""
    shutil.copyfile(source, target)
    for suffix in ("-wal", "-shm"):
        side = source.with_name(source.name + suffix)
        if side.exists():
            shutil.copyfile(side, target.with_name(target.name + suffix))
