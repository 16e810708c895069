-- The rewrite guard: inside migrations, a statement that would rewrite a
-- table, or read all of it under a lock that stops its users, is refused
-- before it runs when the table is larger than steward.rewrite_guard_mb.
-- Tables are made "big" cheaply: the limit goes down to 64kB, and a big
-- table holds about 1 MB.  Each rule is shown both ways (small table
-- passes, big table refused) and with its safe form; pg_relation_filenode
-- shows whether PostgreSQL really rewrote the table.
SHOW steward.rewrite_guard_mb;
CREATE SCHEMA rg;
SELECT steward.define_module('rg', 'rg');
-- autovacuum off: no free space or visibility map appears behind our back
CREATE TABLE rg.big_rows (id int PRIMARY KEY, code varchar(10), qty int, price numeric(8,2),
                          at timestamp, ref int, note text)
  WITH (autovacuum_enabled = off);
INSERT INTO rg.big_rows SELECT g, g::text, g, g, '2026-01-01', g, NULL FROM generate_series(1, 20000) g;
CREATE TABLE rg.small_rows (LIKE rg.big_rows INCLUDING ALL) WITH (autovacuum_enabled = off);
INSERT INTO rg.small_rows SELECT * FROM rg.big_rows WHERE id = 1;
SELECT pg_table_size('rg.big_rows') > 512 * 1024 AS big, pg_table_size('rg.small_rows') < 64 * 1024 AS small;

-- Run SQL (rg_run) or one migration of module rg (rg_migrate); a refusal is
-- shown with the table's size masked (it may differ by a page between runs
-- and majors).
CREATE FUNCTION public.rg_run(sql text) RETURNS text
  LANGUAGE plpgsql AS $$
DECLARE
	result text; st text; msg text; det text; hin text;
BEGIN
	EXECUTE sql INTO result;
	RETURN result;
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
		hin = PG_EXCEPTION_HINT;
	det = regexp_replace(det, '\(\d+ (bytes|kB|MB)\)', '(<size>)');
	IF hin = '' THEN
		RAISE EXCEPTION '% [%]', msg, st USING DETAIL = det;
	END IF;
	RAISE EXCEPTION '% [%]', msg, st USING DETAIL = det, HINT = hin;
END
$$;
CREATE FUNCTION public.rg_migrate(version text, up_sql text) RETURNS text
  LANGUAGE sql AS $$ SELECT public.rg_run(format('SELECT steward.migrate(%L, %L, %L)', 'rg', version, up_sql)) $$;
\set VERBOSITY default
SET steward.rewrite_guard_mb = '64kB';
SHOW steward.rewrite_guard_mb;

-- 1. ADD COLUMN with a volatile default writes every row.
SELECT pg_relation_filenode('rg.small_rows') AS small_node \gset
SELECT rg_migrate('1', 'ALTER TABLE rg.small_rows ADD COLUMN token uuid DEFAULT gen_random_uuid()');
SELECT pg_relation_filenode('rg.small_rows') <> :small_node AS small_rewritten;
SELECT rg_migrate('2', 'ALTER TABLE rg.big_rows ADD COLUMN token uuid DEFAULT gen_random_uuid()');
SELECT rg_migrate('2', 'ALTER TABLE rg.big_rows ADD COLUMN seq serial');
SELECT rg_migrate('2', 'ALTER TABLE rg.big_rows ADD COLUMN seq int GENERATED ALWAYS AS IDENTITY');
SELECT rg_migrate('2', 'ALTER TABLE rg.big_rows ADD COLUMN twice int GENERATED ALWAYS AS (qty * 2) STORED');
CREATE DOMAIN rg.positive_int AS int CHECK (VALUE > 0);
CREATE DOMAIN rg.plain_int AS int;
SELECT rg_migrate('2', 'ALTER TABLE rg.big_rows ADD COLUMN amount rg.positive_int');
SELECT rg_migrate('2', 'ALTER TABLE rg.big_rows ADD COLUMN spare int CHECK (spare > 0)');
-- ... the safe forms: no default, a stable or constant default (stored once
-- in the catalog), a domain without constraints, then the default for new rows.
SELECT pg_relation_filenode('rg.big_rows') AS big_node \gset
SELECT rg_migrate('2', 'ALTER TABLE rg.big_rows ADD COLUMN token uuid, ADD COLUMN added timestamptz DEFAULT now(), '
                       'ADD COLUMN amount rg.plain_int DEFAULT 1, ADD COLUMN parent int REFERENCES rg.big_rows; '
                       'ALTER TABLE rg.big_rows ALTER COLUMN token SET DEFAULT gen_random_uuid()');
SELECT pg_relation_filenode('rg.big_rows') = :big_node AS big_not_rewritten;

-- 2. ALTER COLUMN TYPE rewrites unless the conversion is binary-compatible,
-- as PostgreSQL decides it.
SELECT rg_migrate('3', 'ALTER TABLE rg.small_rows ALTER COLUMN qty TYPE bigint');
SELECT rg_migrate('4', 'ALTER TABLE rg.big_rows ALTER COLUMN qty TYPE bigint');
SELECT rg_migrate('4', 'ALTER TABLE rg.big_rows ALTER COLUMN code TYPE varchar(5)');
SELECT rg_migrate('4', 'ALTER TABLE rg.big_rows ALTER COLUMN code TYPE int USING code::int');
SELECT rg_migrate('4', 'ALTER TABLE rg.big_rows ALTER COLUMN at TYPE timestamptz');
SELECT rg_migrate('4', 'ALTER TABLE rg.big_rows ALTER COLUMN amount TYPE rg.positive_int');
-- ... binary-compatible: longer varchar, text, wider numeric, a domain
-- without constraints, timestamp -> timestamptz in UTC.
SELECT rg_migrate('4', 'ALTER TABLE rg.big_rows ALTER COLUMN code TYPE varchar(20); '
                       'ALTER TABLE rg.big_rows ALTER COLUMN code TYPE text, ALTER COLUMN price TYPE numeric(12,2), '
                       '  ALTER COLUMN qty TYPE rg.plain_int, ALTER COLUMN ref TYPE int USING ref; '
                       'SET LOCAL TimeZone = ''UTC''; ALTER TABLE rg.big_rows ALTER COLUMN at TYPE timestamptz');
SELECT pg_relation_filenode('rg.big_rows') = :big_node AS big_not_rewritten;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'rg.big_rows'::regclass AND attname IN ('code', 'price', 'qty', 'at') ORDER BY attnum;

-- 3. SET NOT NULL reads every row unless a validated CHECK proves it.
SELECT rg_migrate('5', 'ALTER TABLE rg.small_rows ALTER COLUMN ref SET NOT NULL');
SELECT rg_migrate('6', 'ALTER TABLE rg.big_rows ALTER COLUMN ref SET NOT NULL');
SELECT rg_migrate('6', 'ALTER TABLE rg.big_rows ADD CONSTRAINT ck_big_rows_ref CHECK (ref IS NOT NULL) NOT VALID');
-- a NOT VALID CHECK proves nothing yet ...
SELECT rg_migrate('7', 'ALTER TABLE rg.big_rows ALTER COLUMN ref SET NOT NULL');
-- ... a validated one does (VALIDATE takes SHARE UPDATE EXCLUSIVE: not judged)
SELECT rg_migrate('7', 'ALTER TABLE rg.big_rows VALIDATE CONSTRAINT ck_big_rows_ref; '
                       'ALTER TABLE rg.big_rows ALTER COLUMN ref SET NOT NULL');
-- a PRIMARY KEY over a nullable column sets it NOT NULL too
CREATE UNIQUE INDEX uq_big_rows_qty ON rg.big_rows (qty);
SELECT rg_migrate('8', 'ALTER TABLE rg.big_rows ADD CONSTRAINT pk_big_rows_qty PRIMARY KEY USING INDEX uq_big_rows_qty');

-- 4. ADD FOREIGN KEY / CHECK verify every row unless NOT VALID.
SELECT rg_migrate('8', 'ALTER TABLE rg.small_rows ADD CONSTRAINT fk_small_rows_ref FOREIGN KEY (ref) REFERENCES rg.big_rows, '
                       'ADD CONSTRAINT ck_small_rows_qty CHECK (qty > 0)');
SELECT rg_migrate('9', 'ALTER TABLE rg.big_rows ADD CONSTRAINT fk_big_rows_ref FOREIGN KEY (ref) REFERENCES rg.big_rows (id)');
SELECT rg_migrate('9', 'ALTER TABLE rg.big_rows ADD CONSTRAINT ck_big_rows_qty CHECK (qty > 0 AND price >= 0)');
SELECT rg_migrate('9', 'ALTER TABLE rg.big_rows ADD CONSTRAINT fk_big_rows_ref FOREIGN KEY (ref) REFERENCES rg.big_rows (id) NOT VALID, '
                       'ADD CONSTRAINT ck_big_rows_qty CHECK (qty > 0) NOT VALID');
SELECT rg_migrate('10', 'ALTER TABLE rg.big_rows VALIDATE CONSTRAINT fk_big_rows_ref, VALIDATE CONSTRAINT ck_big_rows_qty');
SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'rg.big_rows'::regclass AND contype IN ('c', 'f')
 ORDER BY 1;

-- 5. CREATE INDEX without CONCURRENTLY reads every row while writes wait;
-- so do PRIMARY KEY and UNIQUE without USING INDEX.
SELECT rg_migrate('11', 'CREATE INDEX ix_small_rows_qty ON rg.small_rows (qty)');
SELECT rg_migrate('12', 'CREATE INDEX ix_big_rows_qty_price ON rg.big_rows USING btree (qty, (price * 2)) WHERE qty > 0');
SELECT rg_migrate('12', 'ALTER TABLE rg.big_rows ADD CONSTRAINT uq_big_rows_ref UNIQUE (ref)');
-- CONCURRENTLY is not judged (PostgreSQL refuses it in a transaction;
-- deploy and the pg_steward program run it as a no-transaction step) ...
SELECT rg_migrate('12', 'DO $$BEGIN EXECUTE ''CREATE INDEX CONCURRENTLY ix_big_rows_ref ON rg.big_rows (ref)''; END$$');
-- ... and a unique index built beforehand is attached at no cost.
CREATE UNIQUE INDEX uq_big_rows_ref ON rg.big_rows (ref);
SELECT rg_migrate('12', 'ALTER TABLE rg.big_rows ADD CONSTRAINT uq_big_rows_ref UNIQUE USING INDEX uq_big_rows_ref');

-- 6. CLUSTER and VACUUM FULL write the table anew.
SELECT rg_migrate('13', 'CLUSTER rg.small_rows USING small_rows_pkey');
SELECT rg_migrate('14', 'CLUSTER rg.big_rows USING big_rows_pkey');
SELECT rg_migrate('14', 'DO $$BEGIN EXECUTE ''VACUUM (FULL, ANALYZE) rg.small_rows, rg.big_rows''; END$$');
-- small: PostgreSQL's own refusal, not the guard's
SELECT rg_migrate('14', 'DO $$BEGIN EXECUTE ''VACUUM FULL rg.small_rows''; END$$');
-- ... without a table they would rewrite every table of the database:
-- refused whatever the sizes, the hint naming the table form.
SELECT rg_migrate('14', 'DO $$BEGIN EXECUTE ''CLUSTER''; END$$');
SELECT rg_migrate('14', 'DO $$BEGIN EXECUTE ''VACUUM (FULL, ANALYZE)''; END$$');
-- plain VACUUM rewrites nothing: PostgreSQL's own refusal
SELECT rg_migrate('14', 'DO $$BEGIN EXECUTE ''VACUUM''; END$$');
-- SET LOGGED / UNLOGGED / TABLESPACE / ACCESS METHOD: only when they change something
SELECT rg_migrate('14', 'ALTER TABLE rg.big_rows SET UNLOGGED');
SELECT rg_migrate('14', 'ALTER TABLE rg.big_rows SET LOGGED, SET TABLESPACE pg_default, SET ACCESS METHOD heap');

-- 7. REFRESH MATERIALIZED VIEW and REINDEX TABLE without CONCURRENTLY.
CREATE MATERIALIZED VIEW rg.big_totals WITH (autovacuum_enabled = off) AS SELECT id, qty, note FROM rg.big_rows;
CREATE UNIQUE INDEX uq_big_totals_id ON rg.big_totals (id);
CREATE MATERIALIZED VIEW rg.small_totals AS SELECT id, qty FROM rg.small_rows;
SELECT rg_migrate('14.1', 'REFRESH MATERIALIZED VIEW rg.small_totals; REINDEX TABLE rg.small_rows');
SELECT rg_migrate('14.2', 'REFRESH MATERIALIZED VIEW rg.big_totals');
SELECT rg_migrate('14.2', 'REINDEX TABLE rg.big_rows');
SELECT rg_migrate('14.2', 'DO $$BEGIN EXECUTE ''REINDEX TABLE CONCURRENTLY rg.big_rows''; END$$');
SELECT rg_migrate('14.2', 'REFRESH MATERIALIZED VIEW CONCURRENTLY rg.big_totals; '
                          'REFRESH MATERIALIZED VIEW rg.big_totals WITH NO DATA');
-- REINDEX INDEX reads the index's table; unqualified names resolve along
-- the search_path.
SELECT rg_migrate('14.2.1', 'REINDEX INDEX rg.small_rows_pkey');
SELECT rg_migrate('14.2.2', 'REINDEX INDEX rg.big_rows_pkey');
SET search_path = nowhere, rg;
SELECT public.rg_migrate('14.2.2', 'REINDEX INDEX big_rows_pkey');
RESET search_path;
SELECT rg_migrate('14.2.2', 'DO $$BEGIN EXECUTE ''REINDEX INDEX CONCURRENTLY rg.big_rows_pkey''; END$$');
-- REINDEX SCHEMA / DATABASE / SYSTEM name no table: refused, unless
-- CONCURRENTLY (PostgreSQL's own refusal here)
SELECT rg_migrate('14.2.2', 'DO $$BEGIN EXECUTE ''REINDEX SCHEMA rg''; END$$');
SELECT rg_migrate('14.2.2', 'DO $$BEGIN EXECUTE ''REINDEX SCHEMA CONCURRENTLY rg''; END$$');

-- Every way a migration runs is judged: upgrade, dry_run, downgrade.
SELECT steward.register('rg', '14.3', 'CREATE INDEX ix_big_rows_ref ON rg.big_rows (ref)');
SELECT rg_run('SELECT count(*) FROM steward.upgrade(''rg'')');
SELECT version, outcome, regexp_replace(error, '\(\d+ (bytes|kB|MB)\)', '(<size>)') AS error FROM steward.dry_run('rg');
SELECT steward.register('rg', '14.3', 'SELECT 1', 'CREATE INDEX ix_big_rows_ref ON rg.big_rows (ref)');
SELECT rg_run('SELECT count(*) FROM steward.upgrade(''rg'')');
SELECT rg_run('SELECT count(*) FROM steward.downgrade(''rg'')');

-- Per migration: SET LOCAL steward.rewrite_guard_mb = 0 accepts the lock,
-- and the setting is back afterwards.
SELECT rg_migrate('15', 'SET LOCAL steward.rewrite_guard_mb = 0; ALTER TABLE rg.big_rows ALTER COLUMN code TYPE varchar(9)');
SHOW steward.rewrite_guard_mb;
SELECT rg_migrate('16', 'SET LOCAL steward.rewrite_guard_mb = ''10MB''; CREATE INDEX ix_big_rows_price ON rg.big_rows (price)');
-- A table created in the same migration is invisible to others: never refused.
SELECT rg_migrate('17', 'CREATE TABLE rg.copied_rows AS SELECT * FROM rg.big_rows; '
                        'CREATE INDEX ix_copied_rows_qty ON rg.copied_rows (qty); '
                        'ALTER TABLE rg.copied_rows ADD COLUMN token2 uuid DEFAULT gen_random_uuid()');
-- Partitions add up; one partition alone passes; ON ONLY builds nothing.
CREATE TABLE rg.part_rows (id int, qty int) PARTITION BY RANGE (id);
CREATE TABLE rg.part_rows_1 PARTITION OF rg.part_rows FOR VALUES FROM (1) TO (10001) WITH (autovacuum_enabled = off);
CREATE TABLE rg.part_rows_2 PARTITION OF rg.part_rows FOR VALUES FROM (10001) TO (20001) WITH (autovacuum_enabled = off);
INSERT INTO rg.part_rows SELECT g, g FROM generate_series(1, 20000) g;
-- each partition is under 512kB, both together over it
SELECT pg_table_size('rg.part_rows_1') < 512 * 1024 AND pg_table_size('rg.part_rows_2') < 512 * 1024 AS each_small,
       pg_table_size('rg.part_rows_1') + pg_table_size('rg.part_rows_2') > 512 * 1024 AS together_big;
SELECT rg_migrate('18', 'SET LOCAL steward.rewrite_guard_mb = ''512kB''; CREATE INDEX ix_part_rows_qty ON rg.part_rows (qty)');
SELECT rg_migrate('18', 'SET LOCAL steward.rewrite_guard_mb = ''512kB''; '
                        'ALTER TABLE rg.part_rows ADD COLUMN token uuid DEFAULT gen_random_uuid()');
SELECT rg_migrate('18', 'SET LOCAL steward.rewrite_guard_mb = ''512kB''; '
                        'CREATE INDEX ix_part_rows_1_qty ON rg.part_rows_1 (qty)');
SELECT rg_migrate('19', 'CREATE INDEX ix_part_rows_qty ON ONLY rg.part_rows (qty)');
-- ATTACH PARTITION reads the table it attaches under ACCESS EXCLUSIVE,
-- unless validated CHECK constraints prove the partition's bound; with a
-- default partition, that one too, to prove none of its rows belongs to
-- the new partition.
CREATE TABLE rg.part_rows_3 (id int, qty int) WITH (autovacuum_enabled = off);
INSERT INTO rg.part_rows_3 SELECT g, g FROM generate_series(20001, 40000) g;
CREATE TABLE rg.part_rows_4 (id int, qty int);
INSERT INTO rg.part_rows_4 VALUES (40001, 1);
SELECT rg_migrate('19.1', 'ALTER TABLE rg.part_rows ATTACH PARTITION rg.part_rows_4 FOR VALUES FROM (40001) TO (50001)');
SELECT rg_migrate('19.2', 'ALTER TABLE rg.part_rows ATTACH PARTITION rg.part_rows_3 FOR VALUES FROM (20001) TO (40001)');
-- a NOT VALID CHECK proves nothing yet; a validated one must match the
-- whole bound (a CHECK lets NULL through, the range partition does not) ...
SELECT rg_migrate('19.2', 'ALTER TABLE rg.part_rows_3 ADD CONSTRAINT ck_part_rows_3_bound '
                          '  CHECK (id IS NOT NULL AND id >= 20001 AND id < 40001) NOT VALID; '
                          'ALTER TABLE rg.part_rows ATTACH PARTITION rg.part_rows_3 FOR VALUES FROM (20001) TO (40001)');
SELECT rg_migrate('19.2', 'ALTER TABLE rg.part_rows_3 ADD CONSTRAINT ck_part_rows_3_bound CHECK (id >= 20001 AND id < 40001) NOT VALID; '
                          'ALTER TABLE rg.part_rows_3 VALIDATE CONSTRAINT ck_part_rows_3_bound; '
                          'ALTER TABLE rg.part_rows ATTACH PARTITION rg.part_rows_3 FOR VALUES FROM (20001) TO (40001)');
-- ... and then the attach reads nothing (unqualified names, another search_path)
SET search_path = nowhere, rg;
SELECT public.rg_migrate('19.2', 'ALTER TABLE part_rows_3 ADD CONSTRAINT ck_part_rows_3_bound '
                                 '  CHECK (id IS NOT NULL AND id >= 20001 AND id < 40001) NOT VALID; '
                                 'ALTER TABLE part_rows_3 VALIDATE CONSTRAINT ck_part_rows_3_bound; '
                                 'ALTER TABLE part_rows ATTACH PARTITION part_rows_3 FOR VALUES FROM (20001) TO (40001)');
RESET search_path;
CREATE TABLE rg.part_rows_rest PARTITION OF rg.part_rows DEFAULT WITH (autovacuum_enabled = off);
INSERT INTO rg.part_rows_rest SELECT g, g FROM generate_series(60001, 80000) g;
CREATE TABLE rg.part_rows_5 (id int, qty int);
SELECT rg_migrate('19.3', 'ALTER TABLE rg.part_rows ATTACH PARTITION rg.part_rows_5 FOR VALUES FROM (50001) TO (60001)');
SELECT rg_migrate('19.3', 'ALTER TABLE rg.part_rows_rest ADD CONSTRAINT ck_part_rows_rest_bound CHECK (id >= 60001) NOT VALID; '
                          'ALTER TABLE rg.part_rows_rest VALIDATE CONSTRAINT ck_part_rows_rest_bound; '
                          'ALTER TABLE rg.part_rows ATTACH PARTITION rg.part_rows_5 FOR VALUES FROM (50001) TO (60001)');
SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'rg.part_rows'::regclass ORDER BY 1;

-- Names resolve as the statement resolves them: unqualified names along
-- the search_path, a temporary table that shadows the big one.
SET search_path = nowhere, rg;
SELECT public.rg_migrate('20', 'ALTER TABLE big_rows ADD COLUMN stamp timestamptz DEFAULT clock_timestamp()');
CREATE TEMP TABLE big_rows (id int);
SET search_path = pg_temp, nowhere, rg;
SELECT public.rg_migrate('20', 'ALTER TABLE big_rows ADD COLUMN stamp timestamptz DEFAULT clock_timestamp()');
SELECT attname FROM pg_attribute WHERE attrelid = 'pg_temp.big_rows'::regclass AND attname = 'stamp';
DROP TABLE pg_temp.big_rows;
-- names that need quotes, found along the search_path, are quoted in the answer
CREATE SCHEMA "Rg Odd";
CREATE TABLE "Rg Odd"."Big Rows" WITH (autovacuum_enabled = off) AS SELECT id, qty AS "Qty" FROM rg.big_rows;
SET search_path = "Rg Odd";
SELECT public.rg_migrate('20.1', 'ALTER TABLE "Big Rows" ALTER COLUMN "Qty" SET NOT NULL');
DROP SCHEMA "Rg Odd" CASCADE;
RESET search_path;

-- The lookup checks rights before it locks: a role that may run migrations
-- but does not own the table gets PostgreSQL's own error.
CREATE ROLE rg_dev;
GRANT USAGE ON SCHEMA rg TO rg_dev;
GRANT EXECUTE ON FUNCTION steward.migrate(text, text, text, text, text, boolean) TO rg_dev;
SET ROLE rg_dev;
SELECT rg_migrate('21', 'CREATE INDEX ix_big_rows_note ON rg.big_rows (note)');
-- REINDEX INDEX too (the message differs between majors: the SQLSTATE
-- shows it is PostgreSQL's refusal, not the guard's 55000)
DO $$
BEGIN
	PERFORM steward.migrate('rg', '21', 'REINDEX INDEX rg.big_rows_pkey');
EXCEPTION WHEN insufficient_privilege THEN
	RAISE NOTICE 'refused by PostgreSQL with SQLSTATE %', SQLSTATE;
END
$$;
RESET ROLE;

-- Outside migrations nothing is judged; 0 turns the guard off.
ALTER TABLE rg.small_rows ADD COLUMN token2 uuid DEFAULT gen_random_uuid();
BEGIN;
ALTER TABLE rg.big_rows ADD COLUMN token3 uuid DEFAULT gen_random_uuid();
ROLLBACK;
SET steward.rewrite_guard_mb = 0;
SELECT rg_migrate('21', 'ALTER TABLE rg.big_rows ALTER COLUMN code TYPE varchar(8)');
SET steward.rewrite_guard_mb = '64kB';

-- The error itself, with its SQLSTATE.
DO $$
BEGIN
	PERFORM steward.migrate('rg', '22', 'ALTER TABLE rg.big_rows ALTER COLUMN id TYPE bigint');
EXCEPTION WHEN object_not_in_prerequisite_state THEN
	RAISE NOTICE 'refused with SQLSTATE %', SQLSTATE;
END
$$;

-- The columns a policy adds to a table that arrives in a managed schema
-- would rewrite it (the id default is volatile): refused, with the
-- opt-outs in the hint; SET LOCAL steward.inject = off and inject_exclude
-- let it in without them.
CREATE SCHEMA rgm;
SELECT schema_name FROM steward.manage_schema('rgm', audit => false, inject_exclude => ARRAY['%_links']);
SELECT steward.define_module('rgm', 'rgm');
CREATE TABLE public.legacy_orders (qty int) WITH (autovacuum_enabled = off);
CREATE TABLE public.legacy_links (qty int) WITH (autovacuum_enabled = off);
INSERT INTO public.legacy_orders SELECT g FROM generate_series(1, 20000) g;
INSERT INTO public.legacy_links SELECT g FROM generate_series(1, 20000) g;
DO $$
DECLARE
	det text; hin text;
BEGIN
	PERFORM steward.migrate('rgm', '1', 'ALTER TABLE public.legacy_orders SET SCHEMA rgm');
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
	RAISE NOTICE E'%\nHINT: %', regexp_replace(det, '\(\d+ (bytes|kB|MB)\)', '(<size>)'), hin;
END
$$;
SELECT steward.migrate('rgm', '1', 'SET LOCAL steward.inject = off; ALTER TABLE public.legacy_orders SET SCHEMA rgm; '
                                   'ALTER TABLE public.legacy_links SET SCHEMA rgm');
SHOW steward.inject;
SELECT attrelid::regclass, attname FROM pg_attribute
 WHERE attrelid IN ('rgm.legacy_orders'::regclass, 'rgm.legacy_links'::regclass) AND attnum > 0 ORDER BY 1, attnum;

RESET steward.rewrite_guard_mb;
DROP SCHEMA rg CASCADE;
DROP SCHEMA rgm CASCADE;
SELECT steward.unmanage_schema('rgm');
-- rg_run and rg_migrate stay for drift_rewrite_guard_pg18, which drops them
REVOKE EXECUTE ON FUNCTION steward.migrate(text, text, text, text, text, boolean) FROM rg_dev;
DROP ROLE rg_dev;
