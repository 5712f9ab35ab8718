"""``SqlWebhookInbox``: the ``webhook_inbox`` table — deliveries held until archived, each call committed on its own.

A ``put`` returns once its transaction committed (Postgres commits synchronously here; SQLite writes the file
before the commit returns), so a delivery acknowledged after it survives the process being killed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters._erasure import user_digest
from sahha_sync.adapters._json import dumps_payload, loads
from sahha_sync.adapters.sql._bind import insert_for, translated
from sahha_sync.adapters.sql.errors import ErrorKinds
from sahha_sync.adapters.sql.tables import user_erasures
from sahha_sync.adapters.sql.tables import webhook_inbox as inbox
from sahha_sync.application.ports.webhook_inbox import (
    InboxEntry,
    InboxReceipt,
    WebhookInbox,
    WebhookInboxError,
    WebhookInboxUnavailableError,
)
from sahha_sync.domain.errors import InvalidInputError

INBOX_ERRORS = ErrorKinds(WebhookInboxError, WebhookInboxUnavailableError, WebhookInboxError)
_COLUMNS = (inbox.c.id, inbox.c.payload, inbox.c.attempts)
_PUT_TRIES = 3  # an equal entry removed between the insert and the look-up: insert again


def _number(entry_id: str | None) -> int | None:
    return int(entry_id) if entry_id is not None and entry_id.isdigit() else None


def _entry(row: Any) -> InboxEntry:
    return InboxEntry(str(row.id), dict(row.payload), row.attempts)


class SqlWebhookInbox(WebhookInbox):
    """The inbox on an ``AsyncEngine`` (Postgres or SQLite). Unlike the stores of a unit of work, each call is a
    transaction of its own: a delivery must be committed the moment ``put`` returns, whatever else runs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def put(self, payload: Mapping[str, Any], *, dedup_key: str, user_id: str) -> InboxReceipt:
        if not dedup_key or not user_id:
            raise InvalidInputError("an inbox entry needs a dedup key and a user id", field="dedup_key")
        copied = loads(dumps_payload("webhook inbox", payload))
        values = {"dedup_key": dedup_key, "user_id": user_id, "payload": copied}
        held = select(inbox.c.id).where(inbox.c.dedup_key == dedup_key)
        erased = select(user_erasures.c.user_digest).where(user_erasures.c.user_digest == user_digest(user_id))
        async with translated(INBOX_ERRORS, "put into the webhook inbox"):
            for _ in range(_PUT_TRIES):
                async with self._engine.begin() as connection:
                    insert = insert_for(connection)(inbox).values(values)
                    insert = insert.on_conflict_do_nothing(index_elements=["dedup_key"]).returning(inbox.c.id)
                    new_id = (await connection.execute(insert)).scalar_one_or_none()
                    if new_id is not None:
                        return InboxReceipt(str(new_id))
                    found = (await connection.execute(held)).scalar_one_or_none()
                    if found is not None:
                        return InboxReceipt(str(found), duplicate=True)
                    if (await connection.execute(erased)).first() is not None:  # the erasure guard skipped it
                        return InboxReceipt("", erased=True)
        raise WebhookInboxUnavailableError("put into the webhook inbox failed: its key kept changing hands")

    async def get(self, entry_id: str) -> InboxEntry | None:
        number = _number(entry_id)
        if number is None:
            return None
        rows = await self._rows(select(*_COLUMNS).where(inbox.c.id == number), "read")
        return _entry(rows[0]) if rows else None

    async def pending(self, *, after: str | None = None, limit: int = 500) -> list[InboxEntry]:
        if limit < 1:
            raise InvalidInputError("limit must be at least 1", field="limit")
        query = select(*_COLUMNS).where(inbox.c.id > (_number(after) or 0))
        return [_entry(row) for row in await self._rows(query.order_by(inbox.c.id).limit(limit), "list")]

    async def remove(self, entry_id: str) -> bool:
        number = _number(entry_id)
        if number is None:
            return False
        return await self._delete(delete(inbox).where(inbox.c.id == number), "remove") > 0

    async def purge_user(self, user_id: str) -> int:
        return await self._delete(delete(inbox).where(inbox.c.user_id == user_id), "purge")

    async def begin(self, entry_id: str) -> int:
        number = _number(entry_id)
        if number is None:
            return 0
        counted = update(inbox).where(inbox.c.id == number).values(attempts=inbox.c.attempts + 1)
        rows = await self._rows(counted.returning(inbox.c.attempts), "count of an attempt")
        return int(rows[0].attempts) if rows else 0

    async def revive(self, *, min_attempts: int) -> list[str]:
        if min_attempts < 1:
            raise InvalidInputError("min_attempts must be at least 1", field="min_attempts")
        revived = update(inbox).where(inbox.c.attempts >= min_attempts).values(attempts=0).returning(inbox.c.id)
        return [str(number) for number in sorted(row.id for row in await self._rows(revived, "revival"))]

    async def _rows(self, query: Any, doing: str) -> list[Any]:
        async with translated(INBOX_ERRORS, f"{doing} of the webhook inbox"), self._engine.begin() as connection:
            return list((await connection.execute(query)).all())

    async def _delete(self, statement: Any, doing: str) -> int:
        async with translated(INBOX_ERRORS, f"{doing} of the webhook inbox"), self._engine.begin() as connection:
            return int((await connection.execute(statement)).rowcount)
