"""Run the registry's own commands as real processes on 127.0.0.1, as an operator would."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

__all__ = ["ROOT", "Service", "free_port", "registry_env", "run_cli", "wait_for"]

ROOT = Path(__file__).resolve().parents[1]


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Wait until `check` holds; a service not answering yet (an HTTP error, a missing key or
    value in its answer) only means "not yet"."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def registry_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a registry process under test: webhooks delivered only by the test's
    own dispatchers, and no rate limits (they have tests of their own)."""
    return {
        "DATABASE_URL": database_url,
        "WEBHOOK_DISPATCHER": "off",
        "WRITE_RATE_PER_KEY": "0",
        "WRITE_RATE_PER_IP": "0",
        **extra,
    }


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.registry", *args],
        cwd=ROOT,
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Service:
    """`python -m <service> <command>` in the background; stopped by `stop` or `kill`."""

    def __init__(
        self,
        env: dict[str, str],
        *args: str,
        module: str = "services.registry",
        log: Path | None = None,
    ) -> None:
        """`log`: a file the process's output is appended to (discarded without)."""
        output = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=os.environ | env,
            stdout=output,
            stderr=output,
        )
        if log is not None:
            output.close()  # type: ignore[union-attr]  # the child has its own descriptor

    @classmethod
    def api(
        cls,
        env: dict[str, str],
        port: int,
        module: str = "services.registry",
        log: Path | None = None,
    ) -> "Service":
        """Serve the HTTP API of `module` on `port`, once it answers /health."""
        service = cls(env, "serve", "--port", str(port), module=module, log=log)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    return service
            except httpx.TransportError:
                pass
            if service.process.poll() is not None or time.monotonic() > deadline:
                service.kill()
                raise RuntimeError(f"{module} did not start")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything in flight."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
