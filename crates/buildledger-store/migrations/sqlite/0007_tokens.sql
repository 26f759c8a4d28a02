-- buildledger schema v7: API tokens for the server. Only a SHA-256 of each
-- token is kept (the secret is shown once, at creation); scopes are a
-- space-separated list; a builder token is bound to one builder id.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    builder_id TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
