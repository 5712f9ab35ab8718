"""Keeping secrets, tokens and health values out of the logs.

``redact_sensitive`` is a structlog processor: values under sensitive keys are replaced, and strings that look
like a JWT, a bearer token or a database URL with a password are masked wherever they appear. Every route the
library's logs take goes through it: ``sahha_sync.application.logs`` when nothing configured logging, and
``sahha_sync.infrastructure.configure_logging`` at an entrypoint.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

from structlog.typing import EventDict, WrappedLogger

REDACTED = "[redacted]"

SENSITIVE_KEYS = frozenset(
    {
        # health values
        "value",
        "value_numeric",
        "score",
        "factors",
        "biomarkers",
        "scores",
        "archetypes",
        "payload",
        "sahha_data",
        "raw",
        "body",
        "content",
        # secrets and tokens
        "authorization",
        "client_secret",
        "clientsecret",
        "secret",
        "token",
        "access_token",
        "refresh_token",
        "account_token",
        "profile_token",
        "api_key",
        "password",
        "webhook_secret",
        "openai_api_key",
        "sahha_client_secret",
        "x-signature",
        "signature",
        "cookie",
    }
)
_SENSITIVE_KEY = re.compile(r"secret|password|passwd|(token|api_?key|authorization|credentials?)$", re.I)

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer|account|basic)\s+[A-Za-z0-9._~+/=-]{16,}")
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)(?P<password>[^@/\s]+)(?P<at>@)", re.I)
_ASSIGNED_SECRET = re.compile(
    r"(?i)\b(?P<key>client_?secret|api_?key|password|access_?token|account_?token)(?P<sep>[\"']?\s*[=:]\s*[\"']?)"
    r"(?P<value>[^\s\"',;&]+)"
)


def is_sensitive_key(key: object) -> bool:
    name = str(key).lower()
    return name in SENSITIVE_KEYS or _SENSITIVE_KEY.search(name) is not None


def mask_text(text: str) -> str:
    """``text`` with JWTs, bearer tokens, URL passwords and ``key=secret`` pairs masked."""
    text = _JWT.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}***{m.group('at')}", text)
    return _ASSIGNED_SECRET.sub(lambda m: f"{m.group('key')}{m.group('sep')}{REDACTED}", text)


def redact(value: Any, *, depth: int = 0) -> Any:
    """A copy of ``value`` with sensitive keys replaced and sensitive-looking strings masked."""
    if depth > 8:
        return REDACTED
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: REDACTED if is_sensitive_key(k) else redact(v, depth=depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v, depth=depth + 1) for v in value]
    if isinstance(value, bytes | bytearray):
        return REDACTED
    return value


def redact_sensitive(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """The structlog processor: redacts every key of the event (the ``event`` text included)."""
    cleaned: MutableMapping[str, Any] = {}
    for key, value in event_dict.items():
        cleaned[key] = REDACTED if key != "event" and is_sensitive_key(key) else redact(value)
    return dict(cleaned)
