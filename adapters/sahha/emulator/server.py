"""Running the emulator: in-process through an httpx transport, or on loopback with uvicorn."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

from sahha_sync.adapters.sahha.emulator.app import SahhaEmulator
from sahha_sync.adapters.sahha.emulator.population import Population

if TYPE_CHECKING:
    import uvicorn

EMULATOR_BASE_URL = "http://sahha-emulator.local"
"""The base URL to give the client when it talks to the emulator through ``emulator_transport``."""


def emulator_transport(emulator: SahhaEmulator) -> httpx.AsyncBaseTransport:
    """An httpx transport that hands every request to ``emulator`` in-process (no sockets)."""
    return httpx.ASGITransport(app=emulator)


def _server(emulator: SahhaEmulator, host: str, port: int) -> uvicorn.Server:
    import uvicorn  # the [server] extra: only serving on loopback needs it, the in-process transport does not

    config = uvicorn.Config(emulator, host=host, port=port, lifespan="off", log_level="warning", access_log=False)
    return uvicorn.Server(config)


def serve(host: str = "127.0.0.1", port: int = 8765, *, population: Population | None = None, **knobs: Any) -> None:
    """Serve a ``SahhaEmulator(population, **knobs)`` on ``host:port`` until interrupted (blocks)."""
    _server(SahhaEmulator(population, **knobs), host, port).run()


@contextlib.contextmanager
def running_emulator(emulator: SahhaEmulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``emulator`` on loopback in a background thread; yields its base URL (port 0 = a free port)."""
    server = _server(emulator, host, port)
    thread = threading.Thread(target=server.run, name="sahha-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the Sahha emulator did not start on {host}:{port}")
        time.sleep(0.02)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10.0)
