"""``sahha-sync replay``: rebuild the tracking projection from the event store."""

from __future__ import annotations

import typer

from sahha_sync.application.use_cases import RebuildProjections
from sahha_sync.infrastructure.cli import _ops
from sahha_sync.infrastructure.cli._common import out, print_json, run_sync, state
from sahha_sync.infrastructure.settings import Settings

HELP = (
    "Rebuild archetype_analysis_tracking (each run's window, watermark and sync status) from the event store, in "
    "one transaction: the rows come back as the live ones were. A forgotten user's runs hold only a tombstone "
    "and come back as nothing.\n\n"
    "Examples:\n\n"
    "  sahha-sync replay\n\n"
    "  sahha-sync replay --json"
)


def replay(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    runs = run_sync(_replay(state(ctx).settings))
    if as_json:
        print_json({"runs_rebuilt": runs})
    else:
        out.print(f"rebuilt the tracking rows of {runs} run(s) from the event store")


async def _replay(settings: Settings) -> int:
    async with _ops.opened(settings) as container:
        use_case: RebuildProjections = await _ops.use_case(container.rebuild_projections)
        return await use_case.rebuild()
