"""Helpers for the durable queue's tests: a queue tuned for tests, and a look at procrastinate's rows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from sahha_sync.adapters.queue import ProcrastinateJobQueue


def fast_queue(url: str, **options: Any) -> ProcrastinateJobQueue:
    """Short polls, heartbeats, backoff and shutdown, no jitter: tests stay within a few seconds."""
    settings: dict[str, Any] = {
        "concurrency": 2,
        "backoff_base": 0.01,
        "jitter": False,
        "poll_interval": 0.05,
        "heartbeat": 0.2,
        "stalled_after": 0.6,
        "shutdown_timeout": 2.0,
    }
    return ProcrastinateJobQueue(url, **{**settings, **options})


def rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def execute(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def jobs_table_text(url: str) -> str:
    """Everything procrastinate keeps about jobs, as one string (to look for data that must not be there)."""
    found = rows(url, "SELECT coalesce(string_agg(j::text, ' '), '') FROM procrastinate_jobs j")
    events = rows(url, "SELECT coalesce(string_agg(e::text, ' '), '') FROM procrastinate_events e")
    return f"{found[0][0]} {events[0][0]}"


async def until(condition: Callable[[], bool | Awaitable[bool]], timeout: float = 20.0) -> None:
    """Wait until ``condition()`` holds (checked every 20 ms); fail after ``timeout`` seconds."""
    for _ in range(int(timeout / 0.02)):
        outcome = condition()
        if outcome if isinstance(outcome, bool) else await outcome:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout} s")
