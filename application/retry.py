"""Retrying: which errors are worth another attempt, and how long to wait before it.

The wait is exponential backoff with full jitter, capped, with a server's ``Retry-After`` first. Every retry
in the library waits by this one rule: the Sahha client between HTTP attempts, both job queues between a job's
attempts, the durable queue's writer after a failed batch, and a webhook job whose event append met another
writer. It computes a wait and nothing else, because each caller waits in its own way: procrastinate schedules
the next attempt as a row, the Sahha client holds its shared rate limiter, the in-memory queue sets a timer.
(``stamina`` and ``tenacity`` wrap a call in a retry loop, which none of these callers could use.)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sahha_sync.domain.errors import InvalidInputError

_MAX_DOUBLINGS = 63  # 2**63 seconds outlasts any cap; far larger powers overflow a float


def is_retryable(error: BaseException) -> bool:
    """Whether ``error`` says that trying again later may succeed (its ``retryable`` is true)."""
    return getattr(error, "retryable", False) is True


@dataclass(frozen=True, slots=True)
class Backoff:
    """Before retry ``n`` (1 for the first), wait a random time between 0 and ``min(cap, base * 2**(n-1))``
    seconds ("full jitter": callers that failed together spread out instead of retrying in step).

    ``jitter=False`` waits the whole ceiling (deterministic, for tests and single callers). A ``retry_after``
    the server sent (HTTP ``Retry-After``) is waited instead: the server knows when it will be ready.
    """

    base: float
    cap: float = float("inf")
    jitter: bool = True

    def __post_init__(self) -> None:
        if not self.base >= 0:
            raise InvalidInputError(f"backoff base must not be negative, got {self.base}", field="base")
        if not self.cap >= 0:
            raise InvalidInputError(f"backoff cap must not be negative, got {self.cap}", field="cap")

    def ceiling(self, retry: int) -> float:
        """The longest wait before retry ``retry``: ``base`` doubled ``retry - 1`` times, at most ``cap``."""
        if retry < 1:
            raise InvalidInputError(f"retry counts from 1, got {retry}", field="retry")
        return min(self.cap, self.base * 2.0 ** min(retry - 1, _MAX_DOUBLINGS))

    def delay(self, retry: int, *, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry ``retry``: the server's ``retry_after`` when given (never negative),
        else a draw from ``[0, ceiling(retry)]`` (``rng``, or the ``random`` module's)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        ceiling = self.ceiling(retry)
        if not self.jitter:
            return ceiling
        draw = random.uniform if rng is None else rng.uniform
        return draw(0.0, ceiling)
