"""The use cases: what a host asks sahha-sync to do, written against the ports only."""

from sahha_sync.application.use_cases.archetype_tracker import ArchetypeTracker
from sahha_sync.application.use_cases.archival_job import ArchivalJob
from sahha_sync.application.use_cases.archive_health_data import ArchiveHealthData
from sahha_sync.application.use_cases.fetch_health_data import FetchHealthData
from sahha_sync.application.use_cases.rebuild_projections import RebuildProjections
from sahha_sync.application.use_cases.recover_pending_archivals import RecoverPendingArchivals
from sahha_sync.application.use_cases.run_analysis import AnalysisOutcome, RunAnalysis

__all__ = [
    "AnalysisOutcome",
    "ArchetypeTracker",
    "ArchivalJob",
    "ArchiveHealthData",
    "FetchHealthData",
    "RebuildProjections",
    "RecoverPendingArchivals",
    "RunAnalysis",
]
