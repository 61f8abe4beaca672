"""Conventions: twinnings, decentralised cooperation agreements, partnerships, funding."""

import uuid

from sqlmodel import Session, col, exists

from services.registry.funded import (
    FundedFilters,
    apply_funded,
    check_funded,
    check_parties,
    filter_funded,
    sync_parties,
)
from services.registry.listings import Conditions, Listing
from services.registry.models import Convention, ConventionParty, ConventionTheme
from services.registry.outbox import record_change
from services.registry.permissions import check_acts_for
from services.registry.resources import (
    add_new,
    check_if_match,
    get_live,
    paginate,
    raise_if_invalid,
    refuse_cleared,
    soft_delete,
    touch,
)
from services.registry.schemas import ConventionBase, ConventionCreate, ConventionUpdate, Party
from shared.db import new_row
from shared.errors import FieldError

__all__ = [
    "convention_listing",
    "create_convention",
    "delete_convention",
    "list_conventions",
    "update_convention",
]

_REQUIRED = ("kind", "title", "parties", "status")


def create_convention(session: Session, data: ConventionCreate) -> Convention:
    """Record a convention between at least two live actors."""
    convention = new_row(Convention, kind=data.kind, title=data.title, status=data.status)
    _apply(convention, data, data.model_fields_set | set(_REQUIRED) | {"themes"})
    check_acts_for(session, _actor_ids(data.parties), "a party to this convention")
    _check(session, convention, data.parties)
    add_new(session, convention)
    record_change(session, convention, "created")
    return convention


def update_convention(
    session: Session, convention_id: uuid.UUID, data: ConventionUpdate, *, if_match: str | None
) -> Convention:
    """Apply the fields sent, if the client saw the current version."""
    convention = get_live(session, Convention, convention_id, lock=True)
    check_acts_for(session, _actor_ids(_parties_of(convention)), "a party to this convention")
    check_if_match(convention, if_match)
    refuse_cleared(data, _REQUIRED)
    parties = data.parties if data.parties is not None else _parties_of(convention)
    # A party may not hand the convention over to others and leave.
    check_acts_for(session, _actor_ids(parties), "a party to the convention as changed")
    _apply(convention, data, data.model_fields_set)
    _check(session, convention, parties)
    touch(convention)
    record_change(session, convention, "updated")
    return convention


def delete_convention(
    session: Session, convention_id: uuid.UUID, *, if_match: str | None
) -> Convention:
    convention = get_live(session, Convention, convention_id, lock=True)
    check_acts_for(session, _actor_ids(_parties_of(convention)), "a party to this convention")
    check_if_match(convention, if_match)
    soft_delete(convention)
    record_change(session, convention, "deleted")
    return convention


def list_conventions(
    session: Session,
    filters: FundedFilters,
    kinds: list[str],
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Convention], str | None]:
    """A page of live conventions; with several actors, those in which all of them take part."""
    return paginate(session, convention_listing(filters, kinds), cursor, limit)


def convention_listing(filters: FundedFilters, kinds: list[str]) -> Listing[Convention]:
    """The conventions matching the filters, to page through (live ones: `paginate`)."""
    conditions = Conditions()
    filter_funded(conditions, Convention, filters, ConventionTheme, "convention_id")
    conditions.any_of("kind", kinds, lambda match: match(col(Convention.kind)))
    for index, actor_id in enumerate(filters.actor_ids):
        conditions.equal(
            f"actor_{index}",
            actor_id,
            lambda value: exists().where(
                ConventionParty.convention_id == Convention.id, ConventionParty.actor_id == value
            ),
        )
    return conditions.listing(Convention)


def _apply(convention: Convention, data: ConventionBase, fields: set[str]) -> None:
    for name in ("kind", "title", "signed_on"):
        if name in fields:
            setattr(convention, name, getattr(data, name))
    if "source_url" in fields:
        convention.source_url = str(data.source_url) if data.source_url else None
    if "parties" in fields and data.parties is not None:
        sync_parties(
            convention.parties,
            data.parties,
            lambda actor_id, role: new_row(ConventionParty, actor_id=actor_id, role=role),
        )
    apply_funded(convention, data, fields, ConventionTheme)


def _check(session: Session, convention: Convention, parties: list[Party]) -> None:
    errors: list[FieldError] = []
    if len({party.actor_id for party in parties}) < 2:
        errors.append(FieldError(field="parties", reason="a convention has at least two parties"))
    check_parties(session, parties, "parties", errors)
    check_funded(session, convention, errors)
    raise_if_invalid(errors)


def _parties_of(convention: Convention) -> list[Party]:
    return [Party(actor_id=link.actor_id, role=link.role) for link in convention.parties]


def _actor_ids(parties: list[Party]) -> set[uuid.UUID]:
    return {party.actor_id for party in parties}
