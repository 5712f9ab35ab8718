"""The users the in-memory stores erased: what ``user_erasures`` is to the SQL stores (see its erasure guard).

One ``Erasures`` is shared by the stores of one ``InMemoryStores`` (and the webhook inbox wired beside them): the
tracking store records an erasure (``TrackingStore.delete_user``), and from then on every store skips what is
written for that user, as the database's guard does: the archive counts the rows as unchanged, the tracking
store refuses the run (``UserErasedError``) and leaves freshness alone, the analyses are not kept, and the inbox
says ``erased``. It keeps the SHA-256 of each id, as the table does, and is restored with the tracking store when a
unit of work rolls back.
"""

from __future__ import annotations

from sahha_sync.adapters._erasure import user_digest


class Erasures:
    """The digests of the users erased (see the module's docstring)."""

    def __init__(self) -> None:
        self.digests: set[str] = set()

    def record(self, user_id: str) -> None:
        self.digests.add(user_digest(user_id))

    def erased(self, user_id: str) -> bool:
        """Whether ``user_id`` was erased (no digest computed while nobody was)."""
        return bool(self.digests) and user_digest(user_id) in self.digests
