-- buildledger schema v10: waivers. Every waiver has an owner, a reason and an
-- end; it is never deleted (revoking sets revoked_at), so the audit log and
-- the table tell the same story.
CREATE TABLE waivers (
    id BIGSERIAL PRIMARY KEY,
    advisory TEXT NOT NULL,
    scope_kind TEXT NOT NULL,
    scope_value TEXT NOT NULL,
    environment TEXT,
    owner TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX waivers_by_advisory ON waivers (advisory);
