-- API tokens: long-lived credentials for scripts and integrations, scoped to
-- read or write. Only the SHA-256 of each secret is kept (token_hash), so a
-- copy of the database holds no usable token; prefix is the secret's start,
-- to recognise a token by. Deleting an account deletes its tokens.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    owner_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    prefix       TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    expires_at   INTEGER,
    last_used_at INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX api_tokens_owner_created ON api_tokens (owner_id, created_at DESC, id DESC);
