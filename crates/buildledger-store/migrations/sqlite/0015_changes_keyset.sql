-- buildledger schema v15 (SQLite): keyset pages of finding changes.
--
-- Nothing to create here: finding_events_by_time (at) ends in the rowid,
-- which is the event id, so "from (at, id) on, in (at, id) order" is an
-- index range already.
SELECT 1;
