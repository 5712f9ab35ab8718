"""The ports: what the use cases need from the outside world, as ``typing.Protocol``s.

Every adapter subclasses its port explicitly. Each port's errors live beside it and subclass
``SahhaSyncError``; adapters translate third-party exceptions into them at the boundary.
"""

from sahha_sync.application.ports.analysis_results import (
    AnalysisResultStore,
    AnalysisResultStoreError,
    AnalysisResultStoreUnavailableError,
    StoredAnalysis,
    decode_analysis,
    encode_analysis,
)
from sahha_sync.application.ports.analyst import (
    Analyst,
    AnalystError,
    AnalystRefusedError,
    AnalystResponseError,
    AnalystUnavailableError,
    HashingAnalyst,
)
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.event_store import (
    ConcurrencyError,
    EventStore,
    EventStoreError,
    EventStoreUnavailableError,
    RecordedEvent,
    StreamAppend,
)
from sahha_sync.application.ports.health_archive import (
    ARCHIVED_KINDS,
    ArchiveError,
    ArchiveIntegrityError,
    ArchiveUnavailableError,
    HealthArchive,
)
from sahha_sync.application.ports.health_data_source import (
    HealthDataSource,
    HealthDataSourceError,
    SahhaAccountRemovedError,
    SahhaAuthError,
    SahhaRequestError,
    SahhaResponseError,
    SahhaUnavailableError,
)
from sahha_sync.application.ports.job_queue import (
    DeadJob,
    JobContext,
    JobHandler,
    JobQueue,
    JobQueueError,
    QueueClosedError,
    QueueStats,
    QueueUnavailableError,
    SubmitResult,
    UnknownJobTypeError,
)
from sahha_sync.application.ports.rate_budget import (
    RateBudget,
    RateBudgetError,
    RateBudgetFigures,
    RateBudgetUnavailableError,
    SlotGrant,
    Usage,
)
from sahha_sync.application.ports.tracking_store import TrackingStore, TrackingStoreError, UserErasedError
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sahha_sync.application.ports.webhook_inbox import (
    InboxEntry,
    InboxReceipt,
    WebhookInbox,
    WebhookInboxError,
    WebhookInboxUnavailableError,
)

__all__ = [
    "ARCHIVED_KINDS",
    "AnalysisResultStore",
    "AnalysisResultStoreError",
    "AnalysisResultStoreUnavailableError",
    "Analyst",
    "AnalystError",
    "AnalystRefusedError",
    "AnalystResponseError",
    "AnalystUnavailableError",
    "ArchiveError",
    "ArchiveIntegrityError",
    "ArchiveUnavailableError",
    "Clock",
    "ConcurrencyError",
    "DeadJob",
    "EventStore",
    "EventStoreError",
    "EventStoreUnavailableError",
    "HashingAnalyst",
    "HealthArchive",
    "HealthDataSource",
    "HealthDataSourceError",
    "InboxEntry",
    "InboxReceipt",
    "JobContext",
    "JobHandler",
    "JobQueue",
    "JobQueueError",
    "QueueClosedError",
    "QueueStats",
    "QueueUnavailableError",
    "RateBudget",
    "RateBudgetError",
    "RateBudgetFigures",
    "RateBudgetUnavailableError",
    "RecordedEvent",
    "SahhaAccountRemovedError",
    "SahhaAuthError",
    "SahhaRequestError",
    "SahhaResponseError",
    "SahhaUnavailableError",
    "SlotGrant",
    "StoredAnalysis",
    "StreamAppend",
    "SubmitResult",
    "TrackingStore",
    "TrackingStoreError",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UnknownJobTypeError",
    "Usage",
    "UserErasedError",
    "WebhookInbox",
    "WebhookInboxError",
    "WebhookInboxUnavailableError",
    "decode_analysis",
    "encode_analysis",
]
