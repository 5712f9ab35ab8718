"""Watermarks: how far a user's data has been analysed, per archetype and analysis type.

The watermark is the ``analysis_timestamp`` of the latest analysed run (the end of the window it analysed).
It is looked up first for the same archetype, then for any archetype of the same analysis type. A host that
analyses without ``RunAnalysis`` sets it by recording its analysis. ``Watermarks`` is the seed's
``ArchetypeTracker`` (``get_archetype_tracker()`` returns one), with the seed's method names.

The data itself belongs to the user: a ``RunAnalysis`` fetch continues from the later of this watermark and the
user's archived fetches (``UserFreshness.fetched``), whatever the analysis type, and a run answered from the
archive within the freshness bound analyses no new window, so it leaves this watermark where it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import uuid4

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sahha_sync.application.use_cases._support import append_and_project, in_transaction, require_aware, require_run_key
from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.events import AnalysisCompleted, AnalysisRequested, DomainEvent, HealthDataFetched
from sahha_sync.domain.tracking import TrackingRecord
from sahha_sync.domain.windows import FetchWindow, Watermark

log = get_logger(__name__)

WatermarkSource = Literal["archetype", "analysis_type", "none"]
HOST_SOURCE = "host"
HOST_WINDOW = timedelta(seconds=1)


async def find_watermark(
    uow: UnitOfWork, user_id: str, archetype: str, analysis_type: AnalysisType
) -> tuple[Watermark | None, WatermarkSource]:
    """The fallback chain, inside an open unit of work (``RunAnalysis`` reads it with its other reads)."""
    own = await uow.tracking.latest(user_id, analysis_type.value, archetype)
    if own is not None and own.watermark is not None:
        return own.watermark, "archetype"
    other = await uow.tracking.latest(user_id, analysis_type.value)
    if other is not None and other.watermark is not None:
        return other.watermark, "analysis_type"
    return None, "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class Watermarks:
    unit_of_work: UnitOfWorkFactory
    clock: Clock

    async def get_last_analysis_date_with_fallback(
        self, user_id: str, archetype: str, analysis_type: str | AnalysisType
    ) -> tuple[datetime | None, WatermarkSource]:
        """``(watermark, source)``: source is ``archetype`` (this archetype's latest analysed run),
        ``analysis_type`` (another archetype of the same analysis type) or ``none``."""
        user, kind, atype = require_run_key(user_id, archetype, analysis_type)
        async with self.unit_of_work() as uow:
            watermark, source = await find_watermark(uow, user, kind, atype)
        return (None if watermark is None else watermark.value), source

    async def update_last_analysis_date(
        self,
        user_id: str,
        archetype: str,
        analysis_type: str | AnalysisType,
        analysis_timestamp: datetime | None = None,
        *,
        window: FetchWindow | None = None,
    ) -> TrackingRecord:
        """Record an analysis a host ran itself (without ``RunAnalysis``), analysed up to ``analysis_timestamp``
        (default: now). Returns the new run's tracking row.

        It is recorded as a run stream — ``AnalysisRequested``, ``HealthDataFetched`` (source ``host``, no
        records) and ``AnalysisCompleted`` — whose fold gives ``analysis_timestamp``, so the projection stays
        the only writer of tracking rows and a rebuild keeps it. ``window`` is the span the host analysed; it
        must end at ``analysis_timestamp``. By default it is the last second before it, which claims no data:
        a given window counts as not archived until an archival of this run (or a later run covering it)
        succeeds, so the next ``RunAnalysis`` fetches it again.
        """
        user, kind, atype = require_run_key(user_id, archetype, analysis_type)
        moment = (
            self.clock.now() if analysis_timestamp is None else require_aware(analysis_timestamp, "analysis_timestamp")
        )
        span = window or FetchWindow(moment - HOST_WINDOW, moment)
        if span.end != moment:
            raise InvalidInputError("window must end at analysis_timestamp", field="window")
        run_id = uuid4().hex
        now = self.clock.now()
        events: list[DomainEvent] = [
            AnalysisRequested(run_id=run_id, occurred_at=now, user_id=user, archetype=kind, analysis_type=atype.value),
            HealthDataFetched(
                run_id=run_id,
                occurred_at=now,
                window_start=span.start,
                window_end=span.end,
                biomarker_count=0,
                score_count=0,
                is_incremental=False,
                watermark=None,
                source=HOST_SOURCE,
            ),
            AnalysisCompleted(
                run_id=run_id, occurred_at=now, analyst=HOST_SOURCE, model="", prompt_version="", input_hash=""
            ),
        ]

        async def record(uow: UnitOfWork) -> TrackingRecord:
            return await append_and_project(uow, run_id, (), events)

        saved = await in_transaction(self.unit_of_work, record)
        log.info("tracker.analysis_recorded", run_id=run_id, tracking_record_id=saved.id, source=HOST_SOURCE)
        return saved


ArchetypeTracker = Watermarks  # the seed's name
