-- The event log: every change of state, written in the transaction that made
-- it. The events of one owner ('' for the installation) form a hash chain:
-- each event has the next sequence number of its chain and a hash covering
-- the previous event's hash and its own fields. event_chains holds each
-- chain's head (its last event) and, after retention has removed old events,
-- the last one removed, from which the stored events continue. Updating the
-- head row in the transaction that appends keeps each chain linear. It also
-- counts the owner's webhooks, so that an owner without any costs no lookup
-- of them per event.
CREATE TABLE event_chains (
    owner_id    TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    pruned_seq  BIGINT NOT NULL DEFAULT 0,
    pruned_hash TEXT NOT NULL DEFAULT '',
    webhooks    BIGINT NOT NULL DEFAULT 0
);

-- No foreign keys: the log outlives what it describes. data is kept as the
-- exact text that was hashed. One index, the primary key in chain order,
-- which is the order each owner's events are listed in, newest first.
CREATE TABLE events (
    owner_id     TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    id           TEXT NOT NULL,
    type         TEXT NOT NULL,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    data         TEXT NOT NULL,
    ip           TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    PRIMARY KEY (owner_id, seq)
);

-- A developer's webhook endpoints. The signing secret is stored sealed
-- (encrypted with a key derived from the server's secret key).
CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY,
    owner_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url           TEXT NOT NULL,
    events        TEXT NOT NULL,
    description   TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL,
    sealed_secret TEXT NOT NULL,
    failing_since BIGINT,
    disabled_at   BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX webhooks_owner ON webhooks (owner_id, created_at, id);

-- The outbox: one row per message to one webhook, written with its event.
-- A server attempting a delivery leases it (lease, and next_attempt_at moved
-- to the lease's end), so that one server attempts each due delivery; a
-- server that dies mid-attempt leaves it due again when the lease ends.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    owner_id        TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease           TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (created_at) WHERE status <> 'pending';

-- Each attempt of a delivery: when, the outcome, the answer's status code,
-- how long it took, the first bytes of the answer, and the error if any.
CREATE TABLE webhook_attempts (
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at BIGINT NOT NULL,
    success      BOOLEAN NOT NULL,
    status_code  BIGINT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    response     TEXT NOT NULL,
    error        TEXT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);
