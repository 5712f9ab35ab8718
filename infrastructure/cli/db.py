"""``sahha-sync db upgrade|downgrade|current|sql|policies``: the schema's migrations (``sahha_sync.migrations``).

They act on ``SAHHA_SYNC_DATABASE_URL`` unless ``--url`` is given (``postgres://`` is read as ``postgresql://``).
Errors name the database without its password, and what stopped the connection. ``downgrade`` drops tables, so
it asks first (``--yes`` skips the question, and is needed when not on a terminal).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import typer
from alembic.util.exc import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from sahha_sync import migrations
from sahha_sync.adapters.sql.errors import connection_problem
from sahha_sync.infrastructure.cli._common import EXIT_BAD_INPUT, confirm, fail, out, state
from sahha_sync.infrastructure.settings import MEMORY_DATABASE_URL, normalised_database_url
from sahha_sync.migrations import policies as rls

T = TypeVar("T")

db = typer.Typer(
    name="db",
    help="Migrate the database schema (Alembic revisions shipped in the package).",
    no_args_is_help=True,
)

URL_HELP = "Database URL (default: SAHHA_SYNC_DATABASE_URL)."


def _url(ctx: typer.Context, url: str | None) -> str:
    target = normalised_database_url(url) if url else state(ctx).settings.database_url
    if target == MEMORY_DATABASE_URL:
        fail("the in-memory stores (memory://) have no schema to migrate", EXIT_BAD_INPUT)
    try:
        make_url(target)
    except ArgumentError:
        fail("--url is not a database URL (expected e.g. sqlite:///./sahha_sync.db)", EXIT_BAD_INPUT)
    return target


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _guarded(url: str, action: Callable[[], T]) -> T:
    try:
        return action()
    except CommandError as exc:
        fail(f"{exc}", EXIT_BAD_INPUT)
    except SQLAlchemyError as exc:
        fail(f"database {_shown(url)}: {connection_problem(exc)}")


@db.command("upgrade", help="Upgrade to REVISION (default: the newest).\n\nExample: sahha-sync db upgrade")
def upgrade(
    ctx: typer.Context,
    revision: str = typer.Argument("head", help="Target revision, e.g. head or 0003_event_store."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    target = _url(ctx, url)
    _guarded(target, lambda: migrations.upgrade(target, revision, schema=state(ctx).settings.db_schema))
    out.print(f"{_shown(target)} is at {_guarded(target, lambda: migrations.current(target))}")


@db.command(
    "downgrade",
    help="Downgrade to REVISION (base: an empty schema). This drops the tables and columns of the newer "
    "revisions with their data, so it asks first on a terminal; --yes skips the question (needed when not on a "
    "terminal).\n\nExample: sahha-sync db downgrade 0003_event_store",
)
def downgrade(
    ctx: typer.Context,
    revision: str = typer.Argument(..., help="Target revision, e.g. 0003_event_store or base."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    target = _url(ctx, url)
    if not yes:
        at = _guarded(target, lambda: migrations.current(target))
        confirm(
            f"Downgrade {_shown(target)} from {at or 'an empty schema'} to {revision}, dropping the data of the "
            "newer revisions?",
            refusal="db downgrade drops tables and their data: pass --yes to confirm",
        )
    _guarded(target, lambda: migrations.downgrade(target, revision, schema=state(ctx).settings.db_schema))
    out.print(f"{_shown(target)} is at {_guarded(target, lambda: migrations.current(target))}")


@db.command("current", help="Show the revision the database is at.\n\nExample: sahha-sync db current")
def current(ctx: typer.Context, url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    target = _url(ctx, url)
    revision = _guarded(target, lambda: migrations.current(target))
    out.print(f"{_shown(target)} is at {revision or 'no revision (empty schema)'}; newest is {migrations.head()}")


@db.command(
    "sql",
    help="Print the SQL from START to END without touching the database.\n\n"
    "Example: sahha-sync db sql --from 0003_event_store --to head > upgrade.sql",
)
def sql(
    ctx: typer.Context,
    start: str | None = typer.Option(None, "--from", help="Starting revision (default: an empty database)."),
    end: str = typer.Option("head", "--to", help="Target revision."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    target = _url(ctx, url)
    try:
        script = migrations.sql(target, start, end)
    except CommandError as exc:
        if make_url(target).get_backend_name() == "sqlite" and "batch" in str(exc):
            fail(
                "db sql cannot print these revisions for SQLite: they alter tables, which SQLite does by copying "
                "them, and that needs the live database (`sahha-sync db upgrade` applies them); "
                "`--url postgresql://HOST/DB` prints Postgres's SQL without connecting",
                EXIT_BAD_INPUT,
            )
        fail(f"{exc}", EXIT_BAD_INPUT)
    print(script, end="")


@db.command(
    "policies",
    help="Let a signed-in app user (Supabase's authenticated role) read their own rows of the record tables, the "
    "runs and the analyses, through --user-id: a SQL expression giving the user id the archive uses for the "
    "request's auth.uid() (schema-qualified names). --print shows the SQL instead; --drop takes the policies "
    "back. Postgres only.\n\nExample: sahha-sync db policies --user-id "
    '"(SELECT p.id::text FROM public.profiles p WHERE p.auth_id = auth.uid())"',
)
def policies(
    ctx: typer.Context,
    user_id: str = typer.Option(rls.USER_ID_DEFAULT, "--user-id", help="The app user's id for auth.uid()."),
    drop: bool = typer.Option(False, "--drop", help="Remove the policies and their grants."),
    show: bool = typer.Option(False, "--print", help="Print the SQL without running it."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    target = _url(ctx, url)
    schema = state(ctx).settings.db_schema
    script = rls.drop_sql(schema) if drop else rls.apply_sql(schema, user_id)
    if show:
        print(script, end="")
        return
    try:
        _guarded(target, lambda: rls.run(target, script))
    except ValueError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    out.print(f"{_shown(target)}: row level security policies {'removed' if drop else 'applied'}")
