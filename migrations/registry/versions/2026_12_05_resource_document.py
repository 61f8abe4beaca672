"""public documents of resources

Each resource keeps its public JSON as of its version, written with each change's event, so
reads and listings send it without rebuilding it (services.registry.documents). The documents
of existing rows are written by `passerelles migrate` after the upgrade (`documents.backfill`),
through the same schemas that answer requests.

Revision ID: 0008_resource_document
Revises: 0007_actor_name_key
Create Date: 2026-12-05 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_resource_document"
down_revision: str | None = "0007_actor_name_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("actor", "convention", "project", "relationship")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("document", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("document")
