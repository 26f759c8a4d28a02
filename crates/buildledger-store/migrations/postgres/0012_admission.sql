-- buildledger schema v12: admission and alerts.
--
-- The admission webhook records each admitted object's containers,
-- replacing that object's rows: find them by object.
CREATE INDEX inventory_by_object ON inventory (cluster, namespace, workload_kind, workload_name, pod);
-- alerts: one row per (cluster, namespace, workload, digest, rule, advisory)
-- the policy ever flagged, firing or resolved; deliveries are jobs of kind
-- `alert:SINK` (the job queue is the outbox: leases, retries, once per key).
CREATE TABLE alerts (
    id BIGSERIAL PRIMARY KEY,
    alert_key TEXT NOT NULL UNIQUE,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    state TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX alerts_by_state ON alerts (state);
