"""The long-running commands as processes: ``webhook serve`` on the embedded defaults, ``worker`` on the durable
queue; and ``jobs``, ``recover`` and ``stats`` on the durable queue."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from sahha_sync.adapters.queue import ProcrastinateJobQueue
from sahha_sync.application.use_cases import IngestWebhookRecords
from sahha_sync.application.use_cases.ingest_webhook import WebhookDelivery
from tests.e2e.conftest import CliResult
from tests.prometheus_text import samples
from tests.unit.webhook.deliveries import SECRET, STEPS_VALUE, biomarker_body, encode, signed_headers

Cli = Callable[..., CliResult]
HOST = "127.0.0.1"
WAIT_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAHHA_", "OPENAI_"))}
    return {**env, "SAHHA_SYNC_LOG_FORMAT": "json", **values}


@pytest.fixture
def start() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "sahha_sync.infrastructure.cli", *args]
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=WAIT_SECONDS)
    return process.returncode, out, err


def until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def post(port: int, raw: bytes, headers: dict[str, str]) -> int | None:
    try:
        return httpx.post(f"http://{HOST}:{port}/sahha/webhook", content=raw, headers=headers, timeout=5).status_code
    except httpx.TransportError:
        return None


def test_webhook_serve_archives_a_signed_delivery_and_rejects_a_forged_one(
    start: Callable[..., subprocess.Popen[str]], tmp_path: Path
) -> None:
    port = free_port()
    server = start(
        "webhook", "serve", "--port", str(port), env=clean_env(SAHHA_SYNC_WEBHOOK_SECRET=SECRET), cwd=tmp_path
    )
    raw = encode(biomarker_body())
    until(lambda: post(port, b"{}", {"X-Signature": "0" * 64}) == 401, "the server to listen")
    assert post(port, raw, signed_headers(raw)) == 202
    assert post(port, raw, signed_headers(raw)) == 202  # redelivered
    code, out, err = stop(server)
    assert code == 0, err
    assert "Sahha webhooks on" in out
    with sqlite3.connect(tmp_path / "sahha_sync.db") as db:
        assert db.execute("SELECT value FROM biomarkers").fetchall() == [(STEPS_VALUE,)]


def _count_biomarkers(url: str) -> int:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as db:
        row = db.execute("SELECT count(*) FROM biomarkers").fetchone()
        return int(row[0]) if row else 0


@pytest.mark.postgres
async def test_a_worker_process_runs_the_queued_jobs_and_stops_on_sigterm(
    start: Callable[..., subprocess.Popen[str]], postgres_url: str, tmp_path: Path
) -> None:
    queue = ProcrastinateJobQueue(postgres_url, run_worker=False)
    delivery = WebhookDelivery.from_payload(
        {"kind": "biomarker", "record": _biomarker_record(), "received_at": "2026-11-29T03:30:00+00:00"}
    )
    await queue.submit_job(IngestWebhookRecords.JOB_TYPE, delivery.to_payload())
    await queue.stop(drain=False)
    worker = start(
        "worker",
        "--concurrency",
        "2",
        env=clean_env(SAHHA_SYNC_QUEUE="postgres", SAHHA_SYNC_DATABASE_URL=postgres_url),
        cwd=tmp_path,
    )
    until(lambda: _count_biomarkers(postgres_url) == 1, "the worker to ingest the queued delivery")
    code, out, err = stop(worker)
    assert code == 0, err
    assert "worker stopped" in out


def _biomarker_record() -> dict[str, object]:
    return {
        "user_id": "user-0042",
        "category": "activity",
        "type": "steps",
        "unit": "count",
        "value_type": "long",
        "value": STEPS_VALUE,
        "start_date_time": "2026-11-28T00:00:00+00:00",
        "end_date_time": "2026-11-28T23:59:59+00:00",
    }


@pytest.mark.postgres
def test_jobs_recover_and_stats_read_the_durable_queue(
    cli: Cli, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", postgres_url)
    monkeypatch.setenv("SAHHA_SYNC_QUEUE", "postgres")
    code, out, err = cli("jobs", "list", "--json")
    assert code == 0, err
    assert json.loads(out) == {"queue": json.loads(out)["queue"], "dead_jobs": []}
    code, out, err = cli("jobs", "retry-dead", "--json")
    assert (code, json.loads(out)) == (0, {"retried": []}), err
    code, out, err = cli("recover", "--json")
    assert (code, json.loads(out)["resubmitted"]) == (0, 0), err
    code, out, err = cli("stats", "--json")
    assert code == 0, err
    assert json.loads(out)["queue"]["dead"] == 0
    code, out, _ = cli("stats", "--format", "prometheus")
    assert samples(out)['sahha_sync_queue_jobs{state="dead"}'] == 0


@pytest.mark.postgres
def test_recover_dead_webhooks_queues_the_entries_the_inbox_gave_up_on_for_the_workers(
    cli: Cli, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delivery a process on the in-memory queue left in the inbox, whose jobs died three times: on the durable
    queue, ``recover --dead-webhooks`` gives it fresh attempts and queues its job for the workers."""
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", postgres_url)
    monkeypatch.setenv("SAHHA_SYNC_QUEUE", "postgres")
    delivery = WebhookDelivery.from_payload(
        {"kind": "biomarker", "record": _biomarker_record(), "received_at": "2026-11-29T03:30:00+00:00"}
    )
    with psycopg.connect(postgres_url) as conn:
        conn.execute(
            "INSERT INTO sahha_sync.webhook_inbox (dedup_key, user_id, payload, attempts) VALUES (%s, %s, %s, 3)",
            (delivery.dedup_key, "user-0042", json.dumps(delivery.to_payload())),
        )
    code, out, err = cli("recover", "--json")
    assert (code, json.loads(out)["revived_webhooks"]) == (0, 0), err

    code, out, err = cli("recover", "--dead-webhooks", "--json")

    assert (code, json.loads(out)["revived_webhooks"]) == (0, 1), err
    with psycopg.connect(postgres_url) as conn:
        attempts = conn.execute("SELECT attempts FROM sahha_sync.webhook_inbox").fetchall()
        queued = conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' AND task_name = %s",
            (IngestWebhookRecords.JOB_TYPE,),
        ).fetchone()
    assert attempts == [(0,)]
    assert queued == (1,)
