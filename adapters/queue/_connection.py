"""Connection settings for the queue's psycopg pool, from the URLs people actually have."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from procrastinate import exceptions as procrastinate_errors
from psycopg.conninfo import conninfo_to_dict

from sahha_sync.application.ports.job_queue import JobQueueError, QueueUnavailableError
from sahha_sync.domain.errors import InvalidInputError

SUPABASE_TRANSACTION_POOLER_PORT = 6543
# A plpgsql plan cached while the jobs table was near-empty makes fetches crawl after a burst.
PLAN_CACHE_OPTION = "-c plan_cache_mode=force_custom_plan"
_DRIVER = re.compile(r"^(postgres(?:ql)?)\+\w+://")

T = TypeVar("T")


def libpq_conninfo(url: str) -> str:
    """``url`` as libpq takes it: SQLAlchemy's ``postgresql+psycopg://`` becomes ``postgresql://``."""
    conninfo = _DRIVER.sub(r"\1://", url.strip())
    try:
        conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise InvalidInputError("the queue's connection string is not a PostgreSQL URL", field="conninfo") from exc
    return conninfo


def connection_kwargs(conninfo: str, *, prepared_statements: bool | None, plan_cache_option: bool) -> dict[str, Any]:
    """psycopg connection arguments: no server-side prepares behind Supabase's transaction pooler (port
    6543), and custom plans for procrastinate's functions unless the pooler rejects ``options``."""
    kwargs: dict[str, Any] = {}
    port = conninfo_to_dict(conninfo).get("port")
    if prepared_statements is False or (
        prepared_statements is None and str(port) == str(SUPABASE_TRANSACTION_POOLER_PORT)
    ):
        kwargs["prepare_threshold"] = None
    if plan_cache_option:
        kwargs["options"] = PLAN_CACHE_OPTION
    return kwargs


def translate(exc: BaseException, doing: str) -> JobQueueError:
    """The port's error for a procrastinate, psycopg or pool error."""
    cause = exc.__cause__ or exc
    kind = type(cause).__name__
    if isinstance(cause, psycopg.errors.UndefinedTable | psycopg.errors.UndefinedFunction):
        return QueueUnavailableError(
            f"cannot {doing}: the job queue's tables are missing (run `sahha-sync db upgrade`)"
        )
    return QueueUnavailableError(f"cannot {doing}: the job queue's database failed ({kind})")


QUEUE_ERRORS = (
    procrastinate_errors.ConnectorException,
    procrastinate_errors.AppNotOpen,
    psycopg.Error,
    psycopg_pool.PoolTimeout,
    OSError,
)


async def guarded(doing: str, call: Callable[[], Awaitable[T]]) -> T:
    """``await call()``, with third-party errors turned into ``QueueUnavailableError``."""
    try:
        return await call()
    except QUEUE_ERRORS as exc:
        raise translate(exc, doing) from exc


@asynccontextmanager
async def guard(doing: str) -> AsyncIterator[None]:
    try:
        yield
    except QUEUE_ERRORS as exc:
        raise translate(exc, doing) from exc
