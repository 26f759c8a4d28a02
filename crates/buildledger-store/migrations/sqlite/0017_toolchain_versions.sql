-- buildledger schema v17: the distinct versions of each toolchain.
--
-- A toolchain query (`go@<1.14`) tests its range against every version
-- recorded for that toolchain, then reads each matching version's records.
-- Listing the versions was a loose index scan of `record_toolchains`: one
-- seek per version, ~1.4 ms for Go's 120 versions on PostgreSQL, more than
-- the page itself. This table holds each (name, version) once, written in
-- the transaction that first records it; rows are never removed (records
-- are append-only), so it is always a superset of what the records name.
CREATE TABLE toolchain_versions (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
INSERT INTO toolchain_versions (name, version)
    SELECT DISTINCT name, version FROM record_toolchains;
