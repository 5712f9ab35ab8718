"""What the queue's process tests share: ``archival_process.py`` worker processes, and looks at the database."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sahha_sync.adapters.sql import create_engine, sql_unit_of_work_factory

HERE = Path(__file__).parent
SCRIPT = HERE / "archival_process.py"
JOBS = 200
WAIT = 120.0


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


archival = _load("archival_process", SCRIPT)
helpers = _load("durable_helpers", HERE / "_durable.py")


class Worker:
    """One ``archival_process.py worker`` process; its stdout (JSON log lines) goes to a file."""

    def __init__(self, url: str, log: Path, *options: str) -> None:
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(SCRIPT), "worker", "--database-url", url, *options],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def completed_job_ids(self) -> list[str]:
        return [e["job_id"] for e in self.events() if e.get("event") == "queue.job_completed"]

    def has_started(self) -> bool:
        return any(e.get("event") == "queue.started" for e in self.events())

    def events(self) -> list[dict[str, Any]]:
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def terminate(self, timeout: float = 30.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


def start(workers: list[Worker], url: str, tmp_path: Path, *options: str) -> Worker:
    worker = Worker(url, tmp_path / f"worker-{len(workers)}.log", *options)
    workers.append(worker)
    return worker


def wait_for(condition: Any, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def scalar(url: str, query: str) -> Any:
    return helpers.rows(url, query)[0][0]


def events_per_run(url: str, event_type: str, kind: str | None = None) -> Counter[str]:
    query = (
        "SELECT stream_id FROM sahha_sync.sync_events WHERE type = %s AND (%s::text IS NULL OR payload->>'kind' = %s)"
    )
    found = helpers.rows(url, query, event_type, kind, kind)
    return Counter(stream_id for (stream_id,) in found)


async def submit_runs(url: str, count: int) -> list[str]:
    engine = create_engine(url)
    queue = helpers.fast_queue(url, run_worker=False)
    try:
        jobs = await archival.record_runs(sql_unit_of_work_factory(engine), count)
        for job in jobs:
            await queue.submit_job(job.JOB_TYPE, job.to_payload(), dedup_key=job.dedup_key)
    finally:
        await queue.stop(drain=False)
        await engine.dispose()
    return [f"run-{job.run_id}" for job in jobs]


def assert_archived_exactly_once(url: str, streams: list[str]) -> None:
    truth = archival.ground_truth(len(streams))
    assert scalar(url, "SELECT count(*) FROM biomarkers") == truth["biomarkers"]
    assert scalar(url, "SELECT count(*) FROM scores") == truth["scores"]
    assert events_per_run(url, "sync.completed") == Counter(streams)
    for kind in ("biomarker", "score"):
        assert events_per_run(url, "records.archived", kind) == Counter(streams), kind
    inserted = scalar(
        url,
        "SELECT sum((payload->>'inserted')::int) FROM sahha_sync.sync_events "
        "WHERE type = 'records.archived' AND payload->>'kind' = 'biomarker'",
    )
    assert inserted == truth["biomarkers"]
    assert scalar(url, "SELECT count(*) FROM sahha_sync.sync_events WHERE type = 'archival.failed'") == 0


def queue_is_empty(url: str) -> bool:
    return bool(scalar(url, "SELECT count(*) FROM procrastinate_jobs") == 0)


def completed(url: str) -> int:
    return int(scalar(url, "SELECT coalesce(sum(completed), 0) FROM sahha_sync_job_counters"))
