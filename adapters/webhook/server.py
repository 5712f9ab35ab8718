"""``serve``: the webhook receiver on its own, under uvicorn (``sahha-sync webhook serve``).

With no ``queue``, an ``InMemoryJobQueue`` is made, the ingest job registered on it against ``unit_of_work``,
started before the server and drained after it stops. With a ``queue``, the caller owns it (starts and stops
it); the ingest job is registered on it only when ``unit_of_work`` is given (otherwise its workers run
elsewhere, e.g. ``sahha-sync worker`` on the durable queue).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn

from sahha_sync.adapters.clock import SystemClock
from sahha_sync.adapters.memory import InMemoryJobQueue
from sahha_sync.adapters.webhook.receiver import DEFAULT_MAX_BODY_BYTES, SahhaWebhookReceiver, SecretLike
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.job_queue import JobQueue
from sahha_sync.application.ports.unit_of_work import UnitOfWorkFactory
from sahha_sync.application.use_cases.ingest_webhook import IngestWebhookRecords
from sahha_sync.domain.errors import InvalidInputError

log = get_logger(__name__)

DRAIN_TIMEOUT = 30.0


def uvicorn_server(receiver: SahhaWebhookReceiver, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for ``receiver`` that leaves logging to the host (no log config, no access log)."""
    config = uvicorn.Config(
        receiver, host=host, port=port, log_config=None, access_log=False, lifespan="on", server_header=False
    )
    return uvicorn.Server(config)


@contextlib.asynccontextmanager
async def _running(queue: JobQueue, *, owned: bool) -> AsyncIterator[None]:
    if owned:
        await queue.start()
    try:
        yield
    finally:
        if owned:
            await queue.stop(drain=True, timeout=DRAIN_TIMEOUT)


async def _stop_when(event: asyncio.Event, server: uvicorn.Server) -> None:
    await event.wait()
    server.should_exit = True


async def serve_async(
    host: str,
    port: int,
    *,
    secret: str | SecretLike | None,
    queue: JobQueue | None = None,
    unit_of_work: UnitOfWorkFactory | None = None,
    clock: Clock | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve webhooks on ``host:port`` until the process is interrupted or ``stop`` is set."""
    clock = clock if clock is not None else SystemClock()
    owned = queue is None
    if queue is None:
        if unit_of_work is None:
            raise InvalidInputError(
                "serving webhooks on an in-memory queue needs unit_of_work to archive into", field="unit_of_work"
            )
        queue = InMemoryJobQueue()
    receiver = SahhaWebhookReceiver(secret=secret, queue=queue, clock=clock, max_body_bytes=max_body_bytes)
    if unit_of_work is not None:
        queue.register(IngestWebhookRecords.JOB_TYPE, IngestWebhookRecords(unit_of_work=unit_of_work, clock=clock))
    server = uvicorn_server(receiver, host, port)
    async with _running(queue, owned=owned):
        watcher = asyncio.create_task(_stop_when(stop, server)) if stop is not None else None
        log.info("webhook.serving", host=host, port=port, max_body_bytes=max_body_bytes)
        try:
            await server.serve()
        finally:
            if watcher is not None:
                watcher.cancel()
        log.info("webhook.stopped", stats=receiver.stats().as_dict())


def serve(
    host: str,
    port: int,
    *,
    secret: str | SecretLike | None,
    queue: JobQueue | None = None,
    unit_of_work: UnitOfWorkFactory | None = None,
    clock: Clock | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> None:
    """``serve_async`` in a new event loop, for a command line."""
    asyncio.run(
        serve_async(
            host,
            port,
            secret=secret,
            queue=queue,
            unit_of_work=unit_of_work,
            clock=clock,
            max_body_bytes=max_body_bytes,
        )
    )
