"""The durable job queue: ``ProcrastinateJobQueue`` on PostgreSQL (procrastinate), and ``run_worker``, the
loop of a ``sahha-sync worker`` process."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sahha_sync.adapters.queue.procrastinate_queue import DeadJob as DeadJob
    from sahha_sync.adapters.queue.procrastinate_queue import ProcrastinateJobQueue as ProcrastinateJobQueue
    from sahha_sync.adapters.queue.worker import run_worker as run_worker

_LAZY = {"DeadJob": "procrastinate_queue", "ProcrastinateJobQueue": "procrastinate_queue", "run_worker": "worker"}

__all__ = ["DeadJob", "ProcrastinateJobQueue", "run_worker"]


def __getattr__(name: str) -> Any:
    """The names of ``_LAZY`` are imported on first use: their modules need procrastinate and psycopg (the
    [postgres] extra)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
