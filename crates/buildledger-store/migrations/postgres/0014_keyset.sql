-- buildledger schema v14 (PostgreSQL): keyset pagination.
--
-- Queries read a page as "matching records with id from N, in id order".
-- The source indexes gain the id so that is an index range here too (SQLite's
-- indexes end in the rowid already). The migration code that runs after this
-- script makes every component's postings rows disjoint and in order (see
-- src/postings.rs), which keyset reads rely on.
CREATE INDEX records_by_repo_id ON records (source_repo, id);
CREATE INDEX records_by_commit_id ON records (source_commit, id);
CREATE INDEX records_by_tag_id ON records (source_tag, id);
DROP INDEX records_by_repo;
DROP INDEX records_by_commit;
DROP INDEX records_by_tag;
