"""Command line of the matching service: `python -m services.matching migrate|serve`."""

import argparse
import sys

from services.matching.settings import get_settings
from shared.migrate import upgrade
from shared.operations.serve import serve


def _migrate(_args: argparse.Namespace) -> int:
    upgrade(get_settings().database_url, "matching")
    print("matching database is at the latest schema")
    return 0


def _serve(args: argparse.Namespace) -> int:
    serve("services.matching.app:create_app", get_settings(), args.host, args.port)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.matching")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the database to the latest schema").set_defaults(
        run=_migrate
    )
    serve = commands.add_parser("serve", help="serve the HTTP API and follow the registry")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001)
    serve.set_defaults(run=_serve)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
