"""``SahhaSync`` and the seed's accessors: one lazily built runtime, released by ``aclose``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from sahha_sync.adapters.webhook import MissingWebhookSecretError
from sahha_sync.application.ports import JobContext
from sahha_sync.application.use_cases import ArchetypeTracker, ArchiveHealthData
from sahha_sync.domain import HealthSnapshot, InvalidInputError
from sahha_sync.infrastructure import (
    SahhaSync,
    accessors,
    aclose,
    get_archetype_tracker,
    get_archival_service,
    get_job_queue,
    get_run_analysis,
    get_sahha_client,
    run_analysis,
)
from sahha_sync.infrastructure.settings import Settings
from tests.unit.webhook.deliveries import SECRET, biomarker_body, encode, signed_headers

USER = "user-0001"
ARCHETYPE = "Peak Performer"


@pytest.fixture
def memory_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", "memory://")


async def test_the_facade_answers_a_run_and_archives_it_before_closing(tmp_path: Path) -> None:
    async with SahhaSync.from_env(database_url=f"sqlite:///{tmp_path / 'sync.db'}") as sync:
        outcome = await sync.run_analysis(USER, ARCHETYPE, "behavior_analysis")
        assert await sync.wait_for_archival(30)
        record = await sync.tracking_record(outcome.run_id)
        http = sync.container.emulator_http()
    assert outcome.data_source == "emulator"  # the configured source's name
    assert outcome.snapshot.total_items > 0
    assert outcome.analysis.summary
    assert record is not None
    assert record.status.state == "synced"
    assert (await http).is_closed


async def test_the_facade_can_be_used_again_after_closing(memory_environment: None) -> None:
    sync = SahhaSync.from_env()
    async with sync:
        await sync.run_analysis(USER, ARCHETYPE, "circadian")
    async with sync:
        outcome = await sync.run_analysis(USER, ARCHETYPE, "circadian")
        assert await sync.wait_for_archival(30)
        assert (await sync.queue_stats()).completed == 1
    assert outcome.is_incremental is False  # the in-memory stores started afresh


async def test_bad_input_to_the_facade_is_a_typed_error_naming_the_field(memory_environment: None) -> None:
    async with SahhaSync.from_env() as sync:
        with pytest.raises(InvalidInputError) as caught:
            await sync.run_analysis(" ", ARCHETYPE, "behavior_analysis")
        assert caught.value.field == "user_id"
        with pytest.raises(InvalidInputError) as caught:
            await sync.run_analysis(USER, ARCHETYPE, "sleep_analysis")
        assert caught.value.field == "analysis_type"


async def test_the_accessors_share_one_runtime_built_on_first_use(memory_environment: None) -> None:
    assert accessors._shared is None
    handles = (get_sahha_client(), get_job_queue(), get_archival_service(), get_run_analysis())
    assert accessors._shared is None  # taking a handle builds nothing
    try:
        first = await run_analysis(USER, ARCHETYPE, "behavior_analysis")
        second = await handles[3](USER, ARCHETYPE, "behavior_analysis")
        assert await handles[1].wait_idle(30)
        stats = await handles[1].get_stats()
        tracker = await get_archetype_tracker()
        watermark, source = await tracker.get_last_analysis_date_with_fallback(USER, ARCHETYPE, "behavior_analysis")
    finally:
        await aclose()
    assert accessors._shared is None
    assert isinstance(tracker, ArchetypeTracker)
    assert (first.data_source, second.data_source) == ("emulator", "archive")  # one fetch, shared
    assert second.fresh_as_of == first.window.end
    assert stats.completed == 1
    assert (watermark, source) == (first.window.end, "archetype")


async def test_the_seed_flow_runs_step_by_step_through_the_accessors(memory_environment: None) -> None:
    try:
        tracker = await get_archetype_tracker()
        watermark, _ = await tracker.get_last_analysis_date_with_fallback(USER, ARCHETYPE, "behavior_analysis")
        health_data = await get_sahha_client().fetch_health_data(external_id=USER, since_timestamp=watermark, days=7)
        record = await tracker.update_last_analysis_date(
            USER, ARCHETYPE, "behavior_analysis", health_data.window.end, window=health_data.window
        )
        status = await get_archival_service().archive_sahha_data(
            USER, ARCHETYPE, "behavior_analysis", health_data.to_dict()
        )
        again = await get_archival_service().archive_sahha_data(
            USER, ARCHETYPE, "behavior_analysis", health_data, run_id=record.run_id
        )
    finally:
        await aclose()
    assert isinstance(health_data, HealthSnapshot)
    assert set(health_data.to_dict()) == {
        "biomarkers",
        "scores",
        "fetched_at",
        "is_incremental",
        "watermark",
        "total_items",
    }
    assert status.state == "synced"
    assert again == status


async def test_archiving_for_a_user_without_a_recorded_run_names_the_missing_run(memory_environment: None) -> None:
    try:
        snapshot = await get_sahha_client().fetch_health_data(USER)
        with pytest.raises(InvalidInputError) as caught:
            await get_archival_service().archive_sahha_data(USER, ARCHETYPE, "behavior_analysis", snapshot)
    finally:
        await aclose()
    assert caught.value.field == "run_id"


async def test_a_host_handler_registered_before_start_runs_on_the_shared_queue(memory_environment: None) -> None:
    seen: list[tuple[str, int]] = []

    async def handler(payload: object, context: JobContext) -> None:
        seen.append((context.job_type, context.attempt))

    queue = get_job_queue()
    try:
        queue.register("HOST_JOB", handler)
        await queue.start()
        await queue.submit_job("HOST_JOB", {"n": 1})
        assert await queue.wait_idle(10)
    finally:
        await aclose()
    assert seen == [("HOST_JOB", 1)]


async def test_a_stopped_queue_finishes_its_jobs_and_a_later_start_runs_a_new_one(memory_environment: None) -> None:
    done: list[int] = []

    async def handler(payload: Mapping[str, Any], context: JobContext) -> None:
        done.append(payload["n"])

    queue = get_job_queue()
    try:
        queue.register("HOST_JOB", handler)
        await queue.start()
        await queue.submit_job("HOST_JOB", {"n": 1})
        await queue.stop()
        assert done == [1]
        await queue.start()
        await queue.submit_job("HOST_JOB", {"n": 2})
        assert await queue.wait_idle(10)
    finally:
        await aclose()
    assert done == [1, 2]


@pytest.mark.parametrize("recover_on_start", [True, False])
async def test_a_run_whose_archival_was_lost_with_the_last_process_is_archived_when_the_queue_starts(
    tmp_path: Path, recover_on_start: bool
) -> None:
    settings = Settings.from_env(database_url=f"sqlite:///{tmp_path / 'sync.db'}", queue="memory")

    async def lost(payload: Mapping[str, Any], context: JobContext) -> None:
        return None  # as if the process had died before the job ran

    async with SahhaSync(settings, recover_on_start=False) as before:
        before.register(ArchiveHealthData.JOB_TYPE, lost)
        outcome = await before.run_analysis(USER, ARCHETYPE, "behavior_analysis")
        assert await before.wait_for_archival(30)
        assert (await before.tracking_record(outcome.run_id)).status.state == "pending"  # type: ignore[union-attr]

    async with SahhaSync(settings, recover_on_start=recover_on_start) as after:
        await after.wait_for_recovery()
        assert await after.wait_for_archival(30)
        record = await after.tracking_record(outcome.run_id)
    assert record is not None
    state = record.status.state
    assert state == ("synced" if recover_on_start else "pending")


async def test_the_runtimes_webhook_receiver_queues_a_signed_delivery_on_the_runtimes_queue() -> None:
    async with SahhaSync.from_env(database_url="memory://", webhook_secret=SECRET) as sync:
        receiver = await sync.webhook_receiver(max_body_bytes=64 * 1024)
        raw = encode(biomarker_body())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver), base_url="http://host.test") as http:
            accepted = await http.post("/", content=raw, headers=signed_headers(raw))
            unsigned = await http.post("/", content=raw, headers={"X-Event-Type": "BiomarkerCreatedIntegrationEvent"})
        assert await sync.wait_for_archival(30)
        figures = await sync.stats()
    assert (accepted.status_code, unsigned.status_code) == (202, 401)
    assert receiver.max_body_bytes == 64 * 1024
    assert figures.webhook_inserted["biomarkers"] == 1


async def test_the_runtime_refuses_a_webhook_receiver_without_a_secret(memory_environment: None) -> None:
    async with SahhaSync.from_env() as sync:
        with pytest.raises(MissingWebhookSecretError):
            await sync.webhook_receiver()
