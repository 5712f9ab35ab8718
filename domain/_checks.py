"""Small validation helpers shared by the domain objects (private to the domain)."""

from __future__ import annotations

import math
from datetime import datetime

from sahha_sync.domain.errors import InvalidInputError


def require_aware(value: datetime, field: str, *, where: str = "") -> None:
    """Raise ``InvalidInputError`` (a ``ValueError``) unless ``value`` is a timezone-aware datetime."""
    prefix = f"{where}: " if where else ""
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{prefix}{field} must be a datetime, got {type(value).__name__}", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(f"{prefix}{field} must be timezone-aware, got a naive datetime", field=field)


def require_optional_aware(value: datetime | None, field: str, *, where: str = "") -> None:
    if value is not None:
        require_aware(value, field, where=where)


def require_text(value: str, field: str, *, where: str = "") -> None:
    prefix = f"{where}: " if where else ""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{prefix}{field} must be a non-empty string", field=field)


def require_finite(value: float | None, field: str, *, where: str = "") -> None:
    prefix = f"{where}: " if where else ""
    if value is not None and (isinstance(value, bool) or not math.isfinite(value)):
        raise InvalidInputError(f"{prefix}{field} must be a finite number", field=field)


INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# A reading dated outside these years is a sender's error (year 9999 does not even survive a move to UTC).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


def require_int32(value: int | None, field: str, *, where: str = "") -> None:
    """A whole number that fits the archive's 32-bit integer columns (or None)."""
    prefix = f"{where}: " if where else ""
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not INT32_MIN <= value <= INT32_MAX
    ):
        raise InvalidInputError(f"{prefix}{field} must be a whole number that fits 32 bits", field=field)


def require_plausible_times(where: str, **moments: datetime | None) -> None:
    """Each given datetime (by field name; None passes) lies in the years ``EARLIEST_YEAR``-``LATEST_YEAR``."""
    for field, moment in moments.items():
        if moment is not None and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise InvalidInputError(
                f"{where}: {field} must lie in the years {EARLIEST_YEAR}-{LATEST_YEAR}", field=field
            )
