"""The integrity simulation on the real pipeline: the Sahha client on the emulator, the SQL adapters, a queue
(the in-memory one on SQLite, whose restart loses the pending jobs; the durable one on Postgres, which keeps them).

One or a few seeds run in CI (``SAHHA_SYNC_SIM_SEED`` picks another one to replay a failure). A sweep over
many seeds is an explicit opt-in: ``SAHHA_SYNC_SIM_SEEDS=50 pytest tests/integration/simulation -m slow``
(the sweep's tests exist only when the variable is set), on SQLite and on Postgres.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.memory import InMemoryJobQueue
from sahha_sync.adapters.queue import ProcrastinateJobQueue
from sahha_sync.adapters.sql import sql_unit_of_work_factory
from sahha_sync.testing.simulation import IntegritySimulation, SimulationConfig, SimulationReport

CI_SEED = int(os.environ.get("SAHHA_SYNC_SIM_SEED", "20261129"))
SWEEP_SEEDS = int(os.environ.get("SAHHA_SYNC_SIM_SEEDS", "0") or "0")


def ci_config(seed: int) -> SimulationConfig:
    """Five users through a fortnight, one or two runs a day per analysis type: about 200 runs."""
    return SimulationConfig(seed=seed, users=5, analyses_per_day=(1, 2))


def in_memory_queue() -> InMemoryJobQueue:
    return InMemoryJobQueue(max_attempts=3, backoff_base=0.001)


async def simulate(engine: AsyncEngine, config: SimulationConfig) -> SimulationReport:
    simulation = IntegritySimulation(config, unit_of_work=sql_unit_of_work_factory(engine), make_queue=in_memory_queue)
    report = await simulation.run()
    report.assert_consistent()
    return report


def assert_the_storm_happened(report: SimulationReport) -> None:
    """The faults the simulation promises were really met (else the checks above prove less than they say)."""
    figures = report.figures
    assert figures["archive_fallbacks"] > 0, f"seed={report.config.seed}: no Sahha outage reached a run"
    assert figures["dead_runs"] > 0, f"seed={report.config.seed}: no archival died"
    assert figures["jobs_pending_at_restart"] > 0, f"seed={report.config.seed}: the restart found no job pending"
    assert figures["recovered_jobs"] > 0, f"seed={report.config.seed}: recovery submitted nothing"
    assert figures["emulator_429"] > 0, f"seed={report.config.seed}: no 429 was answered"
    assert figures["sahha_failures"].get("timeout", 0) > 0, f"seed={report.config.seed}: no request timed out"
    assert figures["sahha_failures"].get("server_error", 0) > 0, f"seed={report.config.seed}: no 5xx"
    assert figures["webhook_posts"] > figures["webhook_records"] > 0, f"seed={report.config.seed}: no redelivery"
    assert figures["webhook_out_of_order"] > 0, f"seed={report.config.seed}: no older version delivered after a newer"
    assert figures["stale_jobs"] > 0, f"seed={report.config.seed}: no old archival job came again"
    assert figures["unlisted_types"], f"seed={report.config.seed}: no type outside the lists was fetched"
    assert figures["revised_keys"] > 0, f"seed={report.config.seed}: no running total was revised under its key"


async def test_a_stormy_fortnight_on_sqlite_archives_every_record_once_with_its_latest_value(
    ram_sqlite_engine: AsyncEngine,
) -> None:
    report = await simulate(ram_sqlite_engine, ci_config(CI_SEED))
    assert_the_storm_happened(report)


@pytest.mark.postgres
async def test_a_stormy_fortnight_on_postgres_with_the_durable_queue_archives_every_record_once(
    postgres_engine: AsyncEngine, postgres_url: str
) -> None:
    """The durable queue keeps the jobs the restart leaves pending; recovery finds them queued and adds none."""

    def durable_queue() -> ProcrastinateJobQueue:
        return ProcrastinateJobQueue(
            postgres_url, backoff_base=0.001, jitter=False, poll_interval=0.05, shutdown_timeout=2.0
        )

    config = dataclasses.replace(ci_config(CI_SEED), users=4)
    simulation = IntegritySimulation(
        config, unit_of_work=sql_unit_of_work_factory(postgres_engine), make_queue=durable_queue
    )
    report = await simulation.run()
    report.assert_consistent()
    assert report.figures["jobs_pending_at_restart"] > 0, f"seed={config.seed}: the restart found no job pending"
    assert report.figures["dead_runs"] > 0, f"seed={config.seed}: no archival died"


if SWEEP_SEEDS > 0:

    @pytest.mark.slow
    @pytest.mark.parametrize("seed", range(1, SWEEP_SEEDS + 1))
    async def test_every_seed_of_the_sweep_keeps_the_promises(ram_sqlite_engine: AsyncEngine, seed: int) -> None:
        await simulate(ram_sqlite_engine, SimulationConfig(seed=seed, users=6))

    @pytest.mark.slow
    @pytest.mark.postgres
    @pytest.mark.parametrize("seed", range(1, SWEEP_SEEDS + 1))
    async def test_every_seed_of_the_sweep_keeps_the_promises_on_postgres(
        postgres_engine: AsyncEngine, seed: int
    ) -> None:
        await simulate(postgres_engine, SimulationConfig(seed=seed, users=4))


async def test_a_stormy_fortnight_answered_from_the_archive_within_an_hour_keeps_every_promise(
    ram_sqlite_engine: AsyncEngine,
) -> None:
    """Three runs a day or more per user and type, an hour's bound: many answers come from the archive, each
    holding every record archived before it, and the archive still ends up equal to Sahha's data."""
    config = dataclasses.replace(ci_config(CI_SEED), users=3, analyses_per_day=(2, 4), max_staleness=timedelta(hours=1))
    report = await simulate(ram_sqlite_engine, config)
    assert report.figures["served_from_archive"] > 0, f"seed={config.seed}: no run was answered from the archive"
