"""The database schema's history, as Alembic migrations shipped in the package.

``upgrade``/``downgrade``/``current``/``sql`` take any database URL the library accepts (the plain
``postgresql://`` string Supabase shows, or ``sqlite:///file.db``) and run with a blocking driver: call them
from a thread (``asyncio.to_thread``) inside an event loop. ``ensure_schema`` brings a database to the
newest revision when it is behind (the embedded SQLite default is migrated on first use).

On Postgres the library's own tables go into their own schema: ``schema`` where a function takes it, else
``SAHHA_SYNC_SCHEMA``, else ``sahha_sync`` (see ``0011_library_schema``).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from sahha_sync.adapters.sql.engine import DEFAULT_SCHEMA, postgres_connect_args, sync_url

HERE = Path(__file__).resolve().parent

__all__ = ["config", "configured_schema", "current", "downgrade", "ensure_schema", "head", "sql", "upgrade"]

SCHEMA_VARIABLE = "SAHHA_SYNC_SCHEMA"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def configured_schema(schema: str | None = None) -> str:
    """``schema``, else ``SAHHA_SYNC_SCHEMA``, else ``sahha_sync``: a plain lower-case SQL name."""
    name = schema or os.environ.get(SCHEMA_VARIABLE) or DEFAULT_SCHEMA
    if not _SCHEMA_NAME.fullmatch(name) or name.startswith("pg_"):
        raise ValueError(f"{SCHEMA_VARIABLE} must be a lower-case SQL name such as sahha_sync, not {name!r}")
    return name


def config(url: str | URL, *, output: io.StringIO | None = None, schema: str | None = None) -> Config:
    """An Alembic ``Config`` for ``url`` pointing at this package's migrations (no ini file needed)."""
    cfg = Config(output_buffer=output)
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["url"] = sync_url(url)
    cfg.attributes["schema"] = configured_schema(schema)
    return cfg


def upgrade(url: str | URL, revision: str = "head", *, schema: str | None = None) -> None:
    command.upgrade(config(url, schema=schema), revision)


def downgrade(url: str | URL, revision: str, *, schema: str | None = None) -> None:
    command.downgrade(config(url, schema=schema), revision)


def head() -> str:
    """The newest revision this package ships."""
    heads = ScriptDirectory.from_config(config("sqlite://")).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads, expected one")
    return heads[0]


def current(url: str | URL) -> str | None:
    """The revision the database is at, or None for a database the migrations never touched."""
    target = sync_url(url)
    engine = create_engine(target, poolclass=NullPool, connect_args=_connect_args(target))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def ensure_schema(url: str | URL, *, schema: str | None = None) -> bool:
    """Upgrade the database to the newest revision if it is behind; returns whether it upgraded."""
    if current(url) == head():
        return False
    upgrade(url, "head", schema=schema)
    return True


def sql(url: str | URL, start: str | None, end: str) -> str:
    """The SQL that takes a database of ``url``'s kind from ``start`` (None: empty) to ``end``.

    When ``end`` is older than ``start`` it is the downgrade's SQL. Nothing connects to the database.
    """
    output = io.StringIO()
    cfg = config(url, output=output)
    script = ScriptDirectory.from_config(cfg)
    if start is not None and _is_older(script, end, start):
        command.downgrade(cfg, f"{start}:{end}", sql=True)
    else:
        command.upgrade(cfg, f"{start}:{end}" if start else end, sql=True)
    return output.getvalue()


def _is_older(script: ScriptDirectory, revision: str, than: str) -> bool:
    """Whether ``revision`` comes before ``than`` in the history."""
    if revision == "base":
        return True
    target = script.get_revision(revision)
    later = script.get_revision(than)
    if target is None or later is None or target.revision == later.revision:
        return False
    return any(rev is not None and rev.revision == target.revision for rev in script.iterate_revisions(than, "base"))


def _connect_args(url: URL) -> dict[str, object]:
    return dict(postgres_connect_args(url)) if url.get_backend_name() == "postgresql" else {}
