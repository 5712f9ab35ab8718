"""Sahha's webhooks (push delivery): an ASGI receiver that verifies them and keeps them safe before it answers
(``ReceiveWebhookDelivery``), and ``serve_async`` to run it alone. The records are archived by
``IngestWebhookRecords`` (the ``INGEST_SAHHA_WEBHOOK`` job)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sahha_sync.adapters._lazy import lazy_exports
from sahha_sync.adapters.webhook.receiver import (
    DEFAULT_MAX_BODY_BYTES,
    EVENT_KINDS,
    RecordParser,
    SahhaWebhookReceiver,
)
from sahha_sync.adapters.webhook.signature import MissingWebhookSecretError, sign, sign_base64
from sahha_sync.adapters.webhook.stats import WebhookStats

if TYPE_CHECKING:
    from sahha_sync.adapters.webhook.server import serve_async as serve_async
    from sahha_sync.adapters.webhook.server import uvicorn_server as uvicorn_server

_LAZY = {"serve_async": "server", "uvicorn_server": "server"}

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


# The names of ``_LAZY`` are imported on first use: their modules need uvicorn (the [server] extra).
__getattr__ = lazy_exports(__name__, _LAZY)
