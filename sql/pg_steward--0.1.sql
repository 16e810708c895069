/* pg_steward 0.1 install script */
\echo Use "CREATE EXTENSION pg_steward" to load this file. \quit

COMMENT ON SCHEMA steward IS 'pg_steward: conventions, migrations, injected columns and audit, metrics';

CREATE FUNCTION steward.version() RETURNS text
	AS 'MODULE_PATHNAME', 'steward_version'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION steward.version() IS 'Version of the loaded pg_steward library';
