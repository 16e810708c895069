-- Tables that arrive in a managed schema get a created table's treatment;
-- the columns of a created table are part of its CREATE TABLE; opt-outs.
CREATE SCHEMA ar_mine;
CREATE SCHEMA ar_shop;
SELECT schema_name FROM steward.manage_schema('ar_shop', table_prefix => 'aux_', audit => true);

-- The columns are added to the CREATE TABLE statement itself: the table is
-- created once (its file is still the one it was created with: no rewrite)
-- and the columns come after the user's.
CREATE TABLE ar_shop.aux_notes (body text);
SELECT relfilenode = oid AS never_rewritten FROM pg_class WHERE oid = 'ar_shop.aux_notes'::regclass;
SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute
 WHERE attrelid = 'ar_shop.aux_notes'::regclass AND attnum > 0 ORDER BY attnum;
SELECT conname, contype FROM pg_constraint
 WHERE conrelid = 'ar_shop.aux_notes'::regclass AND contype <> 'n' ORDER BY 1;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'ar_shop.aux_notes'::regclass ORDER BY 1;
-- ... also under the user's search_path, with unqualified names.
SET search_path = nowhere, ar_shop;
CREATE TABLE aux_memos (body text);
SELECT relfilenode = oid AS never_rewritten, relnatts FROM pg_class WHERE oid = 'ar_shop.aux_memos'::regclass;
INSERT INTO aux_memos (body) VALUES ('hello') RETURNING body, href LIKE '/memos/%' AS href_ok;
RESET search_path;
-- A non-superuser gets the same, with their own rights (they own the table
-- and its triggers).
CREATE ROLE ar_user;
GRANT CREATE, USAGE ON SCHEMA ar_shop TO ar_user;
SET ROLE ar_user;
CREATE TABLE ar_shop.aux_drafts (body text);
INSERT INTO ar_shop.aux_drafts (body) VALUES ('x');
UPDATE ar_shop.aux_drafts SET body = 'y';
RESET ROLE;
SELECT relowner::regrole, relnatts FROM pg_class WHERE oid = 'ar_shop.aux_drafts'::regclass;
SELECT op, count(*) FROM steward.audit_log WHERE relid = 'ar_shop.aux_drafts'::regclass GROUP BY op ORDER BY 1;

-- ALTER TABLE ... SET SCHEMA into a managed schema: judged, injected, audited.
CREATE TABLE ar_mine."Ledger Rows" (amount int);
ALTER TABLE ar_mine."Ledger Rows" SET SCHEMA ar_shop;
SELECT count(*) FROM pg_class WHERE relname = 'Ledger Rows';
CREATE TABLE ar_mine.aux_ledger_rows (amount int, CONSTRAINT ledger_amount_check CHECK (amount > 0));
CREATE INDEX ledger_amount_idx ON ar_mine.aux_ledger_rows (amount);
ALTER TABLE ar_mine.aux_ledger_rows SET SCHEMA ar_shop;
SELECT attname FROM pg_attribute
 WHERE attrelid = 'ar_shop.aux_ledger_rows'::regclass AND attnum > 0 ORDER BY attnum;
SELECT conname FROM pg_constraint
 WHERE conrelid = 'ar_shop.aux_ledger_rows'::regclass AND contype <> 'n' ORDER BY 1;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'ar_shop.aux_ledger_rows'::regclass ORDER BY 1;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'ar_shop.aux_ledger_rows'::regclass ORDER BY 1;
INSERT INTO ar_shop.aux_ledger_rows (amount) VALUES (5);
SELECT op FROM steward.audit_log WHERE relid = 'ar_shop.aux_ledger_rows'::regclass;

-- CREATE SCHEMA ... CREATE TABLE when the new schema already has a policy.
SELECT schema_name FROM steward.manage_schema('ar_tenant9', table_prefix => 'aux_');
CREATE SCHEMA ar_tenant9 CREATE TABLE "Ledger Rows" (amount int);
CREATE SCHEMA ar_tenant9 CREATE TABLE aux_ledger_rows (amount int UNIQUE);
SELECT attname FROM pg_attribute
 WHERE attrelid = 'ar_tenant9.aux_ledger_rows'::regclass AND attnum > 0 ORDER BY attnum;
SELECT conname FROM pg_constraint
 WHERE conrelid = 'ar_tenant9.aux_ledger_rows'::regclass AND contype <> 'n' ORDER BY 1;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'ar_tenant9.aux_ledger_rows'::regclass ORDER BY 1;

-- A schema renamed to a managed name brings its tables.
ALTER SCHEMA ar_tenant9 RENAME TO ar_tmp;
CREATE TABLE ar_tmp."Other Rows" (amount int);
ALTER SCHEMA ar_tmp RENAME TO ar_tenant9;
DROP TABLE ar_tmp."Other Rows";
CREATE TABLE ar_tmp.aux_other_rows (amount int);
ALTER SCHEMA ar_tmp RENAME TO ar_tenant9;
SELECT attname FROM pg_attribute
 WHERE attrelid = 'ar_tenant9.aux_other_rows'::regclass AND attnum > 0 ORDER BY attnum;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'ar_tenant9.aux_other_rows'::regclass ORDER BY 1;

-- Opt-outs: inject_exclude (LIKE patterns) and SET steward.inject = off.
SELECT schema_name, inject_exclude
  FROM steward.manage_schema('ar_shop', table_prefix => 'aux_', audit => false,
							 inject_exclude => ARRAY['aux_%_links', 'aux_alembic_versions']);
CREATE TABLE ar_shop.aux_order_links (a int, b int, PRIMARY KEY (a, b));
CREATE TABLE ar_shop.aux_alembic_versions (version_num varchar(32) PRIMARY KEY);
SELECT attrelid::regclass, count(*) FROM pg_attribute
 WHERE attrelid IN ('ar_shop.aux_order_links'::regclass, 'ar_shop.aux_alembic_versions'::regclass)
   AND attnum > 0 GROUP BY 1 ORDER BY 1;
-- still judged by the naming rules
CREATE TABLE ar_shop.aux_bad_links ("A" int);
SET steward.inject = off;
CREATE TABLE ar_shop.aux_plain_rows (a int);
SELECT count(*) FROM pg_attribute WHERE attrelid = 'ar_shop.aux_plain_rows'::regclass AND attnum > 0;
RESET steward.inject;
SET ROLE ar_user;
SET steward.inject = off;	-- any user, for their own statements
RESET ROLE;

-- Bad input.
SELECT steward.manage_schema('ar_shop', inject_exclude => ARRAY['aux_%', NULL]);
SET steward.inject = maybe;
SET steward.inject = 2;
-- A table whose name cannot be made to fit is refused with the name to use.
CREATE TABLE ar_mine."Bad Name" (a int);
ALTER TABLE ar_mine."Bad Name" SET SCHEMA ar_shop;
CREATE TABLE ar_mine.aux_good_rows ("Bad Column" int);
ALTER TABLE ar_mine.aux_good_rows SET SCHEMA ar_shop;

DROP SCHEMA ar_mine, ar_shop, ar_tenant9 CASCADE;
SELECT steward.unmanage_schema(s) FROM unnest(ARRAY['ar_shop', 'ar_tenant9']) AS s;
DROP ROLE ar_user;
