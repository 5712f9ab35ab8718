"""``serve_async``: a webhook receiver on its own, under uvicorn (``sahha-sync webhook serve``).

The receiver's queue belongs to the caller, who starts it before serving and stops it after: the server only
submits to it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn

from sahha_sync.adapters.webhook.receiver import SahhaWebhookReceiver
from sahha_sync.application.logs import get_logger

log = get_logger(__name__)


def uvicorn_server(receiver: Any, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for ``receiver`` (an ASGI app) that leaves logging to the host (no log config, no access
    log)."""
    config = uvicorn.Config(
        receiver, host=host, port=port, log_config=None, access_log=False, lifespan="on", server_header=False
    )
    return uvicorn.Server(config)


async def _stop_when(event: asyncio.Event, server: uvicorn.Server) -> None:
    await event.wait()
    server.should_exit = True


async def serve_async(
    receiver: SahhaWebhookReceiver, host: str, port: int, *, stop: asyncio.Event | None = None, app: Any = None
) -> None:
    """Serve ``receiver`` on ``host:port`` until the process is interrupted or ``stop`` is set; ``app``, when
    given, is the ASGI app served instead (one that hands the deliveries to ``receiver``)."""
    server = uvicorn_server(receiver if app is None else app, host, port)
    watcher = asyncio.create_task(_stop_when(stop, server)) if stop is not None else None
    log.info("webhook.serving", host=host, port=port, max_body_bytes=receiver.max_body_bytes)
    try:
        await server.serve()
    finally:
        if watcher is not None:
            watcher.cancel()
    log.info("webhook.stopped", stats=receiver.stats().as_dict())
