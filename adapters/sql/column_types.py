"""Column types that behave the same on Postgres and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import overload

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# JSONB on Postgres (comparable, indexable), JSON text on SQLite.
JsonColumn = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-numbers an ``INTEGER PRIMARY KEY``.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """``timestamptz`` on Postgres; on SQLite a UTC text that sorts and compares like the instant.

    Values are written as UTC and read back as UTC-aware datetimes; naive datetimes are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a naive datetime cannot be stored")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@overload
def with_offset(value: datetime, seconds: int | None) -> datetime: ...
@overload
def with_offset(value: None, seconds: int | None) -> None: ...
def with_offset(value: datetime | None, seconds: int | None) -> datetime | None:
    """``value`` shown in the UTC offset it was written with (UTC when unknown)."""
    if value is None:
        return None
    if seconds is None or seconds == 0:
        return value.astimezone(UTC)
    return value.astimezone(_zone(seconds))


@cache
def _zone(seconds: int) -> timezone:
    """The fixed-offset zone of ``seconds`` east of UTC, made once (a record read carries up to three)."""
    return timezone(timedelta(seconds=seconds))
