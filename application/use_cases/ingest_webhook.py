"""``IngestWebhookRecords``: the ``INGEST_SAHHA_WEBHOOK`` job — upsert one record that Sahha pushed.

A webhook delivery carries one biomarker, score or archetype. The receiver checks its signature, parses it
into a domain record and submits a job (``WebhookDelivery.to_payload()``)::

    {"kind": "biomarker" | "score" | "archetype", "user_id": <record>.user_id, "record": <record>.to_dict(),
     "received_at": ISO-8601}

(a payload queued before ``user_id`` was carried beside the record decodes as well: the record names its user).

The job upserts the record through the same ``HealthArchive`` upsert as the polling path, so a redelivered
webhook — or a record the next poll fetches again — changes nothing.

Events: webhooks are not part of an analysis run, yet the figures of storage growth come from the event store.
When an upsert wrote a row (inserted or updated), the job appends ``RecordsArchived`` of the record's kind with
the counts — metadata only, no user id, no value — in the same unit of work as
the upsert. The streams are per delivery day (UTC), split into 16 shards so that workers ingesting a burst in
parallel seldom append to the same stream: run id ``webhook-<YYYY-MM-DD>-<shard 00..15>``, stream
``run-webhook-<YYYY-MM-DD>-<shard>``; an append that meets another writer is retried with a short random pause.
A redelivery writes nothing and records nothing. These streams hold no ``analysis.requested``, so no tracking
row is projected from them, and erasing a user needs nothing from them. A delivery that wrote also moves the
user's freshness on (``user_data.delivered`` in the user's own delivery stream, at most one a minute), so
analyses of a user whom webhooks keep fresh are answered from the archive.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.event_store import ConcurrencyError
from sahha_sync.application.ports.job_queue import USER_KEY, JobContext
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sahha_sync.application.retry import Backoff
from sahha_sync.application.use_cases._freshness import record_delivery
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.events import RecordsArchived, stream_id_for
from sahha_sync.domain.health import UpsertCounts
from sahha_sync.domain.record_kinds import HealthRecord, kind_named, kind_of

log = get_logger(__name__)

WebhookRecord = HealthRecord


STREAM_SHARDS = 16
APPEND_ATTEMPTS = 8
APPEND_BACKOFF = Backoff(0.005, cap=0.05)  # a conflict is another worker's append, over within milliseconds


def webhook_run_id(day: date, shard: int) -> str:
    """The run id of one of the day's webhook streams (its stream id is ``stream_id_for`` of it)."""
    return f"webhook-{day.isoformat()}-{shard:02d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookDelivery:
    """One record that Sahha pushed, as the ``INGEST_SAHHA_WEBHOOK`` job carries it."""

    record: WebhookRecord
    received_at: datetime

    @property
    def kind(self) -> str:
        return kind_of(self.record).name

    @property
    def dedup_key(self) -> str:
        """Equal deliveries (same record, same values) share a key: a burst of redeliveries queues one job."""
        canonical = json.dumps([self.kind, self.record.to_dict()], sort_keys=True, separators=(",", ":"))
        return "webhook:" + hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def run_id(self) -> str:
        """The webhook stream this delivery's event goes to: its UTC day, and a shard picked by its content."""
        shard = int(self.dedup_key[-4:], 16) % STREAM_SHARDS
        return webhook_run_id(self.received_at.astimezone(UTC).date(), shard)

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            USER_KEY: self.record.user_id,
            "record": self.record.to_dict(),
            "received_at": self.received_at.isoformat(),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> WebhookDelivery:
        """The delivery a payload describes; ``InvalidInputError`` naming the field when it is malformed."""
        if not isinstance(payload, Mapping):
            raise InvalidInputError("webhook payload must be a mapping", field="payload")
        kind = kind_named(payload.get("kind"))
        data = payload.get("record")
        if not isinstance(data, Mapping):
            raise InvalidInputError("record must be a mapping", field="record")
        try:
            record = kind.record_type.from_dict(dict(data))
        except InvalidInputError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInputError(
                f"record is not a {kind.name} ({type(exc).__name__}: {_field_of(exc)})", field="record"
            ) from exc
        if payload.get(USER_KEY, record.user_id) != record.user_id:
            raise InvalidInputError(f"{USER_KEY} and the record name different users", field=USER_KEY)
        return cls(record=record, received_at=_received_at(payload.get("received_at")))


def _field_of(exc: Exception) -> str:
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else "bad field"


def _received_at(value: object) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise InvalidInputError("received_at must be a timezone-aware ISO-8601 datetime", field="received_at")
    return moment


class IngestWebhookRecords:
    """``await ingest(payload, context) -> UpsertCounts``; the instance itself is the queue's handler
    (``queue.register(IngestWebhookRecords.JOB_TYPE, ingest)``).

    A malformed payload raises ``InvalidInputError`` (not retried); archive and event store errors propagate
    as they are, so the queue retries the retryable ones.
    """

    JOB_TYPE: ClassVar[str] = "INGEST_SAHHA_WEBHOOK"

    def __init__(self, *, unit_of_work: UnitOfWorkFactory, clock: Clock) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock

    async def __call__(self, payload: Mapping[str, Any], context: JobContext) -> None:
        await self.ingest(payload, context)

    async def ingest(self, payload: Mapping[str, Any], context: JobContext) -> UpsertCounts:
        try:
            delivery = WebhookDelivery.from_payload(payload)
        except InvalidInputError as exc:
            log.error("webhook.payload_invalid", job_id=context.job_id, field=exc.field)
            raise
        counts = await self._in_transaction(delivery)
        log.info(
            "webhook.record_ingested",
            job_id=context.job_id,
            kind=delivery.kind,
            inserted=counts.inserted,
            updated=counts.updated,
            unchanged=counts.unchanged,
        )
        return counts

    async def _in_transaction(self, delivery: WebhookDelivery) -> UpsertCounts:
        """Upsert and record in one unit of work; re-run from scratch when another writer took the version."""
        for attempt in range(1, APPEND_ATTEMPTS + 1):
            try:
                async with self._unit_of_work() as uow:
                    counts = await self._store(uow, delivery)
                    await uow.commit()
                    return counts
            except ConcurrencyError:
                if attempt == APPEND_ATTEMPTS:
                    raise
                log.debug("webhook.append_conflict_retried", attempt=attempt)
                await asyncio.sleep(APPEND_BACKOFF.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _store(self, uow: UnitOfWork, delivery: WebhookDelivery) -> UpsertCounts:
        counts = await uow.archive.upsert(kind_of(delivery.record), [delivery.record])
        if counts.written == 0:  # a redelivery: nothing new, no event
            return counts
        run_id = delivery.run_id
        event = RecordsArchived.counted(run_id, self._clock.now(), delivery.kind, counts)
        stream_id = stream_id_for(run_id)
        await uow.events.append(stream_id, [event], expected_version=await uow.events.stream_version(stream_id))
        await record_delivery(uow, delivery.record.user_id, delivery.received_at, self._clock.now())
        return counts
