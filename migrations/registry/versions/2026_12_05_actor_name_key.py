"""name keys for duplicate detection

A likely-duplicate check read and folded every name of a kind and country on each new actor, a
cost growing with the directory; the keys let it read only the names sharing a segment with the
new one (services.registry.name_keys). Existing live actors are indexed here.

Revision ID: 0007_actor_name_key
Revises: 0006_source_ref
Create Date: 2026-12-05 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.registry.name_keys import stored_keys
from shared.text import comparable_name

revision: str = "0007_actor_name_key"
down_revision: str | None = "0006_source_ref"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5_000


def upgrade() -> None:
    table = op.create_table(
        "actor_name_key",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("comparable", sa.String(length=700), nullable=False),
        sa.PrimaryKeyConstraint("key", "actor_id", name=op.f("pk_actor_name_key")),
    )
    with op.batch_alter_table("actor_name_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_actor_name_key_actor_id"), ["actor_id"])
    actor = sa.table(
        "actor",
        sa.column("id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("country", sa.String()),
        sa.column("name", sa.String()),
        sa.column("deleted_at", sa.DateTime(timezone=True)),
    )
    actors = (
        op.get_bind()
        .execute(
            sa.select(actor.c.id, actor.c.kind, actor.c.country, actor.c.name).where(
                actor.c.deleted_at.is_(None)
            )
        )
        .all()
    )
    rows: list[dict[str, object]] = []
    for actor_id, kind, country, name in actors:
        comparable = comparable_name(name)
        rows.extend(
            {"key": key, "actor_id": actor_id, "comparable": comparable}
            for key in stored_keys(kind, country, comparable)
        )
        if len(rows) >= _BATCH:
            op.bulk_insert(table, rows)
            rows = []
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    with op.batch_alter_table("actor_name_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_actor_name_key_actor_id"))
    op.drop_table("actor_name_key")
