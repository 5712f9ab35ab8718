"""The few statements the queue runs itself, beside procrastinate's own (all cheap, index-backed)."""

from __future__ import annotations

from sahha_sync.application.ports.job_queue import USER_KEY

STATS = """
WITH live AS (
    SELECT
        count(*) FILTER (WHERE status = 'todo') AS queued,
        count(*) FILTER (WHERE status = 'doing') AS running,
        count(*) FILTER (WHERE status = 'failed') AS dead,
        min(id) FILTER (WHERE status = 'todo') AS oldest_id
    FROM procrastinate_jobs
    WHERE queue_name = %(queue)s AND status IN ('todo', 'doing', 'failed')
)
SELECT live.queued, live.running, live.dead,
       coalesce(c.completed, 0) AS completed,
       coalesce(c.failed, 0) AS failed,
       coalesce(c.retries, 0) AS retries,
       (SELECT extract(epoch FROM clock_timestamp() - min(e.at))
          FROM procrastinate_events e
         WHERE e.job_id = live.oldest_id AND e.type = 'deferred') AS oldest_age
FROM live
LEFT JOIN (  -- a queue's counters are the sum of its shards (revision 0016_job_counter_shards)
    SELECT sum(completed)::bigint AS completed, sum(failed)::bigint AS failed, sum(retries)::bigint AS retries
    FROM sahha_sync_job_counters WHERE queue_name = %(queue)s
) c ON true
"""

BUSY = """
SELECT count(*) AS busy FROM procrastinate_jobs
WHERE queue_name = %(queue)s AND status IN ('todo', 'doing')
"""

# The write-behind path (``_writer.JobWriter``): our own ids, and a pending dedup key turned into a duplicate.
# ``commit`` is this statement's ``synchronous_commit`` ('on' or 'off'): ``set_config(..., true)`` holds for the
# statement's own transaction, whose commit reads it, so a batch with a stored submit waits for the disk while the
# session's default (``ASYNC_COMMIT_OPTION``) stays off, and it costs no extra round trip.
# A job written while another with its key is running (its twin, re-submitted by recovery) starts with that one's
# attempts plus the one under way, so a job that kills its worker runs out of attempts.
INSERT_JOBS = """
INSERT INTO procrastinate_jobs (id, queue_name, task_name, priority, lock, queueing_lock, args, attempts)
SELECT j.id, %(queue)s, j.task_name, 0, j.lock, j.lock, j.args::jsonb,
       coalesce((SELECT max(r.attempts) + 1 FROM procrastinate_jobs r WHERE r.lock = j.lock AND r.status = 'doing'), 0)
FROM unnest(%(ids)s::bigint[], %(tasks)s::text[], %(locks)s::text[], %(args)s::text[]) AS j(id, task_name, lock, args)
CROSS JOIN (SELECT set_config('synchronous_commit', %(commit)s, true)) AS commit_mode
ON CONFLICT DO NOTHING
RETURNING id
"""

PENDING_WITH_LOCKS = """
SELECT id, queueing_lock FROM procrastinate_jobs WHERE queueing_lock = ANY(%(locks)s::text[]) AND status = 'todo'
"""

RESERVE_IDS = """
SELECT nextval(pg_get_serial_sequence('procrastinate_jobs', 'id')) AS id FROM generate_series(1, %(n)s)
"""

RECORD_ERROR = """
UPDATE procrastinate_jobs
SET args = args || jsonb_build_object(
    'last_error', jsonb_build_object('kind', %(kind)s::text, 'error', %(error)s::text)
)
WHERE id = %(id)s
"""

DEAD_JOBS = """
SELECT id, task_name, args, attempts, queueing_lock, lock
FROM procrastinate_jobs
WHERE queue_name = %(queue)s AND status = 'failed' AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
ORDER BY id
"""

DEAD_JOBS_FOR_UPDATE = DEAD_JOBS.strip() + "\nFOR UPDATE SKIP LOCKED"

DELETE_JOB = "DELETE FROM procrastinate_jobs WHERE id = %(id)s"

# A job that cannot go back because a queued twin holds its dedup key: the twin takes over its attempts.
GIVE_WAY = """
WITH gone AS (DELETE FROM procrastinate_jobs WHERE id = %(id)s)
UPDATE procrastinate_jobs SET attempts = greatest(attempts, %(attempts)s)
WHERE queueing_lock = %(lock)s AND status = 'todo'
"""

# The last attempt of a job died with its worker: the job is dead, and its queued twins (re-submitted by recovery
# meanwhile) go with it.
DROP_TWINS = "DELETE FROM procrastinate_jobs WHERE queueing_lock = %(lock)s AND status = 'todo'"

TRY_XACT_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext(%(key)s)) AS locked"

PURGE_USER = f"""
DELETE FROM procrastinate_jobs
WHERE queue_name = %(queue)s AND status IN ('todo', 'doing', 'failed', 'cancelled', 'aborted')
  AND args->'payload'->>'{USER_KEY}' = %(user)s
RETURNING id
"""
