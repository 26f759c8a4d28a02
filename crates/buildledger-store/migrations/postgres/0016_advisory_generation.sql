-- buildledger schema v16: a generation number for the advisories.
--
-- Every transaction that inserts or changes an advisory (its severity,
-- score, aliases, withdrawal) adds one to `n` before it commits, so a
-- reader that keeps what it read about advisories (their aliases and the
-- severity borrowed from an alias) knows with one row whether that is
-- still current. The row is written in the same transaction as the
-- advisories: a reader sees both changes or neither.
CREATE TABLE advisory_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO advisory_generation (id, n) VALUES (1, 0);
