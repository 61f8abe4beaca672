"""no index on actor.search_name

Text search looks for each word anywhere in an actor's folded name (`LIKE '%word%'`), which a
B-tree index cannot serve: neither SQLite nor PostgreSQL ever used `ix_actor_search_name`
(their plans scan the actors), while every write of an actor inserted up to 700 characters
into it.

Revision ID: 0013_search_name_unindexed
Revises: 0012_name_key_covering
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_search_name_unindexed"
down_revision: str | None = "0012_name_key_covering"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_actor_search_name", table_name="actor")


def downgrade() -> None:
    op.create_index("ix_actor_search_name", "actor", ["search_name"])
