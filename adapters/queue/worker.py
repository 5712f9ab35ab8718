"""``run_worker``: the loop of a ``sahha-sync worker`` process, for any ``JobQueue``.

It registers the handlers, starts the queue, runs ``on_start`` (the recovery of pending archivals), and
runs jobs until SIGTERM or SIGINT; then it stops taking jobs and gives the running ones ``shutdown_timeout``
seconds to finish before they are cancelled and put back in the queue. When the queue's worker ends by itself
(its database was away longer than it waits), ``run_worker`` raises ``QueueUnavailableError``: the process
exits non-zero, so a supervisor that restarts failed workers restarts it.

With ``freeze_start_up_objects`` (the ``sahha-sync worker`` process), what start-up left in memory (modules, table
metadata, the queue's and the stores' objects) is moved out of the garbage collector's sight once the worker has
started (``gc.freeze()``): a full collection then looks only at what jobs allocate. An archival batch allocates
thousands of records, which set off full collections; over the whole start-up heap they took about a quarter of
a worker's CPU time.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable, Iterable, Mapping

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.job_queue import JobHandler, JobQueue, QueueUnavailableError

logger = get_logger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def run_worker(
    queue: JobQueue,
    handlers: Mapping[str, JobHandler],
    *,
    on_start: Callable[[], Awaitable[object]] | None = None,
    shutdown_timeout: float | None = None,
    stop_signals: Iterable[signal.Signals] = STOP_SIGNALS,
    stop: asyncio.Event | None = None,
    freeze_start_up_objects: bool = False,
) -> None:
    """Run jobs until a stop signal (or ``stop`` is set, or the queue's worker ends by itself)."""
    stop_event = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in stop_signals:
        loop.add_signal_handler(sig, stop_event.set)
        installed.append(sig)
    for job_type, handler in handlers.items():
        queue.register(job_type, handler)
    try:
        await queue.start()
        if on_start is not None:
            await on_start()
        if freeze_start_up_objects:
            gc.collect()  # what start-up left as garbage is freed, not kept for good
            gc.freeze()
        logger.info("worker.started", job_types=sorted(handlers))
        await _until_stopped(queue, stop_event)
        logger.info("worker.stopping", shutdown_timeout=shutdown_timeout)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await queue.stop(drain=False, timeout=shutdown_timeout)
        logger.info("worker.stopped")
    if not stop_event.is_set():  # the queue's worker ended by itself: this process cannot go on
        raise QueueUnavailableError("the worker stopped by itself (its database was away too long)")


async def _until_stopped(queue: JobQueue, stop_event: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(stop_event.wait()), asyncio.ensure_future(queue.worker_finished())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waits:
            waiter.cancel()
