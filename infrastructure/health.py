"""Liveness, readiness and Prometheus metrics over HTTP, for ``sahha-sync worker`` and ``webhook serve``.

``OpsEndpoints`` is an ASGI app answering ``GET`` (or ``HEAD``) on three paths and handing every other request to
the app it wraps (the webhook receiver), or 404 when it wraps none (the worker's own small server):

- ``/livez``: 200 while the process's event loop answers; an orchestrator restarts a process that stops answering;
- ``/readyz``: 200 when the database answers and its schema is at the newest revision, else 503 with the reason
  (the database named without its password); a load balancer sends no traffic to a process that is not ready;
- ``/metrics``: the monitoring figures (``sahha-sync stats``) in Prometheus's text format, computed at most once
  per ``METRICS_TTL`` seconds however often they are scraped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from sahha_sync import migrations
from sahha_sync.adapters._asgi import lifespan
from sahha_sync.adapters.sql.errors import connection_problem
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.job_queue import JobQueue
from sahha_sync.application.use_cases import CollectStats
from sahha_sync.infrastructure.container import Container, resolve
from sahha_sync.infrastructure.settings import Settings
from sahha_sync.infrastructure.stats_format import to_prometheus

log = get_logger(__name__)

PATHS = ("/livez", "/readyz", "/metrics")
READY_TIMEOUT = 5.0
METRICS_TTL = 15.0

Asgi = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


async def schema_problem(settings: Settings, timeout: float = READY_TIMEOUT) -> str | None:
    """Why the database is not ready (unreachable, or its schema not at the newest revision); None when it is."""
    if settings.uses_memory_stores:
        return None
    try:
        revision = await asyncio.wait_for(asyncio.to_thread(migrations.current, settings.database_url), timeout)
    except TimeoutError:
        return f"database {settings.database_url_for_display}: no answer within {timeout:g} s"
    except Exception as exc:
        return f"database {settings.database_url_for_display}: {connection_problem(exc)}"
    if revision != migrations.head():
        return f"database schema at {revision or 'nothing'}, not {migrations.head()}; run `sahha-sync db upgrade`"
    return None


Figures = Callable[..., Awaitable[dict[str, Any]]]


async def figures_of(container: Container, queue: JobQueue | None) -> Figures:
    """``await collect(since=None)``: the monitoring figures (``OperationsStats.to_dict()``) of ``container``'s
    stores, with ``queue``'s when given."""
    use_case = CollectStats(
        unit_of_work=await resolve(container.unit_of_work),
        clock=await resolve(container.clock),
        queue=queue,
        rate_budget=await resolve(container.rate_budget),
    )

    async def collect(since: datetime | None = None) -> dict[str, Any]:
        return (await use_case.collect(since)).to_dict()

    return collect


def ops_endpoints(settings: Settings, figures: Figures, inner: Asgi | None = None) -> OpsEndpoints:
    """The endpoints of a process on ``settings``'s database whose metrics are ``figures``."""
    return OpsEndpoints(ready=lambda: schema_problem(settings), metrics=CachedMetrics(figures), inner=inner)


class CachedMetrics:
    """``collect()``'s figures as Prometheus text, collected again once ``ttl`` seconds passed."""

    def __init__(self, collect: Callable[[], Awaitable[Mapping[str, Any]]], ttl: float = METRICS_TTL) -> None:
        self._collect = collect
        self._ttl = ttl
        self._text: str | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def __call__(self) -> str:
        async with self._lock:
            if self._text is None or time.monotonic() - self._at >= self._ttl:
                self._text = to_prometheus(await self._collect())
                self._at = time.monotonic()
            return self._text


class OpsEndpoints:
    """``/livez``, ``/readyz`` and ``/metrics`` in front of ``inner`` (see the module's description)."""

    def __init__(
        self,
        *,
        ready: Callable[[], Awaitable[str | None]],
        metrics: Callable[[], Awaitable[str]],
        inner: Asgi | None = None,
    ) -> None:
        self._ready = ready
        self._metrics = metrics
        self._inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        ours = scope["type"] == "http" and scope["path"] in PATHS and scope["method"] in ("GET", "HEAD")
        if not ours and self._inner is not None:
            await self._inner(scope, receive, send)
        elif scope["type"] == "lifespan":
            await lifespan(receive, send)
        elif scope["type"] == "http":
            status, content_type, body = await self._answer(scope["path"]) if ours else _json(404, "not found")
            headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    async def _answer(self, path: str) -> tuple[int, str, bytes]:
        if path == "/livez":
            return _json(200, "alive")
        if path == "/readyz":
            problem = await self._ready()
            return _json(200, "ready") if problem is None else _json(503, "not ready", problem)
        try:
            return 200, CONTENT_TYPE_LATEST, (await self._metrics()).encode("utf-8")
        except Exception as exc:
            log.warning("metrics.unavailable", error_kind=type(exc).__name__)
            return _json(503, "metrics unavailable", type(exc).__name__)


def _json(status: int, state: str, reason: str | None = None) -> tuple[int, str, bytes]:
    content = {"status": state} if reason is None else {"status": state, "reason": reason}
    return status, "application/json", json.dumps(content).encode("utf-8")


def _signal_free_server(app: OpsEndpoints, host: str, port: int) -> Any:
    """A uvicorn server for ``app`` that leaves SIGINT and SIGTERM to the process it serves in (the worker stops on
    them). uvicorn (the ``server`` extra) is imported here: only a process that serves its endpoints needs it."""
    import uvicorn

    class SignalFreeServer(uvicorn.Server):
        def __init__(self, config: uvicorn.Config) -> None:
            super().__init__(config)
            self.listening = asyncio.Event()

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            self.listening.set()

    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, server_header=False)
    return SignalFreeServer(config)


@contextlib.asynccontextmanager
async def serving(app: OpsEndpoints, host: str, port: int) -> AsyncIterator[None]:
    """Serve ``app`` on ``host:port`` in the background while the block runs."""
    server = _signal_free_server(app, host, port)
    task = asyncio.create_task(server.serve())
    listening = asyncio.create_task(server.listening.wait())
    await asyncio.wait((task, listening), return_when=asyncio.FIRST_COMPLETED)  # listening before the block runs
    if task.done():
        listening.cancel()
        await task
    log.info("health.serving", host=host, port=port)
    try:
        yield
    finally:
        server.should_exit = True
        await task
