"""Instructions a `POST /v1/actors` costs the registry's own code: `write_cost.py` counted by
valgrind's callgrind instead of timed.

    python bench/write_instructions.py DATABASE_URL SECRET [--writes 200] [--seed 500]

On this project's shared machines the CPU time of the same write moves by a third from one
minute to the next (1.3 to 2.9 ms in one day), so an A/B of a change worth a few per cent needs
many runs and still misleads. Callgrind counts the instructions the process executes, whatever
else the machine does. With the same code, database and names, and string hashing fixed
(PYTHONHASHSEED), two runs gave 5,085,365 and 5,085,409 instructions a write. Compare two trees
by running this in each on the same database.

DATABASE_URL names a database that is not written: each run works on a copy (the SQLite file
copied, or on PostgreSQL `CREATE DATABASE … TEMPLATE`, dropped afterwards; PostgreSQL's own
work is another process's and not counted). `write_cost.py` runs twice, with N and 2N writes
after its warm-up, and the difference divided by N is what one write costs, start-up and
warm-up cancelled out. Under callgrind Python runs about fifty times slower: N = 200 takes
about five minutes. Needs valgrind (a Debian package).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from bench.processes import database_copy  # noqa: E402

WRITE_COST = HERE / "write_cost.py"
# The services of this tree, whatever the virtual environment's editable install points at;
# and the same string hashes in each run, so that sets and dicts are walked in the same order.
TREE = {**os.environ, "PYTHONPATH": str(HERE.parent), "PYTHONHASHSEED": "0"}


def _instructions(url: str, secret: str, writes: int, seed: int, work: Path) -> int:
    """Instructions of one `write_cost.py` run with `writes` writes, on a copy of `url`."""
    out = work / f"callgrind-{writes}.out"
    with database_copy(url, work) as copy:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                str(WRITE_COST),
                copy,
                secret,
                "--writes",
                str(writes),
                "--seed",
                str(seed),
            ],
            capture_output=True,
            text=True,
            env=TREE,
        )
    if done.returncode != 0:
        raise SystemExit(f"write_cost.py failed under valgrind:\n{done.stderr[-2000:]}")
    summary = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE)
    if summary is None:
        raise SystemExit(f"no summary line in {out}")
    return int(summary.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url", help="a database to copy (never written)")
    parser.add_argument("secret", help="an API key's secret with the write scope")
    parser.add_argument("--writes", type=int, default=200, help="N (default %(default)s)")
    parser.add_argument("--seed", type=int, default=500, help="names' seed (default %(default)s)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is missing: apt-get install -y valgrind")
    work = Path(tempfile.mkdtemp(prefix="passerelles-instructions-"))
    try:
        once = _instructions(args.database_url, args.secret, args.writes, args.seed, work)
        twice = _instructions(args.database_url, args.secret, 2 * args.writes, args.seed, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        json.dumps(
            {
                "writes": args.writes,
                "instructions_per_write": (twice - once) // args.writes,
                "instructions": {str(args.writes): once, str(2 * args.writes): twice},
            }
        )
    )


if __name__ == "__main__":
    main()
