-- buildledger schema v14 (SQLite): keyset pagination.
--
-- Nothing to create here: SQLite's indexes on records (source_repo,
-- source_commit, source_tag) already end in the rowid, so "this repo, ids
-- from N, in id order" is an index range. The migration code that runs after
-- this script checks that every component's postings rows are disjoint and
-- in order (see src/postings.rs), which keyset reads rely on.
SELECT 1;
