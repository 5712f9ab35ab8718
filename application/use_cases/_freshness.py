"""Writing the ``user_freshness`` projection, in the unit of work that appends the events it folds.

A run's archival completing (``sync.completed``) moves the user's ``fetched`` mark to the end of the window the
run fetched; an archived webhook delivery moves ``delivered`` — recorded as ``user_data.delivered`` in the
user's delivery stream, so ``RebuildProjections`` gives the same rows from the event store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import uuid4

from sahha_sync.application.ports.unit_of_work import UnitOfWork
from sahha_sync.domain.events import AnalysisRequested, DomainEvent, SyncCompleted, UserDataDelivered, stream_id_for
from sahha_sync.domain.freshness import UserFreshness

DELIVERY_STEP = timedelta(minutes=1)  # deliveries closer together than this are recorded once
DELIVERY_RUNS = "delivery-"


async def current_freshness(uow: UnitOfWork, user_id: str) -> UserFreshness:
    return await uow.tracking.freshness(user_id) or UserFreshness(user_id=user_id)


async def advance_after_runs(
    uow: UnitOfWork, runs: Sequence[tuple[Sequence[DomainEvent], Sequence[DomainEvent]]]
) -> None:
    """After ``new_events`` were appended to a run's ``stream`` (the whole stream, new events included), for each
    ``(stream, new_events)`` of ``runs``: when they completed the run's archival, the user's freshness moves on
    by the window the run fetched."""
    moves = [move for stream, new_events in runs if (move := _advanced(stream, new_events)) is not None]
    if moves:
        await uow.tracking.advance_freshness_many(moves)


def _advanced(stream: Sequence[DomainEvent], new_events: Sequence[DomainEvent]) -> UserFreshness | None:
    """What a run's completion says of its user's freshness alone (the store keeps the later of it and its row)."""
    if not stream or not isinstance(stream[0], AnalysisRequested):
        return None
    if not any(isinstance(e, SyncCompleted) for e in new_events):
        return None
    unknown = UserFreshness(user_id=stream[0].user_id)
    advanced = unknown.after_run(stream)
    return None if advanced == unknown else advanced


async def record_delivery(uow: UnitOfWork, user_id: str, received_at: datetime, now: datetime) -> bool:
    """An archived webhook delivery of ``user_id``'s data, received at ``received_at``: recorded in the user's
    delivery stream (and the freshness row) unless one was recorded less than ``DELIVERY_STEP`` before it.
    Returns whether it was recorded. Appends with the stream's version: a concurrent delivery of the same user
    raises ``ConcurrencyError``, and the caller runs its unit of work again."""
    current = await current_freshness(uow, user_id)
    if current.delivered is not None and received_at < current.delivered.value + DELIVERY_STEP:
        return False
    run_id = current.delivery_run_id or f"{DELIVERY_RUNS}{uuid4().hex}"
    event = UserDataDelivered(run_id=run_id, occurred_at=now, user_id=user_id, delivered_at=received_at)
    stream_id = stream_id_for(run_id)
    await uow.events.append(stream_id, [event], expected_version=await uow.events.stream_version(stream_id))
    await uow.tracking.save_freshness(current.after_delivery(event))
    return True
