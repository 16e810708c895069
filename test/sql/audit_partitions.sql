-- Audited partitioned tables: writes made directly to a partition are
-- audited once, under the audited parent, like writes through the parent
-- (which still log once, not twice); partitions created or attached later
-- and sub-partitions included.  Statement triggers fire only on the table a
-- statement names, so enable_audit puts them on every partition too.
\set VERBOSITY terse
CREATE SCHEMA ledger;
CREATE TABLE ledger.payments (id int, y int, m int, amount numeric, secret text,
	PRIMARY KEY (id, y, m)) PARTITION BY LIST (y);
CREATE TABLE ledger.payments_2025 PARTITION OF ledger.payments FOR VALUES IN (2025);
CREATE TABLE ledger.payments_2026 PARTITION OF ledger.payments FOR VALUES IN (2026) PARTITION BY LIST (m);
CREATE TABLE ledger.payments_2026_01 PARTITION OF ledger.payments_2026 FOR VALUES IN (1);
SELECT steward.enable_audit('ledger.payments', ARRAY['secret']);

-- Later partitions get the parent's triggers: created as a partition, and
-- attached (here tables audited on their own before: with other options,
-- and with the same ones, but as a plain table without the fifth trigger,
-- BEFORE TRUNCATE, that tables in a partition tree have).
CREATE TABLE ledger.payments_2026_02 PARTITION OF ledger.payments_2026 FOR VALUES IN (2);
CREATE TABLE ledger.payments_2027 (LIKE ledger.payments);
SELECT steward.enable_audit('ledger.payments_2027', mode => 'diff');
ALTER TABLE ledger.payments ATTACH PARTITION ledger.payments_2027 FOR VALUES IN (2027);
CREATE TABLE ledger.payments_2028 (LIKE ledger.payments);
SELECT steward.enable_audit('ledger.payments_2028', ARRAY['secret']);
SELECT count(*) AS triggers_before_attach FROM pg_trigger
 WHERE tgrelid = 'ledger.payments_2028'::regclass AND tgname LIKE 'steward_audit%';
ALTER TABLE ledger.payments ATTACH PARTITION ledger.payments_2028 FOR VALUES IN (2028);
SELECT tgrelid::regclass AS tbl, count(*) AS triggers,
	   string_agg(DISTINCT encode(tgargs, 'escape'), ' ') AS args
  FROM pg_trigger WHERE tgname LIKE 'steward_audit%'
 GROUP BY tgrelid ORDER BY 1::text;

-- One log row per row, whichever table the statement names.
INSERT INTO ledger.payments VALUES (1, 2025, 1, 10, 's'), (2, 2026, 1, 20, 's'), (3, 2026, 2, 30, 's'),
	(4, 2027, 1, 40, 's');
INSERT INTO ledger.payments_2025 VALUES (5, 2025, 1, 50, 's');
INSERT INTO ledger.payments_2026 VALUES (6, 2026, 2, 60, 's');
INSERT INTO ledger.payments_2026_02 VALUES (7, 2026, 2, 70, 's');
INSERT INTO ledger.payments_2027 VALUES (8, 2027, 1, 80, 's');
UPDATE ledger.payments SET amount = amount + 1 WHERE id IN (1, 2);
UPDATE ledger.payments_2026_01 SET amount = amount + 1;
UPDATE ledger.payments SET y = 2027 WHERE id = 5;			-- moves to another partition
DELETE FROM ledger.payments_2027 WHERE id = 8;
COPY ledger.payments_2025 FROM stdin;
9	2025	1	90	s
\.
MERGE INTO ledger.payments_2025 p USING (VALUES (9, 91), (10, 100)) AS v(id, amount)
	ON p.id = v.id
	WHEN MATCHED THEN UPDATE SET amount = v.amount
	WHEN NOT MATCHED THEN INSERT VALUES (v.id, 2025, 1, v.amount, 's');
SELECT relid::regclass, table_name, op, row_id, old_row, new_row
  FROM steward.audit_log WHERE schema_name = 'ledger' ORDER BY id;
-- every row the tables hold has exactly its one INSERT
SELECT p.id, count(a.*) AS inserts
  FROM ledger.payments p LEFT JOIN steward.audit_log a
	ON a.relid = 'ledger.payments'::regclass AND a.op = 'INSERT' AND a.new_row->>'id' = p.id::text
 GROUP BY p.id ORDER BY p.id;

-- TRUNCATE: of the parent, one row; of a partition, one row naming it;
-- of a partition and the parent in one statement, one of each; one that
-- was rolled back to a savepoint leaves no trace and does not hide the
-- next one.
DELETE FROM steward.audit_log WHERE schema_name = 'ledger';
TRUNCATE ledger.payments_2026_01;
TRUNCATE ledger.payments_2026;
TRUNCATE ledger.payments;
TRUNCATE ledger.payments_2025, ledger.payments;
BEGIN;
SAVEPOINT s;
TRUNCATE ledger.payments;
ROLLBACK TO s;
TRUNCATE ledger.payments_2025;
COMMIT;
SELECT relid::regclass, op, old_row, new_row FROM steward.audit_log WHERE schema_name = 'ledger' ORDER BY id;

-- A partition is audited with its parent: it cannot be disabled or given
-- other options on its own (the same options are fine).
SELECT steward.disable_audit('ledger.payments_2025');
SELECT steward.enable_audit('ledger.payments_2025');
SELECT steward.enable_audit('ledger.payments_2025', ARRAY['secret']);
SELECT steward.enable_audit('ledger.payments_2026_01', ARRAY['secret'], 'diff');

-- The rows follow the parent's name and its options, and a detached
-- partition is audited on its own.
DELETE FROM steward.audit_log WHERE schema_name = 'ledger';
ALTER TABLE ledger.payments RENAME TO all_payments;
INSERT INTO ledger.payments_2026_01 VALUES (11, 2026, 1, 110, 's');
SELECT steward.enable_audit('ledger.all_payments', mode => 'diff');
UPDATE ledger.payments_2026_01 SET amount = 111, secret = 't';
ALTER TABLE ledger.all_payments DETACH PARTITION ledger.payments_2027;
INSERT INTO ledger.payments_2027 VALUES (12, 2027, 1, 120, 's');
SELECT relid::regclass, table_name, op, row_id, old_row, new_row, changed
  FROM steward.audit_log WHERE schema_name = 'ledger' ORDER BY id;

-- disable_audit on the parent removes the triggers of every partition.
SELECT steward.disable_audit('ledger.all_payments');
SELECT tgrelid::regclass AS tbl, count(*) AS triggers
  FROM pg_trigger WHERE tgname LIKE 'steward_audit%' AND tgrelid::regclass::text LIKE 'ledger.%'
 GROUP BY tgrelid ORDER BY 1::text;

DROP SCHEMA ledger CASCADE;
