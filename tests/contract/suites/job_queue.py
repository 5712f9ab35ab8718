"""``JobQueueContract``: jobs run in the background, retry with backoff, die when they cannot succeed."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import pytest

from sahha_sync.application.ports.job_queue import JobContext, JobQueue, QueueClosedError, QueueStats
from sahha_sync.domain.errors import InvalidInputError

WAIT = 20.0  # generous upper bound for a queue to become idle; the tests never measure time
JOB = "contract.job"

QueueMaker = Callable[..., JobQueue | Awaitable[JobQueue]]
NewQueue = Callable[..., Awaitable[JobQueue]]


class Transient(Exception):
    """A failure that trying again may fix."""

    retryable = True


class Permanent(Exception):
    """A failure that trying again will not fix."""

    retryable = False


class Recorder:
    """A handler that records each attempt and fails as scripted: ``failures[n]`` for the job with ``n``."""

    def __init__(self, failures: Mapping[int, tuple[Exception, int]] | None = None) -> None:
        self.failures = dict(failures or {})
        self.attempts: list[tuple[int, int]] = []
        self.contexts: list[JobContext] = []
        self.payloads: list[dict[str, Any]] = []
        self.gate: asyncio.Event | None = None

    async def __call__(self, payload: Mapping[str, Any], context: JobContext) -> None:
        n = int(payload["n"])
        self.attempts.append((n, context.attempt))
        self.contexts.append(context)
        self.payloads.append(dict(payload))
        if self.gate is not None:
            await self.gate.wait()
        error, times = self.failures.get(n, (None, 0))
        if error is not None and context.attempt <= times:
            raise error

    def attempts_of(self, n: int) -> list[int]:
        return [attempt for job, attempt in self.attempts if job == n]


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait until ``check()`` holds (polling; at most ``WAIT`` seconds)."""
    for _ in range(int(WAIT / 0.01)):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the queue never reached the state the test waits for")


class JobQueueContract:
    """Override ``make_queue``: a callable ``make_queue(*, max_attempts, backoff_base)`` → a new ``JobQueue``.

    The suite registers its handler, starts the queue and stops it (without draining) after each test.
    ``backoff_base`` is small (milliseconds), so retries happen quickly, unless a test asks for a long one.
    """

    backoff_base = 0.001

    @pytest.fixture
    def make_queue(self) -> QueueMaker:
        raise NotImplementedError("override the 'make_queue' fixture to return a factory of the JobQueue under test")

    @pytest.fixture
    async def new_queue(self, make_queue: QueueMaker) -> AsyncIterator[NewQueue]:
        made: list[JobQueue] = []

        async def new(
            *,
            max_attempts: int = 3,
            start: bool = True,
            handler: Recorder | None = None,
            backoff_base: float | None = None,
        ) -> JobQueue:
            backoff = self.backoff_base if backoff_base is None else backoff_base
            queue = make_queue(max_attempts=max_attempts, backoff_base=backoff)
            if inspect.isawaitable(queue):
                queue = await queue
            made.append(queue)
            if handler is not None:
                queue.register(JOB, handler)
            if start:
                await queue.start()
            return queue

        yield new
        for queue in made:
            with contextlib.suppress(Exception):  # a test may have stopped it already
                await queue.stop(drain=False, timeout=WAIT)

    async def test_a_submitted_job_runs_with_its_payload_and_context(self, new_queue: NewQueue) -> None:
        handler = Recorder()
        queue = await new_queue(handler=handler)
        submitted = await queue.submit_job(JOB, {"n": 1, "user_id": "user/1?#é"})
        assert submitted.duplicate is False
        assert await queue.wait_idle(WAIT)
        assert handler.payloads == [{"n": 1, "user_id": "user/1?#é"}]
        (context,) = handler.contexts
        assert (context.job_id, context.job_type, context.attempt) == (submitted.job_id, JOB, 1)
        assert context.max_attempts == 3

    async def test_submitting_does_not_wait_for_the_job(self, new_queue: NewQueue) -> None:
        handler = Recorder()
        handler.gate = asyncio.Event()
        queue = await new_queue(handler=handler)
        await queue.submit_job(JOB, {"n": 1})
        assert await queue.wait_idle(timeout=0.05) is False
        handler.gate.set()
        assert await queue.wait_idle(WAIT)
        assert handler.attempts == [(1, 1)]

    async def test_a_retryable_failure_is_retried_until_it_succeeds(self, new_queue: NewQueue) -> None:
        handler = Recorder({1: (Transient("try later"), 2)})
        queue = await new_queue(max_attempts=3, handler=handler)
        await queue.submit_job(JOB, {"n": 1})
        assert await queue.wait_idle(WAIT)
        assert handler.attempts_of(1) == [1, 2, 3]
        stats = await queue.get_stats()
        assert (stats.completed, stats.failed, stats.retries, stats.dead) == (1, 2, 2, 0)

    async def test_a_job_whose_attempts_run_out_is_dead(self, new_queue: NewQueue) -> None:
        handler = Recorder({1: (Transient("still down"), 99)})
        queue = await new_queue(max_attempts=2, handler=handler)
        await queue.submit_job(JOB, {"n": 1})
        assert await queue.wait_idle(WAIT)
        assert handler.attempts_of(1) == [1, 2]
        assert handler.contexts[-1].is_last_attempt
        stats = await queue.get_stats()
        assert (stats.completed, stats.failed, stats.retries, stats.dead) == (0, 2, 1, 1)

    async def test_a_failure_that_is_not_retryable_makes_the_job_dead_at_once(self, new_queue: NewQueue) -> None:
        handler = Recorder({1: (Permanent("bad data"), 99), 2: (ValueError("a bug"), 99)})
        queue = await new_queue(max_attempts=3, handler=handler)
        await queue.submit_job(JOB, {"n": 1})
        await queue.submit_job(JOB, {"n": 2})
        assert await queue.wait_idle(WAIT)
        assert handler.attempts_of(1) == [1]
        assert handler.attempts_of(2) == [1]
        stats = await queue.get_stats()
        assert (stats.failed, stats.retries, stats.dead) == (2, 0, 2)

    async def test_a_failing_job_does_not_stop_the_others(self, new_queue: NewQueue) -> None:
        handler = Recorder({2: (Permanent("bad data"), 99)})
        queue = await new_queue(handler=handler)
        for n in range(1, 6):
            await queue.submit_job(JOB, {"n": n})
        assert await queue.wait_idle(WAIT)
        assert sorted(n for n, _ in handler.attempts) == [1, 2, 3, 4, 5]
        assert (await queue.get_stats()).completed == 4

    async def test_a_job_of_an_unknown_type_is_dead(self, new_queue: NewQueue) -> None:
        queue = await new_queue(handler=Recorder())
        await queue.submit_job("contract.no_such_job", {"n": 1})
        assert await queue.wait_idle(WAIT)
        stats = await queue.get_stats()
        assert (stats.completed, stats.dead) == (0, 1)

    async def test_a_second_submit_with_the_same_dedup_key_is_a_duplicate(self, new_queue: NewQueue) -> None:
        handler = Recorder()
        queue = await new_queue(handler=handler, start=False)
        first = await queue.submit_job(JOB, {"n": 1}, dedup_key="run-1")
        second = await queue.submit_job(JOB, {"n": 2}, dedup_key="run-1")
        other = await queue.submit_job(JOB, {"n": 3}, dedup_key="run-2")
        assert second == type(second)(first.job_id, duplicate=True)
        assert other.duplicate is False
        assert other.job_id != first.job_id
        await queue.start()
        assert await queue.wait_idle(WAIT)
        assert sorted(n for n, _ in handler.attempts) == [1, 3]

    async def test_a_dedup_key_is_free_again_once_its_job_is_done(self, new_queue: NewQueue) -> None:
        handler = Recorder()
        queue = await new_queue(handler=handler)
        first = await queue.submit_job(JOB, {"n": 1}, dedup_key="run-1")
        assert await queue.wait_idle(WAIT)
        again = await queue.submit_job(JOB, {"n": 2}, dedup_key="run-1")
        assert again.duplicate is False
        assert again.job_id != first.job_id
        assert await queue.wait_idle(WAIT)
        assert sorted(n for n, _ in handler.attempts) == [1, 2]

    async def test_stats_count_the_queued_jobs(self, new_queue: NewQueue) -> None:
        queue = await new_queue(handler=Recorder(), start=False)
        assert await queue.get_stats() == QueueStats(queued=0, oldest_queued_age_seconds=None)
        for n in range(3):
            await queue.submit_job(JOB, {"n": n})
        stats = await queue.get_stats()
        assert stats.queued == 3
        assert stats.oldest_queued_age_seconds is not None
        assert stats.oldest_queued_age_seconds >= 0
        assert {"queued", "completed", "failed", "retries"} <= set(stats.as_dict())

    async def test_purging_a_user_removes_their_queued_and_dead_jobs_only(self, new_queue: NewQueue) -> None:
        handler = Recorder(failures={2: (Permanent("bad"), 1)})
        queue = await new_queue(handler=handler)
        await queue.submit_job(JOB, {"n": 2, "user_id": "gone"})  # dies at once
        assert await queue.wait_idle(WAIT)
        handler.gate = asyncio.Event()  # from now on every job that starts waits at the gate
        await queue.submit_job(JOB, {"n": 5, "user_id": "kept"})
        for _ in range(int(WAIT / 0.01)):
            if handler.attempts_of(5):
                break
            await asyncio.sleep(0.01)
        gone = {3: {"user_id": "gone"}, 4: {"user_id": "gone", "record": {}}, 6: {"user_id": "gone"}}
        gone |= {7: {"user_id": "gone", "record": {}}, 8: {"user_id": "gone"}}
        for n, who in gone.items():
            await queue.submit_job(JOB, {"n": n, **who})
        purged = await queue.purge_user("gone")
        started = {n for n, _ in handler.attempts}  # a job already running when the purge came finishes
        # the dead job and every one still queued; a queue may drop a running job of the user too (it runs on)
        assert 1 + len(set(gone) - started) <= purged <= 1 + len(gone)
        assert purged >= 2
        handler.gate.set()
        assert await queue.wait_idle(WAIT)
        assert {n for n, _ in handler.attempts} == started
        assert await queue.purge_user("gone") == 0

    async def test_stop_drains_the_queued_jobs_first(self, new_queue: NewQueue) -> None:
        handler = Recorder()
        queue = await new_queue(handler=handler)
        for n in range(10):
            await queue.submit_job(JOB, {"n": n})
        await queue.stop(drain=True, timeout=WAIT)
        assert sorted(n for n, _ in handler.attempts) == list(range(10))
        assert (await queue.get_stats()).completed == 10

    async def test_stop_drains_jobs_waiting_for_a_retry(self, new_queue: NewQueue) -> None:
        handler = Recorder({1: (Transient("try later"), 1)})
        queue = await new_queue(handler=handler)
        await queue.submit_job(JOB, {"n": 1})
        await queue.stop(drain=True, timeout=WAIT)
        assert handler.attempts_of(1) == [1, 2]

    async def test_a_stopped_queue_refuses_new_jobs(self, new_queue: NewQueue) -> None:
        queue = await new_queue(handler=Recorder())
        await queue.stop()
        with pytest.raises(QueueClosedError):
            await queue.submit_job(JOB, {"n": 1})

    async def test_a_payload_that_is_not_json_is_refused_at_submit(self, new_queue: NewQueue) -> None:
        queue = await new_queue(handler=Recorder())
        with pytest.raises((TypeError, ValueError)):
            await queue.submit_job(JOB, {"n": 1, "when": object()})

    async def test_changing_a_payload_after_submit_does_not_change_the_job(self, new_queue: NewQueue) -> None:
        handler = Recorder()
        queue = await new_queue(handler=handler, start=False)
        payload: dict[str, Any] = {"n": 1, "items": [1, 2]}
        await queue.submit_job(JOB, payload)
        payload["items"].append(3)
        payload["n"] = 2
        await queue.start()
        assert await queue.wait_idle(WAIT)
        assert handler.payloads == [{"n": 1, "items": [1, 2]}]

    # -- recoverable submits: a durable queue may write them behind its caller; what the caller sees is the same

    async def test_a_recoverable_job_runs_with_its_payload_under_the_id_it_was_given(self, new_queue: NewQueue) -> None:
        handler = Recorder()
        queue = await new_queue(handler=handler)
        result = await queue.submit_job(JOB, {"n": 1, "items": [1]}, recoverable=True)
        assert result.duplicate is False
        assert await queue.wait_idle(WAIT)
        assert handler.payloads == [{"n": 1, "items": [1]}]
        assert [c.job_id for c in handler.contexts] == [result.job_id]

    async def test_a_dedup_key_held_by_a_recoverable_job_makes_any_later_submit_a_duplicate(
        self, new_queue: NewQueue
    ) -> None:
        handler = Recorder()
        queue = await new_queue(handler=handler, start=False)
        first = await queue.submit_job(JOB, {"n": 1}, dedup_key="run-1", recoverable=True)
        second = await queue.submit_job(JOB, {"n": 2}, dedup_key="run-1", recoverable=True)
        stored = await queue.submit_job(JOB, {"n": 3}, dedup_key="run-1")
        assert (second.job_id, second.duplicate) == (first.job_id, True)
        assert (stored.job_id, stored.duplicate) == (first.job_id, True)
        await queue.start()
        assert await queue.wait_idle(WAIT)
        assert [n for n, _ in handler.attempts] == [1]

    async def test_a_recoverable_payload_is_copied_and_checked_at_submit(self, new_queue: NewQueue) -> None:
        handler = Recorder()
        queue = await new_queue(handler=handler, start=False)
        payload: dict[str, Any] = {"n": 1, "items": [1, 2]}
        await queue.submit_job(JOB, payload, recoverable=True)
        payload["items"].append(3)
        with pytest.raises((TypeError, ValueError)):
            await queue.submit_job(JOB, {"n": 2, "when": object()}, recoverable=True)
        await queue.start()
        assert await queue.wait_idle(WAIT)
        assert handler.payloads == [{"n": 1, "items": [1, 2]}]

    async def test_recoverable_jobs_count_as_queued_and_go_with_their_user(self, new_queue: NewQueue) -> None:
        handler = Recorder()
        queue = await new_queue(handler=handler, start=False)
        await queue.submit_job(JOB, {"n": 1, "user_id": "gone"}, recoverable=True)
        await queue.submit_job(JOB, {"n": 2, "user_id": "gone", "record": {}}, recoverable=True)
        await queue.submit_job(JOB, {"n": 3, "user_id": "kept"}, recoverable=True)
        assert (await queue.get_stats()).queued == 3
        assert await queue.purge_user("gone") == 2
        assert (await queue.get_stats()).queued == 1
        await queue.start()
        assert await queue.wait_idle(WAIT)
        assert [n for n, _ in handler.attempts] == [3]

    async def test_stop_drains_recoverable_jobs_too(self, new_queue: NewQueue) -> None:
        handler = Recorder()
        queue = await new_queue(handler=handler)
        for n in range(20):
            await queue.submit_job(JOB, {"n": n}, recoverable=True)
        await queue.stop(drain=True, timeout=WAIT)
        assert sorted(n for n, _ in handler.attempts) == list(range(20))

    # -- a worker process waits on worker_finished beside its stop signal

    async def test_worker_finished_returns_once_the_queue_is_stopped(self, new_queue: NewQueue) -> None:
        idle = await new_queue(handler=Recorder(), start=False)
        await asyncio.wait_for(idle.worker_finished(), WAIT)  # no worker runs: at once
        queue = await new_queue(handler=Recorder())
        waiter = asyncio.ensure_future(queue.worker_finished())
        await queue.submit_job(JOB, {"n": 1})
        assert await queue.wait_idle(WAIT)
        assert not waiter.done()  # the workers run until stopped
        await queue.stop(drain=True, timeout=WAIT)
        await asyncio.wait_for(waiter, WAIT)

    # -- dead letters: a job that failed for good stays, says why, and can be queued again

    async def test_a_job_that_failed_for_good_is_listed_as_dead(self, new_queue: NewQueue) -> None:
        handler = Recorder({1: (Permanent("bad data"), 99), 2: (Transient("still down"), 99)})
        queue = await new_queue(max_attempts=2, handler=handler)
        first = await queue.submit_job(JOB, {"n": 1, "user_id": "u-1"}, dedup_key="run-1")
        second = await queue.submit_job(JOB, {"n": 2})
        await queue.submit_job(JOB, {"n": 3})
        assert await queue.wait_idle(WAIT)
        dead = {job.job_id: job for job in await queue.dead_jobs()}
        assert set(dead) == {first.job_id, second.job_id}
        one, two = dead[first.job_id], dead[second.job_id]
        assert (one.job_type, one.payload, one.attempts, one.dedup_key) == (JOB, {"n": 1, "user_id": "u-1"}, 1, "run-1")
        assert (two.payload, two.attempts, two.dedup_key) == ({"n": 2}, 2, None)
        assert (one.error_kind, two.error_kind) == ("Permanent", "Transient")

    async def test_a_dead_job_keeps_the_text_of_a_library_error_only(self, new_queue: NewQueue) -> None:
        """Another error's text can quote health values (a driver's quotes a statement's parameters): its class is
        kept, its text is not."""
        library_error = InvalidInputError("the payload names no run", field="run_id")
        handler = Recorder({1: (Permanent("heart rate 71.5 bpm"), 99), 2: (library_error, 99)})
        queue = await new_queue(handler=handler)
        first = await queue.submit_job(JOB, {"n": 1})
        second = await queue.submit_job(JOB, {"n": 2})
        assert await queue.wait_idle(WAIT)
        dead = {job.job_id: (job.error_kind, job.error) for job in await queue.dead_jobs()}
        assert dead[first.job_id] == ("Permanent", "")
        assert dead[second.job_id] == ("InvalidInputError", str(library_error))

    async def test_retried_dead_jobs_run_again_with_fresh_attempts(self, new_queue: NewQueue) -> None:
        handler = Recorder({1: (Permanent("bad data"), 99), 2: (Permanent("bad data"), 99)})
        queue = await new_queue(handler=handler)
        await queue.submit_job(JOB, {"n": 1}, dedup_key="run-1")
        await queue.submit_job(JOB, {"n": 2})
        assert await queue.wait_idle(WAIT)
        dead = {job.payload["n"]: job.job_id for job in await queue.dead_jobs()}
        handler.failures.clear()  # the cause is fixed

        retried = await queue.retry_dead([dead[1]])
        assert len(retried) == 1
        assert await queue.wait_idle(WAIT)
        assert [job.job_id for job in await queue.dead_jobs()] == [dead[2]]
        retried += await queue.retry_dead()
        assert await queue.wait_idle(WAIT)

        assert (handler.attempts_of(1), handler.attempts_of(2)) == ([1, 1], [1, 1])
        assert [c.job_id for c in handler.contexts[2:]] == retried  # the ids they run under
        assert await queue.dead_jobs() == []
        stats = await queue.get_stats()
        assert (stats.dead, stats.completed) == (0, 2)

    async def test_a_dead_job_gives_way_to_a_pending_job_with_its_dedup_key(self, new_queue: NewQueue) -> None:
        handler = Recorder({1: (Permanent("bad data"), 99), 2: (Transient("try later"), 1)})
        queue = await new_queue(handler=handler, backoff_base=WAIT * 10)  # job 2's retry waits beyond the test
        await queue.submit_job(JOB, {"n": 1}, dedup_key="run-1")
        assert await queue.wait_idle(WAIT)
        pending = await queue.submit_job(JOB, {"n": 2}, dedup_key="run-1")

        async def waiting_for_its_retry() -> bool:
            # the attempt is read before the figures, so the figures are from after it: read after them, it could
            # have begun while they were read, and job 2 then be running, not waiting for its retry
            attempted = bool(handler.attempts_of(2))
            stats = await queue.get_stats()
            return attempted and (stats.queued, stats.running) == (1, 0)

        await eventually(waiting_for_its_retry)
        assert await queue.retry_dead() == []
        assert await queue.dead_jobs() == []
        assert (await queue.submit_job(JOB, {"n": 3}, dedup_key="run-1")).job_id == pending.job_id
        assert handler.attempts_of(1) == [1]

    async def test_a_stopped_queue_refuses_to_retry_dead_jobs(self, new_queue: NewQueue) -> None:
        queue = await new_queue(handler=Recorder())
        await queue.stop()
        with pytest.raises(QueueClosedError):
            await queue.retry_dead()
