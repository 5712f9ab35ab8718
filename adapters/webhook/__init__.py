"""Sahha's webhooks (push delivery): an ASGI receiver that verifies them and keeps them safe before it answers
(``ReceiveWebhookDelivery``), and ``serve_async`` to run it alone. The records are archived by
``IngestWebhookRecords`` (the ``INGEST_SAHHA_WEBHOOK`` job)."""

from sahha_sync.adapters.webhook.receiver import (
    DEFAULT_MAX_BODY_BYTES,
    EVENT_KINDS,
    RecordParser,
    SahhaWebhookReceiver,
)
from sahha_sync.adapters.webhook.server import serve_async, uvicorn_server
from sahha_sync.adapters.webhook.signature import MissingWebhookSecretError, sign, sign_base64
from sahha_sync.adapters.webhook.stats import WebhookStats

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "EVENT_KINDS",
    "MissingWebhookSecretError",
    "RecordParser",
    "SahhaWebhookReceiver",
    "WebhookStats",
    "serve_async",
    "sign",
    "sign_base64",
    "uvicorn_server",
]
