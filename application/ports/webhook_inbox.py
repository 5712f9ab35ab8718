"""Webhook deliveries kept in the database until they are archived: what lets the in-process queue acknowledge a
delivery only once it is safe.

The in-memory queue loses its jobs with the process, so a delivery goes first into the inbox (a table of the
same database as the archive), then a job that names the entry is queued. The job archives the entry and
removes it; whatever is still in the inbox when a process starts is queued again (``RecoverWebhookInbox``).
The durable queue needs no inbox: its own stored submit is the safe place.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from sahha_sync.domain.errors import SahhaSyncError


class WebhookInboxError(SahhaSyncError):
    """The inbox could not complete the operation."""


class WebhookInboxUnavailableError(WebhookInboxError):
    """The database could not be reached or the connection was lost; retrying may work."""

    retryable: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """One stored delivery: ``payload`` is what ``put`` was given (``WebhookDelivery.to_payload()``); ``attempts``
    counts the jobs that began archiving it (``begin``), so a delivery whose job keeps killing its process is
    given up instead of queued again at every start."""

    entry_id: str
    payload: dict[str, Any]
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class InboxReceipt:
    """Where ``put`` left a delivery: a new entry, or (``duplicate``) the held entry with the same dedup key, or
    nowhere (``erased``: the user's erasure is recorded, so nothing of theirs is stored; ``entry_id`` is empty)."""

    entry_id: str
    duplicate: bool = False
    erased: bool = False


@runtime_checkable
class WebhookInbox(Protocol):
    """Deliveries held until archived; entry ids are strings that sort in the order the entries were put."""

    @abstractmethod
    async def put(self, payload: Mapping[str, Any], *, dedup_key: str, user_id: str) -> InboxReceipt:
        """Store ``payload`` (a JSON-ready mapping, copied) for ``user_id``. When it returns, the entry is
        committed: it survives the process being killed. While an entry with ``dedup_key`` is held, nothing new is
        stored and that entry's id comes back with ``duplicate=True``. For a user whose erasure the database
        recorded (``forget-user``), nothing is stored and the receipt says ``erased=True``."""

    @abstractmethod
    async def get(self, entry_id: str) -> InboxEntry | None:
        """The held entry, or None (removed, purged, or an id this inbox never gave)."""

    @abstractmethod
    async def pending(self, *, after: str | None = None, limit: int = 500) -> list[InboxEntry]:
        """Up to ``limit`` held entries put after the entry ``after`` (from the first without it), oldest first."""

    @abstractmethod
    async def remove(self, entry_id: str) -> bool:
        """Drop an entry once archived; False when it was not held (removing twice is harmless)."""

    @abstractmethod
    async def purge_user(self, user_id: str) -> int:
        """Drop every entry of ``user_id`` (erasure); returns how many."""

    async def begin(self, entry_id: str) -> int:
        """Count one more job beginning to archive the entry, committed before it goes on; returns the attempts
        so far, this one included (0 when the entry is not held). An inbox that does not count returns 1."""
        return 0 if await self.get(entry_id) is None else 1

    async def revive(self, *, min_attempts: int) -> list[str]:
        """Set back to none the attempts of every held entry that ``min_attempts`` or more jobs began (a dead letter:
        recovery leaves it alone), committed, so that recovery queues it again; returns their ids, oldest first.
        An inbox that does not count attempts holds no dead letter and returns none."""
        return []
