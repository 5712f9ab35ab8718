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
