"""A host that only submits (``run_workers=False``): its archival jobs wait in the durable queue for a worker, and
leaving does not wait for them; a worker process's runtime archives them."""

from __future__ import annotations

import time

import pytest

from sahha_sync.infrastructure import SahhaSync
from sahha_sync.infrastructure.settings import Settings, SettingsError
from tests.integration.queue._durable import rows

pytestmark = pytest.mark.postgres


def test_only_the_durable_queue_can_leave_its_jobs_to_worker_processes() -> None:
    with pytest.raises(SettingsError, match="SAHHA_SYNC_RUN_WORKERS"):
        Settings.from_env(queue="memory", run_workers=False)


async def test_a_submit_only_host_leaves_archival_to_a_worker(postgres_url: str) -> None:
    settings = Settings.from_env(database_url=postgres_url, queue="postgres", run_workers=True)

    async with SahhaSync(settings, run_workers=False, recover_on_start=False) as host:
        assert not host.settings.run_workers
        outcome = await host.run_analysis("user-0001", "Peak Performer", "behavior_analysis")
        assert not await host.wait_for_archival(1.0)  # written, and no worker of its own runs it
        record = await host.tracking_record(outcome.run_id)
        assert record is not None
        assert not record.status.sahha_data_synced
        started = time.monotonic()
    assert time.monotonic() - started < 5.0  # leaving waits for no job
    assert rows(postgres_url, "SELECT status FROM procrastinate_jobs") == [("todo",)]

    async with SahhaSync(settings, recover_on_start=False) as worker:
        assert await worker.wait_for_archival(60)
        record = await worker.tracking_record(outcome.run_id)
    assert record is not None
    assert record.status.sahha_data_synced
