"""The seed's ``ArchivalService.archive_sahha_data``: archive a snapshot now, for a recorded analysis run.

Hosts that run their own job system call this from their job instead of using sahha-sync's queue. The data
is archived exactly as the ``SYNC_SAHHA_DATA`` job archives it (``ArchiveHealthData``), against the run it
belongs to: the one named by ``run_id``, or else the user's latest analysed run of that archetype and analysis
type (the row the seed's service updated).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sahha_sync.application.ports.job_queue import JobContext
from sahha_sync.application.ports.unit_of_work import UnitOfWorkFactory
from sahha_sync.application.use_cases import ArchivalJob, ArchiveHealthData
from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.snapshot import HealthSnapshot
from sahha_sync.domain.tracking import SyncStatus, TrackingRecord
from sahha_sync.domain.windows import FetchWindow


class ArchivalService:
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
        return await self._archiver.archive(job.to_payload(), context)

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
    if isinstance(data, HealthSnapshot):
        return data
    if not isinstance(data, Mapping):
        raise InvalidInputError("sahha_data must be a HealthSnapshot or its to_dict()", field="sahha_data")
    payload = dict(data)
    payload.setdefault("window", window.to_dict())
    payload.setdefault("is_incremental", payload.get("watermark") is not None)
    payload.setdefault("fetched_at", window.end.isoformat())
    try:
        return HealthSnapshot.from_payload(payload)
    except InvalidInputError as exc:
        raise InvalidInputError(f"sahha_data is malformed: {exc}", field="sahha_data") from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInputError(f"sahha_data is malformed ({type(exc).__name__})", field="sahha_data") from exc
