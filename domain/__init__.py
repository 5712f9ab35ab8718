"""The pure core of sahha-sync: health records and their kinds, windows, watermarks, events and sync status.

Standard library only: no I/O, no clock reads, no third-party types.
"""

from sahha_sync.domain.analysis import Analysis, AnalysisInput, AnalysisType, Insight
from sahha_sync.domain.errors import InvalidInputError, SahhaSyncError
from sahha_sync.domain.events import (
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisRequested,
    ArchivalFailed,
    ArchivalRequested,
    DomainEvent,
    HealthDataFetched,
    HealthDataFetchFailed,
    HealthDataServed,
    RecordsArchived,
    RecordsQuarantined,
    SyncCompleted,
    UserDataDelivered,
    UserForgotten,
    decode_event,
    encode_event,
    stream_id_for,
)
from sahha_sync.domain.freshness import FreshnessBound, UserFreshness
from sahha_sync.domain.health import (
    Archetype,
    Biomarker,
    FetchMetrics,
    HealthRecords,
    QuarantinedRecord,
    Score,
    ScoreFactor,
    UpsertCounts,
)
from sahha_sync.domain.record_kinds import (
    ARCHETYPE,
    BIOMARKER,
    RECORD_KINDS,
    SCORE,
    HealthRecord,
    RecordKind,
    kind_named,
    kind_of,
)
from sahha_sync.domain.snapshot import HealthSnapshot, dedupe_by_key, merge_by_key
from sahha_sync.domain.tracking import SyncStatus, TrackingRecord, earliest_unsynced_start
from sahha_sync.domain.windows import FetchWindow, Watermark, WindowPlan, plan_fetch_window

__all__ = [
    "ARCHETYPE",
    "BIOMARKER",
    "RECORD_KINDS",
    "SCORE",
    "Analysis",
    "AnalysisCompleted",
    "AnalysisFailed",
    "AnalysisInput",
    "AnalysisRequested",
    "AnalysisType",
    "Archetype",
    "ArchivalFailed",
    "ArchivalRequested",
    "Biomarker",
    "DomainEvent",
    "FetchMetrics",
    "FetchWindow",
    "FreshnessBound",
    "HealthDataFetchFailed",
    "HealthDataFetched",
    "HealthDataServed",
    "HealthRecord",
    "HealthRecords",
    "HealthSnapshot",
    "Insight",
    "InvalidInputError",
    "QuarantinedRecord",
    "RecordKind",
    "RecordsArchived",
    "RecordsQuarantined",
    "SahhaSyncError",
    "Score",
    "ScoreFactor",
    "SyncCompleted",
    "SyncStatus",
    "TrackingRecord",
    "UpsertCounts",
    "UserDataDelivered",
    "UserForgotten",
    "UserFreshness",
    "Watermark",
    "WindowPlan",
    "decode_event",
    "dedupe_by_key",
    "earliest_unsynced_start",
    "encode_event",
    "kind_named",
    "kind_of",
    "merge_by_key",
    "plan_fetch_window",
    "stream_id_for",
]
