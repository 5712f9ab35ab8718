"""``sahha-sync demo`` end to end on the embedded defaults, in a fresh working directory."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from sahha_sync.infrastructure.demo import demo_settings, run_demo
from sahha_sync.infrastructure.settings import Settings

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture(autouse=True)
def embedded_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Nothing set (see conftest), in an empty folder: the demo must run on what it embeds."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_demo_shows_an_initial_then_an_incremental_window_per_user_all_synced(
    cli: Cli, embedded_defaults: Path
) -> None:
    code, out, _ = cli("demo", "--users", "2", "--days", "5", "--json")
    assert code == 0
    report = json.loads(out)
    runs = report["runs"]
    assert [(r["round"], r["user_id"]) for r in runs] == [
        ("initial", "user-0000"),
        ("initial", "user-0001"),
        ("incremental", "user-0000"),
        ("incremental", "user-0001"),
    ]
    for first, second in zip(runs[:2], runs[2:], strict=True):
        assert (first["is_incremental"], second["is_incremental"]) == (False, True)
        start, end = (datetime.fromisoformat(first["window"][k]) for k in ("start", "end"))
        assert (end - start).days == 5
        new_start, new_end = (datetime.fromisoformat(second["window"][k]) for k in ("start", "end"))
        assert new_end - end == (end - start) / 5  # the clock moved 24 h on
        assert new_start == end - (new_end - end) * 2  # watermark (the first window's end) minus 48 h
        assert first["items_fetched"]["total"] > second["items_fetched"]["total"] > 0
    assert {r["sync_status"] for r in runs} == {"synced"}
    assert {r["data_source"] for r in runs} == {"emulator"}  # the demo's Sahha is the emulator, and says so
    assert all(r["summary"] for r in runs)
    assert report["queue"]["completed"] == 4
    assert report["queue"]["dead"] == 0
    assert (embedded_defaults / "sahha_sync.db").exists()
    assert {r["fetch_failed"] for r in runs} == {False}


def test_the_demo_run_again_in_the_same_folder_answers_from_the_fresh_archive_and_succeeds(cli: Cli) -> None:
    assert cli("demo", "--users", "2", "--days", "5")[0] == 0
    code, out, err = cli("demo", "--users", "2", "--days", "5", "--json")
    assert (code, err) == (0, "")
    runs = json.loads(out)["runs"]
    from_archive = [r for r in runs if r["data_source"] == "archive"]
    assert from_archive, "the second demo's users were analysed moments ago: the archive is fresh"
    assert {(r["fetch_failed"], r["sync_status"]) for r in from_archive} == {(False, "not_requested")}


def test_the_demo_prints_windows_sync_status_and_queue_stats_as_tables(cli: Cli) -> None:
    code, out, err = cli("demo", "--users", "1")
    assert code == 0
    assert "round 1" in out
    assert "round 2, the clock moved 24 h on" in out
    assert "168 h" in out  # the initial window: 7 days
    assert "72 h" in out  # the incremental window: 24 h on, plus the 48 h lookback
    assert "synced" in out
    assert "queue stats" in out
    assert "completed" in out
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("demo", "--users", "0"), "--users"),
        (("demo", "--users", "many"), "--users"),
        (("demo", "--days", "-3"), "--days"),
        (("demo", "--bogus"), "--bogus"),
        (("no-such-command",), "no-such-command"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(cli: Cli, args: tuple[str, ...], named: str) -> None:
    code, out, err = cli(*args)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("sahha-sync: error: ")
    assert named in err


def test_a_bad_setting_exits_non_zero_with_one_line_naming_the_variable(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAHHA_SYNC_QUEUE", "redis")
    code, _, err = cli("demo")
    assert code == 2
    assert err.count("\n") == 1
    assert "SAHHA_SYNC_QUEUE" in err


def test_the_installed_console_script_runs_the_demo(embedded_defaults: Path) -> None:
    script = Path(sys.executable).with_name("sahha-sync")
    result = subprocess.run(
        [str(script), "demo", "--users", "1", "--json"],
        cwd=embedded_defaults,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [r["sync_status"] for r in report["runs"]] == ["synced", "synced"]
    assert report["queue"]["completed"] == 2


@pytest.mark.postgres
async def test_the_demo_runs_on_postgres_with_the_durable_queue(postgres_url: str) -> None:
    settings = demo_settings(Settings(database_url=postgres_url, queue="postgres"), days=3)
    report = await run_demo(settings, users=2)
    assert [r.sync_status for r in report.runs] == ["synced"] * 4
    assert [r.is_incremental for r in report.runs] == [False, False, True, True]
    assert report.queue["completed"] >= 4
    assert report.queue["dead"] == 0
