"""What a signed body must be before anything of it is kept: a JSON object, not nested deeper than Sahha ever
nests, text that every database stores (no NUL, no lone surrogate), ids of a sane length, and the user named by
the signed bytes themselves.

Each failure is a ``Rejected`` with status 400, whose detail names the problem and never quotes the body.
"""

from __future__ import annotations

import json
from typing import Any

from sahha_sync.adapters.webhook._asgi import Rejected

MAX_DEPTH = 32  # Sahha's records nest 3 deep (a score's factors)
MAX_ID_LENGTH = 256
ID_FIELDS = ("externalId", "id", "profileId", "accountId")


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object whose text can be stored."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise Rejected(400, "too_deeply_nested", f"the body nests deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "invalid_json", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise Rejected(400, "not_an_object", "the body is not a JSON object")
    _check_shape(data)
    return data


def _check_shape(data: dict[str, Any]) -> None:
    """Walk ``data`` without recursion: its depth, and every string (keys too) a database can store."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise Rejected(400, "too_deeply_nested", f"the body nests deeper than {MAX_DEPTH} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _check_text(key)
                stack.append((item, depth + 1))


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise Rejected(400, "invalid_text", "the body holds a NUL character, which cannot be stored")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Rejected(400, "invalid_text", "the body holds a lone surrogate (\\ud800-\\udfff escape)") from None


def user_of(data: dict[str, Any], header_id: str | None) -> str:
    """The user the delivery belongs to: the signed body's ``externalId``, required. An ``X-External-Id`` header
    is not covered by the signature: it may only repeat the body's id, never name a user of its own."""
    for field in ID_FIELDS:
        value = data.get(field)
        if isinstance(value, str) and len(value) > MAX_ID_LENGTH:
            raise Rejected(400, "invalid_id", f"{field} is longer than {MAX_ID_LENGTH} characters")
    user_id = data.get("externalId")
    if user_id is None:
        raise Rejected(400, "missing_external_id", "the body names no externalId (the signed bytes must name the user)")
    if not isinstance(user_id, str) or not user_id.strip() or not user_id.isprintable():
        raise Rejected(400, "invalid_external_id", "externalId must be a non-empty string of printable characters")
    if header_id is not None and header_id != user_id.strip():
        raise Rejected(400, "external_id_mismatch", "X-External-Id names another user than the signed body")
    return user_id.strip()
