"""Instructions a served `POST /v1/actors` costs the registry's process, beside those of the
bare endpoint's POST: the ratio `perf_bench.py` measures with wrk, counted by valgrind's
callgrind instead of timed.

    python bench/serve_instructions.py DATABASE_URL SECRET [--writes 300] [--clients 4]

`write_instructions.py` counts a write's own code; this counts all that the server's process
runs for it: uvicorn, the middlewares, FastAPI's dependencies and validation, the hand-overs to
worker threads, the driver. Each server (the registry on a copy of DATABASE_URL, then
`bare_app.py`) runs under callgrind, pinned to CPU 0 as in `perf_bench.py`, its clients on
CPU 1. After a warm-up of `--warmup` requests its counters are zeroed (`callgrind_control -z`),
`--clients` clients send N requests, and the counters are dumped (`callgrind_control -d`). The
bodies are those of `write_cost.py`, random names, the same fields for both.

What it does not count tells as much as what it does. Callgrind counts the instructions run in
user space: the kernel's work (the sockets of each request and of each round trip to a database
server) and the time each instruction takes (the code and data a request touches, beyond the
caches) are not in it. When the ratio of instructions is well above the one wrk measures, the
difference is there. Under callgrind Python runs about fifty times slower, and the registry
loads its name cache as it starts: about ten minutes in all at 100,000 actors. Needs valgrind.
"""

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

import httpx  # noqa: E402

from bench import processes  # noqa: E402
from bench.perf_bench import RATE_LIMITS_OFF  # noqa: E402
from bench.write_cost import actor_body  # noqa: E402

BARE_APP = HERE / "bare_app.py"
SERVER_CPU, CLIENT_CPU = 0, 1
# The services of this tree, and the same string hashes in each run. Not write_instructions.py's
# TREE, which holds the whole environment: a DATABASE_URL of the caller's would win over the copy.
TREE = {"PYTHONPATH": str(HERE.parent), "PYTHONHASHSEED": "0"}
_TOTAL = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)


@contextmanager
def _under_callgrind(
    what: str, argv: list[str], env: dict[str, str], work: Path, timeout: float
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """A server started under callgrind (`argv` then its port), once it answers `/health`;
    stopped afterwards."""
    port = processes.free_port()
    out = work / f"callgrind-{port}.out"
    log = (work / f"server-{port}.log").open("ab")
    process = processes.start(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv, str(port)],
        env=env,
        cwd=work,
        cpu=SERVER_CPU,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        processes.wait_until(url + "/health", timeout=timeout, process=process, what=what)
        yield process, url, out
    finally:
        processes.stop(process, timeout=120)
        log.close()


def _send(
    url: str, path: str, bodies: list[dict[str, Any]], headers: dict[str, str], clients: int
) -> None:
    """POST each body to `path`, from `clients` threads at once; any answer but 201 stops it."""
    failures: list[str] = []

    def client(part: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=600) as http:
            for body in part:
                answer = http.post(path, json=body)
                if answer.status_code != 201:
                    failures.append(f"{answer.status_code} {answer.text[:300]}")
                    return

    threads = [threading.Thread(target=client, args=(bodies[i::clients],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"POST {path}: {failures[0]}")


def _count(
    process: subprocess.Popen[bytes],
    url: str,
    out: Path,
    path: str,
    headers: dict[str, str],
    args: argparse.Namespace,
) -> int:
    """Instructions the server ran for `args.writes` POSTs, after `args.warmup` of them."""
    rng = random.Random(args.seed)
    bodies = [
        actor_body(rng, number).model_dump(mode="json", exclude_unset=True)
        for number in range(args.warmup + args.writes)
    ]
    _send(url, path, bodies[: args.warmup], headers, args.clients)
    _control("-z", process.pid)
    before = set(out.parent.glob(out.name + ".*"))
    _send(url, path, bodies[args.warmup :], headers, args.clients)
    _control("-d", process.pid)
    # The dump's total is among its last lines: it is whole once the total can be read.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for dump in set(out.parent.glob(out.name + ".*")) - before:
            if found := _TOTAL.search(dump.read_text()):
                return int(found.group(1))
        time.sleep(0.5)
    raise SystemExit(f"callgrind wrote no whole dump beside {out}")


def _control(option: str, pid: int) -> None:
    subprocess.run(["callgrind_control", option, str(pid)], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url", help="a database to copy (never written)")
    parser.add_argument("secret", help="an API key's secret with the write scope")
    parser.add_argument("--writes", type=int, default=300, help="N (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=60, help="(default %(default)s)")
    parser.add_argument("--clients", type=int, default=4, help="(default %(default)s)")
    parser.add_argument("--seed", type=int, default=700, help="names' seed (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=1800, help="start-up, seconds")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind is missing: apt-get install -y valgrind")
    os.sched_setaffinity(0, {CLIENT_CPU})  # the clients; each server is pinned to its own
    work = Path(tempfile.mkdtemp(prefix="passerelles-served-"))
    counts: dict[str, int] = {}
    try:
        with processes.database_copy(args.database_url, work) as copy:
            env = processes.registry_env(copy, work, **TREE, **RATE_LIMITS_OFF)
            registry = [sys.executable, "-m", "services.registry", "serve", "--port"]
            with _under_callgrind("registry", registry, env, work, args.timeout) as server:
                headers = {"Authorization": f"Bearer {args.secret}"}
                counts["registry"] = _count(*server, "/v1/actors", headers, args)
        bare_env = {**processes.own_environment(), "PYTHONHASHSEED": "0"}
        bare = [sys.executable, str(BARE_APP), "--port"]
        with _under_callgrind("bare app", bare, bare_env, work, args.timeout) as server:
            counts["bare"] = _count(*server, "/bare", {}, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    per_request = {name: total // args.writes for name, total in counts.items()}
    print(
        json.dumps(
            {
                "writes": args.writes,
                "clients": args.clients,
                "instructions_per_request": per_request,
                "ratio": round(per_request["bare"] / per_request["registry"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
