"""One writer at a time per SQLite database and event loop, in the order they asked.

SQLite lets one transaction write at a time; the others wait in SQLite's busy handler, which sleeps and polls
(up to 100 ms a sleep), so under in-process contention (runs recorded while archival jobs write, on the embedded
default) a writer could wait seconds while others took the lock before it. Units of work that write on one
engine first queue here (an ``asyncio.Lock``: first come, first served, no polling); the busy handler is left for
writers of other processes. Waiting is bounded like SQLite's own (``SQLITE_BUSY_TIMEOUT_MS``)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

_LOCKS: weakref.WeakKeyDictionary[Any, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _lock(sync_engine: Any) -> asyncio.Lock:
    per_loop = _LOCKS.setdefault(sync_engine, weakref.WeakKeyDictionary())
    loop = asyncio.get_running_loop()
    lock = per_loop.get(loop)
    if lock is None:
        lock = per_loop[loop] = asyncio.Lock()
    return lock


@asynccontextmanager
async def one_writer(sync_engine: Any, timeout: float) -> AsyncIterator[None]:
    """Hold ``sync_engine``'s writer turn in this loop; ``TimeoutError`` after ``timeout`` seconds of waiting."""
    lock = _lock(sync_engine)
    async with asyncio.timeout(timeout):
        await lock.acquire()
    try:
        yield
    finally:
        lock.release()
