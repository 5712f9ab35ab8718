"""Small helpers shared by the revisions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from sahha_sync.application.logs import get_logger

logger = get_logger(__name__)


def is_postgres() -> bool:
    return op.get_context().dialect.name == "postgresql"


def big_id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(), primary_key=True)


def utc(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def json_type() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def library_schema() -> str | None:
    """The schema the library's own tables go in (``SAHHA_SYNC_SCHEMA``, default ``sahha_sync``); None on SQLite.

    A revision that adds one of the library's tables declares it in ``tables.py`` with ``schema=LIBRARY_SCHEMA``,
    creates it with ``op.create_table(..., schema=library_schema())``, turns row level security on
    (``enable_row_level_security(name, schema=library_schema())``) and ends with ``close_to_api()``."""
    if not is_postgres():
        return None
    schema: str = op.get_context().config.attributes["schema"]  # type: ignore[union-attr]
    return schema


def enable_row_level_security(*tables: str, schema: str | None = None) -> None:
    """Supabase exposes ``public`` through its REST API: with RLS on and no policy, the anon and
    authenticated keys read nothing, while the service connection (table owner) is unaffected."""
    if is_postgres():
        prefix = f'"{schema}".' if schema else ""
        for table in tables:
            op.execute(sa.text(f'ALTER TABLE {prefix}"{table}" ENABLE ROW LEVEL SECURITY'))


def remove_duplicates(table: str, key: tuple[str, ...], newest_first: str) -> int | None:
    """Delete every row but the newest of each ``key``; returns how many went (None when only printing SQL)."""
    partition = ", ".join(key)
    statement = sa.text(
        f"DELETE FROM {table} WHERE id IN ("
        f"SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY {partition} ORDER BY {newest_first}) AS rn "
        f"FROM {table}) ranked WHERE rn > 1)"
    )
    if op.get_context().as_sql:
        op.execute(statement)
        return None
    removed = op.get_bind().execute(statement).rowcount
    logger.info("migration.duplicates_removed", table=table, removed=removed)
    return removed
