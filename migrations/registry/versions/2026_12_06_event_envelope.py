"""stored event envelopes

Each event keeps its public envelope as JSON, its sequence left as 0 until a page of the feed
puts it in (services.registry.outbox.stored_envelope): a page is the stored texts joined, not a
model built per event. Older events have none and are written from their columns when read.

Revision ID: 0010_event_envelope
Revises: 0009_live_order_indexes
Create Date: 2026-12-06 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_event_envelope"
down_revision: str | None = "0009_live_order_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("envelope", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("envelope")
