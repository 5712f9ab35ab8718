"""HTTP to Sahha: the account token, the limiter, timeouts, retries, and errors turned into port errors."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from sahha_sync.adapters.sahha.limiter import RequestLimiter
from sahha_sync.adapters.sahha.problems import error_for, not_json
from sahha_sync.adapters.sahha.stats import Metrics
from sahha_sync.adapters.sahha.token import IssuedToken, TokenCache
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.health_data_source import SahhaResponseError, SahhaUnavailableError
from sahha_sync.application.retry import Backoff

logger = get_logger(__name__)

TOKEN_ENDPOINT = "/api/v1/oauth/account/token"
Params = Sequence[tuple[str, str]]


class _Transient(Exception):
    def __init__(self, kind: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.retry_after = retry_after


def format_query_datetime(moment: datetime) -> str:
    """ISO-8601 with the offset (``+`` is percent-encoded by httpx as ``%2B``), milliseconds unless finer."""
    return moment.isoformat(timespec="microseconds" if moment.microsecond % 1000 else "milliseconds")


def encode_segment(value: str) -> str:
    """``value`` as one path segment: every reserved character percent-encoded, ``.``/``..`` too."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if set(value) <= {"."} else encoded


class SahhaApi:
    """Calls Sahha with the account token; every failure leaves as a ``HealthDataSourceError``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        limiter: RequestLimiter,
        backoff: Backoff,
        max_retries: int,
        max_retry_after: float,
        timeout: float,
        metrics: Metrics,
        sleep: Callable[[float], Awaitable[None]],
        monotonic: Callable[[], float],
        wall_clock: Callable[[], float],
        rng: random.Random,
        token_max_age: float,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._credentials = {"clientId": client_id, "clientSecret": client_secret}
        self._limiter = limiter
        self._backoff, self._max_retries, self._max_retry_after = backoff, max_retries, max_retry_after
        self._timeout = timeout
        self._metrics = metrics
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._rng = rng
        self.tokens = TokenCache(self._issue_token, monotonic=monotonic, wall_clock=wall_clock, max_age=token_max_age)

    async def get_list(self, route: str, external_id: str, params: Params) -> list[Any]:
        """The JSON array ``GET /api/v1/profile/{route}/{external_id}`` answers (``[]`` for 204)."""
        endpoint = f"/api/v1/profile/{route}/{{externalId}}"
        url = f"{self._base_url}/api/v1/profile/{route}/{encode_segment(external_id)}"
        token = await self.tokens.get()
        response = await self._send(endpoint, "GET", url, params=params, token=token)
        if response.status_code == 401:
            self._metrics.failure("unauthorized")
            token = await self.tokens.renew_after_rejection(token)
            response = await self._send(endpoint, "GET", url, params=params, token=token)
        if response.status_code == 204 or (response.status_code == 200 and not response.content.strip()):
            return []
        if response.status_code != 200:
            raise self._final_error(response, endpoint)
        body = self._json(response, endpoint)
        if not isinstance(body, list):
            raise SahhaResponseError(
                f"Sahha answered {endpoint} with a JSON {type(body).__name__}, not an array",
                status_code=response.status_code,
                endpoint=endpoint,
            )
        return body

    async def _issue_token(self) -> IssuedToken:
        url = f"{self._base_url}{TOKEN_ENDPOINT}"
        response = await self._send(TOKEN_ENDPOINT, "POST", url, json_body=self._credentials)
        if response.status_code != 200:
            raise self._final_error(response, TOKEN_ENDPOINT, credentials=True)
        body = self._json(response, TOKEN_ENDPOINT)
        token = body.get("accountToken") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise SahhaResponseError(
                f"Sahha answered {TOKEN_ENDPOINT} without an accountToken", status_code=200, endpoint=TOKEN_ENDPOINT
            )
        expires_in = body.get("expiresIn")
        valid = isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0
        self._metrics.token_refresh()
        return IssuedToken(token, float(expires_in) if valid else None)

    def _final_error(self, response: httpx.Response, endpoint: str, *, credentials: bool = False) -> Exception:
        error = error_for(response.status_code, response.content, endpoint=endpoint, credentials=credentials)
        kind = {410: "account_removed"}.get(response.status_code, "auth" if credentials else "request")
        self._metrics.failure("auth" if response.status_code == 401 else kind)
        return error

    def _json(self, response: httpx.Response, endpoint: str) -> Any:
        try:
            return json.loads(response.content)
        except ValueError as exc:
            self._metrics.failure("response")
            raise not_json(endpoint, response.status_code) from exc

    async def _send(
        self,
        endpoint: str,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        json_body: dict[str, str] | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        """The first answer that is neither 429/5xx nor a network failure, retrying those with backoff."""
        headers = {"Authorization": f"account {token}"} if token is not None else {}
        retry = 0
        while True:
            try:
                return await self._attempt(method, url, params=params, json_body=json_body, headers=headers)
            except _Transient as transient:
                self._metrics.failure(transient.kind)
                if transient.kind == "rate_limited" and self._limiter.min_interval > 0:
                    spacing = self._limiter.slow_down()
                    logger.warning("sahha.rate_reduced", spacing_ms=round(spacing * 1000, 2))
                delay = self._delay_before_retry(endpoint, retry, transient)
                reason = str(transient)
            self._metrics.retry()
            retry += 1
            logger.warning(
                "sahha.retry_scheduled", endpoint=endpoint, attempt=retry, delay_s=round(delay, 3), reason=reason
            )
            if delay > 0:
                await self._sleep(delay)

    def _delay_before_retry(self, endpoint: str, retry: int, transient: _Transient) -> float:
        """The wait before retry ``retry + 1``, or the final error. A server's ``Retry-After`` is held on the
        limiter, so every caller of this client waits, not only this one; a longer one than
        ``max_retry_after`` is not waited for."""
        if retry >= self._max_retries:
            logger.error("sahha.retries_exhausted", endpoint=endpoint, attempts=retry + 1, reason=str(transient))
            raise SahhaUnavailableError(
                f"Sahha {endpoint} is unavailable after {retry + 1} attempts (last: {transient})"
            )
        delay = self._backoff.delay(retry + 1, retry_after=transient.retry_after, rng=self._rng)
        if transient.retry_after is None:
            return delay
        if delay > self._max_retry_after:
            raise SahhaUnavailableError(f"Sahha {endpoint} asked to wait {delay:.0f} s, longer than the client waits")
        self._limiter.hold(delay)
        return 0.0

    async def _attempt(
        self, method: str, url: str, *, params: Params | None, json_body: Any, headers: dict[str, str]
    ) -> httpx.Response:
        async with self._limiter.slot():
            self._metrics.request()
            try:
                async with asyncio.timeout(self._timeout):
                    response = await self._http.request(
                        method, url, params=tuple(params or ()), json=json_body, headers=headers, timeout=self._timeout
                    )
            except (TimeoutError, httpx.TimeoutException) as exc:
                raise _Transient("timeout", f"no answer within {self._timeout} s") from exc
            except httpx.TransportError as exc:
                raise _Transient("connection", f"connection failed ({type(exc).__name__})") from exc
            except httpx.HTTPError as exc:
                raise SahhaResponseError(f"the request to Sahha failed ({type(exc).__name__})") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            kind = "rate_limited" if status == 429 else "server_error"
            retry_after = self._retry_after(response) if status in (429, 503) else None
            raise _Transient(kind, f"status {status}", retry_after)
        if status < 400:
            self._metrics.success()
        return response

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("retry-after")
        if value is None:
            return None
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            return None
        return max(0.0, moment.timestamp() - self._wall_clock())
