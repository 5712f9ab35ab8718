"""The worker's and the webhook server's /livez, /readyz and /metrics: what each answers, and that every other
request reaches the app behind them."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sahha_sync import migrations
from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import InMemoryStores
from sahha_sync.application.use_cases import CollectStats
from sahha_sync.infrastructure.health import CachedMetrics, OpsEndpoints, schema_problem, serving
from sahha_sync.infrastructure.settings import Settings
from tests.prometheus_text import samples

FIGURES_AT = datetime(2026, 1, 5, tzinfo=UTC)


async def no_problem() -> str | None:
    return None


async def empty_figures(*_args: Any) -> dict[str, Any]:
    use_case = CollectStats(unit_of_work=InMemoryStores().unit_of_work, clock=ManualClock(FIGURES_AT))
    return (await use_case.collect()).to_dict()


async def inner_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b"inner"})


def client(app: OpsEndpoints) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ops")


async def test_livez_readyz_and_metrics_answer_and_the_rest_reaches_the_app_behind() -> None:
    app = OpsEndpoints(ready=no_problem, metrics=CachedMetrics(empty_figures), inner=inner_app)
    async with client(app) as http:
        assert (await http.get("/livez")).json() == {"status": "alive"}
        assert (await http.get("/readyz")).status_code == 200
        metrics = await http.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        assert samples(metrics.text)['sahha_sync_archival_total{outcome="requested"}'] == 0
        delivery = await http.post("/", content=b"{}")
        assert (delivery.status_code, delivery.text) == (202, "inner")


async def test_without_an_app_behind_other_paths_are_not_found() -> None:
    async with client(OpsEndpoints(ready=no_problem, metrics=CachedMetrics(empty_figures))) as http:
        assert (await http.get("/")).status_code == 404


async def test_readyz_says_why_a_process_is_not_ready() -> None:
    async def behind() -> str | None:
        return "database schema at 0010_user_freshness, not 0011_library_schema"

    async with client(OpsEndpoints(ready=behind, metrics=CachedMetrics(empty_figures))) as http:
        answer = await http.get("/readyz")
    assert answer.status_code == 503
    assert "0010_user_freshness" in answer.json()["reason"]


async def test_metrics_are_collected_once_per_period_however_often_scraped() -> None:
    calls: list[None] = []

    async def counted() -> dict[str, Any]:
        calls.append(None)
        return await empty_figures()

    metrics = CachedMetrics(counted, ttl=60.0)
    assert await metrics() == await metrics()
    assert len(calls) == 1


def settings_for(url: str) -> Settings:
    return Settings(SAHHA_SYNC_DATABASE_URL=url, SAHHA_SYNC_SOURCE="emulator")


async def test_a_database_at_the_newest_revision_is_ready_and_one_behind_is_not(new_sqlite_url: str) -> None:
    migrations.upgrade(new_sqlite_url, "0010_user_freshness")
    problem = await schema_problem(settings_for(new_sqlite_url))
    assert problem is not None
    assert "sahha-sync db upgrade" in problem
    migrations.upgrade(new_sqlite_url)
    assert await schema_problem(settings_for(new_sqlite_url)) is None


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_database_is_not_ready_and_its_password_is_not_said() -> None:
    url = f"postgresql://sync:hunter2@127.0.0.1:{closed_port()}/archive"
    problem = await schema_problem(settings_for(url))
    assert problem is not None
    assert "connection refused" in problem
    assert "hunter2" not in problem


@pytest.mark.parametrize("path", ["/livez", "/metrics"])
async def test_the_endpoints_are_served_over_http_beside_a_running_process(path: str) -> None:
    port = closed_port()
    app = OpsEndpoints(ready=no_problem, metrics=CachedMetrics(empty_figures))
    async with serving(app, "127.0.0.1", port), httpx.AsyncClient() as http:
        answer = await http.get(f"http://127.0.0.1:{port}{path}")
    assert answer.status_code == 200
