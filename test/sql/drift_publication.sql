-- A publication that would send pg_steward's own catalogs to subscribers
-- (FOR ALL TABLES, the steward schema, one of its tables, by a qualified or
-- an unqualified name) gets a WARNING naming them and what to publish
-- instead; a publication of the application's schemas or tables does not.
-- (The server adds its own WARNING that wal_level is not logical; its text
-- quotes "wal_level" from PostgreSQL 17 on: drift_publication_1.out.)
CREATE SCHEMA pub_app;
CREATE TABLE pub_app.items (id int PRIMARY KEY);
CREATE PUBLICATION pub_app_only FOR TABLES IN SCHEMA pub_app;
CREATE PUBLICATION pub_one FOR TABLE pub_app.items;
CREATE PUBLICATION pub_everything FOR ALL TABLES;
CREATE PUBLICATION pub_steward FOR TABLES IN SCHEMA steward;
ALTER PUBLICATION pub_one ADD TABLE steward.ddl_log;
ALTER PUBLICATION pub_app_only ADD TABLES IN SCHEMA steward;
-- unqualified, under another search_path
SET search_path = steward, pub_app;
CREATE PUBLICATION pub_unqualified FOR TABLE items, migrations;
ALTER PUBLICATION pub_unqualified DROP TABLE migrations;
RESET search_path;
SELECT pubname, count(*) FILTER (WHERE schemaname = 'steward') AS steward_tables
  FROM pg_publication_tables WHERE pubname LIKE 'pub\_%' GROUP BY pubname ORDER BY 1;
DROP PUBLICATION pub_app_only, pub_one, pub_everything, pub_steward, pub_unqualified;
DROP SCHEMA pub_app CASCADE;
