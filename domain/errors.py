"""The root of every error sahha-sync raises, and the error for bad input.

Each port's errors live beside the port (``sahha_sync.application.ports``) and subclass ``SahhaSyncError``,
so a host can catch everything the library raises with one ``except``. Messages name what was wrong and
with which key or field, never a secret or a health value.
"""

from __future__ import annotations

from typing import ClassVar


class SahhaSyncError(Exception):
    """Root of the library's errors. ``retryable`` says whether trying again later may succeed."""

    retryable: ClassVar[bool] = False


class InvalidInputError(SahhaSyncError, ValueError):
    """An argument or record was malformed; ``field`` names the offending field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
