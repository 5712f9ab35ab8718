"""On the in-memory queue, ``sahha-sync webhook serve`` killed (SIGKILL) right after 150 acknowledgements loses
none of them: each is archived or waits in the database's webhook inbox, and the next start archives the rest."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.integration.queue._durable import until
from tests.integration.webhook.serving import WebhookServer, deliver_until, free_port

TOTAL, ENOUGH = 400, 150
DRAIN_TIMEOUT = 60.0


def stored(db: Path) -> tuple[set[str], set[str]]:
    """The record types archived, and those still waiting in the inbox."""
    with sqlite3.connect(db) as conn:
        archived = {row[0] for row in conn.execute("SELECT type FROM biomarkers")}
        waiting = {row[0] for row in conn.execute("SELECT json_extract(payload, '$.key.type') FROM webhook_inbox")}
    return archived, waiting


async def test_a_killed_server_loses_no_acknowledged_delivery_and_the_next_start_archives_them(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hooks.db"
    settings = {"SAHHA_SYNC_DATABASE_URL": f"sqlite:///{db}", "SAHHA_SYNC_QUEUE": "memory"}
    port = free_port()
    server = WebhookServer(tmp_path / "serve.log", port, **settings)

    acknowledged = await deliver_until(port, TOTAL, ENOUGH, server.kill)

    archived, waiting = stored(db)
    assert acknowledged - (archived | waiting) == set()  # nothing acknowledged is lost
    assert len(acknowledged) >= ENOUGH

    restarted = WebhookServer(tmp_path / "serve.log", port, **settings)
    await until(lambda: not stored(db)[1], DRAIN_TIMEOUT)  # the inbox drained
    assert restarted.terminate() == 0

    archived, waiting = stored(db)
    assert waiting == set()
    assert acknowledged <= archived
