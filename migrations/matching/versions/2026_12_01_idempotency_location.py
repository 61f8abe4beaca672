"""idempotency record location

Idempotency records are now written in the transaction of the write they guard; the location
lets a retry whose first response was lost in a crash be answered with the created resource.

Revision ID: 0004_idempotency_location
Revises: 0003_feedback_key
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_idempotency_location"
down_revision: str | None = "0003_feedback_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.drop_column("location")
