"""``PostgresRateBudget``: the Sahha account's request schedule in ``sahha_rate_budgets``, one row per account.

A reservation is one autocommit ``UPDATE … RETURNING`` on the account's row: Postgres locks the row for the
statement, so concurrent reservations queue behind each other (first come, first served) and each starts where
the one before ended. Time is the database's (``clock_timestamp()``), so processes on hosts whose clocks differ
agree; the answer is turned into a delay from the moment the database answered. Nothing is held between
statements: a process that dies with starts still reserved leaves only moments that pass unused.

Postgres only (SQLite is the embedded default, where each process keeps its own limiter). Every call gives up
after ``timeout`` seconds, so a database that stops answering never stalls a request to Sahha for long.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql._bind import translated
from sahha_sync.adapters.sql.errors import ErrorKinds
from sahha_sync.adapters.sql.tables import qualified_name, sahha_rate_budgets
from sahha_sync.application.ports.rate_budget import (
    ACTIVE_WINDOW,
    NO_USAGE,
    RATE_WINDOW,
    RateBudget,
    RateBudgetError,
    RateBudgetFigures,
    RateBudgetUnavailableError,
    SlotGrant,
    Usage,
    check_pause,
    check_reservation,
    check_usage,
)

BUDGET_ERRORS = ErrorKinds(RateBudgetError, RateBudgetUnavailableError, RateBudgetError)
DEFAULT_TIMEOUT = 2.0

_NOW = "(SELECT clock_timestamp() AS t, extract(epoch FROM clock_timestamp())::float8 AS epoch) AS n"
_DECAY = "exp(-least(greatest(extract(epoch FROM n.t - b.rates_at)::float8, 0) / CAST(:window AS float8), 50))"
_ACTIVE = "(h.value)::float8 > n.epoch - CAST(:active AS float8)"

CREATE_ROW = (
    "INSERT INTO sahha_rate_budgets (account, next_slot_at, paused_until, rates_at, holders) "
    "VALUES (:account, clock_timestamp(), clock_timestamp(), clock_timestamp(), '{}'::jsonb) "
    "ON CONFLICT (account) DO NOTHING"
)

# One statement for a reservation (``count`` > 0, ``pause`` 0) and for a pause (``count`` 0): the new starts
# begin after the schedule's end, now and the pause in force; the usage is added; the holder is stamped and
# holders not seen within the active window are dropped.
BOOK = f"""
UPDATE sahha_rate_budgets AS b SET
    next_slot_at = greatest(b.next_slot_at, n.t, b.paused_until)
        + make_interval(secs => CAST(:count AS integer) * CAST(:spacing AS float8)),
    paused_until = greatest(b.paused_until, n.t + make_interval(secs => CAST(:pause AS float8))),
    requests = b.requests + CAST(:requests AS bigint),
    rate_limited = b.rate_limited + CAST(:rate_limited AS bigint),
    request_rate = b.request_rate * {_DECAY} + CAST(:requests AS float8) / CAST(:window AS float8),
    rate_limited_rate = b.rate_limited_rate * {_DECAY} + CAST(:rate_limited AS float8) / CAST(:window AS float8),
    rates_at = n.t,
    holders = (
        SELECT coalesce(jsonb_object_agg(h.key, h.value), '{{}}'::jsonb)
        FROM jsonb_each(b.holders || jsonb_build_object(CAST(:holder AS text), n.epoch)) AS h
        WHERE {_ACTIVE}
    )
FROM {_NOW}
WHERE b.account = :account
RETURNING extract(epoch FROM b.next_slot_at - n.t)::float8 AS ends_in,
    (SELECT count(*) FROM jsonb_object_keys(b.holders))::integer AS processes
"""

FIGURES = f"""
SELECT b.requests, b.rate_limited,
    b.request_rate * {_DECAY} AS request_rate,
    b.rate_limited_rate * {_DECAY} AS rate_limited_rate,
    greatest(extract(epoch FROM b.paused_until - n.t)::float8, 0) AS paused_for,
    (SELECT count(*) FROM jsonb_each(b.holders) AS h WHERE {_ACTIVE})::integer AS processes
FROM sahha_rate_budgets AS b, {_NOW}
WHERE b.account = :account
"""


def default_holder() -> str:
    """This process, as other processes see it in the figures: ``pid@host``."""
    return f"{os.getpid()}@{socket.gethostname()}"[:120]


class PostgresRateBudget(RateBudget):
    """``account``'s budget on ``engine`` (a Postgres database at the newest revision), as process ``holder``."""

    def __init__(
        self, engine: AsyncEngine, account: str, *, holder: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError(f"the shared rate budget needs Postgres, not {engine.dialect.name}")
        if not account:
            raise ValueError("the shared rate budget needs an account name")
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        table = qualified_name(sahha_rate_budgets, engine)  # plain SQL: the engine's schema map does not reach it
        self._create_row, self._book_statement, self._figures = (
            text(statement.replace("sahha_rate_budgets", table)) for statement in (CREATE_ROW, BOOK, FIGURES)
        )
        self.account = account
        self.holder = holder or default_holder()
        self._timeout = timeout

    async def reserve(self, count: int, spacing: float, used: Usage = NO_USAGE) -> SlotGrant:
        check_reservation(count, spacing)
        check_usage(used)
        ends_in, processes = await self._book(count=count, spacing=spacing, pause=0.0, used=used)
        return SlotGrant(count=count, delay=ends_in - count * spacing, spacing=spacing, processes=processes)

    async def pause(self, seconds: float, used: Usage = NO_USAGE) -> None:
        check_pause(seconds)
        check_usage(used)
        await self._book(count=0, spacing=0.0, pause=seconds, used=used)

    async def figures(self) -> RateBudgetFigures:
        rows = await self._run(self._figures, {"window": RATE_WINDOW, "active": ACTIVE_WINDOW}, "read the rate budget")
        if not rows:
            return RateBudgetFigures()
        row = rows[0]
        return RateBudgetFigures(
            requests=int(row.requests),
            rate_limited=int(row.rate_limited),
            request_rate=float(row.request_rate),
            rate_limited_rate=float(row.rate_limited_rate),
            paused_for=float(row.paused_for),
            processes=int(row.processes),
        )

    async def _book(self, *, count: int, spacing: float, pause: float, used: Usage) -> tuple[float, int]:
        params = {
            "count": count,
            "spacing": spacing,
            "pause": pause,
            "requests": used.requests,
            "rate_limited": used.rate_limited,
            "holder": self.holder,
            "window": RATE_WINDOW,
            "active": ACTIVE_WINDOW,
        }
        rows = await self._run(self._book_statement, params, "reserve from the rate budget")
        if not rows:  # the account's first reservation (or its row was removed): create the row, then book
            await self._run(self._create_row, {}, "create the rate budget")
            rows = await self._run(self._book_statement, params, "reserve from the rate budget")
        return float(rows[0].ends_in), int(rows[0].processes)

    async def _run(self, statement: Any, params: dict[str, Any], operation: str) -> list[Any]:
        try:
            async with (
                asyncio.timeout(self._timeout),
                translated(BUDGET_ERRORS, operation),
                self._engine.connect() as connection,
            ):
                result = await connection.execute(statement, {"account": self.account, **params})
                return list(result.fetchall()) if result.returns_rows else []
        except TimeoutError:
            raise RateBudgetUnavailableError(f"{operation}: no answer within {self._timeout:g} s") from None
