"""Database fixtures shared by every test that needs one.

Postgres: the server named by ``SAHHA_SYNC_TEST_POSTGRES_URL`` (default: the local server, user postgres).
Each test session creates its own database with a unique name, migrates it once and drops it at the end;
``postgres_url`` hands a test that database with every table emptied; ``new_postgres_database`` hands a
test a brand-new empty one (for migrations). Tests that use them must be marked ``postgres``. When the
server cannot be reached they are skipped on a developer machine, and fail when ``CI`` is set or
``--postgres=require`` is given. The summary line ``postgres tests: ...`` shows CI that they ran.

SQLite: ``sqlite_url`` is a migrated database file in the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync import migrations
from sahha_sync.adapters.sql.engine import create_engine

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TEST_DATABASE_PREFIX = "sahha_sync_test_"
_postgres_outcomes: Counter[str] = Counter()

# Properties check what code does, not how fast: on a loaded machine one example can take far longer than
# Hypothesis's 200 ms default deadline, which would fail a correct test.
settings.register_profile("sahha_sync", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("sahha_sync")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres",
        choices=("auto", "require"),
        default="auto",
        help="require: tests marked postgres fail (not skip) when the server is unreachable (implied by CI=1)",
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "postgres" not in report.keywords:
        return
    if report.when == "call" or report.outcome != "passed":
        _postgres_outcomes[report.outcome] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _postgres_outcomes:
        return
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(_postgres_outcomes.items()))
    server = make_url(postgres_server_url()).render_as_string(hide_password=True)
    terminalreporter.write_line(f"postgres tests: {counts} (server {server})")


def postgres_server_url() -> str:
    return os.environ.get("SAHHA_SYNC_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def libpq_url(url: str, database: str | None = None) -> str:
    """``url`` (maybe with a SQLAlchemy driver name) as a libpq conninfo URL, optionally for another database."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _admin(statement: sql.Composed) -> None:
    with psycopg.connect(libpq_url(postgres_server_url()), autocommit=True, connect_timeout=5) as conn:
        conn.execute(statement)


def create_database() -> str:
    """A new empty database on the test server; returns its URL."""
    name = f"{TEST_DATABASE_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:10]}"
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return libpq_url(postgres_server_url(), name)


def drop_database(url: str) -> None:
    name = make_url(url).database
    if not name or not name.startswith(TEST_DATABASE_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a database these fixtures created")
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> str:
    """The server URL, after checking it answers (fail or skip when it does not, see the module doc)."""
    url = postgres_server_url()
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        message = f"PostgreSQL at {shown} is unreachable: {type(exc).__name__}"
        if os.environ.get("CI") or request.config.getoption("--postgres") == "require":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def postgres_session_database(postgres_server: str) -> Iterator[str]:
    """One database for the whole session, migrated to the newest revision."""
    url = create_database()
    try:
        migrations.upgrade(url)
        yield url
    finally:
        drop_database(url)


def truncate_all(url: str) -> None:
    """Empty every table of ``public`` and of the library's schema but Alembic's version table."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname IN ('public', 'sahha_sync') "
            "AND tablename <> 'alembic_version'"
        ).fetchall()
        if rows:
            tables = sql.SQL(", ").join(sql.Identifier(row[0], row[1]) for row in rows)
            conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables))


@pytest.fixture
def postgres_url(postgres_session_database: str) -> str:
    """The session's migrated database with every table empty."""
    truncate_all(postgres_session_database)
    return postgres_session_database


@pytest.fixture
def new_postgres_database(postgres_server: str) -> Iterator[str]:
    """A brand-new, empty (unmigrated) database, dropped after the test."""
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "migrated.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """A SQLite file migrated to the newest revision, private to the test."""
    path = tmp_path / "sahha_sync.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def new_sqlite_url(tmp_path: Path) -> str:
    """A SQLite file that does not exist yet (for migrations)."""
    return f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def postgres_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_url)
    yield engine
    await engine.dispose()


SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=SQL_BACKENDS)
def sql_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database of each kind: SQLite, then Postgres (marked ``postgres``)."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def sql_engine(sql_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on ``sql_url``, disposed after the test."""
    engine = create_engine(sql_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def database_factory(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``factory("sqlite" | "postgres")`` → the URL of a new, empty, unmigrated database of that kind."""

    def make(kind: str) -> str:
        fixture = "new_sqlite_url" if kind == "sqlite" else "new_postgres_database"
        url: str = request.getfixturevalue(fixture)
        return url

    return make
