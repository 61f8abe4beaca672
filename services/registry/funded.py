"""What conventions and projects share: target territory, themes, period, status, budget."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlmodel import Session, SQLModel, col, exists

from services.registry.listings import Conditions
from services.registry.models import Convention, ConventionParty, Funded, Project, ProjectPartner
from services.registry.resources import check_period, live_actors, sync_links
from services.registry.schemas import FundedBase, Party
from services.registry.vocabulary import ActorKind, Status
from shared.db import new_row
from shared.errors import FieldError

__all__ = [
    "FundedFilters",
    "apply_funded",
    "check_funded",
    "check_parties",
    "filter_funded",
    "sync_parties",
]

F = TypeVar("F", Convention, Project)
L = TypeVar("L", ConventionParty, ProjectPartner)
_SCALARS = ("target_id", "target_country", "starts_on", "ends_on", "status", "description")


@dataclass
class FundedFilters:
    status: list[Status] = field(default_factory=list)
    theme: list[str] = field(default_factory=list)
    target_id: uuid.UUID | None = None
    target_country: list[str] = field(default_factory=list)
    actor_ids: list[uuid.UUID] = field(default_factory=list)


def apply_funded(
    resource: Funded, data: FundedBase, fields: set[str], theme_link: type[SQLModel]
) -> None:
    """Copy the shared fields that were sent onto a convention or a project."""
    for name in _SCALARS:
        if name in fields:
            setattr(resource, name, getattr(data, name))
    if "target_id" in fields and "target_country" not in fields:
        # The country follows a new target unless the client says otherwise.
        resource.target_country = None
    if "budget" in fields:
        resource.budget_amount = data.budget.amount if data.budget else None
        resource.budget_currency = data.budget.currency if data.budget else None
    if "themes" in fields:
        sync_links(
            resource.theme_links,  # type: ignore[attr-defined]
            data.themes or [],
            lambda link: link.theme,
            lambda theme: new_row(theme_link, theme=theme),
        )


def check_funded(session: Session, resource: Funded, errors: list[FieldError]) -> None:
    """The target is a live local authority in the target country; the period is ordered."""
    if resource.target_id is not None:
        found = live_actors(session, [resource.target_id], "target_id", errors)
        target = found.get(resource.target_id)
        if target is not None and target.kind != ActorKind.local_authority:
            errors.append(
                FieldError(
                    field="target_id",
                    reason=f"must be a local authority; {target.name} is a {target.kind}",
                )
            )
        elif target is not None and resource.target_country is None:
            resource.target_country = target.country
        elif target is not None and resource.target_country != target.country:
            errors.append(
                FieldError(
                    field="target_country",
                    reason=f"{target.name} is in {target.country}, not {resource.target_country}",
                )
            )
    check_period(resource.starts_on, resource.ends_on, errors)


def sync_parties(links: list[L], parties: list[Party], make: Callable[[uuid.UUID, str], L]) -> None:
    """Make a party collection hold exactly these actors, each with the role sent."""
    roles = {party.actor_id: party.role for party in parties}
    sync_links(
        links, roles, lambda link: link.actor_id, lambda actor_id: make(actor_id, roles[actor_id])
    )
    for link in links:
        link.role = roles[link.actor_id]  # type: ignore[attr-defined]


def check_parties(
    session: Session, parties: list[Party], field_name: str, errors: list[FieldError]
) -> None:
    """Each party is a live actor, named once."""
    seen: set[uuid.UUID] = set()
    for index, party in enumerate(parties):
        if party.actor_id in seen:
            errors.append(
                FieldError(field=f"{field_name}.{index}.actor_id", reason="actor listed twice")
            )
        seen.add(party.actor_id)
    live_actors(session, [p.actor_id for p in parties], field_name + ".{}.actor_id", errors)


def filter_funded(
    conditions: Conditions,
    model: type[F],
    filters: FundedFilters,
    theme_link: type[SQLModel],
    theme_owner: str,
) -> None:
    """Add the conditions conventions and projects share (not the actors taking part)."""
    conditions.any_of("status", filters.status, lambda match: match(col(model.status)))
    conditions.equal("target_id", filters.target_id, lambda value: model.target_id == value)
    conditions.any_of(
        "target_country", filters.target_country, lambda match: match(col(model.target_country))
    )
    conditions.any_of(
        "theme",
        filters.theme,
        lambda match: exists().where(
            getattr(theme_link, theme_owner) == model.id,
            match(col(theme_link.theme)),  # type: ignore[attr-defined]
        ),
    )
