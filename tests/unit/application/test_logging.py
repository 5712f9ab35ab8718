"""The use cases log dotted events with ids and counts, never health values."""

from __future__ import annotations

from datetime import timedelta

from structlog.testing import capture_logs

from sahha_sync.application.ports import ArchiveUnavailableError, SahhaUnavailableError
from tests.unit.application.conftest import ARCHETYPE, BEHAVIOR, START, USER, Harness, days_of_data

BASE = 734_519_201  # biomarker values no id or count could contain


async def test_a_run_and_its_archival_log_ids_and_counts_but_no_health_values(harness: Harness) -> None:
    data = days_of_data(USER, START - timedelta(days=7), 7, base=BASE)
    harness.source.add(data)
    harness.archive.faults.fail_with(ArchiveUnavailableError("timeout"), times=1, operations={"upsert_scores"})

    with capture_logs() as logs:
        outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
        await harness.drain()
        harness.source.fail_with(SahhaUnavailableError("503"), times=1)
        harness.clock.advance(timedelta(hours=1))
        await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    names = {entry["event"] for entry in logs}
    assert {"run_analysis.completed", "archival.part_archived", "archival.failed", "archival.sync_completed"} <= names
    assert "run_analysis.source_failed" in names
    assert all("." in entry["event"] and " " not in entry["event"] for entry in logs)
    text = repr(logs)
    values = [b.value for b in data.biomarkers] + [repr(s.score) for s in data.scores]
    assert not [value for value in values if value in text]
    completed = next(e for e in logs if e["event"] == "run_analysis.completed")
    assert completed["run_id"] == outcome.run_id
    assert completed["total_items"] == 14
