-- buildledger schema v15 (PostgreSQL): keyset pages of finding changes.
--
-- `changes` reads a page as "events at or after T, from (at, id) on, in
-- (at, id) order". One re-match can write a hundred thousand events with the
-- same `at`, so the index carries the id too; otherwise every page would sort
-- that whole group.
CREATE INDEX finding_events_by_time_id ON finding_events (at, id);
DROP INDEX finding_events_by_time;
