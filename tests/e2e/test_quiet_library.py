"""An embedding host that configures no logging gets nothing printed by the library; one that configures the
standard ``logging`` module sees the library's events there, redacted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import run_clean

HOST = """\
import asyncio
import logging
import sys

from sahha_sync.application.logs import get_logger
from sahha_sync.infrastructure import SahhaSync, Settings


async def main() -> None:
    async with SahhaSync(Settings(database_url="memory://")) as sync:
        await sync.run_analysis("user-0001", "Peak Performer", "behavior_analysis")
        await sync.run_analysis("nobody-at-all", "Peak Performer", "circadian_analysis")
        await sync.wait_for_archival(60)
    log = get_logger("sahha_sync.host_check")
    log.warning("host_check.warned", client_secret="s3cret-value-123")
    log.error("host_check.failed")


if sys.argv[1:] == ["configured"]:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
asyncio.run(main())
"""


def run_host(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "host.py"
    script.write_text(HOST, encoding="utf-8")
    return run_clean([sys.executable, str(script), *args], tmp_path)


def test_a_host_that_configures_no_logging_gets_nothing_on_stdout_or_stderr(tmp_path: Path) -> None:
    result = run_host(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == ""
    assert result.stderr == ""


def test_a_host_that_configures_logging_sees_the_librarys_events_redacted(tmp_path: Path) -> None:
    result = run_host(tmp_path, "configured")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == ""
    assert "INFO:sahha_sync.application.use_cases.run_analysis:event=run_analysis.started" in result.stderr
    assert "WARNING:sahha_sync.host_check:event=host_check.warned client_secret=[redacted]" in result.stderr
    assert "ERROR:sahha_sync.host_check:event=host_check.failed" in result.stderr
    assert "s3cret-value-123" not in result.stderr
