-- KeyBox schema, SQLite. Times are Unix milliseconds (UTC); ids are 24-hex ObjectIds.
-- Foreign keys restrict: deleting a parent with children fails unless the children go first.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE clients (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (owner_id, email)
) STRICT;
CREATE INDEX clients_owner_created ON clients (owner_id, created_at DESC, id DESC);

CREATE TABLE projects (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL REFERENCES users (id),
    client_id  TEXT NOT NULL REFERENCES clients (id),
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX projects_owner_created ON projects (owner_id, created_at DESC, id DESC);
CREATE INDEX projects_client ON projects (client_id);

CREATE TABLE licenses (
    id           TEXT PRIMARY KEY,
    license_key  TEXT NOT NULL UNIQUE,
    owner_id     TEXT NOT NULL REFERENCES users (id),
    client_id    TEXT NOT NULL REFERENCES clients (id),
    project_id   TEXT NOT NULL REFERENCES projects (id),
    duration     INTEGER NOT NULL,
    issued_at    INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    status       TEXT NOT NULL,
    services     TEXT NOT NULL,
    max_machines INTEGER NOT NULL,
    machine_id   TEXT NOT NULL DEFAULT '',
    instance_id  TEXT NOT NULL DEFAULT '',
    product_name TEXT NOT NULL DEFAULT '',
    activated_at INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX licenses_owner_created ON licenses (owner_id, created_at DESC, id DESC);
CREATE INDEX licenses_client ON licenses (client_id);
CREATE INDEX licenses_project ON licenses (project_id);
CREATE INDEX licenses_active_expiry ON licenses (expires_at) WHERE status = 'ACTIVE';

CREATE TABLE activations (
    id                TEXT PRIMARY KEY,
    license_id        TEXT NOT NULL REFERENCES licenses (id),
    machine_id        TEXT NOT NULL,
    instance_id       TEXT NOT NULL,
    product_name      TEXT NOT NULL,
    activated_at      INTEGER NOT NULL,
    last_validated_at INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX activations_license ON activations (license_id, created_at);

-- Validations per license per day, kept when a license is deleted (they happened).
CREATE TABLE validation_counts (
    license_id TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    day        INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (license_id, day)
) STRICT;
CREATE INDEX validation_counts_owner_day ON validation_counts (owner_id, day);
