"""Who the synthetic users are: a time zone, a chronotype, habits, and vitals baselines per user."""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

# Offsets real users live at, including the awkward ones (+05:30, +13:00, negative ones).
UTC_OFFSETS: tuple[timedelta, ...] = tuple(
    timedelta(minutes=m) for m in (-480, -420, -300, -180, 0, 0, 60, 60, 120, 330, 480, 540, 600, 720, 780)
)

DATA_SOURCES: tuple[tuple[str, ...], ...] = (
    ("iOS.health_kit",),
    ("android.health_connect",),
    ("iOS.health_kit", "apple.watch"),
)

_NAMESPACE = uuid.UUID("6f1c1a3e-5a8f-4b7e-9a56-0d2f0b6a9e11")


def stable_uuid(*parts: object) -> str:
    """A UUID-shaped id that depends only on ``parts`` (Sahha ids of synthetic records); cheap to compute."""
    h = hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=16, key=_NAMESPACE.bytes).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


@dataclass(frozen=True, slots=True)
class Persona:
    """One synthetic user's habits; every day of data is drawn around these."""

    profile_id: str
    sahha_profile_id: str
    utc_offset: timedelta
    bedtime_hour: float  # local clock hour the user falls asleep on a weekday (23.5 = 23:30; 25.0 = 01:00)
    weekend_shift_hours: float  # how much later they go to bed and get up at weekends
    sleep_need_hours: float
    steps_mean: float
    resting_hr: float
    hrv_rmssd: float
    wear_rate: float  # share of days with any data (the phone or watch was worn and synced)
    data_sources: tuple[str, ...]

    @classmethod
    def draw(cls, seed: int, profile_id: str) -> Persona:
        rng = random.Random(f"persona:{seed}:{profile_id}")
        chronotype = rng.choice((-1.0, 0.0, 0.0, 0.5, 1.0, 2.0))  # larks to owls
        fitness = rng.random()
        return cls(
            profile_id=profile_id,
            sahha_profile_id=stable_uuid("profile", seed, profile_id),
            utc_offset=rng.choice(UTC_OFFSETS),
            bedtime_hour=23.0 + chronotype + rng.uniform(-0.4, 0.4),
            weekend_shift_hours=rng.uniform(0.2, 1.8),
            sleep_need_hours=rng.uniform(6.3, 8.4),
            steps_mean=3500.0 + 9500.0 * fitness + rng.uniform(-800.0, 800.0),
            resting_hr=74.0 - 20.0 * fitness + rng.uniform(-4.0, 4.0),
            hrv_rmssd=25.0 + 60.0 * fitness + rng.uniform(-8.0, 8.0),
            wear_rate=rng.uniform(0.88, 1.0),
            data_sources=rng.choice(DATA_SOURCES),
        )
