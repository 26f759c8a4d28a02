-- buildledger schema v11: OpenVEX statements and the posture cache.
--
-- A VEX document is never updated in place: a newer version of the same
-- document (same author, @id and trust) is a new row, and the row it
-- replaces gets superseded_by. Statements are one row per vulnerability
-- name (the statement's name and each alias), product and subcomponent.
CREATE TABLE vex_documents (
    id BIGSERIAL PRIMARY KEY,
    doc_id TEXT NOT NULL,
    author TEXT NOT NULL,
    version BIGINT NOT NULL,
    trusted BIGINT NOT NULL,
    key_id TEXT,
    sha256 TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    imported_at BIGINT NOT NULL,
    superseded_by BIGINT
);
CREATE INDEX vex_documents_by_doc ON vex_documents (author, doc_id, trusted);
CREATE TABLE vex_statements (
    id BIGSERIAL PRIMARY KEY,
    document BIGINT NOT NULL REFERENCES vex_documents (id),
    name TEXT NOT NULL,
    vulnerability TEXT NOT NULL,
    product_kind TEXT NOT NULL,
    product TEXT NOT NULL,
    subcomponent TEXT,
    status TEXT NOT NULL,
    justification TEXT,
    impact_statement TEXT,
    action_statement TEXT,
    stated_at BIGINT NOT NULL
);
CREATE INDEX vex_statements_by_name ON vex_statements (name);
CREATE INDEX vex_statements_by_document ON vex_statements (document);

-- The decision for each (image, deployment) the inventory runs: derived
-- data, kept current by the posture refresh from the ledger's own logs.
CREATE TABLE posture_decisions (
    digest TEXT NOT NULL,
    environment TEXT NOT NULL,
    cluster TEXT NOT NULL,
    namespace TEXT NOT NULL,
    workload TEXT NOT NULL,
    decision TEXT NOT NULL,
    reasons TEXT NOT NULL,
    priority BIGINT NOT NULL,
    computed_at BIGINT NOT NULL,
    PRIMARY KEY (digest, environment, cluster, namespace, workload)
);
CREATE TABLE posture_state (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    policy_hash TEXT NOT NULL,
    record_seq BIGINT NOT NULL,
    event_seq BIGINT NOT NULL,
    vex_seq BIGINT NOT NULL,
    live_waivers TEXT NOT NULL,
    refreshed_at BIGINT NOT NULL,
    -- UTC day (days since 1970-01-01) of the last refresh: the input's
    -- days_since_published moves with it, so a new day refreshes fully.
    day BIGINT NOT NULL DEFAULT 0
);

-- When each advisory was published (ms since the epoch), for the policy
-- input's days_since_published; filled from the stored advisory.
ALTER TABLE advisories ADD COLUMN published BIGINT;
UPDATE advisories SET published =
    (EXTRACT(EPOCH FROM (body::jsonb ->> 'published')::timestamptz) * 1000)::BIGINT
WHERE body::jsonb ->> 'published' IS NOT NULL;
