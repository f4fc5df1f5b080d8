-- One-time codes that hand a sign-in through a provider (Google, OpenID
-- Connect) over to the dashboard, which exchanges one for a login token.
-- Only a hash of each code is kept; a code lives a minute and is deleted
-- when it is used, so any server sharing the database accepts it once.
CREATE TABLE signin_codes (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX signin_codes_expires ON signin_codes (expires_at);
CREATE INDEX signin_codes_user ON signin_codes (user_id);
