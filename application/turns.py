"""Long conversions without holding the host's event loop: the work goes in slices, and the loop gets a turn
whenever ``TURN_SECONDS`` of it went by since the last turn.

A job's payload holds a few hundred records to decode, and a batch of a few archival jobs a thousand rows to
convert (records into rows, rows into SQLite's stored form); a run reads hundreds back. In one step, each held a
host's loop for 2-7 ms at a time, and every other request of the host waited. In turns, a step lasts about
``TURN_SECONDS``; where nothing else waits (a worker process), a turn costs one pass of the loop per
``TURN_SECONDS`` of work. ``Turns.convert`` slices a list; ``Turns.run`` drives work written as a generator that
pauses (a bare ``yield``) where it may be interrupted, as the domain's decoders do (``payload_steps``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator, Sequence
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")

TURN_SECONDS = 0.001  # the longest a conversion runs before the loop gets a turn (give or take one slice)
SLICE_ROWS = 32  # rows converted between two looks at the clock


class Turns:
    """One piece of work done in steps: the loop gets a turn whenever ``TURN_SECONDS`` went by since the last turn
    this piece gave (or since it began), however many conversions it runs in between."""

    __slots__ = ("_since",)

    def __init__(self) -> None:
        self._since = time.perf_counter()

    async def convert(self, items: Sequence[T], convert: Callable[[Sequence[T]], list[U]]) -> list[U]:
        """``convert(items)``, done ``SLICE_ROWS`` items at a time (``convert`` must treat items independently)."""
        converted: list[U] = []
        for start in range(0, len(items), SLICE_ROWS):
            converted += convert(items[start : start + SLICE_ROWS])
            await self._turn_if_due()
        return converted

    async def run(self, steps: Generator[None, None, U]) -> U:
        """What the generator ``steps`` returns, run to its end, the loop getting turns at its pauses."""
        while True:
            try:
                next(steps)
            except StopIteration as done:
                result: U = done.value
                return result
            await self._turn_if_due()

    async def _turn_if_due(self) -> None:
        """A turn of the loop once ``TURN_SECONDS`` went by since the last one."""
        if time.perf_counter() - self._since >= TURN_SECONDS:
            await asyncio.sleep(0)
            self._since = time.perf_counter()


async def in_turns(
    items: Sequence[T], convert: Callable[[Sequence[T]], list[U]], turns: Turns | None = None
) -> list[U]:
    """``convert(items)`` in steps (``Turns.convert``), as part of ``turns`` (a piece of work of its own without)."""
    return await (turns or Turns()).convert(items, convert)
