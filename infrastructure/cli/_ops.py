"""What the operations commands share: checking their input, opening the container, the durable queue, and
a progress bar on stderr."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sahha_sync.application.ports.job_queue import JobQueue
from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.infrastructure.cli._common import EXIT_BAD_INPUT, fail
from sahha_sync.infrastructure.container import Container, build_container, resolve, shutdown
from sahha_sync.infrastructure.settings import Settings

MAX_USER_ID_LENGTH = 256
err = Console(stderr=True, highlight=False)


def user_id(value: str, *, where: str = "--user") -> str:
    """A user id as Sahha's external id: 1-256 printable characters, no whitespace or control characters."""
    if not value or len(value) > MAX_USER_ID_LENGTH or any(c.isspace() or not c.isprintable() for c in value):
        raise typer.BadParameter(
            f"not a user id (1-{MAX_USER_ID_LENGTH} printable characters without spaces): {value[:40]!r}",
            param_hint=where,
        )
    return value


def analysis_type(value: str) -> AnalysisType:
    try:
        return AnalysisType.parse(value)
    except InvalidInputError:
        raise typer.BadParameter(f"{value!r} is not behavior or circadian", param_hint="--type") from None


def since(value: str | None) -> datetime | None:
    """``YYYY-MM-DD`` or an ISO-8601 date-time (UTC when it names no offset); not in the future."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD or ISO-8601)", param_hint="--since") from None
    moment = moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)
    if moment > datetime.now(UTC):
        raise typer.BadParameter(f"{value} is in the future", param_hint="--since")
    return moment


def run_problems(
    data_source: str, sync_state: str, sync_error: str | None, *, fetch_failed: bool | None = None
) -> list[str]:
    """What went wrong in one run, in words; empty when its fetch and its archival both succeeded (or it needed no
    fetch). ``fetch_failed``, when known, says whether the archive stood in for a failed fetch; else ``archive``
    as the data source says so."""
    problems = []
    if data_source == "archive" if fetch_failed is None else fetch_failed:
        problems.append("the fetch failed and archived data stood in")
    if sync_state == "failed":
        problems.append(f"archival failed ({(sync_error or 'no reason recorded').split(':')[0]})")
    elif sync_state not in ("synced", "not_requested"):
        problems.append(f"archival {sync_state}")
    return problems


def require_durable_queue(settings: Settings, command: str) -> None:
    if settings.queue != "postgres":
        fail(
            f"{command} needs the durable queue: set SAHHA_SYNC_QUEUE=postgres with a postgresql:// "
            "SAHHA_SYNC_DATABASE_URL (the in-memory queue lives only inside one process)",
            EXIT_BAD_INPUT,
        )


def require_free_port(host: str, port: int) -> None:
    """Refuse, in one line, an address a server could not listen on (a port in use, a host not of this machine)."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
        hint = " (another server is using it; pick one with --port)" if exc.errno == errno.EADDRINUSE else ""
        fail(f"cannot listen on {host}:{port}: {reason}{hint}", EXIT_BAD_INPUT)


def require_webhook_secret(settings: Settings) -> None:
    if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
        fail("SAHHA_SYNC_WEBHOOK_SECRET is not set: refusing to accept unsigned webhooks", EXIT_BAD_INPUT)


@contextlib.asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Container]:
    """A container for ``settings`` whose resources are closed when the block ends."""
    container = build_container(settings)
    try:
        yield container
    finally:
        await shutdown(container)


@contextlib.asynccontextmanager
async def submit_only_queue(container: Container) -> AsyncIterator[JobQueue]:
    """The durable queue without a worker: for submitting, retrying and reading figures."""
    queue: JobQueue = container.durable_queue_factory(run_worker=False)
    try:
        yield queue
    finally:
        await queue.stop(drain=False)


async def use_case(provider: Any) -> Any:
    return await resolve(provider)


def progress(*, enabled: bool) -> Progress:
    """Users done of all, the counters in the description, elapsed time and ETA; on stderr, hidden for --json."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("users · {task.fields[items]} items fetched · {task.fields[rows]} rows archived"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        disable=not enabled,
        transient=False,
    )
