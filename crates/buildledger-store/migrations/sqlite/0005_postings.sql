-- buildledger schema v5 (SQLite): record -> component links as one blob per
-- record, component -> record links as postings folded in bulk (see
-- src/postings.rs). The v4 table record_components is converted and dropped
-- by the migration code that runs after this script.
-- records.subjects: the record's subject digests in image id order, space
-- separated, so hits are read without a join (records are append-only).
ALTER TABLE records ADD COLUMN subjects TEXT NOT NULL DEFAULT '';
UPDATE records SET subjects = COALESCE((
    SELECT group_concat(digest, ' ') FROM (
        SELECT i.digest FROM record_subjects rs JOIN images i ON i.id = rs.image_id
        WHERE rs.record_id = records.id ORDER BY rs.image_id)), '');
CREATE TABLE record_links (
    record_id        INTEGER PRIMARY KEY,
    component_count  INTEGER NOT NULL,
    components       BLOB NOT NULL
);
CREATE TABLE record_component_extras (
    record_id     INTEGER NOT NULL,
    component_id  INTEGER NOT NULL,
    extra         TEXT NOT NULL,
    PRIMARY KEY (record_id, component_id)
) WITHOUT ROWID;
CREATE TABLE component_postings (
    id            INTEGER PRIMARY KEY,
    component_id  INTEGER NOT NULL,
    first_record  INTEGER NOT NULL,
    records       BLOB NOT NULL
);
CREATE UNIQUE INDEX component_postings_by_component ON component_postings (component_id, first_record);
CREATE TABLE postings_pending (
    record_id     INTEGER PRIMARY KEY
);
