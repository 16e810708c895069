-- steward.capture(): DDL run outside migrations becomes a registered,
-- applied migration; check() is clean afterwards.
CREATE SCHEMA cm;
SELECT steward.define_module('cm', 'cm');
SELECT steward.migrate('cm', '1', 'CREATE TABLE cm.items (id int PRIMARY KEY, qty int)');
SELECT steward.capture('cm', '2');

-- Ad-hoc changes, one undone later in the window (kept, in order).
SET search_path = cm;
ALTER TABLE items ADD COLUMN note text;
CREATE INDEX ix_items_note ON items (note);
ALTER TABLE items RENAME COLUMN note TO remark;
CREATE TABLE scratch (x int); DROP TABLE scratch;
RESET search_path;
SELECT object_type, object_identity, change FROM steward.check('cm') ORDER BY 1, 2;
SELECT steward.capture('cm', '2', 'hotfix of 2026-12-02');
SELECT * FROM steward.check('cm');
SELECT version, description, state FROM steward.status('cm');
-- DROP TABLE has no known inverse: no down_sql.
SELECT version, down_sql IS NULL AS no_down FROM steward.migration_scripts WHERE module = 'cm' ORDER BY 1;

-- Every statement invertible: a down script, and replaying the captured
-- up_sql on the schema at its previous version gives identical fingerprints.
ALTER TABLE cm.items ADD COLUMN price numeric, ADD CONSTRAINT ck_items_price CHECK (price >= 0);
CREATE TABLE cm.tags (id int, label text);
CREATE VIEW cm.priced AS SELECT id, price FROM cm.items;
SELECT steward.capture('cm', '3');
SELECT down_sql FROM steward.migration_scripts WHERE module = 'cm' AND version = '3';
SELECT * FROM steward.check('cm');
CREATE TEMP TABLE at3 AS SELECT object_type, object_identity, hash FROM steward.object_fingerprints('cm');
SELECT version FROM steward.downgrade('cm', '2');
SELECT count(*) AS tables FROM pg_class WHERE relnamespace = 'cm'::regnamespace AND relkind IN ('r', 'v');
SELECT version FROM steward.upgrade('cm');
SELECT count(*) AS differing FROM (
	(SELECT object_type, object_identity, hash FROM steward.object_fingerprints('cm') EXCEPT SELECT * FROM at3)
	UNION ALL
	(SELECT * FROM at3 EXCEPT SELECT object_type, object_identity, hash FROM steward.object_fingerprints('cm'))) d;
SELECT * FROM steward.check('cm');

-- Inverses on their own.
SELECT steward.inverse_sql('CREATE TABLE a.t (x int); CREATE INDEX ix_t_x ON a.t (x); '
						   'ALTER TABLE a.t RENAME TO u; CREATE SEQUENCE s; '
						   'CREATE MATERIALIZED VIEW m AS SELECT 1');
SELECT steward.inverse_sql('ALTER TABLE t ADD COLUMN y int, ADD CONSTRAINT uq_t_y UNIQUE (y)');
SELECT steward.inverse_sql('ALTER TABLE t RENAME CONSTRAINT a TO b; ALTER TABLE t RENAME COLUMN "A" TO b');
SELECT steward.inverse_sql('CREATE INDEX ON t (x)') IS NULL AS unnamed_index_has_none;
SELECT steward.inverse_sql('ALTER TABLE t ADD UNIQUE (y)') IS NULL AS unnamed_constraint_has_none;
SELECT steward.inverse_sql('DROP TABLE t') IS NULL AS drop_has_none;

-- Errors.
SELECT steward.capture('nope', '1');
-- The captured version goes after the current one and before any pending
-- one: that is when the DDL ran (stamping below the current version would
-- forget applied ones).
ALTER TABLE cm.items ADD COLUMN sku text;
SELECT steward.capture('cm', '2.5');
SELECT steward.capture('cm', '3');
SELECT steward.register('cm', '9', 'SELECT 1');
SELECT steward.capture('cm', '10');
SELECT steward.capture('cm', '9');
SELECT steward.capture('cm', '4');
SELECT version, state FROM steward.status('cm');
SELECT * FROM steward.check('cm');

DROP SCHEMA cm CASCADE;
