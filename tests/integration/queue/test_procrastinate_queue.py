"""What the durable queue promises beyond the ``JobQueue`` contract: dedup while a job waits, dead letters
that can be retried, no health data kept once a job ended, stalled jobs put back, bounded shutdown."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from procrastinate.jobs import Status

from sahha_sync.adapters.queue import ProcrastinateJobQueue
from sahha_sync.adapters.queue import _writer as writer_module
from sahha_sync.application.ports import JobContext, QueueUnavailableError
from sahha_sync.domain.errors import InvalidInputError, SahhaSyncError

pytestmark = pytest.mark.postgres

_spec = importlib.util.spec_from_file_location("durable_helpers", Path(__file__).with_name("_durable.py"))
assert _spec is not None
assert _spec.loader is not None
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)

JOB = "test.job"
SECRET_VALUE = "heart-rate-71.5-bpm-marker"
WAIT = 20.0


class Failing(SahhaSyncError):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable  # type: ignore[misc]


class Handler:
    def __init__(self, fail: Callable[[Mapping[str, Any], JobContext], Exception | None] | None = None) -> None:
        self.calls: list[tuple[dict[str, Any], JobContext]] = []
        self.fail = fail
        self.gate: asyncio.Event | None = None

    async def __call__(self, payload: Mapping[str, Any], context: JobContext) -> None:
        self.calls.append((dict(payload), context))
        if self.gate is not None:
            await self.gate.wait()
        error = self.fail(payload, context) if self.fail else None
        if error is not None:
            raise error


@pytest.fixture
async def queues(postgres_url: str) -> AsyncIterator[Callable[..., ProcrastinateJobQueue]]:
    made: list[ProcrastinateJobQueue] = []

    def make(**options: Any) -> ProcrastinateJobQueue:
        queue: ProcrastinateJobQueue = helpers.fast_queue(postgres_url, **options)
        made.append(queue)
        return queue

    yield make
    for queue in made:
        await queue.stop(drain=False, timeout=WAIT)


async def test_a_job_waiting_for_its_retry_still_holds_its_dedup_key(queues: Any, postgres_url: str) -> None:
    handler = Handler(lambda p, c: Failing("later", retryable=True) if c.attempt == 1 else None)
    queue = queues(backoff_base=1.0)
    queue.register(JOB, handler)
    await queue.start()
    first = await queue.submit_job(JOB, {"n": 1}, dedup_key="run:1")
    await helpers.until(lambda: bool(handler.calls))

    async def retry_scheduled() -> bool:
        return bool((await queue.get_stats()).retries == 1)

    await helpers.until(retry_scheduled)
    again = await queue.submit_job(JOB, {"n": 2}, dedup_key="run:1")
    assert again.job_id == first.job_id
    assert again.duplicate
    assert await queue.wait_idle(WAIT)
    assert [(p["n"], c.attempt) for p, c in handler.calls] == [(1, 1), (1, 2)]


async def test_a_dead_job_is_listed_with_its_error_and_without_its_health_data(queues: Any, postgres_url: str) -> None:
    handler = Handler(lambda p, c: Failing("schema changed", retryable=False))
    queue = queues()
    queue.register(JOB, handler)
    await queue.start()
    submitted = await queue.submit_job(JOB, {"n": 1, "sahha_data": {"value": SECRET_VALUE}}, dedup_key="run:1")
    assert await queue.wait_idle(WAIT)
    (dead,) = await queue.dead_jobs()
    assert (dead.job_id, dead.job_type, dead.attempts) == (submitted.job_id, JOB, 1)
    assert (dead.error_kind, dead.error, dead.dedup_key) == ("Failing", "schema changed", "run:1")
    assert dead.payload == {"n": 1}
    assert SECRET_VALUE not in helpers.jobs_table_text(postgres_url)


async def test_the_message_of_an_error_from_outside_the_library_is_not_kept(queues: Any, postgres_url: str) -> None:
    handler = Handler(lambda p, c: ValueError(f"could not parse {SECRET_VALUE}"))
    queue = queues()
    queue.register(JOB, handler)
    await queue.start()
    await queue.submit_job(JOB, {"n": 1})
    assert await queue.wait_idle(WAIT)
    (dead,) = await queue.dead_jobs()
    assert (dead.error_kind, dead.error) == ("ValueError", "")
    assert SECRET_VALUE not in helpers.jobs_table_text(postgres_url)


async def test_retry_dead_submits_dead_jobs_again_with_fresh_attempts(queues: Any) -> None:
    outcome: dict[str, Exception | None] = {"error": Failing("down", retryable=True)}
    handler = Handler(lambda p, c: outcome["error"])
    queue = queues(max_attempts=2)
    queue.register(JOB, handler)
    await queue.start()
    await queue.submit_job(JOB, {"n": 1}, dedup_key="run:1")
    await queue.submit_job(JOB, {"n": 2})
    assert await queue.wait_idle(WAIT)
    assert (await queue.get_stats()).dead == 2
    outcome["error"] = None
    dead = await queue.dead_jobs()
    retried = await queue.retry_dead([dead[0].job_id])
    assert len(retried) == 1
    assert retried[0] not in {d.job_id for d in dead}
    assert await queue.wait_idle(WAIT)
    assert [d.job_id for d in await queue.dead_jobs()] == [dead[1].job_id]
    assert await queue.retry_dead() != []
    assert await queue.wait_idle(WAIT)
    stats = await queue.get_stats()
    assert (stats.dead, stats.completed) == (0, 2)
    last_two = [(p["n"], c.attempt) for p, c in handler.calls[-2:]]
    assert last_two == [(1, 1), (2, 1)]


async def test_a_finished_job_leaves_no_row_and_no_payload_behind(queues: Any, postgres_url: str) -> None:
    handler = Handler()
    queue = queues()
    queue.register(JOB, handler)
    await queue.start()
    for n in range(5):
        await queue.submit_job(JOB, {"n": n, "sahha_data": {"value": SECRET_VALUE}})
    assert await queue.wait_idle(WAIT)
    assert all(p["sahha_data"] == {"value": SECRET_VALUE} for p, _ in handler.calls)
    assert helpers.rows(postgres_url, "SELECT count(*) FROM procrastinate_jobs") == [(0,)]
    assert SECRET_VALUE not in helpers.jobs_table_text(postgres_url)
    assert (await queue.get_stats()).completed == 5


async def test_the_worker_logs_no_health_data(queues: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="procrastinate")
    handler = Handler(lambda p, c: Failing("bad", retryable=False) if p["n"] == 2 else None)
    queue = queues()
    queue.register(JOB, handler)
    await queue.start()
    for n in (1, 2):
        await queue.submit_job(JOB, {"n": n, "sahha_data": {"values": [SECRET_VALUE] * 50}})
    assert await queue.wait_idle(WAIT)
    assert [p["sahha_data"]["values"][0] for p, _ in handler.calls] == [SECRET_VALUE] * 2
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "Starting job" in logged
    assert "<sealed health data>" in logged
    assert "transient_data': '" not in logged
    assert SECRET_VALUE not in logged


async def test_health_data_is_stored_compressed_while_the_job_waits(queues: Any, postgres_url: str) -> None:
    queue = queues()
    await queue.submit_job(JOB, {"n": 1, "sahha_data": {"values": [SECRET_VALUE] * 200}})
    ((args_size,),) = helpers.rows(postgres_url, "SELECT length(args::text) FROM procrastinate_jobs")
    assert SECRET_VALUE not in helpers.jobs_table_text(postgres_url)
    assert args_size < len(SECRET_VALUE) * 200 / 4


async def test_a_job_whose_worker_died_is_run_again(queues: Any, postgres_url: str) -> None:
    submitter = queues(run_worker=False)
    await submitter.submit_job(JOB, {"n": 1})
    await _take_job_as_a_dead_worker(submitter)
    handler = Handler()
    queue = queues()
    queue.register(JOB, handler)
    await queue.start()
    assert await queue.wait_idle(WAIT)
    assert [(p["n"], c.attempt) for p, c in handler.calls] == [(1, 2)]
    assert (await queue.get_stats()).retries == 1


async def test_a_job_whose_worker_died_gives_way_to_a_job_queued_for_the_same_key_meanwhile(
    queues: Any, postgres_url: str
) -> None:
    submitter = queues(run_worker=False)
    await submitter.submit_job(JOB, {"n": 1}, dedup_key="run-7")
    await _take_job_as_a_dead_worker(submitter)
    # as recovery does at a worker's start: the key is free while its job looks running
    again = await submitter.submit_job(JOB, {"n": 2}, dedup_key="run-7")
    assert not again.duplicate
    handler = Handler()
    queue = queues()
    queue.register(JOB, handler)
    await queue.start()
    assert await queue.wait_idle(WAIT)
    assert [p["n"] for p, _ in handler.calls] == [2]
    assert helpers.rows(postgres_url, "SELECT count(*) FROM procrastinate_jobs")[0][0] == 0


async def test_a_twin_queued_while_its_job_looked_running_takes_over_the_attempts(
    queues: Any, postgres_url: str
) -> None:
    submitter = queues(run_worker=False, max_attempts=3)
    await submitter.submit_job(JOB, {"n": 1}, dedup_key="run-9")
    await _take_job_as_a_dead_worker(submitter)  # attempt 1 died with its worker
    await submitter.submit_job(JOB, {"n": 2}, dedup_key="run-9")  # recovery at the next worker's start
    handler = Handler()
    queue = queues(max_attempts=3)
    queue.register(JOB, handler)
    await queue.start()
    assert await queue.wait_idle(WAIT)
    assert [(p["n"], c.attempt) for p, c in handler.calls] == [(2, 2)]  # not attempt 1 again


async def test_a_job_dead_with_its_worker_keeps_its_key_and_no_health_data(queues: Any, postgres_url: str) -> None:
    submitter = queues(run_worker=False, max_attempts=1)
    payload = {"user_id": "u-1", "run_id": "r-1", "sahha_data": {"values": [SECRET_VALUE]}}
    await submitter.submit_job(JOB, payload, dedup_key="run:r-1")
    await _take_job_as_a_dead_worker(submitter)
    queue = queues(max_attempts=1)
    queue.register(JOB, Handler())
    await queue.start()
    assert await queue.wait_idle(WAIT)
    (dead,) = await queue.dead_jobs()
    assert (dead.payload, dead.dedup_key, dead.error_kind) == (
        {"user_id": "u-1", "run_id": "r-1"},
        "run:r-1",
        "WorkerLost",
    )
    assert SECRET_VALUE not in helpers.jobs_table_text(postgres_url)


async def test_purging_a_user_removes_their_running_job_too(queues: Any, postgres_url: str) -> None:
    submitter = queues(run_worker=False)
    await submitter.submit_job(JOB, {"user_id": "u-gone", "sahha_data": {"v": SECRET_VALUE}})
    await submitter.submit_job(JOB, {"user_id": "u-kept"})
    await _take_job_as_a_dead_worker(submitter)  # u-gone's job is running
    assert await submitter.purge_user("u-gone") == 1
    assert SECRET_VALUE not in helpers.jobs_table_text(postgres_url)
    assert helpers.rows(postgres_url, "SELECT count(*) FROM procrastinate_jobs")[0][0] == 1


async def test_a_job_failing_for_a_retry_gives_way_to_a_job_queued_for_its_key_while_it_ran(queues: Any) -> None:
    calls: list[int] = []
    gate = asyncio.Event()

    async def handler(payload: Mapping[str, Any], context: JobContext) -> None:
        calls.append(payload["n"])
        if payload["n"] == 1:
            await gate.wait()
            raise Failing("try later", retryable=True)

    queue = queues()
    queue.register(JOB, handler)
    await queue.start()
    await queue.submit_job(JOB, {"n": 1}, dedup_key="run-8")
    await helpers.until(lambda: calls == [1])
    twin = await queue.submit_job(JOB, {"n": 2}, dedup_key="run-8")  # the key is free while its job runs
    assert not twin.duplicate
    gate.set()
    assert await queue.wait_idle(WAIT)
    assert calls == [1, 2]


async def test_a_job_whose_worker_died_on_its_last_attempt_is_dead(queues: Any) -> None:
    submitter = queues(run_worker=False, max_attempts=1)
    await submitter.submit_job(JOB, {"n": 1})
    await _take_job_as_a_dead_worker(submitter)
    handler = Handler()
    queue = queues(max_attempts=1)
    queue.register(JOB, handler)
    await queue.start()
    assert await queue.wait_idle(WAIT)
    assert handler.calls == []
    (dead,) = await queue.dead_jobs()
    assert dead.error_kind == "WorkerLost"


async def test_stop_gives_running_jobs_the_shutdown_time_then_puts_them_back(queues: Any) -> None:
    handler = Handler()
    handler.gate = asyncio.Event()  # never set: the job outlives the shutdown time
    queue = queues(shutdown_timeout=0.3)
    queue.register(JOB, handler)
    await queue.start()
    await queue.submit_job(JOB, {"n": 1})
    await helpers.until(lambda: bool(handler.calls))
    started = time.monotonic()
    await queue.stop(drain=False)
    assert time.monotonic() - started < 5.0
    second = Handler()
    follower = queues()
    follower.register(JOB, second)
    await follower.start()
    assert await follower.wait_idle(WAIT)
    assert [p["n"] for p, _ in second.calls] == [1]


async def test_a_queue_without_its_tables_says_to_run_the_migrations(new_postgres_database: str) -> None:
    queue = helpers.fast_queue(new_postgres_database)
    with pytest.raises(QueueUnavailableError, match="db upgrade"):
        await queue.start()
    with pytest.raises(QueueUnavailableError):
        await queue.submit_job(JOB, {"n": 1})
    await queue.stop()


async def test_an_unreachable_database_is_a_queue_unavailable_error() -> None:
    queue = ProcrastinateJobQueue("postgresql://postgres@127.0.0.1:1/none", run_worker=False, connect_timeout=0.5)
    with pytest.raises(QueueUnavailableError):
        await queue.submit_job(JOB, {"n": 1})


def test_a_stalled_threshold_under_three_heartbeats_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="stalled_after"):
        ProcrastinateJobQueue("postgresql://postgres@127.0.0.1/x", heartbeat=1.0, stalled_after=2.0)


async def _take_job_as_a_dead_worker(queue: ProcrastinateJobQueue) -> None:
    """Mark the queued job as taken by a worker that then stopped sending heartbeats (as after SIGKILL)."""
    manager = queue._app.job_manager
    await queue.get_stats()  # opens the pool
    worker_id = await manager.register_worker()
    job = await manager.fetch_job(queues=[queue.queue_name], worker_id=worker_id)
    assert job is not None
    assert job.status == Status.DOING.value
    await queue._connector.execute_query_async(
        "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' WHERE id = %(id)s", id=worker_id
    )


async def test_a_submit_survives_a_connection_the_database_dropped(queues: Any, postgres_url: str) -> None:
    queue = queues(run_worker=False)
    await queue.submit_job(JOB, {"n": 1})
    dropped = helpers.rows(
        postgres_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    assert dropped
    second = await queue.submit_job(JOB, {"n": 2})
    assert not second.duplicate
    assert (await queue.get_stats()).queued == 2


def test_behind_supabases_transaction_pooler_the_queue_sends_nothing_the_pooler_refuses() -> None:
    pooled = ProcrastinateJobQueue("postgresql+psycopg://user:pw@pooler.example.com:6543/postgres")
    direct = ProcrastinateJobQueue("postgresql://user:pw@db.example.com:5432/postgres")
    assert pooled._connector._pool_args["kwargs"] == {"prepare_threshold": None}
    assert pooled.listen_notify is False
    assert "plan_cache_mode=force_custom_plan" in direct._connector._pool_args["kwargs"]["options"]
    assert direct.listen_notify is True


# -- the write-behind path ------------------------------------------------------------------------------------


def _job_rows(url: str, lock_suffix: str) -> list[tuple[Any, ...]]:
    return helpers.rows(
        url, "SELECT id, status FROM procrastinate_jobs WHERE queueing_lock LIKE %s", f"%:{lock_suffix}"
    )


async def test_a_recoverable_submit_returns_before_its_job_is_written_and_stop_writes_it(
    queues: Any, postgres_url: str
) -> None:
    queue = queues(run_worker=False)
    await queue.submit_job(JOB, {"n": 0})  # opens the pool and reserves ids
    result = await queue.submit_job(JOB, {"n": 1}, dedup_key="behind-1", recoverable=True)
    assert result.buffered
    assert _job_rows(postgres_url, "behind-1") == []  # the caller did not wait for the database
    await queue.stop(drain=False, timeout=WAIT)
    assert _job_rows(postgres_url, "behind-1") == [(int(result.job_id), "todo")]


async def test_a_key_another_process_queued_makes_a_recoverable_submit_a_duplicate_when_written(
    queues: Any, postgres_url: str
) -> None:
    here, there = queues(run_worker=False), queues(run_worker=False)
    first = await here.submit_job(JOB, {"n": 1}, dedup_key="shared-1")
    late = await there.submit_job(JOB, {"n": 2}, dedup_key="shared-1", recoverable=True)
    assert (late.duplicate, late.buffered) == (False, True)  # only the database knows of the first
    await there.stop(drain=False, timeout=WAIT)
    assert _job_rows(postgres_url, "shared-1") == [(int(first.job_id), "todo")]
    waiting = await here.submit_job(JOB, {"n": 3}, dedup_key="shared-1")
    assert (waiting.job_id, waiting.duplicate) == (first.job_id, True)


async def test_while_writes_fail_recoverable_jobs_wait_and_other_submits_fail_at_once(
    queues: Any, postgres_url: str
) -> None:
    queue = queues(run_worker=False)
    await queue.submit_job(JOB, {"n": 0}, dedup_key="before")
    helpers.execute(postgres_url, "ALTER TABLE procrastinate_jobs RENAME TO procrastinate_jobs_away")
    try:
        kept = await queue.submit_job(JOB, {"n": 1}, dedup_key="kept", recoverable=True)
        with pytest.raises(QueueUnavailableError):
            await queue.submit_job(JOB, {"n": 2}, dedup_key="refused")
    finally:
        helpers.execute(postgres_url, "ALTER TABLE procrastinate_jobs_away RENAME TO procrastinate_jobs")
    await helpers.until(lambda: bool(_job_rows(postgres_url, "kept")))
    assert _job_rows(postgres_url, "kept") == [(int(kept.job_id), "todo")]
    await queue.stop(drain=False, timeout=WAIT)
    assert _job_rows(postgres_url, "refused") == []  # its caller was told it failed: it is not stored later


async def test_many_submits_at_once_share_a_few_inserts(queues: Any, postgres_url: str) -> None:
    queue = queues(run_worker=False)
    await queue.submit_job(JOB, {"n": 0})
    inserts = []
    execute = queue._connector.execute_query_all_async

    async def counting(query: Any, **arguments: Any) -> Any:
        if "INSERT INTO procrastinate_jobs" in query:
            inserts.append(len(arguments["ids"]))
        return await execute(query, **arguments)

    queue._connector.execute_query_all_async = counting  # type: ignore[method-assign]
    results = await asyncio.gather(*(queue.submit_job(JOB, {"n": n}, dedup_key=f"many-{n}") for n in range(200)))
    assert len({r.job_id for r in results}) == 200
    assert not any(r.buffered for r in results)
    assert sum(inserts) == 200
    assert len(inserts) < 20  # one INSERT per batch, not per job
    assert (
        len(helpers.rows(postgres_url, "SELECT 1 FROM procrastinate_jobs WHERE queueing_lock LIKE %s", "%:many-%"))
        == 200
    )


async def test_a_job_the_database_refuses_is_dropped_alone_and_the_rest_of_its_batch_is_written(
    queues: Any, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = queues(run_worker=False)
    await queue.submit_job(JOB, {"n": 0})
    real = writer_module.args_json
    monkeypatch.setattr(writer_module, "args_json", lambda frozen: "{" if b'"n":2' in frozen.kept else real(frozen))
    results = [await queue.submit_job(JOB, {"n": n}, dedup_key=f"poison-{n}", recoverable=True) for n in (1, 2, 3)]
    refused = queue.submit_job(JOB, {"n": 2}, dedup_key="poison-2b")
    with pytest.raises(InvalidInputError, match="refused"):
        await refused
    await queue.stop(drain=False, timeout=WAIT)
    written = helpers.rows(postgres_url, "SELECT id FROM procrastinate_jobs WHERE queueing_lock LIKE %s", "%:poison-%")
    assert sorted(id_ for (id_,) in written) == sorted(int(r.job_id) for r in (results[0], results[2]))


async def test_a_full_write_buffer_refuses_submits_until_it_is_written(queues: Any, postgres_url: str) -> None:
    queue = queues(run_worker=False)
    await queue.submit_job(JOB, {"n": 0})
    queue._writer.max_buffered_bytes = 100
    first = await queue.submit_job(JOB, {"n": 1, "pad": "x" * 200}, recoverable=True)  # fills the buffer
    with pytest.raises(QueueUnavailableError, match="waiting to be written"):
        await queue.submit_job(JOB, {"n": 2}, recoverable=True)
    await helpers.until(lambda: queue._writer.pending == 0)
    second = await queue.submit_job(JOB, {"n": 3}, recoverable=True)
    await queue.stop(drain=False, timeout=WAIT)
    ids = helpers.rows(postgres_url, "SELECT id FROM procrastinate_jobs WHERE args->'payload'->>'n' IN ('1', '3')")
    assert sorted(id_ for (id_,) in ids) == sorted([int(first.job_id), int(second.job_id)])


async def test_a_nul_character_in_a_job_type_or_dedup_key_is_refused_at_submit(queues: Any) -> None:
    queue = queues(run_worker=False)
    with pytest.raises(InvalidInputError):
        await queue.submit_job("bad\x00type", {"n": 1})
    with pytest.raises(InvalidInputError):
        await queue.submit_job(JOB, {"n": 1}, dedup_key="run\x00", recoverable=True)
