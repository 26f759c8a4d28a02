-- buildledger schema v11: OpenVEX statements and the posture cache.
--
-- A VEX document is never updated in place: a newer version of the same
-- document (same author, @id and trust) is a new row, and the row it
-- replaces gets superseded_by. Statements are one row per vulnerability
-- name (the statement's name and each alias), product and subcomponent.
CREATE TABLE vex_documents (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    author TEXT NOT NULL,
    version INTEGER NOT NULL,
    trusted INTEGER NOT NULL,
    key_id TEXT,
    sha256 TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    imported_at INTEGER NOT NULL,
    superseded_by INTEGER
);
CREATE INDEX vex_documents_by_doc ON vex_documents (author, doc_id, trusted);
CREATE TABLE vex_statements (
    id INTEGER PRIMARY KEY,
    document INTEGER NOT NULL REFERENCES vex_documents (id),
    name TEXT NOT NULL,
    vulnerability TEXT NOT NULL,
    product_kind TEXT NOT NULL,
    product TEXT NOT NULL,
    subcomponent TEXT,
    status TEXT NOT NULL,
    justification TEXT,
    impact_statement TEXT,
    action_statement TEXT,
    stated_at INTEGER NOT NULL
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
    priority INTEGER NOT NULL,
    computed_at INTEGER NOT NULL,
    PRIMARY KEY (digest, environment, cluster, namespace, workload)
);
CREATE TABLE posture_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    policy_hash TEXT NOT NULL,
    record_seq INTEGER NOT NULL,
    event_seq INTEGER NOT NULL,
    vex_seq INTEGER NOT NULL,
    live_waivers TEXT NOT NULL,
    refreshed_at INTEGER NOT NULL,
    -- UTC day (days since 1970-01-01) of the last refresh: the input's
    -- days_since_published moves with it, so a new day refreshes fully.
    day INTEGER NOT NULL DEFAULT 0
);

-- When each advisory was published (ms since the epoch), for the policy
-- input's days_since_published; filled from the stored advisory.
ALTER TABLE advisories ADD COLUMN published INTEGER;
UPDATE advisories SET published =
    CAST(ROUND((julianday(json_extract(body, '$.published')) - 2440587.5) * 86400000) AS INTEGER)
WHERE json_valid(body) AND json_extract(body, '$.published') IS NOT NULL;
