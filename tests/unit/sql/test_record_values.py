"""Records to rows (``KindTable.to_values``): offsets read from the zones already met are those of ``utcoffset``, and a
bad record is refused naming its field however many good ones came before; the count of stored keys keeps one
text for every number of rows up to a step."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sahha_sync.adapters.sql import _sqlite_upsert
from sahha_sync.adapters.sql._records import ARCHETYPES, BIOMARKERS, SCORES
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.health import ScoreFactor
from sahha_sync.testing.records import T0, archetype, biomarker, score

SEEN = T0 + timedelta(days=3)
ZONES = [UTC, timezone(timedelta(hours=-3, minutes=-30)), ZoneInfo("Australia/Sydney"), ZoneInfo("America/New_York")]


def forced(record: Any, **fields: Any) -> Any:
    """``record`` with ``fields`` set past its own checks, as only the adapter then sees them."""
    for name, value in fields.items():
        object.__setattr__(record, name, value)
    return record


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_each_offset_is_the_one_its_datetime_has(zone: Any) -> None:
    for _ in range(2):  # the second time from the zones met
        for day in (0, 40, 180):  # summer and winter time where a zone has both
            start = (T0 + timedelta(days=day)).astimezone(zone)
            row = BIOMARKERS.to_row(biomarker("u1", observed_at=SEEN, start_date_time=start, end_date_time=start))
            expected = int(start.utcoffset().total_seconds())  # type: ignore[union-attr]
            assert (row["start_utc_offset"], row["end_utc_offset"]) == (expected, expected)


def test_a_score_and_an_archetype_keep_their_offsets() -> None:
    moment = T0.astimezone(timezone(timedelta(hours=5, minutes=45)))
    assert SCORES.to_row(score("u1", observed_at=SEEN, score_date_time=moment))["score_utc_offset"] == 20_700
    row = ARCHETYPES.to_row(archetype("u1", observed_at=SEEN))
    assert (row["start_utc_offset"], row["end_utc_offset"]) == (36_000, 36_000)


@pytest.mark.parametrize("value", [datetime(2025, 1, 1), date(2025, 1, 1), "2025-01-01T00:00:00+00:00"], ids=repr)
@pytest.mark.parametrize("field", ["start_date_time", "end_date_time", "created_at_utc", "observed_at"])
def test_a_biomarker_without_an_aware_datetime_is_refused_naming_it_after_good_ones(field: str, value: Any) -> None:
    BIOMARKERS.to_values(biomarker("u1", observed_at=SEEN, created_at_utc=SEEN))  # its zones are met first
    bad = forced(biomarker("u1", observed_at=SEEN, created_at_utc=SEEN), **{field: value})
    with pytest.raises(InvalidInputError, match=f"{field} must be a timezone-aware datetime") as caught:
        BIOMARKERS.to_values(bad)
    assert caught.value.field == field


@pytest.mark.parametrize("field", ["score_date_time", "created_at_utc"])
def test_a_score_with_a_naive_datetime_is_refused_naming_it(field: str) -> None:
    SCORES.to_values(score("u1", observed_at=SEEN, created_at_utc=SEEN))
    bad = forced(score("u1", observed_at=SEEN, created_at_utc=SEEN), **{field: datetime(2025, 1, 1)})
    with pytest.raises(InvalidInputError, match=f"score \\(u1, sleep, .*\\): {field} must be a timezone-aware"):
        SCORES.to_values(bad)


@pytest.mark.parametrize("name", ["value", "goal", "score"])
@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_a_factor_that_is_not_finite_is_refused_naming_it(name: str, number: float) -> None:
    factor = forced(ScoreFactor(name="sleep_duration", value=1.0, goal=2.0, score=0.5), **{name: number})
    with pytest.raises(InvalidInputError, match=f"factors.{name} must be a finite number"):
        SCORES.to_values(score("u1", observed_at=SEEN, factors=(factor,)))


def test_finite_factors_whose_sum_overflows_are_stored() -> None:
    factor = ScoreFactor(name="sleep_duration", value=1e308, goal=1e308, score=None)
    row = SCORES.to_row(score("u1", observed_at=SEEN, factors=(factor,)))
    assert row["factors"][0]["value"] == 1e308


@pytest.mark.parametrize("kind", [BIOMARKERS, SCORES, ARCHETYPES], ids=lambda kind: kind.name)
def test_the_count_of_stored_keys_has_one_text_up_to_each_step(kind: Any) -> None:
    width = len(kind.key)
    step = _sqlite_upsert.COUNT_STEP_ROWS
    for rows, padded in ((1, step), (step, step), (step + 1, 2 * step)):
        keys = _sqlite_upsert._padded_keys(["k"] * rows * width, width)
        assert keys == ["k"] * rows * width + [None] * (padded - rows) * width
