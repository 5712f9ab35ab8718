"""``IngestWebhookRecords``: the ``INGEST_SAHHA_WEBHOOK`` job — upsert one record that Sahha pushed.

The receiver checks a delivery's signature, parses it into a domain record and keeps it safe
(``ReceiveWebhookDelivery``): a job that carries the record, or an inbox entry and a job that names it (payloads:
``webhook_delivery``). The job upserts the record through the same ``HealthArchive`` upsert as the polling
path, so a redelivered webhook — or a record the next poll fetches again — changes nothing; an inbox entry is
removed once its record is committed. A job that carries neither (a dead letter retried: its record was
dropped when it died) fetches the record's span again from the source and upserts the record of that key.

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

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.health_data_source import HealthDataSource
from sahha_sync.application.ports.job_queue import JobContext
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sahha_sync.application.ports.webhook_inbox import WebhookInbox
from sahha_sync.application.use_cases._freshness import record_delivery
from sahha_sync.application.use_cases._webhook_stream import APPEND_ATTEMPTS, append_to_stream, committed
from sahha_sync.application.use_cases.webhook_delivery import (
    INGEST_WEBHOOK_JOB,
    STREAM_SHARDS,
    RecordKey,
    WebhookDelivery,
    WebhookJob,
    WebhookRecord,
    webhook_run_id,
)
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.events import RecordsArchived
from sahha_sync.domain.health import UpsertCounts
from sahha_sync.domain.record_kinds import kind_named, kind_of
from sahha_sync.domain.windows import FetchWindow

__all__ = [
    "APPEND_ATTEMPTS",
    "STREAM_SHARDS",
    "IngestWebhookRecords",
    "WebhookDelivery",
    "WebhookRecord",
    "webhook_run_id",
]

log = get_logger(__name__)

_INSTANT = timedelta(milliseconds=1)  # a window must be longer than the span of a one-instant record


class IngestWebhookRecords:
    """``await ingest(payload, context) -> UpsertCounts``; the instance itself is the queue's handler
    (``queue.register(IngestWebhookRecords.JOB_TYPE, ingest)``).

    ``inbox`` is where jobs that name an inbox entry find their record; ``source`` is where a job without its
    record fetches it again. A malformed payload raises ``InvalidInputError`` (not retried); archive, event
    store, inbox and source errors propagate as they are, so the queue retries the retryable ones.
    """

    JOB_TYPE: ClassVar[str] = INGEST_WEBHOOK_JOB

    def __init__(
        self,
        *,
        unit_of_work: UnitOfWorkFactory,
        clock: Clock,
        inbox: WebhookInbox | None = None,
        source: HealthDataSource | None = None,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock
        self._inbox = inbox
        self._source = source

    async def __call__(self, payload: Mapping[str, Any], context: JobContext) -> None:
        await self.ingest(payload, context)

    async def ingest(self, payload: Mapping[str, Any], context: JobContext) -> UpsertCounts:
        try:
            job = WebhookJob.from_payload(payload)
        except InvalidInputError as exc:
            log.error("webhook.payload_invalid", job_id=context.job_id, field=exc.field)
            raise
        delivery = job.delivery or await self._find(job, context)
        counts = UpsertCounts() if delivery is None else await committed(self._unit_of_work, self._storing(delivery))
        if job.inbox_id is not None and self._inbox is not None:
            await self._inbox.remove(job.inbox_id)
        log.info(
            "webhook.record_ingested",
            job_id=context.job_id,
            kind=job.key.kind,
            inserted=counts.inserted,
            updated=counts.updated,
            unchanged=counts.unchanged,
        )
        return counts

    async def _find(self, job: WebhookJob, context: JobContext) -> WebhookDelivery | None:
        """The record of a job that does not carry it: from the inbox, or fetched again from the source."""
        if job.inbox_id is not None:
            return await self._from_inbox(job.inbox_id, context)
        if self._source is None:
            raise InvalidInputError(
                "the job carries no record (it was dropped when the job died) and no source is configured to fetch "
                "it again",
                field="sahha_data",
            )
        return await self._fetch_again(job.key, context)

    async def _from_inbox(self, entry_id: str, context: JobContext) -> WebhookDelivery | None:
        if self._inbox is None:
            raise InvalidInputError("the job names an inbox entry and no inbox is configured", field="inbox_id")
        entry = await self._inbox.get(entry_id) if await self._inbox.begin(entry_id) else None
        if entry is None:  # archived by an earlier job of the same entry, or its user was forgotten
            log.info("webhook.inbox_entry_gone", job_id=context.job_id, inbox_id=entry_id)
            return None
        return WebhookDelivery.from_payload(entry.payload)

    async def _fetch_again(self, key: RecordKey, context: JobContext) -> WebhookDelivery | None:
        assert self._source is not None
        window = FetchWindow(key.start, key.end + _INSTANT)
        fetched = await self._source.fetch(key.user_id, window, include_archetypes=key.kind == "archetype")
        candidates: Sequence[WebhookRecord] = kind_named(key.kind).records_in(fetched)
        found = [r for r in candidates if key.matches(r)]
        log.info("webhook.record_fetched_again", job_id=context.job_id, kind=key.kind, found=bool(found))
        return WebhookDelivery(record=found[-1], received_at=self._clock.now()) if found else None

    def _storing(self, delivery: WebhookDelivery) -> Callable[[UnitOfWork], Awaitable[UpsertCounts]]:
        async def store(uow: UnitOfWork) -> UpsertCounts:
            counts = await uow.archive.upsert(kind_of(delivery.record), [delivery.record])
            if counts.written == 0:  # a redelivery: nothing new, no event
                return counts
            run_id = delivery.run_id
            event = RecordsArchived.counted(run_id, self._clock.now(), delivery.kind, counts)
            await append_to_stream(uow, run_id, event)
            await record_delivery(uow, delivery.record.user_id, delivery.received_at, self._clock.now())
            return counts

        return store
