"""``InMemoryRateBudget``: the account's request schedule in memory, shared by the handles of one ``RateLedger``.

Each handle stands for one process (its ``holder``); ``peer()`` gives another process's handle on the same
accounts, so tests can run several "processes" in one event loop. The arithmetic is the Postgres adapter's,
on ``monotonic`` seconds instead of the database's clock. ``faults`` makes one handle's calls fail, as a
database blip does for one process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sahha_sync.adapters.memory._faults import FaultInjector
from sahha_sync.application.ports.rate_budget import (
    ACTIVE_WINDOW,
    NO_USAGE,
    RATE_WINDOW,
    RateBudget,
    RateBudgetFigures,
    SlotGrant,
    Usage,
    check_pause,
    check_reservation,
    check_usage,
)


@dataclass(slots=True)
class _Account:
    """One account's row: the end of the reserved schedule, the pause, the counters and who reserved when."""

    next_slot_at: float
    paused_until: float
    rates_at: float
    requests: int = 0
    rate_limited: int = 0
    request_rate: float = 0.0
    rate_limited_rate: float = 0.0
    holders: dict[str, float] = field(default_factory=dict)

    def report(self, used: Usage, now: float) -> None:
        decay = _decay(now - self.rates_at)
        self.request_rate = self.request_rate * decay + used.requests / RATE_WINDOW
        self.rate_limited_rate = self.rate_limited_rate * decay + used.rate_limited / RATE_WINDOW
        self.rates_at = now
        self.requests += used.requests
        self.rate_limited += used.rate_limited

    def active(self, now: float) -> int:
        return sum(seen > now - ACTIVE_WINDOW for seen in self.holders.values())


def _decay(elapsed: float) -> float:
    return math.exp(-min(max(elapsed, 0.0) / RATE_WINDOW, 50.0))


class RateLedger:
    """The accounts every handle of one ledger shares (what the database table is to the Postgres adapter)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self.accounts: dict[str, _Account] = {}

    def account(self, name: str) -> _Account:
        now = self.monotonic()
        return self.accounts.setdefault(name, _Account(next_slot_at=now, paused_until=now, rates_at=now))


class InMemoryRateBudget(RateBudget):
    """One process's handle on ``account``'s budget in ``ledger`` (a new ledger when none is given)."""

    def __init__(
        self,
        account: str = "default",
        *,
        holder: str = "process-1",
        ledger: RateLedger | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.account = account
        self.holder = holder
        self.ledger = ledger or RateLedger(monotonic)
        self.faults = FaultInjector()

    def peer(self, holder: str, account: str | None = None) -> InMemoryRateBudget:
        """Another process's handle on the same ledger (``account`` defaults to this handle's)."""
        return InMemoryRateBudget(account or self.account, holder=holder, ledger=self.ledger)

    async def reserve(self, count: int, spacing: float, used: Usage = NO_USAGE) -> SlotGrant:
        check_reservation(count, spacing)
        check_usage(used)
        await self.faults.pass_gate("reserve")
        now = self.ledger.monotonic()
        row = self.ledger.account(self.account)
        start = max(row.next_slot_at, now, row.paused_until)
        row.next_slot_at = start + count * spacing
        row.report(used, now)
        row.holders[self.holder] = now
        return SlotGrant(count=count, delay=start - now, spacing=spacing, processes=row.active(now))

    async def pause(self, seconds: float, used: Usage = NO_USAGE) -> None:
        check_pause(seconds)
        check_usage(used)
        await self.faults.pass_gate("pause")
        now = self.ledger.monotonic()
        row = self.ledger.account(self.account)
        row.paused_until = max(row.paused_until, now + seconds)
        row.report(used, now)
        row.holders[self.holder] = now

    async def figures(self) -> RateBudgetFigures:
        await self.faults.pass_gate("figures")
        row = self.ledger.accounts.get(self.account)
        if row is None:
            return RateBudgetFigures()
        now = self.ledger.monotonic()
        decay = _decay(now - row.rates_at)
        return RateBudgetFigures(
            requests=row.requests,
            rate_limited=row.rate_limited,
            request_rate=row.request_rate * decay,
            rate_limited_rate=row.rate_limited_rate * decay,
            paused_for=max(row.paused_until - now, 0.0),
            processes=row.active(now),
        )
