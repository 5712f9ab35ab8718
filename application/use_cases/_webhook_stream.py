"""Webhook events: one unit of work that writes and appends to one of the day's webhook streams, run again from
scratch when another writer took the stream's next version (workers ingesting a burst in parallel)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.event_store import ConcurrencyError
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sahha_sync.application.retry import Backoff
from sahha_sync.domain.events import DomainEvent, stream_id_for

log = get_logger(__name__)

APPEND_ATTEMPTS = 8
APPEND_BACKOFF = Backoff(0.005, cap=0.05)  # a conflict is another worker's append, over within milliseconds
T = TypeVar("T")


async def append_to_stream(uow: UnitOfWork, run_id: str, event: DomainEvent) -> None:
    """Append ``event`` to the stream of ``run_id`` at its current version (inside ``uow``)."""
    stream_id = stream_id_for(run_id)
    await uow.events.append(stream_id, [event], expected_version=await uow.events.stream_version(stream_id))


async def committed(unit_of_work: UnitOfWorkFactory, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """``work(uow)`` in a unit of work that is then committed; re-run up to ``APPEND_ATTEMPTS`` times, after a
    short random pause (``APPEND_BACKOFF``), when an append met another writer (the last ``ConcurrencyError``
    propagates)."""
    for attempt in range(1, APPEND_ATTEMPTS + 1):
        try:
            async with unit_of_work() as uow:
                result = await work(uow)
                await uow.commit()
                return result
        except ConcurrencyError:
            if attempt == APPEND_ATTEMPTS:
                raise
            log.debug("webhook.append_conflict_retried", attempt=attempt)
            await asyncio.sleep(APPEND_BACKOFF.delay(attempt))
    raise AssertionError("unreachable")  # pragma: no cover
