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
