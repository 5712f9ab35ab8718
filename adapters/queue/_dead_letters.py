"""Dead letters: jobs that failed for good stay as ``failed`` rows (without their health data) until retried
or until they are older than the retention; ``retry`` submits them again as new jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import procrastinate
from procrastinate import exceptions as procrastinate_errors
from procrastinate.jobs import Job

from sahha_sync.adapters.queue import _sql
from sahha_sync.adapters.queue._codec import PAYLOAD, decode_args
from sahha_sync.adapters.queue._connection import guard
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.job_queue import DeadJob
from sahha_sync.domain.errors import InvalidInputError

logger = get_logger(__name__)


def _ids(job_ids: Sequence[str] | None) -> list[int] | None:
    if job_ids is None:
        return None
    try:
        return [int(job_id) for job_id in job_ids]
    except ValueError as exc:
        raise InvalidInputError("job ids of the durable queue are integers", field="job_ids") from exc


class DeadLetters:
    def __init__(self, connector: procrastinate.PsycopgConnector, app: procrastinate.App, queue_name: str) -> None:
        self._connector, self._app, self._queue = connector, app, queue_name

    def _to_dead_job(self, row: dict[str, Any]) -> DeadJob:
        args, prefix = row["args"] or {}, f"{self._queue}:"
        error = args.get("last_error") or {}
        lock = row["queueing_lock"]
        return DeadJob(
            job_id=str(row["id"]),
            job_type=row["task_name"],
            payload=decode_args(args),
            attempts=row["attempts"],
            error_kind=error.get("kind", "WorkerLost"),
            error=error.get("error", ""),
            dedup_key=lock[len(prefix) :] if lock and lock.startswith(prefix) else lock,
        )

    async def dead_jobs(self) -> list[DeadJob]:
        async with guard("list dead jobs"):
            rows = await self._connector.execute_query_all_async(_sql.DEAD_JOBS, queue=self._queue, ids=None)
        return [self._to_dead_job(row) for row in rows]

    async def retry(self, job_ids: Sequence[str] | None) -> list[str]:
        new_ids: list[str] = []
        async with guard("retry dead jobs"), self._connector.pool.connection() as conn, conn.transaction():
            rows = await self._connector.execute_query_all_async_with_connection(
                conn, _sql.DEAD_JOBS_FOR_UPDATE, queue=self._queue, ids=_ids(job_ids)
            )
            for row in rows:
                new_id = await self._resubmit(conn, row)
                await conn.execute(_sql.DELETE_JOB, {"id": row["id"]})
                if new_id is not None:
                    new_ids.append(str(new_id))
                    logger.info(
                        "queue.job_resubmitted", job_id=new_id, dead_job_id=row["id"], job_type=row["task_name"]
                    )
        return new_ids

    async def _resubmit(self, conn: Any, row: dict[str, Any]) -> int | None:
        """The new job's id, or None when a pending job for the same dedup key already stands in for it."""
        args = {PAYLOAD: (row["args"] or {}).get(PAYLOAD, {})}
        job = Job(
            id=None, queue=self._queue, lock=row["lock"], queueing_lock=row["queueing_lock"],
            task_name=row["task_name"], task_kwargs=args,
        )  # fmt: skip
        try:
            async with conn.transaction():
                deferred = await self._app.job_manager.defer_job_async(job, connection=conn)
        except procrastinate_errors.AlreadyEnqueued:
            return None
        return deferred.id
