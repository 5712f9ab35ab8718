"""The receiver bounds what it reads: the body size (by header and while streaming) and the time to send it;
and it speaks enough ASGI to run under any server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import InMemoryJobQueue, InMemoryStores
from sahha_sync.adapters.webhook import SahhaWebhookReceiver
from tests.unit.webhook.deliveries import (
    NOW,
    Harness,
    biomarker_body,
    encode,
    harness,
    receiver_for,
    signed_headers,
)

LIMIT = 1024


@pytest.fixture
async def small() -> AsyncIterator[Harness]:
    async with harness(max_body_bytes=LIMIT) as running:
        yield running


class Exchange:
    """Drives the receiver directly with a scripted ``receive`` and records what it sent."""

    def __init__(self, messages: list[dict[str, Any]], *, hang: bool = False) -> None:
        self.messages = messages
        self.hang = hang
        self.received = 0
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        if self.received >= len(self.messages):
            if self.hang:
                await asyncio.Event().wait()
            return {"type": "http.disconnect"}
        self.received += 1
        return self.messages[self.received - 1]

    async def send(self, message: Any) -> None:
        self.sent.append(dict(message))

    @property
    def status(self) -> int | None:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        return starts[0]["status"] if starts else None


def http_scope(headers: list[tuple[bytes, bytes]], method: str = "POST") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": "/", "headers": headers}


def receiver(queue: InMemoryJobQueue | None = None, **options: Any) -> SahhaWebhookReceiver:
    options = {"max_body_bytes": LIMIT, **options}
    return receiver_for(queue or InMemoryJobQueue(), InMemoryStores().unit_of_work, ManualClock(NOW), **options)


async def test_a_declared_length_over_the_limit_is_refused_with_413_before_reading(small: Harness) -> None:
    app = receiver()
    exchange = Exchange([{"type": "http.request", "body": b"{}", "more_body": False}])
    headers = [(b"content-length", str(LIMIT + 1).encode()), (b"x-event-type", b"BiomarkerCreatedIntegrationEvent")]

    await app(http_scope(headers), exchange.receive, exchange.send)

    assert exchange.status == 413
    assert exchange.received == 0
    assert app.stats().rejected == {"body_too_large": 1}


async def test_a_streamed_body_over_the_limit_is_refused_with_413_as_soon_as_it_passes(small: Harness) -> None:
    pulled = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(100):
            pulled += 1
            yield b"x" * 300

    raw = encode(biomarker_body())
    headers = signed_headers(raw)

    response = await small.client.post("/", content=chunks(), headers=headers)
    await small.drain()

    assert response.status_code == 413
    assert response.json()["reason"] == "body_too_large"
    assert pulled <= 5  # 4 chunks of 300 bytes pass 1024; the rest of the stream is never read
    assert small.nothing_stored


async def test_a_body_over_the_limit_sent_with_its_length_is_refused_with_413(small: Harness) -> None:
    raw = encode(biomarker_body(padding="p" * LIMIT))

    response = await small.client.post("/", content=raw, headers=signed_headers(raw))
    await small.drain()

    assert response.status_code == 413
    assert small.nothing_stored


async def test_a_body_exactly_at_the_limit_is_read(small: Harness) -> None:
    raw = encode(biomarker_body())
    raw = raw[:-1] + b" " * (LIMIT - len(raw)) + b"}"
    assert len(raw) == LIMIT

    response = await small.client.post("/", content=raw, headers=signed_headers(raw))
    await small.drain()

    assert response.status_code == 202
    assert small.rows()["biomarkers"] == 1


async def test_a_malformed_content_length_is_refused_with_400() -> None:
    app = receiver()
    exchange = Exchange([])

    await app(http_scope([(b"content-length", b"12abc")]), exchange.receive, exchange.send)

    assert exchange.status == 400
    assert exchange.received == 0


async def test_a_body_that_never_finishes_is_refused_with_408() -> None:
    app = receiver(read_timeout=0.05)
    exchange = Exchange([{"type": "http.request", "body": b"{", "more_body": True}], hang=True)

    await app(http_scope([(b"x-event-type", b"BiomarkerCreatedIntegrationEvent")]), exchange.receive, exchange.send)

    assert exchange.status == 408
    assert app.stats().rejected == {"body_timeout": 1}


async def test_a_client_that_goes_away_gets_no_answer_and_is_counted() -> None:
    app = receiver()
    exchange = Exchange([{"type": "http.request", "body": b"{", "more_body": True}])

    await app(http_scope([]), exchange.receive, exchange.send)

    assert exchange.sent == []
    stats = app.stats()
    assert (stats.received, stats.disconnected, stats.rejected_total) == (1, 1, 0)


async def test_the_receiver_answers_a_servers_lifespan_messages() -> None:
    app = receiver()
    exchange = Exchange([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    await app({"type": "lifespan"}, exchange.receive, exchange.send)

    assert [m["type"] for m in exchange.sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_a_websocket_is_closed_at_once() -> None:
    app = receiver()
    exchange = Exchange([{"type": "websocket.connect"}])

    await app({"type": "websocket", "path": "/", "headers": []}, exchange.receive, exchange.send)

    assert exchange.sent == [{"type": "websocket.close", "code": 1008}]
