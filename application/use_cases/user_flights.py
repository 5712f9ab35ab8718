"""``UserFlights``: one fetch per user at a time in this process, and each user's last fetch for the runs after it.

Runs of any analysis type for one user take turns (``turn``): a run that finds another fetching for the user
waits for it, then finds its result (``last``) and, when that is fresh within the bound, uses it instead of
fetching — so concurrent and back-to-back runs share one fetch, and a wider window answers a narrower request.
A fetch is kept until it is older than the bound or this process has fetched for ``max_users`` other users
since (then the archive, where the run's archival put it, answers instead).

One ``UserFlights`` serves every run of a process (the container holds one); across processes the freshness
projection is what runs agree on.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sahha_sync.domain.health import HealthRecords
from sahha_sync.domain.windows import FetchWindow

DEFAULT_MAX_USERS = 1024


@dataclass(frozen=True, slots=True)
class Flight:
    """A fetch this process made for one user: the run that made it, its window, whether it asked for
    Sahha's archetypes, and what it brought."""

    run_id: str
    window: FetchWindow
    with_archetypes: bool
    records: HealthRecords


class UserFlights:
    def __init__(self, max_users: int = DEFAULT_MAX_USERS) -> None:
        if max_users < 1:
            raise ValueError("max_users must be at least 1")
        self._max_users = max_users
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}
        self._last: OrderedDict[str, Flight] = OrderedDict()

    @asynccontextmanager
    async def turn(self, user_id: str) -> AsyncIterator[None]:
        """Hold the user's turn: no other run of this process fetches for the user meanwhile."""
        lock, waiting = self._turns.get(user_id, (asyncio.Lock(), 0))
        self._turns[user_id] = (lock, waiting + 1)
        try:
            async with lock:
                yield
        finally:
            lock, waiting = self._turns[user_id]
            if waiting == 1:
                del self._turns[user_id]
            else:
                self._turns[user_id] = (lock, waiting - 1)

    def last(self, user_id: str) -> Flight | None:
        """The user's last fetch in this process, if it is still kept."""
        return self._last.get(user_id)

    def keep(self, user_id: str, flight: Flight) -> None:
        self._last[user_id] = flight
        self._last.move_to_end(user_id)
        while len(self._last) > self._max_users:
            self._last.popitem(last=False)

    def drop(self, user_id: str) -> None:
        self._last.pop(user_id, None)

    @property
    def kept(self) -> int:
        """How many users' last fetches are kept."""
        return len(self._last)


__all__ = ["Flight", "UserFlights"]
