"""``sahha-sync analyze``: one analysis run for one user, answered at once, archived before the command ends.

``--json`` prints the outcome with the computed metrics (each with its value, unit, the days it rests on, or
why it is absent), the insights with the metric each cites, and the data-quality notes.
"""

from __future__ import annotations

from typing import Any

import typer

from sahha_sync.application.use_cases import AnalysisOutcome
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.schedule import WorkSchedule
from sahha_sync.infrastructure.cli import _ops
from sahha_sync.infrastructure.cli._common import EXIT_FAILED, fail, out, print_json, run_sync, state, warn
from sahha_sync.infrastructure.runtime import SahhaSync
from sahha_sync.infrastructure.settings import Settings

HELP = (
    "Fetch a user's data from Sahha (incrementally, from the watermark minus the lookback), analyse it and show "
    "the answer; the archival job runs in the background and the command waits for it before it ends.\n\n"
    "Examples:\n\n"
    "  sahha-sync analyze --user user-0001 --type behavior --archetype 'Peak Performer'\n\n"
    "  sahha-sync analyze --user user-0002 --type circadian --archetype 'Foundation Builder' --json\n\n"
    "  sahha-sync analyze --user user-0003 --type circadian --archetype 'Night Owl' --workdays mon,tue,wed"
)
ARCHIVAL_TIMEOUT = 300.0


def analyze(
    ctx: typer.Context,
    user: str = typer.Option(..., "--user", help="The host's user id (Sahha's external id)."),
    analysis_type: str = typer.Option(..., "--type", help="behavior or circadian."),
    archetype: str = typer.Option(..., "--archetype", help="The user's archetype, e.g. 'Peak Performer'."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome, with the computed metrics, as JSON."),
    workdays: str | None = typer.Option(
        None, "--workdays", help="The user's work days, e.g. mon,tue,wed (default: Monday to Friday)."
    ),
) -> None:
    user_id, kind = _ops.user_id(user), _ops.analysis_type(analysis_type)
    if not archetype.strip():
        raise typer.BadParameter("must not be empty", param_hint="--archetype")
    schedule = _work_schedule(workdays)
    report = run_sync(_analyze(state(ctx).settings, user_id, archetype.strip(), kind.value, schedule))
    if as_json:
        print_json(report)
    else:
        _render(report, user_id)
    _verdict(report, user_id)


def _render(report: dict[str, Any], user_id: str) -> None:
    out.print(f"[bold]{user_id}[/bold] · {report['analysis_type']} · {report['archetype']} · run {report['run_id']}")
    out.print(f"window {report['window']['start']} → {report['window']['end']} ({report['fetch']})")
    age = report["data_age_seconds"]
    if report["data_source"] == "archive" and not report["fetch_failed"]:
        source = f"answered from the archive, its data {age:.0f} s old (within SAHHA_SYNC_MAX_STALENESS)"
    else:
        source = f"fetched {report['items_fetched']} items from {report['data_source']}"
    out.print(f"{source}; analyst {report['analyst']}")
    out.print(report["summary"])
    for note in report["data_quality_notes"]:
        out.print(f"note: {note}")
    out.print(f"sync: {report['sync_status']}" + (f" ({report['sync_error']})" if report["sync_error"] else ""))


def _verdict(report: dict[str, Any], user_id: str) -> None:
    """A warning when the source had nothing for the user; exit 1 when the fetch or the archival failed."""
    if report["items_fetched"] == 0 and report["data_source"] != "archive":
        warn(f"{report['data_source']} has no data for {user_id} in this window: is the user id right?")
    problems = _ops.run_problems(
        report["data_source"], report["sync_status"], report["sync_error"], fetch_failed=report["fetch_failed"]
    )
    if problems:
        fail(f"{user_id}, run {report['run_id']}: " + "; ".join(problems), EXIT_FAILED)


def _work_schedule(workdays: str | None) -> WorkSchedule | None:
    if workdays is None:
        return None
    try:
        return WorkSchedule.of_days(day for day in workdays.split(",") if day.strip())
    except InvalidInputError as exc:
        raise typer.BadParameter(str(exc), param_hint="--workdays") from None


async def _analyze(
    settings: Settings, user_id: str, archetype: str, analysis_type: str, schedule: WorkSchedule | None
) -> dict[str, Any]:
    async with SahhaSync(settings) as sync:
        outcome = await sync.run_analysis(user_id, archetype, analysis_type, work_schedule=schedule)
        await sync.wait_for_archival(ARCHIVAL_TIMEOUT)
        record = await sync.tracking_record(outcome.run_id)
    status = record.status if record is not None else None
    report = _report(outcome, archetype, analysis_type)
    report["data_source"] = settings.data_source_name(outcome.data_source)
    report["sync_status"] = "unknown" if status is None else status.state
    report["sync_error"] = None if status is None else status.sync_error
    return report


def _report(outcome: AnalysisOutcome, archetype: str, analysis_type: str) -> dict[str, Any]:
    analysis = outcome.analysis
    return {
        "run_id": outcome.run_id,
        "archetype": archetype,
        "analysis_type": analysis_type,
        "window": {"start": outcome.window.start.isoformat(), "end": outcome.window.end.isoformat()},
        "fetch": "incremental" if outcome.is_incremental else "initial",
        "items_fetched": outcome.snapshot.total_items,
        "data_source": outcome.data_source,
        "fetch_failed": outcome.source_failed,
        "fresh_as_of": None if outcome.fresh_as_of is None else outcome.fresh_as_of.isoformat(),
        "data_age_seconds": None if outcome.data_age is None else round(outcome.data_age.total_seconds(), 1),
        "stale_as_of": None if outcome.stale_as_of is None else outcome.stale_as_of.isoformat(),
        "analyst": analysis.analyst,
        "summary": analysis.summary,
        "insights": [{"text": insight.text, "metric": insight.metric} for insight in analysis.insights],
        "dropped_insights": analysis.dropped_insights,
        "recommendations": list(analysis.recommendations),
        "data_quality_notes": list(analysis.data_quality_notes),
        "metrics": outcome.metrics,
    }
