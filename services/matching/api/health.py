"""/health: graph size, how far it follows the registry, and whether the registry answers."""

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(tags=["health"])


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    """Always 200 while the process serves; read `synced`, `lag` and `registry_reachable`."""
    return {"status": "ok", **request.app.state.holder.status()}
