-- The guard: in a schema managed with ddl => 'migrations', DDL on its
-- objects runs only inside a steward migration; break-glass for members of
-- steward_ddl_admin.
CREATE SCHEMA gd;
SELECT schema_name, ddl FROM steward.manage_schema('gd', inject_columns => false, audit => false,
												   ddl => 'migrations');
SELECT steward.define_module('gd', 'gd');
-- A migration may change the schema.
SELECT steward.migrate('gd', '1', 'CREATE TABLE gd.orders (id int PRIMARY KEY, qty int)');
-- Nothing else may, qualified or not, whatever the search_path.
CREATE TABLE gd.items (id int);
ALTER TABLE gd.orders ADD COLUMN note text;
SET search_path = nowhere, gd;
ALTER TABLE orders ADD COLUMN note text;
CREATE INDEX ix_orders_qty ON orders (qty);
CREATE INDEX CONCURRENTLY ix_orders_qty ON orders (qty);
DROP TABLE orders;
COMMENT ON TABLE orders IS 'refused too';
RESET search_path;
SELECT count(*) AS invalid_indexes FROM pg_index WHERE indrelid = 'gd.orders'::regclass AND NOT indisvalid;
-- ... nor from a function.
CREATE FUNCTION public.gd_alter() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	ALTER TABLE gd.orders ADD COLUMN note text;
END
$$;
SELECT public.gd_alter();
DROP FUNCTION public.gd_alter();
-- ... nor from a session that calls itself Citus: the application_name of
-- the sessions Citus opens between nodes proves nothing (citus.c).
SET application_name = 'citus_internal gpid=10000012345';
ALTER TABLE gd.orders ADD COLUMN note text;
SET application_name = 'citus_rebalancer gpid=10000012345';
CREATE TABLE gd.items (id int);
SET application_name = 'citus_shard_move_subscription_role_10';
DROP TABLE gd.orders;
RESET application_name;
-- Another migration passes.
SELECT steward.migrate('gd', '2', 'ALTER TABLE gd.orders ADD COLUMN note text');
SELECT attname FROM pg_attribute WHERE attrelid = 'gd.orders'::regclass AND attnum > 0 ORDER BY attnum;

-- Break-glass: only members of steward_ddl_admin may turn allow_ddl on.
CREATE ROLE gd_dev;
CREATE ROLE gd_oncall;
GRANT steward_ddl_admin TO gd_oncall;
GRANT USAGE, CREATE ON SCHEMA gd TO gd_dev, gd_oncall;
SELECT steward.migrate('gd', '3', 'ALTER TABLE gd.orders OWNER TO gd_oncall');
SET ROLE gd_dev;
SET steward.allow_ddl = on;
RESET ROLE;
SET ROLE gd_oncall;
SET steward.allow_ddl = on;
CREATE INDEX ix_orders_qty ON gd.orders (qty);
RESET steward.allow_ddl;
RESET ROLE;
SELECT command_tag, object_identity, by_user, break_glass FROM steward.ddl_log
 WHERE schema_name = 'gd' AND module IS NULL ORDER BY id;
-- check reports the break-glass change.
SELECT object_type, object_identity, change,
       regexp_replace(detail, '.*last DDL', 'last DDL') AS detail
  FROM steward.check('gd');

-- With steward.conventions off (a restore) DDL passes, as in extension scripts.
SET steward.conventions = off;
CREATE TABLE gd.restored_rows (id int);
RESET steward.conventions;
-- ddl => 'any' (the default) is today's behaviour.
SELECT schema_name, ddl FROM steward.manage_schema('gd', inject_columns => false, audit => false);
CREATE TABLE gd.free_rows (id int);
-- Such a session's DDL is logged like any other.
SET application_name = 'citus_internal gpid=10000012345';
CREATE TABLE gd.citus_named_rows (id int);
RESET application_name;
SELECT command_tag, object_identity, application_name FROM steward.ddl_log
 WHERE object_identity = 'gd.citus_named_rows';
-- Bad input.
SELECT steward.manage_schema('gd', ddl => 'never');
SELECT steward.manage_schema('gd', ddl => NULL);

DROP SCHEMA gd CASCADE;
SELECT steward.unmanage_schema('gd');
DROP ROLE gd_dev;
DROP ROLE gd_oncall;
