-- lint's production checklist: created_outside_migrations, fk_without_index,
-- not_validated, no_primary_key and duplicate_index.  Each is found, each
-- is quiet when the object is right, and running the suggestions as they
-- are (psql's \gexec, one statement each, so CONCURRENTLY works) leaves
-- nothing to report.  The schema is managed, with the opt-outs in use: a
-- table excluded by inject_exclude and one created with steward.inject off.
CREATE SCHEMA ck;
SELECT schema_name FROM steward.manage_schema('ck', audit => false, href_template => NULL,
                                              inject_exclude => ARRAY['%_links']);
SELECT steward.define_module('ck', 'ck');
SELECT steward.migrate('ck', '1', $$
CREATE TABLE ck.customers (email text NOT NULL);
CREATE TABLE ck.orders (customer_id uuid REFERENCES ck.customers, qty int);
CREATE INDEX ix_orders_customer_id ON ck.orders (customer_id);
CREATE TABLE ck.tags (label text);
CREATE INDEX ix_customers_email ON ck.customers (lower(email));
CREATE INDEX ix_customers_email_recent ON ck.customers (lower(email)) WHERE created > '2026-01-01';
$$);
-- As the migration left it: nothing to report (a partial index is no
-- duplicate of the full one).
SELECT * FROM steward.lint('ck');

-- Each rule, from a second migration that does what lint reports.
SELECT steward.migrate('ck', '2', $$
SET LOCAL steward.inject = off;
CREATE TABLE ck.notes (body text NOT NULL);
CREATE UNIQUE INDEX uq_notes_body ON ck.notes (body);
CREATE TABLE ck.legacy_rows (code text);
SET LOCAL steward.inject = on;
CREATE TABLE ck.order_tag_links (order_id uuid REFERENCES ck.orders, tag_id uuid REFERENCES ck.tags);
ALTER TABLE ck.orders ADD CONSTRAINT ck_orders_qty CHECK (qty > 0) NOT VALID;
CREATE INDEX ix_orders_qty ON ck.orders (qty);
CREATE INDEX ix_orders_qty_again ON ck.orders (qty);
CREATE UNIQUE INDEX uq_orders_id ON ck.orders (id);
CREATE INDEX ix_customers_email_again ON ck.customers (lower(email));
$$);
-- ... and a table made outside migrations.
CREATE TABLE ck.scratch_rows (note text);
SELECT object_type, object_identity, rule, message FROM steward.lint('ck');
SELECT object_identity, rule, suggestion FROM steward.lint('ck');

-- Names, quoting and the search_path: the same findings whatever the
-- caller's search_path; a migration table renamed outside migrations is
-- still the migration's; lint() without argument covers managed schemas.
SET search_path = ck, public;
SELECT count(*) AS findings FROM steward.lint('ck');
SELECT count(*) AS findings FROM steward.lint() WHERE object_identity LIKE 'ck.%' OR object_identity LIKE '% on ck.%';
RESET search_path;
ALTER TABLE ck.tags RENAME TO labels;
SELECT object_identity, rule FROM steward.lint('ck') WHERE rule = 'created_outside_migrations';
ALTER TABLE ck.labels RENAME TO tags;
CREATE SCHEMA "Odd Shop";
CREATE TABLE "Odd Shop"."Parents" ("Id" int PRIMARY KEY);
CREATE TABLE "Odd Shop"."Kids" ("Id" int PRIMARY KEY, "Parent" int REFERENCES "Odd Shop"."Parents");
SELECT object_identity, suggestion FROM steward.lint('Odd Shop') WHERE rule = 'fk_without_index';
DROP SCHEMA "Odd Shop" CASCADE;

-- Anyone may lint: the checklist needs no right on steward's catalogs.
CREATE ROLE ck_reader;
SET ROLE ck_reader;
SELECT count(*) AS findings FROM steward.lint('ck');
RESET ROLE;
DROP ROLE ck_reader;

-- Run every suggestion as it is; then lint has nothing more to say.
SELECT suggestion FROM steward.lint('ck') ORDER BY CASE rule WHEN 'created_outside_migrations' THEN 1 ELSE 0 END, 1 \gexec
SELECT * FROM steward.lint('ck');
SELECT conname, contype, convalidated FROM pg_constraint
 WHERE connamespace = 'ck'::regnamespace AND contype IN ('p', 'c') ORDER BY 1;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'ck.order_tag_links'::regclass ORDER BY 1;
SELECT object_type, object_identity, change FROM steward.check('ck');

DROP SCHEMA ck CASCADE;
SELECT steward.unmanage_schema('ck');
