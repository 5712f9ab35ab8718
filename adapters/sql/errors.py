"""Translating SQLAlchemy and driver errors into the ports' errors, without leaking data or passwords.

``str()`` of a SQLAlchemy error holds the statement and its parameters (health values) and a driver's
connection error may hold the URL: messages here are built from the error's class and SQLSTATE only, and
any URL is shown without its password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc

from sahha_sync.domain.errors import SahhaSyncError

_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*:)(?P<secret>[^@\s]*)@")
_KEYWORD_PASSWORD = re.compile(r"(?P<head>password\s*=\s*)(?P<secret>'[^']*'|\S+)", re.IGNORECASE)

# SQLSTATE classes after which trying again may succeed: connection, transaction rollback (serialization,
# deadlock), insufficient resources, operator intervention (shutdown), lock not available.
_RETRYABLE_SQLSTATE_PREFIXES = ("08", "40", "53", "57", "55P03")


def redact(text: str) -> str:
    """``text`` with passwords in URLs and ``password=...`` pairs replaced by ``***``."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}***@", text)
    return _KEYWORD_PASSWORD.sub(lambda m: f"{m['head']}***", text)


@dataclass(frozen=True, slots=True)
class ErrorKinds:
    """The error classes of one port: the root, the retryable one, the integrity one."""

    base: type[SahhaSyncError]
    unavailable: type[SahhaSyncError]
    integrity: type[SahhaSyncError]


def sqlstate(error: BaseException) -> str | None:
    orig = getattr(error, "orig", None)
    for candidate in (orig, error):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True
    code = sqlstate(error)
    if code is not None:
        return code.startswith(_RETRYABLE_SQLSTATE_PREFIXES)
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
        return True
    return isinstance(error, OSError | ConnectionError)


# What stopped a connection, read from the driver's message (psycopg, sqlite3), in the words an operator needs.
_CONNECTION_PROBLEMS = (
    (r"connection refused", "connection refused (is the server running, on that host and port?)"),
    (r'database "[^"]*" does not exist', "database does not exist"),
    (r'role "[^"]*" does not exist', "authentication failed: no such user"),
    (
        r"password authentication failed|authentication failed|no password supplied|password is required",
        "authentication failed (check the user name and password)",
    ),
    (r"failed to resolve host|could not translate host name|name or service not known", "unknown host"),
    (r"timeout expired|timed out", "connection timed out"),
    (r"unable to open database file", "cannot open the SQLite file (does its folder exist, and is it writable?)"),
)


def connection_problem(error: BaseException) -> str:
    """Why a connection failed, in one short phrase (``connection refused``, ``database does not exist``,
    ``authentication failed ...``); otherwise the driver error's class and first line. Never a password."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    for exc in chain:
        for pattern, meaning in _CONNECTION_PROBLEMS:
            if re.search(pattern, str(exc), re.IGNORECASE):
                return meaning
    orig = chain[-1]
    detail = str(orig).splitlines()[0] if str(orig) else ""
    return f"{type(orig).__name__}" + (f": {redact(detail)[:200]}" if detail and "[SQL:" not in detail else "")


def describe(error: BaseException, operation: str) -> str:
    """A message naming the operation, the driver error's class and SQLSTATE; never parameters."""
    orig = getattr(error, "orig", None) or error
    parts = [f"{operation} failed: {type(orig).__name__}"]
    code = sqlstate(error)
    if code:
        parts.append(f"(SQLSTATE {code})")
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError):
        detail = str(orig).splitlines()[0] if str(orig) else ""
        if detail and "[SQL:" not in detail:
            parts.append(f"- {redact(detail)[:200]}")
    return " ".join(parts)


def translate(error: BaseException, kinds: ErrorKinds, operation: str) -> SahhaSyncError:
    """The port error for ``error`` (raise it ``from error``)."""
    if isinstance(error, SahhaSyncError):
        return error
    message = describe(error, operation)
    if is_retryable(error):
        return kinds.unavailable(message)
    if isinstance(error, sa_exc.IntegrityError):
        return kinds.integrity(message)
    return kinds.base(message)
