"""Domain records ↔ table rows, a ``KindTable`` per record kind (``KIND_TABLES``, by ``RecordKind.name``).

Datetimes are stored as instants plus the UTC offset they were sent with. A record's ``user_id`` (the host's
user) is stored in the seed's column ``profile_id``."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, UniqueConstraint

from sahha_sync.adapters.sql.column_types import with_offset
from sahha_sync.adapters.sql.tables import OBSERVED_COLUMN, RECORD_TABLES, USER_COLUMN
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.health import Archetype, Biomarker, Score
from sahha_sync.domain.record_kinds import ARCHETYPE, BIOMARKER, RECORD_KINDS, SCORE, HealthRecord, RecordKind

R = TypeVar("R", bound=HealthRecord)
OFFSET_SUFFIX = "_utc_offset"  # the column of a datetime's UTC offset: ``<name>_utc_offset`` for ``<name>_date_time``
Row = dict[str, Any]
Values = tuple[Any, ...]


def _where(record: HealthRecord) -> str:
    """The record's kind and natural key, for error messages (a key holds no health value)."""
    key = ", ".join(v.isoformat() if isinstance(v, datetime) else str(v) for v in record.key)
    return f"{type(record).__name__.lower()} ({key})"


# The UTC offset in seconds of each fixed-offset zone met (``datetime.timezone``: the same for every datetime in
# it), so the datetimes of most records are checked and their offsets read by one lookup (``_zone_offset``).
_ZONE_OFFSETS: dict[tzinfo | None, int] = {}


def _offset(value: Any, field: str, record: Any) -> int:
    """The UTC offset of an aware datetime in seconds; refuses anything else naming the record and field."""
    offset = value.utcoffset() if isinstance(value, datetime) else None
    if offset is None:
        raise InvalidInputError(f"{_where(record)}: {field} must be a timezone-aware datetime", field=field)
    seconds = int(offset.total_seconds())
    if type(value.tzinfo) is timezone:
        _ZONE_OFFSETS[value.tzinfo] = seconds
    return seconds


def _zone_offset(value: Any) -> int | None:
    """The UTC offset in seconds of ``value`` when it is a datetime in a fixed-offset zone already met, else None
    (then ``_offset`` checks it and tells what is wrong)."""
    return _ZONE_OFFSETS.get(value.tzinfo) if type(value) is datetime else None


def _check_optional(value: Any, field: str, record: Any) -> None:
    if value is not None:
        _offset(value, field, record)


def _observed(record: HealthRecord) -> datetime:
    """When the record's version was observed; the upsert stamps records that do not say (``observed_by_default``)."""
    moment = record.observed_at
    if moment is None:
        raise InvalidInputError(f"{_where(record)}: observed_at must be set before it is stored", field="observed_at")
    if _zone_offset(moment) is None:
        _offset(moment, "observed_at", record)
    return moment


def _finite(value: float | None, field: str, record: Any) -> float | None:
    if value is not None and not math.isfinite(value):
        raise InvalidInputError(f"{_where(record)}: {field} must be a finite number", field=field)
    return value


def _span_offsets(record: Biomarker | Archetype) -> tuple[int, int]:
    """The UTC offsets of the record's start and end, its ``created_at_utc`` checked to be aware too."""
    start_offset, end_offset = _zone_offset(record.start_date_time), _zone_offset(record.end_date_time)
    created = record.created_at_utc
    if start_offset is None or end_offset is None or (created is not None and _zone_offset(created) is None):
        start_offset = _offset(record.start_date_time, "start_date_time", record)
        end_offset = _offset(record.end_date_time, "end_date_time", record)
        _check_optional(created, "created_at_utc", record)
    return start_offset, end_offset


BIOMARKER_COLUMNS = (
    "profile_id", "sahha_profile_id", "sahha_id", "category", "type", "periodicity", "aggregation", "value",
    "value_numeric", "unit", "value_type", "start_date_time", "end_date_time", "created_at_utc",
    "start_utc_offset", "end_utc_offset", OBSERVED_COLUMN,
)  # fmt: skip


def biomarker_values(b: Biomarker) -> Values:
    """The row of ``b`` in ``BIOMARKER_COLUMNS`` order (the hot path of a bulk upsert: a tuple, no dict)."""
    start_offset, end_offset = _span_offsets(b)
    return (
        b.user_id, b.sahha_profile_id, b.sahha_id, b.category, b.type, b.periodicity, b.aggregation, b.value,
        _finite(b.value_numeric, "value", b), b.unit, b.value_type, b.start_date_time, b.end_date_time,
        b.created_at_utc, start_offset, end_offset, _observed(b),
    )  # fmt: skip


SCORE_COLUMNS = (
    "profile_id", "sahha_profile_id", "sahha_id", "type", "state", "score", "factors", "data_sources",
    "score_date_time", "created_at_utc", "version", "score_utc_offset", OBSERVED_COLUMN,
)  # fmt: skip


def score_values(s: Score) -> Values:
    moment_offset, created = _zone_offset(s.score_date_time), s.created_at_utc
    if moment_offset is None or (created is not None and _zone_offset(created) is None):
        moment_offset = _offset(s.score_date_time, "score_date_time", s)
        _check_optional(created, "created_at_utc", s)
    for factor in s.factors:
        # Finite numbers have a finite sum (unless it overflows): only then is each number looked at.
        if not math.isfinite((factor.value or 0.0) + (factor.goal or 0.0) + (factor.score or 0.0)):
            for name in ("value", "goal", "score"):
                _finite(getattr(factor, name), f"factors.{name}", s)
    return (
        s.user_id, s.sahha_profile_id, s.sahha_id, s.type, s.state, _finite(s.score, "score", s),
        [f.to_dict() for f in s.factors], list(s.data_sources), s.score_date_time, s.created_at_utc, s.version,
        moment_offset, _observed(s),
    )  # fmt: skip


ARCHETYPE_COLUMNS = (
    "profile_id", "sahha_profile_id", "sahha_id", "name", "value", "data_type", "ordinality", "periodicity",
    "start_date_time", "end_date_time", "created_at_utc", "version", "start_utc_offset", "end_utc_offset",
    OBSERVED_COLUMN,
)  # fmt: skip


def archetype_values(a: Archetype) -> Values:
    start_offset, end_offset = _span_offsets(a)
    return (
        a.user_id, a.sahha_profile_id, a.sahha_id, a.name, a.value, a.data_type, a.ordinality, a.periodicity,
        a.start_date_time, a.end_date_time, a.created_at_utc, a.version, start_offset, end_offset, _observed(a),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class KindTable(Generic[R]):
    """How one record kind is stored: its table (named by the kind's plural, natural key as its constraint), its
    columns in the order ``to_values`` gives them, the column a window is read by (``moment``, the record's
    ``period[0]``) and the conversions between records and rows."""

    kind: RecordKind[R]
    columns: tuple[str, ...]
    moment: str
    to_values: Callable[[R], Values]
    blanks: Mapping[str, str] = field(default_factory=dict, compare=False)  # what a NULL or empty column reads as
    table: Table = field(init=False)
    key: tuple[str, ...] = field(init=False)
    offsets: tuple[tuple[str, str], ...] = field(init=False)  # (datetime column, its UTC offset column)

    def __post_init__(self) -> None:
        table = RECORD_TABLES[self.kind.plural]
        (constraint,) = (c for c in table.constraints if isinstance(c, UniqueConstraint) and c.name == self.constraint)
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "key", tuple(c.name for c in constraint.columns))
        offsets = [c.name for c in table.columns if c.name.endswith(OFFSET_SUFFIX)]
        object.__setattr__(self, "offsets", tuple((f"{c.removesuffix(OFFSET_SUFFIX)}_date_time", c) for c in offsets))
        expected = tuple(c.name for c in table.columns if c.name not in {"id", "archived_at", "updated_at"})
        if self.columns != expected:
            raise RuntimeError(f"the {self.name} columns of the adapter and of the table differ")

    @property
    def name(self) -> str:
        return self.kind.plural

    @property
    def updated(self) -> tuple[str, ...]:
        """The columns an update changes: all but the key."""
        return tuple(c for c in self.columns if c not in self.key)

    @property
    def compared(self) -> tuple[str, ...]:
        """The columns of the record's value (all but the key and ``observed_at``): a row equal in these is left
        alone, however newly it was observed."""
        return tuple(c for c in self.updated if c != OBSERVED_COLUMN)

    @property
    def constraint(self) -> str:
        return f"uq_{self.name}_natural_key"

    def from_mapping(self, row: Mapping[Any, Any]) -> R:
        """The record a row of the table holds (its columns by name): the user from the seed's column, each
        datetime with the UTC offset it was sent with, a NULL or empty column named in ``blanks`` as its value
        there."""
        data = dict(row)
        data["user_id"] = data[USER_COLUMN]
        for moment, offset in self.offsets:
            data[moment] = with_offset(data[moment], data[offset])
        for column, blank in self.blanks.items():
            if not data[column]:
                data[column] = blank
        return self.kind.record_type.from_dict(data)

    def to_row(self, record: R) -> Row:
        return dict(zip(self.columns, self.to_values(record), strict=True))

    def check(self, record: object) -> R:
        record_type = self.kind.record_type
        if not isinstance(record, record_type):
            raise InvalidInputError(
                f"expected {record_type.__name__} records, got {type(record).__name__}", field=self.name
            )
        return record


BIOMARKERS = KindTable(
    BIOMARKER,
    BIOMARKER_COLUMNS,
    "start_date_time",
    biomarker_values,
    {"category": "", "periodicity": "daily", "aggregation": "none", "value": "", "unit": "", "value_type": ""},
)
SCORES = KindTable(SCORE, SCORE_COLUMNS, "score_date_time", score_values)
ARCHETYPES = KindTable(ARCHETYPE, ARCHETYPE_COLUMNS, "start_date_time", archetype_values, {"value": ""})
KIND_TABLES: dict[str, KindTable[Any]] = {table.kind.name: table for table in (BIOMARKERS, SCORES, ARCHETYPES)}
if set(KIND_TABLES) != {kind.name for kind in RECORD_KINDS}:
    raise RuntimeError("every record kind needs its KindTable here")


def kind_table(kind: RecordKind[R]) -> KindTable[R]:
    """How records of ``kind`` are stored."""
    table: KindTable[R] = KIND_TABLES[kind.name]
    return table
