"""The pipeline on in-memory adapters, for the erasure and monitoring tests (fixture in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.llm import OfflineAnalyst
from sahha_sync.adapters.memory import InMemoryHealthDataSource, InMemoryJobQueue, InMemoryStores
from sahha_sync.application.ports import HealthDataSource
from sahha_sync.application.use_cases import ArchiveHealthData, CollectStats, ForgetUser, RunAnalysis
from sahha_sync.domain import Biomarker, HealthRecords, Score

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def days_of_data(user: str, days: int = 5, *, base: int = 8000) -> HealthRecords:
    first = START - timedelta(days=days)
    starts = [first + timedelta(days=n) for n in range(days)]
    return HealthRecords(
        biomarkers=tuple(
            Biomarker(
                user_id=user,
                category="activity",
                type="steps",
                value=str(base + n),
                unit="count",
                value_type="long",
                start_date_time=s,
                end_date_time=s + timedelta(days=1) - timedelta(seconds=1),
                aggregation="total",
            )
            for n, s in enumerate(starts)
        ),
        scores=tuple(
            Score(user_id=user, type="sleep", score_date_time=s + timedelta(hours=8), score=0.61 + n / 100)
            for n, s in enumerate(starts)
        ),
    )


class Pipeline:
    """On in-memory adapters; ``source`` replaces the in-memory source (e.g. the Sahha client on the emulator)."""

    def __init__(self, source: HealthDataSource | None = None) -> None:
        self.clock = ManualClock(START)
        self.stores = InMemoryStores()
        self.memory_source = InMemoryHealthDataSource()
        self.source: Any = self.memory_source if source is None else source
        self.queue = InMemoryJobQueue(max_attempts=2, backoff_base=0.001)
        self.queue.register(
            ArchiveHealthData.JOB_TYPE,
            ArchiveHealthData(unit_of_work=self.stores.unit_of_work, clock=self.clock, source=self.source),
        )
        self.run = RunAnalysis(
            source=self.source,
            analyst=OfflineAnalyst(),
            unit_of_work=self.stores.unit_of_work,
            queue=self.queue,
            clock=self.clock,
        )
        self.forget = ForgetUser(unit_of_work=self.stores.unit_of_work, clock=self.clock, queue=self.queue)
        self.stats = CollectStats(unit_of_work=self.stores.unit_of_work, clock=self.clock, queue=self.queue)

    async def analyse(self, user: str, analysis_type: str = "behavior_analysis") -> str:
        outcome = await self.run.run_analysis(user, "Peak Performer", analysis_type)
        assert await self.queue.wait_idle(timeout=10)
        return outcome.run_id
