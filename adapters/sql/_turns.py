"""Converting many rows without holding the host's event loop: the work goes in slices, and the loop gets a turn
whenever ``TURN_SECONDS`` of it went by since the last turn.

A batch of a few archival jobs has a thousand rows to convert (records into rows, rows into SQLite's stored form),
and a run reads hundreds back; in one step, that held a host's loop for 3-7 ms at a time, and every other request
of the host waited. Sliced, a step lasts about ``TURN_SECONDS``; where nothing else waits (a worker process), a
turn costs one pass of the loop per ``TURN_SECONDS`` of work.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")

TURN_SECONDS = 0.001  # the longest a conversion runs before the loop gets a turn (give or take one slice)
SLICE_ROWS = 32  # rows converted between two looks at the clock


async def in_turns(items: Sequence[T], convert: Callable[[Sequence[T]], list[U]]) -> list[U]:
    """``convert(items)``, done ``SLICE_ROWS`` items at a time (``convert`` must treat items independently), with a
    turn of the event loop whenever ``TURN_SECONDS`` of work went by."""
    if len(items) <= SLICE_ROWS:
        return convert(items)
    converted: list[U] = []
    clock = time.perf_counter
    since = clock()
    for start in range(0, len(items), SLICE_ROWS):
        converted += convert(items[start : start + SLICE_ROWS])
        if clock() - since >= TURN_SECONDS:
            await asyncio.sleep(0)
            since = clock()
    return converted
