"""The Sahha account's request budget, shared by every process that talks to Sahha for the account.

Sahha's limits belong to the account, so the processes of one deployment (host replicas, workers, the webhook
server, a nightly sync) draw request starts from one schedule: a process *reserves* a few starts at a time, each
after every start reserved before it by any process, so together they never start requests faster than the
spacing asks. A reservation is a set of moments, not a lease: starts that pass unused are simply gone, so a
process that dies holding some leaks nothing once their moments pass. A server's ``Retry-After`` seen by one
process is stored as the account's pause, and every later reservation starts after it. Each process reports
what it did (requests sent, 429s met) with its next reservation or pause, so the figures cover every process.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from sahha_sync.domain.errors import InvalidInputError, SahhaSyncError

ACTIVE_WINDOW = 60.0
"""Seconds after its last reservation or pause that a process still counts as drawing from the budget."""

RATE_WINDOW = 60.0
"""Seconds over which the figures' rates are averaged (exponentially weighted)."""


class RateBudgetError(SahhaSyncError):
    """The shared budget could not be read or written."""


class RateBudgetUnavailableError(RateBudgetError):
    """The budget's store could not be reached in time; trying again later may work."""

    retryable: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Usage:
    """What one process did since its last report: requests it started and 429 answers it met."""

    requests: int = 0
    rate_limited: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.requests + other.requests, self.rate_limited + other.rate_limited)


NO_USAGE = Usage()


@dataclass(frozen=True, slots=True)
class SlotGrant:
    """``count`` request starts: the first ``delay`` seconds after the budget answered, the others ``spacing``
    apart. ``processes`` is how many processes reserved or paused in the last ``ACTIVE_WINDOW`` seconds, the
    caller included (a process that loses the budget falls back to its share of the rate)."""

    count: int
    delay: float
    spacing: float
    processes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RateBudgetFigures:
    """The account's figures, every process together: requests and 429s reported since the budget began,
    requests and 429s per second over about the last minute, the seconds the account stays paused, and the
    processes that reserved or paused in the last minute."""

    requests: int = 0
    rate_limited: int = 0
    request_rate: float = 0.0
    rate_limited_rate: float = 0.0
    paused_for: float = 0.0
    processes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class RateBudget(Protocol):
    """One account's request schedule, shared by every process holding a ``RateBudget`` for that account."""

    @abstractmethod
    async def reserve(self, count: int, spacing: float, used: Usage = NO_USAGE) -> SlotGrant:
        """Reserve ``count`` starts ``spacing`` seconds apart, after every start reserved before (by any process)
        and after the account's pause, and report ``used``. Starts not taken by the time they pass are gone."""

    @abstractmethod
    async def pause(self, seconds: float, used: Usage = NO_USAGE) -> None:
        """Start no reservation of any process within ``seconds`` from now (a server's ``Retry-After``), and
        report ``used``. A pause never shortens one already in force."""

    @abstractmethod
    async def figures(self) -> RateBudgetFigures:
        """The account-wide figures (all zero before any process reported)."""


def check_reservation(count: int, spacing: float) -> None:
    """Raise ``InvalidInputError`` unless ``count`` is at least 1 and ``spacing`` is not negative."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidInputError(f"a reservation needs a count of at least 1, not {count!r}", field="count")
    if not spacing >= 0:
        raise InvalidInputError(f"a reservation's spacing must not be negative, not {spacing!r}", field="spacing")


def check_pause(seconds: float) -> None:
    if not seconds >= 0:
        raise InvalidInputError(f"a pause must not be negative, not {seconds!r}", field="seconds")


def check_usage(used: Usage) -> None:
    if used.requests < 0 or used.rate_limited < 0:
        raise InvalidInputError("reported usage must not be negative", field="used")
