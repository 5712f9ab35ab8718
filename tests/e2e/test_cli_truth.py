"""The command line tells the truth: a failed fetch or archival exits non-zero with an honest last line, the data
source is named as configured, a user without data is warned about and not counted as fresh, and database and
port problems read as one line that names the cause."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from dependency_injector import providers
from sqlalchemy import exc as sa_exc

from sahha_sync.adapters.sahha.emulator import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, SyntheticPopulation
from sahha_sync.application.use_cases import ArchiveHealthData
from sahha_sync.domain.errors import SahhaSyncError
from sahha_sync.infrastructure.cli import hoist_global_options
from sahha_sync.infrastructure.cli import stats as stats_command
from sahha_sync.infrastructure.container import Container
from sahha_sync.migrations import head
from tests.e2e.conftest import CliResult

Cli = Callable[..., CliResult]
ANALYZE = ("analyze", "--type", "behavior", "--archetype", "Peak Performer", "--user")


@pytest.fixture(autouse=True)
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("sahha-sync: error: ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def emulator_url() -> Iterator[str]:
    """``sahha-sync emulator`` in its own process on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("sahha-sync")), "emulator", "--port", str(port), "--users", "3"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                httpx.post(f"{url}/api/v1/oauth/account/token", json={"clientId": EMULATOR_CLIENT_ID})
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def refused_credentials(monkeypatch: pytest.MonkeyPatch, emulator_url: str) -> None:
    """Sahha (the emulator on loopback) refuses the client credentials."""
    monkeypatch.setenv("SAHHA_API_BASE_URL", emulator_url)
    monkeypatch.setenv("SAHHA_CLIENT_ID", EMULATOR_CLIENT_ID)
    monkeypatch.setenv("SAHHA_CLIENT_SECRET", EMULATOR_CLIENT_SECRET + "-wrong")
    monkeypatch.setenv("SAHHA_MAX_RETRIES", "0")
    monkeypatch.setenv("SAHHA_RATE_LIMIT_DELAY", "0")


@pytest.mark.usefixtures("refused_credentials")
def test_analyze_exits_1_when_sahha_refuses_the_credentials(cli: Cli) -> None:
    code, out, err = cli(*ANALYZE, "user-0001")
    assert code == 1
    assert "fetched 0 items from archive" in out
    line = one_error_line(err)
    assert "user-0001" in line
    assert "the fetch failed" in line
    assert "archival failed (SahhaAuthError)" in line
    assert EMULATOR_CLIENT_SECRET not in err


@pytest.mark.usefixtures("refused_credentials")
def test_sync_exits_1_and_counts_no_user_as_synced_when_every_fetch_failed(cli: Cli, here: Path) -> None:
    (here / "users.txt").write_text("user-0001\nuser-0002\n", encoding="utf-8")
    code, out, err = cli("sync", "--users", "users.txt")
    assert code == 1
    assert out.startswith("synced 0 of 2 users: 0 items fetched")
    assert one_error_line(err) == "sahha-sync: error: 2 of 2 users failed: 2 fetch failed"
    code, out, _ = cli("sync", "--users", "users.txt", "--json")
    assert code == 1
    summary = json.loads(out)
    assert (summary["succeeded"], sorted(summary["failed"])) == (0, ["user-0001", "user-0002"])


def test_a_failed_archival_alone_fails_sync(cli: Cli, here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(self: object, *args: object, **kwargs: object) -> None:
        raise SahhaSyncError("the archive is down")

    monkeypatch.setattr(ArchiveHealthData, "__call__", refuse)
    (here / "users.txt").write_text("user-0001\n", encoding="utf-8")
    code, out, err = cli("sync", "--users", "users.txt", "--json")
    summary = json.loads(out)
    assert code == 1, err
    assert summary["succeeded"] == 0
    assert summary["failed"]["user-0001"].startswith("archival")
    assert "1 of 1 users failed" in one_error_line(err)


@pytest.fixture
def only_named_users() -> Iterator[None]:
    """The emulator knows only its named users (by default any id has data): another id is an unknown profile."""
    Container.population.override(providers.Singleton(SyntheticPopulation, seed=0, any_profile=False))
    yield
    Container.population.reset_last_overriding()


@pytest.mark.usefixtures("only_named_users")
def test_a_user_without_data_is_warned_about_named_by_the_emulator_and_not_fresh(cli: Cli) -> None:
    code, out, err = cli(*ANALYZE, "made-up-user")
    assert code == 0, err
    assert "fetched 0 items from emulator" in out
    assert "sahha-sync: warning: emulator has no data for made-up-user" in err
    code, out, err = cli(*ANALYZE, "user-0001")
    assert (code, "from emulator" in out, err) == (0, True, "")
    code, out, _ = cli("stats", "--json")
    rows = {row["user_id"]: row for row in json.loads(out)["freshness"]}
    assert (rows["made-up-user"]["no_data"], rows["made-up-user"]["age_seconds"]) == (True, None)
    assert (rows["user-0001"]["no_data"], rows["user-0001"]["age_seconds"] is not None) == (False, True)
    code, out, _ = cli("stats")
    assert "no data" in out


def test_version_is_printed(cli: Cli) -> None:
    code, out, _ = cli("--version")
    assert code == 0
    assert out.startswith("sahha-sync ")
    assert out.split()[1][0].isdigit()


def test_log_level_is_accepted_before_or_after_the_command(cli: Cli) -> None:
    assert cli(*ANALYZE, "user-0001", "--log-level", "info")[0] == 0
    code, _, err = cli(*ANALYZE, "user-0002", "--log-level=info", "--json")
    assert code == 0
    assert "run_analysis.completed" in err
    code, _, err = cli("--log-level", "info", "stats")
    assert code == 0
    code, _, err = cli("stats", "--log-level", "loud")
    assert code == 2
    assert "loud" in one_error_line(err)
    assert hoist_global_options(["stats", "--traceback", "--json", "--", "--log-level"]) == [
        "--traceback",
        "stats",
        "--json",
        "--",
        "--log-level",
    ]


def test_an_unreachable_database_is_named_with_its_cause(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", "postgresql://ops:hunter2secret@127.0.0.1:1/sahha")
    code, _, err = cli("stats")
    line = one_error_line(err)
    assert code == 2
    assert "postgresql://ops:***@127.0.0.1:1/sahha: connection refused" in line
    assert "hunter2secret" not in err
    code, _, err = cli("db", "current")
    assert "connection refused" in one_error_line(err)


@pytest.mark.postgres
def test_a_missing_database_and_an_unknown_user_are_named(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, postgres_server: str
) -> None:
    base = postgres_server.rsplit("/", 1)[0]
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", f"{base}/no_such_database_here")
    assert one_error_line(cli("stats")[2]).endswith("no_such_database_here: database does not exist")
    host = base.split("@", 1)[1]
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", f"postgresql://no_such_role:pw@{host}/postgres")
    line = one_error_line(cli("stats")[2])
    assert "authentication failed" in line
    assert ":pw@" not in line


@pytest.mark.postgres
def test_a_postgres_scheme_url_is_accepted(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, new_postgres_database: str
) -> None:
    url = new_postgres_database.replace("postgresql://", "postgres://", 1)
    assert cli("db", "upgrade", "--url", url)[0] == 0
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", url)
    code, out, err = cli("db", "current")
    assert code == 0, err
    assert f"is at {head()}" in out
    assert cli("stats", "--json")[0] == 0


def test_db_sql_on_sqlite_says_why_in_one_line(cli: Cli) -> None:
    code, out, err = cli("db", "sql")
    assert (code, out) == (2, "")
    line = one_error_line(err)
    assert "SQLite" in line
    assert "--url postgresql://" in line
    code, out, _ = cli("db", "sql", "--url", "postgres://app@db.example/health")  # offline: nothing connects
    assert code == 0
    assert "CREATE TABLE biomarkers" in out


def test_db_downgrade_asks_before_dropping_data(cli: Cli, here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{here / 'ops.db'}"
    assert cli("db", "upgrade", "--url", url)[0] == 0
    code, _, err = cli("db", "downgrade", "base", "--url", url)  # no terminal: refused
    assert code == 2
    assert "--yes" in one_error_line(err)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    code, out, _ = cli("db", "downgrade", "base", "--url", url)
    assert code == 130
    assert "dropping the data" in out
    assert f"is at {head()}" in cli("db", "current", "--url", url)[1]
    assert cli("db", "downgrade", "base", "--url", url, "--yes")[0] == 0
    assert "no revision" in cli("db", "current", "--url", url)[1]


@pytest.mark.parametrize("command", [("webhook", "serve"), ("emulator",)], ids=["webhook serve", "emulator"])
def test_a_server_on_a_busy_port_exits_2_with_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    monkeypatch.setenv("SAHHA_SYNC_WEBHOOK_SECRET", "a-webhook-secret")
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        code, _, err = cli(*command, "--host", "127.0.0.1", "--port", str(port))
    assert code == 2
    assert one_error_line(err) == (
        f"sahha-sync: error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(another server is using it; pick one with --port)"
    )


@pytest.mark.parametrize(
    ("raised", "shown", "hidden"),
    [
        (
            sa_exc.DataError("INSERT INTO biomarkers ...", {"value": "71.5"}, ValueError('invalid input "71.5"')),
            "unexpected DataError: a database call failed: ValueError (run with --traceback for details)",
            "71.5",
        ),
        (KeyError("heart-rate-71.5"), "unexpected KeyError (run with --traceback for details)", "71.5"),
    ],
)
def test_an_unexpected_error_is_named_without_the_values_it_holds(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, raised: Exception, shown: str, hidden: str
) -> None:
    async def failing(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setattr(stats_command, "_collect", failing)
    code, _, err = cli("stats")
    assert code == 1
    assert one_error_line(err) == f"sahha-sync: error: {shown}"
    assert hidden not in err
