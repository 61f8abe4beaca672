"""Rate limits per API key and per client address, answered with 429 and `Retry-After`.

Token buckets in the process's memory: each process enforces the limit on its own, so N
processes behind a load balancer admit up to N times the rate. That bounds abuse without a
shared store; a deployment that needs an exact global limit puts it in its reverse proxy.
"""

import hashlib
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, Request

from shared.errors import TooManyRequests

__all__ = ["WRITES", "RateLimiter", "caller_buckets", "limit_dependency", "write_limit"]

_MAX_BUCKETS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`per_minute` requests a minute for each bucket, with bursts up to that number."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.clock = per_minute, clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, bucket: str) -> float:
        """0 if the request may go on, or the seconds to wait before the next one may."""
        if self.per_minute <= 0:
            return 0.0
        rate = self.per_minute / 60.0
        now = self.clock()
        with self._lock:
            current = self._buckets.get(bucket)
            if current is None:
                if len(self._buckets) >= _MAX_BUCKETS:
                    self._forget_full(now, rate)
                current = self._buckets[bucket] = _Bucket(float(self.per_minute), now)
            current.tokens = min(self.per_minute, current.tokens + (now - current.updated) * rate)
            current.updated = now
            if current.tokens >= 1:
                current.tokens -= 1
                return 0.0
            return (1 - current.tokens) / rate

    def _forget_full(self, now: float, rate: float) -> None:
        # A bucket that has refilled is the same as no bucket: drop those to bound memory.
        self._buckets = {
            name: bucket
            for name, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * rate < self.per_minute
        }


def caller_buckets(request: Request) -> tuple[str | None, str]:
    """(key bucket, address bucket). The key is named by a digest of the header as sent, so
    an invalid key is limited too, before any lookup."""
    authorization = request.headers.get("authorization")
    key = None
    if authorization:
        key = "key:" + hashlib.sha256(authorization.encode("latin-1", "replace")).hexdigest()
    address = request.client.host if request.client else "unknown"
    return key, "ip:" + address


def limit_dependency(
    limiter_of: Callable[[Request], tuple[RateLimiter, RateLimiter]],
    applies: Callable[[Request], bool] = lambda _request: True,
) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency that refuses a request once its key or its address is over limit.

    `limiter_of` gives the (per key, per address) limiters of the app that handles the request.
    """

    # A coroutine: FastAPI would run a plain function on a worker thread, a hop per request.
    async def check(request: Request) -> None:
        if not applies(request):
            return
        per_key, per_address = limiter_of(request)
        key, address = caller_buckets(request)
        wait = per_address.take(address)
        if key is not None:
            wait = max(wait, per_key.take(key))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"Rate limit reached for this key or address; retry in {seconds} s.", seconds
            )

    check.rate_limited = True  # type: ignore[attr-defined]
    return check


WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# An app-level dependency of both services: writes, per key and per address, counted by the
# limiters that `shared.hardening.install_hardening` puts in `app.state.write_limiters`.
write_limit = Depends(
    limit_dependency(
        lambda request: request.app.state.write_limiters,
        applies=lambda request: request.method in WRITES,
    )
)
