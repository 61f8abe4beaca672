"""Command line of the registry: `passerelles migrate|load-demo|import|serve|worker|keys …`
(also `python -m services.registry …`)."""

import argparse
import gc
import logging
import os
import signal
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import Session

from services.registry import documents, feed, keys
from services.registry.demo.loader import is_empty, load_demo
from services.registry.dispatcher import Dispatcher
from services.registry.generate.cli import add_generate_command
from services.registry.imports import ImportFileError, ImportOptions, read_rows, run_import
from services.registry.imports.console import import_progress, print_report
from services.registry.settings import get_settings
from services.registry.worker_status import serve_worker_status
from shared.access import SCOPE_HELP, SYSTEM, Scope
from shared.db import begin_write, make_engine, new_session
from shared.errors import Problem
from shared.migrate import upgrade
from shared.operations.logs import configure_logging
from shared.operations.serve import serve


@contextmanager
def _operator_session() -> Iterator[Session]:
    """A session acting with the operator's authority: whoever can run this command can
    already read the database, so the command line is where the first admin key comes from."""
    engine = make_engine(get_settings().database_url)
    try:
        for session in new_session(engine):
            session.info["principal"] = SYSTEM
            yield session
    finally:
        engine.dispose()


def _migrate(_args: argparse.Namespace) -> int:
    upgrade(get_settings().database_url)
    with _operator_session() as session:
        written = documents.backfill(session)
        envelopes = feed.backfill_envelopes(session)
    print("registry database is at the latest schema")
    if written:
        print(f"public documents written for {written} resources")
    if envelopes:
        print(f"envelopes stored for {envelopes} events of the feed")
    return 0


def _load_demo(args: argparse.Namespace) -> int:
    with _operator_session() as session:
        if not is_empty(session):
            if args.if_empty:
                print("registry already holds data; demo data not loaded")
                return 0
            print("refusing to load the demo data into a registry that holds data", file=sys.stderr)
            return 1
        counts = load_demo(session)
        session.commit()
        print("demo data loaded: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    return 0


def _keys_create(args: argparse.Namespace) -> int:
    output: Path | None = args.output
    with _operator_session() as session:
        if output is not None and args.if_missing and output.exists():
            secret = output.read_text().strip()
            try:
                keys.authenticate(session, f"Bearer {secret}")
                print(f"{output} already holds a valid key; nothing created")
                return 0
            except Problem:
                pass  # revoked or from another database: issue a new one
        try:
            key, secret = keys.create_key(
                session, name=args.name, scopes=args.scope, actor_id=args.actor
            )
        except Problem as error:
            print(f"refused: {error.detail}", file=sys.stderr)
            return 1
        session.commit()
    print(f"key {key.id} ({', '.join(key.scopes)}) created for {key.name!r}", file=sys.stderr)
    if output is None:
        print("store it now, it is shown only once:", file=sys.stderr)
        print(secret)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        # Readable by its owner only, like an SSH key.
        descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secret + "\n")
        print(f"written to {output}", file=sys.stderr)
    return 0


def _keys_list(_args: argparse.Namespace) -> int:
    with _operator_session() as session:
        rows: list = []
        cursor: str | None = ""
        while cursor is not None:
            page, cursor = keys.list_keys(
                session, include_revoked=True, cursor=cursor or None, limit=500
            )
            rows += page
        for key in rows:
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            bound = f" actor={key.actor_id}" if key.actor_id else ""
            print(f"{key.id}  {key.prefix}…  {state:18}  {','.join(key.scopes)}{bound}  {key.name}")
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    with _operator_session() as session:
        try:
            keys.revoke_key(session, args.key_id)
        except Problem as error:
            print(f"refused: {error.detail}", file=sys.stderr)
            return 1
        session.commit()
    print(f"key {args.key_id} revoked")
    return 0


def _import(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        content = path.read_bytes()
        rows = read_rows(content, format=args.format or _format_of(path), resource=args.resource)
    except (OSError, ImportFileError) as error:
        print(f"cannot import {path}: {error}", file=sys.stderr)
        return 2
    options = ImportOptions(
        source=args.source,
        apply=args.apply,
        batch_size=args.batch_size,
        duplicate_threshold=get_settings().duplicate_name_threshold,
    )
    # An import allocates millions of short-lived objects with cycles (ORM state): at the default
    # threshold the collector runs tens of thousands of times, a sixth of the import's time. This
    # process does nothing else, so it collects less often.
    gc.set_threshold(50_000, 20, 20)
    with _operator_session() as session, import_progress(len(rows), args.apply) as progress:
        begin_write(session)
        report = run_import(session, rows, options, progress=progress)
    if args.report is not None:
        args.report.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    print_report(report, args.report)
    return 0 if report.summary.stopped is None else 1


def _format_of(path: Path) -> str:
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"


def _serve(args: argparse.Namespace) -> int:
    # Measured on the registry only; the matching service's memory has its own budget.
    serve(
        "services.registry.app:create_app",
        get_settings(),
        args.host,
        args.port,
        frozen_start_up=True,
    )
    return 0


def _worker(_args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    engine = make_engine(settings.database_url)
    if settings.worker_status_port:
        serve_worker_status(engine, settings.worker_status_host, settings.worker_status_port)
    dispatcher = Dispatcher(engine, settings)
    signal.signal(signal.SIGTERM, lambda *_: dispatcher.stop_soon())
    signal.signal(signal.SIGINT, lambda *_: dispatcher.stop_soon())
    print("webhook worker started", flush=True)
    dispatcher.run_forever()
    engine.dispose()
    logging.shutdown()
    # What was in flight has been handed back; a send may still wait on a slow receiver, and
    # its thread must not hold the process for the rest of the timeout.
    os._exit(0)


def _add_keys_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    keys_parser = commands.add_parser("keys", help="issue, list and revoke API keys")
    actions = keys_parser.add_subparsers(dest="keys_command", required=True)
    scopes = "; ".join(f"{scope}: {SCOPE_HELP[scope]}" for scope in Scope)
    create = actions.add_parser(
        "create", help="issue a key and print it once", description=f"Scopes — {scopes}."
    )
    create.add_argument("--name", required=True, help="who or what the key is for")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=[str(scope) for scope in Scope],
        help="repeat for several scopes",
    )
    create.add_argument("--actor", type=uuid.UUID, help="bind the key to this actor's id")
    create.add_argument("--output", type=Path, help="write the key to this file (mode 600)")
    create.add_argument(
        "--if-missing",
        action="store_true",
        help="with --output: keep the file's key if it is still valid",
    )
    create.set_defaults(run=_keys_create)
    actions.add_parser("list", help="every key, revoked ones included").set_defaults(run=_keys_list)
    revoke = actions.add_parser("revoke", help="refuse a key from now on")
    revoke.add_argument("key_id", type=uuid.UUID)
    revoke.set_defaults(run=_keys_revoke)


def _add_import_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    command = commands.add_parser(
        "import",
        help="import a CSV or JSON Lines file (dry run unless --apply)",
        description="Check every row of FILE against the registry's rules and report what each "
        "would do (create, update, unchanged, refused); --apply writes them, in batches. See "
        "docs/import-columns.md for the columns.",
    )
    command.add_argument("file", type=Path)
    command.add_argument("--apply", action="store_true", help="write the rows (default: dry run)")
    command.add_argument(
        "--source",
        default="default",
        help="name of where the data comes from; the file's own ids are kept under it, so that "
        "later files of the same source can refer to them (default: %(default)s)",
    )
    command.add_argument(
        "--resource",
        choices=["actor", "convention", "project", "relationship"],
        help="the file's resource, when it has no `resource` column and its header does not say",
    )
    command.add_argument("--format", choices=["csv", "jsonl"], help="default: by the extension")
    command.add_argument("--batch-size", type=int, default=500, help="rows per transaction")
    command.add_argument("--report", type=Path, help="write the whole report here, as JSON")
    command.set_defaults(run=_import)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="passerelles")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the database to the latest schema").set_defaults(
        run=_migrate
    )
    demo = commands.add_parser("load-demo", help="load the demo data set")
    demo.add_argument("--if-empty", action="store_true", help="skip quietly if data exists")
    demo.set_defaults(run=_load_demo)
    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)
    commands.add_parser("worker", help="deliver webhooks (run one or more)").set_defaults(
        run=_worker
    )
    _add_keys_commands(commands)
    _add_import_command(commands)
    add_generate_command(commands)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
