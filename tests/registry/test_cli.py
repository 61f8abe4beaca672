"""The registry as a new user runs it: migrate, load the demo data, serve over real HTTP."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.registry", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_migrate_load_demo_and_serve_as_make_run_does(tmp_path):
    env = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh' / 'passerelles.db'}"}
    assert _cli(env, "migrate").returncode == 0
    loaded = _cli(env, "load-demo", "--if-empty")
    assert loaded.returncode == 0, loaded.stderr
    assert "demo data loaded" in loaded.stdout
    again = _cli(env, "load-demo", "--if-empty")
    assert again.returncode == 0 and "not loaded" in again.stdout
    assert _cli(env, "load-demo").returncode == 1

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "services.registry", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the registry did not start within 30 s"
            time.sleep(0.2)
        page = httpx.get(f"{base}/v1/actors", params={"limit": 200}, timeout=10).json()
        assert len(page["items"]) >= 150
        assert httpx.get(f"{base}/docs", timeout=10).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
