"""Natural batching: calls that arrive while a batch is being worked on wait, and go together in the next one.

A worker that runs several jobs at once hands each job to a ``Coalescer``; the first job starts a batch at once
(no timer: a lone job never waits), and the jobs that arrive meanwhile form the next batch when it ends, up to
``max_size`` — one turn of the event loop later, so that the callers it answered, coming straight back with their
next jobs, join them. Under load, batches grow to what the work keeps waiting; when idle, each job goes alone. Every
call still gets its own result or its own exception, so a queue retries and reports each job as before.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sahha_sync.domain.errors import InvalidInputError

T = TypeVar("T")
R = TypeVar("R")

BatchWork = Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]]


class Coalescer(Generic[T, R]):
    """``await coalescer(item) -> R``: ``item`` is worked on with the others waiting, by ``work(items)``, which
    returns one result or exception per item, in order. Up to ``at_once`` batches are worked on at the same time
    (a second one lets Python prepare a batch while the database writes the other)."""

    def __init__(self, work: BatchWork[T, R], *, max_size: int, at_once: int = 1) -> None:
        if max_size < 1:
            raise InvalidInputError("max_size must be at least 1", field="max_size")
        if at_once < 1:
            raise InvalidInputError("at_once must be at least 1", field="at_once")
        self._work = work
        self.max_size, self.at_once = max_size, at_once
        self._waiting: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._runners: set[asyncio.Task[None]] = set()

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if len(self._runners) < self.at_once:
            self._runners.add(asyncio.create_task(self._run()))
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch: list[tuple[T, asyncio.Future[R]]] = []
                while self._waiting and len(batch) < self.max_size:
                    item, future = self._waiting.popleft()
                    if not future.cancelled():  # its caller gave up before the batch began: not worked on
                        batch.append((item, future))
                if batch:
                    await self._one_batch(batch)
                    await asyncio.sleep(0)  # a turn for the callers it answered: coming straight back, they join
        finally:
            # Leaves the runners when nothing waits, before anything else runs: a call coming next starts another.
            if (runner := asyncio.current_task()) is not None:
                self._runners.discard(runner)
            while self._waiting and not self._runners:  # cancelled (the loop is closing): the callers waiting too
                self._waiting.popleft()[1].cancel()

    async def _one_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            outcomes = await self._work([item for item, _ in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"the batch's work gave {len(outcomes)} outcomes for {len(batch)} items")
        except BaseException as exc:  # the batch as a whole failed (or this task was cancelled): every caller hears
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # its caller was cancelled meanwhile
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
