-- The change feed of the validation cache: every committed change to a
-- license or to its set of seats is numbered here, in commit order (SQLite
-- has one writer at a time), and each server reads what is new every round
-- to forget those licenses. A seat's last-validated time is left out: it
-- only moves forward, and the servers judge leases from it at read time.
-- Only the latest rows are kept; a server that falls behind them forgets
-- everything.
CREATE TABLE license_changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    license_key TEXT NOT NULL
);
CREATE TRIGGER license_changes_trim AFTER INSERT ON license_changes BEGIN
    DELETE FROM license_changes WHERE seq <= NEW.seq - 10000;
END;
CREATE TRIGGER licenses_changed_insert AFTER INSERT ON licenses BEGIN
    INSERT INTO license_changes (license_key) VALUES (NEW.license_key);
END;
CREATE TRIGGER licenses_changed_update AFTER UPDATE ON licenses BEGIN
    INSERT INTO license_changes (license_key) VALUES (NEW.license_key);
END;
CREATE TRIGGER licenses_changed_delete AFTER DELETE ON licenses BEGIN
    INSERT INTO license_changes (license_key) VALUES (OLD.license_key);
END;
CREATE TRIGGER activations_changed_insert AFTER INSERT ON activations BEGIN
    INSERT INTO license_changes (license_key) SELECT license_key FROM licenses WHERE id = NEW.license_id;
END;
CREATE TRIGGER activations_changed_delete AFTER DELETE ON activations BEGIN
    INSERT INTO license_changes (license_key) SELECT license_key FROM licenses WHERE id = OLD.license_id;
END;
