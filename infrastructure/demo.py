"""The demo scenario behind ``sahha-sync demo``: synthetic users analysed twice, the clock moved between.

The first round is each user's initial run (the last ``initial_days`` days, unless an earlier demo in the same
database left a watermark); then the clock moves forward by ``advance`` and the second round is incremental:
from the watermark minus the lookback up to the new now. After each round the queue drains, so each run's
sync status is final. The source is always the in-process Sahha emulator (the users are synthetic), reached
through the real Sahha client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sahha_sync.adapters.clock import ManualClock, SystemClock
from sahha_sync.application.use_cases import AnalysisOutcome
from sahha_sync.domain.tracking import SyncStatus
from sahha_sync.infrastructure.container import build_container, resolve
from sahha_sync.infrastructure.runtime import SahhaSync
from sahha_sync.infrastructure.settings import Settings

ARCHETYPES = ("Peak Performer", "Systematic Improver", "Transformation Seeker", "Foundation Builder")
ANALYSIS_TYPES = ("behavior_analysis", "circadian_analysis")
DRAIN_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class DemoRun:
    round: str  # "initial" or "incremental"
    user_id: str
    archetype: str
    analysis_type: str
    run_id: str
    window_start: str
    window_end: str
    is_incremental: bool
    biomarkers: int
    scores: int
    archetypes: int
    data_source: str
    analyst: str
    summary: str
    sync_status: str
    sync_error: str | None
    fetch_failed: bool = False  # archived data stood in for a failed fetch (else "archive" means fresh enough)

    @property
    def items_fetched(self) -> int:
        return self.biomarkers + self.scores + self.archetypes

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "user_id": self.user_id,
            "archetype": self.archetype,
            "analysis_type": self.analysis_type,
            "run_id": self.run_id,
            "window": {"start": self.window_start, "end": self.window_end},
            "is_incremental": self.is_incremental,
            "items_fetched": {
                "biomarkers": self.biomarkers,
                "scores": self.scores,
                "archetypes": self.archetypes,
                "total": self.items_fetched,
            },
            "data_source": self.data_source,
            "fetch_failed": self.fetch_failed,
            "analyst": self.analyst,
            "summary": self.summary,
            "sync_status": self.sync_status,
            "sync_error": self.sync_error,
        }


@dataclass(frozen=True, slots=True)
class DemoReport:
    database: str
    runs: tuple[DemoRun, ...]
    queue: dict[str, Any] = field(default_factory=dict)
    drained: bool = True
    advance_hours: float = 24.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "runs": [run.to_dict() for run in self.runs],
            "queue": self.queue,
            "drained": self.drained,
            "advance_hours": self.advance_hours,
        }


def demo_settings(settings: Settings, *, days: int) -> Settings:
    """The demo's settings: the caller's, with the emulator as source and ``days`` for the initial window."""
    return settings.model_copy(update={"source": "emulator", "initial_days": days})


async def run_demo(settings: Settings, *, users: int = 3, advance: timedelta = timedelta(hours=24)) -> DemoReport:
    """Analyse ``users`` synthetic users twice, ``advance`` apart, and report what happened."""
    clock = ManualClock(SystemClock().now() - advance)  # the second round runs at about the real now
    container = build_container(settings, clock=clock)
    runs: list[DemoRun] = []
    drained = True
    async with SahhaSync(settings, container=container) as sync:
        population = await resolve(container.population)
        plan = [
            (user_id, ARCHETYPES[i % len(ARCHETYPES)], ANALYSIS_TYPES[i % len(ANALYSIS_TYPES)])
            for i, user_id in enumerate(population.profile_ids[:users])
        ]
        for round_name in ("initial", "incremental"):
            outcomes = [await sync.run_analysis(*key) for key in plan]
            drained = await sync.wait_for_archival(DRAIN_TIMEOUT) and drained
            for key, outcome in zip(plan, outcomes, strict=True):
                record = await sync.tracking_record(outcome.run_id)
                status = record.status if record else SyncStatus()
                runs.append(_run(round_name, key, outcome, status, settings.data_source_name(outcome.data_source)))
            clock.advance(advance)
        stats = await sync.queue_stats()
    hours = advance.total_seconds() / 3600
    return DemoReport(settings.database_url_for_display, tuple(runs), stats.as_dict(), drained, hours)


def _run(
    round_name: str, key: tuple[str, str, str], outcome: AnalysisOutcome, status: SyncStatus, data_source: str
) -> DemoRun:
    snapshot = outcome.snapshot
    user_id, archetype, analysis_type = key
    return DemoRun(
        round=round_name,
        user_id=user_id,
        archetype=archetype,
        analysis_type=analysis_type,
        run_id=outcome.run_id,
        window_start=outcome.window.start.isoformat(),
        window_end=outcome.window.end.isoformat(),
        is_incremental=outcome.is_incremental,
        biomarkers=len(snapshot.biomarkers),
        scores=len(snapshot.scores),
        archetypes=len(snapshot.archetypes),
        data_source=data_source,
        analyst=outcome.analysis.analyst,
        summary=outcome.analysis.summary,
        sync_status=status.state,
        sync_error=status.sync_error,
        fetch_failed=outcome.source_failed,
    )
