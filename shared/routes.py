"""The API routes of an app, whatever nesting FastAPI keeps them in."""

from typing import Any

from fastapi.routing import APIRoute

__all__ = ["api_routes", "route_dependencies"]


def api_routes(app: Any) -> list[APIRoute]:
    """Every APIRoute of `app`, including those inside included routers, in declaration order."""
    found: list[APIRoute] = []
    pending = list(app.router.routes)
    while pending:
        route = pending.pop(0)
        included = getattr(route, "original_router", None)
        if included is not None:
            pending[0:0] = list(included.routes)
        elif isinstance(route, APIRoute):
            found.append(route)
    return found


def route_dependencies(route: APIRoute) -> list[Any]:
    """Every dependency of a route, nested ones included (each a FastAPI `Dependant`)."""
    found, pending = [], list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        found.append(dependency)
        pending.extend(dependency.dependencies)
    return found
