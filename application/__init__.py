"""The application layer: ports (``sahha_sync.application.ports``) and the use cases built on them."""

from sahha_sync.application.use_cases import (
    AnalysisOutcome,
    AnalysisUnavailableError,
    ArchetypeTracker,
    ArchivalJob,
    ArchiveHealthData,
    BehaviorAnalysisAgent,
    CircadianAnalysisAgent,
    FetchHealthData,
    OnDemandAnalysisService,
    RebuildProjections,
    RecoverPendingArchivals,
    RunAnalysis,
    Watermarks,
)

__all__ = [
    "AnalysisOutcome",
    "AnalysisUnavailableError",
    "ArchetypeTracker",
    "ArchivalJob",
    "ArchiveHealthData",
    "BehaviorAnalysisAgent",
    "CircadianAnalysisAgent",
    "FetchHealthData",
    "OnDemandAnalysisService",
    "RebuildProjections",
    "RecoverPendingArchivals",
    "RunAnalysis",
    "Watermarks",
]
