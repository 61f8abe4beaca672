"""Likely duplicates: the live actors of the same kind and country whose name is nearly the same.

The names are found through the name-key index (`name_keys`): a check scores the few names
sharing a segment with the new one, whatever the size of the directory. The keys are stored
with the actor (table `actor_name_key`, kept by the domain functions through `index_actor`; an
import defers its writes to one statement per batch, `flush_pending`), and each process keeps
them in memory (`name_cache`), where a check finds its candidates.
"""

import uuid
from collections import defaultdict
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from services.registry.bulk import bulk_of
from services.registry.inserts import Along
from services.registry.models import Actor, ActorNameKey
from services.registry.name_cache import KeyRow, NameCache
from services.registry.name_keys import INDEX_THRESHOLD, probe_keys, stored_keys
from shared.db import in_list
from shared.driver import execute_plain
from shared.text import comparable_name

__all__ = [
    "NameIndex",
    "flush_pending",
    "index_actor",
    "keys_along",
    "likely_duplicates",
    "similar_names",
]


def similar_names(name: str, names: dict[uuid.UUID, str], threshold: float) -> list[dict[str, Any]]:
    """The five names most like `name` scoring at least `threshold` (0–100), best first.

    Names are compared without the usual prefixes of an authority ("Ville de Lyon" is Lyon),
    folded, words in order (rapidfuzz's token-sort ratio).
    """
    matches = process.extract(
        comparable_name(name),
        {key: comparable_name(other) for key, other in names.items()},
        scorer=fuzz.ratio,
        score_cutoff=threshold,
        limit=5,
    )
    return [
        {"id": str(key), "name": names[key], "score": round(score, 1)} for _, score, key in matches
    ]


def likely_duplicates(
    session: Session, names: NameCache, kind: str, country: str, name: str, threshold: float
) -> list[dict[str, Any]]:
    """Live actors of this kind and country whose name scores at least `threshold`."""
    if threshold < INDEX_THRESHOLD:
        # Below the score the keys were cut for, only reading every name finds them all.
        rows = session.exec(
            select(Actor.id, Actor.name).where(
                Actor.kind == kind, Actor.country == country, col(Actor.deleted_at).is_(None)
            )
        ).all()
        return similar_names(name, {row.id: row.name for row in rows}, threshold)
    comparable = comparable_name(name)
    keys = list(probe_keys(kind, country, comparable))
    # Candidates are scored as plain strings, from memory; only the actors behind the few that
    # score are read, in the write's own transaction. A plain statement, built once: the ORM's
    # compile step cost more than the look-up.
    candidates = names.candidates(session.connection(), keys)
    close = [
        match
        for match, _, _ in process.extract(
            comparable, candidates, scorer=fuzz.ratio, score_cutoff=threshold, limit=5
        )
    ]
    if not close:
        return []
    rows = execute_plain(session.connection(), _CLOSE_ACTORS, {"keys": keys, "close": close})
    return similar_names(name, {row.id: row.name for row in rows}, threshold)


_KEYS = ActorNameKey.__table__  # type: ignore[attr-defined]
_ACTORS = Actor.__table__  # type: ignore[attr-defined]
# A probe looks up about 150 keys: bound as one list (`in_list`), not a placeholder each.
_CLOSE_ACTORS = (
    select(_ACTORS.c.id, _ACTORS.c.name)
    .join(_KEYS, _KEYS.c.actor_id == _ACTORS.c.id)
    .where(
        in_list(_KEYS.c.key, "keys"),
        in_list(_KEYS.c.comparable, "close"),
        _ACTORS.c.deleted_at.is_(None),
    )
    .distinct()
)


def _key_rows(actor: Actor) -> list[KeyRow]:
    """The name-key rows of a live actor; none for a deleted one."""
    if actor.deleted_at is not None:
        return []
    comparable = comparable_name(actor.name)
    keys = stored_keys(actor.kind, actor.country, comparable)
    return [{"key": k, "actor_id": actor.id, "comparable": comparable} for k in keys]


def keys_along(session: Session, actor: Actor, names: NameCache | None) -> Along:
    """The name keys a new actor is written with (`resources.add_new`'s `along`): on
    PostgreSQL, in the actor's own statement rather than a round trip of their own. An import
    keeps them for its batch's flush instead (`index_actor`).

    `names`, the cache of the process writing, learns them at once: the writes after this
    one in the same transaction see it. Any other process learns them from the feed."""
    if bulk_of(session) is not None:
        index_actor(session, actor, None, created=True)
        return ()
    rows = _key_rows(actor)
    if names is not None:
        names.add(rows)
    return ((ActorNameKey, rows),)


def index_actor(session: Session, actor: Actor, names: NameCache | None, *, created: bool) -> None:
    """Bring the actor's name keys in line with its name, kind, country and liveness (and
    `names`, as `keys_along` does)."""
    rows = _key_rows(actor)
    if names is not None:
        names.add(rows)
    bulk = bulk_of(session)
    if bulk is not None:
        if bulk.dry_run:
            return
        if not created:
            bulk.pending_name_key_removals.add(actor.id)
        bulk.pending_name_keys[actor.id] = rows
        return
    if not created:
        session.execute(delete(_KEYS).where(_KEYS.c.actor_id == actor.id))
    if rows:
        session.execute(insert(_KEYS), rows)


def flush_pending(session: Session) -> None:
    """Write the name keys a bulk unit of work has pending, in two statements."""
    bulk = bulk_of(session)
    if bulk is None:
        return
    removals, pending = bulk.pending_name_key_removals, bulk.pending_name_keys
    bulk.pending_name_key_removals, bulk.pending_name_keys = set(), {}
    if removals:
        session.execute(delete(_KEYS).where(_KEYS.c.actor_id.in_(removals)))
    rows = [row for keyed in pending.values() for row in keyed]
    if rows:
        session.execute(insert(_KEYS), rows)


class NameIndex:
    """The same keys in memory, for a check over names not yet written (an import's dry run)."""

    def __init__(self) -> None:
        self._ids: dict[str, set[uuid.UUID]] = defaultdict(set)
        self._scopes: dict[tuple[str, str], dict[uuid.UUID, str]] = defaultdict(dict)

    def add(self, actor_id: uuid.UUID, kind: str, country: str, name: str) -> None:
        self._scopes[(kind, country)][actor_id] = name
        for key in stored_keys(kind, country, comparable_name(name)):
            self._ids[key].add(actor_id)

    def likely_duplicates(
        self, kind: str, country: str, name: str, threshold: float
    ) -> list[dict[str, Any]]:
        names = self._scopes.get((kind, country), {})
        if threshold >= INDEX_THRESHOLD:
            found: set[uuid.UUID] = set()
            for key in probe_keys(kind, country, comparable_name(name)):
                found |= self._ids.get(key, set())
            # A renamed actor keeps its old keys here: it is scored under its name of now.
            names = {i: names[i] for i in found if i in names}
        return similar_names(name, names, threshold)
