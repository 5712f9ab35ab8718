"""``sahha-sync stats``: the monitoring figures, for people, for machines, or for Prometheus."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

from sahha_sync.infrastructure.cli import _ops
from sahha_sync.infrastructure.cli._common import EXIT_BAD_INPUT, fail, out, print_json, run_sync, state
from sahha_sync.infrastructure.health import figures_of
from sahha_sync.infrastructure.settings import Settings
from sahha_sync.infrastructure.stats_format import to_prometheus, to_tables, write_textfile

HELP = (
    "Show the monitoring figures, read from the event store and the tracking rows (so they survive restarts and "
    "are the same on every server): runs; Sahha fetches and their failures; archival success rate, failures by "
    "reason and dead jobs; rows inserted per day by table, updated and left unchanged; freshness per user and "
    "analysis type, with runs still pending or failed; and, on the durable queue, the queue's figures. Sahha's "
    "API figures (requests, success rate, retries, 429s, token refreshes) are summed from the fetch events, "
    "each of which records what its own fetch cost. On a Postgres database with the real API, the account's "
    "shared rate budget adds the figures of every process together: requests per second and 429s over the last "
    "minute, a Retry-After pause in force, and the processes drawing from it.\n\n"
    "--since narrows the event figures to events from then on.\n\n"
    "Examples:\n\n"
    "  sahha-sync stats\n\n"
    "  sahha-sync stats --since 2025-10-01 --json\n\n"
    "  sahha-sync stats --format prometheus --output /var/lib/node_exporter/sahha_sync.prom\n\n"
    "--output writes a temporary file beside FILE and renames it over FILE, so node_exporter's textfile "
    "collector never reads half a file (a shell redirect is not atomic)."
)
FORMATS = ("table", "json", "prometheus")


def stats(
    ctx: typer.Context,
    since: str | None = typer.Option(None, "--since", help="Count events from this date on (YYYY-MM-DD)."),
    output: str = typer.Option("table", "--format", help="table, json or prometheus."),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    path: str | None = typer.Option(None, "--output", help="With --format prometheus: write FILE atomically."),
) -> None:
    if output not in FORMATS:
        fail(f"--format must be table, json or prometheus, not {output!r}", EXIT_BAD_INPUT)
    if path is not None and output != "prometheus":
        fail("--output goes with --format prometheus", EXIT_BAD_INPUT)
    figures = run_sync(_collect(state(ctx).settings, _ops.since(since)))
    if path is not None:
        try:
            write_textfile(figures, path)
        except OSError as exc:
            fail(f"cannot write {path}: {exc.strerror or type(exc).__name__}", EXIT_BAD_INPUT)
    elif as_json or output == "json":
        print_json(figures)
    elif output == "prometheus":
        print(to_prometheus(figures), end="")
    else:
        if not out.is_terminal:
            out.width = max(out.width, 120)
        out.print(to_tables(figures))


async def _collect(settings: Settings, since: datetime | None) -> dict[str, Any]:
    async with _ops.opened(settings) as container:
        if settings.queue != "postgres":
            return await (await figures_of(container, None))(since)
        async with _ops.submit_only_queue(container) as queue:
            return await (await figures_of(container, queue))(since)
