"""The webhook inbox keeps its contract in memory, on SQLite and on Postgres."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.memory import InMemoryWebhookInbox
from sahha_sync.adapters.sql import SqlWebhookInbox
from sahha_sync.application.ports import WebhookInbox
from sahha_sync.testing.webhook_inbox import WebhookInboxContract


class TestInMemoryWebhookInbox(WebhookInboxContract):
    @pytest.fixture
    def inbox(self) -> WebhookInbox:
        return InMemoryWebhookInbox()


class TestSqlWebhookInbox(WebhookInboxContract):
    @pytest.fixture
    async def inbox(self, sql_engine: AsyncEngine) -> WebhookInbox:
        return SqlWebhookInbox(sql_engine)
