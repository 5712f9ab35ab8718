"""The shared Sahha rate budget keeps its contract in memory and on Postgres."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.memory import InMemoryRateBudget
from sahha_sync.adapters.sql import PostgresRateBudget
from sahha_sync.testing.rate_budget import MakeBudget, RateBudgetContract


class TestInMemoryRateBudget(RateBudgetContract):
    @pytest.fixture
    def make_budget(self) -> MakeBudget:
        shared = InMemoryRateBudget()
        return lambda holder, account="primary": shared.peer(holder, account)


@pytest.mark.postgres
class TestPostgresRateBudget(RateBudgetContract):
    @pytest.fixture
    async def make_budget(self, postgres_engine: AsyncEngine) -> MakeBudget:
        suffix = uuid.uuid4().hex[:8]
        return lambda holder, account="primary": PostgresRateBudget(
            postgres_engine, f"{account}-{suffix}", holder=holder
        )
