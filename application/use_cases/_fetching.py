"""The fetch step of a run: the user's data fresh within the bound (the archive, with this process's last fetch
of the user on top), else a fetch of the delta since the user's mark minus the lookback — or the archive
standing in when the source fails.

With a bound (``FreshnessBound.max_staleness`` above zero) runs of one user take turns (``UserFlights``): one
fetch per user at a time, and the runs after it use its result while it is fresh. With a zero bound every run
fetches, as before the bound existed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.health_data_source import HealthDataSource, HealthDataSourceError
from sahha_sync.application.use_cases._support import describe_error, fetch_in_chunks, newest_record_time, within
from sahha_sync.application.use_cases.user_flights import Flight, UserFlights
from sahha_sync.domain.events import (
    DomainEvent,
    HealthDataFetched,
    HealthDataFetchFailed,
    HealthDataServed,
    RecordsQuarantined,
)
from sahha_sync.domain.freshness import FreshnessBound, UserFreshness, latest
from sahha_sync.domain.health import FetchMetrics, HealthRecords
from sahha_sync.domain.snapshot import HealthSnapshot, merge_by_key
from sahha_sync.domain.windows import FetchWindow, Watermark, WindowPlan, plan_fetch_window

log = get_logger(__name__)

SAHHA = "sahha"
ARCHIVE = "archive"
USER_MARK = "user"
NOTHING = HealthRecords()


@dataclass(frozen=True, slots=True)
class RunContext:
    """What a run reads before fetching: the user's freshness and the archived rows of the analysis period (read
    after it); and, for planning a fetch (``planned``), its watermark (this archetype's or type's analysed runs)
    and the earliest unarchived window — read only when the archive is not expected to answer."""

    freshness: UserFreshness
    archived: HealthRecords
    watermark: Watermark | None = None
    watermark_source: str = "none"
    not_after: datetime | None = None
    planned: bool = False

    @property
    def poll_mark(self) -> tuple[Watermark | None, str]:
        """Where a fetch continues from, and what says so: the later of the user's archived fetches (``user``)
        and the watermark of the run's archetype or type."""
        fetched = self.freshness.fetched
        if fetched is not None and (self.watermark is None or fetched.value > self.watermark.value):
            return fetched, USER_MARK
        return self.watermark, self.watermark_source


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResult:
    """What the fetch step gives the run.

    ``data_source``: ``sahha`` (fetched) or ``archive`` (fresh within the bound, or standing in when the source
    failed: ``source_failed``). ``fresh``: the records the analysis takes on top of the archived ones (this
    fetch's, or the last fetch's still in this process). ``plan``: the window fetched (None when nothing was).
    ``fresh_as_of``: up to when the data is current; ``data_age``: how old that was when the run used it.
    """

    snapshot: HealthSnapshot
    data_source: str
    events: tuple[DomainEvent, ...]
    fresh: HealthRecords = NOTHING
    plan: WindowPlan | None = None
    with_archetypes: bool = False
    fresh_as_of: datetime | None = None
    data_age: timedelta | None = None
    stale_as_of: datetime | None = None
    source_failed: bool = False
    context: RunContext | None = None  # the context the step used (with the planning reads when it fetched)


PlanningReads = Callable[[RunContext], Awaitable[RunContext]]


class RunFetcher:
    def __init__(
        self,
        source: HealthDataSource,
        clock: Clock,
        *,
        include_archetypes: bool,
        bound: FreshnessBound,
        flights: UserFlights,
        lookback: timedelta,
        initial_days: int,
    ) -> None:
        self._source = source
        self._clock = clock
        self._include_archetypes = include_archetypes
        self._bound = bound
        self._flights = flights
        self._lookback = lookback
        self._initial_days = initial_days

    def may_serve(self, user_id: str, freshness: UserFreshness, period: FetchWindow) -> bool:
        """Whether the archive would answer a run of the user now (so its planning reads can wait)."""
        last = self._flights.last(user_id)
        return self._servable(freshness, period, last, self._clock.now()) is not None

    async def fetch(
        self, run_id: str, user_id: str, context: RunContext, period: FetchWindow, planning: PlanningReads
    ) -> FetchResult:
        if self._bound.polls_every_time:
            return await self._poll(run_id, user_id, await self._planned(context, planning), period, None)
        async with self._flights.turn(user_id):  # one fetch per user at a time; the runs after it use its result
            last = self._flights.last(user_id)
            served = self._serve(run_id, context, period, last)
            if served is not None:
                return served
            result = await self._poll(run_id, user_id, await self._planned(context, planning), period, last)
            if result.plan is not None and not result.source_failed:
                flight = Flight(run_id, result.plan.window, result.with_archetypes, result.snapshot.records)
                self._flights.keep(user_id, flight)
            return result

    @staticmethod
    async def _planned(context: RunContext, planning: PlanningReads) -> RunContext:
        return context if context.planned else await planning(context)

    def _servable(
        self, freshness: UserFreshness, period: FetchWindow, last: Flight | None, now: datetime
    ) -> tuple[Watermark, Flight | None] | None:
        """Up to when the data is fresh and the last fetch to take on top of the archive, when the archive may
        answer at ``now`` (the user's data fresh within the bound, or webhooks keeping it so); else None.

        The archive holds the user's data up to ``freshness.mark``; the user's last fetch in this process is
        taken on top when it reaches back to that mark (so nothing between them is missing) and is not archived
        yet (its end is past the archived fetches')."""
        if self._bound.polls_every_time:
            return None
        fetched = freshness.fetched
        # deliveries bring no history: the archive answers for a user once a fetch filled it
        archived = None if fetched is None else freshness.mark
        reach = period.start if archived is None else archived.value
        on_top = last
        if last is None or last.window.start > reach or (fetched is not None and fetched.value >= last.window.end):
            on_top = None
        fresh_as_of = latest(archived, None if on_top is None else Watermark(on_top.window.end))
        pushed = fetched is not None and self._bound.kept_by_webhooks(freshness.delivered, now)
        if fresh_as_of is None or not (pushed or self._bound.holds(fresh_as_of, now)):
            return None
        return fresh_as_of, on_top

    def _serve(self, run_id: str, context: RunContext, period: FetchWindow, last: Flight | None) -> FetchResult | None:
        """The archive's answer when it may answer now (``_servable``), else None."""
        now = self._clock.now()
        servable = self._servable(context.freshness, period, last, now)
        if servable is None:
            return None
        fresh_as_of, on_top = servable
        fresh = HealthRecords() if on_top is None else within(on_top.records, period)
        used = HealthRecords(
            biomarkers=tuple(merge_by_key(context.archived.biomarkers, fresh.biomarkers)),
            scores=tuple(merge_by_key(context.archived.scores, fresh.scores)),
            archetypes=tuple(merge_by_key(context.archived.archetypes, fresh.archetypes)),
        )
        mark, _ = context.poll_mark
        snapshot = HealthSnapshot.from_records(
            used, fetched_at=now, window=period, is_incremental=False, watermark=None if mark is None else mark.value
        )
        served = HealthDataServed(
            run_id=run_id,
            occurred_at=now,
            fresh_as_of=fresh_as_of.value,
            shared_with=None if on_top is None else on_top.run_id,
        )
        return FetchResult(
            snapshot=snapshot,
            data_source=ARCHIVE,
            events=(served,),
            fresh=fresh,
            fresh_as_of=fresh_as_of.value,
            data_age=max(now - fresh_as_of.value, timedelta(0)),
            context=context,
        )

    def _plan(self, context: RunContext, last: Flight | None, now: datetime) -> tuple[WindowPlan, bool]:
        """The window to fetch, and whether it asks for archetypes (at most once per ``archetype_period``)."""
        freshness = context.freshness
        asked = None if last is None or not last.with_archetypes else Watermark(last.window.end)
        with_archetypes = self._include_archetypes and self._bound.archetypes_due(
            latest(freshness.archetypes, asked), now
        )
        not_after = context.not_after
        if with_archetypes:
            reach = self._bound.archetype_start(
                freshness.fetched, freshness.archetypes, now, self._lookback, self._initial_days
            )
            if reach is not None:
                not_after = reach if not_after is None else min(not_after, reach)
        mark, _ = context.poll_mark
        plan = plan_fetch_window(
            now, mark, lookback=self._lookback, initial_days=self._initial_days, not_after=not_after
        )
        return plan, with_archetypes

    async def _poll(
        self, run_id: str, user_id: str, context: RunContext, period: FetchWindow, last: Flight | None
    ) -> FetchResult:
        plan, with_archetypes = self._plan(context, last, self._clock.now())
        try:
            records = await fetch_in_chunks(self._source, user_id, plan.window, include_archetypes=with_archetypes)
        except HealthDataSourceError as exc:
            return self._archive_fallback(run_id, plan, context, period, exc)
        now = self._clock.now()
        mark, _ = context.poll_mark
        snapshot = HealthSnapshot.from_records(
            records,
            fetched_at=now,
            window=plan.window,
            is_incremental=plan.is_incremental,
            watermark=None if mark is None else mark.value,
        )
        fetched = fetched_event(run_id, now, snapshot, SAHHA, plan, api=records.api, with_archetypes=with_archetypes)
        events: list[DomainEvent] = [fetched]
        if snapshot.quarantined:
            reasons = tuple(sorted({q.reason for q in snapshot.quarantined}))
            events.append(
                RecordsQuarantined(run_id=run_id, occurred_at=now, count=len(snapshot.quarantined), reasons=reasons)
            )
        return FetchResult(
            snapshot=snapshot,
            data_source=SAHHA,
            events=tuple(events),
            fresh=within(snapshot.records, period),
            plan=plan,
            with_archetypes=with_archetypes,
            fresh_as_of=plan.window.end,
            data_age=timedelta(0),
            context=context,
        )

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
        mark, _ = context.poll_mark
        snapshot = HealthSnapshot.from_records(
            context.archived,
            fetched_at=now,
            window=period,
            is_incremental=False,
            watermark=None if mark is None else mark.value,
        )
        # The event names the planned window (not the period): the run's tracking row keeps it as not archived,
        # so the next run fetches it again. The API figures are on the failure; the archive cost no request.
        stand_in = fetched_event(run_id, now, snapshot, ARCHIVE, plan)
        archived = context.freshness.mark
        return FetchResult(
            snapshot=snapshot,
            data_source=ARCHIVE,
            events=(failed, stand_in),
            plan=plan,
            fresh_as_of=None if archived is None else archived.value,
            data_age=context.freshness.age(now),
            stale_as_of=newest_record_time(context.archived),
            source_failed=True,
            context=context,
        )


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
    with_archetypes: bool = False,
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
        with_archetypes=with_archetypes,
        **api_fields(api),
    )
