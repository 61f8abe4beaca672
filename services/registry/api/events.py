"""/v1/events: the change feed that partner platforms and the matching service follow."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from services.registry import feed
from services.registry.api.deps import SessionDep, SettingsDep, page_size
from services.registry.api.responses import json_response
from shared.db import BIGINT_MAX
from shared.errors import InvalidInput, problem_responses
from shared.events import EVENT_TYPES, EventEnvelope

router = APIRouter(prefix="/v1/events", tags=["events"])


class EventPage(BaseModel):
    items: list[EventEnvelope]
    next_after: int = Field(description="Ask next with `after` set to this; never skips events.")
    head: int = Field(description="The latest sequence when this page was read.")
    next: str = Field(description="URL of the next page (it may be empty until new changes).")


class FeedHead(BaseModel):
    head: int = Field(description="The latest sequence; your lag is head minus your cursor.")
    purged_through: int = Field(description="Events up to this sequence are no longer kept.")


def _types(values: list[str]) -> list[str]:
    """Types may be repeated or comma-separated; `actor.*` means every actor event."""
    wanted: list[str] = []
    for value in (part.strip() for raw in values for part in raw.split(",")):
        if not value:
            continue
        if value.endswith(".*"):
            matches = [t for t in EVENT_TYPES if t.startswith(value[:-1])]
        else:
            matches = [value] if value in EVENT_TYPES else []
        if not matches:
            raise InvalidInput.on(
                "types", f"unknown event type {value!r}; one of {', '.join(EVENT_TYPES)}", "query"
            )
        wanted += matches
    return list(dict.fromkeys(wanted))


@router.get("", response_model=EventPage, responses=problem_responses(410, 422))
async def list_events(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    after: Annotated[
        int, Query(ge=0, le=BIGINT_MAX, description="The last sequence you have seen.")
    ] = 0,
    limit: Annotated[int | None, Query(ge=1)] = None,
    types: Annotated[list[str], Query(description="e.g. `actor.created`, `convention.*`.")] = [],  # noqa: B006
) -> Response:
    """Events after a sequence, in sequence order. Ask again with `next_after`: even with many
    concurrent writers no event is ever skipped. A cursor older than the retention period
    answers 410: resynchronise from the listings, then follow from the head."""
    events, next_after, head = feed.read_feed(
        session, after=after, limit=page_size(settings, limit), types=_types(types)
    )
    tail = EventPage.model_construct(
        items=[],
        next_after=next_after,
        head=head,
        next=str(request.url.include_query_params(after=next_after)),
    ).model_dump_json()
    # The page as EventPage writes it, its items spliced in from the stored envelopes.
    items = ",".join(event.envelope for event in events)
    return json_response(tail.replace('"items":[]', '"items":[' + items + "]", 1))


@router.get("/head", response_model=FeedHead)
def read_head(session: SessionDep) -> FeedHead:
    head, purged = feed.feed_bounds(session)
    return FeedHead(head=head, purged_through=purged)
