"""Command line of the registry: `python -m services.registry migrate|load-demo|serve`."""

import argparse
import signal
import sys

import uvicorn

from services.registry.demo.loader import is_empty, load_demo
from services.registry.dispatcher import Dispatcher
from services.registry.settings import get_settings
from shared.db import make_engine, new_session
from shared.migrate import upgrade


def _migrate(_args: argparse.Namespace) -> int:
    upgrade(get_settings().database_url)
    print("registry database is at the latest schema")
    return 0


def _load_demo(args: argparse.Namespace) -> int:
    engine = make_engine(get_settings().database_url)
    try:
        for session in new_session(engine):
            if not is_empty(session):
                if args.if_empty:
                    print("registry already holds data; demo data not loaded")
                    return 0
                print(
                    "refusing to load the demo data into a registry that holds data",
                    file=sys.stderr,
                )
                return 1
            counts = load_demo(session)
            session.commit()
            print("demo data loaded: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    finally:
        engine.dispose()
    return 0


def _serve(args: argparse.Namespace) -> int:
    uvicorn.run("services.registry.app:create_app", factory=True, host=args.host, port=args.port)
    return 0


def _worker(_args: argparse.Namespace) -> int:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    dispatcher = Dispatcher(engine, settings)
    signal.signal(signal.SIGTERM, lambda *_: dispatcher.stop_soon())
    print("webhook worker started", flush=True)
    try:
        dispatcher.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.registry")
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
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
