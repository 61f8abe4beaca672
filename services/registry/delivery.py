"""One webhook attempt over HTTP, and when to try again: no database here."""

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from services.registry.netguard import GuardedTransport, Resolver, UnsafeUrl, check_url_form
from shared.operations.request_id import HEADER as REQUEST_ID_HEADER
from shared.webhooks import webhook_headers

__all__ = ["Outcome", "delivery_client", "next_delay", "send"]

_EXCERPT = 500


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str | None = None
    retry_after: float | None = None
    excerpt: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        """The receiver said 410: it wants no more deliveries at this URL."""
        return self.status_code == 410


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def delivery_client(
    timeout_seconds: float, allowed_hosts: frozenset[str], resolver: Resolver | None = None
) -> httpx.Client:
    """A client whose connections go only to addresses that passed the SSRF check."""
    return httpx.Client(
        transport=GuardedTransport(allowed_hosts, resolver),
        timeout=httpx.Timeout(timeout_seconds),
        follow_redirects=False,
        headers={"user-agent": "passerelles"},
    )


def send(
    client: httpx.Client,
    url: str,
    secrets_in_use: list[str],
    msg_id: str,
    body: bytes,
    allowed_hosts: frozenset[str],
    *,
    request_id: str | None = None,
) -> Outcome:
    """POST one signed message; never raises, every failure is an Outcome with an error.

    `request_id`, that of the request that made the change, goes in `X-Request-ID`: a partner
    quoting it lets the operator find the change in every log.

    `client` comes from `delivery_client`: its transport checks the addresses it connects to.
    """
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        check_url_form(url, allowed_hosts)
    except UnsafeUrl as error:
        return Outcome(status_code=None, duration_ms=elapsed(), error=f"refused: {error}")
    headers = webhook_headers(secrets_in_use, msg_id, int(time.time()), body)
    if request_id is not None:
        headers[REQUEST_ID_HEADER] = request_id
    try:
        response = client.post(url, content=body, headers=headers)
    except UnsafeUrl as error:
        return Outcome(status_code=None, duration_ms=elapsed(), error=f"refused: {error}")
    except httpx.HTTPError as error:
        return Outcome(
            status_code=None, duration_ms=elapsed(), error=f"{type(error).__name__}: {error}"[:1000]
        )
    error = None
    if response.is_redirect:
        error = "redirects are not followed; register the final URL"
    elif not response.is_success:
        error = f"HTTP {response.status_code}"
    return Outcome(
        status_code=response.status_code,
        duration_ms=elapsed(),
        error=error,
        retry_after=_retry_after(response.headers.get("retry-after")),
        excerpt=response.text[:_EXCERPT] if response.content else None,
    )


def next_delay(
    attempts_made: int, schedule: list[float], retry_after: float | None, rng: random.Random
) -> float | None:
    """Seconds before the next attempt, or None when the schedule is exhausted.

    `schedule[i]` is the wait before attempt i+1 (the first is usually 0). Up to 10 % jitter
    spreads retries of many deliveries; a receiver's Retry-After is honoured when longer.
    """
    if attempts_made >= len(schedule):
        return None
    delay = schedule[attempts_made]
    delay += delay * 0.1 * rng.random()
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
