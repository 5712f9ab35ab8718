"""The composition root: adapters chosen from settings, nothing connected early, everything closed at the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import openai
import pytest
from dependency_injector import errors, providers

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.llm import OfflineAnalyst, OpenAIAnalyst
from sahha_sync.adapters.memory import InMemoryHealthDataSource, InMemoryJobQueue, InMemoryStores
from sahha_sync.adapters.queue import ProcrastinateJobQueue
from sahha_sync.adapters.sahha import SahhaHealthDataSource
from sahha_sync.adapters.sahha.emulator import SahhaEmulator, SyntheticPopulation, emulator_transport
from sahha_sync.adapters.sql import PostgresRateBudget, SqlUnitOfWork
from sahha_sync.application.ports import SahhaAuthError, Usage
from sahha_sync.application.use_cases import ArchiveHealthData, IngestWebhookRecords, RunAnalysis
from sahha_sync.domain import FetchWindow
from sahha_sync.infrastructure.container import Container, build_container, resolve, shutdown
from sahha_sync.infrastructure.settings import Settings, SettingsError

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sync.db'}"


@pytest.fixture
def sqlite_settings(sqlite_url: str) -> Settings:
    return Settings(database_url=sqlite_url)


def test_every_provider_has_what_it_depends_on(sqlite_settings: Settings) -> None:
    Container(config=sqlite_settings).check_dependencies()


def test_a_container_without_settings_is_refused() -> None:
    with pytest.raises(errors.Error):
        Container().check_dependencies()


def test_building_a_container_connects_to_nothing() -> None:
    settings = Settings(database_url="postgresql://app:pw@127.0.0.1:1/unreachable", queue="postgres")
    container = build_container(settings)
    assert isinstance(container.queue_backend(), ProcrastinateJobQueue)
    assert not container.engine.initialized
    assert not container.sahha_http.initialized


async def test_the_embedded_defaults_choose_the_emulator_sql_stores_memory_queue_and_offline_analyst(
    sqlite_settings: Settings,
) -> None:
    container = build_container(sqlite_settings)
    try:
        assert isinstance(await resolve(container.source), SahhaHealthDataSource)
        unit_of_work = await resolve(container.unit_of_work)
        assert isinstance(unit_of_work(), SqlUnitOfWork)
        assert isinstance(await resolve(container.job_queue), InMemoryJobQueue)
        assert isinstance(container.analyst(), OfflineAnalyst)
        assert container.fallback_analyst() is None
        assert not container.sahha_http.initialized  # the real API's client is never opened for the emulator
    finally:
        await shutdown(container)


async def test_the_queues_run_the_settings_worker_concurrency_and_archival_batches_their_size() -> None:
    container = build_container(Settings(database_url="memory://", worker_concurrency=5, archival_batch=3))
    try:
        assert getattr(container.queue_backend(), "concurrency", None) == 5
        assert (await resolve(container.archive_health_data)).batch_size == 3
    finally:
        await shutdown(container)
    unreachable = "postgresql://app:pw@127.0.0.1:1/unreachable"
    durable = build_container(Settings(database_url=unreachable, queue="postgres", worker_concurrency=5))
    assert getattr(durable.queue_backend(), "concurrency", None) == 5
    assert getattr(durable.durable_queue_factory(concurrency=2), "concurrency", None) == 2  # a worker's --concurrency


async def test_shutdown_closes_the_http_client_the_engine_and_the_queue(sqlite_settings: Settings) -> None:
    container = build_container(sqlite_settings)
    http: httpx.AsyncClient = await resolve(container.emulator_http)
    queue = await resolve(container.job_queue)
    await container.engine()
    await shutdown(container)
    assert http.is_closed
    assert not container.engine.initialized
    with pytest.raises(Exception, match="stop"):
        await queue.submit_job(ArchiveHealthData.JOB_TYPE, {})


async def test_the_queue_handles_archival_and_webhook_jobs_and_nothing_else() -> None:
    container = build_container(Settings(database_url="memory://"))
    queue = await resolve(container.job_queue)
    try:
        await queue.start()
        for job_type in (ArchiveHealthData.JOB_TYPE, IngestWebhookRecords.JOB_TYPE, "NO_SUCH_JOB"):
            await queue.submit_job(job_type, {"malformed": True})
        assert await queue.wait_idle(10)
        dead = {job.job_type: job.error_kind for job in await queue.dead_jobs()}
    finally:
        await shutdown(container)
    assert dead == {
        ArchiveHealthData.JOB_TYPE: "InvalidInputError",  # its handler ran and refused the payload
        IngestWebhookRecords.JOB_TYPE: "InvalidInputError",
        "NO_SUCH_JOB": "UnknownJobTypeError",
    }


async def test_memory_url_chooses_the_in_memory_stores() -> None:
    container = build_container(Settings(database_url="memory://"))
    unit_of_work = await resolve(container.unit_of_work)
    assert unit_of_work.__self__ is container.memory_stores()
    assert not container.engine.initialized


async def test_the_openai_analyst_is_chosen_with_the_offline_analyst_as_its_fallback(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, analyst="openai", openai_api_key="sk-test")
    container = build_container(settings)
    client: openai.AsyncOpenAI = await resolve(container.openai_client)
    assert isinstance(await resolve(container.analyst), OpenAIAnalyst)
    assert isinstance(container.fallback_analyst(), OfflineAnalyst)
    await shutdown(container)
    assert client.is_closed()


async def test_the_sahha_source_uses_the_configured_credentials(sqlite_url: str) -> None:
    emulator = SahhaEmulator(SyntheticPopulation(0, size=2), client_id="my-id", client_secret="my-secret")
    window = FetchWindow(NOW - timedelta(days=2), NOW)

    async def fetch(secret: str) -> int:
        settings = Settings(database_url=sqlite_url, sahha_client_id="my-id", sahha_client_secret=secret)
        assert settings.source == "sahha"
        container = build_container(settings)
        async with httpx.AsyncClient(transport=emulator_transport(emulator)) as http:
            container.sahha_http.override(providers.Object(http))
            source = await resolve(container.source)
            return (await source.fetch("user-0000", window)).total_items

    assert await fetch("my-secret") > 0
    with pytest.raises(SahhaAuthError):
        await fetch("wrong-secret")


async def test_with_in_memory_adapters_a_run_is_analysed_and_archived_by_the_queue() -> None:
    clock = ManualClock(NOW)
    records = SyntheticPopulation(0, size=1).records_for("user-0000", FetchWindow(NOW - timedelta(days=7), NOW))
    stores = InMemoryStores()
    container = build_container(Settings(database_url="memory://"))
    with container.override_providers(
        clock=providers.Object(clock),
        source=providers.Object(InMemoryHealthDataSource(records)),
        unit_of_work=providers.Object(stores.unit_of_work),
        queue_backend=providers.Factory(InMemoryJobQueue, backoff_base=0.001),
    ):
        queue = await resolve(container.job_queue)
        await queue.start()
        run_analysis: RunAnalysis = await resolve(container.run_analysis)
        outcome = await run_analysis("user-0000", "Peak Performer", "behavior_analysis")
        assert await queue.wait_idle(10)
        record = await stores.tracking.get(outcome.run_id)
        await shutdown(container)
    assert outcome.snapshot.total_items == records.total_items > 0
    assert record is not None
    assert record.status.state == "synced"
    assert (await queue.get_stats()).completed == 1
    everything = FetchWindow(outcome.window.start - timedelta(days=9), outcome.window.end)  # weekly records too
    archived = await stores.archive.read_window("user-0000", everything)
    assert {b.key for b in archived.biomarkers} == {b.key for b in outcome.snapshot.biomarkers}
    assert {s.key for s in archived.scores} == {s.key for s in outcome.snapshot.scores}


async def test_a_database_that_cannot_be_opened_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    container = build_container(Settings(database_url=f"sqlite:///{tmp_path / 'missing' / 'sync.db'}"))
    with pytest.raises(SettingsError, match=r"^SAHHA_SYNC_DATABASE_URL: cannot open sqlite:///"):
        await resolve(container.engine)


@pytest.mark.postgres
async def test_a_postgres_database_behind_the_newest_schema_stops_start_up_naming_the_variable(
    new_postgres_database: str,
) -> None:
    container = build_container(Settings(database_url=new_postgres_database))
    with pytest.raises(
        SettingsError, match=r"^SAHHA_SYNC_DATABASE_URL: .*has no sahha-sync schema.*sahha-sync db upgrade"
    ):
        await resolve(container.engine)


@pytest.mark.postgres
async def test_a_migrated_postgres_database_gets_the_sql_stores(postgres_url: str) -> None:
    container = build_container(Settings(database_url=postgres_url))
    try:
        unit_of_work = await resolve(container.unit_of_work)
        async with unit_of_work() as uow:
            assert await uow.tracking.list_all() == []
    finally:
        await shutdown(container)


async def test_each_process_limits_itself_on_sqlite_or_with_the_emulator(sqlite_settings: Settings) -> None:
    with_credentials = Settings(
        database_url=sqlite_settings.database_url, sahha_client_id="id", sahha_client_secret="s"
    )
    for settings in (sqlite_settings, with_credentials):
        assert build_container(settings).rate_budget() is None


@pytest.mark.postgres
async def test_on_postgres_the_real_apis_processes_share_the_accounts_rate_budget(postgres_url: str) -> None:
    settings = Settings(database_url=postgres_url, sahha_client_id="account-1", sahha_client_secret="s")
    container = build_container(settings)
    try:
        budget = await resolve(container.rate_budget)
        assert isinstance(budget, PostgresRateBudget)
        assert budget.account == "account-1"
        await budget.reserve(1, 0.5, Usage(requests=3))
        stats = await resolve(container.collect_stats)
        assert (await stats.collect()).to_dict()["sahha_api"]["account"]["requests"] == 3
    finally:
        await shutdown(container)
    emulated = build_container(Settings(database_url=postgres_url))
    assert emulated.rate_budget() is None
