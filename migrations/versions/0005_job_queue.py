"""The durable job queue: procrastinate's schema, plus the queue's counters and payload scrubbing.

procrastinate ships its schema as SQL in the installed package and keeps no version table of its own, so this
revision applies the SQL of the version installed when it runs; a later upgrade of procrastinate's schema
needs a revision of its own (its migration files are in ``procrastinate/sql/migrations/``).

Beside procrastinate's tables it adds:

- ``sahha_sync_job_counters``: completed jobs, failed attempts and retries per queue, kept by a trigger on
  ``procrastinate_jobs`` — the queue deletes finished jobs, so these figures cannot be counted from its rows;
- a trigger that drops a job's ``transient_data`` (the compressed health data a job carries) as soon as the
  job ends without success, so no health data stays in the queue's tables once a job finished;
- row level security on every table, so Supabase's anon key cannot read job payloads.

Postgres only: on SQLite (the embedded default, which uses the in-memory queue) it does nothing.
"""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._job_counters import count_job_outcome_function

revision = "0005_job_queue"
down_revision = "0004_archive_extras"
branch_labels = None
depends_on = None

PROCRASTINATE_TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)
PROCRASTINATE_TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type", "procrastinate_job_status")

EXTRAS_TABLE = """
CREATE TABLE sahha_sync_job_counters (
    queue_name character varying(128) PRIMARY KEY,
    completed bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    retries bigint NOT NULL DEFAULT 0
);
"""

EXTRAS_TRIGGERS = """CREATE TRIGGER sahha_sync_count_job_outcome
    AFTER UPDATE OF status OR DELETE ON procrastinate_jobs
    FOR EACH ROW EXECUTE FUNCTION sahha_sync_count_job_outcome();

CREATE FUNCTION sahha_sync_drop_transient_data() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.args := NEW.args - 'transient_data';
    RETURN NEW;
END;
$$;

CREATE TRIGGER sahha_sync_drop_transient_data
    BEFORE UPDATE OF status ON procrastinate_jobs
    FOR EACH ROW
    WHEN (NEW.status IN ('failed', 'cancelled', 'aborted', 'succeeded') AND NEW.args ? 'transient_data')
    EXECUTE FUNCTION sahha_sync_drop_transient_data();
"""

DROP_PROCRASTINATE_FUNCTIONS = """
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure AS signature
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND left(p.proname, 14) = 'procrastinate_'
    LOOP
        EXECUTE 'DROP FUNCTION ' || r.signature || ' CASCADE';
    END LOOP;
END;
$$;
"""


def procrastinate_schema_sql() -> str:
    return resources.files("procrastinate.sql").joinpath("schema.sql").read_text(encoding="utf-8")


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _is_postgres():
        return
    op.execute(sa.text(procrastinate_schema_sql()))
    op.execute(sa.text(EXTRAS_TABLE + count_job_outcome_function(sharded=False) + EXTRAS_TRIGGERS))
    for table in (*PROCRASTINATE_TABLES, "sahha_sync_job_counters"):
        op.execute(sa.text(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"))


def downgrade() -> None:
    if not _is_postgres():
        return
    op.execute(sa.text("DROP TABLE IF EXISTS sahha_sync_job_counters"))
    op.execute(sa.text("DROP FUNCTION IF EXISTS sahha_sync_count_job_outcome() CASCADE"))
    op.execute(sa.text("DROP FUNCTION IF EXISTS sahha_sync_drop_transient_data() CASCADE"))
    op.execute(sa.text(f"DROP TABLE IF EXISTS {', '.join(PROCRASTINATE_TABLES)} CASCADE"))
    op.execute(sa.text(DROP_PROCRASTINATE_FUNCTIONS))
    op.execute(sa.text(f"DROP TYPE IF EXISTS {', '.join(PROCRASTINATE_TYPES)} CASCADE"))
