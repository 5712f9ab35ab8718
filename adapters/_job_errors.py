"""How every queue keeps the reason a job failed: the error's class, and its text only when it is one of the
library's own errors, whose messages promise no health value and no secret. Any other error (a driver's, say,
whose text can quote a statement's parameters) is named by its class alone, in the job's record and in logs."""

from __future__ import annotations

from sahha_sync.domain.errors import SahhaSyncError

MAX_ERROR_TEXT = 500


def describe(exc: BaseException) -> tuple[str, str]:
    """``(kind, text)`` of a job's failure: the class name, and the text of a library error (else empty)."""
    text = str(exc)[:MAX_ERROR_TEXT] if isinstance(exc, SahhaSyncError) else ""
    return type(exc).__name__, text
