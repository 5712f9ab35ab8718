"""The emulator's bad days: a server-side rate limit (token bucket) and injected failures."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable
from typing import Literal

Fault = int | Literal["timeout", "non-json", "ok"]
"""An HTTP status to answer with, ``"timeout"`` (never answer), ``"non-json"`` (200 with HTML), or ``"ok"``."""


class TokenBucket:
    """``rate`` requests per second on average, bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: float, monotonic: Callable[[], float]) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._monotonic = monotonic
        self._tokens = burst
        self._last = monotonic()

    def take(self) -> float | None:
        """Take a token and return None, or return the seconds until one is available."""
        now = self._monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / self.rate


class FaultPlan:
    """Scripted faults first (one per data request, in order), then random ones at the given rates."""

    def __init__(
        self, *, script: Iterable[Fault] = (), error_rate: float = 0.0, timeout_rate: float = 0.0, seed: int = 0
    ) -> None:
        self._script: deque[Fault] = deque(script)
        self.error_rate = error_rate
        self.timeout_rate = timeout_rate
        self._rng = random.Random(f"faults:{seed}")

    def add(self, *faults: Fault) -> None:
        self._script.extend(faults)

    def next(self) -> Fault:
        if self._script:
            return self._script.popleft()
        roll = self._rng.random()
        if roll < self.timeout_rate:
            return "timeout"
        if roll < self.timeout_rate + self.error_rate:
            return self._rng.choice((500, 502, 503))
        return "ok"
