-- buildledger schema v3 (SQLite): layer chains for base-image lineage, and
-- the hash-chained audit log.
CREATE TABLE image_layers (
    image_id    INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    diff_id     TEXT NOT NULL,
    PRIMARY KEY (image_id, position)
) WITHOUT ROWID;
CREATE INDEX image_layers_by_diff ON image_layers (diff_id, position);
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    subject     TEXT,
    payload     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE
);
