"""``sahha-sync forget-user``: erase a user (biomarkers, scores, archetypes, runs, analyses) in one transaction."""

from __future__ import annotations

import typer

from sahha_sync.application.use_cases import ErasureReport, ForgetUser
from sahha_sync.infrastructure.cli import _ops
from sahha_sync.infrastructure.cli._common import confirm, out, print_json, run_sync, state
from sahha_sync.infrastructure.settings import Settings

HELP = (
    "Erase everything sahha-sync holds about USER, in one transaction: biomarkers, scores, archetypes, "
    "quarantined records, tracking rows and stored analyses; each of the user's runs keeps one `user.forgotten` "
    "event that holds no user id and no health data, so `replay` brings nothing back and `stats` no longer "
    "counts the user. The user's queued, running and dead jobs and the deliveries held for them in the webhook inbox "
    "are deleted too, and the erasure is recorded: from then on the database skips any row written for the user, so "
    "a job still running, or one submitted later, writes nothing (see README, What it promises).\n\n"
    "Asks for confirmation on a terminal; --yes skips it (needed when not on a terminal).\n\n"
    "Examples:\n\n"
    "  sahha-sync forget-user user-0001\n\n"
    "  sahha-sync forget-user user-0001 --yes --json"
)


def forget_user(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="The user id to erase."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    user_id = _ops.user_id(user, where="USER")
    if not yes:
        confirm(
            f"Erase everything held about {user_id}?", refusal="forget-user erases data for good: pass --yes to confirm"
        )
    report = run_sync(_forget(state(ctx).settings, user_id))
    if as_json:
        print_json(report.as_dict())
        return
    counts = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in report.as_dict().items())
    out.print(f"forgot {user_id}: {counts}")


async def _forget(settings: Settings, user_id: str) -> ErasureReport:
    async with _ops.opened(settings) as container:
        use_case: ForgetUser = await _ops.use_case(container.forget_user)
        return await use_case.forget(user_id)
