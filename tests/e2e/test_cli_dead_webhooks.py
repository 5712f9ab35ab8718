"""``sahha-sync recover --dead-webhooks`` on the embedded defaults: a delivery the webhook inbox gave up on (its
jobs died every attempt) is given fresh attempts and archived."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sahha_sync.application.use_cases.recover_webhook_inbox import MAX_ATTEMPTS
from sahha_sync.infrastructure.settings import Settings
from tests.e2e.conftest import CliResult
from tests.integration.queue.test_inbox_dead_letters import attempts_held, entry_begun, migrated, restart
from tests.unit.webhook.deliveries import SECRET


def test_recover_with_dead_webhooks_archives_an_entry_given_up_on(
    cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'sync.db'}"
    settings = Settings.from_env(database_url=url, queue="memory", webhook_secret=SECRET)
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", url)
    monkeypatch.setenv("SAHHA_SYNC_WEBHOOK_SECRET", SECRET)
    asyncio.run(migrated(settings))
    asyncio.run(entry_begun(settings, MAX_ATTEMPTS))

    code, out, err = cli("recover", "--json")
    assert (code, json.loads(out)["revived_webhooks"]) == (0, 0), err
    assert asyncio.run(attempts_held(settings)) == [MAX_ATTEMPTS]  # without the flag it stays given up

    code, out, err = cli("recover", "--dead-webhooks", "--json")

    assert code == 0, err
    answer = json.loads(out)
    assert (answer["revived_webhooks"], answer["drained"]) == (1, True)
    assert asyncio.run(attempts_held(settings)) == []  # archived, and removed from the inbox
    assert asyncio.run(restart(settings)) == 1  # its biomarker is stored
