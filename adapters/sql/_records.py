"""Domain records ↔ table rows. Datetimes are stored as instants plus the UTC offset they were sent with."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Table

from sahha_sync.adapters.sql.column_types import offset_seconds, with_offset
from sahha_sync.adapters.sql.tables import archetypes, biomarkers, scores
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.health import Archetype, Biomarker, Score, ScoreFactor

R = TypeVar("R", Biomarker, Score, Archetype)
Row = dict[str, Any]


def _where(record: Biomarker | Score | Archetype) -> str:
    """The record's kind and natural key, for error messages (a key holds no health value)."""
    key = ", ".join(v.isoformat() if isinstance(v, datetime) else str(v) for v in record.key)
    return f"{type(record).__name__.lower()} ({key})"


def _aware(value: datetime | None, field: str, record: Any, *, required: bool = True) -> datetime | None:
    if value is None and not required:
        return None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInputError(f"{_where(record)}: {field} must be a timezone-aware datetime", field=field)
    return value


def _finite(value: float | None, field: str, record: Any) -> float | None:
    if value is not None and not math.isfinite(value):
        raise InvalidInputError(f"{_where(record)}: {field} must be a finite number", field=field)
    return value


def biomarker_row(b: Biomarker) -> Row:
    start = _aware(b.start_date_time, "start_date_time", b)
    end = _aware(b.end_date_time, "end_date_time", b)
    return {
        "profile_id": b.profile_id,
        "sahha_profile_id": b.sahha_profile_id,
        "sahha_id": b.sahha_id,
        "category": b.category,
        "type": b.type,
        "periodicity": b.periodicity,
        "aggregation": b.aggregation,
        "value": b.value,
        "value_numeric": _finite(b.value_numeric, "value", b),
        "unit": b.unit,
        "value_type": b.value_type,
        "start_date_time": start,
        "end_date_time": end,
        "created_at_utc": _aware(b.created_at_utc, "created_at_utc", b, required=False),
        "start_utc_offset": offset_seconds(start),
        "end_utc_offset": offset_seconds(end),
    }


def biomarker_from(row: Any) -> Biomarker:
    return Biomarker(
        profile_id=row.profile_id,
        sahha_profile_id=row.sahha_profile_id,
        sahha_id=row.sahha_id,
        category=row.category or "",
        type=row.type,
        periodicity=row.periodicity or "daily",
        aggregation=row.aggregation or "none",
        value=row.value if row.value is not None else "",
        unit=row.unit or "",
        value_type=row.value_type or "",
        start_date_time=with_offset(row.start_date_time, row.start_utc_offset),
        end_date_time=with_offset(row.end_date_time, row.end_utc_offset),
        created_at_utc=row.created_at_utc,
    )


def score_row(s: Score) -> Row:
    moment = _aware(s.score_date_time, "score_date_time", s)
    for factor in s.factors:
        for name in ("value", "goal", "score"):
            _finite(getattr(factor, name), f"factors.{name}", s)
    return {
        "profile_id": s.profile_id,
        "sahha_profile_id": s.sahha_profile_id,
        "sahha_id": s.sahha_id,
        "type": s.type,
        "state": s.state,
        "score": _finite(s.score, "score", s),
        "factors": [f.to_dict() for f in s.factors],
        "data_sources": list(s.data_sources),
        "score_date_time": moment,
        "created_at_utc": _aware(s.created_at_utc, "created_at_utc", s, required=False),
        "version": s.version,
        "score_utc_offset": offset_seconds(moment),
    }


def score_from(row: Any) -> Score:
    return Score(
        profile_id=row.profile_id,
        sahha_profile_id=row.sahha_profile_id,
        sahha_id=row.sahha_id,
        type=row.type,
        state=row.state,
        score=row.score,
        factors=tuple(ScoreFactor.from_dict(f) for f in row.factors or ()),
        data_sources=tuple(row.data_sources or ()),
        score_date_time=with_offset(row.score_date_time, row.score_utc_offset),
        created_at_utc=row.created_at_utc,
        version=row.version,
    )


def archetype_row(a: Archetype) -> Row:
    start = _aware(a.start_date_time, "start_date_time", a)
    end = _aware(a.end_date_time, "end_date_time", a)
    return {
        "profile_id": a.profile_id,
        "sahha_profile_id": a.sahha_profile_id,
        "sahha_id": a.sahha_id,
        "name": a.name,
        "value": a.value,
        "data_type": a.data_type,
        "ordinality": a.ordinality,
        "periodicity": a.periodicity,
        "start_date_time": start,
        "end_date_time": end,
        "created_at_utc": _aware(a.created_at_utc, "created_at_utc", a, required=False),
        "version": a.version,
        "start_utc_offset": offset_seconds(start),
        "end_utc_offset": offset_seconds(end),
    }


def archetype_from(row: Any) -> Archetype:
    return Archetype(
        profile_id=row.profile_id,
        sahha_profile_id=row.sahha_profile_id,
        sahha_id=row.sahha_id,
        name=row.name,
        value=row.value if row.value is not None else "",
        data_type=row.data_type,
        ordinality=row.ordinality,
        periodicity=row.periodicity,
        start_date_time=with_offset(row.start_date_time, row.start_utc_offset),
        end_date_time=with_offset(row.end_date_time, row.end_utc_offset),
        created_at_utc=row.created_at_utc,
        version=row.version,
    )


@dataclass(frozen=True, slots=True)
class RecordKind(Generic[R]):
    """How one kind of record is stored: its table, natural key, columns and conversions."""

    name: str
    table: Table
    key: tuple[str, ...]
    columns: tuple[str, ...]
    record_type: type[R]
    to_row: Callable[[R], Row]
    from_row: Callable[[Any], R]

    @property
    def compared(self) -> tuple[str, ...]:
        """The columns an update may change (all but the key): a row equal in these is left alone."""
        return tuple(c for c in self.columns if c not in self.key)

    @property
    def constraint(self) -> str:
        return f"uq_{self.table.name}_natural_key"

    def check(self, record: object) -> R:
        if not isinstance(record, self.record_type):
            raise InvalidInputError(
                f"expected {self.record_type.__name__} records, got {type(record).__name__}", field=self.name
            )
        return record


def _data_columns(table: Table) -> tuple[str, ...]:
    """Every column a record fills: all but the surrogate id and the archive's own timestamps."""
    return tuple(c.name for c in table.columns if c.name not in {"id", "archived_at", "updated_at"})


BIOMARKERS = RecordKind(
    "biomarkers",
    biomarkers,
    ("profile_id", "type", "start_date_time", "end_date_time"),
    _data_columns(biomarkers),
    Biomarker,
    biomarker_row,
    biomarker_from,
)
SCORES = RecordKind(
    "scores",
    scores,
    ("profile_id", "type", "score_date_time"),
    _data_columns(scores),
    Score,
    score_row,
    score_from,
)
ARCHETYPES = RecordKind(
    "archetypes",
    archetypes,
    ("profile_id", "name", "periodicity", "start_date_time", "end_date_time"),
    _data_columns(archetypes),
    Archetype,
    archetype_row,
    archetype_from,
)
