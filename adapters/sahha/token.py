"""The account token: fetched once, shared by concurrent callers, kept until 23 h or its expiry says so."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sahha_sync.application.logs import get_logger

logger = get_logger(__name__)

DEFAULT_MAX_AGE = 23 * 3600.0  # the seed's figure: a 24 h token is renewed an hour early


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: float | None  # seconds, from the answer's ``expiresIn``


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim (Unix seconds) of a JWT, or None when the token is not a readable JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


class TokenCache:
    """Single flight: while one caller fetches a token, the others wait for that fetch instead of asking again."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[IssuedToken]],
        *,
        monotonic: Callable[[], float],
        wall_clock: Callable[[], float],
        max_age: float = DEFAULT_MAX_AGE,
    ) -> None:
        self._fetch = fetch
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._max_age = max_age
        self._renewal: asyncio.Future[str] | None = None
        self._token: str | None = None
        self._deadline = 0.0

    def _current(self) -> str | None:
        return self._token if self._token is not None and self._monotonic() < self._deadline else None

    async def get(self) -> str:
        if (token := self._current()) is not None:
            return token
        return await self._join_renewal()

    async def renew_after_rejection(self, rejected: str) -> str:
        """A new token after Sahha answered 401 to ``rejected`` (unless another caller already renewed it)."""
        if self._token is not None and self._token != rejected and (token := self._current()) is not None:
            return token
        if self._token == rejected:
            self._deadline = 0.0
        return await self._join_renewal()

    async def _join_renewal(self) -> str:
        """Start a renewal unless one is running, and wait for it; its failure reaches every waiter."""
        if self._renewal is None:
            renewal = asyncio.ensure_future(self._renew())
            renewal.add_done_callback(self._renewal_done)
            self._renewal = renewal
        # shield: one waiter giving up does not cancel the renewal the others wait for
        return await asyncio.shield(self._renewal)

    def _renewal_done(self, renewal: asyncio.Future[str]) -> None:
        if self._renewal is renewal:
            self._renewal = None
        if not renewal.cancelled():
            renewal.exception()  # retrieved here, so a renewal nobody waits for any more does not warn

    async def _renew(self) -> str:
        issued = await self._fetch()
        lifetime = self._lifetime(issued)
        self._token, self._deadline = issued.token, self._monotonic() + lifetime
        logger.info("sahha.token_refreshed", valid_for_s=round(lifetime))
        return issued.token

    def _lifetime(self, issued: IssuedToken) -> float:
        limits = [self._max_age]
        if issued.expires_in is not None:
            limits.append(issued.expires_in - _margin(issued.expires_in))
        exp = jwt_expiry(issued.token)
        if exp is not None:
            remaining = exp - self._wall_clock()
            limits.append(remaining - _margin(remaining))
        return max(0.0, min(limits))


def _margin(lifetime: float) -> float:
    """Renew a little before the end, so a token does not expire between the check and the request."""
    return min(60.0, max(0.0, lifetime) * 0.1)
