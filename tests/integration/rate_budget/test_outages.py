"""The shared rate budget outlives what goes wrong around it: a process killed while holding starts, and a
database that goes away and comes back."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from sahha_sync.adapters.sahha.limiter import RequestLimiter
from sahha_sync.adapters.sql import PostgresRateBudget, create_engine
from tests.integration.rate_budget.conftest import Cluster

pytestmark = pytest.mark.postgres

HOLDER = """
import asyncio, sys
from sahha_sync.adapters.sql import PostgresRateBudget, create_engine

async def hold(url, account):
    grant = await PostgresRateBudget(create_engine(url), account, holder="doomed").reserve(30, 0.05)
    print(grant.count, flush=True)
    await asyncio.sleep(3600)

asyncio.run(hold(sys.argv[1], sys.argv[2]))
"""


async def test_a_process_killed_while_holding_starts_holds_the_account_back_only_until_they_pass(
    postgres_url: str, postgres_engine: AsyncEngine
) -> None:
    account = f"killed-{uuid.uuid4().hex[:8]}"
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, postgres_url, account, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"30"  # 1.5 s of starts reserved
    finally:
        holder.send_signal(signal.SIGKILL)
        await holder.wait()
    survivor = PostgresRateBudget(postgres_engine, account, holder="survivor")
    behind_the_dead = await survivor.reserve(1, 0.05)
    assert 0 < behind_the_dead.delay <= 30 * 0.05  # after the dead process's starts, never later
    await asyncio.sleep(behind_the_dead.delay + 0.05)
    once_they_passed = await survivor.reserve(1, 0.05)
    assert abs(once_they_passed.delay) < 0.01  # nothing of the dead process holds the account back any more


async def test_a_database_blip_leaves_the_client_on_its_share_until_the_database_is_back(
    throwaway_cluster: Cluster,
) -> None:
    engine = create_engine(throwaway_cluster.url)
    budget = PostgresRateBudget(engine, "blip", holder="survivor", timeout=1.0)
    await PostgresRateBudget(engine, "blip", holder="other").reserve(1, 0.01)  # a second process of the account
    limiter = RequestLimiter(0.01, 1, sleep=asyncio.sleep, monotonic=time.monotonic, budget=budget, rejoin_after=0.2)
    starts = 0

    async def start() -> None:
        nonlocal starts
        async with limiter.slot():
            starts += 1

    try:
        await start()
        throwaway_cluster.stop()
        with capture_logs() as logs:
            for _ in range(5):
                await start()  # the database is gone, the requests still go, spaced here
            assert limiter.shared is not None
            assert limiter.shared.degraded
            throwaway_cluster.start()
            async with asyncio.timeout(60):
                while not any(log["event"] == "sahha.rate_budget_rejoined" for log in logs):
                    await start()
        figures = await budget.figures()
    finally:
        await engine.dispose()
    degraded = [log for log in logs if log["event"] == "sahha.rate_budget_degraded"]
    assert len(degraded) == 1
    assert (degraded[0]["processes"], degraded[0]["share"], degraded[0]["spacing_ms"]) == (2, 0.5, 20.0)
    assert not limiter.shared.degraded
    assert figures.requests == starts - 1  # what it sent while cut off was reported when it rejoined
