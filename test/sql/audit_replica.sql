-- Audit of changes made in replica mode (session_replication_role =
-- replica), which is how logical replication's apply workers write: by
-- default they are not recorded (the statement-level audit triggers fire in
-- origin mode only); enable_audit(..., on_replica => true) records them too,
-- each row once, with row-level triggers that fire in replica mode only
-- (apply fires no statement-level triggers) and TRUNCATE triggers that fire
-- in both.  touch_updated never fires in replica mode: a replicated row
-- keeps its updated value.  Then the parameter's error paths.
\set VERBOSITY terse
CREATE SCHEMA subs;
CREATE TABLE subs.orders (id int PRIMARY KEY, item text, qty int, note text);
CREATE TABLE subs.plain_orders (id int PRIMARY KEY, item text);
-- the 3-argument calls of before work as they did (positional and named)
SELECT steward.enable_audit('subs.orders', '{}', 'full');
SELECT steward.enable_audit('subs.plain_orders', mode => 'full');
-- unqualified, resolved in the caller's search_path
SET search_path = subs, public;
SELECT steward.enable_audit('orders', ARRAY['note'], 'diff', true);
RESET search_path;

-- The triggers and when they fire: O = origin (and local) mode only,
-- R = replica mode only, A = always.
SELECT tgrelid::regclass AS tbl, tgname, tgenabled,
	   CASE WHEN tgtype & 1 = 1 THEN 'row' ELSE 'statement' END AS level,
	   encode(tgargs, 'escape') AS args
  FROM pg_trigger WHERE tgrelid IN ('subs.orders'::regclass, 'subs.plain_orders'::regclass)
 ORDER BY 1::text, 2;

-- Origin mode: each change once, on both tables.
INSERT INTO subs.orders VALUES (1, 'apple', 1, 'n');
INSERT INTO subs.plain_orders VALUES (1, 'apple');
SELECT table_name, op, row_id FROM steward.audit_log WHERE schema_name = 'subs' ORDER BY id;
DELETE FROM steward.audit_log WHERE schema_name = 'subs';

-- Replica mode: only the on_replica table records, each row once; diff
-- mode and excluded columns as in origin mode (an UPDATE of the excluded
-- note alone, and a no-op UPDATE, record nothing).
SET session_replication_role = replica;
INSERT INTO subs.orders VALUES (2, 'pear', 2, 'n'), (3, 'plum', 3, 'n');
INSERT INTO subs.plain_orders VALUES (2, 'pear'), (3, 'plum');
UPDATE subs.orders SET qty = qty + 10 WHERE id IN (1, 2);
UPDATE subs.plain_orders SET item = 'fig' WHERE id = 1;
UPDATE subs.orders SET note = 'changed' WHERE id = 3;
UPDATE subs.orders SET qty = qty WHERE id = 3;
DELETE FROM subs.orders WHERE id = 3;
DELETE FROM subs.plain_orders WHERE id = 3;
TRUNCATE subs.plain_orders;
TRUNCATE subs.orders;
RESET session_replication_role;
SELECT table_name, op, row_id, old_row, new_row, changed FROM steward.audit_log
 WHERE schema_name = 'subs' ORDER BY id;
SELECT count(*) AS plain_orders_rows_logged FROM steward.audit_log WHERE table_name = 'plain_orders';
DELETE FROM steward.audit_log WHERE schema_name = 'subs';

-- touch_updated (as injection attaches it) does not fire in replica mode:
-- the updated value a replicated row brings is kept.
CREATE TABLE subs.items (id int PRIMARY KEY, name text,
	updated timestamptz NOT NULL DEFAULT '2000-01-01 00:00:00+00');
CREATE TRIGGER steward_touch_updated BEFORE UPDATE ON subs.items
	FOR EACH ROW EXECUTE FUNCTION steward.touch_updated('updated');
SELECT steward.enable_audit('subs.items', on_replica => true);
INSERT INTO subs.items VALUES (1, 'a'), (2, 'b');
SET session_replication_role = replica;
UPDATE subs.items SET name = 'a2' WHERE id = 1;
RESET session_replication_role;
UPDATE subs.items SET name = 'b2' WHERE id = 2;
SELECT id, name, updated = '2000-01-01 00:00:00+00' AS kept_updated FROM subs.items ORDER BY id;
SELECT op, row_id, changed FROM steward.audit_log WHERE table_name = 'items' ORDER BY id;

-- Calling enable_audit again without on_replica turns it off.
SELECT steward.enable_audit('subs.items');
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'subs.items'::regclass
   AND tgname LIKE 'steward_audit%' ORDER BY 1;

-- A partitioned table: the TRUNCATE triggers fire always on every table of
-- the tree, the row-level ones are on the leaves (where apply writes);
-- partitions created or attached later follow the parent.
CREATE TABLE subs.events (id int, y int, payload text, PRIMARY KEY (id, y)) PARTITION BY LIST (y);
CREATE TABLE subs.events_2025 PARTITION OF subs.events FOR VALUES IN (2025);
SELECT steward.enable_audit('subs.events', on_replica => true);
CREATE TABLE subs.events_2026 PARTITION OF subs.events FOR VALUES IN (2026);
CREATE TABLE subs.events_2027 (LIKE subs.events);
ALTER TABLE subs.events ATTACH PARTITION subs.events_2027 FOR VALUES IN (2027);
SELECT tgrelid::regclass AS tbl, string_agg(tgname || ':' || tgenabled::text, ' ' ORDER BY tgname) AS triggers
  FROM pg_trigger WHERE tgname LIKE 'steward_audit%' AND tgrelid::regclass::text LIKE 'subs.events%'
 GROUP BY tgrelid ORDER BY 1::text;
SET session_replication_role = replica;
INSERT INTO subs.events VALUES (1, 2025, 'a'), (2, 2026, 'b'), (3, 2027, 'c');
INSERT INTO subs.events_2026 VALUES (4, 2026, 'd');
TRUNCATE subs.events;
RESET session_replication_role;
SELECT table_name, op, row_id, old_row FROM steward.audit_log WHERE table_name LIKE 'events%' ORDER BY id;
-- a partition cannot be audited differently from its parent (the same
-- way is accepted)
SELECT steward.enable_audit('subs.events_2026');
SELECT steward.enable_audit('subs.events_2026', on_replica => true);
-- and one audited without on_replica refuses a partition asking for it
SELECT steward.enable_audit('subs.events');
SELECT steward.enable_audit('subs.events_2025', on_replica => true);
-- disable_audit removes every trigger, the row-level ones included
SELECT steward.enable_audit('subs.events', on_replica => true);
SELECT steward.disable_audit('subs.events');
SELECT count(*) AS audit_triggers_left FROM pg_trigger
 WHERE tgname LIKE 'steward_audit%' AND tgrelid::regclass::text LIKE 'subs.events%';

-- Error paths, each with its SQLSTATE and hint.
CREATE FUNCTION replica_call(call text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	hint text;
BEGIN
	EXECUTE call;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
	RETURN SQLSTATE || ': ' || SQLERRM || coalesce(E'\nhint: ' || nullif(hint, ''), '');
END
$$;
CREATE VIEW subs.orders_view AS SELECT * FROM subs.orders;
-- on_replica changes when triggers fire (ALTER TABLE ... ENABLE REPLICA /
-- ALWAYS TRIGGER), which needs the table's owner; without on_replica the
-- TRIGGER privilege is enough on a table not audited yet
CREATE TABLE subs.fresh_one (id int PRIMARY KEY);
CREATE TABLE subs.fresh_two (id int PRIMARY KEY);
CREATE ROLE audit_replica_user;
GRANT USAGE ON SCHEMA subs TO audit_replica_user;
GRANT TRIGGER ON subs.fresh_one, subs.fresh_two TO audit_replica_user;
SELECT what, replica_call(call) AS outcome FROM (VALUES
	('on_replica NULL', $$SELECT steward.enable_audit('subs.orders', on_replica => NULL)$$),
	('a bad mode', $$SELECT steward.enable_audit('subs.orders', mode => 'partial', on_replica => true)$$),
	('an unknown column', $$SELECT steward.enable_audit('subs.orders', ARRAY['nope'], on_replica => true)$$),
	('no table', $$SELECT steward.enable_audit(NULL, on_replica => true)$$),
	('a view', $$SELECT steward.enable_audit('subs.orders_view', on_replica => true)$$),
	('the log', $$SELECT steward.enable_audit('steward.audit_log', on_replica => true)$$),
	('read-only transaction', $$SET LOCAL transaction_read_only = on;
		SELECT steward.enable_audit('subs.orders', on_replica => true)$$),
	('not the owner, on_replica', $$SET LOCAL ROLE audit_replica_user;
		SELECT steward.enable_audit('subs.fresh_one', on_replica => true)$$),
	-- last: it succeeds, and its SET LOCAL lasts until the statement ends
	('not the owner, without', $$SET LOCAL ROLE audit_replica_user;
		SELECT steward.enable_audit('subs.fresh_two')$$)) AS c(what, call);
-- the failed call left nothing behind
SELECT tgrelid::regclass AS tbl, count(*) AS audit_triggers FROM pg_trigger
 WHERE tgrelid IN ('subs.fresh_one'::regclass, 'subs.fresh_two'::regclass) GROUP BY 1 ORDER BY 1::text;
-- a row-level audit trigger fired in origin mode (say, one made to fire
-- always) refuses, rather than record the row a second time
ALTER TABLE subs.orders ENABLE ALWAYS TRIGGER steward_audit_replica_insert;
SELECT replica_call($$INSERT INTO subs.orders VALUES (9, 'kiwi', 1, 'n')$$) AS outcome;
DROP FUNCTION replica_call(text);

DROP SCHEMA subs CASCADE;
DROP ROLE audit_replica_user;
DELETE FROM steward.audit_log WHERE schema_name = 'subs';
