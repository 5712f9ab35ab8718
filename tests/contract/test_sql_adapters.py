"""The SQL adapters keep every promise of their ports, on SQLite and on Postgres."""

from __future__ import annotations

from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql import sql_unit_of_work_factory
from sahha_sync.application.ports import EventStore, HealthArchive, TrackingStore, UnitOfWorkFactory
from sahha_sync.testing.event_store import EventStoreContract
from sahha_sync.testing.health_archive import HealthArchiveContract
from sahha_sync.testing.tracking_store import TrackingStoreContract
from sahha_sync.testing.unit_of_work import UnitOfWorkContract
from tests.sql_stores import Committed


class TestSqlHealthArchive(HealthArchiveContract):
    @pytest.fixture
    async def archive(self, sql_engine: AsyncEngine) -> HealthArchive:
        return cast(HealthArchive, Committed(sql_engine, "archive"))


class TestSqlEventStore(EventStoreContract):
    @pytest.fixture
    async def event_store(self, sql_engine: AsyncEngine) -> EventStore:
        return cast(EventStore, Committed(sql_engine, "events"))


class TestSqlTrackingStore(TrackingStoreContract):
    @pytest.fixture
    async def tracking_store(self, sql_engine: AsyncEngine) -> TrackingStore:
        return cast(TrackingStore, Committed(sql_engine, "tracking"))


class TestSqlUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    async def unit_of_work_factory(self, sql_engine: AsyncEngine) -> UnitOfWorkFactory:
        return sql_unit_of_work_factory(sql_engine)
