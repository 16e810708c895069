-- Migrations: the whole life cycle of a module.
SELECT steward.define_module('shop', 'shop', 'the shop schema');
SELECT module, schema_name, description FROM steward.modules;

-- Registered out of order; they run in natural version order.
SELECT steward.register('shop', '10', 'CREATE INDEX ix_orders_item ON {{tables.orders}} (item)',
                        'DROP INDEX {{schema}}.ix_orders_item', 'index orders');
SELECT steward.register('shop', '1', 'CREATE SCHEMA {{schema}}; CREATE TABLE {{tables.items}} (id int PRIMARY KEY, name text)',
                        'DROP SCHEMA {{schema}} CASCADE', 'items');
SELECT steward.register('shop', '2', 'CREATE TABLE {{tables.orders}} (id int, item int REFERENCES {{tables.items}})',
                        'DROP TABLE {{tables.orders}}', 'orders');
-- Registering the same script again is a no-op.
SELECT steward.register('shop', '2', 'CREATE TABLE {{tables.orders}} (id int, item int REFERENCES {{tables.items}})',
                        'DROP TABLE {{tables.orders}}', 'orders');
SELECT module, version, description, state FROM steward.status('shop');
SELECT steward.current('shop') IS NULL AS nothing_applied;

-- plan: the exact SQL, templates expanded, in order.
SELECT * FROM steward.plan('shop');
SELECT * FROM steward.plan('shop', '+1');
SELECT * FROM steward.plan('shop', '2');

-- dry_run runs everything and rolls it back: nothing changes.
SELECT step, version, direction, outcome, error FROM steward.dry_run('shop');
SELECT to_regnamespace('shop') IS NULL AS no_schema_after_dry_run,
       (SELECT count(*) FROM steward.migrations) AS applied_rows;

-- upgrade +1, then head.
SELECT version, description FROM steward.upgrade('shop', '+1');
SELECT steward.current('shop');
SELECT version, description, duration_ms >= 0 AS timed FROM steward.upgrade('shop');
SELECT steward.current('shop');
SELECT module, version, state, applied_at IS NOT NULL AS has_time FROM steward.status('shop');
SELECT version, rank, applied_by = current_user AS by_me, duration_ms >= 0 AS timed, baseline
  FROM steward.migrations ORDER BY rank;
-- Nothing left: upgrade returns no rows; upgrading to an applied version is a no-op.
SELECT * FROM steward.upgrade('shop');
SELECT * FROM steward.upgrade('shop', '2');
SELECT count(*) AS indexes FROM pg_indexes WHERE schemaname = 'shop' AND indexname = 'ix_orders_item';

-- downgrade -1 and to a version; reverts in reverse order.
SELECT version, description FROM steward.downgrade('shop');
SELECT steward.current('shop');
SELECT version FROM steward.downgrade('shop', '1');
SELECT steward.current('shop'), to_regclass('shop.orders') IS NULL AS orders_gone;
SELECT * FROM steward.plan('shop', 'base');
SELECT version FROM steward.downgrade('shop', 'base');
SELECT steward.current('shop') IS NULL AS at_base, to_regnamespace('shop') IS NULL AS schema_gone;
SELECT version FROM steward.upgrade('shop', '2');

-- History: every apply and revert, in order.
SELECT module, version, event, by_user = current_user AS by_me, txid IS NOT NULL AS has_txid,
       detail->>'target' AS target
  FROM steward.history ORDER BY id;

-- migrate: register and apply in one call; idempotent.  It refuses to leave
-- the pending version 10 behind unless told to.
SELECT steward.migrate('shop', '11', 'ALTER TABLE {{tables.items}} ADD price numeric', 'ALTER TABLE {{tables.items}} DROP price');
SELECT steward.migrate('shop', '11', 'ALTER TABLE {{tables.items}} ADD price numeric', 'ALTER TABLE {{tables.items}} DROP price',
                       allow_out_of_order => true);
SELECT steward.migrate('shop', '11', 'ALTER TABLE {{tables.items}} ADD price numeric', 'ALTER TABLE {{tables.items}} DROP price');
SELECT version, state FROM steward.status('shop');

-- Gaps: 10 is pending below applied 11.
SELECT * FROM steward.upgrade('shop');
SELECT * FROM steward.validate('shop');
SELECT version FROM steward.upgrade('shop', allow_out_of_order => true);
SELECT * FROM steward.validate('shop');

-- Checksums: changing an applied script is refused at register ...
SELECT steward.register('shop', '11', 'ALTER TABLE {{tables.items}} ADD price numeric(10,2)');
-- ... even when only inner whitespace changed, but CRLF and trailing blanks are fine.
SELECT steward.register('shop', '11', E'ALTER TABLE {{tables.items}} ADD price numeric   \r\n\r\n',
                        'ALTER TABLE {{tables.items}} DROP price');
SELECT version, state FROM steward.status('shop') WHERE version = '11';
-- A script changed behind steward's back (by the catalog owner) shows as changed,
-- blocks upgrade, and is listed by validate.
UPDATE steward.migration_scripts SET up_sql = up_sql || ' -- edited', checksum = steward.checksum(up_sql || ' -- edited')
 WHERE module = 'shop' AND version = '2';
SELECT version, state FROM steward.status('shop') WHERE state <> 'applied';
SELECT steward.register('shop', '12', 'SELECT 1');
SELECT * FROM steward.upgrade('shop');
SELECT module, version, left(problem, 8) AS problem FROM steward.validate('shop');
-- repair accepts the registered script (or one given) and records why.
SELECT steward.repair('shop', '2', 'comment added to the script');
SELECT steward.repair('shop', '2', 'nothing to do');
SELECT version, state FROM steward.status('shop') WHERE state <> 'applied';
SELECT steward.repair('shop', '11', 'pin precision', up_sql => 'ALTER TABLE {{tables.items}} ADD price numeric(10,2)');
SELECT version, event, detail->>'reason' AS reason, detail ? 'old_checksum' AS has_old
  FROM steward.history WHERE event = 'repair' ORDER BY id;
SELECT * FROM steward.validate('shop');
SELECT version FROM steward.upgrade('shop');

-- missing: applied, but its script was deleted.
DELETE FROM steward.migration_scripts WHERE module = 'shop' AND version = '12';
SELECT version, state FROM steward.status('shop') WHERE version = '12';
SELECT * FROM steward.validate('shop');
SELECT steward.register('shop', '12', 'SELECT 1');

-- stamp: adopt an existing database without running anything.
CREATE SCHEMA legacy;
CREATE TABLE legacy.customers (id int);
SELECT steward.define_module('legacy', 'legacy');
SELECT steward.register('legacy', '1', 'CREATE TABLE {{tables.customers}} (id int)', 'DROP TABLE {{tables.customers}}');
SELECT steward.register('legacy', '2', 'ALTER TABLE {{tables.customers}} ADD email text', 'ALTER TABLE {{tables.customers}} DROP email');
SELECT steward.stamp('legacy', '1');
SELECT version, state FROM steward.status('legacy');
SELECT version FROM steward.upgrade('legacy');
SELECT column_name FROM information_schema.columns WHERE table_schema = 'legacy' ORDER BY ordinal_position;
SELECT steward.stamp('legacy', 'base');
SELECT version, state FROM steward.status('legacy');
SELECT version, event, detail->>'action' AS action FROM steward.history WHERE module = 'legacy' ORDER BY id;
SELECT steward.stamp('legacy', '2');

-- requires across modules.
SELECT steward.define_module('billing', 'shop');
SELECT steward.register('billing', '1', 'CREATE TABLE {{tables.invoices}} (id int, customer int)',
                        requires => ARRAY['legacy:3']);
SELECT * FROM steward.upgrade('billing');
SELECT * FROM steward.validate('billing');
SELECT steward.register('billing', '1', 'CREATE TABLE {{tables.invoices}} (id int, customer int)',
                        requires => ARRAY['legacy:2']);
SELECT version FROM steward.upgrade('billing');
SELECT version FROM steward.downgrade('legacy', 'base');
SELECT * FROM steward.validate();

-- Templates: many tenants from one migration set; checksum over raw text.
SELECT steward.define_module('tenant_a', 'Tenant "A"; x');
SELECT steward.define_module('tenant_b', 'tenant_b');
SELECT steward.migrate(m, '1', 'CREATE SCHEMA {{ schema }}; CREATE TABLE {{ tables.notes }} (body text); INSERT INTO {{tables.notes}} VALUES (''{{1,2},{3,4}}'')')
  FROM unnest(ARRAY['tenant_a', 'tenant_b']) m;
SELECT * FROM "Tenant ""A""; x".notes;
SELECT count(DISTINCT checksum) AS one_checksum FROM steward.migrations WHERE module LIKE 'tenant%';
SELECT sql FROM steward.plan('tenant_a', 'base');

-- Atomic: a failing migration names module and version, keeps the SQLSTATE,
-- carries the original error in the detail, and leaves nothing behind.
SELECT steward.register('shop', '13', 'CREATE TABLE {{tables.half}} (id int); INSERT INTO {{tables.half}} VALUES (1/0)');
SELECT * FROM steward.upgrade('shop');
SELECT to_regclass('shop.half') IS NULL AS no_table, steward.current('shop');
SELECT step, version, outcome, error FROM steward.dry_run('shop');
DO $$
BEGIN
  PERFORM * FROM steward.upgrade('shop');
EXCEPTION WHEN division_by_zero THEN
  RAISE NOTICE 'caught SQLSTATE % for: %', SQLSTATE, SQLERRM;
END $$;
-- Several migrations in one upgrade call are all-or-nothing.
SELECT steward.register('shop', '13', 'CREATE TABLE {{tables.half}} (id int)');
SELECT steward.register('shop', '14', 'SELECT no_such_column FROM {{tables.half}}');
SELECT * FROM steward.upgrade('shop');
SELECT to_regclass('shop.half') IS NULL AS no_table, steward.current('shop');
DELETE FROM steward.migration_scripts WHERE module = 'shop' AND version IN ('13', '14');

-- lock_timeout from steward.ddl_lock_timeout is in force while a migration runs.
CREATE TABLE seen (setting text);
SET steward.ddl_lock_timeout = '250ms';
SELECT steward.migrate('shop', '15', $$INSERT INTO public.seen VALUES (current_setting('lock_timeout'))$$);
TABLE seen;
SHOW lock_timeout;
RESET steward.ddl_lock_timeout;
