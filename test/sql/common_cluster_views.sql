-- The cluster views without Citus (DESIGN.md section 7): they exist on
-- every server and show this server's own rows as node 'local', the same
-- rows as steward.query_metrics and steward.audit_log, with the same
-- privileges; steward.citus_shard() is false for every relation.  (With
-- Citus they read every node: test/citus/common_cluster.pl.)

-- query metrics: this server's counters, node 'local'
SELECT DISTINCT node FROM steward.cluster_query_metrics;
SELECT count(*) AS missing FROM (
	SELECT datname, username, command FROM steward.query_metrics
	EXCEPT
	SELECT datname, username, command FROM steward.cluster_query_metrics) d;
SELECT calls > 0 AS counted, errors >= 0 AS has_errors, p99_ms >= p50_ms AS percentiles
  FROM steward.cluster_query_metrics
 WHERE datname = current_database() AND command = 'SELECT';

-- audit: this server's log, every column as in steward.audit_log
CREATE TABLE cv_items (id int PRIMARY KEY, label text, tags text[]);
SELECT steward.enable_audit('cv_items');
INSERT INTO cv_items VALUES (1, 'one', '{a,b}'), (2, 'two', NULL);
UPDATE cv_items SET label = 'uno' WHERE id = 1;
DELETE FROM cv_items WHERE id = 2;
SELECT node, op, schema_name, table_name, row_id, old_row, new_row, changed
  FROM steward.cluster_audit_log WHERE relid = 'cv_items'::regclass ORDER BY id;
SELECT count(*) AS differing FROM (
	(SELECT id, at, txid, relid, schema_name, table_name, op, row_id, old_row, new_row, changed,
			db_user, "current_role", application_name, client_addr, module, version
	   FROM steward.cluster_audit_log
	 EXCEPT
	 SELECT * FROM steward.audit_log)
	UNION ALL
	(SELECT * FROM steward.audit_log
	 EXCEPT
	 SELECT id, at, txid, relid, schema_name, table_name, op, row_id, old_row, new_row, changed,
			db_user, "current_role", application_name, client_addr, module, version
	   FROM steward.cluster_audit_log)) d;

-- privileges: the metrics are everyone's, the audit log is not
CREATE ROLE cv_user;
SET ROLE cv_user;
SELECT count(*) > 0 AS sees_metrics FROM steward.cluster_query_metrics;
SELECT count(*) FROM steward.cluster_audit_log;
RESET ROLE;
DROP ROLE cv_user;

-- the function behind the views reads steward's own relations only
SELECT * FROM steward.cluster_rows('pg_class');
SELECT * FROM steward.cluster_rows(NULL);
-- (a node whose relation is empty gives an empty array)
SELECT node, json_array_length(rows) > 0 AS has_rows FROM steward.cluster_rows('steward.schema_policies');

-- no Citus: no relation is a shard, not even one named like one
CREATE TABLE cv_items_102008 (id int);
SELECT steward.citus_shard('cv_items_102008'), steward.citus_shard('cv_items'),
	   steward.citus_shard('pg_class'), steward.citus_shard(0);
SET search_path = pg_temp, public;
SELECT steward.citus_shard('cv_items_102008') AS unqualified;
RESET search_path;

DROP TABLE cv_items, cv_items_102008;
