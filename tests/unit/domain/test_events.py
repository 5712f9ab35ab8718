"""Every event survives the trip through JSON; old versions are upcast on read."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import given

from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.event_codec import EventCodec
from sahha_sync.domain.events import (
    EVENT_TYPES,
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisRequested,
    ArchivalFailed,
    ArchivalRequested,
    DomainEvent,
    HealthDataFetched,
    HealthDataFetchFailed,
    HealthDataServed,
    RecordsArchived,
    RecordsQuarantined,
    SyncCompleted,
    UserDataDelivered,
    UserForgotten,
    decode_event,
    encode_event,
    stream_id_for,
)
from sahha_sync.testing.strategies import aware_datetimes

T = datetime(2025, 10, 1, 9, 30, tzinfo=UTC)


def examples(at: datetime = T) -> list[DomainEvent]:
    """One event of every type, with every optional field set to something other than its default."""
    run = "3f2a9c"
    return [
        AnalysisRequested(
            run_id=run, occurred_at=at, user_id="user/1?#é", archetype="Peak Performer", analysis_type="b"
        ),
        HealthDataFetched(
            run_id=run,
            occurred_at=at,
            window_start=at - timedelta(days=7),
            window_end=at,
            biomarker_count=10,
            score_count=5,
            archetype_count=1,
            is_incremental=True,
            watermark=at - timedelta(hours=8),
            source="archive",
            with_archetypes=True,
        ),
        HealthDataServed(run_id=run, occurred_at=at, fresh_as_of=at - timedelta(minutes=20), shared_with="7b1e"),
        UserDataDelivered(run_id="delivery-1", occurred_at=at, user_id="user/1?#é", delivered_at=at),
        HealthDataFetchFailed(
            run_id=run,
            occurred_at=at,
            window_start=at - timedelta(days=2),
            window_end=at,
            error_kind="SahhaUnavailableError",
            error="503 from /biomarkers",
            fallback_used=True,
        ),
        RecordsQuarantined(run_id=run, occurred_at=at, count=2, reasons=("value: not a number", "score: missing")),
        AnalysisCompleted(
            run_id=run,
            occurred_at=at,
            analyst="openai",
            model="gpt-4o",
            prompt_version="behavior-v2",
            input_hash="ab12",
            prompt_tokens=900,
            completion_tokens=300,
            reused=True,
        ),
        AnalysisFailed(run_id=run, occurred_at=at, analyst="openai", error_kind="AnalystRefusedError", error="refused"),
        ArchivalRequested(
            run_id=run, occurred_at=at, job_id="job-1", biomarker_count=10, score_count=5, archetype_count=1
        ),
        RecordsArchived(run_id=run, occurred_at=at, kind="biomarker", inserted=7, updated=2, unchanged=1),
        ArchivalFailed(
            run_id=run,
            occurred_at=at,
            attempt=2,
            error_kind="ArchiveUnavailableError",
            error="connection lost",
            will_retry=True,
            part="scores",
        ),
        SyncCompleted(run_id=run, occurred_at=at),
        UserForgotten(run_id=run, occurred_at=at),
    ]


def _through_json(event: DomainEvent) -> DomainEvent:
    event_type, version, payload = encode_event(event)
    return decode_event(event_type, version, json.loads(json.dumps(payload)))


def test_the_examples_cover_every_event_type() -> None:
    library_events = {cls for cls in EVENT_TYPES.values() if cls.__module__ == DomainEvent.__module__}
    assert {type(e) for e in examples()} == library_events


@pytest.mark.parametrize("event", examples(), ids=lambda e: e.TYPE)
def test_an_event_survives_the_trip_through_json(event: DomainEvent) -> None:
    assert _through_json(event) == event


@pytest.mark.parametrize("event", examples(), ids=lambda e: e.TYPE)
def test_an_event_has_a_dotted_type_and_a_version(event: DomainEvent) -> None:
    event_type, version, _ = encode_event(event)
    assert "." in event_type
    assert version >= 1


@given(at=aware_datetimes)
def test_times_keep_their_offset_through_json(at: datetime) -> None:
    for event in examples(at):
        decoded = _through_json(event)
        assert decoded == event
        assert decoded.occurred_at.utcoffset() == at.utcoffset()


def test_an_events_stream_is_its_runs() -> None:
    (event, *_) = examples()
    assert event.stream_id == stream_id_for("3f2a9c") == "run-3f2a9c"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Renamed(DomainEvent):
    """A test event at version 3: version 1 called ``full_name`` what version 2 calls ``name``; version 3 added
    ``title``. It was stored as ``test.named`` before, when it only ever had one kind."""

    TYPE: ClassVar[str] = "test.renamed"
    VERSION: ClassVar[int] = 3
    FORMER_TYPES: ClassVar[dict[str, dict[str, Any]]] = {"test.named": {"title": "Dr"}}
    name: str
    title: str

    @staticmethod
    def upcast_v1_v2(payload: dict[str, Any]) -> dict[str, Any]:
        data = dict(payload)
        data["name"] = data.pop("full_name")
        return data

    @staticmethod
    def upcast_v2_v3(payload: dict[str, Any]) -> dict[str, Any]:
        return {"title": "", **payload}


CODEC = EventCodec([*EVENT_TYPES.values(), _Renamed])


def test_an_old_version_is_upcast_on_read_by_the_methods_of_its_class() -> None:
    old = {"run_id": "r", "occurred_at": T.isoformat(), "full_name": "Ada"}
    assert CODEC.decode("test.renamed", 1, old) == _Renamed(run_id="r", occurred_at=T, name="Ada", title="")
    assert CODEC.decode("test.renamed", 2, {**old, "name": "Ada"}).name == "Ada"


def test_a_former_type_is_read_as_the_event_that_replaced_it_with_the_fields_it_implied() -> None:
    old = {"run_id": "r", "occurred_at": T.isoformat(), "full_name": "Ada"}
    assert CODEC.decode("test.named", 1, old) == _Renamed(run_id="r", occurred_at=T, name="Ada", title="Dr")


def test_a_version_without_an_upcaster_is_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        CODEC.decode("test.renamed", 0, {"run_id": "r", "occurred_at": T.isoformat()})
    assert caught.value.field == "schema_version"


def test_an_event_class_outside_the_codec_is_unknown_to_it() -> None:
    with pytest.raises(InvalidInputError) as caught:
        decode_event("test.renamed", 3, {"run_id": "r", "occurred_at": T.isoformat(), "name": "A", "title": ""})
    assert caught.value.field == "type"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _AlsoNamed(DomainEvent):
    TYPE: ClassVar[str] = "test.also_named"
    FORMER_TYPES: ClassVar[dict[str, dict[str, Any]]] = {"test.named": {}}


def test_two_classes_stored_under_one_type_are_refused() -> None:
    with pytest.raises(ValueError, match=r"two event classes are stored as 'test\.named'"):
        EventCodec([_Renamed, _AlsoNamed])


def test_a_version_newer_than_the_library_is_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        decode_event("sync.completed", 2, {"run_id": "r", "occurred_at": T.isoformat()})
    assert caught.value.field == "schema_version"


def test_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        decode_event("no.such_event", 1, {})
    assert caught.value.field == "type"


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"run_id": ""}, "run_id"), ({"run_id": "   "}, "run_id"), ({"occurred_at": datetime(2025, 1, 1)}, "occurred_at")],
)
def test_a_malformed_event_is_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"run_id": "r", "occurred_at": T, **changes}
    with pytest.raises(InvalidInputError) as caught:
        SyncCompleted(**arguments)
    assert caught.value.field == field


API_FIELDS = ("api_requests", "api_successes", "api_failures", "api_retries", "api_rate_limited", "api_token_refreshes")


@pytest.mark.parametrize(
    "event",
    [
        HealthDataFetched(
            run_id="r1",
            occurred_at=T,
            window_start=T - timedelta(days=7),
            window_end=T,
            biomarker_count=4,
            score_count=2,
            is_incremental=False,
            watermark=None,
            api_requests=5,
            api_retries=2,
        ),
        HealthDataFetchFailed(
            run_id="r1",
            occurred_at=T,
            window_start=T - timedelta(days=7),
            window_end=T,
            error_kind="SahhaUnavailableError",
            error="Sahha is unavailable",
            fallback_used=True,
            api_requests=4,
            api_failures=4,
        ),
    ],
)
def test_a_fetch_payload_written_before_the_api_figures_still_decodes_with_zeros(event: DomainEvent) -> None:
    event_type, version, payload = encode_event(event)
    old = {k: v for k, v in json.loads(json.dumps(payload)).items() if k not in API_FIELDS}
    decoded = decode_event(event_type, version, old)
    assert all(getattr(decoded, name) == 0 for name in API_FIELDS)
    assert decode_event(event_type, version, payload) == event
