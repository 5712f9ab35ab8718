"""The durable queue's job counters in shards: a queue's completed jobs, failed attempts and retries are the sum of
up to 64 rows, each connection adding to the row of its shard (its backend's process id).

With one row per queue, every job that ended updated that row, so jobs ending at the same time in any worker
process waited for each other's commit: the counter took 3.3 of the 3.9 ms the database spent finishing each
archival job in ``benchmarks/queue_throughput.py --goals``, most of it waiting, and every worker process added to
the same queue. The figures read the same (``get_stats`` adds the shards up); downgrading adds them back into one
row per queue.

Revision ID: 0016_job_counter_shards
Revises: 0015_erasure_check_once
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._closing import close_to_api
from sahha_sync.migrations._job_counters import count_job_outcome_function

revision: str = "0016_job_counter_shards"
down_revision: str | Sequence[str] | None = "0015_erasure_check_once"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "sahha_sync_job_counters"
KEY = "sahha_sync_job_counters_pkey"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":  # the durable queue is Postgres's alone
        return
    op.execute(sa.text(f"ALTER TABLE {TABLE} ADD COLUMN shard smallint NOT NULL DEFAULT 0"))
    op.execute(sa.text(f"ALTER TABLE {TABLE} DROP CONSTRAINT {KEY}"))
    op.execute(sa.text(f"ALTER TABLE {TABLE} ADD CONSTRAINT {KEY} PRIMARY KEY (queue_name, shard)"))
    op.execute(sa.text(count_job_outcome_function(sharded=True)))
    close_to_api()


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(sa.text(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE"))
    op.execute(
        sa.text(
            f"CREATE TEMP TABLE sahha_sync_summed_counters ON COMMIT DROP AS SELECT queue_name, sum(completed) AS "
            f"completed, sum(failed) AS failed, sum(retries) AS retries FROM {TABLE} GROUP BY queue_name"
        )
    )
    op.execute(sa.text(f"DELETE FROM {TABLE}"))
    op.execute(sa.text(f"ALTER TABLE {TABLE} DROP CONSTRAINT {KEY}"))
    op.execute(sa.text(f"ALTER TABLE {TABLE} DROP COLUMN shard"))
    op.execute(sa.text(f"ALTER TABLE {TABLE} ADD CONSTRAINT {KEY} PRIMARY KEY (queue_name)"))
    op.execute(
        sa.text(
            f"INSERT INTO {TABLE} (queue_name, completed, failed, retries) "
            "SELECT queue_name, completed, failed, retries FROM sahha_sync_summed_counters"
        )
    )
    op.execute(sa.text(count_job_outcome_function(sharded=False)))
    close_to_api()
