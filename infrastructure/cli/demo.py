"""``sahha-sync demo``: the whole pipeline on synthetic users, twice (initial, then incremental)."""

from __future__ import annotations

from datetime import datetime, timedelta

import typer
from rich.table import Table

from sahha_sync.infrastructure.cli import _ops
from sahha_sync.infrastructure.cli._common import fail, out, print_json, run_sync, state
from sahha_sync.infrastructure.demo import DemoReport, DemoRun, demo_settings, run_demo

HELP = (
    "Run analyses for a few synthetic users twice and show what happened.\n\n"
    "The first round fetches each user's initial window; then the clock moves forward and the second round "
    "fetches incrementally from the watermark (minus the lookback). The queue drains after each round, so every "
    "run's sync status is final. Data comes from the in-process Sahha emulator through the real Sahha client; "
    "the database, queue and analyst follow your settings (by default a SQLite file in this folder, the in-memory "
    "queue and the offline analyst).\n\n"
    "Examples:\n\n"
    "  sahha-sync demo\n\n"
    "  sahha-sync demo --users 5 --days 14\n\n"
    "  sahha-sync demo --json > demo.json"
)


def demo(
    ctx: typer.Context,
    users: int = typer.Option(3, "--users", min=1, max=20, help="How many synthetic users (1-20)."),
    days: int = typer.Option(7, "--days", min=1, max=90, help="Days of data the initial run fetches (1-90)."),
    advance_hours: int = typer.Option(
        24, "--advance-hours", min=1, max=24 * 30, help="How far the clock moves between the two rounds."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of tables."),
) -> None:
    settings = demo_settings(state(ctx).settings, days=days)
    report = run_sync(run_demo(settings, users=users, advance=timedelta(hours=advance_hours)))
    if as_json:
        print_json(report.to_dict())
    else:
        render(report)
    failed = [
        run
        for run in report.runs
        if _ops.run_problems(run.data_source, run.sync_status, run.sync_error, fetch_failed=run.fetch_failed)
    ]
    if failed or not report.drained:
        fail(
            f"{len(failed)} of {len(report.runs)} demo runs failed" + ("" if report.drained else ", queue not drained")
        )


def render(report: DemoReport) -> None:
    if not out.is_terminal:  # piped or captured: wide enough that rows stay on one line
        out.width = max(out.width, 120)
    out.print(f"[bold]sahha-sync demo[/bold] — database {report.database}")
    for number, round_name in enumerate(("initial", "incremental"), start=1):
        runs = [run for run in report.runs if run.round == round_name]
        out.print()
        out.print(
            _round_table(
                f"round {number}" + (f", the clock moved {report.advance_hours:g} h on" if number > 1 else ""), runs
            )
        )
        for run in runs:
            out.print(f"  [bold]{run.user_id}[/bold] ({run.archetype}, {run.analyst} analyst): {run.summary}")
    out.print()
    out.print(_queue_table(report))


def _round_table(title: str, runs: list[DemoRun]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("user", "analysis", "fetch", "window (UTC)", "fetched", "source", "sync"):
        table.add_column(column)
    for run in runs:
        table.add_row(
            run.user_id,
            run.analysis_type.removesuffix("_analysis"),
            "incremental" if run.is_incremental else "initial",
            _window(run),
            f"{run.items_fetched} ({run.biomarkers} b, {run.scores} s)",
            run.data_source,
            run.sync_status if run.sync_error is None else f"{run.sync_status}: {run.sync_error}",
        )
    return table


def _window(run: DemoRun) -> str:
    start, end = datetime.fromisoformat(run.window_start), datetime.fromisoformat(run.window_end)
    hours = (end - start).total_seconds() / 3600
    return f"{start:%m-%d %H:%M} → {end:%m-%d %H:%M}, {hours:.0f} h"


def _queue_table(report: DemoReport) -> Table:
    table = Table(title="queue stats" + ("" if report.drained else " (not drained in time)"), title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in report.queue.items():
        table.add_row(key, "-" if value is None else str(value))
    return table
