"""The durable job queue: ``ProcrastinateJobQueue`` on PostgreSQL (procrastinate), and ``run_worker``, the
loop of a ``sahha-sync worker`` process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sahha_sync.adapters._lazy import lazy_exports

if TYPE_CHECKING:
    from sahha_sync.adapters.queue.procrastinate_queue import DeadJob as DeadJob
    from sahha_sync.adapters.queue.procrastinate_queue import ProcrastinateJobQueue as ProcrastinateJobQueue
    from sahha_sync.adapters.queue.worker import run_worker as run_worker

_LAZY = {"DeadJob": "procrastinate_queue", "ProcrastinateJobQueue": "procrastinate_queue", "run_worker": "worker"}

__all__ = ["DeadJob", "ProcrastinateJobQueue", "run_worker"]


# The names of ``_LAZY`` are imported on first use: their modules need procrastinate and psycopg (the [postgres] extra).
__getattr__ = lazy_exports(__name__, _LAZY)
