"""``ReceiveWebhookDelivery``: keep a signed delivery safe, so that acknowledging it to Sahha means it is stored.

- A record (``accept``): on a queue whose submits are stored (the durable queue) the job that carries it is
  submitted and committed before this returns. With an ``inbox`` (the in-memory queue, whose jobs die with the
  process) the record is committed to the inbox first, then a job that names the entry is queued; if queueing
  fails, the entry waits for the next start (``RecoverWebhookInbox``) and the delivery is still safe.
- A record that parsed but broke a domain rule (``quarantine``): committed to the archive's quarantine with its
  reason and raw text, and counted by a ``RecordsQuarantined`` event in one of the day's webhook streams (the
  event's reason names the field, never the user).

Either way the caller may acknowledge once the call returned; any error means nothing is promised (refuse, and
the sender will deliver again).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import structlog

from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.job_queue import JobQueue, JobQueueError, SubmitResult
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sahha_sync.application.ports.webhook_inbox import WebhookInbox
from sahha_sync.application.use_cases._webhook_stream import append_to_stream, committed
from sahha_sync.application.use_cases.webhook_delivery import INGEST_WEBHOOK_JOB, WebhookDelivery, sharded_run_id
from sahha_sync.domain.events import RecordsQuarantined
from sahha_sync.domain.health import QuarantinedRecord

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    """What became of a delivery: ``queued`` (``job_id`` names the job, None when it waits in the inbox for the
    next start; ``duplicate`` when an equal delivery was still pending), ``quarantined``, or ``erased`` (the user
    was forgotten: nothing was stored, and the delivery may be acknowledged all the same)."""

    status: str
    job_id: str | None = None
    duplicate: bool = False


async def queue_inbox_entry(queue: JobQueue, delivery: WebhookDelivery, entry_id: str) -> SubmitResult:
    """Queue the job that archives the inbox entry ``entry_id`` (one pending job per entry)."""
    return await queue.submit_job(
        INGEST_WEBHOOK_JOB, delivery.inbox_payload(entry_id), dedup_key=f"webhook-inbox:{entry_id}"
    )


class ReceiveWebhookDelivery:
    """``await accept(delivery)`` and ``await quarantine(record)``, each returning a ``WebhookReceipt``."""

    def __init__(
        self, *, queue: JobQueue, unit_of_work: UnitOfWorkFactory, clock: Clock, inbox: WebhookInbox | None = None
    ) -> None:
        self._queue = queue
        self._unit_of_work = unit_of_work
        self._clock = clock
        self._inbox = inbox

    async def accept(self, delivery: WebhookDelivery) -> WebhookReceipt:
        if self._inbox is None:  # a stored submit: the job is committed when it returns
            result = await self._queue.submit_job(
                INGEST_WEBHOOK_JOB, delivery.to_payload(), dedup_key=delivery.dedup_key
            )
            return WebhookReceipt("queued", result.job_id, result.duplicate)
        held = await self._inbox.put(delivery.to_payload(), dedup_key=delivery.dedup_key, user_id=delivery.user_id)
        if held.erased:  # the user was forgotten: nothing of theirs is stored, and there is nothing to queue
            return WebhookReceipt("erased")
        try:
            result = await queue_inbox_entry(self._queue, delivery, held.entry_id)
        except JobQueueError as exc:
            log.warning("webhook.queued_at_next_start", inbox_id=held.entry_id, error_kind=type(exc).__name__)
            return WebhookReceipt("queued", None, held.duplicate)
        return WebhookReceipt("queued", result.job_id, held.duplicate)

    async def quarantine(self, record: QuarantinedRecord) -> WebhookReceipt:
        digest = hashlib.sha256(record.raw.encode("utf-8", "replace")).hexdigest()
        run_id = sharded_run_id(record.received_at, digest)
        event = RecordsQuarantined(
            run_id=run_id,
            occurred_at=self._clock.now(),
            count=1,
            reasons=(record.reason.replace(record.user_id, "<user>"),),
        )

        async def store(uow: UnitOfWork) -> None:
            await uow.archive.quarantine([record])
            await append_to_stream(uow, run_id, event)

        await committed(self._unit_of_work, store)
        log.info("webhook.record_quarantined", kind=record.kind)
        return WebhookReceipt("quarantined")
