"""``InMemoryWebhookInbox``: the webhook inbox in a dict, for tests and the in-memory stores (nothing survives the
process, so it promises nothing across a restart; the SQL inbox does)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sahha_sync.adapters._json import dumps_payload, loads
from sahha_sync.adapters.memory._erasures import Erasures
from sahha_sync.application.ports.webhook_inbox import InboxEntry, InboxReceipt, WebhookInbox
from sahha_sync.domain.errors import InvalidInputError


@dataclass(slots=True)
class _Held:
    payload_json: bytes
    dedup_key: str
    user_id: str
    attempts: int = 0


def _number(entry_id: str | None) -> int | None:
    return int(entry_id) if entry_id is not None and entry_id.isdigit() else None


class InMemoryWebhookInbox(WebhookInbox):
    """Entries numbered from 1 in the order they were put; payloads copied through JSON, as a database would."""

    def __init__(self, erasures: Erasures | None = None) -> None:
        self.erasures = erasures if erasures is not None else Erasures()
        self._held: dict[int, _Held] = {}
        self._by_key: dict[str, int] = {}
        self._last = 0

    def __len__(self) -> int:
        return len(self._held)

    async def put(self, payload: Mapping[str, Any], *, dedup_key: str, user_id: str) -> InboxReceipt:
        if not dedup_key or not user_id:
            raise InvalidInputError("an inbox entry needs a dedup key and a user id", field="dedup_key")
        payload_json = dumps_payload("webhook inbox", payload)
        if self.erasures.erased(user_id):
            return InboxReceipt("", erased=True)
        if (held := self._by_key.get(dedup_key)) is not None:
            return InboxReceipt(str(held), duplicate=True)
        self._last += 1
        self._held[self._last] = _Held(payload_json, dedup_key, user_id)
        self._by_key[dedup_key] = self._last
        return InboxReceipt(str(self._last))

    async def get(self, entry_id: str) -> InboxEntry | None:
        number = _number(entry_id)
        held = None if number is None else self._held.get(number)
        return None if held is None else InboxEntry(entry_id, loads(held.payload_json), held.attempts)

    async def pending(self, *, after: str | None = None, limit: int = 500) -> list[InboxEntry]:
        if limit < 1:
            raise InvalidInputError("limit must be at least 1", field="limit")
        start = _number(after) or 0
        numbers = sorted(n for n in self._held if n > start)[:limit]
        return [InboxEntry(str(n), loads(self._held[n].payload_json), self._held[n].attempts) for n in numbers]

    async def remove(self, entry_id: str) -> bool:
        number = _number(entry_id)
        held = None if number is None else self._held.pop(number, None)
        if held is None:
            return False
        del self._by_key[held.dedup_key]
        return True

    async def begin(self, entry_id: str) -> int:
        number = _number(entry_id)
        held = None if number is None else self._held.get(number)
        if held is None:
            return 0
        held.attempts += 1
        return held.attempts

    async def revive(self, *, min_attempts: int) -> list[str]:
        if min_attempts < 1:
            raise InvalidInputError("min_attempts must be at least 1", field="min_attempts")
        revived = []
        for number in sorted(self._held):
            if (held := self._held[number]).attempts >= min_attempts:
                held.attempts = 0
                revived.append(str(number))
        return revived

    async def purge_user(self, user_id: str) -> int:
        gone = [str(n) for n, held in self._held.items() if held.user_id == user_id]
        for entry_id in gone:
            await self.remove(entry_id)
        return len(gone)
