-- steward.touch_updated(): keeps "updated" current, in C.
CREATE TABLE docs (id int PRIMARY KEY, body text, updated timestamptz NOT NULL DEFAULT '2000-01-01');
CREATE TRIGGER touch BEFORE UPDATE ON docs FOR EACH ROW EXECUTE FUNCTION steward.touch_updated();
INSERT INTO docs VALUES (1, 'a'), (2, 'b'), (3, 'c');
BEGIN;
-- a real change stamps the transaction timestamp
UPDATE docs SET body = 'a2' WHERE id = 1;
-- a no-op update leaves the timestamp alone
UPDATE docs SET body = 'b' WHERE id = 2;
-- an explicit assignment is kept
UPDATE docs SET body = 'c2', updated = '2010-05-05' WHERE id = 3;
SELECT id, body, updated = now() AS stamped_now, CASE WHEN id > 1 THEN updated END AS kept FROM docs ORDER BY id;
COMMIT;
-- multi-row: each changed row is stamped
UPDATE docs SET body = body || '!' WHERE id IN (1, 2);
SELECT id, updated > '2011-01-01' AS fresh FROM docs ORDER BY id;

-- Another column name as the argument; timestamp without time zone works too.
CREATE TABLE docs2 (id int, body text, changed_at timestamp);
CREATE TRIGGER touch BEFORE UPDATE ON docs2 FOR EACH ROW EXECUTE FUNCTION steward.touch_updated('changed_at');
INSERT INTO docs2 VALUES (1, 'x', NULL);
UPDATE docs2 SET body = 'y';
SELECT changed_at IS NOT NULL AS stamped FROM docs2;

-- Wrong attachments give clear errors.
CREATE TABLE docs3 (id int, body text, updated date);
CREATE TRIGGER touch BEFORE UPDATE ON docs3 FOR EACH ROW EXECUTE FUNCTION steward.touch_updated();
INSERT INTO docs3 VALUES (1, 'x', NULL);
UPDATE docs3 SET body = 'y';
DROP TRIGGER touch ON docs3;
CREATE TRIGGER touch BEFORE UPDATE ON docs3 FOR EACH ROW EXECUTE FUNCTION steward.touch_updated('nope');
UPDATE docs3 SET body = 'y';
DROP TRIGGER touch ON docs3;
CREATE TRIGGER touch AFTER UPDATE ON docs3 FOR EACH ROW EXECUTE FUNCTION steward.touch_updated();
UPDATE docs3 SET body = 'y';
DROP TRIGGER touch ON docs3;
CREATE TRIGGER touch BEFORE INSERT ON docs3 FOR EACH ROW EXECUTE FUNCTION steward.touch_updated();
INSERT INTO docs3 VALUES (2, 'z', NULL);
DROP TRIGGER touch ON docs3;
CREATE TRIGGER touch BEFORE UPDATE ON docs3 FOR EACH STATEMENT EXECUTE FUNCTION steward.touch_updated();
UPDATE docs3 SET body = 'y';
DROP TRIGGER touch ON docs3;
SELECT steward.touch_updated();
-- The column cache follows ALTER TABLE.
ALTER TABLE docs ADD COLUMN extra int;
ALTER TABLE docs DROP COLUMN body;
UPDATE docs SET extra = 1 WHERE id = 1;
SELECT id, updated > '2011-01-01' AS fresh FROM docs WHERE id = 1;
