"""Importing ``SahhaSync`` loads no package that only other settings need (the LLM client, the durable queue,
the servers, the command line, migrations), and a host on the embedded defaults loads none of the ones its
settings do not choose."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.e2e.conftest import run_clean

NOT_ON_IMPORT = ("openai", "procrastinate", "psycopg", "psycopg_pool", "uvicorn", "typer", "alembic")
NOT_ON_EMBEDDED_DEFAULTS = ("openai", "procrastinate", "psycopg", "psycopg_pool", "uvicorn", "typer")

HOST = """\
import asyncio
import json
import sys

from sahha_sync.infrastructure import SahhaSync, Settings

on_import = sorted({name.split(".")[0] for name in sys.modules})


async def main() -> None:
    async with SahhaSync(Settings(database_url="sqlite:///./sync.db")) as sync:
        await sync.run_analysis("user-0001", "Peak Performer", "behavior_analysis")
        await sync.wait_for_archival(60)


asyncio.run(main())
print(json.dumps({"on_import": on_import, "after_run": sorted({name.split(".")[0] for name in sys.modules})}))
"""


def test_importing_and_running_on_the_embedded_defaults_loads_only_what_they_need(tmp_path: Path) -> None:
    script = tmp_path / "host.py"
    script.write_text(HOST, encoding="utf-8")

    result = run_clean([sys.executable, str(script)], tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(NOT_ON_IMPORT).isdisjoint(loaded["on_import"])
    assert set(NOT_ON_EMBEDDED_DEFAULTS).isdisjoint(loaded["after_run"])
    assert "alembic" in loaded["after_run"]  # the SQLite file is migrated on first use
