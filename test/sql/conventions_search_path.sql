-- Names in the user's statement are resolved as the statement resolves them:
-- its search_path, its temporary schema, quoting -- never under the event
-- triggers' pinned search_path.  Every rule of conventions_naming, once more
-- with unqualified names under a search_path of several schemas, then the
-- same statements inside a PL/pgSQL function.
CREATE SCHEMA sp_shop;
CREATE SCHEMA sp_other;
SELECT schema_name, mode FROM steward.manage_schema('sp_shop', inject_columns => false, audit => false);
SET search_path = nowhere, sp_shop, public;

-- Tables, columns, sequences and views in the first existing schema (sp_shop).
CREATE TABLE "Orders" (id int);
CREATE TABLE order_line (id int);
CREATE TABLE orders ("Qty" int);
CREATE TABLE orders (id int PRIMARY KEY, code text, qty int, customer int);
CREATE SEQUENCE "OrderNumbers";
CREATE VIEW "OpenOrders" AS SELECT id FROM orders;
SELECT relname, relkind FROM pg_class WHERE relnamespace = 'sp_shop'::regnamespace ORDER BY 1;

-- The reproductions: refused here exactly as with sp_shop.orders.
ALTER TABLE orders ADD CONSTRAINT "Any Name" CHECK (qty > 0);
CREATE INDEX CONCURRENTLY "AnyIndex" ON orders (qty);
CREATE INDEX "AnyIndex" ON orders (qty);
ALTER TABLE orders RENAME COLUMN qty TO "Qty";
ALTER TABLE orders RENAME TO "Orders";
-- Generated names are renamed, given standard ones accepted.
ALTER TABLE orders ADD UNIQUE (code);
ALTER TABLE orders ADD CHECK (qty > 0);
CREATE INDEX ON orders (customer);
CREATE INDEX CONCURRENTLY ix_orders_qty ON orders (qty);
ALTER TABLE orders ADD COLUMN note text;
SELECT conname, contype FROM pg_constraint
 WHERE conrelid = 'sp_shop.orders'::regclass AND contype <> 'n' ORDER BY 1;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'sp_shop.orders'::regclass ORDER BY 1;
ALTER TABLE orders RENAME CONSTRAINT uq_orders_code TO "Code Key";

-- Another schema first in the path: the same names there are not judged.
SET search_path = sp_other, sp_shop;
CREATE TABLE orders (qty int);
ALTER TABLE orders ADD CONSTRAINT "Any Name" CHECK (qty > 0);
CREATE INDEX CONCURRENTLY "AnyIndex" ON orders (qty);
SELECT conname FROM pg_constraint WHERE conrelid = 'sp_other.orders'::regclass AND contype <> 'n';
-- ... but sp_shop's table, named through the path's second schema, is.
DROP TABLE sp_other.orders;
ALTER TABLE orders ADD CONSTRAINT "Any Name" CHECK (qty > 0);

-- A temporary table shadows sp_shop.orders for unqualified names: the
-- statement changes the temporary table, which is not judged.
SET search_path = sp_shop;
CREATE TEMP TABLE orders (qty int);
ALTER TABLE orders ADD CONSTRAINT "Any Name" CHECK (qty > 0);
CREATE INDEX "AnyIndex" ON orders (qty);
SELECT conname FROM pg_constraint WHERE conrelid = 'pg_temp.orders'::regclass AND contype <> 'n';
-- and pg_temp.orders, qualified, is the same table.
ALTER TABLE pg_temp.orders ADD CONSTRAINT "Other Name" CHECK (qty > 1);
DROP TABLE pg_temp.orders;
-- With it gone, the same unqualified statements reach sp_shop.orders again.
ALTER TABLE orders ADD CONSTRAINT "Any Name" CHECK (qty > 0);

-- "$user" in the path resolves to the role running the statement.
CREATE ROLE steward_sp_user;
CREATE SCHEMA steward_sp_user AUTHORIZATION steward_sp_user;
SELECT schema_name FROM steward.manage_schema('steward_sp_user', inject_columns => false, audit => false);
GRANT CREATE ON SCHEMA sp_shop TO steward_sp_user;
SET ROLE steward_sp_user;
SET search_path = "$user", sp_shop;
CREATE TABLE "Mine" (id int);
CREATE TABLE items (id int, CONSTRAINT "Mine Key" PRIMARY KEY (id));
CREATE TABLE items (id int PRIMARY KEY);
SELECT conname FROM pg_constraint WHERE conrelid = 'steward_sp_user.items'::regclass AND contype <> 'n';
RESET ROLE;

-- Inside a PL/pgSQL function: static and dynamic statements resolve their
-- names with the function's search_path at the time they run.
SET search_path = nowhere, sp_shop, public;
CREATE FUNCTION sp_other.change_orders(how text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF how = 'static' THEN
		ALTER TABLE orders ADD CONSTRAINT "Any Name" CHECK (qty > 0);
	ELSIF how = 'index' THEN
		CREATE INDEX "AnyIndex" ON orders (qty);
	ELSIF how = 'unique' THEN
		ALTER TABLE orders ADD UNIQUE (qty);
	ELSE
		EXECUTE 'ALTER TABLE orders ADD CONSTRAINT "Any Name" CHECK (qty > 0)';
	END IF;
END
$$;
SELECT sp_other.change_orders('static');
SELECT sp_other.change_orders('index');
SELECT sp_other.change_orders('dynamic');
SELECT sp_other.change_orders('unique');
SELECT conname FROM pg_constraint
 WHERE conrelid = 'sp_shop.orders'::regclass AND contype = 'u' ORDER BY 1;
-- A function with its own search_path resolves with that one.
ALTER FUNCTION sp_other.change_orders(text) SET search_path = sp_other;
CREATE TABLE sp_other.orders (qty int);
SELECT sp_other.change_orders('static');
SELECT conname FROM pg_constraint WHERE conrelid = 'sp_other.orders'::regclass AND contype <> 'n';

-- Notes taken at ddl_command_start belong to one command: a temporary
-- table's explicit constraint name is never taken for the next CREATE TABLE
-- (whose explicit, non-standard name must be refused, not renamed).
CREATE SCHEMA sp_app;
SELECT schema_name FROM steward.manage_schema('sp_app', table_prefix => 't_', inject_columns => false,
											  audit => false);
BEGIN;
CREATE TABLE pg_temp.t_aaaaaaa (id uuid, CONSTRAINT zz_aaaaaaa PRIMARY KEY (id));
CREATE TABLE sp_app.t_widgets (id uuid, CONSTRAINT t_widgets_pkey PRIMARY KEY (id));
ROLLBACK;
BEGIN;
CREATE TABLE pg_temp.t_aaaaaaa (id uuid, CONSTRAINT zz_aaaaaaa PRIMARY KEY (id));
CREATE TABLE sp_app.t_widgets (id uuid, CONSTRAINT pk_t_widgets PRIMARY KEY (id));
CREATE TABLE sp_app.t_gadgets (id uuid PRIMARY KEY);
SELECT conrelid::regclass, conname FROM pg_constraint
 WHERE connamespace = 'sp_app'::regnamespace AND contype <> 'n' ORDER BY 1;
ROLLBACK;
-- A command that fails between its start and its end leaves no note behind.
BEGIN;
SAVEPOINT s;
CREATE TABLE sp_app.t_broken (id uuid, CONSTRAINT t_broken_pkey PRIMARY KEY (id), x no_such_type);
ROLLBACK TO s;
CREATE TABLE sp_app.t_parts (id uuid PRIMARY KEY);
CREATE TABLE sp_app.t_pieces (id uuid, CONSTRAINT t_pieces_key PRIMARY KEY (id));
ROLLBACK;
DO $$
BEGIN
	BEGIN
		CREATE TABLE sp_app.t_broken (id uuid, CONSTRAINT t_broken_pkey PRIMARY KEY (id), x no_such_type);
	EXCEPTION WHEN undefined_object THEN
		RAISE NOTICE 'failed as expected: %', SQLERRM;
	END;
	CREATE TABLE sp_app.t_parts (id uuid PRIMARY KEY);
END
$$;
SELECT conname FROM pg_constraint WHERE conrelid = 'sp_app.t_parts'::regclass AND contype <> 'n';

-- The policy a CREATE TABLE obeys is the one its transaction sees at that
-- command: managed, changed and unmanaged again inside one transaction.
BEGIN;
CREATE SCHEMA sp_tx;
CREATE TABLE sp_tx.before_policy (x int);
SELECT schema_name FROM steward.manage_schema('sp_tx', table_prefix => 'tx_');
CREATE TABLE sp_tx.tx_firsts (x int);
SELECT schema_name FROM steward.manage_schema('sp_tx', table_prefix => 'tx_', inject_columns => false);
CREATE TABLE sp_tx.tx_seconds (x int);
SELECT steward.unmanage_schema('sp_tx');
CREATE TABLE sp_tx.after_policy (x int);
SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum) AS columns
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
 WHERE c.relnamespace = 'sp_tx'::regnamespace AND c.relkind = 'r'
 GROUP BY c.relname ORDER BY 1;
ROLLBACK;

RESET search_path;
DROP SCHEMA sp_app, sp_other, sp_shop, steward_sp_user CASCADE;
SELECT steward.unmanage_schema(s) FROM unnest(ARRAY['sp_app', 'sp_shop', 'steward_sp_user']) AS s;
DROP ROLE steward_sp_user;
