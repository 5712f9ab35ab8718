"""The pure core of sahha-sync: health records, windows, watermarks, events and sync status.

Standard library only: no I/O, no clock reads, no third-party types.
"""

from sahha_sync.domain.analysis import Analysis, AnalysisInput, AnalysisType, Insight
from sahha_sync.domain.errors import InvalidInputError, SahhaSyncError
from sahha_sync.domain.events import (
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisRequested,
    ArchetypesArchived,
    ArchivalFailed,
    ArchivalRequested,
    BiomarkersArchived,
    DomainEvent,
    HealthDataFetched,
    HealthDataFetchFailed,
    RecordsQuarantined,
    ScoresArchived,
    SyncCompleted,
    UserForgotten,
    decode_event,
    encode_event,
    stream_id_for,
)
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
from sahha_sync.domain.snapshot import HealthSnapshot, dedupe_by_key, merge_by_key
from sahha_sync.domain.tracking import SyncStatus, TrackingRecord, earliest_unsynced_start
from sahha_sync.domain.windows import FetchWindow, Watermark, WindowPlan, plan_fetch_window

__all__ = [
    "Analysis",
    "AnalysisCompleted",
    "AnalysisFailed",
    "AnalysisInput",
    "AnalysisRequested",
    "AnalysisType",
    "Archetype",
    "ArchetypesArchived",
    "ArchivalFailed",
    "ArchivalRequested",
    "Biomarker",
    "BiomarkersArchived",
    "DomainEvent",
    "FetchMetrics",
    "FetchWindow",
    "HealthDataFetchFailed",
    "HealthDataFetched",
    "HealthRecords",
    "HealthSnapshot",
    "Insight",
    "InvalidInputError",
    "QuarantinedRecord",
    "RecordsQuarantined",
    "SahhaSyncError",
    "Score",
    "ScoreFactor",
    "ScoresArchived",
    "SyncCompleted",
    "SyncStatus",
    "TrackingRecord",
    "UpsertCounts",
    "UserForgotten",
    "Watermark",
    "WindowPlan",
    "decode_event",
    "dedupe_by_key",
    "earliest_unsynced_start",
    "encode_event",
    "merge_by_key",
    "plan_fetch_window",
    "stream_id_for",
]
