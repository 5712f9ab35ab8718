"""``IngestWebhookRecords``: one pushed record upserted through the archive, with a metadata-only event per
delivery day when it wrote something."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import (
    InMemoryEventStore,
    InMemoryHealthDataSource,
    InMemoryJobQueue,
    InMemoryStores,
    InMemoryWebhookInbox,
)
from sahha_sync.adapters.sahha.dto import parse_records
from sahha_sync.application.ports import ArchiveUnavailableError, ConcurrencyError, JobContext, RecordedEvent
from sahha_sync.application.ports.job_queue import payload_user
from sahha_sync.application.use_cases import RebuildProjections
from sahha_sync.application.use_cases.ingest_webhook import (
    APPEND_ATTEMPTS,
    STREAM_SHARDS,
    IngestWebhookRecords,
    WebhookDelivery,
)
from sahha_sync.application.use_cases.webhook_delivery import WebhookJob
from sahha_sync.domain import (
    Archetype,
    Biomarker,
    DomainEvent,
    FetchWindow,
    HealthRecords,
    InvalidInputError,
    RecordsArchived,
    Score,
    UpsertCounts,
    stream_id_for,
)
from tests.unit.webhook.deliveries import NOW, STEPS_VALUE, USER, archetype_body, biomarker_body, score_body

CONTEXT = JobContext("job-1", IngestWebhookRecords.JOB_TYPE, attempt=1, max_attempts=3)


def record_of(kind: str, body: dict[str, object]) -> Biomarker | Score | Archetype:
    good, bad = parse_records(kind, [body], USER, lambda: NOW)
    assert not bad
    return good[0]  # type: ignore[no-any-return]


def steps(value: str = STEPS_VALUE) -> Biomarker:
    record = record_of("biomarker", biomarker_body(value=value))
    assert isinstance(record, Biomarker)
    return record


async def webhook_events(stores: InMemoryStores) -> list[RecordedEvent]:
    """The events of the days' webhook streams (a delivery also moves its user's freshness, in another stream)."""
    return [r for r in await stores.events.read_all() if r.stream_id.startswith("run-webhook-")]


@pytest.fixture
def stores() -> InMemoryStores:
    return InMemoryStores()


@pytest.fixture
def ingest(stores: InMemoryStores) -> IngestWebhookRecords:
    return IngestWebhookRecords(unit_of_work=stores.unit_of_work, clock=ManualClock(NOW + timedelta(seconds=5)))


@pytest.mark.parametrize(
    ("kind", "body"), [("biomarker", biomarker_body()), ("score", score_body()), ("archetype", archetype_body())]
)
def test_a_delivery_survives_its_trip_through_json(kind: str, body: dict[str, object]) -> None:
    delivery = WebhookDelivery(record=record_of(kind, body), received_at=NOW)

    again = WebhookDelivery.from_payload(json.loads(json.dumps(delivery.to_payload())))

    assert again == delivery
    assert again.kind == kind
    assert again.record.to_dict() == delivery.record.to_dict()


def test_a_delivery_names_its_user_under_the_one_key_queues_purge_by() -> None:
    payload = WebhookDelivery(record=steps(), received_at=NOW).to_payload()

    assert payload_user(payload) == USER == payload["sahha_data"]["user_id"]


async def test_a_delivery_queued_by_the_previous_version_is_ingested(
    stores: InMemoryStores, ingest: IngestWebhookRecords
) -> None:
    record = steps().to_dict()
    record["profile_id"] = record.pop("user_id")
    old = {"kind": "biomarker", "record": record, "received_at": NOW.isoformat()}

    assert await ingest.ingest(old, CONTEXT) == UpsertCounts(inserted=1)
    assert (await stores.archive.read_window(USER, FetchWindow(NOW - timedelta(days=30), NOW))).biomarkers == (steps(),)


def test_equal_deliveries_share_a_dedup_key_and_different_ones_do_not() -> None:
    a = WebhookDelivery(record=steps(), received_at=NOW)
    later = WebhookDelivery(record=steps(), received_at=NOW + timedelta(minutes=3))
    changed = WebhookDelivery(record=steps("12"), received_at=NOW)

    assert a.dedup_key == later.dedup_key
    assert a.dedup_key != changed.dedup_key
    assert STEPS_VALUE not in a.dedup_key


async def test_a_delivery_is_upserted_and_recorded_in_one_of_the_days_webhook_streams(
    stores: InMemoryStores, ingest: IngestWebhookRecords
) -> None:
    delivery = WebhookDelivery(record=steps(), received_at=NOW)

    counts = await ingest.ingest(delivery.to_payload(), CONTEXT)

    assert counts == UpsertCounts(inserted=1)
    assert stores.archive.counts()["biomarkers"] == 1
    (recorded,) = await webhook_events(stores)
    assert recorded.stream_id == stream_id_for(delivery.run_id)
    assert re.fullmatch(r"run-webhook-2026-11-29-(0\d|1[0-5])", recorded.stream_id)
    assert isinstance(recorded.event, RecordsArchived)
    assert recorded.event.kind == "biomarker"
    assert (recorded.event.inserted, recorded.event.updated) == (1, 0)


def test_deliveries_spread_over_the_days_shards_and_a_record_keeps_its_shard() -> None:
    runs = {WebhookDelivery(record=steps(str(n)), received_at=NOW).run_id for n in range(200)}
    again = {WebhookDelivery(record=steps(str(n)), received_at=NOW).run_id for n in range(200)}

    assert runs == again
    assert runs == {f"webhook-2026-11-29-{shard:02d}" for shard in range(STREAM_SHARDS)}


async def test_the_webhook_events_hold_no_user_id_and_no_value(
    stores: InMemoryStores, ingest: IngestWebhookRecords
) -> None:
    await ingest.ingest(WebhookDelivery(record=steps(), received_at=NOW).to_payload(), CONTEXT)

    stored = stores.events.rows[0]
    assert USER not in stored.payload + stored.stream_id
    assert STEPS_VALUE not in stored.payload


async def test_a_redelivery_changes_no_row_and_records_no_event(
    stores: InMemoryStores, ingest: IngestWebhookRecords
) -> None:
    payload = WebhookDelivery(record=steps(), received_at=NOW).to_payload()

    await ingest.ingest(payload, CONTEXT)
    again = await ingest.ingest(payload, CONTEXT)

    assert again == UpsertCounts(unchanged=1)
    assert stores.archive.counts()["biomarkers"] == 1
    assert len(stores.events.rows) == 2  # the first delivery's: the day's webhook count and the user's delivery


async def test_a_changed_value_updates_the_row_and_records_the_update(
    stores: InMemoryStores, ingest: IngestWebhookRecords
) -> None:
    await ingest.ingest(WebhookDelivery(record=steps("100"), received_at=NOW).to_payload(), CONTEXT)
    counts = await ingest.ingest(WebhookDelivery(record=steps("250"), received_at=NOW).to_payload(), CONTEXT)

    assert counts == UpsertCounts(updated=1)
    events = [r.event for r in await stores.events.read_all()]
    assert [(e.inserted, e.updated) for e in events if isinstance(e, RecordsArchived) and e.kind == "biomarker"] == [
        (1, 0),
        (0, 1),
    ]


async def test_the_stream_is_the_utc_day_the_delivery_arrived_not_the_day_it_was_ingested(
    stores: InMemoryStores, ingest: IngestWebhookRecords
) -> None:
    late_evening = datetime(2026, 11, 28, 23, 59, 59, tzinfo=UTC)

    await ingest.ingest(WebhookDelivery(record=steps(), received_at=late_evening).to_payload(), CONTEXT)

    (recorded,) = await webhook_events(stores)
    assert recorded.stream_id.startswith("run-webhook-2026-11-28-")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ("not a mapping", "payload"),
        ({"kind": "heart", "sahha_data": {}, "received_at": NOW.isoformat()}, "kind"),
        ({"kind": "biomarker", "received_at": NOW.isoformat()}, "sahha_data"),
        ({"kind": "biomarker", "sahha_data": {"type": "steps"}, "received_at": NOW.isoformat()}, "sahha_data"),
        ({"kind": "score", "sahha_data": {**steps().to_dict()}, "received_at": NOW.isoformat()}, "sahha_data"),
        ({"kind": "biomarker", "record": {"type": "steps"}, "received_at": NOW.isoformat()}, "record"),
        ({"kind": "biomarker", "sahha_data": steps().to_dict(), "received_at": "2026-11-29T03:00:00"}, "received_at"),
        ({"kind": "biomarker", "sahha_data": steps().to_dict()}, "received_at"),
        ({"kind": "biomarker", "user_id": USER, "key": {"type": "steps"}, "received_at": NOW.isoformat()}, "key"),
        (
            {
                "kind": "biomarker",
                "user_id": "someone-else",
                "sahha_data": steps().to_dict(),
                "received_at": NOW.isoformat(),
            },
            "user_id",
        ),
    ],
)
async def test_a_malformed_payload_is_refused_naming_the_field_and_nothing_is_stored(
    stores: InMemoryStores, ingest: IngestWebhookRecords, payload: object, field: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await ingest.ingest(payload, CONTEXT)  # type: ignore[arg-type]

    assert caught.value.field == field
    assert sum(stores.archive.counts().values()) == 0
    assert not stores.events.rows


async def test_a_record_the_domain_refuses_is_an_invalid_input() -> None:
    payload = WebhookDelivery(record=steps(), received_at=NOW).to_payload()
    payload["sahha_data"]["end_date_time"] = "2026-11-20T00:00:00+13:00"  # before the start

    with pytest.raises(InvalidInputError):
        WebhookDelivery.from_payload(payload)


async def test_an_archive_outage_is_retried_by_the_queue_and_the_record_arrives(stores: InMemoryStores) -> None:
    queue = InMemoryJobQueue(backoff_base=0.001)
    queue.register(
        IngestWebhookRecords.JOB_TYPE, IngestWebhookRecords(unit_of_work=stores.unit_of_work, clock=ManualClock(NOW))
    )
    stores.archive.faults.fail_with(ArchiveUnavailableError("database away"), times=2, operations={"upsert_biomarkers"})
    await queue.start()

    await queue.submit_job(IngestWebhookRecords.JOB_TYPE, WebhookDelivery(record=steps(), received_at=NOW).to_payload())
    assert await queue.wait_idle(5)
    await queue.stop()

    stats = await queue.get_stats()
    assert (stats.completed, stats.retries, stats.dead) == (1, 2, 0)
    assert stores.archive.counts()["biomarkers"] == 1
    assert len(await webhook_events(stores)) == 1


async def test_a_malformed_job_is_dead_at_once_not_retried(stores: InMemoryStores) -> None:
    queue = InMemoryJobQueue(backoff_base=0.001)
    queue.register(
        IngestWebhookRecords.JOB_TYPE, IngestWebhookRecords(unit_of_work=stores.unit_of_work, clock=ManualClock(NOW))
    )
    await queue.start()

    await queue.submit_job(IngestWebhookRecords.JOB_TYPE, {"kind": "biomarker"})
    assert await queue.wait_idle(5)
    await queue.stop()

    stats = await queue.get_stats()
    assert (stats.dead, stats.retries) == (1, 0)


async def test_rebuilding_projections_after_webhooks_makes_no_tracking_row(
    stores: InMemoryStores, ingest: IngestWebhookRecords
) -> None:
    await ingest.ingest(WebhookDelivery(record=steps(), received_at=NOW).to_payload(), CONTEXT)

    rebuilt = await RebuildProjections(unit_of_work=stores.unit_of_work).rebuild()

    assert rebuilt == 0
    assert await stores.tracking.list_all() == []


class ContestedEventStore(InMemoryEventStore):
    """An event store where a rival writer wins the next ``conflicts`` appends."""

    def __init__(self, conflicts: int) -> None:
        super().__init__()
        self.conflicts = conflicts

    async def append(
        self, stream_id: str, events: Sequence[DomainEvent], *, expected_version: int
    ) -> list[RecordedEvent]:
        if self.conflicts > 0:
            self.conflicts -= 1
            raise ConcurrencyError(stream_id, expected_version, expected_version + 1)
        return await super().append(stream_id, events, expected_version=expected_version)


async def test_an_append_that_meets_another_writer_is_retried_with_the_upsert() -> None:
    stores = InMemoryStores(events=ContestedEventStore(conflicts=APPEND_ATTEMPTS - 1))
    ingest = IngestWebhookRecords(unit_of_work=stores.unit_of_work, clock=ManualClock(NOW))

    counts = await ingest.ingest(WebhookDelivery(record=steps(), received_at=NOW).to_payload(), CONTEXT)

    assert counts == UpsertCounts(inserted=1)
    assert stores.archive.counts()["biomarkers"] == 1
    assert len(await webhook_events(stores)) == 1


async def test_an_append_that_keeps_losing_leaves_nothing_and_is_retryable_by_the_queue() -> None:
    stores = InMemoryStores(events=ContestedEventStore(conflicts=APPEND_ATTEMPTS))
    ingest = IngestWebhookRecords(unit_of_work=stores.unit_of_work, clock=ManualClock(NOW))

    with pytest.raises(ConcurrencyError) as caught:
        await ingest.ingest(WebhookDelivery(record=steps(), received_at=NOW).to_payload(), CONTEXT)

    assert caught.value.retryable
    assert stores.archive.counts()["biomarkers"] == 0
    assert not stores.events.rows


async def test_parallel_workers_ingest_a_burst_without_losing_a_record() -> None:
    stores = InMemoryStores()
    queue = InMemoryJobQueue(concurrency=8, backoff_base=0.001)
    queue.register(
        IngestWebhookRecords.JOB_TYPE, IngestWebhookRecords(unit_of_work=stores.unit_of_work, clock=ManualClock(NOW))
    )
    await queue.start()
    for day in range(1, 29):
        body = biomarker_body(
            startDateTime=f"2026-11-{day:02d}T00:00:00+13:00", endDateTime=f"2026-11-{day:02d}T23:59:59+13:00"
        )
        delivery = WebhookDelivery(record=record_of("biomarker", body), received_at=NOW)
        await queue.submit_job(IngestWebhookRecords.JOB_TYPE, delivery.to_payload())
    assert await queue.wait_idle(10)
    await queue.stop()

    assert stores.archive.counts()["biomarkers"] == 28
    assert (
        sum(
            e.event.inserted
            for e in await stores.events.read_all()
            if isinstance(e.event, RecordsArchived) and e.event.kind == "biomarker"
        )
        == 28
    )
    assert (await queue.get_stats()).dead == 0


def test_the_older_payload_form_is_still_read() -> None:
    record = steps()

    delivery = WebhookDelivery.from_payload(
        {"kind": "biomarker", "record": record.to_dict(), "received_at": NOW.isoformat()}
    )

    assert delivery == WebhookDelivery(record=record, received_at=NOW)


def test_a_payload_without_its_record_names_the_record_and_holds_no_value() -> None:
    payload = WebhookDelivery(record=steps(), received_at=NOW).to_payload()
    del payload["sahha_data"]  # what a dead letter keeps

    job = WebhookJob.from_payload(payload)

    assert STEPS_VALUE not in json.dumps(payload)
    assert (job.key.kind, job.key.user_id, job.key.type, job.delivery) == ("biomarker", USER, "steps", None)
    assert job.key.matches(steps("1"))


async def test_a_job_that_names_an_inbox_entry_archives_it_and_removes_the_entry(stores: InMemoryStores) -> None:
    inbox = InMemoryWebhookInbox()
    delivery = WebhookDelivery(record=steps(), received_at=NOW)
    held = await inbox.put(delivery.to_payload(), dedup_key=delivery.dedup_key, user_id=USER)
    ingest = IngestWebhookRecords(unit_of_work=stores.unit_of_work, clock=ManualClock(NOW), inbox=inbox)

    first = await ingest.ingest(delivery.inbox_payload(held.entry_id), CONTEXT)
    again = await ingest.ingest(delivery.inbox_payload(held.entry_id), CONTEXT)

    assert (first, again) == (UpsertCounts(inserted=1), UpsertCounts())
    assert stores.archive.counts()["biomarkers"] == 1
    assert len(inbox) == 0
    assert STEPS_VALUE not in json.dumps(delivery.inbox_payload(held.entry_id))


async def test_an_entry_stays_in_the_inbox_when_its_archival_fails(stores: InMemoryStores) -> None:
    inbox = InMemoryWebhookInbox()
    delivery = WebhookDelivery(record=steps(), received_at=NOW)
    held = await inbox.put(delivery.to_payload(), dedup_key=delivery.dedup_key, user_id=USER)
    ingest = IngestWebhookRecords(unit_of_work=stores.unit_of_work, clock=ManualClock(NOW), inbox=inbox)
    stores.archive.faults.fail_with(ArchiveUnavailableError("database away"), times=1, operations={"upsert_biomarkers"})

    with pytest.raises(ArchiveUnavailableError):
        await ingest.ingest(delivery.inbox_payload(held.entry_id), CONTEXT)

    assert await inbox.get(held.entry_id) is not None


async def test_a_retried_dead_letter_fetches_its_record_again_from_the_source(stores: InMemoryStores) -> None:
    served = steps("4242")
    source = InMemoryHealthDataSource(HealthRecords(biomarkers=(served,)))
    ingest = IngestWebhookRecords(unit_of_work=stores.unit_of_work, clock=ManualClock(NOW), source=source)
    payload = WebhookDelivery(record=steps(), received_at=NOW).to_payload()
    del payload["sahha_data"]

    counts = await ingest.ingest(payload, CONTEXT)

    assert counts == UpsertCounts(inserted=1)
    (row,) = (await stores.archive.read_window(USER, FetchWindow(served.start_date_time, NOW))).biomarkers
    assert row.value == "4242"
    assert [call.user_id for call in source.calls] == [USER]


async def test_a_dead_letter_without_a_source_to_fetch_from_is_refused(ingest: IngestWebhookRecords) -> None:
    payload = WebhookDelivery(record=steps(), received_at=NOW).to_payload()
    del payload["sahha_data"]

    with pytest.raises(InvalidInputError) as caught:
        await ingest.ingest(payload, CONTEXT)

    assert caught.value.field == "sahha_data"
