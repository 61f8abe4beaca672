"""Reads the registry over its public HTTP API: whole listings for a snapshot, and the change
feed."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from shared.records import ActorRecord, ConventionRecord, ProjectRecord, RelationshipRecord

__all__ = ["FeedGap", "RegistryClient", "RegistryRefused", "Snapshot"]

RESOURCES = ("actors", "conventions", "projects", "relationships")


@dataclass
class Snapshot:
    """Every live resource, parsed with the contract, and the feed head read before them.

    Each listing is read from the registry as it is consumed, once: a whole snapshot held as
    records took a gigabyte at 100,000 actors, which the process kept after the graph was built
    (freed small objects stay in the interpreter's arenas)."""

    head: int
    actors: Iterable[ActorRecord] = ()
    conventions: Iterable[ConventionRecord] = ()
    projects: Iterable[ProjectRecord] = ()
    relationships: Iterable[RelationshipRecord] = ()
    # One line per listing item that did not parse (known once its listing is consumed); the
    # rest of the snapshot still loads.
    rejected: list[str] = field(default_factory=list)


_RECORDS: dict[str, type[BaseModel]] = {
    "actors": ActorRecord,
    "conventions": ConventionRecord,
    "projects": ProjectRecord,
    "relationships": RelationshipRecord,
}


def _reasons(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:5]
    )


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

    def snapshot(self) -> Snapshot:
        """The head read *before* the listings, and the listings: following the feed from
        that head after loading them misses nothing (events already seen apply idempotently).

        Each listing comes whole, as one streamed response of JSON lines (the registry's
        `/v1/exports/{resource}.ndjson`), parsed line by line into the contract's records as
        its consumer reads them: at national scale, pages of 200 meant a thousand round trips,
        and records held all at once a gigabyte.
        """
        snapshot = Snapshot(head=self.head())
        for resource in RESOURCES:
            setattr(snapshot, resource, self._listing(resource, snapshot.rejected))
        return snapshot

    def _listing(self, resource: str, rejected: list[str]) -> Iterator[Any]:
        """The records of a whole listing; the reasons for lines that are not records go to
        `rejected`."""
        record = _RECORDS[resource]
        with self.client.stream("GET", f"/v1/exports/{resource}.ndjson") as response:
            response.raise_for_status()
            for number, line in enumerate(response.iter_lines(), start=1):
                if not line:
                    continue
                try:
                    yield record.model_validate_json(line)
                except ValidationError as error:
                    rejected.append(f"malformed {resource} line {number}: {_reasons(error)}")

    def events(self, after: int, limit: int = 200) -> tuple[list[dict[str, Any]], int, int]:
        """(events, next_after, head) after a sequence; the events as the JSON says, since
        each one is parsed on its own (a malformed one must not hide the others)."""
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
