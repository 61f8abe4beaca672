"""one live tie of a kind between two actors

The check before insert cannot see a tie another writer has not committed yet; the index
makes the second of two concurrent identical ties fail, and the API answers it with a 409.

Revision ID: 0005_relationship_tie_unique
Revises: 0004_idempotency_location
Create Date: 2026-12-01 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_relationship_tie_unique"
down_revision: str | None = "0004_idempotency_location"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("relationship", schema=None) as batch_op:
        batch_op.create_index(
            "uq_relationship_tie_live",
            ["kind", "subject_id", "object_id"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("relationship", schema=None) as batch_op:
        batch_op.drop_index("uq_relationship_tie_live")
