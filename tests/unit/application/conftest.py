"""Fixtures for the use-case tests: in-memory stores, a manual clock, a scripted analyst, record builders."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import (
    InMemoryHealthArchive,
    InMemoryHealthDataSource,
    InMemoryJobQueue,
    InMemoryStores,
)
from sahha_sync.application.ports import (
    Analyst,
    AnalystError,
    JobContext,
    JobHandler,
    JobQueue,
    QueueStats,
    SubmitResult,
)
from sahha_sync.application.ports.job_queue import DeadJob, payload_user
from sahha_sync.application.use_cases import ArchiveHealthData, RunAnalysis
from sahha_sync.domain import (
    Analysis,
    AnalysisInput,
    Biomarker,
    DomainEvent,
    HealthRecords,
    RecordKind,
    RecordsArchived,
    Score,
    SyncStatus,
    TrackingRecord,
    stream_id_for,
)

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LOCAL = timezone(timedelta(hours=10))
USER = "user-1"
ARCHETYPE = "Peak Performer"
BEHAVIOR = "behavior_analysis"


def steps(user: str, day_start: datetime, value: int = 8000) -> Biomarker:
    """A daily steps biomarker starting at ``day_start`` (in the user's local offset)."""
    start = day_start.astimezone(LOCAL)
    return Biomarker(
        user_id=user,
        category="activity",
        type="steps",
        value=str(value),
        unit="count",
        value_type="long",
        start_date_time=start,
        end_date_time=start + timedelta(days=1) - timedelta(seconds=1),
        aggregation="total",
    )


def sleep_score(user: str, day_start: datetime, value: float = 0.7) -> Score:
    return Score(user_id=user, type="sleep", score_date_time=day_start + timedelta(hours=8), score=value)


def days_of_data(user: str, first: datetime, days: int, *, base: int = 8000) -> HealthRecords:
    """One steps biomarker and one sleep score per day, ``days`` days from ``first``."""
    starts = [first + timedelta(days=n) for n in range(days)]
    return HealthRecords(
        biomarkers=tuple(steps(user, s, base + n) for n, s in enumerate(starts)),
        scores=tuple(sleep_score(user, s, round(0.5 + (n % 50) / 100, 2)) for n, s in enumerate(starts)),
    )


class ScriptedAnalyst(Analyst):
    """A deterministic analyst: counts what it was given; fails with ``error`` when one is set."""

    def __init__(self, name: str = "scripted", error: AnalystError | None = None) -> None:
        self.name = name
        self.error = error
        self.inputs: list[AnalysisInput] = []

    async def analyse(self, analysis_input: AnalysisInput) -> Analysis:
        self.inputs.append(analysis_input)
        if self.error is not None:
            raise self.error
        keys = sorted(repr(b.key) for b in analysis_input.biomarkers) + sorted(
            repr(s.key) for s in analysis_input.scores
        )
        return Analysis(
            summary=f"{len(analysis_input.biomarkers)} biomarkers and {len(analysis_input.scores)} scores",
            analyst=self.name,
            model="none",
            prompt_version="test-1",
            input_hash=hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16],
        )


class RecordingQueue(JobQueue):
    """A queue that only records what was submitted (jobs are run by hand with ``run_next``)."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, dict[str, Any], str | None]] = []
        self.recoverable: list[bool] = []
        self.handlers: dict[str, JobHandler] = {}

    def register(self, job_type: str, handler: JobHandler) -> None:
        self.handlers[job_type] = handler

    async def start(self) -> None:
        return None

    async def submit_job(
        self,
        job_type: str,
        payload: Mapping[str, Any],
        *,
        dedup_key: str | None = None,
        recoverable: bool = False,
    ) -> SubmitResult:
        self.submitted.append((job_type, dict(payload), dedup_key))
        self.recoverable.append(recoverable)
        return SubmitResult(job_id=f"job-{len(self.submitted)}")

    async def get_stats(self) -> QueueStats:
        return QueueStats(queued=len(self.submitted))

    async def purge_user(self, user_id: str) -> int:
        kept = [job for job in self.submitted if payload_user(job[1]) != user_id]
        purged, self.submitted = len(self.submitted) - len(kept), kept
        return purged

    async def wait_idle(self, timeout: float | None = None) -> bool:
        return True

    async def stop(self, *, drain: bool = True, timeout: float | None = None) -> None:
        return None

    async def worker_finished(self) -> None:
        return None

    async def dead_jobs(self) -> list[DeadJob]:
        return []

    async def retry_dead(self, job_ids: Sequence[str] | None = None) -> list[str]:
        return []


def context(attempt: int = 1, max_attempts: int = 3, job_id: str = "job-1") -> JobContext:
    return JobContext(job_id=job_id, job_type=ArchiveHealthData.JOB_TYPE, attempt=attempt, max_attempts=max_attempts)


class Harness:
    """The pipeline wired on in-memory adapters, as a host would wire it."""

    def __init__(
        self,
        *,
        archive: InMemoryHealthArchive | None = None,
        queue: JobQueue | None = None,
        analyst: ScriptedAnalyst | None = None,
        fallback_analyst: ScriptedAnalyst | None = None,
    ) -> None:
        self.clock = ManualClock(START)
        self.stores = InMemoryStores(archive=archive)
        self.archive = self.stores.archive
        self.source = InMemoryHealthDataSource()
        self.queue = queue if queue is not None else InMemoryJobQueue(max_attempts=3, backoff_base=0.001)
        self.analyst = analyst if analyst is not None else ScriptedAnalyst()
        self.archival = ArchiveHealthData(unit_of_work=self.stores.unit_of_work, clock=self.clock, source=self.source)
        self.queue.register(ArchiveHealthData.JOB_TYPE, self.archival)
        self.run = RunAnalysis(
            source=self.source,
            analyst=self.analyst,
            unit_of_work=self.stores.unit_of_work,
            queue=self.queue,
            clock=self.clock,
            fallback_analyst=fallback_analyst,
        )

    async def record(self, run_id: str) -> TrackingRecord:
        found = await self.stores.tracking.get(run_id)
        assert found is not None, f"no tracking row for run {run_id}"
        return found

    async def status(self, run_id: str) -> SyncStatus:
        return (await self.record(run_id)).status

    async def events(self, run_id: str) -> list[DomainEvent]:
        return [r.event for r in await self.stores.events.read_stream(stream_id_for(run_id))]

    async def events_of(self, run_id: str, kind: type[DomainEvent]) -> Sequence[Any]:
        return [e for e in await self.events(run_id) if isinstance(e, kind)]

    async def archived(self, run_id: str, kind: RecordKind[Any]) -> list[RecordsArchived]:
        """The run's ``RecordsArchived`` events of ``kind``."""
        return [e for e in await self.events_of(run_id, RecordsArchived) if e.kind == kind.name]

    async def drain(self) -> None:
        assert await self.queue.wait_idle(timeout=10), "the queue did not become idle"


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    built = Harness()
    await built.queue.start()
    yield built
    await built.queue.stop(drain=False)
