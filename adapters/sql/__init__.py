"""SQL adapters (SQLAlchemy 2, async): Postgres/Supabase through psycopg 3, SQLite through aiosqlite.

The stores run inside ``SqlUnitOfWork``, on the unit's connection, each writing call a savepoint of its
transaction; ``PostgresRateBudget`` (Postgres only) keeps the Sahha account's shared request budget on an engine.
The schema is managed by ``sahha_sync.migrations``.
"""

from sahha_sync.adapters.sql.analysis_results import SqlAnalysisResultStore
from sahha_sync.adapters.sql.engine import create_engine
from sahha_sync.adapters.sql.event_store import SqlEventStore
from sahha_sync.adapters.sql.health_archive import SqlHealthArchive
from sahha_sync.adapters.sql.rate_budget import PostgresRateBudget
from sahha_sync.adapters.sql.tracking_store import SqlTrackingStore, TrackingStoreUnavailableError
from sahha_sync.adapters.sql.unit_of_work import SqlUnitOfWork, sql_unit_of_work_factory
from sahha_sync.adapters.sql.webhook_inbox import SqlWebhookInbox

__all__ = [
    "PostgresRateBudget",
    "SqlAnalysisResultStore",
    "SqlEventStore",
    "SqlHealthArchive",
    "SqlTrackingStore",
    "SqlUnitOfWork",
    "SqlWebhookInbox",
    "TrackingStoreUnavailableError",
    "create_engine",
    "sql_unit_of_work_factory",
]
