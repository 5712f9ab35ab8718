"""The durable job queue: ``ProcrastinateJobQueue`` on PostgreSQL (procrastinate), and ``run_worker``, the
loop of a ``sahha-sync worker`` process."""

from sahha_sync.adapters.queue.procrastinate_queue import DeadJob, ProcrastinateJobQueue
from sahha_sync.adapters.queue.worker import run_worker

__all__ = ["DeadJob", "ProcrastinateJobQueue", "run_worker"]
