"""listing-order indexes

Listings page live rows in (created_at, id) order. Without an index that matches, each page
sorted every matching row with its stored document: about 6 ms for the associations of one
country among 10,000 actors, on every request. These partial indexes let a page be read in order
and stop at its limit (services.registry.models._live_in_order).

Revision ID: 0009_live_order_indexes
Revises: 0008_resource_document
Create Date: 2026-12-06 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_live_order_indexes"
down_revision: str | None = "0008_resource_document"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = sa.text("deleted_at IS NULL")
# (index name, table, leading columns before created_at and id)
_INDEXES = (
    ("ix_actor_live_created", "actor", ()),
    ("ix_actor_live_kind_country", "actor", ("kind", "country")),
    ("ix_convention_live_created", "convention", ()),
    ("ix_project_live_created", "project", ()),
    ("ix_relationship_live_created", "relationship", ()),
)


def upgrade() -> None:
    for name, table, leading in _INDEXES:
        op.create_index(
            name,
            table,
            [*leading, "created_at", "id"],
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        )


def downgrade() -> None:
    for name, table, _leading in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
