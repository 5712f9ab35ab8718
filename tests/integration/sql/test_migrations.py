"""The migrations walk up and down on Postgres and SQLite and build exactly the tables the adapters use."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.pool import NullPool

from sahha_sync import migrations
from sahha_sync.adapters.sql.engine import sync_url
from sahha_sync.adapters.sql.tables import LIBRARY_SCHEMA, metadata

KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
OWN_REVISIONS = ["0001_baseline", "0002_add_sahha_sync_tracking", "0003_event_store", "0004_archive_extras"]


def revisions_oldest_first() -> list[str]:
    script = ScriptDirectory.from_config(migrations.config("sqlite://"))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def expected_metadata(url: str) -> MetaData:
    """The adapters' tables with the library's in the schema they land in on ``url``'s database."""
    schema = None if url.startswith("sqlite") else LIBRARY_SCHEMA
    expected = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(expected, schema=schema if table.schema == LIBRARY_SCHEMA else table.schema)
    return expected


def own_tables(url: str) -> set[str]:
    engine = create_sync_engine(sync_url(url), poolclass=NullPool)
    schemas = [None] if url.startswith("sqlite") else [None, LIBRARY_SCHEMA]
    try:
        inspector = inspect(engine)
        found = {name for schema in schemas for name in inspector.get_table_names(schema=schema)}
        return found & {table.name for table in metadata.sorted_tables}
    finally:
        engine.dispose()


def test_the_package_ships_the_agreed_revisions_in_order() -> None:
    assert revisions_oldest_first()[: len(OWN_REVISIONS)] == OWN_REVISIONS
    assert migrations.head() == revisions_oldest_first()[-1]


@pytest.mark.parametrize("kind", KINDS)
def test_every_revision_goes_up_down_and_up_again(kind: str, database_factory: Callable[[str], str]) -> None:
    url = database_factory(kind)
    previous: str | None = None
    for revision in revisions_oldest_first():
        migrations.upgrade(url, revision)
        assert migrations.current(url) == revision
        migrations.downgrade(url, previous or "base")
        assert migrations.current(url) == previous
        migrations.upgrade(url, revision)
        previous = revision
    migrations.downgrade(url, "base")
    assert migrations.current(url) is None
    assert own_tables(url) == set()


@pytest.mark.parametrize("kind", KINDS)
def test_the_migrated_database_matches_the_adapter_tables(kind: str, database_factory: Callable[[str], str]) -> None:
    url = database_factory(kind)
    migrations.upgrade(url)
    expected = expected_metadata(url)
    names = {table.name for table in expected.sorted_tables}

    def include(name: str | None, type_: str, _parent: object) -> bool:
        if type_ == "schema":
            return name in (None, LIBRARY_SCHEMA)
        return type_ != "table" or name in names

    engine = create_sync_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_name": include, "include_schemas": True})
            differences = compare_metadata(context, expected)
    finally:
        engine.dispose()
    assert differences == []


@pytest.mark.parametrize("kind", KINDS)
def test_ensure_schema_migrates_a_new_database_once(kind: str, database_factory: Callable[[str], str]) -> None:
    url = database_factory(kind)
    assert migrations.ensure_schema(url) is True
    assert migrations.current(url) == migrations.head()
    assert migrations.ensure_schema(url) is False
