"""Projects: concrete actions led by one actor with partners, often under a convention."""

import uuid

from sqlmodel import Session, exists, or_

from services.registry.bulk import bulk_of
from services.registry.funded import (
    FundedFilters,
    apply_funded,
    check_funded,
    check_parties,
    filter_funded,
    sync_parties,
)
from services.registry.listings import Conditions, Listing
from services.registry.models import Convention, Project, ProjectPartner, ProjectTheme
from services.registry.outbox import record_change
from services.registry.permissions import check_acts_for, check_may_create_project
from services.registry.resources import (
    add_new,
    check_if_match,
    get_live,
    live_actors,
    paginate,
    raise_if_invalid,
    refuse_cleared,
    soft_delete,
    touch,
)
from services.registry.schemas import Party, ProjectBase, ProjectCreate, ProjectUpdate
from shared.db import new_row
from shared.errors import FieldError

__all__ = ["create_project", "delete_project", "list_projects", "project_listing", "update_project"]

_REQUIRED = ("title", "lead_id", "partners", "status")


def create_project(session: Session, data: ProjectCreate) -> Project:
    """Record a project led by a live actor."""
    project = new_row(Project, title=data.title, lead_id=data.lead_id, status=data.status)
    check_may_create_project(session, _taking_part(project.lead_id, data.partners), data.status)
    _apply(project, data, data.model_fields_set | set(_REQUIRED) | {"themes"})
    _check(session, project, data.partners)
    add_new(session, project)
    record_change(session, project, "created")
    return project


def update_project(
    session: Session, project_id: uuid.UUID, data: ProjectUpdate, *, if_match: str | None
) -> Project:
    """Apply the fields sent, if the client saw the current version."""
    project = get_live(session, Project, project_id, lock=True)
    check_acts_for(session, _members(project), "a partner of this project")
    check_if_match(project, if_match)
    refuse_cleared(data, _REQUIRED)
    _apply(project, data, data.model_fields_set)
    # A partner may not hand the project over to others and leave.
    check_acts_for(session, _members(project), "a partner of the project as changed")
    _check(session, project, data.partners)
    touch(project)
    record_change(session, project, "updated")
    return project


def delete_project(session: Session, project_id: uuid.UUID, *, if_match: str | None) -> Project:
    project = get_live(session, Project, project_id, lock=True)
    check_acts_for(session, _members(project), "a partner of this project")
    check_if_match(project, if_match)
    soft_delete(project)
    record_change(session, project, "deleted")
    return project


def list_projects(
    session: Session,
    filters: FundedFilters,
    convention_id: uuid.UUID | None,
    lead_id: uuid.UUID | None,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Project], str | None]:
    """A page of live projects; with several actors, those in which all of them take part."""
    statement = project_listing(filters, convention_id, lead_id)
    return paginate(session, statement, cursor, limit)


def project_listing(
    filters: FundedFilters, convention_id: uuid.UUID | None, lead_id: uuid.UUID | None
) -> Listing[Project]:
    """The projects matching the filters, to page through (live ones: `paginate`)."""
    conditions = Conditions()
    filter_funded(conditions, Project, filters, ProjectTheme, "project_id")
    conditions.equal("convention_id", convention_id, lambda value: Project.convention_id == value)
    conditions.equal("lead_id", lead_id, lambda value: Project.lead_id == value)
    for index, actor_id in enumerate(filters.actor_ids):
        conditions.equal(
            f"actor_{index}",
            actor_id,
            lambda value: or_(
                Project.lead_id == value,
                exists().where(
                    ProjectPartner.project_id == Project.id, ProjectPartner.actor_id == value
                ),
            ),
        )
    return conditions.listing(Project)


def _apply(project: Project, data: ProjectBase, fields: set[str]) -> None:
    for name in ("title", "convention_id", "lead_id"):
        if name in fields:
            setattr(project, name, getattr(data, name))
    if "partners" in fields and data.partners is not None:
        sync_parties(
            project.partners,
            data.partners,
            lambda actor_id, role: new_row(ProjectPartner, actor_id=actor_id, role=role),
        )
    apply_funded(project, data, fields, ProjectTheme)


def _check(session: Session, project: Project, sent: list[Party] | None) -> None:
    errors: list[FieldError] = []
    live_actors(session, [project.lead_id], "lead_id", errors)
    partners = sent
    if partners is None:
        partners = [Party(actor_id=link.actor_id, role=link.role) for link in project.partners]
    check_parties(session, partners, "partners", errors)
    if any(party.actor_id == project.lead_id for party in partners):
        errors.append(FieldError(field="partners", reason="the lead is not listed among partners"))
    if project.convention_id is not None and not _convention_is_live(
        session, project.convention_id
    ):
        errors.append(
            FieldError(
                field="convention_id", reason=f"no convention with id {project.convention_id}"
            )
        )
    check_funded(session, project, errors)
    raise_if_invalid(errors)


def _convention_is_live(session: Session, convention_id: uuid.UUID) -> bool:
    bulk = bulk_of(session)
    if bulk is not None:
        return convention_id in bulk.conventions
    convention = session.get(Convention, convention_id)
    return convention is not None and convention.deleted_at is None


def _taking_part(lead_id: uuid.UUID, partners: list[Party]) -> set[uuid.UUID]:
    return {lead_id, *(party.actor_id for party in partners)}


def _members(project: Project) -> set[uuid.UUID]:
    return {project.lead_id, *(link.actor_id for link in project.partners)}
