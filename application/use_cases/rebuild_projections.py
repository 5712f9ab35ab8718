"""``RebuildProjections``: the tracking store rebuilt from the event store (the source of truth): the runs'
rows, and every user's freshness (``fold_freshness`` over the run and delivery streams, the folds the live
writers use).

Every run stream is folded with ``TrackingRecord.fold`` — the same fold that writes the live rows — so the
rebuilt rows equal the live ones. Ids: each row is saved with the ``id`` it had before the rebuild, which a
store that keeps a given id on insert preserves; a store that numbers rows itself gets them in the order of
the runs' first events, which is the order live rows were numbered in, so ``list_all()`` keeps its order and
only the numbers move. The rebuild is one unit of work: all or nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sahha_sync.application.use_cases._freshness import DELIVERY_RUNS
from sahha_sync.application.use_cases._support import PAGE_SIZE, every_event
from sahha_sync.domain.events import AnalysisRequested, DomainEvent, UserForgotten, stream_id_for
from sahha_sync.domain.freshness import fold_freshness
from sahha_sync.domain.tracking import TrackingRecord

log = get_logger(__name__)

WEBHOOK_STREAMS = "run-webhook-"
DELIVERY_STREAMS = stream_id_for(DELIVERY_RUNS)


@dataclass(frozen=True, slots=True, kw_only=True)
class RebuildProjections:
    unit_of_work: UnitOfWorkFactory
    page_size: int = PAGE_SIZE

    async def __call__(self) -> int:
        return await self.rebuild()

    async def rebuild(self) -> int:
        """Clear the tracking store, replay every run stream into it; returns how many runs were rebuilt."""
        async with self.unit_of_work() as uow:
            old_ids = {row.run_id: row.id for row in await uow.tracking.list_all()}
            streams = await self._read_streams(uow)
            await uow.tracking.clear()
            rebuilt = 0
            for stream_id, events in streams.items():
                if isinstance(events[0], UserForgotten) or stream_id.startswith((WEBHOOK_STREAMS, DELIVERY_STREAMS)):
                    continue  # a forgotten user's run, webhook counts or deliveries: no run to project, as expected
                if not isinstance(events[0], AnalysisRequested):
                    log.warning("projections.stream_skipped", stream_id=stream_id, reason="no analysis.requested")
                    continue
                record = TrackingRecord.fold(events)
                await uow.tracking.save(dataclasses.replace(record, id=old_ids.get(record.run_id)))
                rebuilt += 1
            for freshness in fold_freshness(streams.values()).values():
                await uow.tracking.save_freshness(freshness)
            await uow.commit()
        log.info("projections.rebuilt", runs=rebuilt, previous_rows=len(old_ids))
        return rebuilt

    async def _read_streams(self, uow: UnitOfWork) -> dict[str, list[DomainEvent]]:
        """Every stream's events, streams in the order of their first event."""
        streams: dict[str, list[DomainEvent]] = {}
        async for recorded in every_event(uow, self.page_size):
            streams.setdefault(recorded.stream_id, []).append(recorded.event)
        return streams
