-- Edge cases of the audit trigger.

-- row_id follows the primary key's column order, not the table's.
CREATE TABLE keyed (a int, b text, v int, PRIMARY KEY (b, a));
SELECT steward.enable_audit('keyed');
INSERT INTO keyed VALUES (1, 'x', 0);
SELECT row_id FROM steward.audit_log WHERE relid = 'keyed'::regclass;

-- An UPDATE that moves rows between partitions, where a trigger on the
-- destination skips one insert: the transition tables differ in size and
-- position no longer pairs old and new rows, so they are paired by primary
-- key.  Row 4 stays in its partition (same key): an ordinary update.  The
-- moved rows changed their key (the partition key is part of it), so each
-- is logged unpaired: its old row, and its new row if it arrived -- row 2's
-- insert was skipped, so it has only its old row.  Never a wrong pair.
CREATE TABLE moves (id int, zone int, note text, PRIMARY KEY (id, zone)) PARTITION BY LIST (zone);
CREATE TABLE moves_1 PARTITION OF moves FOR VALUES IN (1);
CREATE TABLE moves_2 PARTITION OF moves FOR VALUES IN (2);
CREATE FUNCTION skip_id_2() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id = 2 THEN RETURN NULL; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER skip_2 BEFORE INSERT ON moves_2 FOR EACH ROW EXECUTE FUNCTION skip_id_2();
INSERT INTO moves VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 1, 'c'), (4, 2, 'd');
SELECT steward.enable_audit('moves');
UPDATE moves SET zone = 2, note = note || '!';
SELECT row_id, old_row->>'note' AS old_note, new_row->>'note' AS new_note, changed
  FROM steward.audit_log WHERE relid = 'moves'::regclass ORDER BY row_id, id;
SELECT * FROM moves ORDER BY id;

-- A read-only transaction may write an audited temporary table, but the
-- log is not temporary: refused with a clear error.
CREATE TEMP TABLE scratch (id int PRIMARY KEY, v text);
SELECT steward.enable_audit('scratch');
BEGIN TRANSACTION READ ONLY;
INSERT INTO scratch VALUES (1, 'x');
ROLLBACK;
INSERT INTO scratch VALUES (1, 'x');
SELECT row_id, new_row FROM steward.audit_log WHERE relid = 'scratch'::regclass;

-- A log whose columns were changed is an error, not corrupt rows; so is a
-- deferrable constraint on it.  (Both undone in a transaction.)
BEGIN;
ALTER TABLE steward.audit_log ALTER COLUMN changed TYPE text USING changed::text;
INSERT INTO keyed VALUES (2, 'y', 0);
ROLLBACK;
BEGIN;
ALTER TABLE steward.audit_log ADD CONSTRAINT uq_audit_log_id UNIQUE (id) DEFERRABLE INITIALLY DEFERRED;
INSERT INTO keyed VALUES (2, 'y', 0);
ROLLBACK;
INSERT INTO keyed VALUES (2, 'y', 0);
SELECT row_id FROM steward.audit_log WHERE relid = 'keyed'::regclass ORDER BY id;

-- The writer puts heap tuples into the log directly: a partitioned log
-- (which has no storage of its own), and a log with INSERT triggers, rules,
-- CHECK constraints or NOT NULL columns that the direct writes would
-- bypass, are refused with a clear error.  (Each undone in a transaction.)
BEGIN;
ALTER TABLE steward.audit_log RENAME TO audit_log_old;
CREATE TABLE steward.audit_log (LIKE steward.audit_log_old INCLUDING ALL) PARTITION BY RANGE (id);
CREATE TABLE steward.audit_log_all PARTITION OF steward.audit_log DEFAULT;
INSERT INTO keyed VALUES (3, 'z', 0);
ROLLBACK;
BEGIN;
CREATE FUNCTION steward_log_copy() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER copy AFTER INSERT ON steward.audit_log FOR EACH ROW EXECUTE FUNCTION steward_log_copy();
INSERT INTO keyed VALUES (3, 'z', 0);
ROLLBACK;
BEGIN;
CREATE RULE notify AS ON INSERT TO steward.audit_log DO ALSO NOTIFY audit;
INSERT INTO keyed VALUES (3, 'z', 0);
ROLLBACK;
BEGIN;
ALTER TABLE steward.audit_log ADD CONSTRAINT ck_audit_log_row_id CHECK (row_id <> '') NOT VALID;
INSERT INTO keyed VALUES (3, 'z', 0);
ROLLBACK;
BEGIN;
DELETE FROM steward.audit_log WHERE client_addr IS NULL;
ALTER TABLE steward.audit_log ALTER COLUMN client_addr SET NOT NULL;
INSERT INTO keyed VALUES (3, 'z', 0);
ROLLBACK;
INSERT INTO keyed VALUES (3, 'z', 0);
SELECT row_id FROM steward.audit_log WHERE relid = 'keyed'::regclass ORDER BY id;

DROP TABLE keyed, moves, scratch;
DROP FUNCTION skip_id_2();
