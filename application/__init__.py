"""The application layer: ports (``sahha_sync.application.ports``) and the use cases built on them."""

from sahha_sync.application.use_cases import (
    AnalysisOutcome,
    AnalysisUnavailableError,
    ArchetypeTracker,
    ArchivalJob,
    ArchiveHealthData,
    FetchHealthData,
    RebuildProjections,
    RecoverPendingArchivals,
    RunAnalysis,
)

__all__ = [
    "AnalysisOutcome",
    "AnalysisUnavailableError",
    "ArchetypeTracker",
    "ArchivalJob",
    "ArchiveHealthData",
    "FetchHealthData",
    "RebuildProjections",
    "RecoverPendingArchivals",
    "RunAnalysis",
]
