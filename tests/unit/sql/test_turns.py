"""Many rows are converted in slices, the event loop getting a turn whenever a slice ends past the time budget."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from sahha_sync.adapters.sql import _turns
from sahha_sync.adapters.sql._turns import SLICE_ROWS, in_turns


def doubled(items: Sequence[int]) -> list[int]:
    return [2 * item for item in items]


async def turns_given(items: list[int]) -> tuple[list[int], int]:
    """What ``in_turns`` returns, and how many turns a task beside it got meanwhile."""
    turns = 0
    stop = asyncio.Event()

    async def beside() -> None:
        nonlocal turns
        while not stop.is_set():
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(beside())
    await asyncio.sleep(0)  # it has started and waits for its next turn
    started = turns
    converted = await in_turns(items, doubled)
    turns_meanwhile = turns - started
    stop.set()
    await other
    return converted, turns_meanwhile


async def test_the_loop_gets_a_turn_after_each_slice_past_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_turns, "TURN_SECONDS", 0.0)  # every slice is past it
    items = list(range(5 * SLICE_ROWS + 3))
    converted, turns = await turns_given(items)
    assert converted == [2 * item for item in items]
    assert turns == 6  # one after each of the six slices


async def test_work_within_the_budget_keeps_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_turns, "TURN_SECONDS", 3600.0)
    items = list(range(5 * SLICE_ROWS))
    assert await turns_given(items) == ([2 * item for item in items], 0)


async def test_a_single_slice_is_converted_in_one_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_turns, "TURN_SECONDS", 0.0)
    assert await turns_given(list(range(SLICE_ROWS))) == ([2 * item for item in range(SLICE_ROWS)], 0)
    assert await in_turns([], doubled) == []
