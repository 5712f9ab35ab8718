"""``sahha-sync webhook serve`` as a real process, and a sender that delivers until it has enough
acknowledgements, then crashes something at once (the server, or its database)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.unit.webhook.deliveries import SECRET, biomarker_body, encode, signed_headers

HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
IN_FLIGHT = 16


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def record_type(n: int) -> str:
    """Delivery ``n``'s biomarker type: each delivery its own record, found again by this name."""
    return f"crash_test_{n:04d}"


class WebhookServer:
    """One ``webhook serve`` process on ``port``, its output in ``log``."""

    def __init__(self, log: Path, port: int, **settings: str) -> None:
        self.port, self.log = port, log
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SAHHA_", "OPENAI_"))}
        env.update(
            PYTHONUNBUFFERED="1",
            SAHHA_SYNC_WEBHOOK_SECRET=SECRET,
            SAHHA_SYNC_SOURCE="emulator",
            SAHHA_SYNC_LOG_FORMAT="json",
            **settings,
        )
        command = [sys.executable, "-m", "sahha_sync.infrastructure.cli", "webhook", "serve", "--port", str(port)]
        with log.open("a") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"webhook serve exited ({self.process.returncode}):\n{self.log.read_text()}")
            with socket.socket() as probe:
                if probe.connect_ex((HOST, self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError(f"webhook serve did not listen within {READY_TIMEOUT} s:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no drain, nothing flushed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def terminate(self) -> int:
        """SIGTERM, as an operator stops it; returns the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)


async def deliver_until(port: int, total: int, enough: int, crash: Callable[[], None]) -> set[str]:
    """POST ``total`` signed biomarker deliveries, ``IN_FLIGHT`` at a time; as soon as ``enough`` were acknowledged
    call ``crash()`` (the rest meet whatever it left). Returns the record types of every acknowledged delivery."""
    acknowledged: set[str] = set()
    crashed = False
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def deliver(client: httpx.AsyncClient, n: int) -> None:
        nonlocal crashed
        raw = encode(biomarker_body(value=str(n), type=record_type(n)))
        async with gate:
            if crashed:
                return
            try:
                response = await client.post("/", content=raw, headers=signed_headers(raw))
            except httpx.TransportError:
                return
        if response.status_code == 202:
            acknowledged.add(record_type(n))
            if len(acknowledged) >= enough and not crashed:
                crashed = True
                crash()

    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=30) as client:
        await asyncio.gather(*(deliver(client, n) for n in range(total)))
    assert crashed, f"only {len(acknowledged)} of {total} deliveries were acknowledged, not {enough}"
    return acknowledged
