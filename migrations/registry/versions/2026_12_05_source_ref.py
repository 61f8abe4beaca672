"""source identifiers of imported records

An import file names its rows with ids of its own; keeping them lets a convention row name its
parties by the file's ids, and a re-import of the same file find the records it created.

Revision ID: 0006_source_ref
Revises: 0005_relationship_tie_unique
Create Date: 2026-12-05 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_source_ref"
down_revision: str | None = "0005_relationship_tie_unique"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "source_ref",
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "resource_type", "ref", name=op.f("pk_source_ref")),
    )
    with op.batch_alter_table("source_ref", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_ref_resource_id"), ["resource_id"])


def downgrade() -> None:
    with op.batch_alter_table("source_ref", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_ref_resource_id"))
    op.drop_table("source_ref")
