"""Health records as Sahha serves them: biomarkers, scores (with factors) and Sahha's own archetypes.

Every record is identified by a natural key (see DESIGN.md, "Data"); two records with the same key are the
same fact, and the newer one wins. All datetimes are timezone-aware: Sahha sends them with the user's local
offset, and that offset is kept (a biomarker's local day depends on it). The raw ``value`` string of a
biomarker is kept as sent; ``value_numeric`` is derived from it by ``value_type``.

``observed_at`` says how new a record's version is: Sahha's ``created_at_utc`` when it gives one (then always
that), else the time the fetch was answered or the delivery received, as the adapter that read it stamps it;
None when nobody knows (the archive then stamps the time it writes it). It is not part of the record's value:
two observations of one value are equal records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sahha_sync.domain._checks import (
    require_aware,
    require_finite,
    require_int32,
    require_optional_aware,
    require_plausible_times,
    require_text,
)
from sahha_sync.domain.errors import InvalidInputError

SCORE_SPAN = timedelta(days=1) - timedelta(milliseconds=1)  # a score describes one day
NUMERIC_VALUE_TYPES = frozenset({"integer", "long", "double", "float", "decimal", "number"})

BiomarkerKey = tuple[str, str, datetime, datetime]
ScoreKey = tuple[str, str, datetime]
ArchetypeKey = tuple[str, str, str, datetime, datetime]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_dt(value: Any, field_name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInputError(f"{field_name} is not an ISO-8601 datetime", field=field_name) from exc


def _required_dt(value: Any, field_name: str) -> datetime:
    parsed = _parse_dt(value, field_name)
    if parsed is None:
        raise InvalidInputError(f"{field_name} is required", field=field_name)
    return parsed


def _user_of(data: dict[str, Any]) -> Any:
    """The record's user: ``user_id``, or ``profile_id`` as payloads written before the rename carried it."""
    return data["user_id"] if "user_id" in data else data["profile_id"]


def numeric_value(value: str, value_type: str) -> float | None:
    """The number a biomarker's raw ``value`` stands for, or None when it is not numeric (a datetime)."""
    if value_type.lower() not in NUMERIC_VALUE_TYPES:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _settle_observed_at(record: Biomarker | Score | Archetype, where: str) -> None:
    """Sets ``observed_at``: Sahha's ``created_at_utc`` when it gives one, else what the record was built with."""
    require_optional_aware(record.observed_at, "observed_at", where=where)
    if record.created_at_utc is not None:
        object.__setattr__(record, "observed_at", record.created_at_utc)


@dataclass(frozen=True, slots=True, kw_only=True)
class Biomarker:
    """One biomarker reading for one user over ``[start_date_time, end_date_time]``."""

    user_id: str
    category: str
    type: str
    value: str
    unit: str
    value_type: str
    start_date_time: datetime
    end_date_time: datetime
    periodicity: str = "daily"
    aggregation: str = "none"
    sahha_profile_id: str | None = None
    sahha_id: str | None = None
    created_at_utc: datetime | None = None
    observed_at: datetime | None = field(default=None, compare=False)  # see the module's docstring

    def __post_init__(self) -> None:
        where = f"biomarker {self.type or '?'} of {self.user_id or '?'}"
        require_text(self.user_id, "user_id", where=where)
        require_text(self.type, "type", where=where)
        require_aware(self.start_date_time, "start_date_time", where=where)
        require_aware(self.end_date_time, "end_date_time", where=where)
        require_optional_aware(self.created_at_utc, "created_at_utc", where=where)
        _settle_observed_at(self, where)
        require_plausible_times(
            where,
            start_date_time=self.start_date_time,
            end_date_time=self.end_date_time,
            created_at_utc=self.created_at_utc,
        )
        if self.end_date_time < self.start_date_time:
            raise InvalidInputError(f"{where}: end_date_time is before start_date_time", field="end_date_time")
        if not isinstance(self.value, str):
            raise InvalidInputError(f"{where}: value must be the raw string Sahha sent", field="value")
        number = self.value_numeric
        if number is None and self.value_type.lower() in NUMERIC_VALUE_TYPES and self.value.strip():
            raise InvalidInputError(f"{where}: value is not a {self.value_type}", field="value")
        if number is not None and not math.isfinite(number):
            raise InvalidInputError(f"{where}: value must be a finite number", field="value")

    @property
    def period(self) -> tuple[datetime, datetime]:
        return (self.start_date_time, self.end_date_time)

    @property
    def key(self) -> BiomarkerKey:
        return (self.user_id, self.type, self.start_date_time, self.end_date_time)

    @property
    def value_numeric(self) -> float | None:
        return numeric_value(self.value, self.value_type)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "sahha_profile_id": self.sahha_profile_id,
            "sahha_id": self.sahha_id,
            "category": self.category,
            "type": self.type,
            "periodicity": self.periodicity,
            "aggregation": self.aggregation,
            "value": self.value,
            "unit": self.unit,
            "value_type": self.value_type,
            "start_date_time": _iso(self.start_date_time),
            "end_date_time": _iso(self.end_date_time),
            "created_at_utc": _iso(self.created_at_utc),
            "observed_at": _iso(self.observed_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Biomarker:
        return cls(
            user_id=_user_of(data),
            sahha_profile_id=data.get("sahha_profile_id"),
            sahha_id=data.get("sahha_id"),
            category=data["category"],
            type=data["type"],
            periodicity=data.get("periodicity", "daily"),
            aggregation=data.get("aggregation", "none"),
            value=data["value"],
            unit=data["unit"],
            value_type=data["value_type"],
            start_date_time=_required_dt(data["start_date_time"], "start_date_time"),
            end_date_time=_required_dt(data["end_date_time"], "end_date_time"),
            created_at_utc=_parse_dt(data.get("created_at_utc"), "created_at_utc"),
            observed_at=_parse_dt(data.get("observed_at"), "observed_at"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreFactor:
    """One factor behind a score (e.g. ``sleep_duration`` for the sleep score)."""

    name: str
    value: float | None = None
    goal: float | None = None
    score: float | None = None
    state: str | None = None
    unit: str | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        where = f"score factor {self.name or '?'}"
        require_text(self.name, "name", where=where)
        for name in ("value", "goal", "score"):
            require_finite(getattr(self, name), name, where=where)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "goal": self.goal,
            "score": self.score,
            "state": self.state,
            "unit": self.unit,
            "id": self.id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoreFactor:
        return cls(
            name=data["name"],
            value=data.get("value"),
            goal=data.get("goal"),
            score=data.get("score"),
            state=data.get("state"),
            unit=data.get("unit"),
            id=data.get("id"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """One Sahha score (sleep, activity, readiness, wellbeing, mental_wellbeing) for one day of one user."""

    user_id: str
    type: str
    score_date_time: datetime
    score: float | None = None
    state: str | None = None
    factors: tuple[ScoreFactor, ...] = ()
    data_sources: tuple[str, ...] = ()
    created_at_utc: datetime | None = None
    sahha_profile_id: str | None = None
    sahha_id: str | None = None
    version: str | None = None
    observed_at: datetime | None = field(default=None, compare=False)  # see the module's docstring

    def __post_init__(self) -> None:
        where = f"score {self.type or '?'} of {self.user_id or '?'}"
        require_text(self.user_id, "user_id", where=where)
        require_text(self.type, "type", where=where)
        require_aware(self.score_date_time, "score_date_time", where=where)
        require_optional_aware(self.created_at_utc, "created_at_utc", where=where)
        _settle_observed_at(self, where)
        require_plausible_times(where, score_date_time=self.score_date_time, created_at_utc=self.created_at_utc)
        require_finite(self.score, "score", where=where)
        if self.score is not None and not 0.0 <= self.score <= 1.0:
            raise InvalidInputError(f"{where}: score must lie in 0.0-1.0", field="score")
        object.__setattr__(self, "factors", tuple(self.factors))
        object.__setattr__(self, "data_sources", tuple(self.data_sources))

    @property
    def period(self) -> tuple[datetime, datetime]:
        """The day the score describes: from ``score_date_time`` to the last millisecond before the next day.

        A score of a day appears after that day's data, up to as late as the data itself; its span is the day,
        so a fetch whose lookback catches the day's late biomarkers catches its late score too.
        """
        return (self.score_date_time, self.score_date_time + SCORE_SPAN)

    @property
    def key(self) -> ScoreKey:
        return (self.user_id, self.type, self.score_date_time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "sahha_profile_id": self.sahha_profile_id,
            "sahha_id": self.sahha_id,
            "type": self.type,
            "state": self.state,
            "score": self.score,
            "factors": [f.to_dict() for f in self.factors],
            "data_sources": list(self.data_sources),
            "score_date_time": _iso(self.score_date_time),
            "created_at_utc": _iso(self.created_at_utc),
            "version": self.version,
            "observed_at": _iso(self.observed_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Score:
        return cls(
            user_id=_user_of(data),
            sahha_profile_id=data.get("sahha_profile_id"),
            sahha_id=data.get("sahha_id"),
            type=data["type"],
            state=data.get("state"),
            score=data.get("score"),
            factors=tuple(ScoreFactor.from_dict(f) for f in data.get("factors") or ()),
            data_sources=tuple(data.get("data_sources") or ()),
            score_date_time=_required_dt(data["score_date_time"], "score_date_time"),
            created_at_utc=_parse_dt(data.get("created_at_utc"), "created_at_utc"),
            observed_at=_parse_dt(data.get("observed_at"), "observed_at"),
            version=data.get("version"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Archetype:
    """One of Sahha's own archetypes (e.g. ``sleep_pattern``) for a user over a week or a month.

    Not to be confused with the host's archetype (e.g. "Peak Performer") that names an analysis run.
    """

    user_id: str
    name: str
    value: str
    periodicity: str
    start_date_time: datetime
    end_date_time: datetime
    data_type: str | None = None
    ordinality: int | None = None
    created_at_utc: datetime | None = None
    sahha_profile_id: str | None = None
    sahha_id: str | None = None
    version: str | None = None
    observed_at: datetime | None = field(default=None, compare=False)  # see the module's docstring

    def __post_init__(self) -> None:
        where = f"archetype {self.name or '?'} of {self.user_id or '?'}"
        require_text(self.user_id, "user_id", where=where)
        require_text(self.name, "name", where=where)
        require_aware(self.start_date_time, "start_date_time", where=where)
        require_aware(self.end_date_time, "end_date_time", where=where)
        require_optional_aware(self.created_at_utc, "created_at_utc", where=where)
        _settle_observed_at(self, where)
        require_plausible_times(
            where,
            start_date_time=self.start_date_time,
            end_date_time=self.end_date_time,
            created_at_utc=self.created_at_utc,
        )
        require_int32(self.ordinality, "ordinality", where=where)

    @property
    def period(self) -> tuple[datetime, datetime]:
        return (self.start_date_time, self.end_date_time)

    @property
    def key(self) -> ArchetypeKey:
        return (self.user_id, self.name, self.periodicity, self.start_date_time, self.end_date_time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "sahha_profile_id": self.sahha_profile_id,
            "sahha_id": self.sahha_id,
            "name": self.name,
            "value": self.value,
            "data_type": self.data_type,
            "ordinality": self.ordinality,
            "periodicity": self.periodicity,
            "start_date_time": _iso(self.start_date_time),
            "end_date_time": _iso(self.end_date_time),
            "created_at_utc": _iso(self.created_at_utc),
            "version": self.version,
            "observed_at": _iso(self.observed_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Archetype:
        return cls(
            user_id=_user_of(data),
            sahha_profile_id=data.get("sahha_profile_id"),
            sahha_id=data.get("sahha_id"),
            name=data["name"],
            value=data["value"],
            data_type=data.get("data_type"),
            ordinality=data.get("ordinality"),
            periodicity=data["periodicity"],
            start_date_time=_required_dt(data["start_date_time"], "start_date_time"),
            end_date_time=_required_dt(data["end_date_time"], "end_date_time"),
            created_at_utc=_parse_dt(data.get("created_at_utc"), "created_at_utc"),
            observed_at=_parse_dt(data.get("observed_at"), "observed_at"),
            version=data.get("version"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantinedRecord:
    """A record Sahha sent that could not be parsed: kept with its reason and raw text, never logged.

    ``reason`` must not contain health values (it names the field and the problem); ``raw`` does, and is only
    ever written to the archive's quarantine.
    """

    user_id: str
    kind: str
    reason: str
    raw: str
    received_at: datetime

    def __post_init__(self) -> None:
        require_aware(self.received_at, "received_at", where="quarantined record")


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """What an upsert did: rows inserted, rows changed, rows equal to the stored ones and left alone."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.inserted + other.inserted, self.updated + other.updated, self.unchanged + other.unchanged
        )

    @property
    def written(self) -> int:
        return self.inserted + self.updated

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchMetrics:
    """What one fetch cost at the API: HTTP requests (token requests included), those that succeeded, failed
    attempts by kind (sorted ``(kind, count)`` pairs), retries, 429 answers and account tokens fetched.
    Counts only; a fetch served from a cache or by another caller's requests counts none."""

    requests: int = 0
    successes: int = 0
    failures: tuple[tuple[str, int], ...] = ()
    retries: int = 0
    rate_limited: int = 0
    token_refreshes: int = 0

    @property
    def failed_requests(self) -> int:
        return sum(n for _, n in self.failures)

    def __add__(self, other: FetchMetrics) -> FetchMetrics:
        kinds = dict(self.failures)
        for kind, n in other.failures:
            kinds[kind] = kinds.get(kind, 0) + n
        return FetchMetrics(
            requests=self.requests + other.requests,
            successes=self.successes + other.successes,
            failures=tuple(sorted(kinds.items())),
            retries=self.retries + other.retries,
            rate_limited=self.rate_limited + other.rate_limited,
            token_refreshes=self.token_refreshes + other.token_refreshes,
        )


@dataclass(frozen=True, slots=True)
class HealthRecords:
    """Biomarkers, scores and archetypes together: what a fetch returns and what a window of the archive holds.

    ``api`` is what the fetch cost at the source's API, when the source counts it (None otherwise)."""

    biomarkers: tuple[Biomarker, ...] = ()
    scores: tuple[Score, ...] = ()
    archetypes: tuple[Archetype, ...] = ()
    quarantined: tuple[QuarantinedRecord, ...] = field(default=(), compare=False)
    api: FetchMetrics | None = field(default=None, compare=False)

    @property
    def total_items(self) -> int:
        return len(self.biomarkers) + len(self.scores) + len(self.archetypes)
