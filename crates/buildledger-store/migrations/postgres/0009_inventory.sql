-- buildledger schema v9: the runtime inventory, which digests run where.
-- A cluster's snapshot replaces its rows; first_seen survives a snapshot
-- for a container that keeps running the same image.
CREATE TABLE inventory (
    id BIGSERIAL PRIMARY KEY,
    cluster TEXT NOT NULL,
    namespace TEXT NOT NULL,
    environment TEXT,
    workload_kind TEXT NOT NULL,
    workload_name TEXT NOT NULL,
    pod TEXT NOT NULL,
    container TEXT NOT NULL,
    container_kind TEXT NOT NULL,
    image TEXT NOT NULL,
    image_id TEXT,
    digest TEXT,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX inventory_by_cluster ON inventory (cluster);
CREATE INDEX inventory_by_digest ON inventory (digest);
