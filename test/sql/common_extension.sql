-- The extension's schema, its objects and its settings.
SELECT extname, extversion, nspname AS schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'pg_steward';

SELECT steward.version();
SELECT steward.version() = (SELECT extversion FROM pg_extension WHERE extname = 'pg_steward') AS library_matches_sql;

-- Every setting is registered with its documented default and context.
SELECT name, setting, unit, context, vartype
  FROM pg_settings WHERE name LIKE 'steward.%' ORDER BY name;

-- The prefix is reserved: a typo in a steward setting is an error, not a
-- silently created placeholder.
SET steward.no_such_setting = 1;

-- The extension is not relocatable and lives in schema steward.
ALTER EXTENSION pg_steward SET SCHEMA public;
