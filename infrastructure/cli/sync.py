"""``sahha-sync sync``: backfill many users through one runtime, so one Sahha client (and its rate limiter) serves
them all."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import typer

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.health_data_source import HealthDataSource
from sahha_sync.application.retry import Backoff, is_retryable
from sahha_sync.application.use_cases import ArchivalJob
from sahha_sync.domain.errors import InvalidInputError, SahhaSyncError
from sahha_sync.domain.events import RecordsArchived, stream_id_for
from sahha_sync.infrastructure.cli import _ops
from sahha_sync.infrastructure.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    fail,
    out,
    print_json,
    run_sync,
    state,
    warn,
)
from sahha_sync.infrastructure.container import resolve
from sahha_sync.infrastructure.runtime import SahhaSync
from sahha_sync.infrastructure.settings import Settings

HELP = (
    "Fetch and archive the data of many users, each incrementally from their watermark (minus the lookback); a "
    "user without one starts at --since (default: SAHHA_SYNC_INITIAL_DAYS ago). Each user gets one run of "
    "--type under the archetype --archetype (default 'backfill'), analysed by the offline analyst (no model "
    "calls); later runs of any archetype of that type continue from its watermark. One Sahha client serves every "
    "user, so its rate limit holds across them. The command waits until everything is archived. It always fetches "
    "(whatever SAHHA_SYNC_MAX_STALENESS says), so run it periodically as the reconcile that catches webhook "
    "deliveries that never came. A --since further back than 366 days is refused (exit 2): one run fetches at most "
    "that far. A user whose run fails for a passing reason (a database blip) is tried again, five "
    "times over about 20 s; users that still fail are listed and the command exits 1.\n\n"
    "--users FILE: one user id per line (blank lines and lines starting with # are skipped). --all: every user "
    "that has a run already or whose data webhooks delivered.\n\n"
    "Examples:\n\n"
    "  sahha-sync sync --users users.txt --since 2025-01-01\n\n"
    "  sahha-sync sync --all --concurrency 8\n\n"
    "  sahha-sync sync --users users.txt --json > sync.json"
)
ARCHIVAL_TIMEOUT = 3600.0
POLL_SECONDS = 0.5
ARCHIVED = RecordsArchived
MAX_DAYS_BACK = 366  # the longest window one run fetches (SAHHA_SYNC_INITIAL_DAYS)
# A user whose run failed for a reason that may pass (a database blip) is tried again: five
# tries over about 22 s, so a database away for ten seconds fails no user.
UNIT_TRIES = 5
UNIT_BACKOFF = Backoff(2.0, cap=8.0, jitter=False)
T = TypeVar("T")
log = get_logger(__name__)


def sync(
    ctx: typer.Context,
    users_file: str | None = typer.Option(None, "--users", help="File with one user id per line."),
    all_users: bool = typer.Option(False, "--all", help="Every user that has a run already."),
    since: str | None = typer.Option(None, "--since", help="Where users without a watermark start (YYYY-MM-DD)."),
    analysis_type: str = typer.Option("behavior", "--type", help="behavior or circadian."),
    archetype: str = typer.Option("backfill", "--archetype", help="Archetype the runs are recorded under."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=64, help="Users fetched at once."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON (no progress bar)."),
) -> None:
    if (users_file is None) == (not all_users):
        raise typer.BadParameter("give either --users FILE or --all", param_hint="--users/--all")
    start, kind = _ops.since(since), _ops.analysis_type(analysis_type)
    if start is not None and (days := _days_back(start)) > MAX_DAYS_BACK:
        fail(
            f"--since {since} is {days} days back; one sync fetches at most {MAX_DAYS_BACK} days "
            "(give a later --since)",
            EXIT_BAD_INPUT,
        )
    users = _read_users(Path(users_file)) if users_file is not None else None
    settings = _sync_settings(state(ctx).settings, start)
    summary = run_sync(_sync(settings, users, archetype, kind.value, concurrency, show=not as_json))
    if as_json:
        print_json(summary.to_dict())
    else:
        _render(summary, settings.source)
    if summary.no_data:
        shown = ", ".join(summary.no_data[:5]) + (", ..." if len(summary.no_data) > 5 else "")
        warn(f"{settings.source} has no data for {len(summary.no_data)} of {summary.users} users ({shown})")
    if summary.failed:
        fail(f"{len(summary.failed)} of {summary.users} users failed: {_kinds(summary.failed)}", EXIT_FAILED)


def _read_users(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path}: {type(exc).__name__}", EXIT_BAD_INPUT)
    users: list[str] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if text and not text.startswith("#"):
            users.append(_ops.user_id(text, where=f"{path.name} line {number}"))
    if not users:
        fail(f"{path} names no user", EXIT_BAD_INPUT)
    return list(dict.fromkeys(users))


def _sync_settings(settings: Settings, start: datetime | None) -> Settings:
    update: dict[str, Any] = {"analyst": "offline", "max_staleness": 0.0}  # a reconcile polls every user
    if start is not None:
        update["initial_days"] = max(_days_back(start), 1)  # never more than MAX_DAYS_BACK: sync refuses those
    return settings.model_copy(update=update)


def _days_back(start: datetime) -> int:
    return math.ceil((datetime.now(UTC) - start).total_seconds() / 86400)


async def _tried(call: Callable[[], Awaitable[T]]) -> T:
    """``await call()``, tried again (``UNIT_TRIES`` in all) after a retryable error (the Sahha client retries
    its own requests); the last error goes up."""
    for attempt in range(1, UNIT_TRIES):
        try:
            return await call()
        except SahhaSyncError as exc:
            if not is_retryable(exc):
                raise
            log.warning("sync.unit_retried", attempt=attempt, error_kind=type(exc).__name__)
        await asyncio.sleep(UNIT_BACKOFF.delay(attempt))
    return await call()


@dataclass
class SyncSummary:
    users: int = 0
    done: int = 0
    items_fetched: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    failed: dict[str, str] = field(default_factory=dict)
    no_data: list[str] = field(default_factory=list)
    sync_states: Counter[str] = field(default_factory=Counter)
    sahha_client: dict[str, Any] | None = None
    drained: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "succeeded": self.done - len(self.failed),
            "failed": dict(self.failed),
            "no_data": list(self.no_data),
            "items_fetched": self.items_fetched,
            "rows": {k: self.rows[k] for k in ("inserted", "updated", "unchanged")},
            "sync_states": dict(self.sync_states),
            "sahha_client": self.sahha_client,
            "drained": self.drained,
        }


async def _sync(
    settings: Settings, users: list[str] | None, archetype: str, analysis_type: str, concurrency: int, *, show: bool
) -> SyncSummary:
    async with SahhaSync(settings) as runtime:
        unit_of_work = await resolve(runtime.container.unit_of_work)
        if users is None:
            async with unit_of_work() as uow:
                known = [row.user_id for row in await uow.tracking.list_all()]
                known += [row.user_id for row in await uow.tracking.list_freshness()]  # webhook-only users too
                users = list(dict.fromkeys(known))
            if not users:
                raise InvalidInputError("--all found no user with a run yet; name them with --users FILE")
        summary = SyncSummary(users=len(users))
        runs: list[str] = []
        users_of: dict[str, str] = {}
        with _ops.progress(enabled=show) as bar:
            task = bar.add_task("sync", total=len(users), items=0, rows=0)
            gate = asyncio.Semaphore(concurrency)

            async def one(user: str) -> None:
                async with gate:
                    try:
                        outcome = await _tried(lambda: runtime.run_analysis(user, archetype, analysis_type))
                        runs.append(outcome.run_id)
                        users_of[outcome.run_id] = user
                        if outcome.source_failed:  # archived rows stood in: nothing was fetched
                            summary.failed[user] = "fetch failed"
                        elif outcome.snapshot.total_items == 0:
                            summary.no_data.append(user)
                        else:
                            summary.items_fetched += outcome.snapshot.total_items
                    except SahhaSyncError as exc:
                        summary.failed[user] = type(exc).__name__
                summary.done += 1
                bar.update(task, advance=1, items=summary.items_fetched)

            refresh = lambda: bar.update(task, rows=_rows(summary))  # noqa: E731
            finished = asyncio.Event()
            watcher = asyncio.create_task(_watch(unit_of_work, runs, summary, refresh, finished))
            try:
                await asyncio.gather(*(one(user) for user in users))
                summary.drained = await runtime.wait_for_archival(ARCHIVAL_TIMEOUT)
                for _ in range(UNIT_TRIES - 1):  # archivals that died (a database blip outlasts a job's attempts)
                    if not await _tried(lambda: _archive_again(runtime, unit_of_work, runs)):
                        break
                    summary.drained = await runtime.wait_for_archival(ARCHIVAL_TIMEOUT)
            finally:
                finished.set()  # never cancelled mid-query: a cancelled SQLite connect can hang the loop's close
                await watcher
            await _tried(lambda: _count_rows(unit_of_work, runs, summary))
            bar.update(task, rows=_rows(summary))
        await _tried(lambda: _judge_runs(unit_of_work, runs, users_of, summary))
        source: HealthDataSource = await resolve(runtime.container.source)
        client_stats = source.client_stats()
        summary.sahha_client = None if client_stats is None else dict(client_stats)
    return summary


async def _archive_again(runtime: SahhaSync, unit_of_work: Any, runs: list[str]) -> int:
    """Submit again the archival of this sync's runs whose archival did not succeed; returns how many."""
    async with unit_of_work() as uow:
        records = [record for run_id in runs if (record := await uow.tracking.get(run_id)) is not None]
    jobs = [
        ArchivalJob.for_run(record)
        for record in records
        if record.window is not None and record.status.state not in ("synced", "not_requested")
    ]
    queue = await runtime.job_queue()
    for job in jobs:
        await queue.submit_job(job.JOB_TYPE, job.to_payload(), dedup_key=job.dedup_key)
    if jobs:
        log.warning("sync.archival_resubmitted", runs=len(jobs))
    return len(jobs)


async def _judge_runs(unit_of_work: Any, runs: list[str], users_of: dict[str, str], summary: SyncSummary) -> None:
    """Each run's final state; a run that did not end well fails its user."""
    states: Counter[str] = Counter()
    async with unit_of_work() as uow:
        for run_id in runs:
            record = await uow.tracking.get(run_id)
            sync_state = record.status.state if record else "unknown"
            states[sync_state] += 1
            problems = _ops.run_problems("sahha", sync_state, record.status.sync_error if record else None)
            if problems and users_of[run_id] not in summary.failed:
                summary.failed[users_of[run_id]] = problems[0]
    summary.sync_states = states


def _rows(summary: SyncSummary) -> int:
    return summary.rows["inserted"] + summary.rows["updated"]


async def _count_rows(unit_of_work: Any, runs: list[str], summary: SyncSummary) -> None:
    rows: Counter[str] = Counter()
    async with unit_of_work() as uow:
        for run_id in list(runs):
            for recorded in await uow.events.read_stream(stream_id_for(run_id)):
                event = recorded.event
                if isinstance(event, ARCHIVED):
                    rows.update(inserted=event.inserted, updated=event.updated, unchanged=event.unchanged)
    summary.rows = rows


async def _watch(
    unit_of_work: Any, runs: list[str], summary: SyncSummary, refresh: Any, finished: asyncio.Event
) -> None:
    """Recount the rows archived by the runs so far, every half second until ``finished``, for the progress bar."""
    while not finished.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(finished.wait(), POLL_SECONDS)
            return
        with contextlib.suppress(SahhaSyncError):  # the progress bar skips a count the database could not give
            await _count_rows(unit_of_work, runs, summary)
        refresh()


def _kinds(failed: dict[str, str]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in Counter(failed.values()).most_common())


def _render(summary: SyncSummary, source: str) -> None:
    data = summary.to_dict()
    out.print(
        f"synced {data['succeeded']} of {summary.users} users: {summary.items_fetched} items fetched; rows "
        f"{summary.rows['inserted']} inserted, {summary.rows['updated']} updated, {summary.rows['unchanged']} "
        "unchanged" + ("" if summary.drained else " (archival still running)")
    )
    out.print("runs: " + ", ".join(f"{n} {s}" for s, n in sorted(summary.sync_states.items())))
    client = summary.sahha_client
    if client:
        out.print(
            f"{source}: {client['requests']} requests, {client['success_rate']:.1%} succeeded, {client['retries']} "
            f"retries, {client['rate_limited']} rate-limited (429), {client['token_refreshes']} token refreshes"
        )
    for user, kind in summary.failed.items():
        out.print(f"  failed: {user} ({kind})")
