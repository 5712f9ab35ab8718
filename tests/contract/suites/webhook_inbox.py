"""``WebhookInboxContract``: deliveries are held, read back equal, in order, once per dedup key, until removed or
purged.

A host proves its own inbox keeps the promises by subclassing and overriding the fixture::

    class TestMyInbox(WebhookInboxContract):
        @pytest.fixture
        def inbox(self) -> WebhookInbox:
            return MyInbox(...)
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sahha_sync.application.ports.webhook_inbox import WebhookInbox
from sahha_sync.domain.errors import InvalidInputError


def payload(user_id: str, n: int = 0) -> dict[str, Any]:
    """A payload shaped like a webhook job's, with unicode, nesting and a number that must come back as is."""
    return {
        "kind": "biomarker",
        "user_id": user_id,
        "key": {"type": "steps", "start": "2026-11-28T00:00:00+13:00", "end": "2026-11-28T23:59:59+13:00"},
        "sahha_data": {"value": str(7000 + n), "unit": "count", "note": "«Ünïcode»", "factors": [{"score": 0.5}]},
    }


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class WebhookInboxContract:
    @pytest.fixture
    def inbox(self) -> WebhookInbox:
        raise NotImplementedError("override the inbox fixture")

    async def test_a_put_entry_is_read_back_equal(self, inbox: WebhookInbox) -> None:
        user = unique("user")
        held = await inbox.put(payload(user), dedup_key=unique("key"), user_id=user)

        entry = await inbox.get(held.entry_id)

        assert not held.duplicate
        assert entry is not None
        assert (entry.entry_id, entry.payload) == (held.entry_id, payload(user))

    async def test_changing_the_given_payload_afterwards_changes_no_entry(self, inbox: WebhookInbox) -> None:
        user = unique("user")
        given = payload(user)
        held = await inbox.put(given, dedup_key=unique("key"), user_id=user)
        given["sahha_data"]["value"] = "0"

        entry = await inbox.get(held.entry_id)

        assert entry is not None
        assert entry.payload == payload(user)

    async def test_a_second_put_with_a_held_key_returns_the_first_entry(self, inbox: WebhookInbox) -> None:
        user, key = unique("user"), unique("key")
        first = await inbox.put(payload(user, 1), dedup_key=key, user_id=user)
        second = await inbox.put(payload(user, 2), dedup_key=key, user_id=user)

        assert (second.entry_id, second.duplicate) == (first.entry_id, True)
        entry = await inbox.get(first.entry_id)
        assert entry is not None
        assert entry.payload == payload(user, 1)

    async def test_a_key_is_free_again_once_its_entry_was_removed(self, inbox: WebhookInbox) -> None:
        user, key = unique("user"), unique("key")
        first = await inbox.put(payload(user), dedup_key=key, user_id=user)
        assert await inbox.remove(first.entry_id)

        again = await inbox.put(payload(user), dedup_key=key, user_id=user)

        assert not again.duplicate
        assert again.entry_id != first.entry_id

    async def test_removing_twice_or_an_unknown_id_is_harmless(self, inbox: WebhookInbox) -> None:
        user = unique("user")
        held = await inbox.put(payload(user), dedup_key=unique("key"), user_id=user)

        assert await inbox.remove(held.entry_id) is True
        assert await inbox.remove(held.entry_id) is False
        assert await inbox.remove("not-an-id") is False
        assert await inbox.get(held.entry_id) is None
        assert await inbox.get("not-an-id") is None

    async def test_pending_lists_held_entries_oldest_first_in_pages(self, inbox: WebhookInbox) -> None:
        user = unique("user")
        ids = [(await inbox.put(payload(user, n), dedup_key=unique("key"), user_id=user)).entry_id for n in range(5)]
        await inbox.remove(ids[2])

        seen: list[str] = []
        after = None
        while True:
            page = await inbox.pending(after=after, limit=2)
            seen += [e.entry_id for e in page if e.entry_id in ids]
            if len(page) < 2:
                break
            after = page[-1].entry_id

        assert seen == [ids[0], ids[1], ids[3], ids[4]]

    async def test_pending_after_an_entry_starts_behind_it(self, inbox: WebhookInbox) -> None:
        user = unique("user")
        first = await inbox.put(payload(user, 1), dedup_key=unique("key"), user_id=user)
        second = await inbox.put(payload(user, 2), dedup_key=unique("key"), user_id=user)

        later = [e.entry_id for e in await inbox.pending(after=first.entry_id)]

        assert first.entry_id not in later
        assert second.entry_id in later

    async def test_a_page_must_hold_at_least_one_entry(self, inbox: WebhookInbox) -> None:
        with pytest.raises(InvalidInputError):
            await inbox.pending(limit=0)

    async def test_purging_a_user_drops_their_entries_and_no_one_elses(self, inbox: WebhookInbox) -> None:
        gone, kept = unique("gone"), unique("kept")
        for n in range(3):
            await inbox.put(payload(gone, n), dedup_key=unique("key"), user_id=gone)
        other = await inbox.put(payload(kept), dedup_key=unique("key"), user_id=kept)

        assert await inbox.purge_user(gone) == 3
        assert await inbox.purge_user(gone) == 0
        assert [e.payload["user_id"] for e in await inbox.pending(limit=1000) if e.payload["user_id"] == gone] == []
        assert await inbox.get(other.entry_id) is not None

    async def test_an_entry_needs_a_key_and_a_user(self, inbox: WebhookInbox) -> None:
        with pytest.raises(InvalidInputError):
            await inbox.put(payload("u"), dedup_key="", user_id="u")
        with pytest.raises(InvalidInputError):
            await inbox.put(payload("u"), dedup_key=unique("key"), user_id="")

    async def test_begin_counts_the_jobs_that_began_an_entry(self, inbox: WebhookInbox) -> None:
        user = unique("user")
        held = await inbox.put(payload(user), dedup_key=unique("key"), user_id=user)

        assert [await inbox.begin(held.entry_id) for _ in range(3)] == [1, 2, 3]
        entry = await inbox.get(held.entry_id)
        assert entry is not None
        assert entry.attempts == 3
        assert await inbox.begin("0") == 0  # not held

    async def test_revive_gives_dead_entries_fresh_attempts_and_leaves_the_others(self, inbox: WebhookInbox) -> None:
        user = unique("user")
        put = [await inbox.put(payload(user, n), dedup_key=unique("key"), user_id=user) for n in range(3)]
        dead, tried, fresh = put
        for _ in range(3):
            await inbox.begin(dead.entry_id)
        await inbox.begin(tried.entry_id)

        revived = await inbox.revive(min_attempts=3)

        assert dead.entry_id in revived
        assert tried.entry_id not in revived
        assert fresh.entry_id not in revived
        assert revived == sorted(revived, key=int)  # oldest first
        attempts = {e.entry_id: e.attempts for e in await inbox.pending(limit=10_000)}
        assert (attempts[dead.entry_id], attempts[tried.entry_id], attempts[fresh.entry_id]) == (0, 1, 0)
        assert dead.entry_id not in await inbox.revive(min_attempts=3)  # revived once: none left
        with pytest.raises(InvalidInputError):
            await inbox.revive(min_attempts=0)
