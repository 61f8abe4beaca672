"""/health: graph size, how far it follows the registry, and whether the registry answers."""

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(tags=["health"])


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    """Always 200 while the process serves. `status` is `degraded` while the registry does not
    answer (then `lag` is null: nobody can know it; `seconds_since_registry_contact` says for
    how long) or before the first snapshot; `skipped_events` counts events that could not be
    read or applied, with the last one's sequence and reason."""
    return request.app.state.holder.status()
