"""TypeScript types of both services, generated from their OpenAPI documents, then type-checked.

    .venv/bin/python clients/typescript/generate.py [--no-check] [--folder DIR]

Writes each service's OpenAPI document as the code declares it (from an app that is built but
never served: no database is opened, no server needed) to ``src/generated/<service>.openapi.json``,
turns it into ``src/generated/<service>.ts`` with openapi-typescript, then type-checks the example
client (``src/``) with ``tsc --strict``. Needs the npm packages installed (``npm ci`` in this
folder); exits non-zero, with the tool's own output, when a step fails. ``--folder`` works on a
copy of this folder instead (with its own or a linked ``node_modules``), as the tests do.
"""

import argparse
import json
import secrets
import subprocess
import sys
from pathlib import Path

from services.matching.app import create_app as create_matching_app
from services.matching.settings import MatchingSettings
from services.registry.app import create_app as create_registry_app
from services.registry.settings import RegistrySettings

__all__ = ["FOLDER", "check", "generate", "openapi_documents"]

FOLDER = Path(__file__).resolve().parent


def openapi_documents() -> dict[str, dict]:
    """Each service's OpenAPI document, from apps built on an in-memory database."""
    registry = create_registry_app(
        # A throwaway cursor secret: otherwise one would be generated and kept in ./data.
        RegistrySettings(database_url="sqlite://", cursor_secret=secrets.token_urlsafe(32))
    )
    matching = create_matching_app(
        MatchingSettings(database_url="sqlite://", registry_url="", registry_key=""),
        follow=False,
    )
    return {"registry": registry.openapi(), "matching": matching.openapi()}


def _run(folder: Path, *command: str | Path) -> None:
    """Run a tool of the folder's node_modules/.bin; its output is the error when it fails."""
    tool = folder / "node_modules" / ".bin" / str(command[0])
    if not tool.exists():
        sys.exit(f"{tool} is missing: run `npm ci` in {folder}")
    done = subprocess.run(
        [str(tool), *map(str, command[1:])], cwd=folder, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"{command[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def generate(folder: Path = FOLDER) -> list[Path]:
    """Write both services' OpenAPI documents and their TypeScript types; the written paths."""
    generated = folder / "src" / "generated"
    generated.mkdir(parents=True, exist_ok=True)
    written = []
    for service, document in openapi_documents().items():
        source = generated / f"{service}.openapi.json"
        source.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
        types = generated / f"{service}.ts"
        _run(folder, "openapi-typescript", source, "--output", types)
        written += [source, types]
    return written


def check(folder: Path = FOLDER) -> None:
    """Type-check the client and the generated types (tsconfig.json: strict, no emit)."""
    _run(folder, "tsc", "--project", folder)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-check", action="store_true", help="generate only, skip tsc")
    parser.add_argument("--folder", type=Path, default=FOLDER, help="the client folder")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    for path in generate(folder):
        print(f"wrote {path.relative_to(folder)}")
    if not args.no_check:
        check(folder)
        print("tsc --strict: no type error")


if __name__ == "__main__":
    main()
