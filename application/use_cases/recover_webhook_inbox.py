"""``RecoverWebhookInbox``: deliveries still in the webhook inbox when a process starts are queued again.

With the in-memory queue a delivery is acknowledged once it is in the inbox; its job lives in the process. If the
process ends first (killed, or stopped before the queue drained), the entry is still there: at the next start
this queues a job for every held entry, oldest first. A job already pending for an entry is not queued twice,
and a job that finds its entry gone (archived meanwhile) does nothing, so running it twice is harmless.

Each job that begins archiving an entry counts an attempt in the inbox first. An entry that ``max_attempts`` jobs
began and none finished (its job killed its process each time, or failed each time) is a dead letter: it stays
in the inbox, is logged once per start (``webhook.inbox_entry_dead``, reason "worker died or job failed"), and is
not queued again; erasure still removes it. ``revive_dead`` gives the dead letters fresh attempts (``sahha-sync
recover --dead-webhooks``), once whatever killed their jobs is mended: the next ``recover`` queues them.
"""

from __future__ import annotations

import structlog

from sahha_sync.application.ports.job_queue import JobQueue
from sahha_sync.application.ports.webhook_inbox import WebhookInbox
from sahha_sync.application.use_cases.receive_webhook import queue_inbox_entry
from sahha_sync.application.use_cases.webhook_delivery import WebhookDelivery
from sahha_sync.domain.errors import InvalidInputError

log = structlog.get_logger(__name__)

PAGE_SIZE = 500
MAX_ATTEMPTS = 3


class RecoverWebhookInbox:
    """``await recover() -> int``: how many held entries were queued (none without an inbox)."""

    def __init__(
        self,
        *,
        inbox: WebhookInbox | None,
        queue: JobQueue,
        page_size: int = PAGE_SIZE,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        if page_size < 1:
            raise InvalidInputError("page_size must be at least 1", field="page_size")
        self._max_attempts = max_attempts
        self._inbox = inbox
        self._queue = queue
        self._page_size = page_size

    async def revive_dead(self) -> int:
        """Fresh attempts for every dead letter of the inbox (an entry ``max_attempts`` jobs began and none
        finished); returns how many. ``recover`` then queues them with the other held entries."""
        if self._inbox is None:
            return 0
        revived = await self._inbox.revive(min_attempts=self._max_attempts)
        if revived:
            log.info("webhook.inbox_entries_revived", count=len(revived))
        return len(revived)

    async def recover(self) -> int:
        if self._inbox is None:
            return 0
        queued = unreadable = dead = 0
        after: str | None = None
        while True:
            page = await self._inbox.pending(after=after, limit=self._page_size)
            for entry in page:
                if entry.attempts >= self._max_attempts:
                    dead += 1
                    log.error(
                        "webhook.inbox_entry_dead", inbox_id=entry.entry_id, attempts=entry.attempts,
                        reason="worker died or job failed",
                    )  # fmt: skip
                    continue
                try:
                    delivery = WebhookDelivery.from_payload(entry.payload)
                except InvalidInputError as exc:  # kept for an operator; never logged with its values
                    unreadable += 1
                    log.error("webhook.inbox_entry_unreadable", inbox_id=entry.entry_id, field=exc.field)
                    continue
                result = await queue_inbox_entry(self._queue, delivery, entry.entry_id)
                queued += 0 if result.duplicate else 1
            if len(page) < self._page_size:
                break
            after = page[-1].entry_id
        if queued or unreadable or dead:
            log.info("webhook.inbox_recovered", queued=queued, unreadable=unreadable, dead=dead)
        return queued
