"""An event store written by an earlier version replays to the projections that version derived from it.

``tests/fixtures/event_store_with_part_events.json`` holds the rows of ``sync_events`` as the version whose
archived parts each had their own event type (``biomarkers.archived``, ``scores.archived``,
``archetypes.archived``) wrote them — runs archived whole, a part retried, parts failed for good, a run
pending, archive fallbacks, webhook deliveries and a forgotten user — with the tracking rows and the
monitoring figures that version derived. Loaded as they are into each event store and replayed, they give
the same rows and the same figures.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import InMemoryStores, StoredEvent
from sahha_sync.adapters.sql import create_engine, sql_unit_of_work_factory
from sahha_sync.adapters.sql.tables import sync_events
from sahha_sync.application.ports.unit_of_work import UnitOfWorkFactory
from sahha_sync.application.use_cases import CollectStats, RebuildProjections
from sahha_sync.domain.tracking import SyncStatus, TrackingRecord

FIXTURE = Path(__file__).parents[2] / "fixtures" / "event_store_with_part_events.json"
STORED: dict[str, Any] = json.loads(FIXTURE.read_text())
NOW = datetime.fromisoformat(STORED["now"])
SINCE = datetime.fromisoformat(STORED["since"])


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def tracking_row(record: TrackingRecord) -> dict[str, Any]:
    status = record.status
    return {
        "id": record.id,
        "run_id": record.run_id,
        "user_id": record.user_id,
        "archetype": record.archetype,
        "analysis_type": record.analysis_type,
        "analysis_timestamp": _iso(record.analysis_timestamp),
        "window": None if record.window is None else record.window.to_dict(),
        "data_source": record.data_source,
        "status": {
            "sahha_data_synced": status.sahha_data_synced,
            "biomarkers_synced": status.biomarkers_synced,
            "scores_synced": status.scores_synced,
            "archetypes_synced": status.archetypes_synced,
            "sync_completed_at": _iso(status.sync_completed_at),
            "sync_error": status.sync_error,
            "archival_requested": status.archival_requested,
            "state": status.state,
        },
    }


def memory_stores() -> UnitOfWorkFactory:
    stores = InMemoryStores()
    rows = [
        StoredEvent(
            row["position"],
            row["stream_id"],
            row["version"],
            row["type"],
            row["schema_version"],
            json.dumps(row["payload"], sort_keys=True),
            datetime.fromisoformat(row["recorded_at"]),
        )
        for row in STORED["events"]
    ]
    versions = {row.stream_id: row.version for row in rows}
    stores.events.restore((rows, versions))
    return stores.unit_of_work


async def sql_stores(engine: AsyncEngine) -> UnitOfWorkFactory:
    async with engine.begin() as connection:
        for row in STORED["events"]:
            values = {key: row[key] for key in ("stream_id", "version", "type", "schema_version", "payload")}
            recorded_at = datetime.fromisoformat(row["recorded_at"])
            await connection.execute(insert(sync_events).values(**values, recorded_at=recorded_at))
    return sql_unit_of_work_factory(engine)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None for the in-memory stores, else a migrated empty database of that kind."""
    return None if request.param == "memory" else str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def replayed(database_url: str | None) -> AsyncIterator[UnitOfWorkFactory]:
    """The stored events in an event store of each kind, with the tracking rows rebuilt from them."""
    engine = None if database_url is None else create_engine(database_url)
    try:
        unit_of_work = memory_stores() if engine is None else await sql_stores(engine)
        await RebuildProjections(unit_of_work=unit_of_work)()
        yield unit_of_work
    finally:
        if engine is not None:
            await engine.dispose()


async def test_stored_events_replay_to_the_tracking_rows_they_were_projected_into(
    replayed: UnitOfWorkFactory,
) -> None:
    async with replayed() as uow:
        rows = await uow.tracking.list_all()
    # a rebuilt store numbers its rows afresh, in the order of the runs: the erased run's number is not skipped
    assert [tracking_row(row) | {"id": None} for row in rows] == [row | {"id": None} for row in STORED["tracking"]]


async def test_each_run_stream_folds_to_the_sync_status_its_tracking_row_showed(replayed: UnitOfWorkFactory) -> None:
    expected = {row["run_id"]: row["status"] for row in STORED["tracking"]}
    folded = {}
    async with replayed() as uow:
        for run_id in expected:
            events = [recorded.event for recorded in await uow.events.read_stream(f"run-{run_id}")]
            folded[run_id] = tracking_row(TrackingRecord.fold(events))["status"]
            assert SyncStatus.fold(events) == TrackingRecord.fold(events).status
    assert folded == expected


async def test_stored_events_give_the_same_monitoring_figures(replayed: UnitOfWorkFactory) -> None:
    stats = CollectStats(unit_of_work=replayed, clock=ManualClock(NOW))
    assert as_stored((await stats.collect()).to_dict(), STORED["stats"]) == STORED["stats"]
    assert as_stored((await stats.collect(SINCE)).to_dict(), STORED["stats_since"]) == STORED["stats_since"]


def as_stored(figures: Any, stored: Any) -> Any:
    """``figures`` with only the keys the stored figures have: a figure added to the stats after the store was
    written (e.g. a freshness row's ``no_data``) is not in it, and every figure that is must be equal."""
    if isinstance(figures, dict) and isinstance(stored, dict):
        return {key: as_stored(value, stored[key]) for key, value in figures.items() if key in stored}
    if isinstance(figures, list) and isinstance(stored, list) and len(figures) == len(stored):
        return [as_stored(value, old) for value, old in zip(figures, stored, strict=True)]
    return figures


def test_the_stored_store_holds_each_kind_of_history_the_replay_must_cover() -> None:
    types = {row["type"] for row in STORED["events"]}
    assert {"biomarkers.archived", "scores.archived", "archetypes.archived", "user.forgotten"} <= types
    states = {row["status"]["state"] for row in STORED["tracking"]}
    assert states == {"synced", "failed", "pending"}
    parts = {row["payload"].get("part") for row in STORED["events"] if row["type"] == "archival.failed"}
    assert parts == {"scores", "archetypes", "biomarkers"}
    assert STORED["stats"]["storage"]["inserted_by_webhooks"] == {"biomarkers": 2, "scores": 1, "archetypes": 1}
