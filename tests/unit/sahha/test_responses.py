import json

import httpx
import pytest

from sahha_sync.adapters.sahha.emulator import SahhaEmulator, SyntheticPopulation
from sahha_sync.application.ports.health_data_source import SahhaResponseError
from tests.unit.sahha.conftest import NOW

GOOD_BIOMARKER = {
    "id": "b-1",
    "profileId": "sahha-p",
    "category": "activity",
    "type": "steps",
    "periodicity": "daily",
    "aggregation": "total",
    "value": "8412",
    "unit": "count",
    "valueType": "integer",
    "startDateTime": "2026-11-25T00:00:00.000+13:00",
    "endDateTime": "2026-11-25T23:59:59.999+13:00",
    "createdAtUtc": "2026-11-25T12:00:00Z",
}
GOOD_SCORE = {
    "id": "s-1",
    "type": "sleep",
    "state": "medium",
    "score": 0.62,
    "factors": [
        {"name": "sleep_duration", "value": 400, "goal": 480, "score": 0.83, "state": "high", "unit": "minute"}
    ],
    "dataSources": ["iOS.health_kit"],
    "scoreDateTime": "2026-11-25T00:00:00+13:00",
    "createdAtUtc": "2026-11-25T12:00:00.000Z",
}


def answer(biomarkers, scores=None):
    def handle(request: httpx.Request) -> httpx.Response:
        items = biomarkers if "/biomarker/" in request.url.path else scores
        if items is None:
            return httpx.Response(204)
        if isinstance(items, bytes | str):
            return httpx.Response(200, content=items)
        return httpx.Response(200, json=items)

    return handle


async def test_204_no_content_is_an_empty_result(make_source, stub, week):
    records = await make_source(stub(answer(None)).transport).fetch("u", week)
    assert records.total_items == 0
    assert records.quarantined == ()


async def test_an_unknown_profile_on_the_emulator_is_empty(make_source, week):
    emulator = SahhaEmulator(SyntheticPopulation(seed=0, size=2, any_profile=False), clock=lambda: NOW)
    assert (await make_source(emulator).fetch("nobody-at-all", week, include_archetypes=True)).total_items == 0


async def test_a_body_that_is_not_json_is_a_typed_error_naming_endpoint_and_status(make_source, stub, week):
    fake = stub(answer(b"<html>Bad gateway</html>"))
    with pytest.raises(SahhaResponseError) as caught:
        await make_source(fake.transport).fetch("u", week)
    assert caught.value.endpoint == "/api/v1/profile/biomarker/{externalId}"
    assert caught.value.status_code == 200
    assert "/api/v1/profile/biomarker/{externalId}" in str(caught.value)
    assert "200" in str(caught.value)


async def test_a_non_json_answer_from_the_emulator_is_a_typed_error(make_source, emulator, week):
    emulator.faults.add("non-json")
    with pytest.raises(SahhaResponseError, match="not JSON"):
        await make_source(emulator).fetch("user-0001", week)


async def test_a_json_object_where_an_array_belongs_is_a_typed_error(make_source, stub, week):
    with pytest.raises(SahhaResponseError, match="not an array"):
        await make_source(stub(answer({"data": []})).transport).fetch("u", week)


async def test_records_map_to_the_domain_with_the_hosts_id_and_sahhas_profile_id(make_source, stub, week):
    records = await make_source(stub(answer([GOOD_BIOMARKER], [GOOD_SCORE])).transport).fetch("host-user", week)
    (b,) = records.biomarkers
    assert (b.user_id, b.sahha_profile_id, b.sahha_id) == ("host-user", "sahha-p", "b-1")
    assert (b.type, b.value, b.value_numeric, b.value_type) == ("steps", "8412", 8412.0, "integer")
    assert b.start_date_time.utcoffset().total_seconds() == 13 * 3600
    (s,) = records.scores
    assert (s.user_id, s.score, s.state, s.data_sources) == ("host-user", 0.62, "medium", ("iOS.health_kit",))
    assert s.factors[0].name == "sleep_duration"
    assert s.factors[0].value == 400.0


async def test_missing_optional_fields_extra_fields_and_unknown_types_are_tolerated(make_source, stub, week):
    sparse = {
        "type": "brand_new_type",
        "category": "brand_new_category",
        "value": 12.5,
        "valueType": "double",
        "startDateTime": "2026-11-25T00:00:00Z",
        "endDateTime": "2026-11-25T23:59:59Z",
        "someFutureField": {"nested": True},
    }
    score = {
        "type": "new_score",
        "score": None,
        "state": None,
        "factors": None,
        "scoreDateTime": "2026-11-25T00:00:00Z",
    }
    records = await make_source(stub(answer([sparse], [score])).transport).fetch("u", week)
    (b,) = records.biomarkers
    assert (b.type, b.category, b.value, b.sahha_id, b.created_at_utc) == (
        "brand_new_type",
        "brand_new_category",
        "12.5",
        None,
        None,
    )
    assert records.scores[0].score is None
    assert records.quarantined == ()


async def test_a_malformed_record_is_quarantined_and_the_rest_of_the_batch_goes_on(make_source, stub, week):
    broken = dict(GOOD_BIOMARKER, id="b-2", value="n/a")
    undated = {k: v for k, v in GOOD_BIOMARKER.items() if k != "startDateTime"}
    second = dict(GOOD_BIOMARKER, id="b-3", type="active_hours", value="9")
    fake = stub(answer([GOOD_BIOMARKER, broken, undated, "not an object", second], [GOOD_SCORE]))
    records = await make_source(fake.transport).fetch("u", week)
    assert [b.sahha_id for b in records.biomarkers] == ["b-1", "b-3"]
    assert len(records.scores) == 1
    reasons = [q.reason for q in records.quarantined]
    assert len(reasons) == 3
    assert "value" in reasons[0]
    assert "startDateTime" in reasons[1]
    assert "n/a" not in " ".join(reasons)  # the reason names the field, never the value
    assert json.loads(records.quarantined[0].raw)["value"] == "n/a"
    assert {q.kind for q in records.quarantined} == {"biomarker"}


async def test_a_score_on_a_0_to_100_scale_is_quarantined_not_stored(make_source, stub, week):
    percent = dict(GOOD_SCORE, id="s-2", type="activity", score=72.5)
    quick_start_shape = {"type": "sleep", "value": 72.5, "createdAt": "2026-11-25T00:00:00Z"}
    fake = stub(answer([], [GOOD_SCORE, percent, quick_start_shape]))
    source = make_source(fake.transport)
    records = await source.fetch("u", week)
    assert [s.sahha_id for s in records.scores] == ["s-1"]
    assert len(records.quarantined) == 2
    assert "score" in records.quarantined[0].reason
    assert "72.5" not in records.quarantined[0].reason
    assert source.stats().quarantined == 2


async def test_a_datetime_without_an_offset_is_quarantined(make_source, stub, week):
    naive = dict(GOOD_BIOMARKER, startDateTime="2026-11-25T00:00:00")
    records = await make_source(stub(answer([naive])).transport).fetch("u", week)
    assert records.biomarkers == ()
    assert "startDateTime" in records.quarantined[0].reason


async def test_malformed_records_from_the_emulator_are_quarantined_and_nothing_else_is_lost(
    make_source, population, week
):
    emulator = SahhaEmulator(population, malformed_rate=1.0, clock=lambda: week.end)
    records = await make_source(emulator).fetch("user-0002", week)
    truth = emulator.ground_truth("user-0002", week, include_archetypes=False)
    assert records.biomarkers == truth.biomarkers
    assert records.scores == truth.scores
    assert len(records.quarantined) == 2


async def test_records_outside_the_window_are_dropped_and_duplicates_merged(make_source, stub, week):
    outside = dict(GOOD_BIOMARKER, id="old", startDateTime="2026-01-01T00:00:00Z", endDateTime="2026-01-01T01:00:00Z")
    duplicate = dict(GOOD_BIOMARKER, id="b-1-again", value="8500")
    records = await make_source(stub(answer([GOOD_BIOMARKER, outside, duplicate])).transport).fetch("u", week)
    assert [(b.sahha_id, b.value) for b in records.biomarkers] == [("b-1-again", "8500")]
