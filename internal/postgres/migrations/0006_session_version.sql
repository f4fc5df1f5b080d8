-- Login tokens carry the session version they were issued at; advancing it
-- (a password or role change, logging out everywhere) refuses every earlier token.
ALTER TABLE users ADD COLUMN session_version BIGINT NOT NULL DEFAULT 0;
