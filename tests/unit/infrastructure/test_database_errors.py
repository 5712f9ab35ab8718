"""A database that cannot be opened is explained in the operator's words, never with its password."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy import exc as sa_exc

from sahha_sync.adapters.sql.errors import connection_problem


def wrapped(message: str) -> sa_exc.OperationalError:
    """What SQLAlchemy raises around a psycopg connection error with ``message``."""
    return sa_exc.OperationalError(None, None, psycopg.OperationalError(message))


@pytest.mark.parametrize(
    ("message", "meaning"),
    [
        (
            'connection failed: connection to server at "10.0.0.5", port 5432 failed: Connection refused\n\tIs the '
            "server running on that host and accepting TCP/IP connections?",
            "connection refused (is the server running, on that host and port?)",
        ),
        ('connection failed: ... failed: FATAL:  database "health" does not exist', "database does not exist"),
        (
            'connection failed: ... failed: FATAL:  password authentication failed for user "app"',
            "authentication failed (check the user name and password)",
        ),
        ('connection failed: ... failed: FATAL:  role "app" does not exist', "authentication failed: no such user"),
        ("failed to resolve host 'db.example': [Errno -2] Name or service not known", "unknown host"),
        ("connection timeout expired", "connection timed out"),
    ],
)
def test_a_drivers_connection_error_is_named_by_its_cause(message: str, meaning: str) -> None:
    assert connection_problem(wrapped(message)) == meaning


def test_the_cause_is_found_through_an_exception_chain() -> None:
    outer = RuntimeError("migrations could not run")
    outer.__cause__ = wrapped('FATAL:  database "x" does not exist')
    assert connection_problem(outer) == "database does not exist"


def test_a_sqlite_file_that_cannot_be_opened_is_named_so() -> None:
    engine = create_engine("sqlite:////no/such/folder/x.db")
    with pytest.raises(sa_exc.OperationalError) as raised:
        engine.connect()
    assert connection_problem(raised.value).startswith("cannot open the SQLite file")


def test_an_unknown_problem_shows_the_drivers_first_line_without_a_password() -> None:
    problem = connection_problem(wrapped("SSL error: bad record for postgresql://app:hunter2@db/x\nmore"))
    assert problem == "OperationalError: SSL error: bad record for postgresql://app:***@db/x"
