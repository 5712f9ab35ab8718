"""The tracking store's statements written as text: SQLite's saves and freshness advances of several rows at once
(each a statement built once per number of rows, run on the driver with the values in their stored form) and
Postgres's freshness advance."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Table

from sahha_sync.adapters.sql._bind import SQLITE_DIALECT
from sahha_sync.adapters.sql.tables import archetype_analysis_tracking as tracking
from sahha_sync.adapters.sql.tables import user_freshness

SAVED = tuple(c.name for c in tracking.columns if c.name not in ("id", "created_at", "updated_at"))  # a save writes
LATER_MARKS = ("fetched_through", "archetypes_through")  # what ``advance_freshness`` moves


@cache
def sqlite_binds(table: Table) -> dict[str, Callable[[Any], Any]]:
    """The conversion of each column of ``table`` that SQLite does not take as it is, as SQLAlchemy binds it
    (a ``UtcDateTime`` to its UTC text, a boolean checked)."""
    return {c.name: p for c in table.columns if (p := c.type._cached_bind_processor(SQLITE_DIALECT)) is not None}


@cache
def sqlite_results(table: Table) -> dict[str, Callable[[Any], Any]]:
    """The conversion of each column of ``table`` that SQLite does not give as it is, as SQLAlchemy reads it."""
    processors = ((c.name, c.type._cached_result_processor(SQLITE_DIALECT, None)) for c in table.columns)
    return {name: p for name, p in processors if p is not None}


def sqlite_stored(table: Table, values: Mapping[str, Any], columns: Sequence[str]) -> list[Any]:
    """``values`` of ``columns`` as SQLite stores them in ``table``."""
    binds = sqlite_binds(table)
    return [binds[c](values[c]) if c in binds else values[c] for c in columns]


def sqlite_rows(n: int, width: int) -> str:
    """``n`` rows of ``width`` parameters, read as ``incoming.column1`` ... ``incoming.column<width>``."""
    one = f"({', '.join('?' * width)})"
    return f"(VALUES {', '.join([one] * n)}) AS incoming"


@lru_cache(maxsize=64)
def sqlite_save_sql(n: int) -> str:
    """SQLite: the upsert of ``n`` tracking rows (each its ``id`` then ``SAVED``), returning ``id`` and ``SAVED``
    of each. A given ``id`` that another run's row holds is left to SQLite to number (NULL, as ``save`` does)."""
    name = tracking.name
    run = SAVED.index("run_id") + 2
    given = (
        f"CASE WHEN EXISTS (SELECT 1 FROM {name} AS held WHERE held.id = incoming.column1 "
        f"AND held.run_id IS NOT incoming.column{run}) THEN NULL ELSE incoming.column1 END"
    )
    selected = ", ".join([given, *(f"incoming.column{i}" for i in range(2, len(SAVED) + 2))])
    changes = ", ".join(f"{c} = excluded.{c}" for c in SAVED if c != "run_id")
    return (
        f"INSERT INTO {name} (id, {', '.join(SAVED)}) SELECT {selected} FROM {sqlite_rows(n, len(SAVED) + 1)} "
        f"WHERE true ON CONFLICT (run_id) DO UPDATE SET {changes}, updated_at = CURRENT_TIMESTAMP "
        f"RETURNING id, {', '.join(SAVED)}"
    )


def advance_sql(table: str, rows: str, later: Callable[[str], str], distinct: str, now: str) -> str:
    """The upsert of ``rows`` (``user_id`` then ``LATER_MARKS``) into ``table`` keeping the later of each mark
    (``later`` of a column): a row that would not change is left alone."""
    marks = {c: later(c) for c in LATER_MARKS}
    return (
        f"INSERT INTO {table} AS stored (user_id, {', '.join(LATER_MARKS)}) {rows} ON CONFLICT (user_id) DO UPDATE "
        f"SET {', '.join(f'{c} = {v}' for c, v in marks.items())}, updated_at = {now} "
        f"WHERE {' OR '.join(f'{v} {distinct} stored.{c}' for c, v in marks.items())}"
    )


@cache
def postgres_advance_sql(table: str) -> str:
    """Postgres: ``GREATEST`` skips NULLs, as ``latest`` does."""
    rows = f"VALUES (%(user_id)s, {', '.join(f'%({c})s' for c in LATER_MARKS)})"
    return advance_sql(table, rows, lambda c: f"GREATEST(stored.{c}, EXCLUDED.{c})", "IS DISTINCT FROM", "now()")


@lru_cache(maxsize=64)
def sqlite_advance_sql(n: int) -> str:
    """SQLite, for ``n`` rows (a user may come twice: SQLite upserts the rows one after the other): the marks'
    texts sort as their instants; two-argument ``max`` is NULL when either is, hence the ``coalesce``."""
    columns = ", ".join(f"incoming.column{i}" for i in range(1, len(LATER_MARKS) + 2))
    rows = f"SELECT {columns} FROM {sqlite_rows(n, len(LATER_MARKS) + 1)} WHERE true"

    def later(c: str) -> str:
        return f"coalesce(max(stored.{c}, excluded.{c}), stored.{c}, excluded.{c})"

    return advance_sql(user_freshness.name, rows, later, "IS NOT", "CURRENT_TIMESTAMP")
