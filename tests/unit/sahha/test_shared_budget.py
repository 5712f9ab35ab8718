"""Clients of one account draw from one shared budget: a Retry-After met by one pauses the others, processes
take turns, every request and 429 reaches the account's figures, and a budget that cannot be reached leaves a
client on its share of the rate until it answers again."""

from __future__ import annotations

import asyncio
import itertools
import time

import httpx
from structlog.testing import capture_logs

from sahha_sync.adapters.memory import InMemoryRateBudget
from sahha_sync.adapters.sahha.limiter import RequestLimiter
from sahha_sync.application.ports.rate_budget import RateBudgetUnavailableError


async def test_a_retry_after_met_by_one_client_pauses_another(make_source, stub, week, fake_time):
    budget = InMemoryRateBudget(holder="a", monotonic=fake_time.monotonic)
    answered_429_at: list[float] = []
    b_starts: list[float] = []

    def first_rate_limited(request: httpx.Request) -> httpx.Response:
        if not answered_429_at:
            answered_429_at.append(fake_time.monotonic())
            return httpx.Response(429, headers={"Retry-After": "7"})
        return httpx.Response(204)

    def record(request: httpx.Request) -> httpx.Response:
        b_starts.append(fake_time.monotonic())
        return httpx.Response(204)

    a_waits, release_a = asyncio.Event(), asyncio.Event()

    async def a_sleep(seconds: float) -> None:
        a_waits.set()
        await release_a.wait()

    a = make_source(stub(first_rate_limited).transport, rate_budget=budget, sleep=a_sleep)
    b = make_source(stub(record).transport, rate_budget=budget.peer("b"))
    fetch_a = asyncio.create_task(a.fetch("u1", week))
    await asyncio.wait_for(a_waits.wait(), 5)
    await asyncio.sleep(0)  # the pause reaches the account in the background
    assert (await budget.figures()).paused_for == 7
    await b.fetch("u2", week)
    release_a.set()
    await fetch_a
    assert len(b_starts) == 2
    assert min(b_starts) >= answered_429_at[0] + 7


async def test_processes_take_turns_so_none_waits_for_more_than_a_few_batches():
    budget = InMemoryRateBudget(holder="a")
    spacing, batch = 0.005, 4
    limiters = {
        name: RequestLimiter(
            spacing, 4, sleep=asyncio.sleep, monotonic=time.monotonic, budget=handle, batch_span=batch * spacing
        )
        for name, handle in (("a", budget), ("b", budget.peer("b")))
    }
    starts: list[tuple[float, str]] = []

    async def call(name: str) -> None:
        async with limiters[name].slot():
            starts.append((time.monotonic(), name))

    await asyncio.gather(*(call(name) for _ in range(24) for name in limiters))
    order = [name for _, name in starts]
    assert order.count("a") == order.count("b") == 24
    assert max(len(list(run)) for _, run in itertools.groupby(order)) <= 2 * batch
    for n, (start, _) in enumerate(starts):  # together they keep the account's spacing
        assert start - starts[0][0] >= n * spacing - 2 * spacing


async def test_every_request_and_429_of_a_client_reaches_the_accounts_figures(make_source, stub, week, fake_time):
    budget = InMemoryRateBudget(holder="a", monotonic=fake_time.monotonic)
    answers = iter([httpx.Response(429)])
    source = make_source(stub(lambda request: next(answers, httpx.Response(204))).transport, rate_budget=budget)
    await source.fetch("u1", week)
    first = source.stats()
    await source.fetch("u2", week)  # the first fetch's requests are reported with the next reservation
    figures = await budget.peer("reader").figures()
    assert (first.requests, first.rate_limited) == (4, 1)
    assert first.requests <= figures.requests <= source.stats().requests
    assert figures.rate_limited == 1


async def test_a_budget_that_cannot_be_reached_leaves_the_client_on_its_share_until_it_answers(fake_time):
    budget = InMemoryRateBudget(holder="a", monotonic=fake_time.monotonic)
    limiter = RequestLimiter(
        0.1, 1, sleep=fake_time.sleep, monotonic=fake_time.monotonic, budget=budget, rejoin_after=5.0
    )
    await budget.peer("b").reserve(1, 0.1)  # a second process draws from the account too
    starts: list[float] = []

    async def start() -> None:
        async with limiter.slot():
            starts.append(fake_time.monotonic())

    await start()
    budget.faults.fail_with(RateBudgetUnavailableError("the database is down"))
    with capture_logs() as logs:
        for _ in range(4):
            await start()
        budget.faults.clear_failures()
        while not any(log["event"] == "sahha.rate_budget_rejoined" for log in logs):
            await start()
    degraded = [log for log in logs if log["event"] == "sahha.rate_budget_degraded"]
    assert len(degraded) == 1
    assert (degraded[0]["processes"], degraded[0]["share"], degraded[0]["spacing_ms"]) == (2, 0.5, 200.0)
    gaps = [b - a for a, b in itertools.pairwise(starts[2:6])]
    assert all(abs(gap - 0.2) < 1e-9 for gap in gaps)  # half the account's rate: twice the spacing
    assert starts[-1] - starts[1] >= 5.0  # it tried the budget again only after rejoin_after
    figures = await budget.figures()
    assert figures.requests == len(starts) - 1  # what it sent while cut off is reported on rejoining
