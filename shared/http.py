"""The one way services make outbound HTTP calls: httpx with explicit timeouts."""

import httpx

__all__ = ["http_client"]


def http_client(base_url: str, timeout_seconds: float, **kwargs: object) -> httpx.Client:
    """A client that never waits forever and never follows redirects silently."""
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_seconds),
        follow_redirects=False,
        headers={"user-agent": "passerelles"},
        **kwargs,  # type: ignore[arg-type]
    )
