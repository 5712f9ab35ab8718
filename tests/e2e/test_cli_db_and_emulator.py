"""``sahha-sync db ...`` on a SQLite file, and ``sahha-sync emulator`` answering a real client on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from sahha_sync.adapters.sahha.emulator import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET
from sahha_sync.migrations import head

Cli = Callable[..., tuple[int, str, str]]


def test_db_commands_walk_a_sqlite_database_up_and_down(cli: Cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    assert cli("db", "current", "--url", url)[1].startswith(f"{url} is at no revision")
    assert cli("db", "upgrade", "--url", url) == (0, f"{url} is at {head()}\n", "")
    assert cli("db", "downgrade", "0003_event_store", "--url", url, "--yes")[1] == f"{url} is at 0003_event_store\n"
    code, out, _ = cli("db", "sql", "--from", "0003_event_store", "--to", "0004_archive_extras", "--url", url)
    assert code == 0
    assert "CREATE TABLE archetypes" in out
    assert cli("db", "current", "--url", url)[1].startswith(f"{url} is at 0003_event_store")


def test_db_commands_on_bad_input_exit_with_one_line(cli: Cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    code, _, err = cli("db", "upgrade", "no_such_revision", "--url", url)
    assert (code, err.count("\n")) == (2, 1)
    assert "no_such_revision" in err
    code, _, err = cli("db", "current", "--url", "postgresql://app:hunter2@127.0.0.1:1/none")
    assert (code, err.count("\n")) == (1, 1)
    assert "hunter2" not in err
    assert "postgresql://app:***@127.0.0.1:1/none" in err


def test_db_policies_prints_its_sql_and_needs_postgres(cli: Cli, tmp_path: Path) -> None:
    mapping = "(SELECT p.id::text FROM app.profiles p WHERE p.auth_id = auth.uid())"
    code, out, err = cli("db", "policies", "--print", "--user-id", mapping, "--url", "postgresql://db.example/app")
    assert code == 0, err
    assert 'CREATE POLICY sahha_sync_own_rows ON "biomarkers" FOR SELECT TO authenticated' in out
    assert mapping in out
    assert 'GRANT SELECT ON "sahha_sync"."analysis_results" TO authenticated;' in out
    code, out, err = cli("db", "policies", "--url", f"sqlite:///{tmp_path / 'archive.db'}")
    assert code == 2
    assert err.strip().splitlines() == [
        "sahha-sync: error: row level security policies need Postgres (SQLite has no roles)"
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_emulator_command_serves_sahha_on_loopback() -> None:
    port = _free_port()
    script = Path(sys.executable).with_name("sahha-sync")
    process = subprocess.Popen(
        [str(script), "emulator", "--port", str(port), "--users", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        answer = None
        deadline = time.monotonic() + 30
        while answer is None and time.monotonic() < deadline:
            try:
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/api/v1/oauth/account/token",
                    json={"clientId": EMULATOR_CLIENT_ID, "clientSecret": EMULATOR_CLIENT_SECRET},
                )
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None, "the emulator did not start"
        assert answer.status_code == 200
        assert answer.json()["accountToken"]
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=30)
    assert f"SAHHA_API_BASE_URL=http://127.0.0.1:{port}" in out
