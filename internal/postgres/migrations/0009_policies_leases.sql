-- A project's policy holds every default its new licenses copy; a license
-- holds its own lease, entitlements and metadata. Entitlements are stored as
-- a comma-separated list (codes never hold a comma), metadata as JSON text.
ALTER TABLE projects ADD COLUMN policy_duration INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN policy_max_machines INTEGER NOT NULL DEFAULT 1;
ALTER TABLE projects ADD COLUMN policy_lease_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN policy_entitlements TEXT NOT NULL DEFAULT '';
ALTER TABLE licenses ADD COLUMN lease_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE licenses ADD COLUMN entitlements TEXT NOT NULL DEFAULT '';
ALTER TABLE licenses ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
-- The lease sweep looks only at licenses with a lease.
CREATE INDEX licenses_leased ON licenses (id) WHERE lease_seconds > 0;
