-- buildledger schema v1 (SQLite). Ids are rowids; times are Unix milliseconds.
CREATE TABLE images (
    id          INTEGER PRIMARY KEY,
    digest      TEXT NOT NULL UNIQUE,
    media_type  TEXT,
    first_seen  INTEGER NOT NULL
);
CREATE TABLE image_manifests (
    index_id    INTEGER NOT NULL,
    manifest_id INTEGER NOT NULL,
    platform    TEXT,
    PRIMARY KEY (index_id, manifest_id)
) WITHOUT ROWID;
CREATE INDEX image_manifests_by_manifest ON image_manifests (manifest_id);
CREATE TABLE image_refs (
    image_id    INTEGER NOT NULL,
    reference   TEXT NOT NULL,
    first_seen  INTEGER NOT NULL,
    PRIMARY KEY (image_id, reference)
) WITHOUT ROWID;
CREATE INDEX image_refs_by_reference ON image_refs (reference);
CREATE TABLE records (
    id              INTEGER PRIMARY KEY,
    record_time     INTEGER NOT NULL,
    build_time      INTEGER,
    origin          TEXT NOT NULL,
    trust_state     TEXT NOT NULL,
    trust_key       TEXT,
    builder_id      TEXT,
    source_repo     TEXT,
    source_commit   TEXT,
    source_tag      TEXT,
    source_dirty    INTEGER,
    body            TEXT NOT NULL
);
CREATE INDEX records_by_repo ON records (source_repo);
CREATE INDEX records_by_commit ON records (source_commit);
CREATE INDEX records_by_tag ON records (source_tag);
CREATE INDEX records_by_time ON records (record_time);
CREATE TABLE record_subjects (
    record_id   INTEGER NOT NULL,
    image_id    INTEGER NOT NULL,
    PRIMARY KEY (record_id, image_id)
) WITHOUT ROWID;
CREATE INDEX record_subjects_by_image ON record_subjects (image_id, record_id);
CREATE TABLE record_images (
    record_id   INTEGER NOT NULL,
    image_id    INTEGER NOT NULL,
    role        TEXT NOT NULL,
    PRIMARY KEY (record_id, image_id, role)
) WITHOUT ROWID;
CREATE INDEX record_images_by_image ON record_images (image_id);
CREATE TABLE record_toolchains (
    record_id   INTEGER NOT NULL,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    PRIMARY KEY (record_id, name, version)
) WITHOUT ROWID;
CREATE INDEX record_toolchains_by_version ON record_toolchains (name, version, record_id);
CREATE TABLE record_apis (
    record_id   INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    version     TEXT,
    stability   TEXT NOT NULL
);
CREATE INDEX record_apis_by_record ON record_apis (record_id);
CREATE INDEX record_apis_by_stability ON record_apis (stability, record_id);
CREATE TABLE components (
    id          INTEGER PRIMARY KEY,
    purl        TEXT NOT NULL UNIQUE,
    package     TEXT NOT NULL,
    version     TEXT NOT NULL
);
CREATE INDEX components_by_package ON components (package, version);
CREATE TABLE record_components (
    record_id    INTEGER NOT NULL,
    component_id INTEGER NOT NULL,
    scope        INTEGER NOT NULL,
    PRIMARY KEY (record_id, component_id)
) WITHOUT ROWID;
CREATE INDEX record_components_by_component ON record_components (component_id, record_id);
