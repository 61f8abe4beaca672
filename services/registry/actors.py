"""Actors: local authorities, associations, migrant organisations, resource centres, networks."""

import re
import uuid
from dataclasses import dataclass, field

from sqlmodel import Session, col, exists, func, or_, select

from services.registry.bulk import IDENTIFIERS, bulk_of
from services.registry.duplicates import index_actor, keys_along, likely_duplicates
from services.registry.listings import Conditions, Listing, like_pattern
from services.registry.models import (
    Actor,
    ActorIntervention,
    ActorOrigin,
    ActorRelationship,
    ActorTheme,
    Convention,
    ConventionParty,
    Project,
    ProjectPartner,
)
from services.registry.name_cache import NameCache
from services.registry.outbox import record_change
from services.registry.permissions import check_acts_for
from services.registry.resources import (
    add_new,
    check_if_match,
    flush_or_recheck,
    get_live,
    live_actors,
    paginate,
    raise_if_invalid,
    refuse_cleared,
    soft_delete,
    sync_links,
    touch,
)
from services.registry.schemas import ActorBase, ActorCreate, ActorUpdate
from services.registry.vocabulary import ActorKind, Level, Status
from shared.db import new_row
from shared.errors import Conflict, FieldError
from shared.text import fold

__all__ = [
    "ActorFilters",
    "actor_listing",
    "create_actor",
    "delete_actor",
    "list_actors",
    "update_actor",
]

_SCALARS = (
    "kind",
    "name",
    "acronym",
    "description",
    "country",
    "level",
    *IDENTIFIERS,
    "latitude",
    "longitude",
    "population",
    "based_in_id",
)
_REQUIRED = ("kind", "name", "country")

# The INSEE COG code a French local authority carries depends on its level.
_INSEE_BY_LEVEL = {
    Level.municipality: (r"\d{5}|2[AB]\d{3}", "a commune's INSEE code has 5 characters"),
    Level.department: (
        r"\d{2}|2[AB]|97\d",
        "a département's INSEE code is 2 characters, or 3 overseas",
    ),
    Level.region: (r"\d{2}", "a région's INSEE code is 2 digits"),
}
_HOSTED_KINDS = {kind for kind in ActorKind if kind != ActorKind.local_authority}


class LikelyDuplicate(Conflict):
    slug = "likely-duplicate"
    title = "Likely duplicate"


class IdentifierTaken(Conflict):
    slug = "identifier-taken"
    title = "Identifier already registered"


class StillInUse(Conflict):
    slug = "still-in-use"
    title = "Still in use"


@dataclass
class ActorFilters:
    kind: list[ActorKind] = field(default_factory=list)
    level: list[Level] = field(default_factory=list)
    country: list[str] = field(default_factory=list)
    intervention_country: list[str] = field(default_factory=list)
    theme: list[str] = field(default_factory=list)
    based_in_id: uuid.UUID | None = None
    origin_id: uuid.UUID | None = None
    q: str | None = None
    bbox: tuple[float, float, float, float] | None = None


def create_actor(
    session: Session,
    data: ActorCreate,
    *,
    names: NameCache | None,
    duplicate_threshold: float | None,
    actor_id: uuid.UUID | None = None,
) -> Actor:
    """Add an actor after checking its rules and identifiers.

    Unless `duplicate_threshold` is None, an actor of the same kind and country whose name
    scores at least that much (rapidfuzz token-sort, 0–100) makes it a likely duplicate; the
    check finds its candidates in `names`, the process's name cache, which learns the new
    name. Without a cache (an import, the demo's load), other processes learn it from the
    feed. `actor_id` is for a data set whose ids must be known in advance (the demo's); the
    API always lets the registry choose.
    """
    actor = new_row(Actor, kind=data.kind, name=data.name, search_name="", country=data.country)
    if actor_id is not None:
        actor.id = actor_id
    _apply(actor, data, data.model_fields_set | set(_REQUIRED))
    _check(session, actor)
    if duplicate_threshold is not None:
        if names is None:
            raise ValueError("a likely-duplicate check needs the process's name cache")
        _refuse_likely_duplicate(session, names, actor, duplicate_threshold)
    add_new(
        session,
        actor,
        lambda: _refuse_taken_identifiers(session, actor),
        along=keys_along(session, actor, names),
    )
    record_change(session, actor, "created")
    return actor


def update_actor(
    session: Session,
    actor_id: uuid.UUID,
    data: ActorUpdate,
    *,
    if_match: str | None,
    names: NameCache | None = None,
) -> Actor:
    """Apply the fields sent, if the client saw the current version; `names`, the process's
    name cache, learns a new name at once (as in `create_actor`)."""
    actor = get_live(session, Actor, actor_id, lock=True)
    check_acts_for(session, {actor.id}, "this actor")
    check_if_match(actor, if_match)
    refuse_cleared(data, _REQUIRED)
    named = (actor.kind, actor.country, actor.name)
    _apply(actor, data, data.model_fields_set)
    _check(session, actor)
    touch(actor)
    flush_or_recheck(session, lambda: _refuse_taken_identifiers(session, actor))
    if (actor.kind, actor.country, actor.name) != named:
        index_actor(session, actor, names, created=False)
    record_change(session, actor, "updated")
    return actor


def delete_actor(session: Session, actor_id: uuid.UUID, *, if_match: str | None) -> Actor:
    """Soft-delete an actor and its relationships, unless it takes part in active work."""
    actor = get_live(session, Actor, actor_id, lock=True)
    check_acts_for(session, {actor.id}, "this actor")
    check_if_match(actor, if_match)
    conventions = session.exec(
        select(Convention).where(
            col(Convention.deleted_at).is_(None),
            Convention.status == Status.active,
            exists().where(
                ConventionParty.convention_id == Convention.id,
                ConventionParty.actor_id == actor_id,
            ),
        )
    ).all()
    projects = session.exec(
        select(Project).where(
            col(Project.deleted_at).is_(None),
            Project.status == Status.active,
            or_(
                Project.lead_id == actor_id,
                exists().where(
                    ProjectPartner.project_id == Project.id, ProjectPartner.actor_id == actor_id
                ),
            ),
        )
    ).all()
    if conventions or projects:
        raise StillInUse(
            f"{actor.name} takes part in {len(conventions)} active convention(s) and "
            f"{len(projects)} active project(s); end them or remove it from them first.",
            conventions=[{"id": str(c.id), "title": c.title} for c in conventions],
            projects=[{"id": str(p.id), "title": p.title} for p in projects],
        )
    soft_delete(actor)
    index_actor(session, actor, None, created=False)
    record_change(session, actor, "deleted")
    for relationship in session.exec(
        select(ActorRelationship).where(
            col(ActorRelationship.deleted_at).is_(None),
            or_(ActorRelationship.subject_id == actor_id, ActorRelationship.object_id == actor_id),
        )
    ).all():
        soft_delete(relationship)
        record_change(session, relationship, "deleted")
    return actor


def list_actors(
    session: Session, filters: ActorFilters, *, cursor: str | None, limit: int
) -> tuple[list[Actor], str | None]:
    """A page of live actors matching every filter given."""
    return paginate(session, actor_listing(filters), cursor, limit)


def actor_listing(filters: ActorFilters) -> Listing[Actor]:
    """The actors matching every filter given, to page through (live ones: `paginate`)."""
    conditions = Conditions()
    conditions.any_of("kind", filters.kind, lambda match: match(col(Actor.kind)))
    conditions.any_of("level", filters.level, lambda match: match(col(Actor.level)))
    conditions.any_of("country", filters.country, lambda match: match(col(Actor.country)))
    conditions.any_of(
        "intervention_country",
        filters.intervention_country,
        lambda match: exists().where(
            ActorIntervention.actor_id == Actor.id, match(col(ActorIntervention.country))
        ),
    )
    conditions.any_of(
        "theme",
        filters.theme,
        lambda match: exists().where(ActorTheme.actor_id == Actor.id, match(col(ActorTheme.theme))),
    )
    conditions.equal("based_in_id", filters.based_in_id, lambda value: Actor.based_in_id == value)
    conditions.equal(
        "origin_id",
        filters.origin_id,
        lambda value: exists().where(
            ActorOrigin.actor_id == Actor.id, ActorOrigin.origin_id == value
        ),
    )
    for index, word in enumerate(fold(filters.q or "").split()):
        conditions.equal(
            f"word_{index}",
            like_pattern(word),
            lambda value: col(Actor.search_name).like(value, escape="/"),
        )
    if filters.bbox is not None:
        west, south, east, north = filters.bbox
        conditions.equal("south", south, lambda value: col(Actor.latitude) >= value)
        conditions.equal("north", north, lambda value: col(Actor.latitude) <= value)
        conditions.equal("west", west, lambda value: col(Actor.longitude) >= value)
        conditions.equal("east", east, lambda value: col(Actor.longitude) <= value)
    return conditions.listing(Actor)


def _apply(actor: Actor, data: ActorBase, fields: set[str]) -> None:
    for name in _SCALARS:
        if name in fields:
            setattr(actor, name, getattr(data, name))
    if "website" in fields:
        actor.website = str(data.website) if data.website else None
    for name in ("public_contact", "private_contact"):
        if name in fields:
            value = getattr(data, name)
            setattr(actor, name, value.model_dump(exclude_none=True) if value else None)
    if "themes" in fields:
        sync_links(
            actor.theme_links,
            data.themes or [],
            lambda link: link.theme,
            lambda t: new_row(ActorTheme, theme=t),
        )
    if "intervention_countries" in fields:
        sync_links(
            actor.intervention_links,
            data.intervention_countries or [],
            lambda link: link.country,
            lambda c: new_row(ActorIntervention, country=c),
        )
    if "origin_ids" in fields:
        sync_links(
            actor.origin_links,
            data.origin_ids or [],
            lambda link: link.origin_id,
            lambda o: new_row(ActorOrigin, origin_id=o),
        )
    actor.search_name = fold(f"{actor.name} {actor.acronym or ''}")


def _check(session: Session, actor: Actor) -> None:
    """Every rule that relates several fields or other actors; all failures at once."""
    errors = _check_kind_rules(actor)
    _check_territories(session, actor, errors)
    raise_if_invalid(errors)
    _refuse_taken_identifiers(session, actor)


def _check_kind_rules(actor: Actor) -> list[FieldError]:
    errors: list[FieldError] = []

    def fail(field_name: str, reason: str) -> None:
        errors.append(FieldError(field=field_name, reason=reason))

    is_authority = actor.kind == ActorKind.local_authority
    if is_authority and actor.level is None:
        fail("level", "required for a local authority")
    if not is_authority and actor.level is not None:
        fail("level", "only local authorities have a level")
    if actor.insee_code is not None:
        if not is_authority or actor.country != "FR":
            fail("insee_code", "only French local authorities have an INSEE code")
        elif actor.level not in _INSEE_BY_LEVEL:
            fail("insee_code", f"a French {actor.level} has no INSEE COG code; use its SIREN")
        else:
            pattern, reason = _INSEE_BY_LEVEL[Level(actor.level)]
            if not re.fullmatch(pattern, actor.insee_code):
                fail("insee_code", reason)
    if actor.siren is not None and actor.country != "FR":
        fail("siren", "only French bodies have a SIREN number")
    if actor.rna is not None and (is_authority or actor.country != "FR"):
        fail("rna", "only French associations have an RNA number")
    if (actor.latitude is None) != (actor.longitude is None):
        fail(
            "longitude" if actor.longitude is None else "latitude", "give both coordinates or none"
        )
    if is_authority and actor.based_in_id is not None:
        fail("based_in_id", "a local authority is a territory; it is not based in another one")
    if is_authority and actor.intervention_links:
        fail(
            "intervention_countries", "a local authority's action abroad is recorded as conventions"
        )
    if actor.origin_links and actor.kind != ActorKind.migrant_organisation:
        fail("origin_ids", "only migrant organisations have territories of origin")
    return errors


def _check_territories(session: Session, actor: Actor, errors: list[FieldError]) -> None:
    """`based_in` and origins must be live local authorities other than the actor itself."""
    references = [("based_in_id", actor.based_in_id)] if actor.based_in_id else []
    references += [(f"origin_ids.{i}", link.origin_id) for i, link in enumerate(actor.origin_links)]
    for field_name, territory_id in references:
        if territory_id == actor.id:
            errors.append(FieldError(field=field_name, reason="an actor cannot refer to itself"))
            continue
        found = live_actors(session, [territory_id], field_name, errors)
        territory = found.get(territory_id)
        if territory is not None and territory.kind != ActorKind.local_authority:
            errors.append(
                FieldError(
                    field=field_name,
                    reason=f"{territory.name} is a {territory.kind}, not a local authority",
                )
            )


def _refuse_taken_identifiers(session: Session, actor: Actor) -> None:
    bulk = bulk_of(session)
    for name in IDENTIFIERS:
        value = getattr(actor, name)
        if value is None:
            continue
        if bulk is not None:
            owner = bulk.identifier_owner(name, value, actor.level)
            if owner is not None and owner != actor.id:
                _raise_taken(name, value, bulk.actors[owner].name, owner)
            continue
        column = getattr(Actor, name)
        # IATI identifiers are case-insensitive by their standard.
        same = func.upper(column) == value.upper() if name == "iati_id" else column == value
        statement = select(Actor).where(same, col(Actor.deleted_at).is_(None), Actor.id != actor.id)
        if name == "insee_code":
            # INSEE reuses codes across levels: région 93 and département 93 are not the same.
            statement = statement.where(Actor.level == actor.level)
        existing = session.exec(statement).first()
        if existing is not None:
            _raise_taken(name, value, existing.name, existing.id)


def _raise_taken(name: str, value: str, owner_name: str, owner_id: uuid.UUID) -> None:
    raise IdentifierTaken(
        f"{name} {value} already belongs to {owner_name} ({owner_id}).",
        errors=[FieldError(field=name, reason=f"already used by actor {owner_id}")],
        existing={"id": str(owner_id), "name": owner_name},
    )


def _refuse_likely_duplicate(
    session: Session, names: NameCache, actor: Actor, threshold: float
) -> None:
    candidates = likely_duplicates(session, names, actor.kind, actor.country, actor.name, threshold)
    if candidates:
        raise LikelyDuplicate(
            f"{actor.name} looks like an actor already registered: "
            f"{', '.join(c['name'] for c in candidates)}. If it is a different actor, "
            "send the request again with ?not_duplicate=true.",
            candidates=candidates,
        )
