"""Helpers the use cases share: argument checks, error descriptions, chunked fetches, transactions.

Private to the use cases; nothing here is part of the public API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.event_store import ConcurrencyError, RecordedEvent
from sahha_sync.application.ports.health_data_source import HealthDataSource, HealthDataSourceError
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sahha_sync.application.use_cases._freshness import advance_after_runs
from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.errors import InvalidInputError, SahhaSyncError
from sahha_sync.domain.events import DomainEvent, stream_id_for
from sahha_sync.domain.health import FetchMetrics, HealthRecords
from sahha_sync.domain.snapshot import dedupe_by_key
from sahha_sync.domain.tracking import TrackingRecord
from sahha_sync.domain.windows import FetchWindow

T = TypeVar("T")
log = get_logger(__name__)

MAX_ERROR_TEXT = 300
PAGE_SIZE = 1000  # events read at a time by a use case that walks the whole store


def require_text(value: object, field: str) -> str:
    """``value`` stripped, or ``InvalidInputError`` naming ``field`` when it is not a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{field} must be a non-empty string", field=field)
    return value.strip()


def require_aware(value: object, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{field} must be a datetime, got {type(value).__name__}", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(f"{field} must be timezone-aware, got a naive datetime", field=field)
    return value


def require_run_key(user_id: object, archetype: object, analysis_type: object) -> tuple[str, str, AnalysisType]:
    """The checked ``(user_id, archetype, analysis_type)`` that names a user's analyses."""
    user = require_text(user_id, "user_id")
    kind = require_text(archetype, "archetype")
    if not isinstance(analysis_type, str):
        raise InvalidInputError("analysis_type must be a string", field="analysis_type")
    return user, kind, AnalysisType.parse(analysis_type)


def describe_error(exc: BaseException) -> tuple[str, str]:
    """``(error_kind, error)`` for events and logs.

    The library's own errors promise messages without health values, so their text is kept (shortened);
    any other exception is described by its class only, since its message may quote data.
    """
    kind = type(exc).__name__
    text = (str(exc) or kind) if isinstance(exc, SahhaSyncError) else f"unexpected {kind}"
    return kind, text[:MAX_ERROR_TEXT]


async def fetch_in_chunks(
    source: HealthDataSource, user_id: str, window: FetchWindow, *, include_archetypes: bool
) -> HealthRecords:
    """Every record of ``window``, asked for in chunks of at most 30 days and put together in order; ``api``
    (and a failure's ``api``) sums what every chunk's fetch cost, when the source counts it."""
    parts: list[HealthRecords] = []
    for chunk in window.chunks():
        try:
            parts.append(await source.fetch(user_id, chunk, include_archetypes=include_archetypes))
        except HealthDataSourceError as exc:
            if parts and exc.api is not None:
                exc.api = _api_sum([*parts, HealthRecords(api=exc.api)])
            raise
    if len(parts) == 1:
        return parts[0]
    return HealthRecords(
        biomarkers=tuple(dedupe_by_key(b for p in parts for b in p.biomarkers)),
        scores=tuple(dedupe_by_key(s for p in parts for s in p.scores)),
        archetypes=tuple(dedupe_by_key(a for p in parts for a in p.archetypes)),
        quarantined=tuple(q for p in parts for q in p.quarantined),
        api=_api_sum(parts),
    )


def _api_sum(parts: list[HealthRecords]) -> FetchMetrics | None:
    total: FetchMetrics | None = None
    for part in parts:
        if part.api is not None:
            total = part.api if total is None else total + part.api
    return total


def newest_record_time(records: HealthRecords) -> datetime | None:
    """The latest moment any record of ``records`` speaks of (ends of readings, score times)."""
    moments = [b.end_date_time for b in records.biomarkers]
    moments += [s.score_date_time for s in records.scores]
    moments += [a.end_date_time for a in records.archetypes]
    return max(moments, default=None)


def within(records: HealthRecords, window: FetchWindow) -> HealthRecords:
    """The records whose start (scores: score time) lies in ``window``, as ``HealthArchive.read_window`` selects."""
    return HealthRecords(
        biomarkers=tuple(b for b in records.biomarkers if window.contains(b.start_date_time)),
        scores=tuple(s for s in records.scores if window.contains(s.score_date_time)),
        archetypes=tuple(a for a in records.archetypes if window.contains(a.start_date_time)),
        quarantined=records.quarantined,
    )


async def read_history(uow: UnitOfWork, run_id: str) -> list[DomainEvent]:
    return [recorded.event for recorded in await uow.events.read_stream(stream_id_for(run_id))]


async def every_event(uow: UnitOfWork, page_size: int = PAGE_SIZE) -> AsyncIterator[RecordedEvent]:
    """Every recorded event of the store in position order, read ``page_size`` at a time."""
    after = 0
    while True:
        page = await uow.events.read_all(after=after, limit=page_size)
        for recorded in page:
            yield recorded
        if len(page) < page_size:
            return
        after = page[-1].position


async def append_and_project(
    uow: UnitOfWork, run_id: str, history: Sequence[DomainEvent], new_events: Sequence[DomainEvent]
) -> TrackingRecord:
    """Append ``new_events`` after ``history`` (the stream as read in this transaction) and save the projection.

    The tracking row is always ``TrackingRecord.fold`` of the whole stream: the fold is its only writer, so a
    replay of the event store gives the same rows. When the new events complete the run's archival, the user's
    freshness row moves on as well (``UserFreshness.after_run``, the fold a replay uses too).

    The tracking row is saved before the append (all of it is one transaction: a refused append leaves neither):
    an append holds the event store's lock until the transaction ends, so the less follows it, the less other
    writers wait. The freshness row stays after it: its read and write are serialised by that lock.
    """
    (record,) = await append_and_project_runs(uow, [(run_id, history, new_events)])
    return record


RunAppend = tuple[str, Sequence[DomainEvent], Sequence[DomainEvent]]  # (run_id, history, new_events)


async def append_and_project_runs(uow: UnitOfWork, runs: Sequence[RunAppend]) -> list[TrackingRecord]:
    """``append_and_project`` of several runs (each named once) at once: their tracking rows saved together, their
    events appended together, the freshness rows they move moved together."""
    streams = [[*history, *new_events] for _, history, new_events in runs]
    records = await uow.tracking.save_many([TrackingRecord.fold(stream) for stream in streams])
    await uow.events.append_streams(
        [(stream_id_for(run_id), new_events, len(history)) for run_id, history, new_events in runs]
    )
    await advance_after_runs(
        uow, [(stream, new_events) for stream, (_, _, new_events) in zip(streams, runs, strict=True)]
    )
    return records


async def in_transaction(factory: UnitOfWorkFactory, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run ``work`` in a new unit of work and commit; on a ``ConcurrencyError`` re-run it once from scratch."""
    for attempt in (1, 2):
        try:
            async with factory() as uow:
                result = await work(uow)
                await uow.commit()
                return result
        except ConcurrencyError as exc:
            if attempt == 2:
                raise
            log.info("use_case.append_conflict_retried", stream_id=exc.stream_id, expected=exc.expected_version)
    raise AssertionError("unreachable")  # pragma: no cover
