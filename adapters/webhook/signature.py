"""Webhook signatures: HMAC-SHA256 of the raw body, keyed with the webhook secret (UTF-8).

Sahha sends the digest as lower-case hex in ``X-Signature`` (its own example); third-party code also met a
base64 digest and the header ``X-Sahha-Signature``. All of these are accepted; every comparison runs in
constant time (``hmac.compare_digest``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from typing import Protocol

from sahha_sync.domain.errors import InvalidInputError

SIGNATURE_HEADERS = (b"x-signature", b"x-sahha-signature")
_PREFIX = b"sha256="


class MissingWebhookSecretError(InvalidInputError):
    """The receiver was built without a webhook secret: it would have to trust any sender."""


class SecretLike(Protocol):
    """Anything holding a secret behind ``get_secret_value()`` (pydantic's ``SecretStr``)."""

    def get_secret_value(self) -> str: ...


def secret_bytes(secret: str | SecretLike | None) -> bytes:
    """The key for the HMAC; ``MissingWebhookSecretError`` when there is no secret."""
    value = secret.get_secret_value() if secret is not None and hasattr(secret, "get_secret_value") else secret
    if not isinstance(value, str) or not value.strip():
        raise MissingWebhookSecretError(
            "webhooks need the secret Sahha's dashboard shows: set SAHHA_SYNC_WEBHOOK_SECRET "
            "(deliveries are refused without it)",
            field="secret",
        )
    return value.encode("utf-8")


def digest(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()


def sign(secret: str, body: bytes) -> str:
    """The ``X-Signature`` value Sahha sends for ``body``: the lower-case hex HMAC-SHA256."""
    return digest(secret.encode("utf-8"), body).hex()


def sign_base64(secret: str, body: bytes) -> str:
    """The base64 form of the same digest (a variant some senders use)."""
    return base64.b64encode(digest(secret.encode("utf-8"), body)).decode("ascii")


def signature_matches(secret: bytes, body: bytes, candidates: Iterable[bytes]) -> bool:
    """Whether any of the signature header values is the body's digest, as hex (any case) or base64."""
    expected = digest(secret, body)
    hex_form = expected.hex().encode("ascii")
    b64_form = base64.b64encode(expected)
    matched = False
    for candidate in candidates:
        value = candidate.strip()
        if value[: len(_PREFIX)].lower() == _PREFIX:
            value = value[len(_PREFIX) :]
        # Both forms are compared every time, so the time taken does not say which form was close.
        hex_ok = hmac.compare_digest(value.lower(), hex_form)
        b64_ok = hmac.compare_digest(value, b64_form)
        matched = matched or hex_ok or b64_ok
    return matched
