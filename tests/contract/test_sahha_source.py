"""The ``HealthDataSource`` contract, run against the real Sahha client talking to the emulator in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from sahha_sync.adapters.sahha import SahhaHealthDataSource
from sahha_sync.adapters.sahha.emulator import (
    EMULATOR_BASE_URL,
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    SahhaEmulator,
    StaticPopulation,
    emulator_transport,
)
from sahha_sync.application.ports import HealthDataSource
from sahha_sync.domain.health import HealthRecords
from sahha_sync.testing.health_data_source import HealthDataSourceContract


class TestSahhaHealthDataSourceOnTheEmulator(HealthDataSourceContract):
    @pytest.fixture
    async def make_source(self) -> AsyncIterator[Callable[[HealthRecords], HealthDataSource]]:
        clients: list[httpx.AsyncClient] = []

        def make(records: HealthRecords) -> HealthDataSource:
            http = httpx.AsyncClient(transport=emulator_transport(SahhaEmulator(StaticPopulation(records))))
            clients.append(http)
            return SahhaHealthDataSource(
                http,
                client_id=EMULATOR_CLIENT_ID,
                client_secret=EMULATOR_CLIENT_SECRET,
                base_url=EMULATOR_BASE_URL,
                rate_limit_delay=0.0,
            )

        yield make
        for http in clients:
            await http.aclose()
