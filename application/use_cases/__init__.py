"""The use cases: what a host asks sahha-sync to do, written against the ports only."""

from sahha_sync.application.use_cases.archival_job import ArchivalJob
from sahha_sync.application.use_cases.archival_outcome import ArchivalListener, ArchivalOutcome
from sahha_sync.application.use_cases.archive_health_data import ArchiveHealthData
from sahha_sync.application.use_cases.archive_recorded_run import ArchiveRecordedRun
from sahha_sync.application.use_cases.collect_stats import CollectStats, OperationsStats
from sahha_sync.application.use_cases.fetch_health_data import FetchHealthData
from sahha_sync.application.use_cases.forget_user import ErasureReport, ForgetUser
from sahha_sync.application.use_cases.ingest_webhook import IngestWebhookRecords
from sahha_sync.application.use_cases.rebuild_projections import RebuildProjections
from sahha_sync.application.use_cases.receive_webhook import ReceiveWebhookDelivery, WebhookReceipt
from sahha_sync.application.use_cases.recover_pending_archivals import RecoverPendingArchivals
from sahha_sync.application.use_cases.recover_webhook_inbox import RecoverWebhookInbox
from sahha_sync.application.use_cases.run_analysis import AnalysisOutcome, AnalysisUnavailableError, RunAnalysis
from sahha_sync.application.use_cases.stored_analyses import ReadStoredAnalyses
from sahha_sync.application.use_cases.user_flights import UserFlights
from sahha_sync.application.use_cases.watermarks import ArchetypeTracker, Watermarks

__all__ = [
    "AnalysisOutcome",
    "AnalysisUnavailableError",
    "ArchetypeTracker",
    "ArchivalJob",
    "ArchivalListener",
    "ArchivalOutcome",
    "ArchiveHealthData",
    "ArchiveRecordedRun",
    "CollectStats",
    "ErasureReport",
    "FetchHealthData",
    "ForgetUser",
    "IngestWebhookRecords",
    "OperationsStats",
    "ReadStoredAnalyses",
    "RebuildProjections",
    "ReceiveWebhookDelivery",
    "RecoverPendingArchivals",
    "RecoverWebhookInbox",
    "RunAnalysis",
    "UserFlights",
    "Watermarks",
    "WebhookReceipt",
]
