"""``sahha-sync db ...`` on a SQLite file, and ``sahha-sync emulator`` answering a real client on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sahha_sync.adapters.sahha.emulator import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET
from sahha_sync.infrastructure.cli import main
from sahha_sync.migrations import head


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    return (exited.value.code if isinstance(exited.value.code, int) else 1), captured.out, captured.err


def test_db_commands_walk_a_sqlite_database_up_and_down(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    assert _cli(capsys, "db", "current", "--url", url)[1].startswith(f"{url} is at no revision")
    assert _cli(capsys, "db", "upgrade", "--url", url) == (0, f"{url} is at {head()}\n", "")
    assert _cli(capsys, "db", "downgrade", "0003_event_store", "--url", url)[1] == f"{url} is at 0003_event_store\n"
    code, out, _ = _cli(capsys, "db", "sql", "--from", "0003_event_store", "--to", "0004_archive_extras", "--url", url)
    assert code == 0
    assert "CREATE TABLE archetypes" in out
    assert _cli(capsys, "db", "current", "--url", url)[1].startswith(f"{url} is at 0003_event_store")


def test_db_commands_on_bad_input_exit_with_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    code, _, err = _cli(capsys, "db", "upgrade", "no_such_revision", "--url", url)
    assert (code, err.count("\n")) == (2, 1)
    assert "no_such_revision" in err
    code, _, err = _cli(capsys, "db", "current", "--url", "postgresql://app:hunter2@127.0.0.1:1/none")
    assert (code, err.count("\n")) == (1, 1)
    assert "hunter2" not in err
    assert "postgresql://app:***@127.0.0.1:1/none" in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_emulator_command_serves_sahha_on_loopback() -> None:
    port = _free_port()
    script = Path(sys.executable).with_name("sahha-sync")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SAHHA_", "OPENAI_"))}
    process = subprocess.Popen(
        [str(script), "emulator", "--port", str(port), "--users", "3"],
        env=environment,
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
