-- Drift: steward.check() compares what migrations left with what is there.
SELECT steward.define_module('inv', 'inv', 'inventory');
SELECT steward.register('inv', '1', $$
CREATE SCHEMA {{schema}};
CREATE TYPE {{schema}}.status AS ENUM ('new', 'used');
CREATE DOMAIN {{schema}}.qty AS integer CHECK (VALUE >= 0);
CREATE SEQUENCE {{schema}}.serials START 100;
CREATE TABLE {{tables.items}} (
  id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sku text NOT NULL UNIQUE,
  status {{schema}}.status NOT NULL DEFAULT 'new',
  qty {{schema}}.qty NOT NULL DEFAULT 0,
  price numeric(10,2) CHECK (price >= 0));
CREATE TABLE {{tables.moves}} (id bigserial PRIMARY KEY, item int NOT NULL REFERENCES {{tables.items}}, delta int NOT NULL);
CREATE INDEX ix_moves_item ON {{tables.moves}} (item);
CREATE VIEW {{tables.stock}} AS SELECT item, sum(delta) AS qty FROM {{tables.moves}} GROUP BY item;
CREATE MATERIALIZED VIEW {{tables.stock_snapshot}} AS SELECT * FROM {{tables.stock}};
CREATE FUNCTION {{schema}}.touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER moves_touch BEFORE INSERT ON {{tables.moves}} FOR EACH ROW EXECUTE FUNCTION {{schema}}.touch();
$$, 'DROP SCHEMA {{schema}} CASCADE');
SELECT version FROM steward.upgrade('inv');

-- What the migration left is fingerprinted, one row per object.
SELECT object_type, object_identity, module, version FROM steward.fingerprints
 WHERE schema_name = 'inv' ORDER BY object_type, object_identity;
-- Clean: nothing reported.
SELECT * FROM steward.check('inv');

-- Each kind of change outside migrations is reported with what changed.
ALTER TABLE inv.items ALTER COLUMN price TYPE numeric(12,2);
ALTER TABLE inv.items ALTER COLUMN sku DROP NOT NULL;
ALTER TABLE inv.items ALTER COLUMN qty SET DEFAULT 1;
ALTER TABLE inv.items ADD COLUMN note text;
ALTER TABLE inv.moves DROP COLUMN delta CASCADE;
CREATE INDEX ix_items_note ON inv.items (note);
DROP INDEX inv.ix_moves_item;
ALTER TABLE inv.items ADD CONSTRAINT ck_items_note CHECK (note <> '');
CREATE OR REPLACE FUNCTION inv.touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN NEW.id := NEW.id; RETURN NEW; END';
ALTER SEQUENCE inv.serials INCREMENT BY 10;
ALTER TYPE inv.status ADD VALUE 'broken';
ALTER DOMAIN inv.qty ADD CONSTRAINT qty_small CHECK (VALUE < 1000000);
CREATE TABLE inv.extra (id int);
CREATE VIEW inv.stock AS SELECT 1 AS item;
SELECT module, object_type, object_identity, change,
       replace(detail, ' by ' || current_user, ' by <user>') AS detail
  FROM steward.check('inv');

-- Changes made while event triggers do not fire leave no DDL log row, but
-- the fingerprint still catches them.
SELECT steward.stamp('inv', '1');
SELECT * FROM steward.check('inv');
SELECT max(id) AS start_id FROM steward.ddl_log \gset
SET session_replication_role = replica;
ALTER TABLE inv.items ADD COLUMN hidden int;
ALTER TABLE inv.items RENAME COLUMN note TO remark;
RESET session_replication_role;
SELECT count(*) AS logged FROM steward.ddl_log WHERE id > :start_id;
SELECT module, object_type, object_identity, change, replace(detail, ' by ' || current_user, ' by <user>') AS detail FROM steward.check('inv');

-- A migration that touches the drifted table re-fingerprints it; other
-- drift stays reported.
SELECT steward.stamp('inv', '1');
CREATE INDEX ix_items_hidden ON inv.items (hidden);
SELECT steward.migrate('inv', '2', 'ALTER TABLE {{tables.items}} ADD COLUMN weight int', 'ALTER TABLE {{tables.items}} DROP COLUMN weight');
SELECT module, object_type, object_identity, change FROM steward.check('inv');
DROP INDEX inv.ix_items_hidden;
SELECT module, object_type, object_identity, change, replace(detail, ' by ' || current_user, ' by <user>') AS detail FROM steward.check('inv');

-- Downgrade forgets what it dropped; renames inside migrations are tracked.
SELECT steward.migrate('inv', '3', 'ALTER TABLE {{tables.extra}} RENAME TO extras; CREATE FUNCTION {{schema}}.two() RETURNS int LANGUAGE sql AS ''SELECT 2''',
                       'ALTER TABLE {{tables.extras}} RENAME TO extra; DROP FUNCTION {{schema}}.two()');
SELECT * FROM steward.check('inv');
SELECT object_identity FROM steward.fingerprints WHERE object_identity LIKE 'inv.extra%' OR object_identity LIKE 'inv.two%' ORDER BY 1;
SELECT version FROM steward.downgrade('inv');
SELECT * FROM steward.check('inv');
SELECT object_identity FROM steward.fingerprints WHERE object_identity LIKE 'inv.extra%' OR object_identity LIKE 'inv.two%' ORDER BY 1;

-- Objects of other extensions and temporary objects are never drift.
CREATE EXTENSION citext SCHEMA inv;
CREATE TEMP TABLE inv_scratch (x int);
SELECT * FROM steward.check('inv');

-- Policies are fingerprinted too; one created and dropped again outside
-- migrations leaves nothing to report.
CREATE POLICY pol_items ON inv.items USING (true);
CREATE POLICY pol_gone ON inv.items USING (true);
DROP POLICY pol_gone ON inv.items;
SELECT module, object_type, object_identity, change,
       replace(detail, ' by ' || current_user, ' by <user>') AS detail
  FROM steward.check('inv');

-- check() without a module covers every module; describe_change in words.
SELECT DISTINCT module FROM steward.check() ORDER BY 1;
SELECT steward.describe_change('{"columns": [{"name": "a", "type": "integer"}]}',
                               '{"columns": [{"name": "a", "type": "bigint"}, {"name": "b", "type": "text"}]}');

-- Dropping a table and creating it again the same way outside migrations
-- is no drift: defaults, constraints and indexes are compared by their
-- definition, not by the objects' OIDs or the order they were made in.
-- (The DROP TABLE logs the column default as dropped; the CREATE TABLE
-- that puts it back logs the table only.)  Nor is dropping a default and
-- setting it again.
SELECT steward.define_module('again', 'again');
SELECT steward.migrate('again', '1', $$
CREATE SCHEMA {{schema}};
CREATE TABLE {{tables.t}} (
  id int PRIMARY KEY,
  n int DEFAULT 0,
  s text UNIQUE CHECK (s <> ''),
  at timestamptz DEFAULT '2000-01-01 00:00+00' CHECK (at > '1999-12-31 00:00+00'));
CREATE INDEX ix_t_lower ON {{tables.t}} (lower(s)) WHERE n > 0;
$$);
DROP TABLE again.t;
CREATE TABLE again.t (
  id int PRIMARY KEY,
  n int DEFAULT 0,
  s text UNIQUE CHECK (s <> ''),
  at timestamptz DEFAULT '2000-01-01 00:00+00' CHECK (at > '1999-12-31 00:00+00'));
CREATE INDEX ix_t_lower ON again.t (lower(s)) WHERE n > 0;
ALTER TABLE again.t ALTER COLUMN n DROP DEFAULT;
ALTER TABLE again.t ALTER COLUMN n SET DEFAULT 0;
SELECT command_tag, object_type, object_identity FROM steward.ddl_log
 WHERE schema_name = 'again' AND module IS NULL AND object_type = 'default value' ORDER BY id;
SELECT * FROM steward.check('again');
-- Constants in defaults and checks are compared in one time zone and date
-- style, whatever the session that migrated or checks uses.
SET TimeZone = 'Asia/Kolkata';
SET DateStyle = 'SQL, DMY';
SELECT * FROM steward.check('again');
RESET TimeZone;
RESET DateStyle;
-- A real change is still one.
ALTER TABLE again.t ALTER COLUMN n SET DEFAULT 1;
SELECT object_type, object_identity, change, replace(detail, ' by ' || current_user, ' by <user>') AS detail
  FROM steward.check('again');

-- Only granted roles may run check.
CREATE ROLE drift_reader;
SET ROLE drift_reader;
SELECT * FROM steward.check('inv');
RESET ROLE;
DROP ROLE drift_reader;
