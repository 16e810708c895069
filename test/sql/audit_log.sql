-- The C audit trigger and steward.audit_log.
CREATE TABLE acc (id int PRIMARY KEY, owner text, balance numeric, secret text);
SELECT steward.enable_audit('acc');
SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'acc'::regclass ORDER BY 1;
-- enable_audit is idempotent; disable_audit says whether there was something to remove.
SELECT steward.enable_audit('acc');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'acc'::regclass;

INSERT INTO acc VALUES (1, 'ann', 10, 's1'), (2, 'bob', 20, 's2');
UPDATE acc SET balance = balance + 5 WHERE id = 1;
UPDATE acc SET balance = balance WHERE id = 2;           -- no-op: not logged
DELETE FROM acc WHERE id = 2;
SELECT op, schema_name, table_name, row_id, old_row, new_row, changed,
       db_user = session_user AS by_session_user, "current_role" = current_user AS by_role,
       txid IS NOT NULL AS has_txid, relid = 'acc'::regclass AS relid_ok
  FROM steward.audit_log WHERE relid = 'acc'::regclass ORDER BY id;
-- One statement, one transaction: all its rows share txid and at.
SELECT count(DISTINCT txid) AS txids, count(DISTINCT at) AS ats FROM steward.audit_log
 WHERE relid = 'acc'::regclass AND op = 'INSERT';
TRUNCATE acc;
SELECT op, row_id, old_row, new_row FROM steward.audit_log WHERE relid = 'acc'::regclass AND op = 'TRUNCATE';

-- exclude_columns: never stored; an update of only excluded columns is not logged.
SELECT steward.enable_audit('acc', exclude_columns => ARRAY['secret']);
INSERT INTO acc VALUES (3, 'cy', 30, 'top');
UPDATE acc SET secret = 'other' WHERE id = 3;
UPDATE acc SET owner = 'cyd', secret = 'x' WHERE id = 3;
SELECT op, old_row, new_row, changed FROM steward.audit_log
 WHERE relid = 'acc'::regclass AND row_id = '3' ORDER BY id;

-- diff mode: only the changed columns.
SELECT steward.enable_audit('acc', mode => 'diff');
UPDATE acc SET balance = 31, owner = 'cy' WHERE id = 3;
SELECT op, old_row, new_row, changed FROM steward.audit_log
 WHERE relid = 'acc'::regclass AND row_id = '3' ORDER BY id DESC LIMIT 1;

-- row_history and disable_audit.
SELECT op, changed FROM steward.row_history('acc', '3');
SELECT steward.disable_audit('acc'), steward.disable_audit('acc');
INSERT INTO acc VALUES (4, 'dee', 1, NULL);
SELECT count(*) AS logged_after_disable FROM steward.audit_log WHERE relid = 'acc'::regclass AND row_id = '4';

-- JSON of every kind of value is exactly what to_jsonb renders, TOASTed values included.
CREATE TABLE kinds (k1 int, k2 text, i int[], j jsonb, r int4range, n numeric, t timestamptz,
                    d date, b bool, u uuid, big text, nul text, PRIMARY KEY (k1, k2));
SELECT steward.enable_audit('kinds');
INSERT INTO kinds VALUES (1, 'a,b', '{1,2,NULL}', '{"x": [1, {"y": null}]}', '[3,7)', 1.50, '2024-02-29 12:34:56.789+01',
                          '2024-02-29', true, '00000000-0000-0000-0000-000000000001', repeat('ü', 200000), NULL);
SELECT a.new_row = to_jsonb(k) AS same_json, a.row_id, length(a.new_row->>'big') AS big_len
  FROM steward.audit_log a, kinds k WHERE a.relid = 'kinds'::regclass;
UPDATE kinds SET n = 1.500;  -- same value, other representation: a change for to_jsonb
SELECT changed, old_row->'n' AS old_n, new_row->'n' AS new_n FROM steward.audit_log
 WHERE relid = 'kinds'::regclass AND op = 'UPDATE';
-- Composite keys are row literals, so different keys never share a row_id.
CREATE TABLE cpk (a text, b text, c int, PRIMARY KEY (a, b));
SELECT steward.enable_audit('cpk');
INSERT INTO cpk VALUES ('x,y', 'z', 1), ('x', 'y,z', 2), ('q', 'say "hi"', 3);
SELECT row_id, new_row->>'c' AS c FROM steward.audit_log WHERE relid = 'cpk'::regclass ORDER BY id;

-- A table without a primary key logs rows without row_id; partitioned tables are audited on the parent.
CREATE TABLE nopk (v int);
SELECT steward.enable_audit('nopk');
INSERT INTO nopk VALUES (1);
SELECT op, row_id IS NULL AS no_row_id, new_row FROM steward.audit_log WHERE relid = 'nopk'::regclass;
CREATE TABLE parted (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE parted_2024 PARTITION OF parted FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
SELECT steward.enable_audit('parted');
INSERT INTO parted VALUES (1, '2024-03-01');
UPDATE parted SET id = 2;
SELECT op, table_name, row_id FROM steward.audit_log WHERE relid = 'parted'::regclass ORDER BY id;

-- Inside a migration the rows carry module and version.
SELECT steward.define_module('auditmod', 'public');
SELECT steward.migrate('auditmod', '1', 'INSERT INTO public.nopk VALUES (2)');
SELECT module, version FROM steward.audit_log WHERE relid = 'nopk'::regclass AND new_row->>'v' = '2';

-- Bad calls.
SELECT steward.enable_audit('acc', mode => 'partial');
SELECT steward.enable_audit('acc', exclude_columns => ARRAY['nope']);
CREATE VIEW acc_view AS SELECT * FROM acc;
SELECT steward.enable_audit('acc_view');
SELECT steward.enable_audit(NULL);
-- A regclass that names no table (0, a dropped table), a view, a sequence,
-- the log itself: clear errors (shown with their SQLSTATE), not a syntax
-- error from the CREATE TRIGGER.
CREATE FUNCTION audit_call(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE call;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, 'OID \d+', 'OID <oid>');
END
$$;
CREATE TABLE dropped_soon (id int);
SELECT 'dropped_soon'::regclass::oid AS dropped_oid \gset
DROP TABLE dropped_soon;
SELECT what, audit_call(call) AS outcome FROM (VALUES
	('enable_audit(0)', 'SELECT steward.enable_audit(0)'),
	('disable_audit(0)', 'SELECT steward.disable_audit(0)'),
	('enable_audit(a dropped table)', 'SELECT steward.enable_audit(' || :dropped_oid || ')'),
	('disable_audit(a dropped table)', 'SELECT steward.disable_audit(' || :dropped_oid || ')'),
	('enable_audit(a view)', 'SELECT steward.enable_audit(''acc_view'')'),
	('enable_audit(a sequence)', 'SELECT steward.enable_audit(''steward.audit_log_id_seq'')'),
	('enable_audit(the log)', 'SELECT steward.enable_audit(''steward.audit_log'')')) AS c(what, call);
DROP FUNCTION audit_call(text);
CREATE TRIGGER wrong AFTER INSERT ON nopk FOR EACH ROW EXECUTE FUNCTION steward.audit_trigger();
INSERT INTO nopk VALUES (3);
DROP TRIGGER wrong ON nopk;
CREATE TRIGGER wrong AFTER INSERT ON nopk FOR EACH STATEMENT EXECUTE FUNCTION steward.audit_trigger();
INSERT INTO nopk VALUES (3);
DROP TRIGGER wrong ON nopk;
SELECT steward.audit_trigger();

-- Append-only: a normal user writes audited tables without any grant on the
-- log, cannot read it, and cannot change or delete log rows.
CREATE ROLE clerk;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON acc TO clerk;
SELECT steward.enable_audit('acc');
SET SESSION AUTHORIZATION clerk;
INSERT INTO acc VALUES (5, 'clerk', 5, NULL);
UPDATE acc SET balance = 6 WHERE id = 5;
SELECT count(*) FROM steward.audit_log;
UPDATE steward.audit_log SET op = 'DELETE';
DELETE FROM steward.audit_log;
TRUNCATE steward.audit_log;
SELECT * FROM steward.row_history('acc', '5');
SELECT steward.purge_audit('1 day');
RESET SESSION AUTHORIZATION;
SELECT op, db_user, "current_role" FROM steward.audit_log WHERE relid = 'acc'::regclass AND row_id = '5' ORDER BY id;

-- purge_audit removes rows older than the interval and says how many.
UPDATE steward.audit_log SET at = at - interval '40 days' WHERE relid = 'nopk'::regclass;
SELECT steward.purge_audit('30 days') AS purged;
SELECT count(*) AS nopk_rows_left FROM steward.audit_log WHERE relid = 'nopk'::regclass;
-- The log's indexes: the primary key and (relid, row_id) for row_history; no more (each costs every audited row).
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid) FROM pg_index
 WHERE indrelid = 'steward.audit_log'::regclass ORDER BY 1::text;
PREPARE history(regclass, text) AS
  SELECT * FROM steward.audit_log a WHERE a.relid = $1 AND a.row_id = $2 ORDER BY a.id;
SET enable_seqscan = off;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE history('acc', '5');
RESET plan_cache_mode;
RESET enable_seqscan;
DEALLOCATE history;
REVOKE ALL ON acc FROM clerk;
DROP ROLE clerk;
