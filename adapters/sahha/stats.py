"""What the client did: request, retry, failure and cache counters (the seed's monitoring figures)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from sahha_sync.domain import FetchMetrics


@dataclass(frozen=True, slots=True)
class SahhaStats:
    """A snapshot of the counters. ``requests`` counts HTTP attempts (token requests included);
    ``failures`` counts failed attempts by kind (``timeout``, ``connection``, ``rate_limited``,
    ``server_error``, ``unauthorized``, ``auth``, ``request``, ``account_removed``, ``response``)."""

    requests: int = 0
    successes: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    rate_limited: int = 0
    token_refreshes: int = 0
    fetches: int = 0
    failed_fetches: int = 0
    cache_hits: int = 0
    coalesced: int = 0
    quarantined: int = 0
    unlisted: dict[str, int] = field(default_factory=dict)  # biomarkers of a "category/type" no list names

    @property
    def failed_requests(self) -> int:
        return sum(self.failures.values())

    @property
    def success_rate(self) -> float:
        return self.successes / self.requests if self.requests else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "success_rate": self.success_rate}


class CallCounter:
    """The API figures of one ``fetch`` call: every request, retry, 429 and token refresh made on its behalf."""

    def __init__(self) -> None:
        self.requests = 0
        self.successes = 0
        self.failures: Counter[str] = Counter()
        self.retries = 0
        self.rate_limited = 0
        self.token_refreshes = 0

    def fetch_metrics(self) -> FetchMetrics:
        return FetchMetrics(
            requests=self.requests,
            successes=self.successes,
            failures=tuple(sorted(self.failures.items())),
            retries=self.retries,
            rate_limited=self.rate_limited,
            token_refreshes=self.token_refreshes,
        )


# The counter of the fetch the running code works for. Tasks copy the context when they are created, so the
# requests a fetch's tasks make (and a token renewal it starts) count for it; concurrent fetches never mix.
_CURRENT_CALL: ContextVar[CallCounter | None] = ContextVar("sahha_current_fetch", default=None)


@contextmanager
def counting_call() -> Iterator[CallCounter]:
    """Count what the code inside does for a new call (restored afterwards)."""
    counter = CallCounter()
    token = _CURRENT_CALL.set(counter)
    try:
        yield counter
    finally:
        _CURRENT_CALL.reset(token)


class Metrics(CallCounter):
    """The mutable counters behind ``SahhaStats`` (one per client; asyncio is single-threaded): a call's
    counters over every call, and the client's own. The request counters are bumped through methods, which
    count for the current call (``counting_call``) too."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches = 0
        self.failed_fetches = 0
        self.cache_hits = 0
        self.coalesced = 0
        self.quarantined = 0
        self.unlisted: Counter[str] = Counter()

    def count_unlisted(self, names: Iterable[str]) -> None:
        """Biomarkers of types or categories no list names: fetched by their category and archived as they came."""
        self.unlisted.update(names)

    def _counting(self) -> tuple[CallCounter, ...]:
        """These counters, and the current call's when there is one."""
        call = _CURRENT_CALL.get()
        return (self, call) if call is not None else (self,)

    def _bump(self, name: str) -> None:
        for counter in self._counting():
            setattr(counter, name, getattr(counter, name) + 1)

    def request(self) -> None:
        self._bump("requests")

    def success(self) -> None:
        self._bump("successes")

    def retry(self) -> None:
        self._bump("retries")

    def token_refresh(self) -> None:
        self._bump("token_refreshes")

    def failure(self, kind: str) -> None:
        for counter in self._counting():
            counter.failures[kind] += 1
            if kind == "rate_limited":
                counter.rate_limited += 1

    def snapshot(self) -> SahhaStats:
        counts = {f.name: getattr(self, f.name) for f in fields(SahhaStats)}
        return SahhaStats(**{**counts, "failures": dict(self.failures), "unlisted": dict(self.unlisted)})
