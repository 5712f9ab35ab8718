"""A synthetic user's five daily scores, shaped as Sahha's: factors whose figures carry 32-bit float noise and a
UUID each, ``createdAtUtc`` and ``version`` on every score."""

from __future__ import annotations

import struct
from datetime import datetime

from sahha_sync.adapters.sahha.catalog import score_state
from sahha_sync.adapters.sahha.emulator.personas import Persona, stable_uuid
from sahha_sync.domain import Score, ScoreFactor


def _float32(value: float) -> float:
    """``value`` as Sahha stores factor figures: through a 32-bit float (0.99 -> 0.9900000095367432)."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def day_scores(
    p: Persona, seed: int, start: datetime, sleep_min: int, steps: int, bedtime: float, created: datetime
) -> list[Score]:
    """The scores of the day that begins at ``start``, created (available) at ``created``."""

    def factor(name: str, value: float, goal: float, unit: str, *, lower_is_better: bool = False) -> ScoreFactor:
        ratio = goal / value if lower_is_better and value else value / goal
        score = round(max(0.0, min(1.0, ratio)), 2)
        return ScoreFactor(
            name=name,
            value=float(value),
            goal=float(goal),
            score=_float32(score),
            state=score_state(score),
            unit=unit,
            id=stable_uuid("factor", seed, p.profile_id, name, start),
        )

    regularity = max(0.0, 100.0 - abs(bedtime - p.bedtime_hour) * 40.0)
    sleep = [
        factor("sleep_duration", sleep_min, 480, "minute"),
        factor("sleep_regularity", round(regularity, 1), 80, "index"),
    ]
    activity = [factor("steps", steps, 7500, "count"), factor("active_hours", min(16, round(steps / 900)), 10, "hour")]
    readiness = [
        factor("resting_heart_rate", round(p.resting_hr, 1), 60, "bpm", lower_is_better=True),
        factor("heart_rate_variability", round(p.hrv_rmssd, 1), 60, "ms"),
        sleep[0],
    ]
    groups = {
        "sleep": sleep,
        "activity": activity,
        "readiness": readiness,
        "wellbeing": [sleep[0], activity[0], readiness[0]],
        "mental_wellbeing": [sleep[1], activity[1]],
    }
    scores = []
    for kind, factors in groups.items():
        value = round(sum(f.score or 0.0 for f in factors) / len(factors), 2)
        scores.append(
            Score(
                user_id=p.profile_id,
                sahha_profile_id=p.sahha_profile_id,
                sahha_id=stable_uuid("score", seed, p.profile_id, kind, start),
                type=kind,
                score=value,
                state=score_state(value),
                factors=tuple(factors),
                data_sources=p.data_sources,
                score_date_time=start,
                created_at_utc=created,
                version="1",
            )
        )
    return scores
