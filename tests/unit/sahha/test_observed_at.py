"""The Sahha source stamps each record with how new it is: ``createdAtUtc`` when Sahha gives it, else the time
its answer came, so the archive orders real API biomarkers (which carry no ``createdAtUtc``) by fetch time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from sahha_sync.adapters.memory import InMemoryHealthArchive
from sahha_sync.adapters.sahha.dto import parse_records
from tests.unit.sahha.conftest import NOW, WEEK, MakeSource, Stub
from tests.unit.sahha.test_responses import GOOD_BIOMARKER, GOOD_SCORE

UNDATED = {k: v for k, v in GOOD_BIOMARKER.items() if k != "createdAtUtc"}


class Answers:
    """Sahha's answers as they change: ``steps`` is today's running total; the clock is when it answers."""

    def __init__(self) -> None:
        self.steps = "400"
        self.now = NOW

    def handle(self, request: httpx.Request) -> httpx.Response:
        if "/biomarker/" in request.url.path:
            return httpx.Response(200, json=[dict(UNDATED, value=self.steps)])
        return httpx.Response(200, json=[GOOD_SCORE])


async def test_a_record_without_created_at_is_stamped_when_its_answer_came(make_source: MakeSource) -> None:
    answers = Answers()
    source = make_source(Stub(answers.handle).transport, now=lambda: answers.now)
    records = await source.fetch("u", WEEK)
    assert records.biomarkers[0].observed_at == NOW
    assert records.scores[0].observed_at == datetime(2026, 11, 25, 12, tzinfo=UTC)  # its createdAtUtc


async def test_of_two_fetches_archived_out_of_order_the_later_answer_stays(make_source: MakeSource) -> None:
    answers = Answers()
    source = make_source(Stub(answers.handle).transport, now=lambda: answers.now)
    first = await source.fetch("u", WEEK)
    answers.steps, answers.now = "455", NOW + timedelta(hours=1)
    second = await source.fetch("u", WEEK)

    archive = InMemoryHealthArchive()
    await archive.upsert_biomarkers(second.biomarkers)
    await archive.upsert_biomarkers(first.biomarkers)  # an older job retried late

    (stored,) = (await archive.read_window("u", WEEK)).biomarkers
    assert stored.value == "455"


def test_every_record_and_quarantined_item_of_one_answer_shares_one_time() -> None:
    reads: list[datetime] = []

    def clock() -> datetime:
        reads.append(NOW + timedelta(seconds=len(reads)))
        return reads[-1]

    items: list[Any] = [UNDATED, dict(UNDATED, type="active_hours"), "not an object"]
    good, bad = parse_records("biomarker", items, "u", clock)
    assert len(reads) == 1
    assert {b.observed_at for b in good} == {q.received_at for q in bad} == {NOW}
