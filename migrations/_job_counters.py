"""The durable queue's job counters: completed jobs, failed attempts and retries per queue, kept by a trigger on
``procrastinate_jobs`` (the queue deletes finished jobs, so these figures cannot be counted from its rows).

Revision ``0005_job_queue`` kept one row per queue; every job that ended updated it, so jobs ending at the same time
in any worker waited for each other's commit on that row. Since ``0016_job_counter_shards`` each queue has up to
``SHARDS`` rows, a connection adding to the row of its own shard (its backend's process id), and readers add the
shards up.
"""

from __future__ import annotations

SHARDS = 64


def count_job_outcome_function(*, sharded: bool) -> str:
    """``CREATE OR REPLACE`` of the trigger function, adding to the connection's shard or to the queue's one row."""
    columns, key, shard = (
        ("queue_name, shard, completed, failed, retries", "queue_name, shard", f", pg_backend_pid() % {SHARDS}")
        if sharded
        else ("queue_name, completed, failed, retries", "queue_name", "")
    )
    return f"""
CREATE OR REPLACE FUNCTION sahha_sync_count_job_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    _queue character varying;
    _completed int := 0;
    _failed int := 0;
    _retries int := 0;
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- a successful job deleted on completion goes straight from 'doing' to gone
        IF OLD.status <> 'doing' THEN RETURN NULL; END IF;
        _queue := OLD.queue_name;
        _completed := 1;
    ELSE
        IF OLD.status <> 'doing' OR NEW.status = OLD.status THEN RETURN NULL; END IF;
        _queue := NEW.queue_name;
        IF NEW.status = 'succeeded' THEN _completed := 1;
        ELSIF NEW.status = 'todo' THEN _failed := 1; _retries := 1;
        ELSIF NEW.status = 'failed' THEN _failed := 1;
        ELSE RETURN NULL;
        END IF;
    END IF;
    INSERT INTO sahha_sync_job_counters AS c ({columns})
        VALUES (_queue{shard}, _completed, _failed, _retries)
        ON CONFLICT ({key}) DO UPDATE
        SET completed = c.completed + EXCLUDED.completed,
            failed = c.failed + EXCLUDED.failed,
            retries = c.retries + EXCLUDED.retries;
    RETURN NULL;
END;
$$;
"""
