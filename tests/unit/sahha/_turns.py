"""Counting how often the event loop lets another task run while some work goes on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Turns:
    """How many turns a task that only yields got (``count``)."""

    count = 0


@asynccontextmanager
async def other_task_turns() -> AsyncIterator[Turns]:
    """A task that yields in a loop runs while the block does; ``Turns.count`` says how often it got a turn."""
    turns = Turns()

    async def other_task() -> None:
        while True:
            turns.count += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_task())
    await asyncio.sleep(0)
    turns.count = 0
    try:
        yield turns
    finally:
        other.cancel()
