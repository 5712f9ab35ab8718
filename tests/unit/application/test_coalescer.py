"""Coalescer: calls that come while a batch is worked on go together in the next one, each with its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from sahha_sync.adapters.memory import InMemoryJobQueue
from sahha_sync.application.batches import Coalescer
from sahha_sync.application.ports import JobContext
from sahha_sync.domain import InvalidInputError


class Doubler:
    """Work that doubles each item, refuses negative ones, and can be held until released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        await self.gate.wait()
        return [ValueError(f"negative {n}") if n < 0 else 2 * n for n in items]


async def test_a_lone_call_is_worked_on_at_once_and_alone() -> None:
    work = Doubler()
    coalescer: Coalescer[int, int] = Coalescer(work, max_size=8)
    assert await coalescer(3) == 6
    assert work.batches == [[3]]


async def test_calls_that_come_while_a_batch_runs_go_together_in_the_next_one() -> None:
    work = Doubler()
    work.gate.clear()
    coalescer: Coalescer[int, int] = Coalescer(work, max_size=8)
    first = asyncio.create_task(coalescer(1))
    await asyncio.sleep(0)
    later = [asyncio.create_task(coalescer(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    work.gate.set()
    assert await asyncio.gather(first, *later) == [2, 4, 6, 8]
    assert work.batches == [[1], [2, 3, 4]]


async def test_a_batch_takes_at_most_max_size_calls_in_the_order_they_came() -> None:
    work = Doubler()
    work.gate.clear()
    coalescer: Coalescer[int, int] = Coalescer(work, max_size=2)
    calls = [asyncio.create_task(coalescer(n)) for n in range(5)]
    await asyncio.sleep(0)
    work.gate.set()
    assert await asyncio.gather(*calls) == [0, 2, 4, 6, 8]
    assert work.batches == [[0, 1], [2, 3], [4]]


async def test_each_call_gets_its_own_outcome_and_an_error_reaches_only_its_caller() -> None:
    work = Doubler()
    work.gate.clear()
    coalescer: Coalescer[int, int] = Coalescer(work, max_size=8)
    calls = [asyncio.create_task(coalescer(n)) for n in (1, -2, 3)]
    await asyncio.sleep(0)
    work.gate.set()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert outcomes[0] == 2
    assert outcomes[2] == 6
    assert isinstance(outcomes[1], ValueError)
    assert str(outcomes[1]) == "negative -2"


async def test_when_the_work_itself_fails_every_caller_of_that_batch_hears_it_and_the_next_batch_runs() -> None:
    calls: list[list[int]] = []

    async def work(items: Sequence[int]) -> list[int | BaseException]:
        calls.append(list(items))
        if len(calls) == 1:
            raise ConnectionError("lost")
        return list(items)

    coalescer: Coalescer[int, int] = Coalescer(work, max_size=8)
    with pytest.raises(ConnectionError):
        await coalescer(1)
    assert await coalescer(2) == 2


async def test_work_that_gives_the_wrong_number_of_outcomes_is_an_error_for_its_callers() -> None:
    async def work(items: Sequence[int]) -> list[int | BaseException]:
        return []

    coalescer: Coalescer[int, int] = Coalescer(work, max_size=8)
    with pytest.raises(RuntimeError, match="0 outcomes for 1 items"):
        await coalescer(1)


async def test_a_caller_cancelled_before_its_batch_began_is_not_worked_on() -> None:
    work = Doubler()
    work.gate.clear()
    coalescer: Coalescer[int, int] = Coalescer(work, max_size=8)
    first = asyncio.create_task(coalescer(1))
    await asyncio.sleep(0)
    gone, kept = asyncio.create_task(coalescer(2)), asyncio.create_task(coalescer(3))
    await asyncio.sleep(0)
    gone.cancel()
    work.gate.set()
    assert await first == 2
    assert await kept == 6
    assert work.batches == [[1], [3]]


@pytest.mark.parametrize(("max_size", "at_once", "field"), [(0, 1, "max_size"), (1, 0, "at_once")])
def test_sizes_must_be_at_least_one(max_size: int, at_once: int, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Coalescer(Doubler(), max_size=max_size, at_once=at_once)
    assert caught.value.field == field


async def test_with_two_batches_at_once_a_second_batch_starts_while_the_first_is_worked_on() -> None:
    work = Doubler()
    work.gate.clear()
    coalescer: Coalescer[int, int] = Coalescer(work, max_size=8, at_once=2)
    first = asyncio.create_task(coalescer(1))
    await asyncio.sleep(0)
    second = asyncio.create_task(coalescer(2))
    await asyncio.sleep(0)
    third = [asyncio.create_task(coalescer(n)) for n in (3, 4)]
    await asyncio.sleep(0)
    assert work.batches == [[1], [2]]  # both held at the gate, the later calls waiting for one of them
    work.gate.set()
    assert await asyncio.gather(first, second, *third) == [2, 4, 6, 8]
    assert work.batches == [[1], [2], [3, 4]]


async def test_calls_after_every_batch_ended_start_a_new_one() -> None:
    work = Doubler()
    coalescer: Coalescer[int, int] = Coalescer(work, max_size=8, at_once=2)
    for n in range(5):
        assert await asyncio.wait_for(coalescer(n), timeout=1) == 2 * n
    assert work.batches == [[n] for n in range(5)]


async def test_the_jobs_a_queues_workers_take_as_soon_as_a_batch_answers_them_go_together() -> None:
    batches: list[list[int]] = []

    async def work(items: Sequence[int]) -> list[int | BaseException]:
        batches.append(list(items))
        await asyncio.sleep(0.002)  # the database's turn
        return list(items)

    coalescer: Coalescer[int, int] = Coalescer(work, max_size=8)

    async def handler(payload: Mapping[str, Any], context: JobContext) -> None:
        await coalescer(payload["n"])

    queue = InMemoryJobQueue(concurrency=4)
    queue.register("DOUBLE", handler)
    await queue.start()
    await queue.submit_job("DOUBLE", {"n": 0})
    await asyncio.sleep(0.001)  # its batch begins alone; the next jobs come while it is worked on
    for n in range(1, 17):
        await queue.submit_job("DOUBLE", {"n": n})
    assert await queue.wait_idle(timeout=5)
    await queue.stop()
    assert [len(batch) for batch in batches] == [1, 4, 4, 4, 4]
