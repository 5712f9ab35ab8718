"""The receiver and the ingest job log dotted events with the event type and the outcome — never the body,
the signature or the secret."""

from __future__ import annotations

from structlog.testing import capture_logs

from sahha_sync.adapters.webhook import sign
from tests.unit.webhook.deliveries import (
    SCORE_EVENT,
    SECRET,
    STEPS_VALUE,
    USER,
    Harness,
    biomarker_body,
    encode,
    score_body,
    signed_headers,
)


async def test_logs_carry_event_types_and_outcomes_but_no_body_signature_or_secret(hooks: Harness) -> None:
    raw = encode(biomarker_body())
    with capture_logs() as logs:
        await hooks.deliver(biomarker_body())
        await hooks.deliver(score_body(), SCORE_EVENT)
        await hooks.deliver(biomarker_body(), **{"X-Signature": sign("wrong", raw)})
        await hooks.deliver(biomarker_body(startDateTime="yesterday"))
        garbage = b"not json " + STEPS_VALUE.encode()
        await hooks.client.post("/", content=garbage, headers=signed_headers(garbage))
        other = b'{"dataLogs": []}'
        await hooks.client.post("/", content=other, headers=signed_headers(other, "DataLogReceivedIntegrationEvent"))
        await hooks.drain()

    text = repr(logs)
    for secret_or_data in (SECRET, sign(SECRET, raw), sign("wrong", raw), raw.decode(), STEPS_VALUE, "0.82", USER):
        assert secret_or_data not in text
    assert all("." in entry["event"] and " " not in entry["event"] for entry in logs)
    outcomes = [(e["event"], e.get("event_type"), e.get("reason")) for e in logs if e["event"].startswith("webhook.")]
    assert ("webhook.accepted", "BiomarkerCreatedIntegrationEvent", None) in outcomes
    assert ("webhook.accepted", SCORE_EVENT, None) in outcomes
    assert ("webhook.rejected", "BiomarkerCreatedIntegrationEvent", "bad_signature") in outcomes
    assert ("webhook.quarantined", "BiomarkerCreatedIntegrationEvent", None) in outcomes
    assert ("webhook.rejected", "BiomarkerCreatedIntegrationEvent", "invalid_json") in outcomes
    assert ("webhook.ignored", "DataLogReceivedIntegrationEvent", "data_log_not_stored") in outcomes
    ingested = [e for e in logs if e["event"] == "webhook.record_ingested"]
    assert sorted(e["kind"] for e in ingested) == ["biomarker", "score"]


async def test_an_unauthenticated_event_type_is_not_logged_verbatim(hooks: Harness) -> None:
    with capture_logs() as logs:
        await hooks.client.post("/", content=b"{}", headers={"X-Event-Type": "<script>forged", "X-Signature": "00"})

    (entry,) = [e for e in logs if e["event"] == "webhook.rejected"]
    assert entry["event_type"] == "other"
    assert "forged" not in repr(logs)
