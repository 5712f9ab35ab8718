"""The operations commands end to end on the embedded defaults (a SQLite file in a temporary folder, the
in-memory queue, the Sahha emulator, the offline analyst): each happy path, and bad input refused in one line."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import CliResult
from tests.prometheus_text import samples

Cli = Callable[..., CliResult]
COMMANDS = (
    ("analyze",),
    ("sync",),
    ("worker",),
    ("recover",),
    ("jobs", "list"),
    ("jobs", "retry-dead"),
    ("replay",),
    ("stats",),
    ("forget-user",),
    ("webhook", "serve"),
)


@pytest.fixture(autouse=True)
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ok_json(cli: Cli, *args: str) -> dict:  # type: ignore[type-arg]
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def assert_refused(result: CliResult, *fragments: str) -> None:
    code, out, err = result
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sahha-sync: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def table_count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_operations_command_has_help_with_examples(cli: Cli, command: tuple[str, ...]) -> None:
    code, out, _ = cli(*command, "--help")
    assert code == 0
    assert "Example" in out
    assert "sahha-sync " + command[0] in out


def test_analyze_answers_and_archives_before_it_ends(cli: Cli, here: Path) -> None:
    report = ok_json(cli, "analyze", "--user", "user-0001", "--type", "behavior", "--archetype", "Peak Performer")
    assert report["sync_status"] == "synced"
    assert report["items_fetched"] > 0
    assert report["analysis_type"] == "behavior_analysis"
    assert table_count(here / "sahha_sync.db", "biomarkers") > 0
    code, out, _ = cli("analyze", "--user", "user-0001", "--type", "circadian", "--archetype", "Peak Performer")
    assert code == 0
    assert "answered from the archive" in out  # the user's data is fresh within the bound: no fetch, no archival
    assert "sync: not_requested" in out


WITHIN_A_YEAR = (date.today() - timedelta(days=300)).isoformat()


def test_sync_backfills_the_users_of_a_file_then_all_known_users_incrementally(cli: Cli, here: Path) -> None:
    (here / "users.txt").write_text("# cohort A\nuser-0002\n\nuser-0003\nuser-0002\n", encoding="utf-8")
    first = ok_json(cli, "sync", "--users", "users.txt", "--since", WITHIN_A_YEAR)
    assert (first["users"], first["succeeded"], first["failed"]) == (2, 2, {})
    assert first["rows"]["inserted"] == table_count(here / "sahha_sync.db", "biomarkers") + table_count(
        here / "sahha_sync.db", "scores"
    ) + table_count(here / "sahha_sync.db", "archetypes")
    assert first["sahha_client"]["requests"] > 0
    again = ok_json(cli, "sync", "--all")
    assert again["users"] == 2
    assert again["rows"]["inserted"] == 0  # the lookback meets rows archived a moment ago
    assert again["rows"]["unchanged"] > 0
    assert again["sync_states"] == {"synced": 2}


def test_sync_shows_a_progress_bar_and_a_summary_for_people(cli: Cli, here: Path) -> None:
    (here / "users.txt").write_text("user-0004\n", encoding="utf-8")
    code, out, err = cli("sync", "--users", "users.txt")
    assert code == 0
    assert "synced 1 of 1 users" in out
    assert "rows archived" in err
    assert "users" in err


def test_replay_rebuilds_every_run_and_recover_finds_nothing_lost(cli: Cli) -> None:
    ok_json(cli, "analyze", "--user", "user-0005", "--type", "circadian", "--archetype", "Foundation Builder")
    assert ok_json(cli, "replay") == {"runs_rebuilt": 1}
    assert ok_json(cli, "recover") == {"resubmitted": 0, "revived_webhooks": 0, "queue": "memory", "drained": True}


def test_stats_comes_as_tables_json_and_prometheus(cli: Cli) -> None:
    ok_json(cli, "analyze", "--user", "user-0006", "--type", "behavior", "--archetype", "Peak Performer")
    code, out, _ = cli("stats")
    assert code == 0
    for title in ("runs", "Sahha API", "archival", "storage growth", "freshness", "user-0006"):
        assert title in out
    figures = ok_json(cli, "stats", "--since", "2020-01-01")
    assert figures["runs"]["requested"] == 1
    code, text, _ = cli("stats", "--format", "prometheus")
    assert code == 0
    assert "# TYPE sahha_sync_rows_total counter" in text
    assert samples(text)['sahha_sync_runs_by_sync_state{state="synced"}'] == 1
    assert "user-0006" not in text  # no user id as a label


def test_stats_writes_the_prometheus_textfile_whole(cli: Cli, here: Path) -> None:
    ok_json(cli, "analyze", "--user", "user-0006", "--type", "behavior", "--archetype", "Peak Performer")
    target = here / "metrics" / "sahha_sync.prom"
    target.parent.mkdir()
    code, out, err = cli("stats", "--format", "prometheus", "--output", str(target))
    assert (code, out) == (0, ""), err
    assert samples(target.read_text())['sahha_sync_runs_by_sync_state{state="synced"}'] == 1
    assert [p.name for p in target.parent.iterdir()] == ["sahha_sync.prom"]
    assert_refused(cli("stats", "--output", str(target)), "--output goes with --format prometheus")


def test_forget_user_erases_and_says_what_it_erased(cli: Cli, here: Path) -> None:
    ok_json(cli, "analyze", "--user", "user-0007", "--type", "behavior", "--archetype", "Peak Performer")
    report = ok_json(cli, "forget-user", "user-0007", "--yes")
    assert report["biomarkers"] > 0
    assert (report["tracking_rows"], report["analysis_results"], report["runs"]) == (1, 1, 1)
    assert table_count(here / "sahha_sync.db", "biomarkers") == 0


def test_the_existing_commands_still_work(cli: Cli) -> None:
    assert cli("db", "current")[0] == 0
    assert ok_json(cli, "demo", "--users", "1", "--days", "2")["runs"]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("analyze", "--user", "two words", "--type", "behavior", "--archetype", "A"), ("--user", "not a user id")),
        (("analyze", "--user", "u\x07", "--type", "behavior", "--archetype", "A"), ("not a user id",)),
        (("analyze", "--user", "u1", "--type", "nightly", "--archetype", "A"), ("--type",)),
        (("analyze", "--user", "u1", "--type", "behavior", "--archetype", " "), ("--archetype",)),
        (("sync",), ("--users FILE or --all",)),
        (("sync", "--users", "missing.txt"), ("cannot read missing.txt",)),
        (("sync", "--all"), ("no user with a run yet",)),
        (("sync", "--all", "--since", "2025-02-30"), ("--since", "not a date")),
        (("sync", "--all", "--since", "2999-01-01"), ("in the future",)),
        (("sync", "--all", "--since", "2020-01-01"), ("days back", "at most 366 days")),  # never clamped silently
        (("stats", "--since", "last week"), ("--since",)),
        (("stats", "--format", "xml"), ("--format",)),
        (("forget-user", "user-0001"), ("--yes",)),
        (("forget-user", ""), ("not a user id",)),
        (("worker",), ("SAHHA_SYNC_QUEUE=postgres",)),
        (("jobs", "list"), ("SAHHA_SYNC_QUEUE=postgres",)),
        (("jobs", "retry-dead"), ("SAHHA_SYNC_QUEUE=postgres",)),
        (("webhook", "serve"), ("SAHHA_SYNC_WEBHOOK_SECRET",)),
        (("recover", "--concurrency", "3"), ("--concurrency",)),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) and value and "sahha" not in value[0] else None,
)
def test_bad_input_is_refused_in_one_line(cli: Cli, args: tuple[str, ...], fragments: tuple[str, ...]) -> None:
    assert_refused(cli(*args), *fragments)


def test_a_user_file_with_a_bad_id_is_refused_naming_its_line(cli: Cli, here: Path) -> None:
    (here / "users.txt").write_text("user-0001\nbad user\n", encoding="utf-8")
    assert_refused(cli("sync", "--users", "users.txt"), "users.txt line 2")


def test_an_unreachable_database_is_named_without_its_password(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", "postgresql://ops:hunter2secret@127.0.0.1:1/sahha")
    for args in (("stats",), ("replay",), ("forget-user", "u1", "--yes"), ("analyze", "--user", "u1", "--type",
                 "behavior", "--archetype", "A")):  # fmt: skip
        code, _, err = cli(*args)
        assert code == 2
        assert "postgresql://ops:***@127.0.0.1:1/sahha" in err
        assert "hunter2secret" not in err
        assert len(err.strip().splitlines()) == 1
