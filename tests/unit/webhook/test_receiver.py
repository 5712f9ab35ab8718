"""The receiver accepts signed deliveries and archives them through the queue; anything else is refused
with the right status and leaves nothing behind."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import InMemoryJobQueue, InMemoryStores
from sahha_sync.adapters.webhook import MissingWebhookSecretError, sign, sign_base64
from sahha_sync.domain import FetchWindow, RecordsQuarantined
from tests.unit.webhook.deliveries import (
    ARCHETYPE_EVENT,
    BIOMARKER_EVENT,
    NOW,
    SCORE_EVENT,
    SECRET,
    STEPS_VALUE,
    USER,
    Harness,
    archetype_body,
    biomarker_body,
    encode,
    receiver_for,
    score_body,
    signed_headers,
)

NOVEMBER = FetchWindow(datetime.fromisoformat("2026-11-01T00:00:00+00:00"), NOW)


async def test_a_signed_biomarker_is_accepted_at_once_and_archived_by_the_queue(hooks: Harness) -> None:
    response = await hooks.deliver(biomarker_body())

    assert response.status_code == 202
    assert response.json()["status"] == "accepted"
    await hooks.drain()
    archived = await hooks.stores.archive.read_window(USER, NOVEMBER)
    assert len(archived.biomarkers) == 1
    row = archived.biomarkers[0]
    assert (row.user_id, row.type, row.value, row.value_numeric) == (USER, "steps", STEPS_VALUE, 734519.0)
    assert row.start_date_time.utcoffset() == timedelta(hours=13)
    assert row.sahha_id == "0f6e2a52-8c1e-4b5e-9a0e-3f9d2d7c1a01"


@pytest.mark.parametrize(
    ("event_type", "body", "table"),
    [
        (SCORE_EVENT, score_body(), "scores"),
        (ARCHETYPE_EVENT, archetype_body(), "archetypes"),
    ],
)
async def test_signed_scores_and_archetypes_are_archived_in_their_tables(
    hooks: Harness, event_type: str, body: dict[str, Any], table: str
) -> None:
    response = await hooks.deliver(body, event_type)

    assert response.status_code == 202
    await hooks.drain()
    assert hooks.rows()[table] == 1
    assert sum(hooks.rows().values()) == 1


async def test_a_score_keeps_its_factors_and_sources(hooks: Harness) -> None:
    await hooks.deliver(score_body(), SCORE_EVENT)
    await hooks.drain()

    (score,) = (await hooks.stores.archive.read_window(USER, NOVEMBER)).scores
    assert score.score == 0.82
    assert [f.name for f in score.factors] == ["sleep_duration"]
    assert score.data_sources == ("sleep_duration", "sleep_regularity")
    assert score.version == "1"


async def test_the_same_delivery_twice_leaves_one_row(hooks: Harness) -> None:
    first = await hooks.deliver(biomarker_body())
    await hooks.drain()
    second = await hooks.deliver(biomarker_body())
    await hooks.drain()

    assert (first.status_code, second.status_code) == (202, 202)
    assert hooks.rows()["biomarkers"] == 1
    assert len(hooks.stores.events.rows) == 2  # the first's: the day's webhook count, the user's delivery
    assert (await hooks.queue.get_stats()).completed == 2


async def test_a_burst_of_equal_deliveries_queues_one_job(hooks: Harness) -> None:
    await hooks.queue.stop(drain=True)
    queue = InMemoryJobQueue()  # not started: the jobs stay pending
    receiver = receiver_for(queue, hooks.stores.unit_of_work, hooks.clock)
    raw = encode(biomarker_body())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver), base_url="http://h") as client:
        answers = [(await client.post("/", content=raw, headers=signed_headers(raw))).json() for _ in range(3)]

    assert len({a["job_id"] for a in answers}) == 1
    assert [a["duplicate"] for a in answers] == [False, True, True]
    assert (await queue.get_stats()).queued == 1
    assert receiver.stats().duplicates == 2


async def test_a_changed_redelivery_updates_the_row(hooks: Harness) -> None:
    await hooks.deliver(biomarker_body(value="100"))
    await hooks.drain()
    await hooks.deliver(biomarker_body(value="250"))
    await hooks.drain()

    (row,) = (await hooks.stores.archive.read_window(USER, NOVEMBER)).biomarkers
    assert row.value == "250"
    assert hooks.rows()["biomarkers"] == 1


async def test_a_wrong_signature_is_refused_with_401_and_nothing_is_stored(hooks: Harness) -> None:
    response = await hooks.deliver(biomarker_body(), **{"X-Signature": "0" * 64})
    await hooks.drain()

    assert response.status_code == 401
    assert response.json()["reason"] == "bad_signature"
    assert hooks.nothing_stored
    assert (await hooks.queue.get_stats()).completed == 0


async def test_a_missing_signature_is_refused_with_401_and_nothing_is_stored(hooks: Harness) -> None:
    raw = encode(biomarker_body())
    headers = signed_headers(raw)
    del headers["X-Signature"]

    response = await hooks.client.post("/", content=raw, headers=headers)
    await hooks.drain()

    assert response.status_code == 401
    assert response.json()["reason"] == "missing_signature"
    assert hooks.nothing_stored


async def test_a_tampered_body_is_refused_with_401(hooks: Harness) -> None:
    raw = encode(biomarker_body())
    tampered = raw.replace(STEPS_VALUE.encode(), b"999999")

    response = await hooks.client.post("/", content=tampered, headers=signed_headers(raw))
    await hooks.drain()

    assert response.status_code == 401
    assert hooks.nothing_stored


async def test_a_body_signed_with_another_secret_is_refused(hooks: Harness) -> None:
    raw = encode(biomarker_body())

    response = await hooks.client.post("/", content=raw, headers=signed_headers(raw, secret=SECRET + "x"))

    assert response.status_code == 401
    assert hooks.nothing_stored


async def test_the_signature_is_checked_before_the_event_type_or_the_body(hooks: Harness) -> None:
    unknown = await hooks.client.post(
        "/", content=b"{}", headers={"X-Event-Type": "DataLogReceivedIntegrationEvent", "X-Signature": "00"}
    )
    garbage = await hooks.client.post("/", content=b"not json", headers={"X-Event-Type": BIOMARKER_EVENT})

    assert (unknown.status_code, garbage.status_code) == (401, 401)
    assert hooks.receiver.stats().unknown_types == 0


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Signature", lambda raw: sign_base64(SECRET, raw)),
        ("X-Signature", lambda raw: sign(SECRET, raw).upper()),
        ("X-Signature", lambda raw: "sha256=" + sign(SECRET, raw)),
        ("X-Sahha-Signature", lambda raw: sign(SECRET, raw)),
        ("X-Sahha-Signature", lambda raw: sign_base64(SECRET, raw)),
    ],
    ids=["base64", "upper-case-hex", "sha256-prefix", "sahha-header-hex", "sahha-header-base64"],
)
async def test_the_tolerated_signature_variants_are_accepted(hooks: Harness, header: str, value: Any) -> None:
    raw = encode(biomarker_body())
    headers = {"X-Event-Type": BIOMARKER_EVENT, header: value(raw)}

    response = await hooks.client.post("/", content=raw, headers=headers)
    await hooks.drain()

    assert response.status_code == 202
    assert hooks.rows()["biomarkers"] == 1


async def test_a_base64_signature_of_another_body_is_refused(hooks: Harness) -> None:
    raw = encode(biomarker_body())
    other = base64.b64encode(b"\x00" * 32).decode()

    response = await hooks.client.post(
        "/", content=raw, headers={"X-Event-Type": BIOMARKER_EVENT, "X-Signature": other}
    )

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"this is not json", "invalid_json"),
        (b"\xff\xfe\x00garbage", "invalid_json"),
        (b"", "invalid_json"),
        (b"[1, 2, 3]", "not_an_object"),
        (b'"a string"', "not_an_object"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_refused_with_400(
    hooks: Harness, content: bytes, reason: str
) -> None:
    response = await hooks.client.post("/", content=content, headers=signed_headers(content))
    await hooks.drain()

    assert response.status_code == 400
    assert response.json()["reason"] == reason
    assert hooks.nothing_stored


@pytest.mark.parametrize(
    ("event_type", "body", "field"),
    [
        (BIOMARKER_EVENT, biomarker_body(startDateTime="yesterday"), "startDateTime"),
        (BIOMARKER_EVENT, biomarker_body(startDateTime="2026-11-28T00:00:00"), "startDateTime"),
        (BIOMARKER_EVENT, {k: v for k, v in biomarker_body().items() if k != "type"}, "type"),
        (BIOMARKER_EVENT, biomarker_body(value="many"), "value"),
        (BIOMARKER_EVENT, biomarker_body(startDateTime="9999-12-31T00:00:00-05:00"), "start_date_time"),
        (SCORE_EVENT, score_body(score=1.5), "score"),
        (SCORE_EVENT, score_body(score=73.5), "score"),
        (SCORE_EVENT, score_body(scoreDateTime=None), "scoreDateTime"),
        (ARCHETYPE_EVENT, archetype_body(name=None), "name"),
        (ARCHETYPE_EVENT, archetype_body(ordinality=2**31), "ordinality"),
    ],
)
async def test_a_signed_record_that_breaks_a_rule_is_quarantined_with_its_reason_and_acknowledged(
    hooks: Harness, event_type: str, body: dict[str, Any], field: str
) -> None:
    response = await hooks.deliver(body, event_type)
    await hooks.drain()

    assert response.status_code == 200
    assert response.json()["status"] == "quarantined"
    assert field in response.json()["detail"]
    (kept,) = hooks.stores.archive.quarantined
    assert (kept.user_id, kept.reason) == (USER, response.json()["detail"])
    assert json.loads(kept.raw) == body  # the record as signed, for re-processing
    assert hooks.rows() == {"biomarkers": 0, "scores": 0, "archetypes": 0, "quarantined_records": 1}
    (recorded,) = await hooks.stores.events.read_all()
    assert isinstance(recorded.event, RecordsQuarantined)
    assert recorded.stream_id.startswith("run-webhook-2026-11-29-")
    assert recorded.event.count == 1
    assert USER not in json.dumps(recorded.event.reasons)
    assert hooks.receiver.stats().quarantined == 1


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
async def test_methods_other_than_post_are_refused_with_405(hooks: Harness, method: str) -> None:
    raw = encode(biomarker_body())

    response = await hooks.client.request(method, "/", content=raw, headers=signed_headers(raw))
    await hooks.drain()

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert hooks.nothing_stored


async def test_an_unknown_event_type_is_acknowledged_and_counted_but_not_stored(hooks: Harness) -> None:
    raw = b'{"something": "new"}'
    headers = signed_headers(raw, "SomethingNewIntegrationEvent")

    first = await hooks.client.post("/", content=raw, headers=headers)
    second = await hooks.client.post("/", content=raw, headers=headers)
    await hooks.drain()

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == {"status": "ignored", "reason": "unknown_event_type"}
    stats = hooks.receiver.stats()
    assert stats.unknown_types == 2
    assert stats.unknown_by_type == {"SomethingNewIntegrationEvent": 2}
    assert stats.accepted == 0
    assert hooks.nothing_stored


async def test_a_data_log_delivery_is_acknowledged_and_counted_but_not_stored(hooks: Harness) -> None:
    raw = b'{"logType": "sleep", "dataLogs": []}'

    response = await hooks.client.post("/", content=raw, headers=signed_headers(raw, "DataLogReceivedIntegrationEvent"))
    await hooks.drain()

    assert response.status_code == 200
    assert response.json() == {"status": "acknowledged", "reason": "data_log_not_stored"}
    stats = hooks.receiver.stats()
    assert (stats.data_logs, stats.unknown_types, stats.accepted) == (1, 0, 0)
    assert hooks.nothing_stored


async def test_a_delivery_without_an_event_type_is_refused_with_400(hooks: Harness) -> None:
    raw = encode(biomarker_body())
    headers = signed_headers(raw)
    del headers["X-Event-Type"]

    response = await hooks.client.post("/", content=raw, headers=headers)

    assert response.status_code == 400
    assert response.json()["reason"] == "missing_event_type"


async def test_a_header_cannot_name_the_user_of_a_signed_body_that_names_none(hooks: Harness) -> None:
    """The header is not signed: one body without ``externalId`` must not be stored for whoever a header says."""
    responses = [
        await hooks.deliver(biomarker_body(external_id=None), **{"X-External-Id": victim})
        for victim in ("victim-A", "victim-B")
    ]
    await hooks.drain()

    assert [r.status_code for r in responses] == [400, 400]
    assert {r.json()["reason"] for r in responses} == {"missing_external_id"}
    assert hooks.nothing_stored
    assert not hooks.stores.archive.quarantined


async def test_a_header_that_repeats_the_signed_user_is_accepted(hooks: Harness) -> None:
    response = await hooks.deliver(biomarker_body(), **{"X-External-Id": USER})
    await hooks.drain()

    assert response.status_code == 202
    assert hooks.rows()["biomarkers"] == 1


@pytest.mark.parametrize(
    ("body", "header", "reason"),
    [
        (biomarker_body(external_id="user-a"), "user-b", "external_id_mismatch"),
        (biomarker_body(external_id=None), None, "missing_external_id"),
        (biomarker_body(externalId=42), None, "invalid_external_id"),
        (biomarker_body(externalId="   "), None, "invalid_external_id"),
    ],
)
async def test_a_delivery_whose_user_is_unclear_is_refused_with_400(
    hooks: Harness, body: dict[str, Any], header: str | None, reason: str
) -> None:
    raw = encode(body)

    response = await hooks.client.post("/", content=raw, headers=signed_headers(raw, external_id=header))
    await hooks.drain()

    assert response.status_code == 400
    assert response.json()["reason"] == reason
    assert hooks.nothing_stored


async def test_a_delivery_the_queue_cannot_take_gets_503_so_sahha_retries(hooks: Harness) -> None:
    await hooks.queue.stop(drain=True)

    response = await hooks.deliver(biomarker_body())

    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert hooks.receiver.stats().rejected == {"queue_unavailable": 1}
    assert hooks.nothing_stored


async def test_stats_count_every_request_once_by_outcome(hooks: Harness) -> None:
    await hooks.deliver(biomarker_body())
    await hooks.deliver(score_body(), SCORE_EVENT)
    await hooks.deliver(biomarker_body(), **{"X-Signature": "bad"})
    await hooks.client.get("/")
    raw = b"{}"
    await hooks.client.post("/", content=raw, headers=signed_headers(raw, "SomethingNewIntegrationEvent"))

    stats = hooks.receiver.stats()
    assert stats.received == 5
    assert stats.accepted == 2
    assert stats.accepted_by_kind == {"biomarker": 1, "score": 1}
    assert stats.unknown_types == 1
    assert stats.rejected == {"bad_signature": 1, "method_not_allowed": 1}
    assert stats.received == stats.accepted + stats.unknown_types + stats.rejected_total + stats.disconnected
    assert stats.as_dict()["rejected_total"] == 2


@pytest.mark.parametrize("secret", [None, "", "   ", SecretStr("")])
def test_the_receiver_refuses_to_start_without_a_secret(secret: Any) -> None:
    with pytest.raises(MissingWebhookSecretError, match="SAHHA_SYNC_WEBHOOK_SECRET"):
        receiver_for(InMemoryJobQueue(), InMemoryStores().unit_of_work, ManualClock(NOW), secret=secret)


async def test_a_pydantic_secret_works_like_the_plain_string(hooks: Harness) -> None:
    receiver = receiver_for(hooks.queue, hooks.stores.unit_of_work, hooks.clock, secret=SecretStr(SECRET))
    raw = encode(biomarker_body())

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver), base_url="http://h") as client:
        response = await client.post("/", content=raw, headers=signed_headers(raw))

    assert response.status_code == 202
    assert SECRET not in repr(receiver)


@pytest.mark.parametrize("size", [0, -1])
def test_the_body_limit_must_be_positive(size: int) -> None:
    with pytest.raises(ValueError, match="max_body_bytes"):
        receiver_for(InMemoryJobQueue(), InMemoryStores().unit_of_work, ManualClock(NOW), max_body_bytes=size)


async def test_the_answer_is_json_and_never_echoes_the_body(hooks: Harness) -> None:
    response = await hooks.deliver(biomarker_body(startDateTime="yesterday"))

    assert response.headers["content-type"] == "application/json"
    assert STEPS_VALUE not in response.text
    assert json.loads(response.text)["status"] == "quarantined"
