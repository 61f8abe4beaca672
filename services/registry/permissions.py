"""Who may change which record: a key bound to an actor changes that actor and what it is party
to; an admin changes anything. Checked after the record is found, so a missing record is a 404
for everyone (the directory is public: its existence is no secret)."""

import uuid
from collections.abc import Iterable

from sqlmodel import Session

from services.registry.audit import acting
from shared.access import Scope
from shared.errors import Forbidden

__all__ = ["check_acts_for", "check_may_create_project"]


def check_acts_for(session: Session, actor_ids: Iterable[uuid.UUID], what: str) -> None:
    """403 unless the caller is admin or a writer bound to one of `actor_ids`."""
    caller = acting(session)
    if caller.acts_for(set(actor_ids)):
        return
    if caller.actor_id is None:
        raise Forbidden(
            f"This key is bound to no actor: only an admin key, or a key bound to {what}, "
            "may do this."
        )
    raise Forbidden(f"This key acts for actor {caller.actor_id}, which is not {what}.")


def check_may_create_project(
    session: Session, partner_ids: Iterable[uuid.UUID], status: str
) -> None:
    """Writers create projects they take part in; proposing services create drafts only."""
    caller = acting(session)
    if not caller.has(Scope.write) and caller.has(Scope.propose):
        if status != "draft":
            raise Forbidden("A key with `registry:propose` only may create draft projects.")
        return
    check_acts_for(session, partner_ids, "a partner of this project")
