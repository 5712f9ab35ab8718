"""``sahha-sync sync`` through a database blip: the server is stopped (a crash) for about ten seconds while the
command runs, and every user still ends synced, with exit 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from sahha_sync import migrations
from tests.integration.outage import ThrowawayPostgres, throwaway_postgres
from tests.integration.queue._processes import scalar

pytestmark = pytest.mark.postgres

__all__ = ["throwaway_postgres"]  # the fixture, used by name below

USERS = 8
BLIP_SECONDS = 10.0


def runs_done(url: str) -> int:
    try:
        return int(scalar(url, "SELECT count(*) FROM sahha_sync.sync_events WHERE type = 'sync.completed'"))
    except Exception:  # the server is away
        return 0


def test_sync_survives_a_ten_second_database_blip(throwaway_postgres: ThrowawayPostgres, tmp_path: Path) -> None:
    url = throwaway_postgres.create_database("blip")
    migrations.upgrade(url)
    users = tmp_path / "users.txt"
    users.write_text("".join(f"user-{i:04d}\n" for i in range(USERS)), encoding="utf-8")
    since = (date.today() - timedelta(days=90)).isoformat()
    env = {
        **os.environ,
        "SAHHA_SYNC_DATABASE_URL": url,
        "SAHHA_SYNC_SOURCE": "emulator",
        "SAHHA_SYNC_QUEUE": "memory",
    }
    command = [sys.executable, "-m", "sahha_sync.infrastructure.cli", "sync", "--users", str(users)]
    sync = subprocess.Popen(
        [*command, "--since", since, "--concurrency", "2", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    for _ in range(600):
        if runs_done(url) >= 2 or sync.poll() is not None:
            break
        time.sleep(0.1)
    assert sync.poll() is None, "sync ended before the blip"
    throwaway_postgres.stop()
    time.sleep(BLIP_SECONDS)
    throwaway_postgres.start()
    out, err = sync.communicate(timeout=300)

    assert sync.returncode == 0, err[-2000:]
    summary = json.loads(out)
    assert (summary["users"], summary["succeeded"], summary["failed"]) == (USERS, USERS, {})
    assert runs_done(url) >= USERS
