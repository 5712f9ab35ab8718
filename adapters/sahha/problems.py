"""Sahha's error body (``{title, statusCode, location, errors}``) and the port error each status becomes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sahha_sync.application.ports.health_data_source import (
    HealthDataSourceError,
    SahhaAccountRemovedError,
    SahhaAuthError,
    SahhaRequestError,
    SahhaResponseError,
)

_MAX_DETAIL = 300


@dataclass(frozen=True, slots=True)
class SahhaProblem:
    """What an error body said; every field may be missing (Sahha does not always send one)."""

    title: str | None = None
    status_code: int | None = None
    location: str | None = None
    errors: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def from_body(cls, body: bytes) -> SahhaProblem | None:
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        status = data.get("statusCode")
        return cls(
            title=_text(data.get("title")),
            status_code=status if isinstance(status, int) and not isinstance(status, bool) else None,
            location=_text(data.get("location")),
            errors=tuple(_origins(data.get("errors"))),
        )

    def describe(self) -> str:
        parts = [self.title or "no title"]
        parts += [f"{origin}: {' '.join(messages)}" for origin, messages in self.errors]
        return "; ".join(parts)[:_MAX_DETAIL]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _origins(errors: Any) -> list[tuple[str, tuple[str, ...]]]:
    if not isinstance(errors, list):
        return []
    found = []
    for item in errors:
        if isinstance(item, dict):
            messages = item.get("errors")
            texts = tuple(m for m in messages if isinstance(m, str)) if isinstance(messages, list) else ()
            found.append((str(item.get("origin") or "?"), texts))
    return found


def error_for(status: int, body: bytes, *, endpoint: str, credentials: bool = False) -> HealthDataSourceError:
    """The port error for a final (not retried) error status of ``endpoint``, with Sahha's reason attached."""
    problem = SahhaProblem.from_body(body)
    detail = problem.describe() if problem is not None else "no error body"
    error: HealthDataSourceError
    if status == 410:
        error = SahhaAccountRemovedError(f"Sahha answered 410 on {endpoint}: the account was removed ({detail})")
    elif credentials and status in (400, 401, 403):
        error = SahhaAuthError(f"Sahha refused the client credentials on {endpoint} ({status}: {detail})")
    elif status == 401:
        error = SahhaAuthError(f"Sahha refused the account token on {endpoint} twice ({detail})")
    elif 400 <= status < 500:
        error = SahhaRequestError(
            f"Sahha refused the request to {endpoint} ({status}: {detail})", status_code=status, endpoint=endpoint
        )
    else:
        error = SahhaResponseError(
            f"Sahha answered {endpoint} with unexpected status {status} ({detail})",
            status_code=status,
            endpoint=endpoint,
        )
    setattr(error, "problem", problem)  # noqa: B010 - the parsed body rides along for callers who want it
    return error


def not_json(endpoint: str, status: int) -> SahhaResponseError:
    return SahhaResponseError(
        f"Sahha answered {endpoint} with status {status} and a body that is not JSON",
        status_code=status,
        endpoint=endpoint,
    )
