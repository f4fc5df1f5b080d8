-- A revoked signing key (one that may have leaked) verifies nothing, whatever
-- it signed and when.
ALTER TABLE signing_keys ADD COLUMN revoked_at BIGINT;

-- Private keys are kept encrypted with a key derived from the server's secret
-- (KEYBOX_SECRET_KEY), so that a copy of the database alone cannot sign. Keys
-- made before this migration hold their private key in private_key until the
-- server, at its next start, encrypts it into sealed_private_key and empties
-- private_key; keys made since never hold it there.
ALTER TABLE signing_keys ADD COLUMN sealed_private_key TEXT;
