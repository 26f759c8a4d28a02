-- buildledger schema v8: work that must happen once among several server
-- replicas, coordinated through the database alone.
-- jobs: a queue (index-on-push); a job is claimed with a lease, retried with
-- backoff, and survives restarts (an expired lease is claimed again).
CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    job_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    run_after BIGINT NOT NULL,
    leased_by TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_after);
-- One live or finished job per key: a second push of the same digest is not
-- queued again (a failed one may be).
CREATE UNIQUE INDEX jobs_once ON jobs (kind, job_key) WHERE state <> 'failed';
-- feed_sources: per-source sync state and the lease that makes one replica
-- sync a source at a time.
CREATE TABLE feed_sources (
    name TEXT PRIMARY KEY,
    location TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    last_attempt BIGINT,
    last_success BIGINT,
    last_error TEXT,
    advisories BIGINT NOT NULL DEFAULT 0,
    leased_by TEXT,
    lease_until BIGINT
);
