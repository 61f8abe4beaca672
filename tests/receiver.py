"""A partner platform's webhook receiver on 127.0.0.1, verifying with `standardwebhooks`.

It answers as told (`status`), so tests can make it fail, ask for a retry later, go away or
hang (`hang_seconds`, until `release`), and it keeps every request with whether its signature
verified and when it arrived, and counts every TCP connection, even one that sent nothing.
"""

import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["Received", "Receiver"]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    # time.time() when the request was read, to measure how late it came.
    arrived_at: float = 0.0

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str | None = None
    status: int = 200
    extra_headers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    hang_seconds: float = 0.0
    # Serve https with this context (the caller sets its certificate) instead of plain http.
    tls: ssl.SSLContext | None = None
    connections: int = 0
    in_flight: int = 0
    most_in_flight: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def release(self) -> None:
        """Answer every hanging request now, and no longer hang."""
        self._released.set()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/hooks"

    def verify(self, body: bytes, headers: dict[str, str]) -> bool:
        """What a receiver of ours does: any parse error is a failed verification, never a crash."""
        if self.secret is None:
            return False
        try:
            Webhook(self.secret).verify(body, headers)
        except (WebhookVerificationError, ValueError):
            return False
        return True

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def setup(self) -> None:
                with receiver._lock:
                    receiver.connections += 1
                super().setup()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {key.lower(): value for key, value in self.headers.items()}
                verified = receiver.verify(body, headers)
                with receiver._lock:
                    receiver.received.append(Received(headers, body, verified, time.time()))
                    status = receiver.status if verified else 400
                    extra = dict(receiver.extra_headers)
                    receiver.in_flight += 1
                    receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
                try:
                    if receiver.hang_seconds:
                        receiver._released.wait(receiver.hang_seconds)
                finally:
                    with receiver._lock:
                        receiver.in_flight -= 1
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def ids(self, verified_only: bool = True) -> list[str]:
        with self._lock:
            return [r.msg_id for r in self.received if r.verified or not verified_only]
