"""Dependencies shared by the registry's routers."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Query, Request, Response
from pydantic import BaseModel
from sqlmodel import Session

from services.registry.resources import Versioned, etag
from services.registry.settings import RegistrySettings
from shared.db import new_session
from shared.errors import InvalidInput
from shared.pagination import Page, next_link

__all__ = [
    "IfMatch",
    "PageParams",
    "PageQuery",
    "SessionDep",
    "SettingsDep",
    "page_of",
    "page_size",
    "send_etag",
]

S = TypeVar("S", bound=BaseModel)


def _session(request: Request) -> Iterator[Session]:
    yield from new_session(request.app.state.engine)


def _settings(request: Request) -> RegistrySettings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(_session)]
SettingsDep = Annotated[RegistrySettings, Depends(_settings)]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The ETag you last read; the change is refused with 412 if it is stale.",
    ),
]


@dataclass(frozen=True)
class PageParams:
    cursor: str | None
    limit: int


def page_size(settings: RegistrySettings, limit: int | None) -> int:
    """The page size asked for, or the default; more than the cap is a 422 on `limit`."""
    if limit is not None and limit > settings.page_size_max:
        raise InvalidInput.on(
            "limit", f"at most {settings.page_size_max} items per page", location="query"
        )
    return limit or settings.page_size_default


def _page_params(
    settings: SettingsDep,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int | None, Query(ge=1, description="Items per page.")] = None,
) -> PageParams:
    return PageParams(cursor=cursor, limit=page_size(settings, limit))


PageQuery = Annotated[PageParams, Depends(_page_params)]


def page_of(
    request: Request, schema: type[S], rows: list[object], next_cursor: str | None
) -> Page[S]:
    return Page[schema](  # type: ignore[valid-type]
        items=[schema.model_validate(row) for row in rows],
        next_cursor=next_cursor,
        next=next_link(request, next_cursor),
    )


def send_etag(response: Response, resource: Versioned) -> None:
    response.headers["ETag"] = etag(resource)
