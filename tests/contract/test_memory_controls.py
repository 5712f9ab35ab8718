"""What the in-memory adapters offer beyond their ports: failure injection, a manual clock, dead jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from structlog.testing import capture_logs

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import (
    InMemoryHealthArchive,
    InMemoryHealthDataSource,
    InMemoryJobQueue,
    InMemoryStores,
)
from sahha_sync.application.ports import (
    ArchiveUnavailableError,
    JobContext,
    QueueClosedError,
    SahhaUnavailableError,
)
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.events import stream_id_for
from sahha_sync.domain.health import HealthRecords
from sahha_sync.domain.windows import FetchWindow
from sahha_sync.testing.records import T0, analysis_requested, biomarker, unique_id

WEEK = FetchWindow(T0 - timedelta(days=1), T0 + timedelta(days=7))


class Transient(Exception):
    retryable = True


def test_a_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(T0)
    assert clock.now() == clock.now() == T0
    assert clock.advance(timedelta(hours=2)) == T0 + timedelta(hours=2)
    assert clock.set(T0 - timedelta(days=1)) == clock.now() == T0 - timedelta(days=1)


def test_a_manual_clock_reports_utc_whatever_offset_it_was_given() -> None:
    clock = ManualClock(datetime(2025, 10, 1, 10, tzinfo=timezone(timedelta(hours=10))))
    assert clock.now() == T0
    assert clock.now().utcoffset() == timedelta(0)


def test_a_manual_clock_refuses_a_naive_datetime() -> None:
    with pytest.raises(InvalidInputError) as caught:
        ManualClock(T0).set(datetime(2025, 10, 1))  # naive on purpose
    assert caught.value.field == "moment"
    with pytest.raises(InvalidInputError):
        ManualClock(datetime(2025, 10, 1))


def test_a_manual_clock_does_not_advance_backwards() -> None:
    with pytest.raises(InvalidInputError):
        ManualClock(T0).advance(timedelta(seconds=-1))


async def test_a_source_told_to_fail_fails_that_many_times_then_serves() -> None:
    user = unique_id()
    source = InMemoryHealthDataSource(HealthRecords(biomarkers=(biomarker(user),)))
    source.fail_with(SahhaUnavailableError("sahha is down"), times=2)
    for _ in range(2):
        with pytest.raises(SahhaUnavailableError):
            await source.fetch(user, WEEK)
    assert len((await source.fetch(user, WEEK)).biomarkers) == 1
    assert [call.user_id for call in source.calls] == [user] * 3


async def test_a_blocked_source_waits_until_released() -> None:
    user = unique_id()
    source = InMemoryHealthDataSource(HealthRecords(biomarkers=(biomarker(user),)))
    source.block()
    fetch = asyncio.create_task(source.fetch(user, WEEK))
    await asyncio.sleep(0)
    assert source.waiting == 1
    assert not fetch.done()
    source.release()
    assert len((await fetch).biomarkers) == 1


async def test_a_source_adds_records_once_per_natural_key() -> None:
    user = unique_id()
    source = InMemoryHealthDataSource(HealthRecords(biomarkers=(biomarker(user, value="1"),)))
    source.add(HealthRecords(biomarkers=(biomarker(user, value="2"),)))
    assert [b.value for b in (await source.fetch(user, WEEK)).biomarkers] == ["2"]


def test_a_source_fails_only_with_its_ports_errors() -> None:
    with pytest.raises(TypeError):
        InMemoryHealthDataSource().fail_with(RuntimeError("x"))  # type: ignore[arg-type]


async def test_an_archive_can_fail_one_operation_only() -> None:
    archive = InMemoryHealthArchive()
    archive.faults.fail_with(ArchiveUnavailableError("scores table locked"), operations={"upsert_scores"})
    user = unique_id()
    assert (await archive.upsert_biomarkers([biomarker(user)])).inserted == 1
    with pytest.raises(ArchiveUnavailableError):
        await archive.upsert_scores([])
    archive.faults.clear_failures()
    assert (await archive.upsert_scores([])).total == 0


async def test_the_event_store_keeps_events_as_json_text() -> None:
    stores = InMemoryStores()
    run_id = "r-1"
    await stores.events.append(stream_id_for(run_id), [analysis_requested(run_id)], expected_version=0)
    (row,) = stores.events.rows
    assert isinstance(row.payload, str)
    assert '"analysis_type": "behavior_analysis"' in row.payload


async def test_a_rolled_back_position_is_never_used_again() -> None:
    stores = InMemoryStores()
    async with stores.unit_of_work() as uow:
        (lost,) = await uow.events.append("run-a", [analysis_requested("a")], expected_version=0)
    (kept,) = await stores.events.append("run-b", [analysis_requested("b")], expected_version=0)
    assert kept.position > lost.position


async def test_a_second_unit_of_work_waits_for_the_first() -> None:
    stores = InMemoryStores()
    order: list[str] = []

    async def first() -> None:
        async with stores.unit_of_work() as uow:
            order.append("first in")
            await uow.events.append("run-a", [analysis_requested("a")], expected_version=0)
            await asyncio.sleep(0)
            await uow.commit()
            order.append("first out")

    async def second() -> None:
        await asyncio.sleep(0)
        async with stores.unit_of_work() as uow:
            order.append(f"second sees {await uow.events.stream_version('run-a')}")

    await asyncio.gather(first(), second())
    assert order == ["first in", "first out", "second sees 1"]


async def test_work_after_a_commit_is_rolled_back_unless_committed_again() -> None:
    stores = InMemoryStores()
    async with stores.unit_of_work() as uow:
        await uow.events.append("run-a", [analysis_requested("a")], expected_version=0)
        await uow.commit()
        await uow.events.append("run-b", [analysis_requested("b")], expected_version=0)
    assert await stores.events.stream_version("run-a") == 1
    assert await stores.events.stream_version("run-b") == 0


async def logs_of_a_job_that_always_fails(queue: InMemoryJobQueue) -> list[dict[str, Any]]:
    """The queue's logs while one job fails (retryably) on every attempt until it is dead."""

    async def always_down(payload: Mapping[str, Any], context: JobContext) -> None:
        raise Transient("down")

    queue.register("job", always_down)
    await queue.start()
    with capture_logs() as logs:
        await queue.submit_job("job", {})
        assert await queue.wait_idle(10)
    await queue.stop()
    return logs


def retry_delays(logs: list[dict[str, Any]]) -> list[float]:
    return [e["delay_seconds"] for e in logs if e["event"] == "queue.job_retry_scheduled"]


async def test_retries_wait_twice_as_long_each_time() -> None:
    logs = await logs_of_a_job_that_always_fails(InMemoryJobQueue(max_attempts=4, backoff_base=0.001))
    assert retry_delays(logs) == [0.001, 0.002, 0.004]
    assert [e["reason"] for e in logs if e["event"] == "queue.job_dead"] == ["attempts exhausted"]


async def test_the_default_backoff_is_two_four_eight_seconds() -> None:
    queue = InMemoryJobQueue(max_attempts=4)
    assert [queue.backoff.delay(attempt) for attempt in (1, 2, 3)] == [2.0, 4.0, 8.0]


async def test_with_jitter_each_retry_waits_a_random_part_of_its_backoff() -> None:
    logs = await logs_of_a_job_that_always_fails(InMemoryJobQueue(max_attempts=6, backoff_base=0.004, jitter=True))
    delays, ceilings = retry_delays(logs), [0.004, 0.008, 0.016, 0.032, 0.064]
    assert all(0 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True))
    assert delays != ceilings


async def test_job_logs_never_carry_the_payload() -> None:
    queue = InMemoryJobQueue(backoff_base=0.001)

    async def fails(payload: Mapping[str, Any], context: JobContext) -> None:
        raise Transient("down")

    queue.register("job", fails)
    await queue.start()
    with capture_logs() as logs:
        await queue.submit_job("job", {"heart_rate": "secret-value-58"})
        await queue.wait_idle(10)
    await queue.stop()
    assert logs
    assert "secret-value-58" not in repr(logs)
    assert all("." in e["event"] for e in logs)


async def test_a_job_of_an_unknown_type_is_dead_with_a_clear_reason() -> None:
    queue = InMemoryJobQueue()
    await queue.start()
    with capture_logs() as logs:
        await queue.submit_job("no.such.job", {})
        assert await queue.wait_idle(10)
    await queue.stop()
    (dead,) = [e for e in logs if e["event"] == "queue.job_dead"]
    assert dead["error_kind"] == "UnknownJobTypeError"
    assert "no.such.job" in dead["error"]


async def test_stop_without_draining_abandons_the_running_job() -> None:
    queue = InMemoryJobQueue()
    started = asyncio.Event()

    async def slow(payload: Mapping[str, Any], context: JobContext) -> None:
        started.set()
        await asyncio.Event().wait()

    queue.register("job", slow)
    await queue.start()
    await queue.submit_job("job", {})
    await started.wait()
    await queue.stop(drain=False)
    assert (await queue.get_stats()).completed == 0
    with pytest.raises(QueueClosedError):
        await queue.start()


async def test_a_drain_that_times_out_still_stops_the_queue() -> None:
    queue = InMemoryJobQueue()

    async def stuck(payload: Mapping[str, Any], context: JobContext) -> None:
        await asyncio.Event().wait()

    queue.register("job", stuck)
    await queue.start()
    await queue.submit_job("job", {})
    await queue.stop(drain=True, timeout=0.01)
    with pytest.raises(QueueClosedError):
        await queue.submit_job("job", {})


def test_a_queue_refuses_nonsense_settings() -> None:
    with pytest.raises(InvalidInputError):
        InMemoryJobQueue(max_attempts=0)
    with pytest.raises(InvalidInputError):
        InMemoryJobQueue(concurrency=0)
