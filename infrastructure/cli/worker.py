"""``sahha-sync worker`` and ``sahha-sync recover``: running and re-submitting archival jobs."""

from __future__ import annotations

import contextlib

import typer

from sahha_sync.adapters.queue import run_worker
from sahha_sync.application.ports.job_queue import JobQueue
from sahha_sync.application.use_cases import RecoverPendingArchivals, RecoverWebhookInbox
from sahha_sync.infrastructure.cli import _ops
from sahha_sync.infrastructure.cli._common import out, print_json, run_sync, state
from sahha_sync.infrastructure.container import Container, resolve
from sahha_sync.infrastructure.health import figures_of, ops_endpoints, serving
from sahha_sync.infrastructure.runtime import SahhaSync
from sahha_sync.infrastructure.settings import Settings

WORKER_HELP = (
    "Run archival and webhook-ingest jobs from the durable queue (SAHHA_SYNC_QUEUE=postgres) until SIGTERM or "
    "Ctrl-C. At start it re-submits the archival of runs whose job was lost (as `recover` does) and the webhook "
    "deliveries still held in the inbox. It waits out a database outage (up to two minutes) and then records the "
    "outcome of the jobs it ran; past that it exits non-zero, so a supervisor restarts it. On stop it takes "
    "no new job and gives running ones --shutdown-timeout seconds before they are put back in the queue. Run as "
    "many workers, on as many servers, as you like.\n\n"
    "Examples:\n\n"
    "  SAHHA_SYNC_QUEUE=postgres SAHHA_SYNC_DATABASE_URL=postgresql://... sahha-sync worker\n\n"
    "  sahha-sync worker --concurrency 8 --shutdown-timeout 60\n\n"
    "  sahha-sync worker --health-port 9101 --health-host 0.0.0.0\n\n"
    "--health-port serves GET /livez, /readyz (database reachable, schema current) and /metrics (Prometheus)."
)
RECOVER_HELP = (
    "Re-submit the archival of every run whose archival was requested but never finished and has no pending "
    "job (e.g. jobs an in-memory queue lost in a restart). On the in-memory queue the jobs run here and the "
    "command waits for them; on the durable queue the workers run them.\n\n"
    "--dead-webhooks also gives fresh attempts to the webhook deliveries held in the inbox whose jobs died "
    "every attempt (given up: no start queues them again), and queues them with the inbox's other entries; "
    "run it once whatever killed those jobs is mended.\n\n"
    "Examples:\n\n"
    "  sahha-sync recover\n\n"
    "  sahha-sync recover --dead-webhooks --json"
)
DRAIN_TIMEOUT = 600.0


def worker(
    ctx: typer.Context,
    concurrency: int | None = typer.Option(
        None, "--concurrency", min=1, max=256, help="Jobs run at once [default: SAHHA_SYNC_WORKER_CONCURRENCY, 8]."
    ),
    shutdown_timeout: float = typer.Option(30.0, "--shutdown-timeout", min=0, help="Seconds running jobs get."),
    health_port: int | None = typer.Option(
        None, "--health-port", min=1, max=65535, help="Serve /livez, /readyz and /metrics on this port."
    ),
    health_host: str = typer.Option("127.0.0.1", "--health-host", help="Address of the health endpoints."),
) -> None:
    settings = state(ctx).settings
    _ops.require_durable_queue(settings, "worker")
    health = None if health_port is None else (health_host, health_port)
    if health is not None:
        _ops.require_free_port(*health)
    at_once = settings.worker_concurrency if concurrency is None else concurrency
    out.print(f"worker on {settings.database_url_for_display}, {at_once} at once; Ctrl-C or SIGTERM stops it")
    run_sync(_work(settings, at_once, shutdown_timeout, health))
    out.print("worker stopped")


async def _work(settings: Settings, concurrency: int, shutdown_timeout: float, health: tuple[str, int] | None) -> None:
    async with _ops.opened(settings) as container:
        queue: JobQueue = container.durable_queue_factory(concurrency=concurrency)
        handlers = await resolve(container.job_handlers)
        recovery: RecoverPendingArchivals = await resolve(container.recover_pending_archivals, queue=queue)
        inbox: RecoverWebhookInbox = await resolve(container.recover_webhook_inbox, queue=queue)

        async def recover() -> None:  # the runs whose archival was lost, and deliveries left in the webhook inbox
            await recovery.recover()
            await inbox.recover()

        async with contextlib.AsyncExitStack() as stack:
            if health is not None:
                endpoints = ops_endpoints(settings, await figures_of(container, queue))
                await stack.enter_async_context(serving(endpoints, *health))
            await run_worker(
                queue, handlers, on_start=recover, shutdown_timeout=shutdown_timeout, freeze_start_up_objects=True
            )


def recover(
    ctx: typer.Context,
    dead_webhooks: bool = typer.Option(
        False, "--dead-webhooks", help="Also retry the webhook deliveries the inbox gave up on."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    settings = state(ctx).settings
    resubmitted, revived, drained = run_sync(_recover(settings, dead_webhooks))
    if as_json:
        print_json(
            {"resubmitted": resubmitted, "revived_webhooks": revived, "queue": settings.queue, "drained": drained}
        )
        return
    where = "run here" if settings.queue == "memory" else "queued for the workers"
    out.print(f"re-submitted {resubmitted} archival job(s), {where}" + ("" if drained else " (not finished in time)"))
    if dead_webhooks:
        out.print(f"retried {revived} webhook delivery(ies) the inbox had given up on, {where}")


async def _recover(settings: Settings, dead_webhooks: bool) -> tuple[int, int, bool]:
    if settings.queue == "memory":
        async with SahhaSync(settings) as sync:  # its queue started, and the recovery that comes with it
            use_case: RecoverPendingArchivals = await resolve(sync.container.recover_pending_archivals)
            count = await use_case.recover()
            revived = await _revive(await resolve(sync.container.recover_webhook_inbox)) if dead_webhooks else 0
            await sync.wait_for_recovery()
            return count, revived, await sync.wait_for_archival(DRAIN_TIMEOUT)
    async with _ops.opened(settings) as container, _ops.submit_only_queue(container) as queue:
        revived = await _revive(await resolve(container.recover_webhook_inbox, queue=queue)) if dead_webhooks else 0
        return await _recover_on(container, queue), revived, True


async def _revive(inbox: RecoverWebhookInbox) -> int:
    """Fresh attempts for the inbox's dead letters, then the inbox's held entries queued (a job already pending
    for an entry is not queued twice); returns how many were revived."""
    revived = await inbox.revive_dead()
    await inbox.recover()
    return revived


async def _recover_on(container: Container, queue: JobQueue) -> int:
    use_case: RecoverPendingArchivals = await resolve(container.recover_pending_archivals, queue=queue)
    return await use_case.recover()
