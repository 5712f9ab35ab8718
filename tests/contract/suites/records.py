"""Builders of valid records and events for tests: sensible defaults, any field overridable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sahha_sync.domain.events import AnalysisRequested, HealthDataFetched
from sahha_sync.domain.health import Archetype, Biomarker, Score, ScoreFactor

T0 = datetime(2025, 10, 1, tzinfo=UTC)
LOCAL = timezone(timedelta(hours=10), "AEST")  # Sahha sends times in the user's local offset


def unique_id(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def biomarker(user_id: str, *, day: int = 0, type: str = "steps", **fields: Any) -> Biomarker:
    """A daily biomarker of ``user_id`` starting ``day`` days after ``T0``, in a local offset."""
    start = (T0 + timedelta(days=day)).astimezone(LOCAL)
    values: dict[str, Any] = {
        "user_id": user_id,
        "category": "activity",
        "type": type,
        "value": "8500",
        "unit": "count",
        "value_type": "long",
        "start_date_time": start,
        "end_date_time": start + timedelta(days=1) - timedelta(seconds=1),
        "periodicity": "daily",
        "aggregation": "total",
        "sahha_profile_id": "sahha-profile",
        "sahha_id": uuid.uuid4().hex,
        "created_at_utc": start.astimezone(UTC) + timedelta(days=1, hours=1),
    }
    values.update(fields)
    return Biomarker(**values)


def score(user_id: str, *, day: int = 0, type: str = "sleep", **fields: Any) -> Score:
    """A daily score of ``user_id`` for ``day`` days after ``T0``."""
    moment = (T0 + timedelta(days=day, hours=8)).astimezone(LOCAL)
    values: dict[str, Any] = {
        "user_id": user_id,
        "type": type,
        "score_date_time": moment,
        "score": 0.72,
        "state": "medium",
        "factors": (
            ScoreFactor(name="sleep_duration", value=420.0, goal=480.0, score=0.8, state="medium", unit="minute"),
        ),
        "data_sources": ("sleep", "activity"),
        "created_at_utc": moment.astimezone(UTC) + timedelta(hours=1),
        "sahha_profile_id": "sahha-profile",
        "sahha_id": uuid.uuid4().hex,
        "version": "1.0",
    }
    values.update(fields)
    return Score(**values)


def archetype(user_id: str, *, week: int = 0, name: str = "sleep_pattern", **fields: Any) -> Archetype:
    """A weekly archetype of ``user_id`` starting ``week`` weeks after ``T0``."""
    start = (T0 + timedelta(weeks=week)).astimezone(LOCAL)
    values: dict[str, Any] = {
        "user_id": user_id,
        "name": name,
        "value": "consistent_early_riser",
        "data_type": "string",
        "ordinality": 1,
        "periodicity": "weekly",
        "start_date_time": start,
        "end_date_time": start + timedelta(weeks=1) - timedelta(seconds=1),
        "created_at_utc": start.astimezone(UTC) + timedelta(weeks=1),
        "sahha_profile_id": "sahha-profile",
        "sahha_id": uuid.uuid4().hex,
        "version": "1.0",
    }
    values.update(fields)
    return Archetype(**values)


def analysis_requested(run_id: str | None = None, **fields: Any) -> AnalysisRequested:
    values: dict[str, Any] = {
        "run_id": run_id or uuid.uuid4().hex,
        "occurred_at": T0,
        "user_id": unique_id(),
        "archetype": "Peak Performer",
        "analysis_type": "behavior_analysis",
    }
    values.update(fields)
    return AnalysisRequested(**values)


def health_data_fetched(run_id: str, **fields: Any) -> HealthDataFetched:
    values: dict[str, Any] = {
        "run_id": run_id,
        "occurred_at": T0 + timedelta(seconds=1),
        "window_start": T0 - timedelta(days=7),
        "window_end": T0,
        "biomarker_count": 3,
        "score_count": 2,
        "is_incremental": False,
        "watermark": None,
    }
    values.update(fields)
    return HealthDataFetched(**values)
