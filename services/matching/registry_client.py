"""Reads the registry over its public HTTP API: listings for a snapshot, and the change feed."""

from typing import Any

import httpx

__all__ = ["FeedGap", "RegistryClient", "RegistryRefused"]

RESOURCES = ("actors", "conventions", "projects", "relationships")


class FeedGap(Exception):
    """The registry no longer keeps the events after our cursor: resynchronise."""


class RegistryRefused(Exception):
    """The registry answered a write with an error; the message carries its problem detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class RegistryClient:
    def __init__(self, client: httpx.Client, service_key: str | None = None) -> None:
        self.client, self.service_key = client, service_key

    def whoami(self, secret: str) -> dict[str, Any] | None:
        """The registry's record of a caller's key, or None if the registry does not know it
        (unknown or revoked)."""
        response = self.client.get(
            "/v1/keys/current", headers={"Authorization": f"Bearer {secret}"}
        )
        if response.status_code == 401:
            return None
        response.raise_for_status()
        return response.json()

    def head(self) -> int:
        response = self.client.get("/v1/events/head")
        response.raise_for_status()
        return int(response.json()["head"])

    def listing(self, resource: str) -> list[dict[str, Any]]:
        """Every live item of a listing, following `next` page after page."""
        items: list[dict[str, Any]] = []
        url: str | None = f"/v1/{resource}?limit=200"
        while url:
            response = self.client.get(url)
            response.raise_for_status()
            page = response.json()
            items += page["items"]
            url = page["next"]
        return items

    def snapshot(self) -> tuple[int, dict[str, list[dict[str, Any]]]]:
        """The head read *before* the listings, and the listings: following the feed from
        that head after loading them misses nothing (events already seen apply idempotently)."""
        head = self.head()
        return head, {resource: self.listing(resource) for resource in RESOURCES}

    def events(self, after: int, limit: int = 200) -> tuple[list[dict[str, Any]], int, int]:
        """(events, next_after, head) after a sequence."""
        response = self.client.get("/v1/events", params={"after": after, "limit": limit})
        if response.status_code == 410:
            raise FeedGap(response.json().get("detail", "feed gap"))
        response.raise_for_status()
        page = response.json()
        return page["items"], int(page["next_after"]), int(page["head"])

    def create_project(self, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """POST a project to the registry's public API with this service's own key, as any
        partner platform would. The idempotency key makes a retried call create one project."""
        headers = {"Idempotency-Key": idempotency_key}
        if self.service_key:
            headers["Authorization"] = f"Bearer {self.service_key}"
        try:
            response = self.client.post("/v1/projects", json=body, headers=headers)
        except httpx.TransportError:
            # The request may have been applied before the answer was lost: the same
            # Idempotency-Key makes the registry replay it rather than create a second project.
            response = self.client.post("/v1/projects", json=body, headers=headers)
        if response.status_code != 201:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise RegistryRefused(response.status_code, str(detail))
        return response.json()
