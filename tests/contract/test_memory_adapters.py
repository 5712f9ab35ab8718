"""The contract suites, run against the in-memory adapters (and the clocks)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sahha_sync.adapters.clock import ManualClock, SystemClock
from sahha_sync.adapters.memory import (
    InMemoryEventStore,
    InMemoryHealthArchive,
    InMemoryHealthDataSource,
    InMemoryJobQueue,
    InMemoryStores,
    InMemoryTrackingStore,
)
from sahha_sync.application.ports import (
    Clock,
    EventStore,
    HealthArchive,
    HealthDataSource,
    JobQueue,
    TrackingStore,
    UnitOfWorkFactory,
)
from sahha_sync.domain.health import HealthRecords
from sahha_sync.testing.clock import ClockContract
from sahha_sync.testing.event_store import EventStoreContract
from sahha_sync.testing.health_archive import HealthArchiveContract
from sahha_sync.testing.health_data_source import HealthDataSourceContract
from sahha_sync.testing.job_queue import JobQueueContract
from sahha_sync.testing.tracking_store import TrackingStoreContract
from sahha_sync.testing.unit_of_work import UnitOfWorkContract


class TestInMemoryHealthArchive(HealthArchiveContract):
    @pytest.fixture
    def archive(self) -> HealthArchive:
        return InMemoryHealthArchive()


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def event_store(self) -> EventStore:
        return InMemoryEventStore()


class TestInMemoryTrackingStore(TrackingStoreContract):
    @pytest.fixture
    def tracking_store(self) -> TrackingStore:
        return InMemoryTrackingStore()


class TestInMemoryUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    def unit_of_work_factory(self) -> UnitOfWorkFactory:
        return InMemoryStores().unit_of_work


class TestInMemoryJobQueue(JobQueueContract):
    @pytest.fixture
    def make_queue(self) -> Callable[..., JobQueue]:
        def make(**options: Any) -> JobQueue:
            return InMemoryJobQueue(concurrency=2, **options)

        return make


class TestInMemoryHealthDataSource(HealthDataSourceContract):
    @pytest.fixture
    def make_source(self) -> Callable[[HealthRecords], HealthDataSource]:
        return InMemoryHealthDataSource


class TestSystemClock(ClockContract):
    @pytest.fixture
    def clock(self) -> Clock:
        return SystemClock()


class TestManualClock(ClockContract):
    @pytest.fixture
    def clock(self) -> Clock:
        return ManualClock(datetime(2025, 10, 1, tzinfo=UTC) + timedelta(hours=3))
