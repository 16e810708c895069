-- The audit trigger keeps what it knows about a table across statements
-- (JSON plan, names, primary key) and the log's location and user names.
-- Every change those depend on must show in the very next statement of the
-- same session.
CREATE SCHEMA cshop;
CREATE TABLE cshop.item (id int PRIMARY KEY, name text, qty int);
SELECT steward.enable_audit('cshop.item');
CREATE FUNCTION last_entry(OUT schema_name name, OUT table_name name, OUT row_id text, OUT new_row jsonb,
                           OUT db_user name, OUT "current_role" name)
  LANGUAGE sql AS $$
  SELECT schema_name, table_name, row_id, new_row, db_user, "current_role" FROM steward.audit_log
   ORDER BY id DESC LIMIT 1 $$;
INSERT INTO cshop.item VALUES (1, 'nut', 10);
SELECT * FROM last_entry();

-- New, renamed, retyped and dropped columns.
ALTER TABLE cshop.item ADD COLUMN price numeric;
INSERT INTO cshop.item VALUES (2, 'bolt', 5, 0.25);
SELECT new_row FROM last_entry();
ALTER TABLE cshop.item RENAME COLUMN qty TO quantity;
INSERT INTO cshop.item VALUES (3, 'screw', 7, 0.10);
SELECT new_row FROM last_entry();
ALTER TABLE cshop.item ALTER COLUMN quantity TYPE text;
INSERT INTO cshop.item VALUES (4, 'washer', 'many', 0.01);
SELECT new_row FROM last_entry();
ALTER TABLE cshop.item DROP COLUMN price;
INSERT INTO cshop.item VALUES (5, 'pin', '1');
SELECT new_row FROM last_entry();

-- A new primary key changes row_id.
ALTER TABLE cshop.item DROP CONSTRAINT item_pkey;
ALTER TABLE cshop.item ADD PRIMARY KEY (id, name);
INSERT INTO cshop.item VALUES (6, 'rivet', '2');
SELECT row_id FROM last_entry();

-- Re-enabling with other options, renaming the table and its schema.
SELECT steward.enable_audit('cshop.item', exclude_columns => ARRAY['quantity']);
INSERT INTO cshop.item VALUES (7, 'clip', '3');
SELECT new_row FROM last_entry();
ALTER TABLE cshop.item RENAME TO article;
ALTER SCHEMA cshop RENAME TO cstore;
INSERT INTO cstore.article VALUES (8, 'hook', '4');
SELECT schema_name, table_name, row_id FROM last_entry();

-- Roles: the session user and current role as they are now, renames included.
CREATE ROLE auditee;
GRANT USAGE ON SCHEMA cstore TO auditee;
GRANT INSERT ON cstore.article TO auditee;
SET ROLE auditee;
INSERT INTO cstore.article VALUES (9, 'ring', '5');
RESET ROLE;
SELECT db_user = session_user AS session_user_ok, "current_role" FROM last_entry();
ALTER ROLE auditee RENAME TO auditor;
SET ROLE auditor;
INSERT INTO cstore.article VALUES (10, 'band', '6');
RESET ROLE;
SELECT "current_role" FROM last_entry();

-- A cast to json created after the first statement changes how a type renders.
CREATE TYPE tone AS ENUM ('low', 'high');
CREATE TABLE sound (id int PRIMARY KEY, t tone);
SELECT steward.enable_audit('sound');
INSERT INTO sound VALUES (1, 'low');
SELECT new_row FROM last_entry();
CREATE FUNCTION tone_json(tone) RETURNS json LANGUAGE sql IMMUTABLE AS $$ SELECT json_build_object('tone', $1::text) $$;
CREATE CAST (tone AS json) WITH FUNCTION tone_json(tone);
INSERT INTO sound VALUES (2, 'high');
SELECT new_row, new_row = (SELECT to_jsonb(s) FROM sound s WHERE id = 2) AS same_as_to_jsonb FROM last_entry();
DROP CAST (tone AS json);
INSERT INTO sound VALUES (3, 'low');
SELECT new_row FROM last_entry();

-- Rendering that audits another table on the way (a cast function writing
-- to an audited table) nests one audit trigger in another: both are logged.
CREATE TABLE side (n serial PRIMARY KEY, note text);
SELECT steward.enable_audit('side');
CREATE FUNCTION tone_json_logged(tone) RETURNS json LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  INSERT INTO side (note) VALUES ('rendered ' || $1);
  RETURN json_build_object('tone', $1::text);
END $$;
CREATE CAST (tone AS json) WITH FUNCTION tone_json_logged(tone);
INSERT INTO sound VALUES (4, 'high');
SELECT table_name, row_id, new_row FROM steward.audit_log WHERE relid IN ('sound'::regclass, 'side'::regclass)
 ORDER BY id DESC LIMIT 2;
DROP CAST (tone AS json);

-- Indexes the owner adds to the log: an expression or partial index makes
-- the writer use the executor's index insertion; both keep working.
CREATE INDEX audit_log_name ON steward.audit_log ((new_row->>'name')) WHERE op = 'INSERT';
INSERT INTO cstore.article VALUES (11, 'ring gear', '1');
SET enable_seqscan = off;
SELECT row_id FROM steward.audit_log WHERE new_row->>'name' = 'ring gear' AND op = 'INSERT';
RESET enable_seqscan;
DROP INDEX steward.audit_log_name;
INSERT INTO cstore.article VALUES (12, 'gear', '1');
SELECT row_id FROM last_entry();

-- An error in the middle of a statement leaves nothing cached in use: the
-- next statement works.
CREATE TABLE strict_t (id int PRIMARY KEY, v text CHECK (v <> 'bad'));
SELECT steward.enable_audit('strict_t');
INSERT INTO strict_t VALUES (1, 'good');
INSERT INTO strict_t VALUES (2, 'bad');
INSERT INTO strict_t VALUES (3, 'fine');
SELECT row_id, new_row FROM steward.audit_log WHERE relid = 'strict_t'::regclass ORDER BY id;

-- The extension dropped and created again: the writer finds the new log.
SET client_min_messages = warning;  -- the cascade list depends on earlier tests
DROP EXTENSION pg_steward CASCADE;
RESET client_min_messages;
CREATE EXTENSION pg_steward;
SELECT steward.enable_audit('sound');
INSERT INTO sound VALUES (5, 'low');
SELECT table_name, row_id, new_row FROM steward.audit_log;

SET client_min_messages = warning;
DROP SCHEMA cstore CASCADE;
RESET client_min_messages;
DROP TABLE sound, side, strict_t;
DROP TYPE tone CASCADE;
DROP FUNCTION last_entry();
DROP ROLE auditor;
