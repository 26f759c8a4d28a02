-- buildledger schema v19: the newest alerts in a state, read from an index.
--
-- The console's overview lists the newest firing alerts. Every (workload,
-- digest, rule, advisory) the posture flags is one alert, so 10,000
-- containers of images with a hundred findings each fire a million; a
-- page of the newest sorted them all. This index serves that order (state,
-- then newest first, then key) and stops after the page. It also serves
-- every lookup by state, so the index on state alone goes (one index less
-- to write for each of a million alerts).
CREATE INDEX alerts_newest ON alerts (state, starts_at DESC, alert_key);
DROP INDEX alerts_by_state;
