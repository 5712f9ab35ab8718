"""The composition root: the only module that names concrete adapters.

``Container`` takes a ``Settings`` object and chooses the adapters from it:

- source: ``sahha`` → ``SahhaHealthDataSource`` on a real ``httpx.AsyncClient``; ``emulator`` → the same client
  class over the in-process Sahha emulator, so local runs exercise the real client;
- database: ``sqlite://`` or ``postgresql://`` → the SQL adapters (SQLite is migrated on first use; a Postgres
  database must be at the newest revision: ``sahha-sync db upgrade``); ``memory://`` → the in-memory stores;
- queue: ``memory`` → ``InMemoryJobQueue``; ``postgres`` → ``ProcrastinateJobQueue``;
- analyst: ``offline`` → ``OfflineAnalyst``; ``openai`` → ``OpenAIAnalyst``, with the offline analyst as fallback;
- Sahha rate budget: on a Postgres database the real API's client draws from the account's ``PostgresRateBudget``,
  shared by every process; otherwise each process's client limits itself.

The container alone says which handler runs which job (``job_handlers``: every queue a worker or ``SahhaSync``
starts gets them) and how lost work is recovered (``recover_pending_archivals`` and ``recover_webhook_inbox``, and
``recovery``: both running in the background once a queue started). Webhook deliveries are kept safe before they
are acknowledged: by the durable queue's stored submit, or, with the in-memory queue, in the webhook inbox of the
archive's database (``intake_inbox``).

Clients, engines, the queue and the recovery are ``Resource``s, closed by ``shutdown_resources()`` (the queue
first, since it depends on the others); ``reset_singletons()`` afterwards lets the container start afresh.
Nothing connects at import time or before a provider is first called. Providers that depend on a resource
return awaitables: ``await container.run_analysis()``, or ``await resolve(container.run_analysis)``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.clock import SystemClock
from sahha_sync.adapters.llm.offline import OfflineAnalyst
from sahha_sync.adapters.memory import InMemoryJobQueue, InMemoryStores, InMemoryWebhookInbox
from sahha_sync.adapters.sahha import SahhaHealthDataSource
from sahha_sync.adapters.sahha.dto import parse_records
from sahha_sync.adapters.sahha.emulator import (
    EMULATOR_BASE_URL,
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    SahhaEmulator,
    SyntheticPopulation,
    emulator_transport,
)
from sahha_sync.adapters.sql import PostgresRateBudget, SqlWebhookInbox, create_engine, sql_unit_of_work_factory
from sahha_sync.adapters.sql.errors import connection_problem
from sahha_sync.adapters.webhook import SahhaWebhookReceiver
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.analyst import Analyst
from sahha_sync.application.ports.job_queue import JobHandler, JobQueue
from sahha_sync.application.ports.rate_budget import RateBudget
from sahha_sync.application.ports.unit_of_work import UnitOfWorkFactory
from sahha_sync.application.ports.webhook_inbox import WebhookInbox
from sahha_sync.application.use_cases import (
    ArchiveHealthData,
    ArchiveRecordedRun,
    CollectStats,
    FetchHealthData,
    ForgetUser,
    IngestWebhookRecords,
    ReadStoredAnalyses,
    RebuildProjections,
    ReceiveWebhookDelivery,
    RecoverPendingArchivals,
    RecoverWebhookInbox,
    RunAnalysis,
    UserFlights,
    Watermarks,
)
from sahha_sync.application.use_cases.archival_outcome import ArchivalListener
from sahha_sync.infrastructure.settings import Settings, SettingsError

if TYPE_CHECKING:  # imported where used: importing the container loads no package a setting does not choose
    import openai

    from sahha_sync.adapters.llm.openai_analyst import OpenAIAnalyst

log = get_logger(__name__)

QUEUE_STOP_TIMEOUT = 60.0


async def sahha_http_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=settings.sahha_request_timeout) as client:
        yield client


async def emulator_http_client(emulator: SahhaEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=emulator_transport(emulator), base_url=EMULATOR_BASE_URL) as client:
        yield client


async def database_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The engine of ``SAHHA_SYNC_DATABASE_URL``, once its schema is current (SQLite is migrated here)."""
    await _require_current_schema(settings)
    engine = create_engine(settings.database_url, schema=settings.db_schema)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _require_current_schema(settings: Settings) -> None:
    """SQLite: upgrade to the newest revision. Postgres: refuse to start below it (the operator migrates)."""
    from sahha_sync import migrations  # alembic: loaded when a database is first opened

    url, shown = settings.database_url, settings.database_url_for_display
    try:
        if url.startswith("sqlite"):
            if await asyncio.to_thread(migrations.ensure_schema, url, schema=settings.db_schema):
                log.info("database.schema_upgraded", database=shown)
            return
        revision = await asyncio.to_thread(migrations.current, url)
    except Exception as exc:  # the driver's message may quote the URL: name the database without its password
        raise SettingsError(
            f"SAHHA_SYNC_DATABASE_URL: cannot open {shown}: {connection_problem(exc)}",
            variable="SAHHA_SYNC_DATABASE_URL",
        ) from None
    if revision != migrations.head():
        state = "has no sahha-sync schema" if revision is None else f"is at schema revision {revision}"
        raise SettingsError(
            f"SAHHA_SYNC_DATABASE_URL: {shown} {state}, not {migrations.head()}; run `sahha-sync db upgrade`",
            variable="SAHHA_SYNC_DATABASE_URL",
        )


async def openai_resource(settings: Settings) -> AsyncIterator[openai.AsyncOpenAI]:
    import openai

    key = settings.openai_api_key
    client = openai.AsyncOpenAI(
        api_key=None if key is None else key.get_secret_value(),
        base_url=settings.openai_base_url,
        max_retries=0,
    )
    try:
        yield client
    finally:
        await client.close()


async def queue_resource(queue: JobQueue, handlers: Mapping[str, JobHandler]) -> AsyncIterator[JobQueue]:
    """The queue with ``handlers`` registered; stopped, after draining, on shutdown."""
    for job_type, handler in handlers.items():
        queue.register(job_type, handler)
    try:
        yield queue
    finally:
        await queue.stop(drain=True, timeout=QUEUE_STOP_TIMEOUT)


class Recovery(Protocol):
    async def recover(self) -> int: ...


async def recovery_in_background(*use_cases: Recovery) -> AsyncIterator[asyncio.Task[None]]:
    """``use_cases`` running one after the other beside their caller, who does not wait for them; cancelled on
    shutdown."""
    task = asyncio.create_task(_recover(use_cases), name="sahha-sync-recovery")
    try:
        yield task
    finally:
        task.cancel()  # nothing if it ended
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _recover(use_cases: Sequence[Recovery]) -> None:
    """Submit again the archival of runs that asked for it and never ended, and the webhook deliveries still in
    the inbox; never fails the host (the next start, or ``sahha-sync recover``, tries again)."""
    for use_case in use_cases:
        try:
            await use_case.recover()
        except Exception as exc:
            log.warning("archival.recovery_failed", use_case=type(use_case).__name__, error_kind=type(exc).__name__)


def rate_budget_kind(settings: Settings) -> str:
    """``shared`` when the real API's processes can meet in a Postgres database, else ``local``."""
    return "shared" if settings.uses_postgres and settings.source == "sahha" else "local"


def shared_rate_budget(settings: Settings, engine: AsyncEngine) -> RateBudget:
    return PostgresRateBudget(engine, account=settings.sahha_client_id or "")


def sahha_source(
    settings: Settings, http: httpx.AsyncClient, rate_budget: RateBudget | None = None
) -> SahhaHealthDataSource:
    secret = settings.sahha_client_secret
    return SahhaHealthDataSource(
        http,
        client_id=settings.sahha_client_id or "",
        client_secret="" if secret is None else secret.get_secret_value(),
        base_url=settings.sahha_api_base_url,
        rate_limit_delay=settings.sahha_rate_limit_delay,
        max_retries=settings.sahha_max_retries,
        request_timeout=settings.sahha_request_timeout,
        rate_budget=rate_budget,
    )


def emulated_source(settings: Settings, emulator: SahhaEmulator, http: httpx.AsyncClient) -> SahhaHealthDataSource:
    """The real client, talking to the in-process emulator with the emulator's credentials (no rate limit)."""
    return SahhaHealthDataSource(
        http,
        client_id=EMULATOR_CLIENT_ID,
        client_secret=EMULATOR_CLIENT_SECRET,
        base_url=EMULATOR_BASE_URL,
        rate_limit_delay=0.0,
        max_retries=settings.sahha_max_retries,
        request_timeout=settings.sahha_request_timeout,
    )


def store_kind(settings: Settings) -> str:
    return "memory" if settings.uses_memory_stores else "sql"


def fallback_analyst_for(settings: Settings, offline: Analyst) -> Analyst | None:
    return offline if settings.analyst != "offline" else None


def lookback(settings: Settings) -> timedelta:
    return timedelta(hours=settings.lookback_hours)


def max_staleness(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.max_staleness)


def archetype_period(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.archetype_period)


def webhook_silence(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.webhook_silence)


def durable_queue(settings: Settings) -> JobQueue:
    """The host's durable queue: with its worker, or submitting only (``run_workers`` false)."""
    return durable_queue_for(settings, run_worker=settings.run_workers)


def durable_queue_for(settings: Settings, *, concurrency: int | None = None, run_worker: bool = True) -> JobQueue:
    """The durable queue for a worker process (``concurrency`` jobs at once, by default the settings'
    ``worker_concurrency``), or, without ``run_worker``, one that only submits and reads (``recover``, ``jobs``,
    ``stats``, ``webhook serve`` beside separate workers)."""
    from sahha_sync.adapters.queue import ProcrastinateJobQueue  # procrastinate: the [postgres] extra

    at_once = settings.worker_concurrency if concurrency is None else concurrency
    return ProcrastinateJobQueue(settings.database_url, concurrency=at_once, run_worker=run_worker)


def openai_analyst(client: openai.AsyncOpenAI, model: str) -> OpenAIAnalyst:
    from sahha_sync.adapters.llm.openai_analyst import OpenAIAnalyst

    return OpenAIAnalyst(client, model=model)


class Container(containers.DeclarativeContainer):
    """Every object sahha-sync needs, built from ``config`` (a ``Settings``) on first use."""

    config: providers.Dependency[Settings] = providers.Dependency(instance_of=Settings)
    clock = providers.Singleton(SystemClock)

    # the Sahha source: real API or in-process emulator, through the same client class
    population = providers.Singleton(SyntheticPopulation, seed=0)
    emulator = providers.Singleton(
        SahhaEmulator,
        population,
        client_id=EMULATOR_CLIENT_ID,
        client_secret=EMULATOR_CLIENT_SECRET,
        clock=clock.provided.now,
    )
    sahha_http = providers.Resource(sahha_http_client, config)
    emulator_http = providers.Resource(emulator_http_client, emulator)
    engine = providers.Resource(database_engine, config)
    rate_budget: providers.Provider[RateBudget | None] = providers.Selector(
        providers.Callable(rate_budget_kind, config),
        shared=providers.Singleton(shared_rate_budget, config, engine),
        local=providers.Object(None),
    )
    source = providers.Selector(
        config.provided.source,
        sahha=providers.Singleton(sahha_source, config, sahha_http, rate_budget),
        emulator=providers.Singleton(emulated_source, config, emulator, emulator_http),
    )

    # stores: one unit of work per transaction over archive, events and tracking
    memory_stores = providers.Singleton(InMemoryStores)
    unit_of_work: providers.Provider[UnitOfWorkFactory] = providers.Selector(
        providers.Callable(store_kind, config),
        memory=memory_stores.provided.unit_of_work,
        sql=providers.Singleton(sql_unit_of_work_factory, engine),
    )

    # analysts
    offline_analyst = providers.Singleton(OfflineAnalyst)
    openai_client = providers.Resource(openai_resource, config)
    analyst: providers.Provider[Analyst] = providers.Selector(
        config.provided.analyst,
        offline=offline_analyst,
        openai=providers.Singleton(openai_analyst, openai_client, config.provided.openai_model),
    )

    fallback_analyst = providers.Callable(fallback_analyst_for, config, offline_analyst)

    # the webhook inbox (a table beside the archive): where deliveries wait for the in-memory queue's workers
    memory_inbox = providers.Singleton(InMemoryWebhookInbox, erasures=memory_stores.provided.erasures)
    store_inbox: providers.Provider[WebhookInbox] = providers.Selector(
        providers.Callable(store_kind, config), memory=memory_inbox, sql=providers.Singleton(SqlWebhookInbox, engine)
    )
    # deliveries go to the inbox only when the queue's own submits are not stored (the in-memory queue)
    intake_inbox = providers.Selector(config.provided.queue, memory=store_inbox, postgres=providers.Object(None))

    # the jobs (archival: SYNC_SAHHA_DATA; webhook deliveries), their handlers and the queue
    on_archived: providers.Provider[ArchivalListener | None] = providers.Object(None)  # SahhaSync(on_archived=...)
    archive_health_data = providers.Singleton(
        ArchiveHealthData,
        unit_of_work=unit_of_work,
        clock=clock,
        source=source,
        on_archived=on_archived,
        batch_size=config.provided.archival_batch,
    )
    ingest_webhook_records = providers.Singleton(
        IngestWebhookRecords, unit_of_work=unit_of_work, clock=clock, inbox=store_inbox, source=source
    )
    job_handlers: providers.Provider[dict[str, JobHandler]] = providers.Dict(
        {ArchiveHealthData.JOB_TYPE: archive_health_data, IngestWebhookRecords.JOB_TYPE: ingest_webhook_records}
    )
    queue_backend: providers.Provider[JobQueue] = providers.Selector(
        config.provided.queue,
        memory=providers.Factory(InMemoryJobQueue, concurrency=config.provided.worker_concurrency),
        postgres=providers.Factory(durable_queue, config),
    )
    job_queue = providers.Resource(queue_resource, queue_backend, job_handlers)
    # another queue (a worker's): ``resolve(container.recover_pending_archivals, queue=queue)``
    recover_pending_archivals = providers.Factory(RecoverPendingArchivals, unit_of_work=unit_of_work, queue=job_queue)
    recover_webhook_inbox = providers.Factory(RecoverWebhookInbox, inbox=store_inbox, queue=job_queue)
    recovery = providers.Resource(recovery_in_background, recover_pending_archivals, recover_webhook_inbox)
    inbox_recovery = providers.Resource(recovery_in_background, recover_webhook_inbox)

    # use cases; one fetch per user at a time across every run of the process
    user_flights = providers.Singleton(UserFlights)
    run_analysis = providers.Factory(
        RunAnalysis,
        source=source,
        analyst=analyst,
        unit_of_work=unit_of_work,
        queue=job_queue,
        clock=clock,
        lookback=providers.Callable(lookback, config),
        initial_days=config.provided.initial_days,
        fallback_analyst=fallback_analyst,
        max_staleness=providers.Callable(max_staleness, config),
        archetype_period=providers.Callable(archetype_period, config),
        webhook_silence=providers.Callable(webhook_silence, config),
        flights=user_flights,
        source_name=config.provided.source,
    )
    fetch_health_data = providers.Factory(
        FetchHealthData,
        source=source,
        clock=clock,
        lookback=providers.Callable(lookback, config),
        initial_days=config.provided.initial_days,
    )
    archive_recorded_run = providers.Factory(
        ArchiveRecordedRun, archiver=archive_health_data, unit_of_work=unit_of_work
    )
    archetype_tracker = providers.Factory(Watermarks, unit_of_work=unit_of_work, clock=clock)
    read_stored_analyses = providers.Factory(ReadStoredAnalyses, unit_of_work=unit_of_work)
    rebuild_projections = providers.Factory(RebuildProjections, unit_of_work=unit_of_work)

    # operations: erasure, monitoring, and the durable queue as worker processes and the CLI use it
    forget_user = providers.Factory(
        ForgetUser, unit_of_work=unit_of_work, clock=clock, queue=job_queue, inbox=store_inbox
    )
    collect_stats = providers.Factory(CollectStats, unit_of_work=unit_of_work, clock=clock, rate_budget=rate_budget)
    durable_queue_factory = providers.Factory(durable_queue_for, config)

    # Sahha's webhooks, kept safe before they are acknowledged; on another queue than ``job_queue`` (a submit-only
    # durable queue): ``await resolve(container.webhook_receiver, intake__queue=queue)``
    webhook_intake = providers.Factory(
        ReceiveWebhookDelivery, queue=job_queue, unit_of_work=unit_of_work, clock=clock, inbox=intake_inbox
    )
    webhook_receiver = providers.Factory(
        SahhaWebhookReceiver,
        secret=config.provided.webhook_secret,
        intake=webhook_intake,
        clock=clock,
        parse=providers.Object(parse_records),
    )


def build_container(settings: Settings, **overrides: Any) -> Container:
    """A container for ``settings``; ``overrides`` replace providers by name (tests, the demo's clock)."""
    container = Container(config=settings)
    for name, value in overrides.items():
        provider = getattr(container, name)
        provider.override(value if isinstance(value, providers.Provider) else providers.Object(value))
    return container


async def shutdown(container: Container) -> None:
    """Close every resource the container opened (the queue first), then forget its singletons."""
    result = container.shutdown_resources()
    if result is not None:
        await result
    container.reset_singletons()


async def resolve(provider: Any, **arguments: Any) -> Any:
    """Call ``provider`` (with ``arguments`` in place of its own) and await the result when one of its
    dependencies is asynchronous."""
    value = provider(**arguments)
    return await value if asyncio.isfuture(value) or asyncio.iscoroutine(value) else value
