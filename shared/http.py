"""The one way services make outbound HTTP calls: httpx with explicit timeouts."""

import httpx

from shared.operations import request_id

__all__ = ["http_client"]


def _pass_request_id(request: httpx.Request) -> None:
    """A call made for a request carries its id, so the other service logs it too."""
    current = request_id.current()
    if current is not None and request_id.HEADER not in request.headers:
        request.headers[request_id.HEADER] = current


def http_client(base_url: str, timeout_seconds: float, **kwargs: object) -> httpx.Client:
    """A client that never waits forever and never follows redirects silently."""
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_seconds),
        follow_redirects=False,
        headers={"user-agent": "passerelles"},
        event_hooks={"request": [_pass_request_id]},
        **kwargs,  # type: ignore[arg-type]
    )
