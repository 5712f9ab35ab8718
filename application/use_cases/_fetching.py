"""The fetch step of a run: the planned window from the source, or the archive when the source fails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.health_data_source import HealthDataSource, HealthDataSourceError
from sahha_sync.application.use_cases._support import describe_error, fetch_in_chunks, newest_record_time
from sahha_sync.domain.events import DomainEvent, HealthDataFetched, HealthDataFetchFailed, RecordsQuarantined
from sahha_sync.domain.health import FetchMetrics, HealthRecords
from sahha_sync.domain.snapshot import HealthSnapshot
from sahha_sync.domain.windows import FetchWindow, Watermark, WindowPlan

log = get_logger(__name__)

SAHHA = "sahha"
ARCHIVE = "archive"


@dataclass(frozen=True, slots=True)
class RunContext:
    """What a run reads before fetching: its watermark, the earliest unarchived window, the archived period."""

    watermark: Watermark | None
    watermark_source: str
    not_after: datetime | None
    archived: HealthRecords

    @property
    def watermark_time(self) -> datetime | None:
        return None if self.watermark is None else self.watermark.value


@dataclass(frozen=True, slots=True)
class FetchResult:
    snapshot: HealthSnapshot
    data_source: str  # "sahha", or "archive" when the source failed and the archive stood in
    stale_as_of: datetime | None
    events: tuple[DomainEvent, ...]


class RunFetcher:
    def __init__(self, source: HealthDataSource, clock: Clock, *, include_archetypes: bool) -> None:
        self._source = source
        self._clock = clock
        self._include_archetypes = include_archetypes

    async def fetch(
        self, run_id: str, user_id: str, plan: WindowPlan, context: RunContext, period: FetchWindow
    ) -> FetchResult:
        try:
            records = await fetch_in_chunks(
                self._source, user_id, plan.window, include_archetypes=self._include_archetypes
            )
        except HealthDataSourceError as exc:
            return self._archive_fallback(run_id, plan, context, period, exc)
        now = self._clock.now()
        snapshot = HealthSnapshot.from_records(
            records,
            fetched_at=now,
            window=plan.window,
            is_incremental=plan.is_incremental,
            watermark=context.watermark_time,
        )
        events: list[DomainEvent] = [fetched_event(run_id, now, snapshot, SAHHA, plan, api=records.api)]
        if snapshot.quarantined:
            reasons = tuple(sorted({q.reason for q in snapshot.quarantined}))
            events.append(
                RecordsQuarantined(run_id=run_id, occurred_at=now, count=len(snapshot.quarantined), reasons=reasons)
            )
        return FetchResult(snapshot, SAHHA, None, tuple(events))

    def _archive_fallback(
        self, run_id: str, plan: WindowPlan, context: RunContext, period: FetchWindow, exc: HealthDataSourceError
    ) -> FetchResult:
        """The archived rows of the analysis period stand in for the fetch; the run stays unsynced."""
        now = self._clock.now()
        kind, text = describe_error(exc)
        log.warning("run_analysis.source_failed", run_id=run_id, error_kind=kind, fallback=ARCHIVE)
        failed = HealthDataFetchFailed(
            run_id=run_id,
            occurred_at=now,
            window_start=plan.window.start,
            window_end=plan.window.end,
            error_kind=kind,
            error=text,
            fallback_used=True,
            **api_fields(exc.api),
        )
        snapshot = HealthSnapshot.from_records(
            context.archived, fetched_at=now, window=period, is_incremental=False, watermark=context.watermark_time
        )
        # The event names the planned window (not the period): the run's tracking row keeps it as not archived,
        # so the next run fetches it again. The API figures are on the failure; the archive cost no request.
        stand_in = fetched_event(run_id, now, snapshot, ARCHIVE, plan)
        return FetchResult(snapshot, ARCHIVE, newest_record_time(context.archived), (failed, stand_in))


def api_fields(api: FetchMetrics | None) -> dict[str, int]:
    """The ``api_*`` fields of a fetch event (all 0 when the source does not count its API calls)."""
    api = api or FetchMetrics()
    return {
        "api_requests": api.requests,
        "api_successes": api.successes,
        "api_failures": api.failed_requests,
        "api_retries": api.retries,
        "api_rate_limited": api.rate_limited,
        "api_token_refreshes": api.token_refreshes,
    }


def fetched_event(
    run_id: str,
    now: datetime,
    snapshot: HealthSnapshot,
    source: str,
    plan: WindowPlan,
    *,
    api: FetchMetrics | None = None,
) -> HealthDataFetched:
    return HealthDataFetched(
        run_id=run_id,
        occurred_at=now,
        window_start=plan.window.start,
        window_end=plan.window.end,
        biomarker_count=len(snapshot.biomarkers),
        score_count=len(snapshot.scores),
        archetype_count=len(snapshot.archetypes),
        is_incremental=plan.is_incremental,
        watermark=snapshot.watermark,
        source=source,
        **api_fields(api),
    )
