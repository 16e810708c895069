-- DDL capture: every DDL command lands in steward.ddl_log, one row per object.
CREATE SCHEMA cap;
SELECT max(id) AS start_id FROM steward.ddl_log \gset

-- Several statements in one query string: each row carries its own statement.
CREATE TABLE cap.t (id int PRIMARY KEY, v text)\; CREATE INDEX t_v_idx ON cap.t (v)\; ALTER TABLE cap.t ADD COLUMN w int;
SELECT command_tag, object_type, schema_name, object_identity, command,
       by_user = current_user AS by_me, module, version, extension
  FROM steward.ddl_log WHERE id > :start_id ORDER BY id;

-- Drops report every object they remove, cascades included.
SELECT max(id) AS start_id FROM steward.ddl_log \gset
DROP TABLE cap.t;
-- (PostgreSQL 18 also reports the NOT NULL constraint it keeps per column,
-- t_id_not_null; earlier majors have none.)
SELECT command_tag, object_type, object_identity FROM steward.ddl_log WHERE id > :start_id
   AND object_identity NOT LIKE '%\_not\_null on %' ORDER BY id;

-- Temporary objects are never logged.
SELECT max(id) AS start_id FROM steward.ddl_log \gset
CREATE TEMP TABLE scratch (x int);
CREATE INDEX ON scratch (x);
DROP TABLE scratch;
SELECT count(*) AS temp_rows FROM steward.ddl_log WHERE id > :start_id;

-- Policies and rules take their table's schema.
CREATE TABLE cap.p (id int);
CREATE POLICY p_all ON cap.p USING (true);
CREATE RULE r_nothing AS ON DELETE TO cap.p DO INSTEAD NOTHING;
SELECT command_tag, object_type, schema_name, object_identity FROM steward.ddl_log
 WHERE object_type IN ('policy', 'rule') ORDER BY id;

-- Inside a migration the rows carry module and version, and the statement
-- of the migration script (not the SELECT that ran it).
SELECT steward.define_module('capmod', 'cap');
SELECT max(id) AS start_id FROM steward.ddl_log \gset
SELECT steward.migrate('capmod', '1', 'CREATE TABLE {{tables.m}} (id int); CREATE VIEW {{tables.mv}} AS SELECT * FROM {{tables.m}}');
SELECT command_tag, object_identity, command, module, version FROM steward.ddl_log WHERE id > :start_id ORDER BY id;

-- Objects created by an extension's script are recorded with the extension.
SELECT max(id) AS start_id FROM steward.ddl_log \gset
CREATE EXTENSION pg_trgm SCHEMA cap;
SELECT count(*) > 10 AS many_rows, count(*) FILTER (WHERE extension = 'pg_trgm') = count(*) AS all_with_extension,
       count(*) FILTER (WHERE module IS NOT NULL) AS with_module
  FROM steward.ddl_log WHERE id > :start_id;

-- steward.ddl_capture = off stops the log; only superusers may set it.
SELECT max(id) AS start_id FROM steward.ddl_log \gset
SET steward.ddl_capture = off;
CREATE TABLE cap.unlogged_ddl (id int);
RESET steward.ddl_capture;
SELECT count(*) AS rows_while_off FROM steward.ddl_log WHERE id > :start_id;
CREATE ROLE cap_user LOGIN;
GRANT CREATE, USAGE ON SCHEMA cap TO cap_user;
SET SESSION AUTHORIZATION cap_user;
SET steward.ddl_capture = off;

-- A normal user's DDL is logged under their name, although they can
-- neither read nor write the log.
CREATE TABLE cap.users_table (id int);
SELECT count(*) FROM steward.ddl_log;
INSERT INTO steward.ddl_log (command_tag, by_user) VALUES ('FAKE', 'x');
RESET SESSION AUTHORIZATION;
SELECT command_tag, object_identity, by_user = 'cap_user' AS by_cap_user
  FROM steward.ddl_log WHERE object_identity = 'cap.users_table';

-- The dispatcher refuses to be called directly.
SELECT steward.on_ddl_command_end();
SELECT steward.on_sql_drop();

DROP TABLE cap.users_table;
REVOKE ALL ON SCHEMA cap FROM cap_user;
DROP ROLE cap_user;
