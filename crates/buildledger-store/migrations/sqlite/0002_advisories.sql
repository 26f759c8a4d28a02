-- buildledger schema v2 (SQLite): advisories and findings.
-- components.match_key is the package an advisory names: the purl package
-- for language packages, the *source* package for distro packages
-- (pkg:deb/debian/openssl for libssl3), so one index lookup finds them.
ALTER TABLE components ADD COLUMN match_key TEXT;
UPDATE components SET match_key = package;
CREATE INDEX components_by_match_key ON components (match_key);
CREATE TABLE advisories (
    id            INTEGER PRIMARY KEY,
    advisory_id   TEXT NOT NULL UNIQUE,
    source        TEXT NOT NULL,
    modified      INTEGER,
    withdrawn     INTEGER,
    content_hash  TEXT NOT NULL,
    summary       TEXT,
    severity      TEXT,
    score         TEXT,
    imported_at   INTEGER NOT NULL,
    body          TEXT NOT NULL
);
CREATE TABLE advisory_aliases (
    alias         TEXT NOT NULL,
    advisory      INTEGER NOT NULL,
    PRIMARY KEY (alias, advisory)
) WITHOUT ROWID;
CREATE INDEX advisory_aliases_by_advisory ON advisory_aliases (advisory);
CREATE TABLE advisory_packages (
    match_key     TEXT NOT NULL,
    advisory      INTEGER NOT NULL,
    PRIMARY KEY (match_key, advisory)
) WITHOUT ROWID;
CREATE INDEX advisory_packages_by_advisory ON advisory_packages (advisory);
CREATE TABLE findings (
    component_id  INTEGER NOT NULL,
    advisory      INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    fixed         TEXT,
    revision      TEXT NOT NULL,
    found_at      INTEGER NOT NULL,
    PRIMARY KEY (component_id, advisory)
) WITHOUT ROWID;
CREATE INDEX findings_by_advisory ON findings (advisory, component_id);
CREATE TABLE finding_events (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    change        TEXT NOT NULL,
    component_id  INTEGER NOT NULL,
    advisory      INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    fixed         TEXT,
    revision      TEXT NOT NULL
);
CREATE INDEX finding_events_by_time ON finding_events (at);
