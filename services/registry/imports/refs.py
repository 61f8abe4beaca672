"""References in a file: to records by registry id, by the file's own ids (kept per source), or
to actors by a stable identifier (`insee:75056`, `siren:…`, `rna:…`, `wikidata:Q90` or `Q90`,
`iati:…`)."""

import re
import uuid

from sqlalchemy import insert
from sqlmodel import Session, select

from services.registry.bulk import BulkIndex
from services.registry.columns import Resource
from services.registry.models import SourceRef
from shared.db import utcnow

__all__ = ["RefError", "Refs"]

_SCHEMES = {
    "insee": "insee_code",
    "siren": "siren",
    "rna": "rna",
    "wikidata": "wikidata_qid",
    "qid": "wikidata_qid",
    "iati": "iati_id",
}
_SCHEME_HINT = ", or insee:, siren:, rna:, wikidata: or iati: and the actor's identifier)"
_QID = re.compile(r"Q[1-9]\d*")
# INSEE reuses short codes across levels: a 5-character code is a commune's, a shorter one may
# be a département's or a région's.
_INSEE_LEVELS = {5: ("municipality",)}
_SHORT_INSEE_LEVELS = ("department", "region")


class RefError(ValueError):
    """A reference that names nothing, or several things."""


class Refs:
    """Resolves references, and remembers the file ids of the records an import writes."""

    def __init__(self, session: Session, bulk: BulkIndex, source: str) -> None:
        self.bulk, self.source = bulk, source
        self.known: dict[tuple[str, str], uuid.UUID] = {
            (row.resource_type, row.ref): row.resource_id
            for row in session.exec(select(SourceRef).where(SourceRef.source == source))
        }
        # Written with the batch that created or first matched the record.
        self.pending: dict[tuple[str, str], uuid.UUID] = {}

    def find(self, resource: Resource, ref: str) -> uuid.UUID | None:
        """The live record a row's `id` names: a registry id, or a file id seen before."""
        try:
            as_uuid = uuid.UUID(ref)
        except ValueError:
            as_uuid = None
        if as_uuid is not None and self.bulk.is_live(resource, as_uuid):
            return as_uuid
        key = (resource, ref)
        found = self.pending.get(key) or self.known.get(key)
        return found if found is not None and self.bulk.is_live(resource, found) else None

    def resolve(self, resource: Resource, value: str) -> uuid.UUID:
        """The record a cell refers to; a RefError says why none (or several) fits."""
        value = value.strip()
        found = self.find(resource, value)
        if found is not None:
            return found
        if resource == "actor":
            found = self._by_identifier(value)
            if found is not None:
                return found
        raise RefError(
            f"no {resource} with the id or reference '{value}' (a registry id, an id of this "
            f"file or of an earlier import from source '{self.source}'"
            + (_SCHEME_HINT if resource == "actor" else ")")
        )

    def remember(self, resource: Resource, ref: str, resource_id: uuid.UUID) -> None:
        key = (resource, ref)
        if self.known.get(key) != resource_id:
            self.pending[key] = resource_id

    def write_pending(self, session: Session) -> None:
        """Add the new file ids to the batch being written; from then on they count as known."""
        new = []
        for (resource, ref), target in self.pending.items():
            if (resource, ref) in self.known:
                # A file id kept for a record since deleted now names the new one.
                session.merge(
                    SourceRef(
                        source=self.source, resource_type=resource, ref=ref, resource_id=target
                    )
                )
            else:
                new.append({"resource_type": resource, "ref": ref, "resource_id": target})
        if new:
            at = utcnow()
            session.execute(
                insert(SourceRef), [{"source": self.source, "created_at": at, **row} for row in new]
            )
        self.known.update(self.pending)
        self.pending = {}

    def forget_pending(self) -> None:
        self.pending = {}

    def _by_identifier(self, value: str) -> uuid.UUID | None:
        scheme, _, identifier = value.partition(":")
        name = _SCHEMES.get(scheme.strip().lower()) if identifier else None
        if name is None:
            if not _QID.fullmatch(value.upper()):
                return None
            name, identifier = "wikidata_qid", value
        identifier = re.sub(r"\s+", "", identifier)
        if name != "insee_code":
            return self.bulk.identifier_owner(name, identifier.upper(), None)
        level, _, code = identifier.rpartition(":")
        levels = (level,) if level else _INSEE_LEVELS.get(len(code), _SHORT_INSEE_LEVELS)
        owners = {
            owner
            for candidate in levels
            if (owner := self.bulk.identifier_owner("insee_code", code.upper(), candidate))
        }
        if len(owners) > 1:
            raise RefError(
                f"INSEE code {code} names both a département and a région; write "
                f"insee:department:{code} or insee:region:{code}"
            )
        return owners.pop() if owners else None
