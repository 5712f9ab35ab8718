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
# By default a queue commit need not wait for the disk: a recoverable submit's request is in the event store
# (committed synchronously) and RecoverPendingArchivals re-submits a job that a database crash lost; a lost "done"
# only re-runs a job. A stored submit (a webhook delivery, acknowledged once it is safe) is the exception: the
# writer commits its batch with synchronous_commit on (``_sql.INSERT_JOBS``).
ASYNC_COMMIT_OPTION = "-c synchronous_commit=off"
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


def behind_transaction_pooler(conninfo: str) -> bool:
    """True for Supabase's transaction pooler (port 6543): no prepared statements, no ``options``, no LISTEN."""
    return str(conninfo_to_dict(conninfo).get("port")) == str(SUPABASE_TRANSACTION_POOLER_PORT)


def connection_kwargs(
    conninfo: str, *, prepared_statements: bool | None, session_options: bool | None, synchronous_commit: bool
) -> dict[str, Any]:
    """psycopg connection arguments. ``None`` means: decide from the port (see ``behind_transaction_pooler``).

    The session options are custom plans for procrastinate's functions and, unless ``synchronous_commit``,
    commits that do not wait for the disk; behind a pooler that rejects them, set them with ``ALTER ROLE``.
    """
    pooled = behind_transaction_pooler(conninfo)
    kwargs: dict[str, Any] = {}
    if prepared_statements is False or (prepared_statements is None and pooled):
        kwargs["prepare_threshold"] = None
    if session_options or (session_options is None and not pooled):
        options = [PLAN_CACHE_OPTION] if synchronous_commit else [PLAN_CACHE_OPTION, ASYNC_COMMIT_OPTION]
        kwargs["options"] = " ".join(options)
    return kwargs


def pool_without_check(**kwargs: Any) -> psycopg_pool.AsyncConnectionPool[Any]:
    """procrastinate's pool, without the round trip that checks each connection before lending it (it
    doubled the cost of a submit); a broken connection fails its one call and is discarded by the pool."""
    kwargs.pop("check", None)
    return psycopg_pool.AsyncConnectionPool(**kwargs)


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
