-- lint: adopt conventions on a live database.  Objects created before the
-- schema was managed are reported with the accepted name; nothing changes.
CREATE SCHEMA crm;
CREATE TABLE crm."Customer" ("CustomerID" serial PRIMARY KEY, "EMail" text UNIQUE, age int CHECK (age > 0));
CREATE TABLE crm.order_line (id int PRIMARY KEY, customer int REFERENCES crm."Customer", qty int);
CREATE INDEX order_line_qty_idx ON crm.order_line (qty);
CREATE INDEX by_qty ON crm.order_line (qty, id);
CREATE UNIQUE INDEX ix_order_line_id ON crm.order_line (id);
CREATE VIEW crm."BigOrders" AS SELECT * FROM crm.order_line WHERE qty > 10;
CREATE SEQUENCE crm."InvoiceNo";
CREATE TABLE crm.aux_invoices (id int PRIMARY KEY);
CREATE TEMP TABLE "TempLint" (id int);
-- An unmanaged schema is linted with default rules (no prefix, plural tables).
SELECT * FROM steward.lint('crm');
-- With a policy, the prefix joins the rules; lint() without argument covers managed schemas.
SELECT schema_name FROM steward.manage_schema('crm', table_prefix => 'aux_', mode => 'warn',
                                              inject_columns => false, audit => false);
SELECT object_identity, rule, suggestion FROM steward.lint() ORDER BY 1, 2;
-- Fixing what lint says makes it quiet for those objects.
SET client_min_messages = error;
ALTER TABLE crm."Customer" RENAME TO aux_customers;
ALTER TABLE crm.aux_customers RENAME COLUMN "CustomerID" TO customer_id;
ALTER TABLE crm.aux_customers RENAME COLUMN "EMail" TO email;
ALTER TABLE crm.aux_customers RENAME CONSTRAINT "Customer_pkey" TO pk_aux_customers;
ALTER TABLE crm.aux_customers RENAME CONSTRAINT "Customer_EMail_key" TO uq_aux_customers_email;
ALTER TABLE crm.aux_customers RENAME CONSTRAINT "Customer_age_check" TO ck_aux_customers_age;
ALTER SEQUENCE crm."Customer_CustomerID_seq" RENAME TO sq_aux_customers_customer_id;
RESET client_min_messages;
SELECT object_identity, rule, suggestion FROM steward.lint('crm') WHERE object_identity LIKE '%customer%' ORDER BY 1;
-- Clean schema, empty lint.
CREATE SCHEMA tidy;
SELECT schema_name FROM steward.manage_schema('tidy', inject_columns => false, audit => false);
CREATE TABLE tidy.widgets (id int PRIMARY KEY, name text UNIQUE);
SELECT * FROM steward.lint('tidy');
SELECT count(*) AS unknown_schema_rows FROM steward.lint('no_such_schema');
