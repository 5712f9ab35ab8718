"""``SahhaHealthDataSource``: the ``HealthDataSource`` port over Sahha's REST API."""

from __future__ import annotations

import asyncio
import copy
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from sahha_sync.adapters.sahha.api import SahhaApi, format_query_datetime
from sahha_sync.adapters.sahha.cache import FetchCache
from sahha_sync.adapters.sahha.catalog import BIOMARKER_CATEGORIES, SCORE_TYPES, is_listed
from sahha_sync.adapters.sahha.dto import parse_records
from sahha_sync.adapters.sahha.limiter import RequestLimiter
from sahha_sync.adapters.sahha.stats import Metrics, SahhaStats, counting_call
from sahha_sync.adapters.sahha.token import DEFAULT_MAX_AGE
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.health_data_source import HealthDataSource, HealthDataSourceError, SahhaRequestError
from sahha_sync.application.ports.rate_budget import RateBudget
from sahha_sync.application.retry import Backoff
from sahha_sync.domain import FetchMetrics, FetchWindow, HealthRecords, QuarantinedRecord, dedupe_by_key
from sahha_sync.domain.health import SCORE_SPAN
from sahha_sync.domain.windows import MAX_CHUNK

logger = get_logger(__name__)

DEFAULT_BASE_URL = "https://api.sahha.ai"


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


class SahhaHealthDataSource(HealthDataSource):
    """Biomarkers and scores (and Sahha's archetypes when asked) of one user, fetched in parallel.

    ``rate_limit_delay`` spaces request starts (0 = off): the n-th request of this client never starts
    before ``n * rate_limit_delay`` after the first, and no two start less than half of it apart;
    ``max_concurrency`` caps requests in flight. Both are shared by every call of this client. A 429
    widens the spacing by 10 % (the server's limit is tighter than configured) and its ``Retry-After``
    pauses every request of the client. With a ``rate_budget`` (the account's, shared by every process), the
    spacing holds for all its processes together and a ``Retry-After`` pauses all of them.
    ``cache_ttl`` (seconds, 0 = off) keeps a fetch's result for identical fetches. ``sleep``,
    ``monotonic``, ``wall_clock``, ``now`` and ``rng`` are injectable so tests never wait real seconds.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        client_id: str,
        client_secret: str | _Secret,
        base_url: str = DEFAULT_BASE_URL,
        rate_limit_delay: float = 0.5,
        max_retries: int = 3,
        request_timeout: float = 30.0,
        max_concurrency: int = 8,
        cache_ttl: float = 60.0,
        categories: Sequence[str] = BIOMARKER_CATEGORIES,
        biomarker_types: Sequence[str] = (),
        score_types: Sequence[str] = SCORE_TYPES,
        archetype_names: Sequence[str] = (),
        archetype_periodicity: str | None = None,
        chunk: timedelta = MAX_CHUNK,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_retry_after: float = 120.0,
        token_max_age: float = DEFAULT_MAX_AGE,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        now: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
        rate_budget: RateBudget | None = None,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret are required")
        if request_timeout <= 0 or max_retries < 0 or cache_ttl < 0:
            raise ValueError("request_timeout must be positive; max_retries and cache_ttl must not be negative")
        secret = client_secret if isinstance(client_secret, str) else client_secret.get_secret_value()
        self._metrics = Metrics()
        self._limiter = RequestLimiter(
            rate_limit_delay, max_concurrency, sleep=sleep, monotonic=monotonic, budget=rate_budget
        )
        self._api = SahhaApi(
            http,
            base_url=base_url,
            client_id=client_id,
            client_secret=secret,
            limiter=self._limiter,
            backoff=Backoff(backoff_base, cap=backoff_cap),
            max_retries=max_retries,
            max_retry_after=max_retry_after,
            timeout=request_timeout,
            metrics=self._metrics,
            sleep=sleep,
            monotonic=monotonic,
            wall_clock=wall_clock,
            rng=rng or random.Random(),
            token_max_age=token_max_age,
        )
        self._cache = FetchCache(cache_ttl, monotonic=monotonic, metrics=self._metrics)
        self._now = now or (lambda: datetime.now(UTC))
        self._chunk = chunk
        self._biomarker_filter = [("categories", c) for c in categories] + [("types", t) for t in biomarker_types]
        self._score_filter = [("types", t) for t in score_types]
        self._archetype_filter = [("name", n) for n in archetype_names]
        if archetype_periodicity:
            self._archetype_filter.append(("periodicity", archetype_periodicity))

    def stats(self) -> SahhaStats:
        """Requests, successes, failures by kind, retries, 429s, token refreshes, cache hits (a snapshot)."""
        return self._metrics.snapshot()

    def client_stats(self) -> dict[str, Any]:
        return self.stats().to_dict()

    async def fetch(self, user_id: str, window: FetchWindow, *, include_archetypes: bool = False) -> HealthRecords:
        if not isinstance(user_id, str) or not user_id:
            raise SahhaRequestError("user_id must be a non-empty string", endpoint="/api/v1/profile")
        self._metrics.fetches += 1
        with counting_call() as call:
            try:
                records = await self._cache.get(
                    (user_id, window, include_archetypes),
                    lambda: self._fetch(user_id, window, include_archetypes),
                )
            except HealthDataSourceError as exc:
                self._metrics.failed_fetches += 1
                if exc.api is None:
                    exc.api = call.fetch_metrics()
                    raise
                raise _with_api(exc, call.fetch_metrics()) from exc  # a failure shared with a coalesced call
        # a cached or shared result carries the figures of the call that fetched it: replace them with this call's
        return replace(records, api=call.fetch_metrics())

    async def _fetch(self, user_id: str, window: FetchWindow, include_archetypes: bool) -> HealthRecords:
        routes = ["biomarker", "score"] + (["archetypes"] if include_archetypes else [])
        calls = [(route, chunk) for chunk in window.chunks(self._chunk) for route in routes]
        answers = await _all(self._api.get_list(route, user_id, self._params(route, chunk)) for route, chunk in calls)
        # Parsing a window's answers takes milliseconds of CPU: in a thread, so the host's event loop goes on.
        routes_of_answers = [route for route, _ in calls]
        records = await asyncio.to_thread(self._records, user_id, window, routes_of_answers, answers)
        self._metrics.count_unlisted(
            f"{b.category}/{b.type}" for b in records.biomarkers if not is_listed(b.category, b.type)
        )
        if records.quarantined:
            quarantined = records.quarantined
            self._metrics.quarantined += len(quarantined)
            logger.warning(
                "sahha.records_quarantined", count=len(quarantined), reasons=sorted({q.reason for q in quarantined})[:5]
            )
        return records

    def _records(self, user_id: str, window: FetchWindow, routes: list[str], answers: list[list[Any]]) -> HealthRecords:
        """The records of ``answers`` (one per route asked), parsed, within ``window``, one per key."""
        found: dict[str, list[Any]] = {"biomarker": [], "score": [], "archetype": []}
        quarantined: list[QuarantinedRecord] = []
        for route, items in zip(routes, answers, strict=True):
            kind = route.removesuffix("s")
            good, bad = parse_records(kind, items, user_id, self._now)
            found[kind] += good
            quarantined += bad
        return HealthRecords(
            biomarkers=tuple(dedupe_by_key(b for b in found["biomarker"] if window.overlaps(*b.period))),
            scores=tuple(dedupe_by_key(s for s in found["score"] if window.overlaps(*s.period))),
            archetypes=tuple(dedupe_by_key(a for a in found["archetype"] if window.overlaps(*a.period))),
            quarantined=tuple(quarantined),
        )

    def _params(self, route: str, chunk: FetchWindow) -> list[tuple[str, str]]:
        filters = {"biomarker": self._biomarker_filter, "score": self._score_filter}.get(route, self._archetype_filter)
        # Sahha selects scores by their time; a score whose day began before the chunk still meets it.
        start = chunk.start - SCORE_SPAN if route == "score" else chunk.start
        return [
            *filters,
            ("startDateTime", format_query_datetime(start)),
            ("endDateTime", format_query_datetime(chunk.end)),
        ]


def _with_api(error: HealthDataSourceError, api: FetchMetrics) -> HealthDataSourceError:
    """The same failure, carrying another call's API figures (each waiter on a shared fetch gets its own)."""
    duplicate = copy.copy(error)
    duplicate.api = api
    return duplicate


async def _all(calls: Any) -> list[list[Any]]:
    """Run the calls concurrently; on the first failure cancel the rest and raise that failure (not a group)."""
    coros: list[Coroutine[Any, Any, list[Any]]] = list(calls)
    tasks: list[asyncio.Task[list[Any]]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coros]
    except BaseExceptionGroup as failed:
        raise _first(failed) from None
    return [t.result() for t in tasks]


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    for error in group.exceptions:
        leaf = _first(error) if isinstance(error, BaseExceptionGroup) else error
        if isinstance(leaf, HealthDataSourceError):
            return leaf
    return group.exceptions[0]
