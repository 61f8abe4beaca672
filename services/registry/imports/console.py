"""The import on the command line: a progress bar while it runs, a summary when it ends."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from services.registry.imports.report import ImportReport

__all__ = ["import_progress", "print_report"]

_SHOWN = 20  # refused rows and likely duplicates printed; the --report file has them all


@contextmanager
def import_progress(total: int, apply: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on standard error: rows done, rows/s and time left."""
    progress = Progress(
        TextColumn("importing" if apply else "checking (dry run)"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("rows", total=total, rate="-")
    with progress:

        def advance(done: int, _total: int) -> None:
            speed = progress.tasks[task].speed
            progress.update(task, completed=done, rate=f"{speed:,.0f}" if speed else "-")

        yield advance


def print_report(report: ImportReport, saved_to: Path | None) -> None:
    console = Console()
    summary = report.summary
    table = Table(title="dry run: nothing written" if not summary.applied else "import applied")
    actions = ("create", "update", "unchanged", "refused")
    table.add_column("resource")
    for action in actions:
        table.add_column(action, justify="right")
    for resource, counts in summary.counts.items():
        table.add_row(resource, *(str(counts.get(action, 0)) for action in actions))
    console.print(table)
    console.print(
        f"{summary.rows} rows in {summary.seconds:.1f} s ({summary.rows_per_second:,.0f} rows/s); "
        f"{summary.batches_committed} batch{'' if summary.batches_committed == 1 else 'es'} "
        "committed"
    )
    if summary.ignored_columns:
        console.print(f"[yellow]columns ignored[/]: {', '.join(summary.ignored_columns)}")
    refused = [row for row in report.rows if row.action == "refused"]
    for row in refused[:_SHOWN]:
        console.print(f"[red]row {row.row}[/] ({row.resource}) refused: {row.problem}")
    duplicates = [row for row in report.rows if row.likely_duplicates]
    for row in duplicates[:_SHOWN]:
        names = ", ".join(f"{d['name']} ({d['id']})" for d in row.likely_duplicates)
        console.print(f"[yellow]row {row.row}[/] is like {names}")
    hidden = max(len(refused) - _SHOWN, 0) + max(len(duplicates) - _SHOWN, 0)
    if hidden:
        where = f"see {saved_to}" if saved_to else "use --report FILE to see them all"
        console.print(f"… and {hidden} more rows to look at; {where}")
    if summary.stopped:
        console.print(f"[red]stopped[/]: {summary.stopped}")
    elif not summary.applied:
        console.print("run again with --apply to write the rows that are not refused")
