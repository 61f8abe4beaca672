"""a trigram index for text search on PostgreSQL

Text search looks for each word anywhere in an actor's folded name (`LIKE '%word%'`). Without an
index that serves it, a search for a rare word read every actor: 29–43 ms at 100,000 actors on
PostgreSQL. A trigram index (`pg_trgm`, a trusted extension that ships with PostgreSQL) answers
it in 0.2 ms; for a common word the planner still walks the listing's order, which finds the
first page sooner. SQLite has no such index and keeps reading every name.

The extension is created here if it is missing. A database user who may not create it (it needs
the CREATE privilege on the database) gets a warning and no index: search still works, as
before, and an administrator can run `CREATE EXTENSION pg_trgm` and migrate again.

Revision ID: 0014_live_text_search
Revises: 0013_search_name_unindexed
Create Date: 2026-12-07 06:00:00
"""

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision: str = "0014_live_text_search"
down_revision: str | None = "0013_search_name_unindexed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_actor_live_text"


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    try:
        with connection.begin_nested():
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except DBAPIError as error:
        logging.getLogger("alembic").warning(
            "text search stays without its index: pg_trgm cannot be created here (%s)",
            str(error.orig).strip(),
        )
        return
    op.create_index(
        _INDEX,
        "actor",
        ["search_name"],
        postgresql_using="gin",
        postgresql_ops={"search_name": "gin_trgm_ops"},
        postgresql_where=text("deleted_at IS NULL"),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {_INDEX}")
