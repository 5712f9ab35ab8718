"""Account tokens as the emulator issues them: JWT-shaped (header.payload.signature) with an ``exp`` claim."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime, timedelta


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class TokenIssuer:
    """Issues tokens for one client and checks them against the emulator's clock."""

    def __init__(self, lifetime: timedelta) -> None:
        self.lifetime = lifetime
        self._expiry: dict[str, datetime] = {}
        self.issued = 0

    def issue(self, subject: str, now: datetime) -> str:
        expires = now + self.lifetime
        payload = {"sub": subject, "iat": int(now.timestamp()), "exp": int(expires.timestamp())}
        token = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(payload)}.{secrets.token_urlsafe(24)}"
        self._expiry[token] = expires
        self.issued += 1
        return token

    def valid(self, token: str, now: datetime) -> bool:
        expires = self._expiry.get(token)
        return expires is not None and now < expires

    def revoke_all(self) -> None:
        self._expiry.clear()
