"""A whole demo run logs no secret and no health value (README.md, "What it promises").

The logs are captured as the library emits them (before any redaction) and compared against the values the
demo's synthetic users hold: raw biomarker values, scores and score factors, and the emulator's credentials.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from structlog.testing import capture_logs

from sahha_sync.adapters.clock import SystemClock
from sahha_sync.adapters.sahha.emulator import EMULATOR_CLIENT_SECRET, SyntheticPopulation
from sahha_sync.domain import FetchWindow
from sahha_sync.infrastructure.demo import run_demo
from sahha_sync.infrastructure.logging import redact_sensitive
from sahha_sync.infrastructure.settings import Settings

USERS = 3


def _health_values(profile_ids: tuple[str, ...]) -> set[str]:
    """Distinctive renderings of every value the users' data holds (short numbers would match counts)."""
    now = SystemClock().now()
    window = FetchWindow(now - timedelta(days=30), now + timedelta(days=2))
    population = SyntheticPopulation(0)
    values: set[str] = set()
    for profile_id in profile_ids:
        records = population.records_for(profile_id, window)
        values.update(b.value for b in records.biomarkers)
        for score in records.scores:
            values.add(repr(score.score))
            values.update(repr(f.value) for f in score.factors if f.value is not None)
    return {v for v in values if len(v) >= 5 and sum(c.isdigit() for c in v) >= 4}


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _leaves(item)
    else:
        yield repr(value) if isinstance(value, float) else str(value)


async def _demo_logs(processors: list[Any]) -> list[dict[str, Any]]:
    with capture_logs(processors=processors) as logs:
        report = await run_demo(Settings(database_url="memory://"), users=USERS)
    assert {run.sync_status for run in report.runs} == {"synced"}
    return logs


async def test_a_demo_run_logs_no_health_value_even_before_redaction() -> None:
    logs = await _demo_logs([])
    health = _health_values(SyntheticPopulation(0).profile_ids[:USERS])
    assert len(logs) > 10
    assert len(health) > 100
    leaked = [(entry["event"], leaf) for entry in logs for leaf in _leaves(entry) if leaf in health]
    assert leaked == []


async def test_a_demo_run_logs_no_secret_or_token() -> None:
    for processors in ([], [redact_sensitive]):
        text = json.dumps(await _demo_logs(processors), default=str)
        assert EMULATOR_CLIENT_SECRET not in text
        assert "eyJ" not in text  # the emulator's account tokens are JWT-shaped
