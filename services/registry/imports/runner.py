"""Run an import: every row through the registry's own rules, in batches, with a report per row.

Each row goes through the same domain functions as a single API request (`create_actor`,
`update_convention`, …), on a session that carries a `BulkIndex`: the rules look up actors,
identifiers and ties in memory, and the outbox writes each batch's events, audit entries and
webhook deliveries with the batch, in its transaction. So an applied batch is whole (records,
events, file ids) or absent, and a re-run completes an import that stopped.

A row is matched to an existing record by its file id or registry id, then (actors) by a
stable identifier, (relationships) by kind and ends, (conventions) by kind, parties and title,
(projects) by lead and title. A matched row whose fields are all as stored is `unchanged`:
nothing is written and no event emitted.
"""

import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col, select

from services.registry import actors, conventions, projects, relationships
from services.registry.bulk import CASE_FREE_IDENTIFIERS, IDENTIFIERS, BulkIndex
from services.registry.columns import RESOURCES, Resource
from services.registry.duplicates import NameIndex
from services.registry.duplicates import flush_pending as flush_name_keys
from services.registry.imports.cells import to_fields
from services.registry.imports.reading import RawRow
from services.registry.imports.refs import Refs
from services.registry.imports.report import ImportReport, ImportSummary, RowReport
from services.registry.models import Actor, ActorRelationship, Convention, Project
from services.registry.outbox import flush_events
from services.registry.schemas import (
    ActorCreate,
    ActorRead,
    ActorUpdate,
    ConventionCreate,
    ConventionRead,
    ConventionUpdate,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    RelationshipCreate,
    RelationshipRead,
    RelationshipUpdate,
)
from shared.db import begin_write, refresh_planner_statistics
from shared.errors import Conflict, FieldError, InvalidInput, Problem, field_errors
from shared.operations.metrics import IMPORT_ROWS
from shared.text import fold

__all__ = ["ImportOptions", "run_import"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportOptions:
    source: str = "default"
    apply: bool = False
    batch_size: int = 500
    # rapidfuzz score from which a new actor's name is reported as a likely duplicate.
    duplicate_threshold: float = 92


@dataclass(frozen=True)
class _Kind:
    model: type[Any]
    create: type[BaseModel]
    update: type[BaseModel]
    read: type[BaseModel]


_KINDS: dict[Resource, _Kind] = {
    "actor": _Kind(Actor, ActorCreate, ActorUpdate, ActorRead),
    "convention": _Kind(Convention, ConventionCreate, ConventionUpdate, ConventionRead),
    "project": _Kind(Project, ProjectCreate, ProjectUpdate, ProjectRead),
    "relationship": _Kind(
        ActorRelationship, RelationshipCreate, RelationshipUpdate, RelationshipRead
    ),
}
# Rows written by an import from which the planner is told of them (`refresh_planner_statistics`).
_STATISTICS_AFTER = 1_000
# Nested fields a file may give in part (an e-mail without the phone): merged with what is stored.
_MERGED = ("public_contact", "budget")


class _BatchFailed(Exception):
    pass


def run_import(
    session: Session,
    rows: list[RawRow],
    options: ImportOptions,
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row and, with `options.apply`, write them batch by batch.

    `session` acts for the caller (its principal decides which rows it may write); each batch
    is committed on it. A dry run writes nothing: its transaction is rolled back. The caller
    starts the first transaction (`begin_write`), as for any write.
    """
    return _Run(session, options, progress).run(rows)


class _Run:
    def __init__(self, session: Session, options: ImportOptions, progress: Progress | None):
        self.session, self.options, self.progress = session, options, progress
        self.reports: list[RowReport] = []
        self.batch: list[RowReport] = []
        self.batches_committed = 0
        self.written = 0
        self.stopped: str | None = None
        self.ignored: set[str] = set()
        self._names: NameIndex | None = None
        self._natural: dict[tuple[Any, ...], uuid.UUID] | None = None
        self._loaded: list[Any] = []

    def run(self, rows: list[RawRow]) -> ImportReport:
        started = time.perf_counter()
        self.bulk = BulkIndex.load(self.session, dry_run=not self.options.apply)
        self.refs = Refs(self.session, self.bulk, self.options.source)
        self.session.info["bulk"] = self.bulk
        order = {resource: index for index, resource in enumerate(RESOURCES)}
        ordered = sorted(rows, key=lambda r: (order.get(r.resource, -1), r.number))  # type: ignore[arg-type]
        try:
            done = 0
            for chunk in _chunks(ordered, self.options.batch_size):
                # A new resource starts a batch: its rows may refer to the last ones.
                self._end_batch()
                self._prefetch(chunk)
                for raw in chunk:
                    report = self._row(raw)
                    self.reports.append(report)
                    if report.action in ("create", "update"):
                        self.batch.append(report)
                    done += 1
                    if self.progress and (done % 100 == 0 or done == len(ordered)):
                        self.progress(done, len(ordered))
            self._end_batch()
        except _BatchFailed:
            pass
        finally:
            self.session.info.pop("bulk", None)
            self._loaded = []
            if not self.options.apply:
                self.session.rollback()
        if self.options.apply and self.written >= _STATISTICS_AFTER:
            refresh_planner_statistics(self.session)
            self.session.commit()
        self.reports.sort(key=lambda r: r.row)
        return ImportReport(summary=self._summary(len(rows), started), rows=self.reports)

    def _prefetch(self, chunk: list[RawRow]) -> None:
        """Load at once the stored records that the chunk's rows name by id, with their lists
        (themes, parties…), instead of a few queries per row."""
        resource = chunk[0].resource
        if resource is None:
            return
        targets = set()
        for raw in chunk:
            ref = str(raw.values.get("id") or "").strip()
            if ref:
                found = self.refs.find(resource, ref)
                if found is not None:
                    targets.add(found)
        model = _KINDS[resource].model
        # Held until the batch ends: the session's identity map keeps them only weakly.
        self._loaded = []
        for part in _chunks_of(sorted(targets), 500):
            self._loaded += self.session.exec(select(model).where(col(model.id).in_(part))).all()

    # --- batches ---------------------------------------------------------------------------

    def _end_batch(self) -> None:
        if not self.options.apply:
            # Nothing is written; the rows checked so far leave the session's memory.
            self.session.expunge_all()
            self.batch = []
            return
        if not self.batch and not self.refs.pending:
            return
        try:
            flush_events(self.session)
            flush_name_keys(self.session)
            self.refs.write_pending(self.session)
            self.session.commit()
        except (IntegrityError, DBAPIError) as error:
            self.session.rollback()
            reason = str(getattr(error, "orig", error)).splitlines()[0]
            self._fail_batch(reason)
            raise _BatchFailed from error
        self.batches_committed += 1
        self.written += len(self.batch)
        self.batch = []
        self.bulk.feed_locked = False
        self.session.expunge_all()
        begin_write(self.session)

    def _fail_batch(self, reason: str) -> None:
        for report in self.batch:
            report.action, report.status = "refused", 409
            report.problem = f"not written: the batch failed in the database ({reason})"
        self.stopped = (
            f"batch {self.batches_committed + 1} failed in the database ({reason}); the "
            f"{self.batches_committed} batches before it were written. Run the import again to "
            "complete it: rows already written are unchanged."
        )

    # --- one row ---------------------------------------------------------------------------

    def _row(self, raw: RawRow) -> RowReport:
        report = RowReport(row=raw.number, resource=raw.resource or "unknown", action="refused")
        if raw.resource is None:
            return _refuse(
                report,
                InvalidInput.on(
                    "resource",
                    "cannot tell which resource this row is: add a `resource` column "
                    "(actor, convention, project, relationship) or say it for the whole file",
                ),
            )
        if "__invalid__" in raw.values or "__extra__" in raw.values:
            reason = raw.values.get("__invalid__") or "more cells than the header has columns"
            return _refuse(report, InvalidInput(str(reason)))
        cells = to_fields(raw.resource, raw.values, self.refs)
        self.ignored |= cells.ignored
        report.ref = cells.ref
        if cells.errors:
            return _refuse(report, _invalid(cells.errors))
        try:
            self._write(raw.resource, cells.ref, cells.fields, report)
        except ValidationError as error:
            _refuse(report, _invalid(field_errors(error.errors())))
        except Problem as problem:
            _refuse(report, problem)
        return report

    def _write(
        self, resource: Resource, ref: str | None, fields: dict[str, Any], report: RowReport
    ) -> None:
        kind = _KINDS[resource]
        sent = kind.update.model_validate(fields)
        target = self._existing(resource, ref, sent)
        if target is None:
            data = kind.create.model_validate(fields)
            if resource == "actor":
                report.likely_duplicates = self._likely_duplicates(data)
            record = self._create(resource, data)
            report.action = "create"
        else:
            record = self._created_or_stored(kind.model, target)
            stored = kind.read.model_validate(record).model_dump(mode="json")
            fields = _merged(fields, stored)
            sent = kind.update.model_validate(fields)
            # Only the fields the row gives, each whole: nested defaults (a party's role) count.
            given = sent.model_dump(mode="json")
            wanted = {name: given[name] for name in sent.model_fields_set}
            changed = sorted(k for k in wanted if _differs(k, wanted[k], stored.get(k)))
            report.id = target
            if ref is not None:
                self.refs.remember(resource, ref, target)
            if not changed:
                report.action = "unchanged"
                return
            update = kind.update.model_validate({name: fields[name] for name in changed})
            # Rules are checked after the fields are set on the stored record: a refused
            # change must leave it as it was for the rest of the batch.
            with self.session.begin_nested():
                record = self._update(resource, target, update)
            report.action, report.changed = "update", changed
        report.id = record.id
        if ref is not None:
            self.refs.remember(resource, ref, record.id)
        self._remember(resource, record)

    def _created_or_stored(self, model: type[Any], target: uuid.UUID) -> Any:
        """The record a row names. One an earlier row of this run created (found by its
        natural key: a file that repeats a convention under another id) may not be written
        yet: it is flushed first."""
        record = self.session.get(model, target)
        if record is None:
            self.session.flush()
            record = self.session.get(model, target)
        if record is None:  # a dry run leaves earlier batches unwritten
            raise Conflict(
                f"This row repeats a {model.__tablename__} of an earlier row of the file (same "
                "natural key: kind or lead, parties and title) in another batch; give both rows "
                "the same id, or run it with --apply, which writes the first before the second."
            )
        return record

    def _create(self, resource: Resource, data: Any) -> Any:
        if resource == "actor":
            return actors.create_actor(self.session, data, names=None, duplicate_threshold=None)
        if resource == "convention":
            return conventions.create_convention(self.session, data)
        if resource == "project":
            return projects.create_project(self.session, data)
        return relationships.create_relationship(self.session, data)

    def _update(self, resource: Resource, target: uuid.UUID, data: Any) -> Any:
        if resource == "actor":
            return actors.update_actor(self.session, target, data, if_match=None)
        if resource == "convention":
            return conventions.update_convention(self.session, target, data, if_match=None)
        if resource == "project":
            return projects.update_project(self.session, target, data, if_match=None)
        return relationships.update_relationship(self.session, target, data, if_match=None)

    def _remember(self, resource: Resource, record: Any) -> None:
        if resource == "actor":
            self.bulk.remember_actor(record)
            self._name_index().add(record.id, record.kind, record.country, record.name)
        elif resource == "relationship":
            self.bulk.remember_relationship(record)
        elif resource == "convention":
            self.bulk.conventions.add(record.id)
        else:
            self.bulk.projects.add(record.id)
        natural = _natural_key(resource, record)
        if natural is not None and self._natural is not None:
            self._natural[natural] = record.id

    # --- matching rows to records ----------------------------------------------------------

    def _existing(self, resource: Resource, ref: str | None, sent: Any) -> uuid.UUID | None:
        if ref is not None:
            found = self.refs.find(resource, ref)
            if found is not None:
                return found
        if resource == "actor":
            return self._by_identifiers(sent)
        if resource == "relationship":
            if sent.kind and sent.subject_id and sent.object_id:
                return self.bulk.relationships.get((sent.kind, sent.subject_id, sent.object_id))
            return None
        natural = _natural_key(resource, sent)
        return self._natural_index().get(natural) if natural is not None else None

    def _by_identifiers(self, sent: ActorUpdate) -> uuid.UUID | None:
        owners: dict[str, uuid.UUID] = {}
        for name in IDENTIFIERS:
            value = getattr(sent, name)
            if value is not None:
                owner = self.bulk.identifier_owner(name, value, sent.level)
                if owner is not None:
                    owners[name] = owner
        if len(set(owners.values())) > 1:
            named = ", ".join(f"{name} → {owner}" for name, owner in owners.items())
            raise Conflict(
                f"The row's identifiers name different registered actors ({named}).",
                errors=[
                    FieldError(field=name, reason=f"belongs to actor {owner}")
                    for name, owner in owners.items()
                ],
            )
        return next(iter(owners.values()), None)

    def _natural_index(self) -> dict[tuple[Any, ...], uuid.UUID]:
        """Conventions by kind, parties and title; projects by lead and title (loaded once)."""
        if self._natural is None:
            self._natural = {}
            for model in (Convention, Project):
                for record in self.session.exec(
                    _live(model)  # type: ignore[arg-type]
                ):
                    key = _natural_key("convention" if model is Convention else "project", record)
                    if key is not None:
                        self._natural[key] = record.id
        return self._natural

    # --- likely duplicates -----------------------------------------------------------------

    def _name_index(self) -> NameIndex:
        """Live actors' names under their name keys, loaded once, kept current by the rows."""
        if self._names is None:
            self._names = NameIndex()
            for known in self.bulk.actors.values():
                self._names.add(known.id, known.kind, known.country, known.name)
        return self._names

    def _likely_duplicates(self, data: ActorCreate) -> list[dict[str, Any]]:
        return self._name_index().likely_duplicates(
            str(data.kind), data.country, data.name, self.options.duplicate_threshold
        )

    # --- the report ------------------------------------------------------------------------

    def _summary(self, total: int, started: float) -> ImportSummary:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for report in self.reports:
            counts[report.resource][report.action] += 1
        if self.options.apply:
            for resource, counter in counts.items():
                for action, count in counter.items():
                    IMPORT_ROWS.labels(resource, action).inc(count)
        seconds = time.perf_counter() - started
        refused = sum(c["refused"] for c in counts.values())
        return ImportSummary(
            rows=total,
            applied=self.options.apply,
            written=self.options.apply and self.stopped is None,
            counts={resource: dict(counter) for resource, counter in counts.items()},
            refused=refused,
            likely_duplicates=sum(1 for r in self.reports if r.likely_duplicates),
            batches_committed=self.batches_committed,
            stopped=self.stopped,
            ignored_columns=sorted(self.ignored),
            seconds=round(seconds, 3),
            rows_per_second=round(total / seconds, 1) if seconds > 0 else 0.0,
        )


def _chunks(rows: list[RawRow], size: int) -> Iterator[list[RawRow]]:
    """Runs of at most `size` rows of one resource, in order."""
    chunk: list[RawRow] = []
    for raw in rows:
        if chunk and (raw.resource != chunk[0].resource or len(chunk) >= size):
            yield chunk
            chunk = []
        chunk.append(raw)
    if chunk:
        yield chunk


def _chunks_of(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _live(model: type[Convention] | type[Project]) -> Any:
    return select(model).where(col(model.deleted_at).is_(None))


def _natural_key(resource: Resource, record: Any) -> tuple[Any, ...] | None:
    """What makes a convention or a project the same one when a file gives no id."""
    if resource == "convention":
        parties = frozenset(party.actor_id for party in record.parties or [])
        if not record.kind or not record.title or not parties:
            return None
        return ("convention", str(record.kind), parties, fold(record.title))
    if resource == "project":
        if not record.lead_id or not record.title:
            return None
        return ("project", record.lead_id, fold(record.title))
    return None


def _merged(fields: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """Nested fields given in part keep their other members as stored."""
    merged = dict(fields)
    for name in _MERGED:
        if isinstance(fields.get(name), dict) and isinstance(stored.get(name), dict):
            merged[name] = {**stored[name], **fields[name]}
    return merged


def _differs(name: str, given: Any, stored: Any) -> bool:
    """Whether a row's field asks for a change (an identifier in another case does not)."""
    if name in CASE_FREE_IDENTIFIERS and isinstance(given, str) and isinstance(stored, str):
        return given.upper() != stored.upper()
    return _same(given) != _same(stored)


def _same(value: Any) -> Any:
    """A value in a form where order and representation do not matter."""
    if isinstance(value, dict):
        return {k: _same(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return sorted((_same(item) for item in value), key=repr)
    return value


def _invalid(errors: list[FieldError]) -> InvalidInput:
    return InvalidInput("; ".join(f"{e.field}: {e.reason}" for e in errors), errors=errors)


def _refuse(report: RowReport, problem: Problem) -> RowReport:
    report.action, report.status = "refused", problem.status
    report.problem, report.errors = problem.detail, problem.errors
    return report
