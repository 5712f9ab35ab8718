"""Fixtures for the Sahha client and emulator tests: virtual time, the emulator in-process, and clients."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sahha_sync.adapters.sahha import SahhaHealthDataSource
from sahha_sync.adapters.sahha.emulator import (
    EMULATOR_BASE_URL,
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    SahhaEmulator,
    SyntheticPopulation,
    emulator_transport,
)
from sahha_sync.domain import FetchWindow

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
WEEK = FetchWindow(NOW - timedelta(days=7), NOW)


class FakeTime:
    """Virtual time: ``sleep`` records the wait and moves the clocks on at once (no real waiting)."""

    def __init__(self, wall: datetime = NOW) -> None:
        self.mono = 1000.0
        self.wall = wall.timestamp()
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.mono

    def wall_clock(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def population() -> SyntheticPopulation:
    return SyntheticPopulation(seed=0, size=6)


@pytest.fixture
def emulator(population: SyntheticPopulation) -> SahhaEmulator:
    return SahhaEmulator(population, clock=lambda: NOW)


MakeSource = Callable[..., SahhaHealthDataSource]


@pytest.fixture
async def make_source(fake_time: FakeTime) -> AsyncIterator[MakeSource]:
    """``make_source(transport_or_emulator, **options)``: a client on virtual time, no spacing, no cache."""
    async with contextlib.AsyncExitStack() as stack:

        def make(target: SahhaEmulator | httpx.AsyncBaseTransport, **options: Any) -> SahhaHealthDataSource:
            transport = emulator_transport(target) if isinstance(target, SahhaEmulator) else target
            http = httpx.AsyncClient(transport=transport)
            stack.push_async_callback(http.aclose)
            settings: dict[str, Any] = {
                "client_id": EMULATOR_CLIENT_ID,
                "client_secret": EMULATOR_CLIENT_SECRET,
                "base_url": EMULATOR_BASE_URL,
                "rate_limit_delay": 0.0,
                "cache_ttl": 0.0,
                "sleep": fake_time.sleep,
                "monotonic": fake_time.monotonic,
                "wall_clock": fake_time.wall_clock,
                "now": lambda: NOW,
            }
            settings.update(options)
            return SahhaHealthDataSource(http, **settings)

        yield make


@pytest.fixture
def week() -> FetchWindow:
    return WEEK


Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


class Stub:
    """A fake Sahha behind ``httpx.MockTransport``: answers the token route itself (``token_answers`` in
    turn, then the last one again; by default a new token each time) and hands data requests to
    ``handler``; keeps every request."""

    def __init__(self, handler: Handler, token_answers: list[httpx.Response] | None = None) -> None:
        self.handler = handler
        self.token_answers = token_answers
        self.token_requests: list[httpx.Request] = []
        self.data_requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/account/token"):
            self.token_requests.append(request)
            if self.token_answers is None:
                return httpx.Response(200, json={"accountToken": f"t-{len(self.token_requests)}", "expiresIn": 86400})
            answer = self.token_answers[min(len(self.token_requests), len(self.token_answers)) - 1]
            return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)
        self.data_requests.append(request)
        result = self.handler(request)
        return await result if inspect.isawaitable(result) else result


@pytest.fixture
def stub() -> Callable[..., Stub]:
    return Stub
