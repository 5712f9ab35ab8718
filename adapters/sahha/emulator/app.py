"""``SahhaEmulator``: an ASGI app that answers like Sahha's API (routes, status codes, error bodies)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime as http_date
from typing import Literal

from sahha_sync.adapters._asgi import lifespan
from sahha_sync.adapters.sahha.emulator import asgi
from sahha_sync.adapters.sahha.emulator.asgi import Request, Response
from sahha_sync.adapters.sahha.emulator.faults import Fault, FaultPlan, TokenBucket
from sahha_sync.adapters.sahha.emulator.population import Population, SyntheticPopulation
from sahha_sync.adapters.sahha.emulator.routes import ProfileRoutes
from sahha_sync.adapters.sahha.emulator.tokens import TokenIssuer
from sahha_sync.adapters.sahha.emulator.wire import EVENT_TYPES, error_json, webhook_json
from sahha_sync.domain import Archetype, Biomarker, FetchWindow, HealthRecords, Score

EMULATOR_CLIENT_ID = "sahha-sync-emulator"
EMULATOR_CLIENT_SECRET = "sahha-sync-emulator-secret"  # public and local-only, like the emulator itself

TOKEN_PATH = ("api", "v1", "oauth", "account", "token")


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request the emulator answered (``route`` is ``token``, ``biomarker``, ``score`` or ``archetypes``)."""

    method: str
    route: str
    external_id: str | None
    query: dict[str, list[str]]
    status: int
    started: float
    finished: float


@dataclass(frozen=True, slots=True)
class WebhookPush:
    """One webhook delivery Sahha would make: its ``X-Event-Type``, its body, when the version was created."""

    event_type: str
    body: bytes
    created_at: datetime
    record: Biomarker | Score | Archetype


class SahhaEmulator:
    """Sahha's account-token and profile routes over ``population``, with knobs for bad days.

    Knobs: ``latency`` (seconds per request), ``rate_limit`` (requests/s, a token bucket of ``burst``;
    excess answered 429 with ``Retry-After`` in ``retry_after_format``), ``token_lifetime``, injected
    failures on data routes (``faults``: a script of statuses, ``"timeout"``, ``"non-json"`` or ``"ok"``;
    then ``error_rate``/``timeout_rate``), ``malformed_rate`` (a bad record added to a response).
    """

    def __init__(
        self,
        population: Population | None = None,
        *,
        client_id: str = EMULATOR_CLIENT_ID,
        client_secret: str = EMULATOR_CLIENT_SECRET,
        latency: float = 0.0,
        rate_limit: float | None = None,
        burst: float | None = None,
        retry_after_format: Literal["seconds", "http-date"] = "seconds",
        token_lifetime: timedelta = timedelta(hours=24),
        report_expires_in: bool = True,
        faults: Iterable[Fault] = (),
        error_rate: float = 0.0,
        timeout_rate: float = 0.0,
        hang_seconds: float = 3600.0,
        malformed_rate: float = 0.0,
        seed: int = 0,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.population: Population = population if population is not None else SyntheticPopulation(seed)
        self.client_id = client_id
        self._secret = client_secret
        self.latency = latency
        self.retry_after_format = retry_after_format
        self.report_expires_in = report_expires_in
        self.hang_seconds = hang_seconds
        self.clock = clock or (lambda: datetime.now(UTC))
        self._monotonic = monotonic
        self.tokens = TokenIssuer(token_lifetime)
        self.faults = FaultPlan(script=faults, error_rate=error_rate, timeout_rate=timeout_rate, seed=seed)
        self.bucket = TokenBucket(rate_limit, burst or max(1.0, rate_limit), monotonic) if rate_limit else None
        self.routes = ProfileRoutes(self.population, malformed_rate=malformed_rate, rng=random.Random(f"bad:{seed}"))
        self.requests: deque[LoggedRequest] = deque(maxlen=100_000)
        self.counts: Counter[tuple[str, int]] = Counter()

    # -- views for tests and benchmarks -------------------------------------------------------------

    def ground_truth(
        self, profile_id: str, window: FetchWindow, as_of: datetime | None = None, *, include_archetypes: bool = True
    ) -> HealthRecords:
        """Everything the emulator holds for the user in the window and has made available by ``as_of``
        (default: the emulator's now), without malformed records: what a lossless fetch returns."""
        return self.population.records_for(
            profile_id, window, as_of=as_of or self.clock(), include_archetypes=include_archetypes
        )

    def webhook_stream(self, profile_id: str, since: datetime, until: datetime) -> list[WebhookPush]:
        """What Sahha's webhooks push for the user between ``since`` (excluded) and ``until``: one signed-ready
        body per version of a record that became available then, in that order, each with ``createdAtUtc`` and
        ``version`` (a running total revised three times is pushed three times, then its daily value)."""
        versions = getattr(self.population, "versions", None)
        if versions is None:
            return []
        reach = FetchWindow(since - timedelta(days=40), until)  # a monthly archetype ends long after it began
        return [
            WebhookPush(EVENT_TYPES[type(record)], json.dumps(webhook_json(record, at)).encode(), at, record)
            for record, at in versions(profile_id, reach)
            if since < at <= until
        ]

    def count(self, route: str | None = None, status: int | None = None) -> int:
        return sum(n for (r, s), n in self.counts.items() if route in (None, r) and status in (None, s))

    def revoke_tokens(self) -> None:
        """Make every issued token invalid (the next data request answers 401)."""
        self.tokens.revoke_all()

    # -- ASGI -----------------------------------------------------------------------------------------

    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        started = self._monotonic()
        request = await asgi.read_request(scope, receive)
        route, external_id = _route_of(request)
        response = await self._answer(request, route, external_id)
        self.counts[(route, response.status)] += 1
        self.requests.append(
            LoggedRequest(
                request.method, route, external_id, request.query, response.status, started, self._monotonic()
            )
        )
        await asgi.send_response(send, response)

    async def _answer(self, request: Request, route: str, external_id: str | None) -> Response:
        location = "/" + "/".join(request.segments[:4])
        if self.bucket is not None and (wait := self.bucket.take()) is not None:
            return Response.json(429, error_json(429, "Too Many Requests", location), self._retry_after(wait))
        if self.latency:
            await asyncio.sleep(self.latency)
        if route == "token":
            return self._token(request, location)
        if route == "unknown" or external_id is None:
            return Response.json(404, error_json(404, "Not Found", location))
        if request.method != "GET":
            return Response.json(405, error_json(405, "Method Not Allowed", location))
        if not self._authorised(request):
            return Response.json(401, error_json(401, "Unauthorized", location))
        fault = self.faults.next()
        if fault == "timeout":
            await asyncio.sleep(self.hang_seconds)
            return Response.json(504, error_json(504, "Gateway Timeout", location))
        if fault == "non-json":
            return Response(200, b"<html><body>upstream error</body></html>", {"content-type": "text/html"})
        if isinstance(fault, int):
            return Response.json(fault, error_json(fault, "Injected failure", location), self._retry_after(1.0))
        return await self.routes.answer(route, external_id, request, location, self.clock())

    def _token(self, request: Request, location: str) -> Response:
        if request.method != "POST":
            return Response.json(405, error_json(405, "Method Not Allowed", location))
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            body = None
        if (
            not isinstance(body, dict)
            or body.get("clientId") != self.client_id
            or body.get("clientSecret") != self._secret
        ):
            errors = {"clientId": ["The client credentials are invalid for this environment."]}
            return Response.json(400, error_json(400, "Invalid credentials", location, errors))
        token = self.tokens.issue(self.client_id, self.clock())
        payload: dict[str, object] = {"accountToken": token, "tokenType": "account"}
        if self.report_expires_in:
            payload["expiresIn"] = int(self.tokens.lifetime.total_seconds())
        return Response.json(200, payload)

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme == "account" and self.tokens.valid(token.strip(), self.clock())

    def _retry_after(self, seconds: float) -> dict[str, str]:
        whole = max(1, int(-(-seconds // 1)))
        if self.retry_after_format == "http-date":
            return {"retry-after": http_date((self.clock() + timedelta(seconds=whole)).astimezone(UTC), usegmt=True)}
        return {"retry-after": str(whole)}


def _route_of(request: Request) -> tuple[str, str | None]:
    s = request.segments
    if s == TOKEN_PATH:
        return "token", None
    if len(s) == 5 and s[:3] == ("api", "v1", "profile") and s[3] in ("biomarker", "score", "archetypes"):
        return s[3], s[4]
    return "unknown", None
