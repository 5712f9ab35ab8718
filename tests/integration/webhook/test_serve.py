"""``serve_async``: the receiver alone under uvicorn, on a real socket, with its own queue or the host's."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import InMemoryJobQueue, InMemoryStores
from sahha_sync.adapters.webhook import MissingWebhookSecretError, serve_async
from sahha_sync.application.use_cases.ingest_webhook import IngestWebhookRecords
from sahha_sync.domain import InvalidInputError
from tests.unit.webhook.deliveries import NOW, SECRET, biomarker_body, encode, signed_headers

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


async def post_when_up(port: int, raw: bytes, headers: dict[str, str], tries: int = 200) -> httpx.Response:
    """POST once the server listens (it binds in the background task); connection refusals mean 'not yet'."""
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as client:
        for _ in range(tries):
            try:
                return await client.post("/sahha/webhook", content=raw, headers=headers)
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
    raise AssertionError("the webhook server never started listening")


async def test_a_standalone_server_archives_a_signed_delivery_and_drains_its_queue_on_stop() -> None:
    stores, stop, port = InMemoryStores(), asyncio.Event(), free_port()
    server = asyncio.create_task(
        serve_async(HOST, port, secret=SECRET, unit_of_work=stores.unit_of_work, clock=ManualClock(NOW), stop=stop)
    )
    raw = encode(biomarker_body())

    response = await post_when_up(port, raw, signed_headers(raw))
    unsigned = await post_when_up(port, raw, {"X-Event-Type": "BiomarkerCreatedIntegrationEvent"})
    stop.set()
    await asyncio.wait_for(server, 30)

    assert (response.status_code, unsigned.status_code) == (202, 401)
    assert stores.archive.counts()["biomarkers"] == 1


async def test_with_the_hosts_queue_the_server_only_submits_and_leaves_the_queue_to_its_owner() -> None:
    queue, stop, port = InMemoryJobQueue(), asyncio.Event(), free_port()
    server = asyncio.create_task(serve_async(HOST, port, secret=SECRET, queue=queue, stop=stop))
    raw = encode(biomarker_body())

    response = await post_when_up(port, raw, signed_headers(raw))
    stop.set()
    await asyncio.wait_for(server, 30)

    assert response.status_code == 202
    assert (await queue.get_stats()).queued == 1  # for the workers that run elsewhere
    await queue.submit_job(IngestWebhookRecords.JOB_TYPE, {})  # still open: the server did not stop it


async def test_the_server_refuses_to_start_without_a_secret() -> None:
    with pytest.raises(MissingWebhookSecretError):
        await serve_async(HOST, free_port(), secret=None, unit_of_work=InMemoryStores().unit_of_work)


async def test_an_in_memory_queue_needs_somewhere_to_archive() -> None:
    with pytest.raises(InvalidInputError, match="unit_of_work"):
        await serve_async(HOST, free_port(), secret=SECRET)
