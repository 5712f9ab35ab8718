"""``SahhaWebhookReceiver``: Sahha's push deliveries, as a plain ASGI app a host mounts anywhere.

Each request: ``POST`` only (405); the body read up to ``max_body_bytes`` (413, by ``Content-Length`` before
reading, and as soon as the stream grows past it); the signature checked before anything else is looked at
(401, nothing stored); then the event type. Biomarkers, scores and archetypes: the body must be a storable JSON
object that names its user in ``externalId`` (400 otherwise, see ``body``); it is parsed with the record parser
the receiver is given (the Sahha adapter's). A record is kept safe by the intake (``ReceiveWebhookDelivery``)
and answered 202; a record that parsed but broke a domain rule (a score outside 0-1, an ordinality beyond 32
bits, a date in year 9999...) is kept in quarantine with its reason and answered 200 — signed data is never
lost. Only when the intake returned is the delivery acknowledged; if it fails, the answer is 503 with
``Retry-After`` and Sahha delivers again. ``DataLogReceivedIntegrationEvent`` is acknowledged (200) and counted,
other types too (as unknown), neither stored. Log events (``webhook.accepted``, ``webhook.quarantined``,
``webhook.rejected``, ``webhook.ignored``) carry the event type and the outcome, never the body, the signature
or the secret.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from sahha_sync.adapters._asgi import Receive, Scope, Send, lifespan
from sahha_sync.adapters.webhook._asgi import Disconnected, Headers, Rejected, declared_length, read_body, respond
from sahha_sync.adapters.webhook.body import json_object, user_of
from sahha_sync.adapters.webhook.signature import (
    SIGNATURE_HEADERS,
    SecretLike,
    secret_bytes,
    signature_matches,
)
from sahha_sync.adapters.webhook.stats import WebhookCounters, WebhookStats
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.job_queue import JobQueueError
from sahha_sync.application.use_cases.receive_webhook import ReceiveWebhookDelivery, WebhookReceipt
from sahha_sync.application.use_cases.webhook_delivery import WebhookDelivery, WebhookRecord
from sahha_sync.domain.errors import InvalidInputError, SahhaSyncError
from sahha_sync.domain.health import QuarantinedRecord

log = get_logger(__name__)

DEFAULT_MAX_BODY_BYTES = 256 * 1024
DEFAULT_READ_TIMEOUT = 10.0
EVENT_KINDS = {
    "BiomarkerCreatedIntegrationEvent": "biomarker",
    "ScoreCreatedIntegrationEvent": "score",
    "ArchetypeCreatedIntegrationEvent": "archetype",
}
DATA_LOG_EVENT = "DataLogReceivedIntegrationEvent"
DOCUMENTED_EVENT_TYPES = frozenset({*EVENT_KINDS, DATA_LOG_EVENT})
MAX_EVENT_TYPE_LENGTH = 100


RecordParser = Callable[[str, Iterable[Any], str, Callable[[], datetime]], tuple[list[Any], list[QuarantinedRecord]]]
"""``parse(kind, items, user_id, received_at) -> (records, quarantined)``: Sahha's wire records of ``kind`` as
domain records, and those that did not validate, with their reason (``sahha_sync.adapters.sahha.dto.parse_records``)."""


def _loggable(event_type: str | None) -> str | None:
    """The event type for logs before the signature is checked: a documented name, or ``other``."""
    if event_type is None:
        return None
    return event_type if event_type in DOCUMENTED_EVENT_TYPES else "other"


class SahhaWebhookReceiver:
    """An ASGI app (``app.mount("/sahha", receiver)``) that turns Sahha's webhooks into ingest jobs.

    ``intake`` keeps each delivery safe before it is acknowledged (``ReceiveWebhookDelivery``, on a queue whose
    workers run ``IngestWebhookRecords``). ``secret`` is the webhook secret (a ``str`` or a pydantic
    ``SecretStr``); without one the receiver refuses to be built (``MissingWebhookSecretError``). ``parse`` reads
    Sahha's records (``RecordParser``). ``SahhaSync.webhook_receiver()`` builds one wired to the host's runtime.
    """

    def __init__(
        self,
        *,
        secret: str | SecretLike | None,
        intake: ReceiveWebhookDelivery,
        clock: Clock,
        parse: RecordParser,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        self._key = secret_bytes(secret)
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1:
            raise InvalidInputError("max_body_bytes must be a positive integer", field="max_body_bytes")
        if read_timeout <= 0:
            raise InvalidInputError("read_timeout must be positive", field="read_timeout")
        self._intake = intake
        self._clock = clock
        self._parse_records = parse
        self.max_body_bytes = max_body_bytes
        self.read_timeout = read_timeout
        self._counters = WebhookCounters()

    def __repr__(self) -> str:
        return f"SahhaWebhookReceiver(max_body_bytes={self.max_body_bytes})"

    def stats(self) -> WebhookStats:
        return self._counters.snapshot()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._counters.received += 1
        headers = Headers(scope.get("headers", ()))
        event_type = headers.get(b"x-event-type") or None
        try:
            status, content = await self._handle(scope["method"], headers, event_type, receive)
        except Disconnected:
            self._counters.disconnected += 1
            log.info("webhook.client_disconnected", event_type=_loggable(event_type))
            return
        except Rejected as rejection:
            await self._reject(send, rejection, event_type)
            return
        await respond(send, status, content)

    async def _reject(self, send: Send, rejection: Rejected, event_type: str | None) -> None:
        self._counters.rejected[rejection.reason] += 1
        log.warning(
            "webhook.rejected", event_type=_loggable(event_type), reason=rejection.reason, status=rejection.status
        )
        content: dict[str, Any] = {"status": "rejected", "reason": rejection.reason}
        if rejection.detail:
            content["detail"] = rejection.detail
        extra = []
        if rejection.status == 405:
            extra.append((b"allow", b"POST"))
        if rejection.status == 503:
            extra.append((b"retry-after", b"30"))
        await respond(send, rejection.status, content, extra)

    async def _handle(
        self, method: str, headers: Headers, event_type: str | None, receive: Receive
    ) -> tuple[int, dict[str, Any]]:
        if method != "POST":
            raise Rejected(405, "method_not_allowed", "only POST is accepted")
        length = declared_length(headers)
        if length is not None and length > self.max_body_bytes:
            raise Rejected(413, "body_too_large", f"the body is larger than {self.max_body_bytes} bytes")
        try:
            async with asyncio.timeout(self.read_timeout):
                body = await read_body(receive, self.max_body_bytes)
        except TimeoutError:
            raise Rejected(408, "body_timeout", "the body did not arrive in time") from None
        self._verify(headers, body)
        if event_type is None:
            raise Rejected(400, "missing_event_type", "X-Event-Type is missing")
        if event_type == DATA_LOG_EVENT:
            return self._data_log()
        kind = EVENT_KINDS.get(event_type)
        if kind is None:
            return self._ignore(event_type[:MAX_EVENT_TYPE_LENGTH])
        data = json_object(body)
        user_id = user_of(data, headers.get(b"x-external-id") or None)
        good, bad = self._parse_records(kind, [data], user_id, self._clock.now)
        if good and not bad:
            return await self._accept(event_type, good[0])
        return await self._quarantine(event_type, bad[0] if bad else self._unparsed(kind, user_id, data))

    def _verify(self, headers: Headers, body: bytes) -> None:
        candidates = headers.all(*SIGNATURE_HEADERS)
        if not candidates:
            raise Rejected(401, "missing_signature", "X-Signature is missing")
        if not signature_matches(self._key, body, candidates):
            raise Rejected(401, "bad_signature", "the signature does not match the body")

    def _data_log(self) -> tuple[int, dict[str, Any]]:
        self._counters.data_logs += 1
        log.info("webhook.ignored", event_type=DATA_LOG_EVENT, reason="data_log_not_stored")
        return 200, {"status": "acknowledged", "reason": "data_log_not_stored"}

    def _ignore(self, event_type: str) -> tuple[int, dict[str, Any]]:
        self._counters.count_unknown(event_type)
        log.info("webhook.ignored", event_type=event_type, reason="unknown_event_type")
        return 200, {"status": "ignored", "reason": "unknown_event_type"}

    def _unparsed(self, kind: str, user_id: str, data: dict[str, Any]) -> QuarantinedRecord:
        """A record the parser neither returned nor refused (a parser of the host's): kept as such."""
        raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return QuarantinedRecord(
            user_id=user_id, kind=kind, reason=f"not a {kind}", raw=raw, received_at=self._clock.now()
        )

    async def _accept(self, event_type: str, record: WebhookRecord) -> tuple[int, dict[str, Any]]:
        delivery = WebhookDelivery(record=record, received_at=self._clock.now())
        receipt = await self._kept(self._intake.accept(delivery))
        if receipt.status == "erased":  # acknowledged, so Sahha does not send it again
            log.info("webhook.ignored", event_type=event_type, kind=delivery.kind, reason="user_erased")
            return 200, {"status": "acknowledged", "reason": "user_erased"}
        self._counters.count_accepted(delivery.kind, duplicate=receipt.duplicate)
        log.info(
            "webhook.accepted",
            event_type=event_type,
            kind=delivery.kind,
            job_id=receipt.job_id,
            duplicate=receipt.duplicate,
        )
        return 202, {"status": "accepted", "job_id": receipt.job_id, "duplicate": receipt.duplicate}

    async def _quarantine(self, event_type: str, record: QuarantinedRecord) -> tuple[int, dict[str, Any]]:
        await self._kept(self._intake.quarantine(record))
        self._counters.quarantined += 1
        log.info("webhook.quarantined", event_type=event_type, kind=record.kind)
        return 200, {"status": "quarantined", "reason": "invalid_record", "detail": record.reason}

    @staticmethod
    async def _kept(keeping: Awaitable[WebhookReceipt]) -> WebhookReceipt:
        """The intake's receipt; its errors as answers: 400 for data no store takes, else 503 (try again)."""
        try:
            receipt = await keeping
        except InvalidInputError as exc:
            raise Rejected(400, "unstorable", f"the delivery cannot be stored ({exc.field or 'record'})") from exc
        except JobQueueError as exc:
            raise Rejected(503, "queue_unavailable", f"the job queue refused it ({type(exc).__name__})") from exc
        except SahhaSyncError as exc:
            raise Rejected(503, "storage_unavailable", f"the database refused it ({type(exc).__name__})") from exc
        return receipt
