-- pg_steward guided tour.  Each step prints what it shows.
\pset footer off
\set QUIET on

\echo
\echo '== 1. Install: CREATE EXTENSION creates schema steward'
CREATE EXTENSION pg_steward;
SELECT extname, extversion, extnamespace::regnamespace AS schema
  FROM pg_extension WHERE extname = 'pg_steward';

\echo
\echo '== 2. The loaded library version'
SELECT steward.version();

\echo
\echo '== 3. Settings (all under the reserved prefix steward.)'
SELECT name, setting, unit, context, short_desc
  FROM pg_settings WHERE name LIKE 'steward.%' ORDER BY name;

\echo
\echo '== 4. Migrations: a module and three registered migrations (templates expand to the module schema)'
SELECT steward.define_module('shop', 'shop', 'demo shop');
SELECT steward.register('shop', '1', 'CREATE SCHEMA {{schema}}; CREATE TABLE {{tables.products}} (id int PRIMARY KEY, name text)',
                        'DROP SCHEMA {{schema}} CASCADE', 'products');
SELECT steward.register('shop', '2', 'ALTER TABLE {{tables.products}} ADD price numeric(10,2)',
                        'ALTER TABLE {{tables.products}} DROP price', 'prices');
SELECT steward.register('shop', '10', 'CREATE INDEX ix_products_name ON {{tables.products}} (name)',
                        'DROP INDEX {{schema}}.ix_products_name', 'name index');
\echo '-- status: versions in natural order (10 after 2), all pending'
SELECT * FROM steward.status('shop');

\echo
\echo '== 5. plan: the exact SQL upgrade would run'
SELECT * FROM steward.plan('shop');

\echo
\echo '== 6. upgrade head, then current'
SELECT version, description, round(duration_ms::numeric, 2) AS ms FROM steward.upgrade('shop');
SELECT steward.current('shop');

\echo
\echo '== 7. downgrade -1 runs the down_sql of version 10'
SELECT version, description FROM steward.downgrade('shop');
SELECT steward.current('shop');

\echo
\echo '== 8. history: every apply and revert, who and when'
SELECT id, module, version, event, by_user, detail->>'target' AS target FROM steward.history ORDER BY id;

\echo
\echo '== 9. A changed script of an applied migration is caught (checksum mismatch)'
\set ON_ERROR_STOP off
SELECT steward.register('shop', '2', 'ALTER TABLE {{tables.products}} ADD price numeric(12,2)');
\set ON_ERROR_STOP on
\echo '-- validate lists every problem at once: here the pending 10 is fine, nothing else'
SELECT * FROM steward.validate('shop');

\echo
\echo '== 10. dry_run: run the rest in a subtransaction and roll back'
SELECT step, version, direction, outcome, round(duration_ms::numeric, 2) AS ms FROM steward.dry_run('shop');
SELECT steward.current('shop') AS still_at;

\echo
\echo '== 11. DDL capture: every DDL command is in steward.ddl_log, with module/version inside migrations'
SELECT command_tag, object_type, object_identity, module, version, left(command, 60) AS command
  FROM steward.ddl_log ORDER BY id;

\echo
\echo '== 12. Drift: clean after the migrations ...'
SELECT * FROM steward.check('shop');
\echo '-- ... then someone alters a table outside any migration'
ALTER TABLE shop.products ALTER COLUMN name SET NOT NULL, ADD COLUMN sku text;
SELECT module, object_type, object_identity, change, detail FROM steward.check('shop');
\echo '-- even with event triggers off (session_replication_role = replica) the fingerprint catches it'
SET session_replication_role = replica;
ALTER TABLE shop.products DROP COLUMN sku;
RESET session_replication_role;
SELECT module, object_type, object_identity, change, detail FROM steward.check('shop');

\echo
\echo '== 13. Naming conventions: manage a schema (prefix aux_, plural table names, enforce)'
CREATE SCHEMA app;
SELECT schema_name, table_prefix, plural_tables, mode
  FROM steward.manage_schema('app', table_prefix => 'aux_', inject_columns => false, audit => false);
\echo '-- a refused name, with the name to use in the hint'
\set ON_ERROR_STOP off
CREATE TABLE app.aux_product (id int PRIMARY KEY, name text);
CREATE TABLE app."Products" (id int PRIMARY KEY, name text);
\set ON_ERROR_STOP on
\echo '-- an accepted table: the names PostgreSQL would generate become the standard ones'
CREATE TABLE app.aux_products (id int PRIMARY KEY, sku text UNIQUE, price numeric CHECK (price > 0), code serial);
CREATE TABLE app.aux_order_items (id int PRIMARY KEY, product int REFERENCES app.aux_products, qty int);
CREATE INDEX ON app.aux_order_items (product, qty);
SELECT conrelid::regclass AS "table", conname AS "constraint" FROM pg_constraint
 WHERE connamespace = 'app'::regnamespace ORDER BY 1, 2;
SELECT relname AS "index or sequence" FROM pg_class
 WHERE relnamespace = 'app'::regnamespace AND relkind IN ('i', 'S') ORDER BY 1;
\set ON_ERROR_STOP off
CREATE INDEX ix_wrong ON app.aux_order_items (qty);
\set ON_ERROR_STOP on

\echo
\echo '== 14. lint: adopting the rules on a schema with old objects'
CREATE SCHEMA crm;
CREATE TABLE crm."Customer" ("CustomerID" serial PRIMARY KEY, email text UNIQUE);
CREATE TABLE crm.order_line (id int PRIMARY KEY, customer int REFERENCES crm."Customer");
CREATE INDEX by_customer ON crm.order_line (customer);
SELECT object_type, object_identity, rule, suggestion FROM steward.lint('crm');

\echo
\echo '== 15. Injected columns: a table created in a managed schema (inject_columns, audit)'
CREATE SCHEMA blog;
SELECT schema_name, table_prefix, inject_columns, audit FROM steward.manage_schema('blog', table_prefix => 'aux_');
CREATE TABLE blog.aux_posts (title text NOT NULL, body text);
\d blog.aux_posts
INSERT INTO blog.aux_posts (title, body) VALUES ('Hello', 'first post'), ('Second', 'more');
SELECT title, id, href, created = updated AS "created = updated" FROM blog.aux_posts ORDER BY title;

\echo
\echo '== 16. An UPDATE bumps updated (C trigger); a no-op UPDATE does not'
SELECT pg_sleep(0.01);
UPDATE blog.aux_posts SET body = 'edited' WHERE title = 'Hello';
UPDATE blog.aux_posts SET body = body WHERE title = 'Second';
SELECT title, updated > created AS bumped FROM blog.aux_posts ORDER BY title;

\echo
\echo '== 17. The audit rows those statements left (C statement-level trigger)'
DELETE FROM blog.aux_posts WHERE title = 'Second';
SELECT op, table_name, left(row_id, 8) || '…' AS row_id, changed,
       new_row - 'id' - 'href' - 'created' - 'updated' AS new_row,
       old_row - 'id' - 'href' - 'created' - 'updated' AS old_row, db_user
  FROM steward.audit_log WHERE schema_name = 'blog' ORDER BY id;

\echo
\echo '== 18. Query metrics (shared memory, every backend): a short workload with one slow and one failing statement'
SELECT steward.reset_metrics();
SET steward.slow_query_ms = 100;
CREATE TABLE public.visits (id serial PRIMARY KEY, page text, at timestamptz DEFAULT now());
INSERT INTO public.visits (page) SELECT 'page-' || (g % 7) FROM generate_series(1, 500) g;
SELECT page, count(*) FROM public.visits GROUP BY page ORDER BY page LIMIT 3;
SELECT count(*) FROM public.visits v JOIN blog.aux_posts p ON p.title = v.page;
UPDATE public.visits SET page = 'home' WHERE id <= 10;
SELECT pg_sleep(0.15);
\set ON_ERROR_STOP off
SELECT 1 / (id - id) FROM public.visits LIMIT 1;
\set ON_ERROR_STOP on
\echo '-- per database, user and command'
SELECT datname, username, command, calls, errors, rows, round(total_ms::numeric, 2) AS total_ms,
       round(p50_ms::numeric, 3) AS p50_ms, round(p99_ms::numeric, 3) AS p99_ms
  FROM steward.query_metrics WHERE datname = current_database() ORDER BY command;
\echo '-- which statements touched which tables'
SELECT schema_name, table_name, command, calls, rows FROM steward.table_metrics
 WHERE datname = current_database() AND schema_name IN ('public', 'blog') ORDER BY 1, 2, 3;
\echo '-- latency histogram (log2 buckets) of SELECTs'
SELECT le_ms, count FROM steward.latency_histogram WHERE datname = current_database() AND command = 'SELECT' ORDER BY le_ms;
\echo '-- errors by SQLSTATE'
SELECT sqlstate, count, last_message FROM steward.error_metrics WHERE datname = current_database();
\echo '-- slow statements (above steward.slow_query_ms = 100ms)'
SELECT command, round(duration_ms::numeric, 1) AS ms, query FROM steward.slow_queries;
\echo '-- the ring of recent statements (constants as $n; sqlstate and message set for the failure)'
SELECT command, rows, sqlstate, left(query, 60) AS query, message FROM steward.recent_queries
 WHERE datname = current_database() ORDER BY at DESC LIMIT 8;
SELECT * FROM steward.metrics_info;
\echo '-- Prometheus text exposition (first lines)'
SELECT line FROM regexp_split_to_table(steward.prometheus(), E'\n') WITH ORDINALITY AS l(line, n) WHERE n <= 8 ORDER BY n;

\echo
\echo '== 19. Safe schema changes: a guarded schema refuses ad-hoc DDL, break-glass, then capture'
CREATE SCHEMA ledger;
SELECT schema_name, ddl FROM steward.manage_schema('ledger', table_prefix => 'aux_', ddl => 'migrations');
SELECT steward.define_module('ledger', 'ledger');
SELECT steward.migrate('ledger', '1', 'CREATE TABLE {{schema}}.aux_entries (amount numeric NOT NULL)');
\set ON_ERROR_STOP off
ALTER TABLE ledger.aux_entries ADD COLUMN memo text;
\set ON_ERROR_STOP on
\echo '-- on call, a member of steward_ddl_admin (here the superuser) breaks glass'
SET steward.allow_ddl = on;
ALTER TABLE ledger.aux_entries ADD COLUMN memo text;
RESET steward.allow_ddl;
SELECT object_identity, change, detail FROM steward.check('ledger');
\echo '-- the hotfix becomes migration 2 (with its down script), and check is clean'
SELECT steward.capture('ledger', '2', 'hotfix: memo');
SELECT version, description, state FROM steward.status('ledger');
SELECT count(*) AS drift FROM steward.check('ledger');

\echo
\echo '== 20. The pg_steward program: a migration directory deployed from the shell (examples/store, Flyway style)'
\! ls examples/store
\echo '-- status registers the directory in a transaction it rolls back: every file shows as pending'
\! pg_steward status -m store -s store -D examples/store
\echo '-- upgrade: the directory registered in one transaction, then each migration in its own;'
\echo '-- V4 (-- steward:no-transaction) builds an index CONCURRENTLY, statement by statement'
\! pg_steward upgrade -m store -s store -D examples/store
\! pg_steward current -m store
\echo '-- downgrade -1 runs U4__orders_qty_index.sql (DROP INDEX CONCURRENTLY); upgrade --json applies V4 again'
\! pg_steward downgrade -m store -D examples/store
\! pg_steward upgrade -m store -D examples/store --json
\echo '-- plan base: what reverting everything would run, as a script psql can run (changes nothing)'
\! pg_steward plan -m store -D examples/store base | head -n 14
\echo '-- validate and check (drift) exit 0 when all is well (the CONCURRENTLY index is the migration''s);'
\echo '-- check exits 1 after a change outside migrations'
\! pg_steward validate -m store -D examples/store; echo "exit status $?"
\! pg_steward check -m store; echo "exit status $?"
ALTER TABLE store.products ADD note text;
\! pg_steward check -m store; echo "exit status $?"
ALTER TABLE store.products DROP note;
\echo '-- new writes the next file in the directory style (here into a copy of the directory)'
\! rm -rf demo_migrations && cp -r examples/store demo_migrations && pg_steward new -D demo_migrations 'add stock' --down && rm -rf demo_migrations
\echo '-- a bad file is a one-line error naming it, before anything is sent (exit status 3)'
\! rm -rf demo_bad && mkdir demo_bad && printf 'SELECT 1' > demo_bad/V1__a.sql && printf 'SELECT 1' > demo_bad/notes.sql && pg_steward upgrade -m bad -D demo_bad; echo "exit status $?"; rm -rf demo_bad
\! pg_steward history -m store

\echo
\echo '== 21. CALL steward.deploy: the same from SQL, a CONCURRENTLY step included (any client, autocommit)'
SELECT steward.define_module('books', 'books');
SELECT * FROM steward.register_set('books', $$[
  {"version": "1", "description": "books", "up_sql": "CREATE SCHEMA {{schema}}; CREATE TABLE {{tables.books}} (id int PRIMARY KEY, title text); INSERT INTO {{tables.books}} SELECT g, 'book ' || g FROM generate_series(1, 100000) g"},
  {"version": "2", "description": "title index", "up_sql": "-- steward:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS ix_books_title ON {{tables.books}} (title);\nVACUUM (ANALYZE) {{tables.books}};"},
  {"version": "3", "description": "authors", "up_sql": "ALTER TABLE {{tables.books}} ADD author text"},
  {"kind": "repeatable", "description": "book_count", "up_sql": "CREATE OR REPLACE VIEW {{schema}}.book_count AS SELECT count(*) AS books FROM {{tables.books}}"}
]$$);
\echo '-- upgrade() runs inside a transaction: it stops before the no-transaction step and says how to run it'
\set ON_ERROR_STOP off
SELECT * FROM steward.upgrade('books');
\set ON_ERROR_STOP on
\echo '-- deploy: a transaction per migration, version 2 statement by statement in a background worker, the repeatable script last'
CALL steward.deploy('books');
SELECT version, state FROM steward.status('books');
SELECT indexrelid::regclass AS index, indisvalid FROM pg_index WHERE indexrelid = 'books.ix_books_title'::regclass;
\echo '-- a CONCURRENTLY build that fails leaves no invalid index behind; the step stays pending'
SELECT steward.register('books', '4', E'-- steward:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY ux_books_author ON {{tables.books}} (coalesce(author, \'\'))');
\set ON_ERROR_STOP off
CALL steward.deploy('books');
\set ON_ERROR_STOP on
SELECT count(*) AS invalid_indexes FROM pg_index WHERE NOT indisvalid;
SELECT steward.unregister('books', '4');
\echo '-- inside a transaction block it refuses'
BEGIN;
\set ON_ERROR_STOP off
CALL steward.deploy('books');
\set ON_ERROR_STOP on
ROLLBACK;
