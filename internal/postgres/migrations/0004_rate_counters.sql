-- Fixed-window counters of the rate limits that every server sharing the
-- database must share (failed logins, guessed license keys). Keys are
-- hashes, never the e-mail addresses or client addresses they count.
CREATE TABLE rate_counters (
    id          TEXT PRIMARY KEY,
    events      INTEGER NOT NULL,
    window_ends BIGINT NOT NULL
);

CREATE INDEX rate_counters_window_ends ON rate_counters (window_ends);
