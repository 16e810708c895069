-- Injected columns on CREATE TABLE in managed schemas.
CREATE SCHEMA inj;
SELECT schema_name, inject_columns, audit FROM steward.manage_schema('inj', audit => false);
CREATE VIEW inj_columns AS
  SELECT c.relname AS tbl, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type,
         a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS expr, a.attgenerated AS gen
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE c.relnamespace = 'inj'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped;

-- A plain table gets id (primary key), created, updated, href and the touch trigger.
CREATE TABLE inj.notes (body text);
SELECT col, type, not_null, expr, gen FROM inj_columns WHERE tbl = 'notes' ORDER BY col;
SELECT conname, contype FROM pg_constraint WHERE contype <> 'n' AND conrelid = 'inj.notes'::regclass;
SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'inj.notes'::regclass AND NOT tgisinternal;
INSERT INTO inj.notes (body) VALUES ('hello');
SELECT body, id IS NOT NULL AS has_id, href = '/notes/' || id AS href_ok, created = updated AS created_is_updated
  FROM inj.notes;

-- A table with an inline foreign key is reported twice in one event: it is
-- injected once.
CREATE TABLE inj.comments (note uuid REFERENCES inj.notes, body text);
SELECT tgname FROM pg_trigger WHERE tgrelid = 'inj.comments'::regclass AND NOT tgisinternal ORDER BY 1;
SELECT conname FROM pg_constraint WHERE contype <> 'n' AND conrelid = 'inj.comments'::regclass ORDER BY 1;

-- A table with its own primary key keeps it; id is added without one.
CREATE TABLE inj.codes (code text PRIMARY KEY);
SELECT conname FROM pg_constraint WHERE contype <> 'n' AND conrelid = 'inj.codes'::regclass;
SELECT col, type FROM inj_columns WHERE tbl = 'codes' ORDER BY col;
-- Existing compatible columns are kept as they are.
CREATE TABLE inj.events (id uuid, created timestamptz DEFAULT '2020-01-01', name text);
SELECT col, type, not_null, expr FROM inj_columns WHERE tbl = 'events' ORDER BY col;
SELECT conname FROM pg_constraint WHERE contype <> 'n' AND conrelid = 'inj.events'::regclass;

-- An incompatible conventional column is a violation per the mode.
CREATE TABLE inj.things (id int, name text);
SELECT to_regclass('inj.things') IS NULL AS rolled_back;
SELECT mode FROM steward.manage_schema('inj', audit => false, mode => 'warn');
CREATE TABLE inj.things (id int, updated date, name text);
SELECT col, type FROM inj_columns WHERE tbl = 'things' ORDER BY col;
SELECT count(*) AS touch_triggers FROM pg_trigger WHERE tgrelid = 'inj.things'::regclass AND NOT tgisinternal;
SELECT mode FROM steward.manage_schema('inj', audit => false);

-- The policy's column names and href template are respected; no template, no href.
CREATE SCHEMA inj2;
SELECT schema_name FROM steward.manage_schema('inj2', table_prefix => 'app_', audit => false, id_column => 'uid',
  created_column => 'created_at', updated_column => 'updated_at', href_template => '/api/v1/{table}/{id}/');
CREATE TABLE inj2.app_users (email text);
SELECT a.attname, format_type(a.atttypid, a.atttypmod), pg_get_expr(d.adbin, d.adrelid)
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = 'inj2.app_users'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'inj2.app_users'::regclass AND NOT tgisinternal;
SELECT schema_name FROM steward.manage_schema('inj2', table_prefix => 'app_', audit => false, href_template => NULL);
CREATE TABLE inj2.app_groups (name text);
SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'inj2.app_groups'::regclass AND attnum > 0;

-- CREATE TABLE AS gets the columns too, filled for existing rows.
CREATE TABLE inj.copies AS SELECT 'x'::text AS body FROM generate_series(1, 3);
SELECT count(*), count(DISTINCT id), bool_and(href LIKE '/copies/%') FROM inj.copies;

-- Partitioned tables: the parent gets the columns (no primary key on id
-- alone is possible), partitions inherit them without error.
CREATE TABLE inj.readings (at date NOT NULL, value int) PARTITION BY RANGE (at);
CREATE TABLE inj.readings_2024 PARTITION OF inj.readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
SELECT col, type FROM inj_columns WHERE tbl IN ('readings', 'readings_2024') ORDER BY tbl, col;
INSERT INTO inj.readings (at, value) VALUES ('2024-05-01', 1);
UPDATE inj.readings SET value = 2;
SELECT value, updated > created OR updated = created AS stamped FROM inj.readings;

-- inject_columns off: nothing is added; temp tables are never touched.
SELECT schema_name FROM steward.manage_schema('inj', inject_columns => false, audit => false);
CREATE TABLE inj.raw_rows (v int);
SELECT array_agg(col ORDER BY col) FROM inj_columns WHERE tbl = 'raw_rows';
SELECT schema_name FROM steward.manage_schema('inj', audit => false);
CREATE TEMP TABLE temp_rows (v int);
SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'temp_rows'::regclass AND attnum > 0;

-- audit => true attaches the audit triggers as well.
SELECT schema_name FROM steward.manage_schema('inj');
CREATE TABLE inj.orders (total numeric);
SELECT tgname FROM pg_trigger WHERE tgrelid = 'inj.orders'::regclass AND NOT tgisinternal ORDER BY 1;
INSERT INTO inj.orders (total) VALUES (10);
SELECT op, new_row->>'total' AS total, row_id = (SELECT id::text FROM inj.orders) AS row_id_is_pk
  FROM steward.audit_log WHERE relid = 'inj.orders'::regclass;

-- Inside a migration: injected like any CREATE TABLE, and check stays clean.
SELECT steward.define_module('injmod', 'inj');
SELECT steward.migrate('injmod', '1', 'CREATE TABLE {{tables.invoices}} (amount numeric)');
SELECT array_agg(col ORDER BY col) FROM inj_columns WHERE tbl = 'invoices';
SELECT object_type, object_identity, change FROM steward.check('injmod')
 WHERE object_identity LIKE '%invoices%';
