"""``ForgetUser``: a user's rows, runs and analyses go in one unit of work, leaving a tombstone without them; the
in-memory stores then skip what is written for the user, as the databases' erasure guard does."""

from __future__ import annotations

import pytest

from sahha_sync.adapters.memory import InMemoryJobQueue, InMemoryWebhookInbox
from sahha_sync.application.ports import ArchiveUnavailableError, UserErasedError
from sahha_sync.application.use_cases import ForgetUser, RebuildProjections
from sahha_sync.domain import InvalidInputError, UserForgotten, stream_id_for
from tests.unit.operations.pipeline import Pipeline, days_of_data

ALICE, BOB = "alice-7781", "bob-4410"


async def _two_users(pipeline: Pipeline) -> tuple[list[str], list[str]]:
    pipeline.source.add(days_of_data(ALICE, base=7001))
    pipeline.source.add(days_of_data(BOB, base=9001))
    alice = [await pipeline.analyse(ALICE), await pipeline.analyse(ALICE, "circadian_analysis")]
    bob = [await pipeline.analyse(BOB)]
    return alice, bob


def _stored_text(pipeline: Pipeline) -> str:
    """Everything the stores hold, as text: event payloads, rows, analyses, quarantine."""
    stores = pipeline.stores
    parts = [row.payload + row.stream_id for row in stores.events.rows]
    parts += [repr(row) for row in stores.analysis_results.rows]
    runs, freshness, erased = stores.tracking.snapshot()
    parts += [repr(row) for rows in (runs, freshness) for row in rows.values()]
    parts += sorted(erased)  # digests, never ids
    parts += [repr(state) for state in stores.archive.snapshot()]
    return "\n".join(parts)


async def test_forgetting_a_user_erases_their_rows_runs_and_analyses_and_counts_them(pipeline: Pipeline) -> None:
    alice_runs, _ = await _two_users(pipeline)
    before = pipeline.stores.archive.counts()
    report = await pipeline.forget(ALICE)
    assert (report.biomarkers, report.scores) == (5, 5)
    assert (report.tracking_rows, report.analysis_results, report.runs) == (2, 2, 2)
    assert report.events_removed > 2 * 3
    after = pipeline.stores.archive.counts()
    assert (before["biomarkers"] - after["biomarkers"], before["scores"] - after["scores"]) == (5, 5)
    text = _stored_text(pipeline)
    assert ALICE not in text
    assert "7001" not in text  # one of her values
    for run_id in alice_runs:
        [recorded] = await pipeline.stores.events.read_stream(stream_id_for(run_id))
        assert isinstance(recorded.event, UserForgotten)


async def test_other_users_are_left_as_they_were(pipeline: Pipeline) -> None:
    _, bob_runs = await _two_users(pipeline)
    bob_events = await pipeline.stores.events.read_stream(stream_id_for(bob_runs[0]))
    bob_row = await pipeline.stores.tracking.get(bob_runs[0])
    await pipeline.forget(ALICE)
    assert await pipeline.stores.events.read_stream(stream_id_for(bob_runs[0])) == bob_events
    assert await pipeline.stores.tracking.get(bob_runs[0]) == bob_row
    assert len(await pipeline.stores.analysis_results.list_for_user(BOB)) == 1
    assert pipeline.stores.archive.counts()["biomarkers"] == 5


async def test_replay_brings_nothing_of_a_forgotten_user_back(pipeline: Pipeline) -> None:
    await _two_users(pipeline)
    await pipeline.forget(ALICE)
    rebuilt = await RebuildProjections(unit_of_work=pipeline.stores.unit_of_work).rebuild()
    assert rebuilt == 1
    assert await pipeline.stores.tracking.runs_for_user(ALICE) == []
    assert ALICE not in _stored_text(pipeline)


async def test_forgetting_twice_erases_nothing_more(pipeline: Pipeline) -> None:
    await _two_users(pipeline)
    await pipeline.forget(ALICE)
    rows = pipeline.stores.events.rows
    again = await pipeline.forget(ALICE)
    assert set(again.as_dict().values()) == {0}
    assert pipeline.stores.events.rows == rows


async def test_a_failure_part_way_leaves_everything_as_it_was(pipeline: Pipeline) -> None:
    await _two_users(pipeline)
    events, counts = pipeline.stores.events.rows, pipeline.stores.archive.counts()
    pipeline.stores.archive.faults.fail_with(ArchiveUnavailableError("down"), operations={"delete_user"})
    with pytest.raises(ArchiveUnavailableError):
        await pipeline.forget(ALICE)
    assert pipeline.stores.events.rows == events
    assert pipeline.stores.archive.counts() == counts
    assert len(await pipeline.stores.tracking.runs_for_user(ALICE)) == 2


async def test_an_empty_user_id_is_refused(pipeline: Pipeline) -> None:
    with pytest.raises(InvalidInputError):
        await pipeline.forget("  ")


async def test_the_users_pending_jobs_are_purged_with_the_rest(pipeline: Pipeline) -> None:
    await _two_users(pipeline)
    held = InMemoryJobQueue()  # never started: its jobs are still pending
    await held.submit_job("SYNC_SAHHA_DATA", {"user_id": ALICE, "run_id": "r1"})
    await held.submit_job("INGEST_SAHHA_WEBHOOK", {"kind": "biomarker", "user_id": ALICE, "record": {"user_id": ALICE}})
    await held.submit_job("SYNC_SAHHA_DATA", {"user_id": BOB, "run_id": "r2"})

    report = await ForgetUser(unit_of_work=pipeline.stores.unit_of_work, clock=pipeline.clock, queue=held).forget(ALICE)

    assert report.queued_jobs == 2
    assert (await held.get_stats()).queued == 1


async def test_a_later_run_of_a_forgotten_user_is_refused_and_stores_nothing(pipeline: Pipeline) -> None:
    await _two_users(pipeline)
    await pipeline.forget(ALICE)
    counts = pipeline.stores.archive.counts()
    with pytest.raises(UserErasedError, match="its user was erased"):
        await pipeline.analyse(ALICE)
    assert ALICE not in _stored_text(pipeline)
    assert pipeline.stores.archive.counts() == counts
    upserted = await pipeline.stores.archive.upsert_biomarkers(days_of_data(ALICE, base=7001).biomarkers)
    assert (upserted.inserted, upserted.updated, upserted.unchanged) == (0, 0, 5)  # as the database's guard counts
    inbox = InMemoryWebhookInbox(pipeline.stores.erasures)  # wired beside the stores, as SahhaSync wires it
    assert (await inbox.put({"n": 1}, dedup_key="d-1", user_id=ALICE)).erased
    assert len(inbox) == 0
    await pipeline.analyse(BOB)  # others go on


async def test_an_erasure_that_failed_part_way_erased_nobody(pipeline: Pipeline) -> None:
    await _two_users(pipeline)
    pipeline.stores.archive.faults.fail_with(ArchiveUnavailableError("down"), operations={"delete_user"})
    with pytest.raises(ArchiveUnavailableError):
        await pipeline.forget(ALICE)
    pipeline.stores.archive.faults.clear_failures()
    assert await pipeline.analyse(ALICE)
