"""``ArchiveRecordedRun``: the seed's ``archive_sahha_data`` — archive a snapshot now, for a recorded analysis run.

Hosts that run their own job system call it from their job instead of using sahha-sync's queue. The run it
belongs to is the one named by ``run_id``, or else the user's latest run of that archetype and analysis type
(the row the seed's service updated); the snapshot becomes that run's ``ArchivalJob``, archived in this process
exactly as the ``SYNC_SAHHA_DATA`` job archives it (``ArchiveHealthData.archive_job``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sahha_sync.application.ports.job_queue import JobContext
from sahha_sync.application.ports.unit_of_work import UnitOfWorkFactory
from sahha_sync.application.use_cases.archival_job import ArchivalJob, parse_snapshot
from sahha_sync.application.use_cases.archive_health_data import ArchiveHealthData
from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.snapshot import HealthSnapshot
from sahha_sync.domain.tracking import SyncStatus, TrackingRecord
from sahha_sync.domain.windows import FetchWindow


class ArchiveRecordedRun:
    """``await archive_sahha_data(user_id, archetype, analysis_type, sahha_data, *, run_id=None) -> SyncStatus``."""

    def __init__(self, *, archiver: ArchiveHealthData, unit_of_work: UnitOfWorkFactory) -> None:
        self._archiver = archiver
        self._unit_of_work = unit_of_work

    async def archive_sahha_data(
        self,
        user_id: str,
        archetype: str,
        analysis_type: str,
        sahha_data: HealthSnapshot | Mapping[str, Any],
        *,
        run_id: str | None = None,
    ) -> SyncStatus:
        """Upsert ``sahha_data`` (a ``HealthSnapshot``, or its ``to_dict()``/``to_payload()``) and update the
        run's sync status; idempotent. ``InvalidInputError`` when no such run is recorded."""
        record = await self._run(user_id, archetype, analysis_type, run_id)
        if record.window is None:
            raise InvalidInputError(f"run {record.run_id} has no fetch window to archive", field="run_id")
        job = ArchivalJob.for_run(record, _snapshot(sahha_data, record.window))
        context = JobContext(job_id=f"direct:{record.run_id}", job_type=job.JOB_TYPE, attempt=1, max_attempts=1)
        return await self._archiver.archive_job(job, context)

    __call__ = archive_sahha_data

    async def _run(self, user_id: str, archetype: str, analysis_type: str, run_id: str | None) -> TrackingRecord:
        atype = AnalysisType.parse(analysis_type)
        async with self._unit_of_work() as uow:
            if run_id is not None:
                record = await uow.tracking.get(run_id)
            else:
                record = await uow.tracking.latest(user_id, atype.value, archetype)
        if record is None or record.user_id != user_id:
            which = f"run {run_id}" if run_id else f"{atype.value} run ({archetype})"
            raise InvalidInputError(
                f"no {which} is recorded for user {user_id}; record the analysis first "
                "(tracker.update_last_analysis_date)",
                field="run_id",
            )
        return record


def _snapshot(data: HealthSnapshot | Mapping[str, Any], window: FetchWindow) -> HealthSnapshot:
    """``data`` as a snapshot; the seed's ``to_dict()`` lacks the window and fetch time, which are the run's."""
    if isinstance(data, HealthSnapshot):
        return data
    if not isinstance(data, Mapping):
        raise InvalidInputError("sahha_data must be a HealthSnapshot or its to_dict()", field="sahha_data")
    payload = {"window": window.to_dict(), "fetched_at": window.end.isoformat(), **data}
    payload.setdefault("is_incremental", payload.get("watermark") is not None)
    snapshot = parse_snapshot(payload)
    assert snapshot is not None  # a mapping is never None
    return snapshot
