"""``ForgetUser``: erase everything sahha-sync holds about one user, in one unit of work.

It deletes the user's biomarkers, scores, archetypes and quarantined records (``HealthArchive.delete_user``),
their tracking rows and freshness row (``TrackingStore.delete_user``) and stored analyses
(``AnalysisResultStore.delete_user``), their queued jobs and the webhook deliveries held for them in the inbox
(counted as ``queued_jobs``), and replaces every event of each of their runs (and of their webhook deliveries'
stream) by one tombstone (``EventStore.tombstone_streams``).

The tombstone is a ``user.forgotten`` event (``UserForgotten``) carrying only the run id (a random UUID, not
derived from the user) and the time of erasure: no user id, no hash of it (a hash of a short identifier can be
reversed by guessing), no window, no count, no error text. So ``replay`` (``RebuildProjections``) finds nothing
to project from such a stream, and the monitoring figures, read from the events and the tracking rows, no longer
count the user; ``stats`` shows how many runs were forgotten, nothing more. The webhook streams
(``run-webhook-…``) hold counts only, never a user id, and are left as they are.

A user's runs are found twice over: by their tracking rows, and by scanning the event store for the
``analysis.requested`` events that name the user (a run whose projection was lost is still found).
Erasure is all or nothing, and running it again erases nothing more. The SQL stores also record the erasure
(``user_erasures``): from its commit the database skips any row written for the user, in the writer's own
transaction, so a job that runs later for an erased user writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.job_queue import JobQueue
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sahha_sync.application.ports.webhook_inbox import WebhookInbox
from sahha_sync.application.use_cases._freshness import DELIVERY_RUNS
from sahha_sync.application.use_cases._support import PAGE_SIZE, every_event
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.events import AnalysisRequested, UserDataDelivered, UserForgotten, stream_id_for
from sahha_sync.domain.record_kinds import RECORD_KINDS

log = get_logger(__name__)


# The archive's tables a user's rows are erased from: each record kind's, and the quarantine.
ARCHIVE_TABLES = (*(kind.plural for kind in RECORD_KINDS), "quarantined_records")


def _no_rows() -> dict[str, int]:
    return dict.fromkeys(ARCHIVE_TABLES, 0)


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """How many rows and events the erasure removed, by kind: ``archived`` by archive table (also read as
    ``report.biomarkers``, ``report.quarantined_records`` and so on); ``runs`` streams got a tombstone."""

    archived: Mapping[str, int] = field(default_factory=_no_rows)
    tracking_rows: int = 0
    analysis_results: int = 0
    runs: int = 0
    events_removed: int = 0
    queued_jobs: int = 0

    def __getattr__(self, table: str) -> int:
        if table in ARCHIVE_TABLES:
            return self.archived.get(table, 0)
        raise AttributeError(f"{type(self).__name__} has no attribute {table!r}")

    def as_dict(self) -> dict[str, Any]:
        """The rows by archive table, then the other counts: one flat mapping."""
        counts = asdict(self)
        archived = counts.pop("archived")
        return {**archived, **counts}


@dataclass(frozen=True, slots=True, kw_only=True)
class ForgetUser:
    """``await forget(user_id) -> ErasureReport``; also callable as ``await forget_user(user_id)``."""

    unit_of_work: UnitOfWorkFactory
    clock: Clock
    queue: JobQueue | None = None
    inbox: WebhookInbox | None = None
    page_size: int = PAGE_SIZE

    async def __call__(self, user_id: str) -> ErasureReport:
        return await self.forget(user_id)

    async def forget(self, user_id: str) -> ErasureReport:
        if not isinstance(user_id, str) or not user_id.strip():
            raise InvalidInputError("user id must be a non-empty string", field="user_id")
        # The user's jobs go first (queued, buffered, running, dead, and deliveries in the inbox), so none of them
        # writes the user's data back after the erasure; a job running meanwhile writes nothing once the erasure
        # is committed (the database skips rows of an erased user), and a second purge after the commit removes
        # whatever was submitted in between.
        jobs = await self._purge_jobs(user_id)
        async with self.unit_of_work() as uow:
            run_ids = await self._run_ids(uow, user_id)
            now = self.clock.now()
            # first: the tracking store records the erasure, after which the database skips every row written
            # for the user, and waits for writes of the user already under way (so the deletes below see them)
            tracking_rows = await uow.tracking.delete_user(user_id)
            tombstones = {stream_id_for(r): UserForgotten(run_id=r, occurred_at=now) for r in sorted(run_ids)}
            removed = await uow.events.tombstone_streams(tombstones)
            archive = await uow.archive.delete_user(user_id)
            analyses = await uow.analysis_results.delete_user(user_id)
            await uow.commit()
        jobs += await self._purge_jobs(user_id)
        report = ErasureReport(
            archived={table: archive.get(table, 0) for table in ARCHIVE_TABLES},
            tracking_rows=tracking_rows,
            analysis_results=analyses,
            runs=sum(1 for run_id in run_ids if not run_id.startswith(DELIVERY_RUNS)),  # analysis runs only
            events_removed=removed,
            queued_jobs=jobs,
        )
        log.info("user.forgotten", **report.as_dict())  # counts only: the user id is not logged
        return report

    async def _purge_jobs(self, user_id: str) -> int:
        """The user's queued jobs and the webhook deliveries waiting for them in the inbox."""
        queued = 0 if self.queue is None else await self.queue.purge_user(user_id)
        return queued + (0 if self.inbox is None else await self.inbox.purge_user(user_id))

    async def _run_ids(self, uow: UnitOfWork, user_id: str) -> set[str]:
        run_ids = {row.run_id for row in await uow.tracking.runs_for_user(user_id)}
        async for recorded in every_event(uow, self.page_size):
            event = recorded.event
            if isinstance(event, AnalysisRequested | UserDataDelivered) and event.user_id == user_id:
                run_ids.add(event.run_id)  # the user's runs, and the stream of their webhook deliveries
        return run_ids
