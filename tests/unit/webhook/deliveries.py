"""Webhook deliveries as Sahha sends them: bodies of each kind, signed headers, and a harness around the
receiver (receiver → in-memory queue → ``IngestWebhookRecords`` → in-memory stores)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import InMemoryJobQueue, InMemoryStores
from sahha_sync.adapters.sahha.dto import parse_records
from sahha_sync.adapters.webhook import SahhaWebhookReceiver, sign
from sahha_sync.application.ports import Clock, JobQueue, UnitOfWorkFactory, WebhookInbox
from sahha_sync.application.use_cases import ReceiveWebhookDelivery
from sahha_sync.application.use_cases.ingest_webhook import IngestWebhookRecords

SECRET = "whsec_Q2hhbmdlTWUtdGhpcy1pcy1hLXRlc3Qtc2VjcmV0"
USER = "user-7f3a"
NOW = datetime(2026, 11, 29, 3, 30, tzinfo=UTC)
STEPS_VALUE = "734519"  # a value no id, count or timestamp contains

BIOMARKER_EVENT = "BiomarkerCreatedIntegrationEvent"
SCORE_EVENT = "ScoreCreatedIntegrationEvent"
ARCHETYPE_EVENT = "ArchetypeCreatedIntegrationEvent"


def biomarker_body(*, value: str = STEPS_VALUE, external_id: str | None = USER, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "0f6e2a52-8c1e-4b5e-9a0e-3f9d2d7c1a01",
        "profileId": "6b1d7e0c-2f44-4a8e-b1f3-9c5a0d2e7f10",
        "accountId": "c3a9e1f2-5d6b-4c7a-8e9f-0a1b2c3d4e5f",
        "externalId": external_id,
        "category": "activity",
        "type": "steps",
        "periodicity": "daily",
        "aggregation": "total",
        "value": value,
        "unit": "count",
        "valueType": "integer",
        "startDateTime": "2026-11-28T00:00:00+13:00",
        "endDateTime": "2026-11-28T23:59:59+13:00",
        "createdAtUtc": "2026-11-28T11:05:00Z",
        "version": 1,
    }
    if external_id is None:
        del body["externalId"]
    body.update(changes)
    return body


def score_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "8d2f4b6a-1c3e-4f5a-9b7d-2e4f6a8c0b1d",
        "profileId": "6b1d7e0c-2f44-4a8e-b1f3-9c5a0d2e7f10",
        "accountId": "c3a9e1f2-5d6b-4c7a-8e9f-0a1b2c3d4e5f",
        "externalId": USER,
        "type": "sleep",
        "state": "high",
        "score": 0.82,
        "factors": [
            {"name": "sleep_duration", "value": 452, "goal": 480, "score": 0.9, "state": "high", "unit": "minute"}
        ],
        "dataSources": ["sleep_duration", "sleep_regularity"],
        "scoreDateTime": "2026-11-28T07:00:00+13:00",
        "createdAtUtc": "2026-11-28T18:00:00Z",
        "version": 1,
    }
    body.update(changes)
    return body


def archetype_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "4e6a8c0b-2d4f-4a6c-8e0a-1b3d5f7a9c2e",
        "profileId": "6b1d7e0c-2f44-4a8e-b1f3-9c5a0d2e7f10",
        "accountId": "c3a9e1f2-5d6b-4c7a-8e9f-0a1b2c3d4e5f",
        "externalId": USER,
        "name": "activity_level",
        "value": "highly_active",
        "dataType": "ordinal",
        "ordinality": 3,
        "periodicity": "weekly",
        "startDateTime": "2026-11-16T00:00:00+13:00",
        "endDateTime": "2026-11-23T00:00:00+13:00",
        "createdAtUtc": "2026-11-23T02:00:00Z",
        "version": 1,
    }
    body.update(changes)
    return body


def encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body).encode("utf-8")


def signed_headers(
    raw: bytes, event_type: str = BIOMARKER_EVENT, *, secret: str = SECRET, external_id: str | None = USER
) -> dict[str, str]:
    headers = {"X-Event-Type": event_type, "X-Signature": sign(secret, raw), "Content-Type": "application/json"}
    if external_id is not None:
        headers["X-External-Id"] = external_id
    return headers


@dataclass
class Harness:
    clock: ManualClock
    stores: InMemoryStores
    queue: InMemoryJobQueue
    receiver: SahhaWebhookReceiver
    client: httpx.AsyncClient

    async def deliver(
        self, body: Mapping[str, Any], event_type: str = BIOMARKER_EVENT, **header_changes: str
    ) -> httpx.Response:
        raw = encode(body)
        headers = {**signed_headers(raw, event_type), **header_changes}
        return await self.client.post("/sahha/webhook", content=raw, headers=headers)

    async def drain(self) -> None:
        assert await self.queue.wait_idle(timeout=5)

    def rows(self) -> dict[str, int]:
        return self.stores.archive.counts()

    @property
    def nothing_stored(self) -> bool:
        return sum(self.rows().values()) == 0 and not self.stores.events.rows


def ingest_handler(unit_of_work: UnitOfWorkFactory, clock: ManualClock) -> IngestWebhookRecords:
    return IngestWebhookRecords(unit_of_work=unit_of_work, clock=clock)


def receiver_for(
    queue: JobQueue,
    unit_of_work: UnitOfWorkFactory,
    clock: Clock,
    *,
    inbox: WebhookInbox | None = None,
    secret: Any = SECRET,
    **options: Any,
) -> SahhaWebhookReceiver:
    """A receiver whose deliveries go to ``queue`` (through ``inbox`` when given) and quarantine to the stores."""
    intake = ReceiveWebhookDelivery(queue=queue, unit_of_work=unit_of_work, clock=clock, inbox=inbox)
    return SahhaWebhookReceiver(secret=secret, intake=intake, clock=clock, parse=parse_records, **options)


@asynccontextmanager
async def harness(*, max_body_bytes: int = 256 * 1024, stores: InMemoryStores | None = None) -> AsyncIterator[Harness]:
    clock = ManualClock(NOW)
    stores = stores if stores is not None else InMemoryStores()
    queue = InMemoryJobQueue(backoff_base=0.001)
    queue.register(IngestWebhookRecords.JOB_TYPE, ingest_handler(stores.unit_of_work, clock))
    receiver = receiver_for(queue, stores.unit_of_work, clock, max_body_bytes=max_body_bytes)
    await queue.start()
    transport = httpx.ASGITransport(app=receiver)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://host.test") as client:
            yield Harness(clock, stores, queue, receiver, client)
    finally:
        await queue.stop(drain=True, timeout=5)
