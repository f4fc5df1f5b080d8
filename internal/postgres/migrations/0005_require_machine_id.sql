-- A license may refuse public API requests that send no machine id; a
-- project's policy holds the default its new licenses copy.
ALTER TABLE projects ADD COLUMN require_machine_id BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE licenses ADD COLUMN require_machine_id BOOLEAN NOT NULL DEFAULT FALSE;
