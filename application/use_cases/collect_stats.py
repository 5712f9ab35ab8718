"""``CollectStats``: the seed's monitoring figures, read from the event store and the tracking projection.

Every figure but two comes from what the database holds, so it survives restarts and is the same whichever
server asks: the events (runs, Sahha fetches and their failures, runs answered from the archive within the
freshness bound (``runs.served_from_archive``), archival attempts, rows inserted, updated and
left unchanged per table and per day — the webhook streams ``run-webhook-…`` included) and the tracking rows
(each run's sync state, and per user and analysis type how old the newest archived data is). Sahha's API
figures — requests, success rate, retries, 429s and token refreshes — are summed from the fetch events, which
carry what each fetch cost. Live figures are added when given: the queue's ``get_stats()`` (on the durable queue
they are in the database too), the Sahha client's ``stats()`` (this process only, cache hits included), and the
account's shared rate budget (every process together: requests per second, 429s, a pause in force).

``since`` narrows the event figures to events that occurred at or after it; the tracking figures are the
current state. A forgotten user's runs hold only a tombstone, so they count as ``runs.forgotten`` and nowhere
else; rows that webhooks inserted for them stay counted in storage growth (those events carry no user id).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.job_queue import JobQueue
from sahha_sync.application.ports.rate_budget import RateBudget
from sahha_sync.application.ports.unit_of_work import UnitOfWorkFactory
from sahha_sync.application.use_cases._fetching import SAHHA
from sahha_sync.application.use_cases._freshness import DELIVERY_RUNS
from sahha_sync.application.use_cases._support import PAGE_SIZE, every_event
from sahha_sync.domain.events import (
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisRequested,
    ArchivalFailed,
    ArchivalRequested,
    DomainEvent,
    HealthDataFetched,
    HealthDataFetchFailed,
    HealthDataServed,
    RecordsArchived,
    RecordsQuarantined,
    SyncCompleted,
    UserForgotten,
    stream_id_for,
)
from sahha_sync.domain.record_kinds import RECORD_KINDS
from sahha_sync.domain.tracking import TrackingRecord

TABLES = tuple(kind.plural for kind in RECORD_KINDS)
_TABLE_OF = {kind.name: kind.plural for kind in RECORD_KINDS}
WEBHOOK_STREAM_PREFIX = "run-webhook-"
API_FIGURES = ("requests", "successes", "failed_requests", "retries", "rate_limited", "token_refreshes")


@dataclass(frozen=True, slots=True, kw_only=True)
class Freshness:
    """One user and analysis type: the end of the newest archived window that brought data (None: nothing
    archived yet), its age, and how many of their runs are synced, pending (archival not finished) or failed.
    ``no_data`` says that runs synced but Sahha had no record for any of them (a user id it does not know reads
    the same), so the user is not fresh, only empty."""

    user_id: str
    analysis_type: str
    archived_through: datetime | None
    age_seconds: float | None
    runs: int
    pending: int
    failed: int
    no_data: bool = False


@dataclass(slots=True, kw_only=True)
class OperationsStats:
    generated_at: datetime
    since: datetime | None
    runs: Counter[str] = field(default_factory=Counter)
    fetch_failures: Counter[str] = field(default_factory=Counter)
    api: Counter[str] = field(default_factory=Counter)
    archival: Counter[str] = field(default_factory=Counter)
    failures_by_reason: Counter[str] = field(default_factory=Counter)
    inserted: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    webhook_inserted: Counter[str] = field(default_factory=Counter)
    inserted_by_day: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    sync_states: Counter[str] = field(default_factory=Counter)
    freshness: list[Freshness] = field(default_factory=list)
    queue: dict[str, Any] | None = None
    sahha_client: dict[str, Any] | None = None
    sahha_account: dict[str, Any] | None = None

    @property
    def archival_success_rate(self) -> float | None:
        finished = self.archival["synced"] + self.archival["failed_for_good"]
        return self.archival["synced"] / finished if finished else None

    @property
    def sahha_fetch_success_rate(self) -> float | None:
        total = self.runs["fetched"] + sum(self.fetch_failures.values())
        return self.runs["fetched"] / total if total else None

    @property
    def sahha_request_success_rate(self) -> float | None:
        return self.api["successes"] / self.api["requests"] if self.api["requests"] else None

    def to_dict(self) -> dict[str, Any]:
        dead = None if self.queue is None else self.queue.get("dead")
        return {
            "generated_at": self.generated_at.isoformat(),
            "since": None if self.since is None else self.since.isoformat(),
            "runs": _plain(
                self.runs, ("requested", "fetched", "served_from_archive", "analysed", "analysis_failed", "forgotten")
            ),
            "sahha_api": {
                "fetches": self.runs["fetched"],
                "fetch_failures": dict(sorted(self.fetch_failures.items())),
                "fetch_success_rate": self.sahha_fetch_success_rate,
                "archive_fallbacks": self.runs["archive_fallbacks"],
                **_plain(self.api, API_FIGURES),
                "success_rate": self.sahha_request_success_rate,
                "client": self.sahha_client,
                "account": self.sahha_account,
            },
            "archival": {
                **_plain(self.archival, ("requested", "synced", "failed_attempts", "failed_for_good")),
                "success_rate": self.archival_success_rate,
                "failures_by_reason": dict(sorted(self.failures_by_reason.items())),
                "dead_jobs": dead,
            },
            "storage": {
                "inserted": _plain(self.inserted, TABLES),
                "updated": _plain(self.updated, TABLES),
                "unchanged": _plain(self.unchanged, TABLES),
                "inserted_by_webhooks": _plain(self.webhook_inserted, TABLES),
                "quarantined": self.runs["quarantined"],
                "inserted_by_day": {day: _plain(c, TABLES) for day, c in sorted(self.inserted_by_day.items())},
            },
            "sync_states": _plain(self.sync_states, ("synced", "pending", "failed", "not_requested")),
            "freshness": [{**asdict(f), "archived_through": _iso(f.archived_through)} for f in self.freshness],
            "queue": self.queue,
        }


def _plain(counter: Mapping[str, int], keys: tuple[str, ...]) -> dict[str, int]:
    return {key: int(counter.get(key, 0)) for key in keys}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectStats:
    """``await collect(since=None) -> OperationsStats``.

    ``queue`` adds its ``get_stats()``; ``sahha_stats`` (a callable returning the client's counters as a
    mapping, or None when it keeps none: ``source.client_stats``) adds the in-process Sahha figures;
    ``rate_budget`` adds the account's figures, every process together.
    """

    unit_of_work: UnitOfWorkFactory
    clock: Clock
    queue: JobQueue | None = None
    sahha_stats: Callable[[], Mapping[str, Any] | None] | None = None
    rate_budget: RateBudget | None = None
    page_size: int = PAGE_SIZE

    async def __call__(self, since: datetime | None = None) -> OperationsStats:
        return await self.collect(since)

    async def collect(self, since: datetime | None = None) -> OperationsStats:
        now = self.clock.now()
        stats = OperationsStats(generated_at=now, since=since)
        streams_with_data: set[str] = set()
        async with self.unit_of_work() as uow:
            async for recorded in every_event(uow, self.page_size):
                if _brought_data(recorded.event):
                    streams_with_data.add(recorded.stream_id)
                if since is None or recorded.event.occurred_at >= since:
                    _count(stats, recorded.stream_id, recorded.event)
            rows = await uow.tracking.list_all()
        stats.sync_states.update(row.status.state for row in rows)
        stats.freshness = freshness(rows, now, lambda row: stream_id_for(row.run_id) in streams_with_data)
        if self.queue is not None:
            stats.queue = (await self.queue.get_stats()).as_dict()
        client = None if self.sahha_stats is None else self.sahha_stats()
        if client is not None:
            stats.sahha_client = dict(client)
        if self.rate_budget is not None:
            stats.sahha_account = (await self.rate_budget.figures()).as_dict()
        return stats


def _count(stats: OperationsStats, stream_id: str, event: DomainEvent) -> None:
    runs, archival = stats.runs, stats.archival
    if isinstance(event, RecordsArchived):
        _count_archived(stats, stream_id, _TABLE_OF.get(event.kind, event.kind), event)
    elif isinstance(event, AnalysisRequested):
        runs["requested"] += 1
    elif isinstance(event, HealthDataFetched):
        runs["fetched" if event.source == "sahha" else "archive_fallbacks"] += 1
        _count_api(stats.api, event)
    elif isinstance(event, HealthDataServed):
        runs["served_from_archive"] += 1
    elif isinstance(event, HealthDataFetchFailed):
        stats.fetch_failures[event.error_kind] += 1
        _count_api(stats.api, event)
    elif isinstance(event, AnalysisCompleted):
        runs["analysed"] += 1
    elif isinstance(event, AnalysisFailed):
        runs["analysis_failed"] += 1
    elif isinstance(event, RecordsQuarantined):
        runs["quarantined"] += event.count
    elif isinstance(event, ArchivalRequested):
        archival["requested"] += 1
    elif isinstance(event, ArchivalFailed):
        archival["failed_attempts"] += 1
        archival["failed_for_good"] += 0 if event.will_retry else 1
        stats.failures_by_reason[event.error_kind] += 1
    elif isinstance(event, SyncCompleted):
        archival["synced"] += 1
    elif isinstance(event, UserForgotten):
        runs["forgotten"] += 0 if event.run_id.startswith(DELIVERY_RUNS) else 1  # a stream of deliveries: no run


def _count_api(api: Counter[str], event: HealthDataFetched | HealthDataFetchFailed) -> None:
    api["requests"] += event.api_requests
    api["successes"] += event.api_successes
    api["failed_requests"] += event.api_failures
    api["retries"] += event.api_retries
    api["rate_limited"] += event.api_rate_limited
    api["token_refreshes"] += event.api_token_refreshes


def _count_archived(stats: OperationsStats, stream_id: str, table: str, event: RecordsArchived) -> None:
    stats.inserted[table] += event.inserted
    stats.updated[table] += event.updated
    stats.unchanged[table] += event.unchanged
    stats.inserted_by_day[event.occurred_at.astimezone(UTC).date().isoformat()][table] += event.inserted
    if stream_id.startswith(WEBHOOK_STREAM_PREFIX):
        stats.webhook_inserted[table] += event.inserted


def _brought_data(event: DomainEvent) -> bool:
    return isinstance(event, HealthDataFetched) and event.source == SAHHA and _item_count(event) > 0


def _item_count(event: HealthDataFetched) -> int:
    return event.biomarker_count + event.score_count + event.archetype_count


def freshness(
    rows: list[TrackingRecord], now: datetime, brought_data: Callable[[TrackingRecord], bool] = lambda _: True
) -> list[Freshness]:
    """Per user and analysis type (sorted by them): the end of the newest synced window whose fetch
    ``brought_data``, and the runs' states."""
    groups: dict[tuple[str, str], list[TrackingRecord]] = defaultdict(list)
    for row in rows:
        groups[(row.user_id, row.analysis_type)].append(row)
    found = []
    for (user_id, analysis_type), runs in sorted(groups.items()):
        synced = [r for r in runs if r.is_synced and r.window is not None]
        ends = [r.window.end for r in synced if r.window is not None and brought_data(r)]
        newest = max(ends, default=None)
        states = Counter(r.status.state for r in runs)
        found.append(
            Freshness(
                user_id=user_id,
                analysis_type=analysis_type,
                archived_through=newest,
                age_seconds=None if newest is None else max((now - newest).total_seconds(), 0.0),
                runs=len(runs),
                pending=states["pending"],
                failed=states["failed"],
                no_data=bool(synced) and newest is None,
            )
        )
    return found
