"""The TypeScript client: types generated from both services' OpenAPI documents, and an example
client that uses them, pass `tsc --strict`; a misuse of those types fails it.

Works on a copy of clients/typescript (its node_modules linked), so the tree is never written.
Without node or the npm packages (`npm ci` in clients/typescript) the test skips, so that a
machine with only Python and make passes `make test`; with REQUIRE_TYPESCRIPT=1 (as in CI) it
fails instead.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parent.parent / "clients" / "typescript"
TOOLS = ("openapi-typescript", "tsc")


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    absent = [tool for tool in TOOLS if not (CLIENT / "node_modules" / ".bin" / tool).exists()]
    if absent:
        return f"{', '.join(absent)} not installed: run `npm ci` in clients/typescript"
    return None


@pytest.fixture
def client_copy(tmp_path: Path) -> Path:
    """clients/typescript without its generated files, its node_modules linked."""
    missing = _missing()
    if missing is not None:
        if os.environ.get("REQUIRE_TYPESCRIPT") == "1":
            pytest.fail(f"{missing} (REQUIRE_TYPESCRIPT=1)")
        pytest.skip(missing)
    copy = tmp_path / "typescript"
    shutil.copytree(
        CLIENT, copy, ignore=shutil.ignore_patterns("node_modules", "generated", "__pycache__")
    )
    (copy / "node_modules").symlink_to(CLIENT / "node_modules", target_is_directory=True)
    return copy


def _generate(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(folder / "generate.py"), "--folder", str(folder), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _tsc(folder: Path) -> subprocess.CompletedProcess[str]:
    tsc = folder / "node_modules" / ".bin" / "tsc"
    return subprocess.run(
        [str(tsc), "--project", str(folder)], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_the_example_client_type_checks_against_both_services(client_copy: Path):
    done = _generate(client_copy)
    assert done.returncode == 0, done.stdout + done.stderr
    generated = client_copy / "src" / "generated"
    registry, matching = [(generated / f"{s}.ts").read_text() for s in ("registry", "matching")]
    assert '"/v1/actors/{actor_id}"' in registry and "ProblemDetail" in registry
    assert '"/v1/graph"' in matching and "GraphologyGraph" in matching

    # The check has teeth: a client reading a field no actor has, or passing a number where
    # the API takes a list of kinds, no longer compiles, and tsc says where.
    (client_copy / "src" / "misuse.ts").write_text(
        'import type { Actor } from "./example";\n'
        'import { actorsWorkingIn, connect } from "./example";\n'
        "export const town = (actor: Actor): string => actor.town;\n"
        'export const all = actorsWorkingIn(connect(), "ML", 3);\n',
        encoding="utf-8",
    )
    refused = _tsc(client_copy)
    assert refused.returncode != 0
    assert "misuse.ts(3," in refused.stdout and "'town' does not exist" in refused.stdout
    assert "misuse.ts(4," in refused.stdout
