"""The figures in Prometheus's text format, written by ``prometheus_client``: every count reads back exactly, and
the textfile for node_exporter is replaced whole, never rewritten in place."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import InMemoryStores
from sahha_sync.application.use_cases import CollectStats
from sahha_sync.infrastructure.stats_format import to_prometheus, write_textfile
from tests.prometheus_text import samples

BIG = 2**53 - 1  # the largest integer a float (and so Prometheus) holds exactly


async def figures(inserted: int) -> dict[str, Any]:
    use_case = CollectStats(
        unit_of_work=InMemoryStores().unit_of_work, clock=ManualClock(datetime(2026, 1, 5, tzinfo=UTC))
    )
    found = (await use_case.collect()).to_dict()
    found["storage"]["inserted"]["biomarkers"] = inserted
    found["storage"]["inserted"]["scores"] = BIG
    return found


async def test_counts_read_back_exactly() -> None:
    text = to_prometheus(await figures(1234567))
    read = samples(text)
    assert read['sahha_sync_rows_total{change="inserted",table="biomarkers"}'] == 1234567
    assert read['sahha_sync_rows_total{change="inserted",table="scores"}'] == BIG
    assert "1.23457e+06" not in text
    assert "# TYPE sahha_sync_rows_total counter" in text


async def test_the_textfile_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "sahha_sync.prom"
    write_textfile(await figures(1), str(path))
    first = path.stat().st_ino
    write_textfile(await figures(2), str(path))
    assert path.stat().st_ino != first  # a new file renamed over the old one, not the old one rewritten
    assert samples(path.read_text())['sahha_sync_rows_total{change="inserted",table="biomarkers"}'] == 2
    assert os.listdir(tmp_path) == ["sahha_sync.prom"]  # no temporary file left beside it
