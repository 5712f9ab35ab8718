"""``archetype_analysis_tracking``: one row per analysis run, a projection of the run's events; and
``user_freshness``: one row per user, how far the archive holds the user's data (a projection of the runs' and
the webhook deliveries' events)."""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from sahha_sync.domain.errors import SahhaSyncError
from sahha_sync.domain.freshness import UserFreshness, latest
from sahha_sync.domain.tracking import TrackingRecord


class TrackingStoreError(SahhaSyncError):
    """The tracking store could not complete the operation."""


class UserErasedError(TrackingStoreError):
    """A run of a user whose erasure is recorded (``forget-user``) cannot be tracked: nothing of that user is
    stored any more. Retrying does not help; deleting the user's ``user_erasures`` row lets them be stored again."""


@runtime_checkable
class TrackingStore(Protocol):
    @abstractmethod
    async def save(self, record: TrackingRecord) -> TrackingRecord:
        """Insert or replace the row of ``record.run_id``; returns it with its ``id``.

        On replace the stored ``id`` is kept. On insert, a given ``record.id`` that no other row holds is kept
        (so a rebuild from the event store puts every row back under its id); otherwise the store assigns one.
        """

    async def save_many(self, records: Sequence[TrackingRecord]) -> list[TrackingRecord]:
        """``save`` of each of ``records`` (of distinct runs), in order. A store may save them in one statement;
        this default saves one by one."""
        return [await self.save(record) for record in records]

    @abstractmethod
    async def get(self, run_id: str) -> TrackingRecord | None:
        """The row of a run, or None."""

    @abstractmethod
    async def latest(self, user_id: str, analysis_type: str, archetype: str | None = None) -> TrackingRecord | None:
        """The row with the greatest ``analysis_timestamp`` among the user's analysed runs of that type
        (and archetype, when given); rows without an ``analysis_timestamp`` are ignored."""

    @abstractmethod
    async def runs_for_user(self, user_id: str, *, window_end_after: datetime | None = None) -> list[TrackingRecord]:
        """The user's rows (of every archetype and type) whose window ends after ``window_end_after``."""

    @abstractmethod
    async def list_all(self) -> list[TrackingRecord]:
        """Every row, ordered by ``id``."""

    @abstractmethod
    async def freshness(self, user_id: str) -> UserFreshness | None:
        """The user's freshness row, or None."""

    @abstractmethod
    async def save_freshness(self, freshness: UserFreshness) -> None:
        """Insert or replace the freshness row of ``freshness.user_id``."""

    async def advance_freshness(self, advanced: UserFreshness) -> None:
        """Move the freshness row of ``advanced.user_id`` on to its ``fetched`` and ``archetypes`` marks where they
        are later than the stored ones (a missing row is created with them); the other columns are kept. A store
        may do it in one statement; this default reads the row and saves it."""
        current = await self.freshness(advanced.user_id) or UserFreshness(user_id=advanced.user_id)
        moved = dataclasses.replace(
            current,
            fetched=latest(current.fetched, advanced.fetched),
            archetypes=latest(current.archetypes, advanced.archetypes),
        )
        if moved != current:
            await self.save_freshness(moved)

    async def advance_freshness_many(self, advanced: Sequence[UserFreshness]) -> None:
        """``advance_freshness`` of each of ``advanced`` (a user named twice moves on to the later of the marks).
        A store may do it in one statement; this default advances one by one."""
        for freshness in advanced:
            await self.advance_freshness(freshness)

    @abstractmethod
    async def list_freshness(self) -> list[UserFreshness]:
        """Every freshness row, ordered by ``user_id``."""

    @abstractmethod
    async def delete_user(self, user_id: str) -> int:
        """Erase every run row of ``user_id`` and the user's freshness row; returns how many run rows went."""

    @abstractmethod
    async def clear(self) -> None:
        """Remove every row, runs' and users' freshness (before a rebuild from the event store)."""
