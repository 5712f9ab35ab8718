"""Bad arguments get a typed error that names the field, before anything is fetched or recorded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest

from sahha_sync.application.use_cases import FetchHealthData, Watermarks
from sahha_sync.domain import InvalidInputError, SahhaSyncError
from tests.unit.application.conftest import ARCHETYPE, BEHAVIOR, USER, Harness, RecordingQueue

NAIVE = datetime(2026, 3, 9, 12, 0)  # no tzinfo

Call = Callable[[Harness], Awaitable[object]]


def tracker(h: Harness) -> Watermarks:
    return Watermarks(unit_of_work=h.stores.unit_of_work, clock=h.clock)


def fetcher(h: Harness) -> FetchHealthData:
    return FetchHealthData(source=h.source, clock=h.clock)


CASES: list[tuple[str, Call, str]] = [
    ("empty user id", lambda h: h.run.run_analysis("", ARCHETYPE, BEHAVIOR), "user_id"),
    ("blank user id", lambda h: h.run.run_analysis("   ", ARCHETYPE, BEHAVIOR), "user_id"),
    ("empty archetype", lambda h: h.run.run_analysis(USER, "", BEHAVIOR), "archetype"),
    ("unknown analysis type", lambda h: h.run.run_analysis(USER, ARCHETYPE, "mood_analysis"), "analysis_type"),
    ("analysis type not a string", lambda h: h.run.run_analysis(USER, ARCHETYPE, None), "analysis_type"),  # type: ignore[arg-type]
    (
        "tracker: empty user id",
        lambda h: tracker(h).get_last_analysis_date_with_fallback("", ARCHETYPE, BEHAVIOR),
        "user_id",
    ),
    (
        "tracker: unknown type",
        lambda h: tracker(h).get_last_analysis_date_with_fallback(USER, ARCHETYPE, "x"),
        "analysis_type",
    ),
    (
        "tracker: naive analysis time",
        lambda h: tracker(h).update_last_analysis_date(USER, ARCHETYPE, BEHAVIOR, analysis_timestamp=NAIVE),
        "analysis_timestamp",
    ),
    ("fetch: empty user id", lambda h: fetcher(h).fetch_health_data(""), "user_id"),
    ("fetch: naive watermark", lambda h: fetcher(h).fetch_health_data(USER, since_timestamp=NAIVE), "since_timestamp"),
    ("fetch: no days", lambda h: fetcher(h).fetch_health_data(USER, days=0), "days"),
]


@pytest.mark.parametrize(("call", "field"), [(c, f) for _, c, f in CASES], ids=[name for name, _, _ in CASES])
async def test_a_bad_argument_raises_an_invalid_input_error_naming_the_field(call: Call, field: str) -> None:
    harness = Harness(queue=RecordingQueue())

    with pytest.raises(InvalidInputError) as raised:
        await call(harness)

    assert raised.value.field == field
    message = str(raised.value)
    assert field in message or field.replace("_", " ") in message
    assert isinstance(raised.value, SahhaSyncError)
    assert isinstance(raised.value, ValueError)
    assert harness.source.calls == []
    assert await harness.stores.tracking.list_all() == []


async def test_the_short_analysis_type_names_are_accepted() -> None:
    harness = Harness(queue=RecordingQueue())
    harness.clock.advance(timedelta(0))

    outcome = await harness.run.run_analysis(USER, ARCHETYPE, "circadian")

    assert (await harness.record(outcome.run_id)).analysis_type == "circadian_analysis"
