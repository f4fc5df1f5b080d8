-- The change feed of the validation cache: every committed change to a
-- license or to its set of seats is announced on the channel
-- keybox_licenses as "k", the schema and the key, separated by newlines
-- (the channel is shared by every schema of the database). Notifications
-- are delivered at commit, in commit order, to every server listening. A
-- seat's last-validated time is left out: it only moves forward, and the
-- servers judge leases from it at read time. SQLite keeps a table of the
-- same name instead; here it stays empty, so both engines have the same
-- schema.
CREATE TABLE license_changes (
    seq         BIGSERIAL PRIMARY KEY,
    license_key TEXT NOT NULL
);

CREATE FUNCTION keybox_license_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('keybox_licenses', 'k' || chr(10) || TG_TABLE_SCHEMA || chr(10) || OLD.license_key);
    ELSE
        PERFORM pg_notify('keybox_licenses', 'k' || chr(10) || TG_TABLE_SCHEMA || chr(10) || NEW.license_key);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION keybox_seat_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT license_key INTO k FROM licenses WHERE id = OLD.license_id;
    ELSE
        SELECT license_key INTO k FROM licenses WHERE id = NEW.license_id;
    END IF;
    IF k IS NOT NULL THEN
        PERFORM pg_notify('keybox_licenses', 'k' || chr(10) || TG_TABLE_SCHEMA || chr(10) || k);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER licenses_changed AFTER INSERT OR UPDATE OR DELETE ON licenses
    FOR EACH ROW EXECUTE FUNCTION keybox_license_changed();
CREATE TRIGGER activations_changed AFTER INSERT OR DELETE ON activations
    FOR EACH ROW EXECUTE FUNCTION keybox_seat_changed();
