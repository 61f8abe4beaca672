"""Query filters that the conventions and projects listings share."""

import uuid
from typing import Annotated

from fastapi import Depends, Query

from services.registry.funded import FundedFilters
from services.registry.vocabulary import CountryCode, Status, ThemeCode

__all__ = ["FundedQuery"]


def _funded_filters(
    status: Annotated[list[Status], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    theme: Annotated[list[ThemeCode], Query(description="Has any of these themes.")] = [],  # noqa: B006
    target_id: Annotated[
        uuid.UUID | None, Query(description="Action in this local authority.")
    ] = None,
    target_country: Annotated[
        list[CountryCode], Query(description="Action in this country (ISO alpha-2).")
    ] = [],  # noqa: B006
    actor: Annotated[
        list[uuid.UUID],
        Query(description="Actors taking part; several mean all of them together."),
    ] = [],  # noqa: B006
) -> FundedFilters:
    return FundedFilters(
        status=status,
        theme=theme,
        target_id=target_id,
        target_country=target_country,
        actor_ids=actor,
    )


FundedQuery = Annotated[FundedFilters, Depends(_funded_filters)]
