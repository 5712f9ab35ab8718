"""Freshness per user: runs answered from the archive within the bound, one fetch per user at a time, the delta
since the user's mark, archetypes once per period, and webhook deliveries keeping a user fresh."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from sahha_sync.application.ports import JobContext, SahhaUnavailableError
from sahha_sync.application.use_cases import (
    ForgetUser,
    IngestWebhookRecords,
    RebuildProjections,
    RunAnalysis,
    UserFlights,
)
from sahha_sync.application.use_cases.ingest_webhook import WebhookDelivery
from sahha_sync.application.use_cases.user_flights import Flight
from sahha_sync.domain import FetchWindow, HealthDataServed, HealthRecords, UserDataDelivered, stream_id_for
from tests.unit.application.conftest import (
    ARCHETYPE,
    BEHAVIOR,
    START,
    USER,
    Harness,
    RecordingQueue,
    context,
    days_of_data,
    steps,
)

CIRCADIAN = "circadian_analysis"
HOUR = timedelta(hours=1)
WEBHOOK = JobContext("job-1", IngestWebhookRecords.JOB_TYPE, attempt=1, max_attempts=3)


def bounded(harness: Harness, *, flights: UserFlights | None = None, **options: object) -> RunAnalysis:
    """A ``RunAnalysis`` over the harness's stores with a one-hour bound (another "server" with ``flights``)."""
    settings: dict[str, object] = {"max_staleness": HOUR, "archetype_period": timedelta(days=1), **options}
    return RunAnalysis(
        source=harness.source,
        analyst=harness.analyst,
        unit_of_work=harness.stores.unit_of_work,
        queue=harness.queue,
        clock=harness.clock,
        flights=flights if flights is not None else UserFlights(),
        **settings,  # type: ignore[arg-type]
    )


async def until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until ``condition`` holds (the source's gate counts who waits at it)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def archive_all(harness: Harness, queue: RecordingQueue) -> None:
    for _, payload, _ in queue.submitted:
        await harness.archival.archive(payload, context())
    queue.submitted.clear()


def fresh_harness() -> tuple[Harness, RecordingQueue]:
    queue = RecordingQueue()
    harness = Harness(queue=queue)
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))
    return harness, queue


async def test_another_analysis_type_within_the_bound_is_answered_from_the_archive_without_a_fetch() -> None:
    harness, queue = fresh_harness()
    run = bounded(harness)
    first = await run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    harness.clock.advance(timedelta(minutes=20))

    other = await run.run_analysis(USER, "Night Owl", CIRCADIAN)

    assert len(harness.source.calls) == 1
    assert (other.data_source, other.source_failed, other.archival) == ("archive", False, None)
    assert other.fresh_as_of == first.window.end
    assert other.data_age == timedelta(minutes=20)
    assert len(queue.submitted) == 1  # nothing new to archive
    # the first fetch is not archived yet: its records of the period come from this process, on top of the archive
    fetched = {b.key for b in first.snapshot.biomarkers if other.window.contains(b.start_date_time)}
    assert {b.key for b in other.snapshot.biomarkers} == fetched
    (served,) = await harness.events_of(other.run_id, HealthDataServed)
    assert served.shared_with == first.run_id


async def test_the_answer_from_the_archive_is_not_a_degraded_one() -> None:
    harness, _ = fresh_harness()
    run = bounded(harness)
    await run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    other = await run.run_analysis(USER, ARCHETYPE, CIRCADIAN)

    assert not other.degraded
    assert harness.analyst.inputs[-1].data_source == "sahha"  # Sahha's data, fresh within the bound
    assert not any("unavailable" in note for note in other.analysis.data_quality_notes)


async def test_past_the_bound_a_run_fetches_the_delta_since_the_users_mark_minus_the_lookback() -> None:
    harness, queue = fresh_harness()
    run = bounded(harness)
    first = await run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await archive_all(harness, queue)
    harness.clock.advance(HOUR + timedelta(seconds=1))

    later = await bounded(harness).run_analysis(USER, "Night Owl", CIRCADIAN)  # no circadian run before

    assert later.data_source == "sahha"
    assert later.watermark_source == "user"
    assert later.window.start == first.window.end - timedelta(hours=48)
    assert later.is_incremental


async def test_concurrent_runs_of_one_user_share_one_fetch() -> None:
    harness, _ = fresh_harness()
    run = bounded(harness)
    harness.source.block()

    running = [asyncio.create_task(run.run_analysis(USER, ARCHETYPE, t)) for t in (BEHAVIOR, CIRCADIAN, BEHAVIOR)]
    await until(lambda: harness.source.waiting == 1)
    await asyncio.sleep(0.01)
    assert harness.source.waiting == 1  # the others wait for the user's turn, not for a fetch of their own
    harness.source.release()
    outcomes = await asyncio.gather(*running)

    assert len(harness.source.calls) == 1
    assert sorted(o.data_source for o in outcomes) == ["archive", "archive", "sahha"]


async def test_runs_of_different_users_do_not_wait_for_each_other() -> None:
    harness, _ = fresh_harness()
    harness.source.add(days_of_data("user-2", START - timedelta(days=7), 7))
    run = bounded(harness)
    harness.source.block()

    running = [asyncio.create_task(run.run_analysis(user, ARCHETYPE, BEHAVIOR)) for user in (USER, "user-2")]
    await until(lambda: harness.source.waiting == 2)
    harness.source.release()
    await asyncio.gather(*running)

    assert len(harness.source.calls) == 2


async def test_the_mark_moves_only_once_the_fetch_is_archived_so_another_server_fetches_until_then() -> None:
    harness, queue = fresh_harness()
    await bounded(harness).run_analysis(USER, ARCHETYPE, BEHAVIOR)

    elsewhere = await bounded(harness).run_analysis(USER, ARCHETYPE, CIRCADIAN)  # its own flights: nothing shared
    await archive_all(harness, queue)
    after_archival = await bounded(harness).run_analysis(USER, ARCHETYPE, CIRCADIAN)

    assert elsewhere.data_source == "sahha"
    assert after_archival.data_source == "archive"
    assert len(harness.source.calls) == 2


async def test_an_archive_served_answer_holds_every_record_archived_up_to_the_mark() -> None:
    harness, queue = fresh_harness()
    first = await bounded(harness).run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await archive_all(harness, queue)

    served = await bounded(harness).run_analysis(USER, ARCHETYPE, CIRCADIAN)

    archived = await harness.archive.read_window(USER, served.window)
    assert served.fresh_as_of == first.window.end
    assert {b.key for b in archived.biomarkers} <= {b.key for b in served.snapshot.biomarkers}
    assert {s.key for s in archived.scores} <= {s.key for s in served.snapshot.scores}


async def test_a_zero_bound_fetches_every_time() -> None:
    harness, _ = fresh_harness()
    run = bounded(harness, max_staleness=timedelta(0))

    for analysis_type in (BEHAVIOR, CIRCADIAN, BEHAVIOR):
        outcome = await run.run_analysis(USER, ARCHETYPE, analysis_type)
        assert outcome.data_source == "sahha"

    assert len(harness.source.calls) == 3


async def test_archetypes_are_asked_for_at_most_once_per_period() -> None:
    harness, queue = fresh_harness()
    run = bounded(harness, max_staleness=timedelta(minutes=5), archetype_period=timedelta(hours=24))

    for _ in range(4):  # every six hours, each run archived before the next
        await run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
        await archive_all(harness, queue)
        harness.clock.advance(timedelta(hours=6))

    assert [c.include_archetypes for c in harness.source.calls] == [True, False, False, False]
    await run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    last = harness.source.calls[-1]
    assert last.include_archetypes
    assert last.window.start <= START - timedelta(hours=48)  # back to the last archetype fetch, minus the lookback


async def test_webhook_deliveries_keep_a_user_fresh_and_the_runs_poll_only_when_they_stop() -> None:
    harness, queue = fresh_harness()
    ingest = IngestWebhookRecords(unit_of_work=harness.stores.unit_of_work, clock=harness.clock)
    await bounded(harness).run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await archive_all(harness, queue)

    for hour in range(1, 4):  # a delivery every hour: every run is answered from the archive
        harness.clock.set(START + hour * HOUR)
        delivered = steps(USER, START + hour * HOUR, value=9000 + hour)
        await ingest.ingest(WebhookDelivery(record=delivered, received_at=harness.clock.now()).to_payload(), WEBHOOK)
        harness.clock.advance(timedelta(minutes=30))
        served = await bounded(harness).run_analysis(USER, ARCHETYPE, CIRCADIAN)
        assert served.data_source == "archive"
        assert served.fresh_as_of == START + hour * HOUR
        assert delivered.key in {b.key for b in served.snapshot.biomarkers}
    harness.clock.advance(2 * HOUR)  # the deliveries stopped: the next run polls, from the last poll's mark
    polled = await bounded(harness).run_analysis(USER, ARCHETYPE, CIRCADIAN)

    assert len(harness.source.calls) == 2
    assert polled.data_source == "sahha"
    assert polled.window.start == START - timedelta(hours=48)


async def test_with_a_silence_span_deliveries_keep_a_user_fresh_however_long_ago_they_came() -> None:
    harness, queue = fresh_harness()
    ingest = IngestWebhookRecords(unit_of_work=harness.stores.unit_of_work, clock=harness.clock)
    await bounded(harness).run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await archive_all(harness, queue)
    harness.clock.advance(3 * HOUR)
    delivered = steps(USER, START + HOUR, value=9100)
    await ingest.ingest(WebhookDelivery(record=delivered, received_at=harness.clock.now()).to_payload(), WEBHOOK)
    harness.clock.advance(10 * HOUR)  # no delivery since: Sahha had nothing new

    quiet = await bounded(harness, webhook_silence=timedelta(days=1)).run_analysis(USER, ARCHETYPE, CIRCADIAN)
    harness.clock.advance(15 * HOUR)  # a day without a delivery: the runs poll again
    silent = await bounded(harness, webhook_silence=timedelta(days=1)).run_analysis(USER, ARCHETYPE, CIRCADIAN)

    assert (quiet.data_source, quiet.data_age) == ("archive", 10 * HOUR)  # said, not hidden
    assert delivered.key in {b.key for b in quiet.snapshot.biomarkers}
    assert silent.data_source == "sahha"
    assert len(harness.source.calls) == 2


async def test_deliveries_alone_never_answer_a_user_whose_history_no_fetch_filled() -> None:
    harness, _ = fresh_harness()
    ingest = IngestWebhookRecords(unit_of_work=harness.stores.unit_of_work, clock=harness.clock)
    await ingest.ingest(WebhookDelivery(record=steps(USER, START), received_at=START).to_payload(), WEBHOOK)

    first = await bounded(harness, webhook_silence=timedelta(days=1)).run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert first.data_source == "sahha"
    assert harness.source.calls[0].window.start == START - timedelta(days=7)


async def test_a_burst_of_deliveries_records_one_event_a_minute() -> None:
    harness, _ = fresh_harness()
    ingest = IngestWebhookRecords(unit_of_work=harness.stores.unit_of_work, clock=harness.clock)

    for n in range(5):
        record = steps(USER, START - timedelta(days=n))
        received = START + timedelta(seconds=10 * n)
        await ingest.ingest(WebhookDelivery(record=record, received_at=received).to_payload(), WEBHOOK)

    freshness = await harness.stores.tracking.freshness(USER)
    assert freshness is not None
    assert freshness.delivered is not None
    assert freshness.delivered.value == START
    assert freshness.delivery_run_id is not None
    stream = await harness.stores.events.read_stream(stream_id_for(freshness.delivery_run_id))
    assert [type(r.event) for r in stream] == [UserDataDelivered]


async def test_a_rebuild_gives_every_users_freshness_back() -> None:
    harness, queue = fresh_harness()
    ingest = IngestWebhookRecords(unit_of_work=harness.stores.unit_of_work, clock=harness.clock)
    await bounded(harness).run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await archive_all(harness, queue)
    harness.clock.advance(HOUR)
    delivery = WebhookDelivery(record=steps("user-2", START), received_at=harness.clock.now())
    await ingest.ingest(delivery.to_payload(), WEBHOOK)
    live = await harness.stores.tracking.list_freshness()

    await RebuildProjections(unit_of_work=harness.stores.unit_of_work).rebuild()

    assert await harness.stores.tracking.list_freshness() == live
    assert [f.user_id for f in live] == [USER, "user-2"]


async def test_forgetting_a_user_erases_their_freshness_and_their_deliveries_stream() -> None:
    harness, queue = fresh_harness()
    ingest = IngestWebhookRecords(unit_of_work=harness.stores.unit_of_work, clock=harness.clock)
    await bounded(harness).run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await archive_all(harness, queue)
    await ingest.ingest(WebhookDelivery(record=steps(USER, START), received_at=START).to_payload(), WEBHOOK)

    await ForgetUser(unit_of_work=harness.stores.unit_of_work, clock=harness.clock).forget(USER)

    assert await harness.stores.tracking.freshness(USER) is None
    assert not any(USER in row.payload for row in harness.stores.events.rows)


async def test_a_failed_fetch_is_said_so_and_keeps_nothing_for_the_next_run() -> None:
    harness, _ = fresh_harness()
    flights = UserFlights()
    harness.source.fail_with(SahhaUnavailableError("down"), times=1)

    failed = await bounded(harness, flights=flights).run_analysis(USER, ARCHETYPE, BEHAVIOR)
    again = await bounded(harness, flights=flights).run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert (failed.data_source, failed.source_failed, failed.degraded) == ("archive", True, True)
    assert failed.data_age is None  # nothing archived for the user yet
    assert again.data_source == "sahha"


async def test_a_wider_fetch_answers_a_narrower_request_but_not_one_it_does_not_reach() -> None:
    harness, _ = fresh_harness()
    flights = UserFlights()
    await bounded(harness, flights=flights).run_analysis(USER, ARCHETYPE, BEHAVIOR)

    narrower = await bounded(harness, flights=flights, initial_days=3).run_analysis(USER, ARCHETYPE, CIRCADIAN)
    wider = await bounded(harness, flights=flights, initial_days=14).run_analysis(USER, ARCHETYPE, CIRCADIAN)

    assert narrower.data_source == "archive"
    assert wider.data_source == "sahha"  # the 7-day fetch does not reach 14 days back, and nothing is archived
    assert harness.source.calls[-1].window.start == START - timedelta(days=14)


def test_the_flights_keep_at_most_max_users_fetches() -> None:
    flights = UserFlights(max_users=2)
    window = FetchWindow(START - HOUR, START)
    for user in ("a", "b", "c"):
        flights.keep(user, Flight(f"run-{user}", window, False, HealthRecords()))

    assert (flights.last("a"), flights.kept) == (None, 2)
    assert flights.last("c") is not None
