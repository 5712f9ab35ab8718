"""``SahhaWebhookReceiver``: Sahha's push deliveries, as a plain ASGI app a host mounts anywhere.

Each request: ``POST`` only (405); the body read up to ``max_body_bytes`` (413, by ``Content-Length`` before
reading, and as soon as the stream grows past it); the signature checked before anything else is looked at
(401, nothing stored); the event type: biomarkers, scores and archetypes are parsed with the record parser it
is given, the Sahha adapter's (400 when the body is not a JSON object or the record does not validate), and
submitted as an
``INGEST_SAHHA_WEBHOOK`` job (202), so the answer comes at once and archival happens in the background; other
types are acknowledged (200) and counted, not stored. Log events (``webhook.accepted``, ``webhook.rejected``,
``webhook.ignored``) carry the event type and the outcome, never the body, the signature or the secret.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from sahha_sync.adapters.webhook._asgi import (
    Disconnected,
    Headers,
    Receive,
    Rejected,
    Scope,
    Send,
    declared_length,
    lifespan,
    read_body,
    respond,
)
from sahha_sync.adapters.webhook.signature import SIGNATURE_HEADERS, signature_matches
from sahha_sync.adapters.webhook.stats import WebhookCounters, WebhookStats
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.job_queue import JobQueue, JobQueueError
from sahha_sync.application.use_cases.ingest_webhook import IngestWebhookRecords, WebhookDelivery, WebhookRecord
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.health import QuarantinedRecord

log = get_logger(__name__)

DEFAULT_MAX_BODY_BYTES = 256 * 1024
DEFAULT_READ_TIMEOUT = 10.0
EVENT_KINDS = {
    "BiomarkerCreatedIntegrationEvent": "biomarker",
    "ScoreCreatedIntegrationEvent": "score",
    "ArchetypeCreatedIntegrationEvent": "archetype",
}
DOCUMENTED_EVENT_TYPES = frozenset({*EVENT_KINDS, "DataLogReceivedIntegrationEvent"})
MAX_EVENT_TYPE_LENGTH = 100


class MissingWebhookSecretError(InvalidInputError):
    """The receiver was built without a webhook secret: it would have to trust any sender."""


RecordParser = Callable[[str, Iterable[Any], str, Callable[[], datetime]], tuple[list[Any], list[QuarantinedRecord]]]
"""``parse(kind, items, user_id, received_at) -> (records, quarantined)``: Sahha's wire records of ``kind`` as
domain records, and those that did not validate, with their reason (``sahha_sync.adapters.sahha.dto.parse_records``)."""


class SecretLike(Protocol):
    """Anything holding a secret behind ``get_secret_value()`` (pydantic's ``SecretStr``)."""

    def get_secret_value(self) -> str: ...


def _secret_bytes(secret: str | SecretLike | None) -> bytes:
    value = secret.get_secret_value() if secret is not None and hasattr(secret, "get_secret_value") else secret
    if not isinstance(value, str) or not value.strip():
        raise MissingWebhookSecretError(
            "webhooks need the secret Sahha's dashboard shows: set SAHHA_SYNC_WEBHOOK_SECRET "
            "(deliveries are refused without it)",
            field="secret",
        )
    return value.encode("utf-8")


def _loggable(event_type: str | None) -> str | None:
    """The event type for logs before the signature is checked: a documented name, or ``other``."""
    if event_type is None:
        return None
    return event_type if event_type in DOCUMENTED_EVENT_TYPES else "other"


class SahhaWebhookReceiver:
    """An ASGI app (``app.mount("/sahha", receiver)``) that turns Sahha's webhooks into ingest jobs.

    ``queue`` must have ``IngestWebhookRecords`` registered for ``INGEST_SAHHA_WEBHOOK`` wherever its workers
    run. ``secret`` is the webhook secret (a ``str`` or a pydantic ``SecretStr``); without one the receiver
    refuses to be built (``MissingWebhookSecretError``). ``parse`` reads Sahha's records (``RecordParser``).
    ``SahhaSync.webhook_receiver()`` builds one wired to the host's runtime.
    """

    def __init__(
        self,
        *,
        secret: str | SecretLike | None,
        queue: JobQueue,
        clock: Clock,
        parse: RecordParser,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        self._key = _secret_bytes(secret)
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1:
            raise InvalidInputError("max_body_bytes must be a positive integer", field="max_body_bytes")
        if read_timeout <= 0:
            raise InvalidInputError("read_timeout must be positive", field="read_timeout")
        self._queue = queue
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
        kind = EVENT_KINDS.get(event_type)
        if kind is None:
            return self._ignore(event_type[:MAX_EVENT_TYPE_LENGTH])
        record = self._parse(kind, body, headers.get(b"x-external-id") or None)
        return await self._submit(event_type, record)

    def _verify(self, headers: Headers, body: bytes) -> None:
        candidates = headers.all(*SIGNATURE_HEADERS)
        if not candidates:
            raise Rejected(401, "missing_signature", "X-Signature is missing")
        if not signature_matches(self._key, body, candidates):
            raise Rejected(401, "bad_signature", "the signature does not match the body")

    def _ignore(self, event_type: str) -> tuple[int, dict[str, Any]]:
        self._counters.count_unknown(event_type)
        log.info("webhook.ignored", event_type=event_type, reason="unknown_event_type")
        return 200, {"status": "ignored", "reason": "unknown_event_type"}

    def _parse(self, kind: str, body: bytes, header_id: str | None) -> WebhookRecord:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise Rejected(400, "invalid_json", "the body is not JSON") from None
        if not isinstance(data, dict):
            raise Rejected(400, "not_an_object", "the body is not a JSON object")
        user_id = _user_id(data.get("externalId"), header_id)
        good, bad = self._parse_records(kind, [data], user_id, self._clock.now)
        if bad or not good:
            raise Rejected(400, "invalid_record", bad[0].reason if bad else f"not a {kind}")
        record: WebhookRecord = good[0]
        return record

    async def _submit(self, event_type: str, record: WebhookRecord) -> tuple[int, dict[str, Any]]:
        delivery = WebhookDelivery(record=record, received_at=self._clock.now())
        try:
            result = await self._queue.submit_job(
                IngestWebhookRecords.JOB_TYPE, delivery.to_payload(), dedup_key=delivery.dedup_key
            )
        except JobQueueError as exc:
            raise Rejected(503, "queue_unavailable", f"the job queue refused it ({type(exc).__name__})") from exc
        self._counters.count_accepted(delivery.kind, duplicate=result.duplicate)
        log.info(
            "webhook.accepted",
            event_type=event_type,
            kind=delivery.kind,
            job_id=result.job_id,
            duplicate=result.duplicate,
        )
        return 202, {"status": "accepted", "job_id": result.job_id, "duplicate": result.duplicate}


def _user_id(body_id: object, header_id: str | None) -> str:
    """The user the record belongs to: the body's ``externalId``, else the ``X-External-Id`` header."""
    if body_id is not None and (not isinstance(body_id, str) or not body_id.strip()):
        raise Rejected(400, "invalid_external_id", "externalId must be a non-empty string")
    body_value = body_id.strip() if isinstance(body_id, str) else None
    if body_value and header_id and body_value != header_id:
        raise Rejected(400, "external_id_mismatch", "externalId and X-External-Id name different users")
    user_id = body_value or header_id
    if not user_id:
        raise Rejected(400, "missing_external_id", "neither externalId nor X-External-Id is present")
    return user_id
