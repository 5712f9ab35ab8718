"""The schema as SQLAlchemy Core tables: one ``MetaData`` with a naming convention.

The migrations in ``sahha_sync.migrations`` build exactly this (a test compares them). Beyond the seed design's
columns: the UTC offsets Sahha sent with a record's datetimes (``*_utc_offset``, seconds), so a record
reads back in the user's local time as it was written; the run's window, data source and whether archival
was requested on the tracking row; Sahha's archetypes and the quarantine.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
)

from sahha_sync.adapters.sql.column_types import BigId, JsonColumn, UtcDateTime
from sahha_sync.domain.record_kinds import ARCHETYPE, BIOMARKER, RECORD_KINDS, SCORE, RecordKind

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

LIBRARY_SCHEMA = "sahha_sync"
"""The schema the library's own tables are declared in: its bookkeeping (events, analyses, quarantine, rate budgets,
webhook inbox, freshness). The archive's record tables stay in the host's schema: the seed's ``biomarkers``, ``scores``
and ``archetype_analysis_tracking``, which the host already has, and ``archetypes``, the third record kind, laid out as
they are and read by the host's app the same way. This is the one place that says which tables are the library's: a
table declared with ``schema=LIBRARY_SCHEMA`` is, and lands in the configured schema (``SAHHA_SYNC_SCHEMA``, default
``sahha_sync``; none on SQLite). Engines map the name to the configured one (``schema_translate_map``), so statements
built from these tables reach it."""
USER_COLUMN = "profile_id"  # the seed's name of the column that holds the host's user id in the record tables
OBSERVED_COLUMN = "observed_at"  # how new a record's stored version is (0007_observed_at)


def _id() -> Column[int]:
    return Column("id", BigId, Identity(), primary_key=True)


def _stamps() -> list[Column[object]]:
    return [
        Column("archived_at", UtcDateTime, nullable=False, server_default=func.now()),
        Column("updated_at", UtcDateTime, nullable=False, server_default=func.now()),
    ]


def _run_key() -> list[Column[Any]]:
    """What an analysis run is found by: the host's user, the host's archetype and the analysis type."""
    return [Column(name, Text, nullable=False) for name in ("user_id", "archetype", "analysis_type")]


def _record_table(
    kind: RecordKind[Any],
    *columns: Column[Any],
    key: tuple[str, ...],
    offsets: tuple[str, ...],
) -> Table:
    """The table of one record kind, named by its plural: an id, the user (the seed's column ``profile_id``) and
    Sahha's ids, the kind's own ``columns``, the archive's stamps, the UTC offset (seconds) of each datetime
    named in ``offsets`` (``<name>_utc_offset``), how new the stored version is (``observed_at``: Sahha's
    ``created_at_utc``, else when it was fetched or delivered), and the natural key (the user and ``key``) as a
    constraint."""
    return Table(
        kind.plural,
        metadata,
        _id(),
        Column(USER_COLUMN, Text, nullable=False),
        Column("sahha_profile_id", Text),
        Column("sahha_id", Text),
        *columns,
        *_stamps(),
        *(Column(f"{name}_utc_offset", Integer) for name in offsets),
        Column(OBSERVED_COLUMN, UtcDateTime, nullable=False),
        UniqueConstraint(USER_COLUMN, *key, name=f"uq_{kind.plural}_natural_key"),
    )


biomarkers = _record_table(
    BIOMARKER,
    Column("category", Text),
    Column("type", Text, nullable=False),
    Column("periodicity", Text),
    Column("aggregation", Text),
    Column("value", Text),
    Column("value_numeric", Float),
    Column("unit", Text),
    Column("value_type", Text),
    Column("start_date_time", UtcDateTime, nullable=False),
    Column("end_date_time", UtcDateTime, nullable=False),
    Column("created_at_utc", UtcDateTime),
    key=("type", "start_date_time", "end_date_time"),
    offsets=("start", "end"),
)

scores = _record_table(
    SCORE,
    Column("type", Text, nullable=False),
    Column("state", Text),
    Column("score", Float),
    Column("factors", JsonColumn),
    Column("data_sources", JsonColumn),
    Column("score_date_time", UtcDateTime, nullable=False),
    Column("created_at_utc", UtcDateTime),
    Column("version", Text),
    key=("type", "score_date_time"),
    offsets=("score",),
)

archetypes = _record_table(
    ARCHETYPE,
    Column("name", Text, nullable=False),
    Column("value", Text),
    Column("data_type", Text),
    Column("ordinality", Integer),
    Column("periodicity", Text, nullable=False),
    Column("start_date_time", UtcDateTime, nullable=False),
    Column("end_date_time", UtcDateTime, nullable=False),
    Column("created_at_utc", UtcDateTime),
    Column("version", Text),
    key=("name", "periodicity", "start_date_time", "end_date_time"),
    offsets=("start", "end"),
)

RECORD_TABLES: dict[str, Table] = {kind.plural: metadata.tables[kind.plural] for kind in RECORD_KINDS}

quarantined_records = Table(
    "quarantined_records",
    metadata,
    _id(),
    Column(USER_COLUMN, Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("archived_at", UtcDateTime, nullable=False, server_default=func.now()),
    Index("ix_quarantined_records_profile_id", "profile_id"),
    schema=LIBRARY_SCHEMA,
)

archetype_analysis_tracking = Table(
    "archetype_analysis_tracking",
    metadata,
    _id(),
    *_run_key(),
    Column("analysis_timestamp", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False, server_default=func.now()),
    Column("updated_at", UtcDateTime, nullable=False, server_default=func.now()),
    # 0002_add_sahha_sync_tracking: the seed's six sync columns (a flag per record kind).
    Column("sahha_data_synced", Boolean, nullable=False, server_default=false()),
    *(Column(kind.sync_flag, Boolean, nullable=False, server_default=false()) for kind in RECORD_KINDS),
    Column("sync_completed_at", UtcDateTime),
    Column("sync_error", Text),
    # 0003_event_store: the projection's own columns.
    Column("run_id", Text, unique=True),
    Column("window_start", UtcDateTime),
    Column("window_end", UtcDateTime),
    Column("data_source", Text),
    Column("archival_requested", Boolean, nullable=False, server_default=false()),
    Index("ix_archetype_analysis_tracking_user_id_analysis_type", "user_id", "analysis_type"),
)

sync_events = Table(
    "sync_events",
    metadata,
    Column("position", BigId, Identity(), primary_key=True),
    Column("stream_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", Text, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("payload", JsonColumn, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False, server_default=func.now()),
    UniqueConstraint("stream_id", "version", name="uq_sync_events_stream_id_version"),
    schema=LIBRARY_SCHEMA,
)

# 0006_analysis_results: the analysis each completed run answered with (one row per run).
analysis_results = Table(
    "analysis_results",
    metadata,
    _id(),
    Column("run_id", Text, nullable=False),
    *_run_key(),
    Column("input_hash", Text, nullable=False),
    Column("analyst", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("prompt_version", Text, nullable=False),
    Column("analysis", JsonColumn, nullable=False),
    Column("reused_from", Text),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("run_id", name="uq_analysis_results_run_id"),
    # 0014: the newest of a key is read by every run
    Index("ix_analysis_results_latest", "user_id", "archetype", "analysis_type", "created_at", "id"),
    schema=LIBRARY_SCHEMA,
)

# 0008_sahha_rate_budgets: one row per Sahha account, the request schedule every process draws from: where the
# reserved starts end, the pause a server's Retry-After asked for, what every process reported, and who reserved
# when (a JSON object of holder -> epoch seconds, kept to the last minute's).
sahha_rate_budgets = Table(
    "sahha_rate_budgets",
    metadata,
    Column("account", Text, primary_key=True),
    Column("next_slot_at", UtcDateTime, nullable=False),
    Column("paused_until", UtcDateTime, nullable=False),
    Column("requests", BigInteger, nullable=False, server_default="0"),
    Column("rate_limited", BigInteger, nullable=False, server_default="0"),
    Column("request_rate", Float, nullable=False, server_default="0"),
    Column("rate_limited_rate", Float, nullable=False, server_default="0"),
    Column("rates_at", UtcDateTime, nullable=False),
    Column("holders", JsonColumn, nullable=False),
    schema=LIBRARY_SCHEMA,
)

# 0009_webhook_inbox: deliveries acknowledged with the in-memory queue, held until archived (their records, as
# job payloads: health values, so row level security as everywhere).
webhook_inbox = Table(
    "webhook_inbox",
    metadata,
    _id(),
    Column("dedup_key", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("payload", JsonColumn, nullable=False),
    Column("stored_at", UtcDateTime, nullable=False, server_default=func.now()),
    Column("attempts", Integer, nullable=False, server_default="0"),  # 0013_inbox_attempts
    UniqueConstraint("dedup_key", name="uq_webhook_inbox_dedup_key"),
    Index("ix_webhook_inbox_user_id", "user_id"),
    sqlite_autoincrement=True,  # an id is never given twice, not even after the newest entry was removed
    schema=LIBRARY_SCHEMA,
)

# 0010_user_freshness: how far the archive holds each user's data (a projection of the events).
user_freshness = Table(
    "user_freshness",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("fetched_through", UtcDateTime),
    Column("delivered_through", UtcDateTime),
    Column("archetypes_through", UtcDateTime),
    Column("delivery_run_id", Text),
    Column("updated_at", UtcDateTime, nullable=False, server_default=func.now()),
    schema=LIBRARY_SCHEMA,
)

TABLES_WITH_ROW_LEVEL_SECURITY = (
    biomarkers,
    scores,
    archetypes,
    quarantined_records,
    archetype_analysis_tracking,
    sync_events,
    analysis_results,
    sahha_rate_budgets,
    webhook_inbox,
    user_freshness,
)

# 0012_erasures: the users ``forget-user`` erased (SHA-256 of the id, hex); a guard skips any row written for them
# later (triggers on PostgreSQL, ``_sqlite_erasure`` on SQLite).
user_erasures = Table(
    "user_erasures",
    metadata,
    Column("user_digest", Text, primary_key=True),
    Column("erased_at", UtcDateTime, nullable=False),
    schema=LIBRARY_SCHEMA,
)

# Every table that holds a user's data, by the column that names the user: what the erasure guard covers (the
# triggers of revisions 0012 and 0015 on PostgreSQL, ``_sqlite_erasure`` on SQLite).
ERASURE_GUARDED: dict[str, str] = {
    "biomarkers": "profile_id",
    "scores": "profile_id",
    "archetypes": "profile_id",
    "quarantined_records": "profile_id",
    "archetype_analysis_tracking": "user_id",
    "analysis_results": "user_id",
    "webhook_inbox": "user_id",
    "user_freshness": "user_id",
}

LIBRARY_TABLES: tuple[Table, ...] = tuple(table for table in metadata.sorted_tables if table.schema == LIBRARY_SCHEMA)
"""The library's own tables (declared in ``LIBRARY_SCHEMA``), in creation order."""


def schema_map(schema: str | None) -> dict[str | None, str | None]:
    """An engine's ``schema_translate_map`` that puts the library's tables in ``schema`` (None: the default one)."""
    return {LIBRARY_SCHEMA: schema}


def library_schema_of(bind: Any) -> str | None:
    """The schema an engine or connection (``bind``) puts the library's tables in."""
    translate = bind.get_execution_options().get("schema_translate_map") or {}
    schema: str | None = translate.get(LIBRARY_SCHEMA, LIBRARY_SCHEMA)
    return schema


def qualified_name(table: Table, bind: Any) -> str:
    """``table``'s name as plain SQL text reaches it through ``bind`` (schema-qualified when it has one)."""
    schema = library_schema_of(bind) if table.schema == LIBRARY_SCHEMA else table.schema
    return table.name if schema is None else f'"{schema}"."{table.name}"'
