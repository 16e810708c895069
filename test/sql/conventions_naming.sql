-- Naming conventions enforced by event triggers in managed schemas.
CREATE SCHEMA app;
-- (injection and audit are separate features; off here to see naming alone)
SELECT schema_name, table_prefix, plural_tables, mode
  FROM steward.manage_schema('app', table_prefix => 'aux_', inject_columns => false, audit => false);
SELECT schema_name, table_prefix, plural_tables, inject_columns, audit, mode, id_column, created_column,
       updated_column, href_template FROM steward.schema_policies;

-- Table names: prefix, plural last word, snake_case; the hint gives the name to use.
CREATE TABLE app.aux_product (id int);
CREATE TABLE app."Products" (id int);
CREATE TABLE app.products (id int);
CREATE TABLE app.aux_person (id int);
CREATE TABLE app.aux_equipment (id int);
CREATE TABLE app.aux_people (id int);
-- Column names are snake_case.
CREATE TABLE app.aux_things ("Name" text);
CREATE TABLE app.aux_things ("first name" text);

-- Names PostgreSQL generates are renamed to the standard, deterministically.
CREATE TABLE app.aux_products (
  id int PRIMARY KEY,
  sku text UNIQUE,
  name text NOT NULL CHECK (name <> ''),
  price numeric,
  code serial,
  ref int GENERATED ALWAYS AS IDENTITY,
  CHECK (price > 0 AND price < 1000000),
  CHECK (now() IS NOT NULL));
CREATE TABLE app.aux_order_items (
  id bigint PRIMARY KEY,
  product int REFERENCES app.aux_products,
  qty int,
  EXCLUDE USING btree (product WITH =, qty WITH =));
SELECT conrelid::regclass AS tbl, conname, contype FROM pg_constraint
 WHERE connamespace = 'app'::regnamespace AND contype <> 'n' ORDER BY 1, 2;
-- Table-level constraint names the user wrote are checked, not renamed
-- (PostgreSQL splits them off the CREATE TABLE; they are noted before).
CREATE TABLE app.aux_bs (id int, b int, CONSTRAINT bs_pk PRIMARY KEY (id));
CREATE TABLE app.aux_bs (id int, b int, CONSTRAINT bs_uniq UNIQUE (b));
CREATE TABLE app.aux_bs (id int, b int, CONSTRAINT bs_fk FOREIGN KEY (b) REFERENCES app.aux_products);
CREATE TABLE app.aux_bs (id int, b int, CONSTRAINT bs_ex EXCLUDE USING btree (b WITH =));
CREATE TABLE app.aux_bs (id int, b int, CONSTRAINT pk_aux_bs PRIMARY KEY (id), CONSTRAINT uq_aux_bs_b UNIQUE (b));
SELECT conname FROM pg_constraint WHERE contype <> 'n' AND conrelid = 'app.aux_bs'::regclass ORDER BY 1;
SELECT relname, relkind FROM pg_class WHERE relnamespace = 'app'::regnamespace ORDER BY relkind, relname;

-- Indexes: generated names renamed; explicit names checked, also for unique indexes.
CREATE INDEX ON app.aux_products (name, price);
CREATE INDEX ON app.aux_products (lower(name));
CREATE INDEX ON app.aux_products (lower(name));
CREATE UNIQUE INDEX ON app.aux_products (code);
CREATE INDEX ix_wrong ON app.aux_products (name);
CREATE INDEX ix_aux_products_sku ON app.aux_products (sku);
CREATE INDEX ix_aux_products_sku_partial ON app.aux_products (sku) WHERE price > 10;
CREATE UNIQUE INDEX ix_aux_products_ref ON app.aux_products (ref);
SELECT indexrelid::regclass AS index FROM pg_index WHERE indrelid = 'app.aux_products'::regclass ORDER BY 1;

-- CREATE INDEX CONCURRENTLY with a bad name is refused before it starts:
-- no invalid index is left behind.
CREATE INDEX CONCURRENTLY ix_bad_concurrent ON app.aux_products (price);
SELECT count(*) AS invalid_indexes FROM pg_index WHERE NOT indisvalid;
CREATE INDEX CONCURRENTLY ix_aux_products_price ON app.aux_products (price);
CREATE INDEX CONCURRENTLY ON app.aux_products (sku, price);
SELECT indexrelid::regclass AS index, indisvalid FROM pg_index
 WHERE indrelid = 'app.aux_products'::regclass AND indexrelid::regclass::text LIKE '%price%' ORDER BY 1;

-- ALTER TABLE: new columns and constraints are judged, existing ones are not.
ALTER TABLE app.aux_products ADD COLUMN "Weight" int;
ALTER TABLE app.aux_products ADD COLUMN weight int CHECK (weight > 0), ADD COLUMN vendor int;
ALTER TABLE app.aux_products ADD FOREIGN KEY (vendor) REFERENCES app.aux_order_items;
ALTER TABLE app.aux_products ADD CONSTRAINT vendor_fk FOREIGN KEY (vendor) REFERENCES app.aux_order_items;
ALTER TABLE app.aux_products ADD CONSTRAINT uq_aux_products_name UNIQUE (name);
SELECT conname FROM pg_constraint WHERE contype <> 'n' AND conrelid = 'app.aux_products'::regclass ORDER BY 1;

-- Renames: table, column, index, constraint.
ALTER TABLE app.aux_order_items RENAME TO aux_order_item;
ALTER TABLE app.aux_order_items RENAME TO aux_line_items;
ALTER TABLE app.aux_line_items RENAME COLUMN qty TO "Quantity";
ALTER TABLE app.aux_line_items RENAME COLUMN qty TO quantity;
ALTER INDEX app.ix_aux_products_name_price RENAME TO products_by_name;
ALTER TABLE app.aux_products RENAME CONSTRAINT ck_aux_products_weight TO weight_positive;
ALTER TABLE app.aux_products RENAME CONSTRAINT ck_aux_products_weight TO ck_aux_products_weight_positive;

-- CREATE TABLE AS, SELECT INTO, views, materialized views, sequences.
CREATE TABLE app.aux_report AS SELECT 1 AS n;
CREATE TABLE app.aux_reports AS SELECT 1 AS "N";
CREATE TABLE app.aux_reports AS SELECT 1 AS n;
SELECT 1 AS n INTO app.aux_copy;
SELECT 1 AS n INTO app.aux_copies;
CREATE VIEW app."ActiveProducts" AS SELECT 1 AS n;
CREATE VIEW app.active_products AS SELECT 1 AS n;
CREATE MATERIALIZED VIEW app."Totals" AS SELECT 1 AS n;
CREATE MATERIALIZED VIEW app.totals AS SELECT 1 AS n;
CREATE SEQUENCE app."TicketNo";
CREATE SEQUENCE app.ticket_no;

-- Long names are cut to 63 bytes with an 8-hex hash and stay unique.
CREATE TABLE app.aux_long_named_widgets_for_testing_limits (
  a_rather_long_column_name_number_one int,
  a_rather_long_column_name_number_two int,
  UNIQUE (a_rather_long_column_name_number_one, a_rather_long_column_name_number_two),
  UNIQUE (a_rather_long_column_name_number_two, a_rather_long_column_name_number_one));
SELECT conname, length(conname) AS len FROM pg_constraint
 WHERE conrelid = 'app.aux_long_named_widgets_for_testing_limits'::regclass AND contype <> 'n' ORDER BY 1;
SELECT steward.standard_name('uq', 'app.aux_long_named_widgets_for_testing_limits',
                             ARRAY['a_rather_long_column_name_number_one', 'a_rather_long_column_name_number_two']);

-- standard_name for every kind.
SELECT steward.standard_name('pk', 'app.aux_products', NULL),
       steward.standard_name('ix', 'app.aux_products', ARRAY['name', 'price']),
       steward.standard_name('fk', 'app.aux_line_items', ARRAY['product'], 'app.aux_products'),
       steward.standard_name('ck', 'app.aux_products', ARRAY['price']),
       steward.standard_name('sq', 'app.aux_products', ARRAY['code']);
SELECT steward.standard_name('zz', 'app.aux_products', NULL);
SELECT steward.standard_name('fk', 'app.aux_products', ARRAY['vendor']);

-- warn mode: the same text as a WARNING, and the DDL proceeds.
SELECT mode FROM steward.manage_schema('app', table_prefix => 'aux_', mode => 'warn', inject_columns => false, audit => false);
CREATE TABLE app.aux_child (id int, "Bad" int);
CREATE INDEX child_idx ON app.aux_child (id);
SELECT to_regclass('app.aux_child') IS NOT NULL AS created, to_regclass('app.child_idx') IS NOT NULL AS index_kept;
-- generated names are still renamed in warn mode
CREATE TABLE app.aux_kids (id int PRIMARY KEY);
SELECT conname FROM pg_constraint WHERE contype <> 'n' AND conrelid = 'app.aux_kids'::regclass;

-- off mode and the steward.conventions setting switch everything off.
SELECT mode FROM steward.manage_schema('app', table_prefix => 'aux_', mode => 'off', inject_columns => false, audit => false);
CREATE TABLE app."Whatever" (id int PRIMARY KEY);
SELECT conname FROM pg_constraint WHERE contype <> 'n' AND conrelid = 'app."Whatever"'::regclass;
SELECT mode FROM steward.manage_schema('app', table_prefix => 'aux_', inject_columns => false, audit => false);
SET steward.conventions = off;
CREATE TABLE app."AlsoWhatever" (id int PRIMARY KEY);
RESET steward.conventions;
CREATE ROLE conv_user;
GRANT CREATE, USAGE ON SCHEMA app TO conv_user;
SET SESSION AUTHORIZATION conv_user;
SET steward.conventions = off;
-- a normal user is held to the conventions too
CREATE TABLE app.aux_mine (id int);
CREATE TABLE app.aux_mines (id int PRIMARY KEY);
SELECT conname FROM pg_constraint WHERE contype <> 'n' AND conrelid = 'app.aux_mines'::regclass;
SELECT steward.manage_schema('app');
RESET SESSION AUTHORIZATION;

-- Skipped: unmanaged schemas, temp tables, partitions, typed tables,
-- foreign tables, objects of extension scripts.
CREATE TABLE public."NotManaged" (id int PRIMARY KEY);
CREATE TEMP TABLE "TempThing" (id int PRIMARY KEY);
CREATE TABLE app.aux_events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE app."Events2024" PARTITION OF app.aux_events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
SELECT conname FROM pg_constraint WHERE contype <> 'n' AND conrelid = 'app."Events2024"'::regclass;
CREATE TYPE app.pair AS (a int, b int);
CREATE TABLE app."Pairs" OF app.pair;
CREATE FOREIGN DATA WRAPPER dummy_fdw;
CREATE SERVER dummy_srv FOREIGN DATA WRAPPER dummy_fdw;
CREATE FOREIGN TABLE app."Remote" (id int) SERVER dummy_srv;
CREATE EXTENSION hstore SCHEMA app;
SELECT count(*) > 0 AS extension_objects FROM pg_proc WHERE pronamespace = 'app'::regnamespace;
-- the steward schema itself is never managed
SELECT steward.manage_schema('steward');
SELECT steward.manage_schema('app', mode => 'loud');
SELECT steward.manage_schema('app', table_prefix => 'Aux');

-- Nested DDL issued by pg_steward itself (renames) does not recurse, and
-- the DDL log carries the final names.
SELECT command_tag, object_identity FROM steward.ddl_log
 WHERE object_identity LIKE 'app.aux_order_items%' OR object_identity LIKE 'app.pk_aux_order%'
    OR object_identity LIKE 'app.sq_aux%' ORDER BY id;

-- lint reports what predates the policy or slipped through warn/off modes.
SELECT * FROM steward.lint('app');

-- unmanage_schema: the schema is left alone again.
SELECT steward.unmanage_schema('app'), steward.unmanage_schema('app');
CREATE TABLE app."FreeForAll" (id int);
