-- buildledger schema v16: generation numbers for advisories and findings.
--
-- Every transaction that inserts or changes an advisory (its severity,
-- score, aliases, withdrawal) adds one to `advisories` before it commits,
-- and every transaction that adds, changes or removes a finding adds one
-- to `findings`. A reader that keeps what it read (an advisory's aliases
-- and the severity it borrows from an alias; the findings of a component)
-- knows with one row whether that is still current. The row is written in
-- the same transaction as the change: a reader sees both or neither.
CREATE TABLE ledger_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    advisories BIGINT NOT NULL,
    findings BIGINT NOT NULL
);
INSERT INTO ledger_generation (id, advisories, findings) VALUES (1, 0, 0);
