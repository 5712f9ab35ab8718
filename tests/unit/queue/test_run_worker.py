"""``run_worker`` moves what start-up left in memory out of the collector's sight when asked (the worker process)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Mapping
from typing import Any

import pytest

from sahha_sync.adapters.memory import InMemoryJobQueue
from sahha_sync.adapters.queue import run_worker
from sahha_sync.application.ports import JobContext


async def noop(payload: Mapping[str, Any], context: JobContext) -> None:
    return None


@pytest.mark.parametrize("freeze", [True, False])
async def test_start_up_objects_are_frozen_after_start_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, freeze: bool
) -> None:
    steps: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: steps.append("freeze"))
    stop = asyncio.Event()

    async def started() -> None:
        steps.append("on_start")
        stop.set()

    await run_worker(
        InMemoryJobQueue(), {"NOOP": noop}, on_start=started, stop=stop, stop_signals=(), freeze_start_up_objects=freeze
    )
    assert steps == (["on_start", "freeze"] if freeze else ["on_start"])
