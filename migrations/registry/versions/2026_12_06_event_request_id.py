"""the request id of each event

An event keeps the `X-Request-ID` of the request that made its change: it is in the feed's
envelope and a header of each webhook delivery, so a change can be followed from the write to
the matching service and to a partner. The stored envelopes written before lack the member:
they are cleared here and written again by `migrate` (services.registry.feed.backfill_envelopes)
or, until then, from the event's columns when read.

Revision ID: 0011_event_request_id
Revises: 0010_event_envelope
Create Date: 2026-12-06 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_event_request_id"
down_revision: str | None = "0010_event_envelope"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))
    op.execute("UPDATE event SET envelope = NULL")


def downgrade() -> None:
    op.execute("UPDATE event SET envelope = NULL")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("request_id")
