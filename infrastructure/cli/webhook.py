"""``sahha-sync webhook serve``: Sahha's webhook receiver on its own, under uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator

import typer

from sahha_sync.adapters.webhook import DEFAULT_MAX_BODY_BYTES
from sahha_sync.application.ports.job_queue import JobQueue
from sahha_sync.infrastructure.cli import _ops
from sahha_sync.infrastructure.cli._common import out, run_sync, state
from sahha_sync.infrastructure.container import Container, resolve
from sahha_sync.infrastructure.health import figures_of, ops_endpoints
from sahha_sync.infrastructure.settings import Settings

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
webhook = typer.Typer(name="webhook", help="Receive Sahha's webhooks (push delivery).", no_args_is_help=True)

SERVE_HELP = (
    "Serve the webhook receiver until Ctrl-C or SIGTERM: it checks each delivery's X-Signature against "
    "SAHHA_SYNC_WEBHOOK_SECRET (and refuses to start without it), answers once the delivery is stored, and "
    "archives biomarkers, scores and archetypes through the same upsert as polling (a redelivery changes "
    "nothing); a signed record that breaks a rule is kept in quarantine. On the in-memory queue a delivery is "
    "stored in the database's webhook inbox and archived in this process (what a killed process left there is "
    "archived at the next start); on the durable queue (SAHHA_SYNC_QUEUE=postgres) it is queued for `sahha-sync "
    "worker`. Point Sahha's dashboard at http://HOST:PORT/ behind your TLS proxy. GET /livez, /readyz (database "
    "reachable, schema current) and /metrics (Prometheus) answer on the same port: let the proxy pass only "
    "POST / from outside.\n\n"
    "Examples:\n\n"
    "  SAHHA_SYNC_WEBHOOK_SECRET=... sahha-sync webhook serve --port 8080\n\n"
    "  sahha-sync webhook serve --host 0.0.0.0 --port 8080 --max-body-bytes 65536"
)


@webhook.command("serve", help=SERVE_HELP, short_help="Serve the webhook receiver until stopped.")
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="TCP port to listen on."),
    max_body_bytes: int = typer.Option(
        DEFAULT_MAX_BODY_BYTES, "--max-body-bytes", min=1024, help="Largest delivery accepted (413 beyond)."
    ),
) -> None:
    settings = state(ctx).settings
    _ops.require_webhook_secret(settings)
    _ops.require_free_port(host, port)
    where = "archived here" if settings.queue == "memory" else "queued for the workers"
    out.print(f"Sahha webhooks on http://{host}:{port}/ ({where}); Ctrl-C stops")
    run_sync(_serve(settings, host, port, max_body_bytes))


async def _serve(settings: Settings, host: str, port: int, max_body_bytes: int) -> None:
    """Serve until SIGINT or SIGTERM; the signal sets ``stop`` (uvicorn, which takes the signals while it serves,
    raises them again once it has shut down, and they land here instead of killing the process)."""
    from sahha_sync.adapters.webhook import serve_async  # uvicorn: the [server] extra

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        async with _ops.opened(settings) as container, _receiving_queue(settings, container) as queue:
            await queue.start()
            if settings.queue == "memory":  # deliveries an earlier process acknowledged and did not archive
                await resolve(container.inbox_recovery)
            receiver = await resolve(container.webhook_receiver, intake__queue=queue, max_body_bytes=max_body_bytes)
            figures = await figures_of(container, queue if settings.queue == "postgres" else None)
            app = ops_endpoints(settings, figures, inner=receiver)
            await serve_async(receiver, host, port, stop=stop, app=app)
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


@contextlib.asynccontextmanager
async def _receiving_queue(settings: Settings, container: Container) -> AsyncIterator[JobQueue]:
    """The in-memory queue, whose workers archive here (drained when the container closes), or the durable
    queue without a worker (the workers run elsewhere)."""
    if settings.queue == "memory":
        yield await resolve(container.job_queue)
        return
    async with _ops.submit_only_queue(container) as queue:
        yield queue
