"""Health records as Sahha serves them: biomarkers, scores (with factors) and Sahha's own archetypes.

Every record is identified by a natural key (``key``); two records with the same key are the
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sahha_sync.domain._checks import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    require_aware,
    require_finite,
    require_int32,
    require_optional_aware,
    require_plausible_times,
    require_text,
)
from sahha_sync.domain._serialised import Serialised
from sahha_sync.domain.errors import InvalidInputError

SCORE_SPAN = timedelta(days=1) - timedelta(milliseconds=1)  # a score describes one day
NUMERIC_VALUE_TYPES = frozenset({"integer", "long", "double", "float", "decimal", "number"})

BiomarkerKey = tuple[str, str, datetime, datetime]
ScoreKey = tuple[str, str, datetime]
ArchetypeKey = tuple[str, str, str, datetime, datetime]


def numeric_value(value: str, value_type: str) -> float | None:
    """The number a biomarker's raw ``value`` stands for, or None when it is not numeric (a datetime)."""
    if value_type.lower() not in NUMERIC_VALUE_TYPES:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _sound(user: object, what: object, moments: Iterable[object], observed: object) -> bool:
    """Whether a record of ``user``, ``what`` (its name or type), ``moments`` (its datetimes, ``created_at_utc``
    among them when given) and ``observed`` (its ``observed_at``) passes every check of ``_check_record`` (one
    pass, no message built). A datetime in a fixed-offset zone (``datetime.timezone``, what ISO-8601 text is read
    into) is aware without asking it for its offset."""
    if not (type(user) is str and type(what) is str and user.strip() and what.strip()):
        return False
    for moment in moments:
        if (
            type(moment) is not datetime
            or (type(moment.tzinfo) is not timezone and moment.utcoffset() is None)
            or not EARLIEST_YEAR <= moment.year <= LATEST_YEAR
        ):
            return False
    if observed is None or (type(observed) is datetime and type(observed.tzinfo) is timezone):
        return True
    return isinstance(observed, datetime) and observed.utcoffset() is not None


def _finite(number: object) -> bool:
    """Whether ``number`` passes ``require_finite`` for certain: None or a finite float (anything else is
    left to ``require_finite`` itself)."""
    return number is None or (type(number) is float and math.isfinite(number))


def _check_record(record: _Record, where: Callable[[], str], name: str, **moments: datetime) -> None:
    """What every record holds: a user, a ``name`` (the field that says what it is), its ``moments`` (the
    datetimes that place it, by field name) timezone-aware, and plausible years; then sets ``observed_at``:
    Sahha's ``created_at_utc`` when it gives one, else what the record was built with. ``where`` names the
    record in an error's message (built only then)."""
    created = record.created_at_utc
    dated = moments.values() if created is None else (*moments.values(), created)
    if not _sound(record.user_id, getattr(record, name), dated, record.observed_at):
        _refuse(record, where(), name, moments)
    if created is not None:
        object.__setattr__(record, "observed_at", created)


def _refuse(record: _Record, where: str, name: str, moments: dict[str, datetime]) -> None:
    """Raise the error of the first check of ``_check_record`` that ``record`` fails."""
    require_text(record.user_id, "user_id", where=where)
    require_text(getattr(record, name), name, where=where)
    for moment_name, moment in moments.items():
        require_aware(moment, moment_name, where=where)
    require_optional_aware(record.created_at_utc, "created_at_utc", where=where)
    require_optional_aware(record.observed_at, "observed_at", where=where)
    require_plausible_times(where, **moments, created_at_utc=record.created_at_utc)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Record(Serialised):
    """What every kind of record carries: the host's user, Sahha's ids, when Sahha created it and how new this
    version is (``observed_at``, see the module's docstring)."""

    user_id: str
    sahha_profile_id: str | None = None
    sahha_id: str | None = None
    created_at_utc: datetime | None = None
    observed_at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Biomarker(_Record):
    """One biomarker reading for one user over ``[start_date_time, end_date_time]``."""

    category: str
    type: str
    value: str
    unit: str
    value_type: str
    start_date_time: datetime
    end_date_time: datetime
    periodicity: str = "daily"
    aggregation: str = "none"

    def __post_init__(self) -> None:
        _check_record(self, self._where, "type", start_date_time=self.start_date_time, end_date_time=self.end_date_time)
        if self.end_date_time < self.start_date_time:
            raise InvalidInputError(f"{self._where()}: end_date_time is before start_date_time", field="end_date_time")
        if not isinstance(self.value, str):
            raise InvalidInputError(f"{self._where()}: value must be the raw string Sahha sent", field="value")
        number = numeric_value(self.value, self.value_type)
        if number is None:
            if self.value_type.lower() in NUMERIC_VALUE_TYPES and self.value.strip():
                raise InvalidInputError(f"{self._where()}: value is not a {self.value_type}", field="value")
        elif not math.isfinite(number):
            raise InvalidInputError(f"{self._where()}: value must be a finite number", field="value")

    def _where(self) -> str:
        return f"biomarker {self.type or '?'} of {self.user_id or '?'}"

    @property
    def period(self) -> tuple[datetime, datetime]:
        return (self.start_date_time, self.end_date_time)

    @property
    def key(self) -> BiomarkerKey:
        return (self.user_id, self.type, self.start_date_time, self.end_date_time)

    @property
    def value_numeric(self) -> float | None:
        return numeric_value(self.value, self.value_type)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreFactor(Serialised):
    """One factor behind a score (e.g. ``sleep_duration`` for the sleep score)."""

    name: str
    value: float | None = None
    goal: float | None = None
    score: float | None = None
    state: str | None = None
    unit: str | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        name = self.name
        if type(name) is str and name.strip() and _finite(self.value) and _finite(self.goal) and _finite(self.score):
            return
        where = f"score factor {name or '?'}"
        require_text(name, "name", where=where)
        for number in ("value", "goal", "score"):
            require_finite(getattr(self, number), number, where=where)


@dataclass(frozen=True, slots=True, kw_only=True)
class Score(_Record):
    """One Sahha score (sleep, activity, readiness, wellbeing, mental_wellbeing) for one day of one user."""

    type: str
    score_date_time: datetime
    score: float | None = None
    state: str | None = None
    factors: tuple[ScoreFactor, ...] = ()
    data_sources: tuple[str, ...] = ()
    version: str | None = None

    def __post_init__(self) -> None:
        _check_record(self, self._where, "type", score_date_time=self.score_date_time)
        score = self.score
        if score is not None and not (type(score) is float and 0.0 <= score <= 1.0):
            require_finite(score, "score", where=self._where())
            if not 0.0 <= score <= 1.0:
                raise InvalidInputError(f"{self._where()}: score must lie in 0.0-1.0", field="score")
        for name in ("factors", "data_sources"):
            if type(items := getattr(self, name)) is not tuple:
                object.__setattr__(self, name, tuple(items))

    def _where(self) -> str:
        return f"score {self.type or '?'} of {self.user_id or '?'}"

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


@dataclass(frozen=True, slots=True, kw_only=True)
class Archetype(_Record):
    """One of Sahha's own archetypes (e.g. ``sleep_pattern``) for a user over a week or a month.

    Not to be confused with the host's archetype (e.g. "Peak Performer") that names an analysis run.
    """

    name: str
    value: str
    periodicity: str
    start_date_time: datetime
    end_date_time: datetime
    data_type: str | None = None
    ordinality: int | None = None
    version: str | None = None

    def __post_init__(self) -> None:
        _check_record(self, self._where, "name", start_date_time=self.start_date_time, end_date_time=self.end_date_time)
        if self.ordinality is not None:
            require_int32(self.ordinality, "ordinality", where=self._where())

    def _where(self) -> str:
        return f"archetype {self.name or '?'} of {self.user_id or '?'}"

    @property
    def period(self) -> tuple[datetime, datetime]:
        return (self.start_date_time, self.end_date_time)

    @property
    def key(self) -> ArchetypeKey:
        return (self.user_id, self.name, self.periodicity, self.start_date_time, self.end_date_time)


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
