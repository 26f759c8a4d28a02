-- buildledger schema v4 (SQLite): keep record bodies out of the records
-- table (so scans of records stay small), and keep per-link extras (hashes,
-- location) on the link instead of repeating every component in the body.
CREATE TABLE record_bodies (
    record_id   INTEGER PRIMARY KEY,
    body        TEXT NOT NULL
);
INSERT INTO record_bodies (record_id, body) SELECT id, body FROM records;
ALTER TABLE records DROP COLUMN body;
ALTER TABLE record_components ADD COLUMN extra TEXT;
