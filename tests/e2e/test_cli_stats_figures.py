"""``stats`` after a scripted scenario with failures: every figure equals a count taken straight from the tables."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sahha_sync.adapters.sahha import SahhaStats
from tests.e2e.conftest import CliResult
from tests.e2e.operations_scenario import FORGOTTEN, run_scenario, sqlite_path
from tests.prometheus_text import samples

Cli = Callable[..., CliResult]
STATE = (
    "CASE WHEN sahha_data_synced THEN 'synced' WHEN sync_error IS NOT NULL THEN 'failed' "
    "WHEN archival_requested THEN 'pending' ELSE 'not_requested' END"
)


@pytest.fixture
async def scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[str, SahhaStats]:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    client = await run_scenario(url)
    capsys.readouterr()  # the scenario's log lines
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", url)
    return url, client


@pytest.fixture
def database(scenario: tuple[str, SahhaStats]) -> sqlite3.Connection:
    return sqlite3.connect(sqlite_path(scenario[0]))


def one(db: sqlite3.Connection, query: str) -> int:
    return int(db.execute(query).fetchone()[0])


def figures(cli: Cli, *args: str) -> dict:  # type: ignore[type-arg]
    code, out, err = cli("stats", "--json", *args)
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def test_rows_inserted_equal_the_rows_in_each_table(cli: Cli, database: sqlite3.Connection) -> None:
    storage = figures(cli)["storage"]
    for table in ("biomarkers", "scores", "archetypes"):
        assert storage["inserted"][table] == one(database, f"SELECT count(*) FROM {table}")
    by_day = storage["inserted_by_day"].values()
    assert sum(day["biomarkers"] for day in by_day) == one(database, "SELECT count(*) FROM biomarkers")
    assert storage["inserted_by_webhooks"]["biomarkers"] == 1
    assert storage["quarantined"] == one(database, "SELECT count(*) FROM quarantined_records")


def test_run_states_and_failures_equal_the_tracking_rows_and_events(cli: Cli, database: sqlite3.Connection) -> None:
    found = figures(cli)
    states = dict(database.execute(f"SELECT {STATE}, count(*) FROM archetype_analysis_tracking GROUP BY 1"))
    assert {k: v for k, v in found["sync_states"].items() if v} == states
    assert states == {"synced": 3, "failed": 2, "pending": 1}
    assert found["runs"]["requested"] == one(database, "SELECT count(*) FROM archetype_analysis_tracking")
    failed_for_good = one(
        database,
        "SELECT count(*) FROM archetype_analysis_tracking WHERE archival_requested AND sync_error IS NOT NULL",
    )
    assert found["archival"]["failed_for_good"] == failed_for_good == 1
    assert found["archival"]["failures_by_reason"] == {"InvalidInputError": 1}
    assert found["archival"]["synced"] == states["synced"]
    assert found["archival"]["success_rate"] == pytest.approx(3 / 4)
    fetch_failures = one(database, "SELECT count(*) FROM sync_events WHERE type = 'health_data.fetch_failed'")
    assert sum(found["sahha_api"]["fetch_failures"].values()) == fetch_failures == 1
    assert found["runs"]["analysed"] == one(database, "SELECT count(*) FROM analysis_results")


def test_freshness_equals_the_newest_synced_window_of_each_user(cli: Cli, database: sqlite3.Connection) -> None:
    rows = {(f["user_id"], f["analysis_type"]): f for f in figures(cli)["freshness"]}
    pairs = set(database.execute("SELECT DISTINCT user_id, analysis_type FROM archetype_analysis_tracking"))
    assert set(rows) == pairs
    newest = dict(
        database.execute(
            "SELECT user_id, max(window_end) FROM archetype_analysis_tracking WHERE sahha_data_synced "
            "AND analysis_type = 'behavior_analysis' GROUP BY user_id"
        )
    )
    for (user, kind), row in rows.items():
        if kind == "behavior_analysis" and user in newest:
            assert row["archived_through"][:19] == newest[user].replace(" ", "T")[:19]
        assert row["age_seconds"] is None or row["age_seconds"] >= 0
    assert (rows[("dan", "behavior_analysis")]["failed"], rows[("eve", "behavior_analysis")]["pending"]) == (1, 1)
    assert rows[("eve", "behavior_analysis")]["archived_through"] is None


def test_after_forget_user_the_figures_no_longer_count_the_user(cli: Cli, database: sqlite3.Connection) -> None:
    assert cli("forget-user", FORGOTTEN, "--yes")[0] == 0
    found = figures(cli)
    assert FORGOTTEN not in {f["user_id"] for f in found["freshness"]}
    assert found["runs"]["forgotten"] == 2
    assert found["runs"]["requested"] == one(database, "SELECT count(*) FROM archetype_analysis_tracking")
    assert found["storage"]["inserted"]["scores"] == one(database, "SELECT count(*) FROM scores")
    # the webhook's counts carry no user id, so its erased row stays counted (see CollectStats)
    assert found["storage"]["inserted"]["biomarkers"] == one(database, "SELECT count(*) FROM biomarkers") + 1


def test_since_counts_only_later_events_but_keeps_the_current_state(cli: Cli, database: sqlite3.Connection) -> None:
    later = figures(cli, "--since", datetime.now(UTC).isoformat())
    assert later["runs"]["requested"] == 0
    assert later["storage"]["inserted"] == {"biomarkers": 0, "scores": 0, "archetypes": 0}
    assert sum(later["sync_states"].values()) == one(database, "SELECT count(*) FROM archetype_analysis_tracking")


def test_sahha_api_figures_come_from_the_events_in_a_fresh_process(scenario: tuple[str, SahhaStats]) -> None:
    """Another process than the one that asked Sahha: its figures equal the asking client's own counters."""
    url, client = scenario
    env = {**os.environ, "SAHHA_SYNC_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "sahha_sync.infrastructure.cli", "stats", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    api = json.loads(done.stdout)["sahha_api"]
    assert api["requests"] == client.requests > 0
    assert api["successes"] == client.successes > 0
    assert api["failed_requests"] == client.failed_requests
    assert api["retries"] == client.retries >= 2
    assert api["rate_limited"] == client.rate_limited == 1
    assert api["token_refreshes"] == client.token_refreshes > 0
    assert api["success_rate"] == pytest.approx(client.success_rate)
    assert api["client"] is None  # nothing of the asking process's memory


def test_the_prometheus_text_has_the_sahha_api_counters_from_the_events(
    cli: Cli, scenario: tuple[str, SahhaStats]
) -> None:
    code, out, err = cli("stats", "--format", "prometheus")
    assert code == 0, err
    assert "# TYPE sahha_sync_sahha_requests_total counter" in out
    assert samples(out)["sahha_sync_sahha_requests_total"] == scenario[1].requests
    assert samples(out)["sahha_sync_sahha_token_refreshes_total"] == scenario[1].token_refreshes
