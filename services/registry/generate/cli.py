"""`passerelles generate`: write a synthetic data set as import files."""

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from services.registry.generate.generator import MIN_ACTORS, STEPS, generate
from services.registry.generate.writer import FILES

__all__ = ["add_generate_command"]


@contextmanager
def _progress(enabled: bool) -> Iterator:  # type: ignore[type-arg]
    """A bar of the generator's steps on standard error, when it is a terminal."""
    if not enabled:
        yield lambda _name: None
        return
    progress = Progress(
        TextColumn("generating: {task.fields[step]:<22}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("generate", total=len(STEPS), step="")
    seen: list[str] = []

    def step(name: str) -> None:
        progress.update(task, completed=len(seen), step=name)
        seen.append(name)

    with progress:
        yield step
        progress.update(task, completed=len(STEPS))


def _generate(args: argparse.Namespace) -> int:
    out: Path = args.out
    started = time.perf_counter()
    try:
        with _progress(sys.stderr.isatty()) as step:
            manifest = generate(args.actors, args.seed, out, step)
    except ValueError as error:
        print(f"cannot generate: {error}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    network = manifest["authority_network"]
    print(f"{args.actors:,} actors generated in {seconds:.1f} s into {out}/ (seed {args.seed}):")
    for entry in manifest["files"]:
        print(f"  {entry['file']:<18} {entry['rows']:>9,} rows")
    print(
        f"authority network: {network['nodes']:,} places, {network['ties']:,} ties, mean degree "
        f"{network['mean_degree']}, largest {network['max_degree']}, "
        f"{network['share_degree_1']:.0%} with a single tie, clustering "
        f"{network['clustering']}, assortativity {network['assortativity']:+}"
    )
    print(f"matching graph: {manifest['graph_ties']:,} ties; see {out / 'manifest.json'}")
    print("import them in this order, with the same --source:")
    for _resource, name in FILES:
        print(f"  passerelles import {out / name} --source {args.source} --apply")
    return 0


def add_generate_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    command = commands.add_parser(
        "generate",
        help="write a synthetic data set as import files",
        description="Write a realistic synthetic data set into OUT as CSV import files "
        "(actors, relationships, conventions, projects) and a manifest.json: French "
        "authorities from INSEE's reference data, foreign authorities in about a hundred "
        "countries, associations, migrant organisations, networks and resource centres, "
        "conventions and projects, with a cooperation network shaped like the real "
        "sister-city network. The same seed gives the same files. See docs/generator.md.",
    )
    command.add_argument(
        "--actors",
        type=int,
        default=10_000,
        help=f"actors in the data set, at least {MIN_ACTORS} (default: %(default)s)",
    )
    command.add_argument("--seed", type=int, default=1, help="default: %(default)s")
    command.add_argument("--out", type=Path, required=True, help="folder to write the files in")
    command.add_argument(
        "--source",
        default="generated",
        help="the --source the printed import commands use (default: %(default)s)",
    )
    command.set_defaults(run=_generate)
