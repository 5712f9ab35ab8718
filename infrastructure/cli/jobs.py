"""``sahha-sync jobs list|retry-dead``: the durable queue's figures and its dead letters."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from sahha_sync.infrastructure.cli import _ops
from sahha_sync.infrastructure.cli._common import out, print_json, run_sync, state
from sahha_sync.infrastructure.settings import Settings

jobs = typer.Typer(
    name="jobs",
    help="The durable queue's jobs (SAHHA_SYNC_QUEUE=postgres): figures, dead jobs, and retrying them.",
    no_args_is_help=True,
)


@jobs.command(
    "list",
    help="Show the queue's figures and the dead jobs (those that used up their attempts).\n\n"
    "Examples:\n\n  sahha-sync jobs list\n\n  sahha-sync jobs list --json",
)
def list_jobs(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    settings = state(ctx).settings
    _ops.require_durable_queue(settings, "jobs list")
    figures, dead = run_sync(_list(settings))
    if as_json:
        print_json({"queue": figures, "dead_jobs": dead})
        return
    out.print("queue: " + ", ".join(f"{k} {'-' if v is None else v}" for k, v in figures.items()))
    table = Table(title=f"dead jobs ({len(dead)})", title_justify="left")
    for column in ("job id", "type", "run", "attempts", "error"):
        table.add_column(column)
    for job in dead:
        table.add_row(job["job_id"], job["job_type"], job["run_id"] or "-", str(job["attempts"]), job["error"])
    out.print(table)


async def _list(settings: Settings) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with _ops.opened(settings) as container, _ops.submit_only_queue(container) as queue:
        figures = (await queue.get_stats()).as_dict()
        dead = await queue.dead_jobs()
    return figures, [
        {
            "job_id": job.job_id,
            "job_type": job.job_type,
            "run_id": job.payload.get("run_id"),
            "attempts": job.attempts,
            "error": f"{job.error_kind}: {job.error}" if job.error else job.error_kind,
        }
        for job in dead
    ]


JOB_IDS = typer.Argument(None, help="Ids of the dead jobs to retry (default: all).")


@jobs.command(
    "retry-dead",
    help="Queue dead jobs again with fresh attempts (all of them, or the JOB_IDs given); their health data was "
    "dropped when they died, so the workers fetch the run's window again.\n\n"
    "Examples:\n\n  sahha-sync jobs retry-dead\n\n  sahha-sync jobs retry-dead 41 42",
)
def retry_dead(
    ctx: typer.Context,
    job_ids: list[str] | None = JOB_IDS,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    settings = state(ctx).settings
    _ops.require_durable_queue(settings, "jobs retry-dead")
    retried = run_sync(_retry(settings, job_ids or None))
    if as_json:
        print_json({"retried": retried})
    else:
        out.print(f"queued {len(retried)} dead job(s) again" + (f": {', '.join(retried)}" if retried else ""))


async def _retry(settings: Settings, job_ids: list[str] | None) -> list[str]:
    async with _ops.opened(settings) as container, _ops.submit_only_queue(container) as queue:
        retried = await queue.retry_dead(job_ids)
    return retried
