"""Many rows are converted in slices, the event loop getting a turn whenever a slice ends past the time budget."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any

import pytest

from sahha_sync.application import turns as _turns
from sahha_sync.application.turns import SLICE_ROWS, in_turns


def doubled(items: Sequence[int]) -> list[int]:
    return [2 * item for item in items]


async def turns_given(items: list[int]) -> tuple[list[int], int]:
    """What ``in_turns`` returns, and how many turns a task beside it got meanwhile."""
    return await beside_counting(in_turns(items, doubled))


async def beside_counting(work: Coroutine[Any, Any, list[int]]) -> tuple[list[int], int]:
    """What ``work`` returns, and how many turns a task beside it got meanwhile."""
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
    result = await work
    turns_meanwhile = turns - started
    stop.set()
    await other
    return result, turns_meanwhile


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


async def test_a_short_conversion_gives_a_turn_only_once_past_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_turns, "TURN_SECONDS", 0.0)
    assert await turns_given(list(range(SLICE_ROWS))) == ([2 * item for item in range(SLICE_ROWS)], 1)
    monkeypatch.setattr(_turns, "TURN_SECONDS", 3600.0)
    assert await turns_given(list(range(SLICE_ROWS))) == ([2 * item for item in range(SLICE_ROWS)], 0)
    assert await in_turns([], doubled) == []


class SteppingClock:
    """A ``time`` whose ``perf_counter`` moves 0.4 ms on at every look."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 0.0004
        return self.now


async def test_the_budget_spans_the_conversions_of_one_piece_of_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_turns, "TURN_SECONDS", 0.001)
    two_slices = list(range(2 * SLICE_ROWS))
    monkeypatch.setattr(_turns, "time", SteppingClock())
    assert (await turns_given_to_parts(two_slices, two_slices, shared=False))[1] == 0  # 0.8 ms each: no turn
    monkeypatch.setattr(_turns, "time", SteppingClock())
    assert (await turns_given_to_parts(two_slices, two_slices, shared=True))[1] == 1  # 1.2 ms into the second


async def turns_given_to_parts(first: list[int], second: list[int], *, shared: bool) -> tuple[list[int], int]:
    """Both lists converted one after the other, as one piece of work (``shared``) or as two."""
    piece = _turns.Turns()

    async def both() -> list[int]:
        return await in_turns(first, doubled, piece if shared else None) + await in_turns(
            second, doubled, piece if shared else _turns.Turns()
        )

    return await beside_counting(both())
