"""``forget-user`` end to end: afterwards no table holds the user's id or any value only they had, on SQLite and
on Postgres; other users keep every row; ``replay`` brings nothing back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CliResult
from tests.e2e.operations_scenario import FORGOTTEN, KEPT, WEBHOOK_VALUE, all_rows, run_scenario, table_text

Cli = Callable[..., CliResult]
PER_USER_TABLES = {"biomarkers", "scores", "archetypes", "quarantined_records", "analysis_results"}
NOT_USER_DATA = {"id", "run_id", "reused_from", "archived_at", "updated_at", "created_at", "received_at"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    url = f"sqlite:///{tmp_path / 'ops.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    monkeypatch.chdir(tmp_path)
    await run_scenario(url)
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", url)
    capsys.readouterr()  # the scenario's log lines
    return url


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def values_only_of(url: str, user: str) -> set[str]:
    """The cell values of the user's rows (ids and timestamps of the rows themselves left out) that no other
    row of any table holds."""
    rows = all_rows(url)
    mine: set[str] = set()
    others: set[str] = set()
    for table, table_rows in rows.items():
        for row in table_rows:
            cells = {str(cell) for cell in row if cell is not None}
            (mine if _short(table) in PER_USER_TABLES and user in cells else others).update(cells)
    columns_skipped = {str(cell) for table, table_rows in rows.items() for row in table_rows for cell in row
                       if isinstance(cell, int | float)}  # fmt: skip
    return {value for value in mine - others - columns_skipped if len(value) >= 4}


def counts_of(url: str, user: str) -> dict[str, int]:
    return {
        table: sum(user in {str(cell) for cell in row} for row in rows)
        for table, rows in all_rows(url).items()
        if _short(table) in PER_USER_TABLES | {"archetype_analysis_tracking"}
    }


def forget(cli: Cli, user: str) -> dict[str, Any]:
    code, out, err = cli("forget-user", user, "--yes", "--json")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def test_no_table_holds_the_forgotten_user_or_their_values(cli: Cli, database_url: str) -> None:
    values = values_only_of(database_url, FORGOTTEN)
    assert WEBHOOK_VALUE in values
    assert len(values) > 50  # their biomarker values, sahha ids, analyses
    before = table_text(database_url)
    assert any(FORGOTTEN in text for name, text in before.items() if _short(name) == "sync_events")

    report = forget(cli, FORGOTTEN)
    assert report["runs"] == 2
    assert report["biomarkers"] > 0

    for name, text in table_text(database_url).items():
        assert FORGOTTEN not in text, name
    cells = {str(cell) for rows in all_rows(database_url).values() for row in rows for cell in row}
    assert values.isdisjoint(cells)


def test_other_users_keep_every_row(cli: Cli, database_url: str) -> None:
    kept = counts_of(database_url, KEPT)
    assert sum(kept.values()) > 10
    forget(cli, FORGOTTEN)
    assert counts_of(database_url, KEPT) == kept
    code, out, _ = cli("stats", "--json")
    assert code == 0
    assert {f["user_id"] for f in json.loads(out)["freshness"]} == {KEPT, "cat", "dan", "eve"}


def test_replay_brings_nothing_of_the_forgotten_user_back(cli: Cli, database_url: str) -> None:
    forget(cli, FORGOTTEN)
    code, out, err = cli("replay", "--json")
    assert code == 0, err
    assert json.loads(out) == {"runs_rebuilt": 4}  # ben, cat, dan, eve
    for name, text in table_text(database_url).items():
        assert FORGOTTEN not in text, name
    assert counts_of(database_url, FORGOTTEN) == dict.fromkeys(counts_of(database_url, FORGOTTEN), 0)
