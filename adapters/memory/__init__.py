"""In-memory adapters of every port, with the real adapters' semantics: for tests and local development.

- ``InMemoryHealthArchive``, ``InMemoryEventStore``, ``InMemoryTrackingStore``, ``InMemoryAnalysisResultStore``:
  the stores;
- ``InMemoryUnitOfWork`` (one per transaction) and ``InMemoryStores`` (one of each store, with
  ``unit_of_work()`` as a ``UnitOfWorkFactory``);
- ``InMemoryHealthDataSource``: serves given records, can be made to fail or stall;
- ``InMemoryJobQueue``: the seed's ``SimpleJobQueue``;
- ``InMemoryRateBudget``: the Sahha account's request schedule, shared by the handles of one ``RateLedger``.
- ``InMemoryWebhookInbox``: webhook deliveries held until archived.

Nothing here survives the process.
"""

from sahha_sync.adapters.memory._faults import FaultInjector
from sahha_sync.adapters.memory.analysis_results import InMemoryAnalysisResultStore, StoredAnalysisRow
from sahha_sync.adapters.memory.event_store import InMemoryEventStore, StoredEvent
from sahha_sync.adapters.memory.health_archive import InMemoryHealthArchive
from sahha_sync.adapters.memory.health_data_source import FetchCall, InMemoryHealthDataSource
from sahha_sync.adapters.memory.job_queue import InMemoryJobQueue
from sahha_sync.adapters.memory.rate_budget import InMemoryRateBudget, RateLedger
from sahha_sync.adapters.memory.tracking_store import InMemoryTrackingStore
from sahha_sync.adapters.memory.unit_of_work import InMemoryStores, InMemoryUnitOfWork
from sahha_sync.adapters.memory.webhook_inbox import InMemoryWebhookInbox
from sahha_sync.application.ports.job_queue import DeadJob

__all__ = [
    "DeadJob",
    "FaultInjector",
    "FetchCall",
    "InMemoryAnalysisResultStore",
    "InMemoryEventStore",
    "InMemoryHealthArchive",
    "InMemoryHealthDataSource",
    "InMemoryJobQueue",
    "InMemoryRateBudget",
    "InMemoryStores",
    "InMemoryTrackingStore",
    "InMemoryUnitOfWork",
    "InMemoryWebhookInbox",
    "RateLedger",
    "StoredAnalysisRow",
    "StoredEvent",
]
