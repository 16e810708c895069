/* pg_steward 0.1 install script */
\echo Use "CREATE EXTENSION pg_steward" to load this file. \quit

COMMENT ON SCHEMA steward IS 'pg_steward: conventions, migrations, injected columns and audit, metrics';
-- Everyone may look into the schema; each object's own grants decide the rest.
GRANT USAGE ON SCHEMA steward TO PUBLIC;

CREATE FUNCTION steward.version() RETURNS text
	AS 'MODULE_PATHNAME', 'steward_version'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION steward.version() IS 'Version of the loaded pg_steward library';

/* ------------------------------------------------------------------------
 * Migrations (DESIGN.md section 2)
 *
 * The catalogs are owned by the extension owner.  Nobody else may write
 * them directly: the runner functions write them on the caller's behalf,
 * switching to the owner only for those writes, while the migration SQL
 * itself always runs as the calling role.
 * ------------------------------------------------------------------------ */

CREATE FUNCTION steward.version_key(version text) RETURNS bytea
	AS 'MODULE_PATHNAME', 'steward_version_key'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION steward.version_key(text) IS
	'Sort key giving natural version order: digit runs compare as numbers (2 < 10, 1.9 < 1.10)';

CREATE FUNCTION steward.version_cmp(a text, b text) RETURNS integer
	AS 'MODULE_PATHNAME', 'steward_version_cmp'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION steward.version_cmp(text, text) IS
	'Natural version comparison: -1, 0 or 1';

CREATE FUNCTION steward.checksum(script text) RETURNS text
	AS 'MODULE_PATHNAME', 'steward_checksum'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION steward.checksum(text) IS
	'SHA-256 (hex) of a migration script with CRLF normalised to LF and trailing whitespace removed';

CREATE TABLE steward.modules (
	module		text PRIMARY KEY CHECK (module <> ''),
	schema_name	name NOT NULL DEFAULT 'public',
	description	text,
	created_at	timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE steward.modules IS 'Migration modules: a named, versioned unit of schema, with its schema';

CREATE TABLE steward.migration_scripts (
	module		text NOT NULL REFERENCES steward.modules ON UPDATE CASCADE,
	version		text NOT NULL,
	description	text,
	up_sql		text NOT NULL,
	down_sql	text,
	checksum	text NOT NULL,
	requires	text[],
	registered_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (module, version)
);
COMMENT ON TABLE steward.migration_scripts IS 'Registered migrations: the plan';

CREATE TABLE steward.migrations (
	module		text NOT NULL REFERENCES steward.modules ON UPDATE CASCADE,
	version		text NOT NULL,
	description	text,
	checksum	text,
	up_sql		text,
	down_sql	text,
	applied_at	timestamptz NOT NULL DEFAULT now(),
	applied_by	name NOT NULL DEFAULT current_user,
	duration_ms	double precision,
	rank		integer NOT NULL,
	baseline	boolean NOT NULL DEFAULT false,
	PRIMARY KEY (module, version)
);
COMMENT ON TABLE steward.migrations IS 'Applied migrations: what the database is now';
COMMENT ON COLUMN steward.migrations.baseline IS 'true when adopted by stamp() rather than run';

CREATE TABLE steward.migration_events (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	module		text NOT NULL,
	version		text,
	event		text NOT NULL CHECK (event IN ('apply', 'revert', 'baseline', 'repair')),
	at			timestamptz NOT NULL DEFAULT clock_timestamp(),
	by_user		name NOT NULL DEFAULT current_user,
	txid		xid8 NOT NULL DEFAULT pg_current_xact_id(),
	application_name text DEFAULT current_setting('application_name'),
	detail		jsonb
);
CREATE INDEX ix_migration_events_module ON steward.migration_events (module, id);
COMMENT ON TABLE steward.migration_events IS 'Append-only log of apply, revert, baseline and repair events';

-- Only the owner writes the catalogs; the runner writes them on behalf of
-- callers.  Reading them is granted explicitly (they hold migration SQL).
REVOKE ALL ON steward.modules, steward.migration_scripts, steward.migrations,
	steward.migration_events FROM PUBLIC;

CREATE VIEW steward.history AS
	SELECT e.id, e.module, e.version, e.event, e.at, e.by_user, e.txid,
		   e.application_name, e.detail
	  FROM steward.migration_events e;
COMMENT ON VIEW steward.history IS 'Migration events, oldest first by id';
REVOKE ALL ON steward.history FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('steward.modules', '');
SELECT pg_catalog.pg_extension_config_dump('steward.migration_scripts', '');
SELECT pg_catalog.pg_extension_config_dump('steward.migrations', '');
SELECT pg_catalog.pg_extension_config_dump('steward.migration_events', '');

CREATE FUNCTION steward.define_module(module text, schema_name name DEFAULT 'public',
									  description text DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'steward_define_module'
	LANGUAGE C;
COMMENT ON FUNCTION steward.define_module(text, name, text) IS
	'Create or update a migration module. Granted by the extension owner to migration roles.';

CREATE FUNCTION steward.register(module text, version text, up_sql text,
								 down_sql text DEFAULT NULL, description text DEFAULT NULL,
								 requires text[] DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'steward_register'
	LANGUAGE C;
COMMENT ON FUNCTION steward.register(text, text, text, text, text, text[]) IS
	'Register (idempotently) one migration script. Granted to migration roles.';

CREATE FUNCTION steward.upgrade(module text, target text DEFAULT 'head',
								allow_out_of_order boolean DEFAULT false)
	RETURNS TABLE (version text, description text, duration_ms double precision)
	AS 'MODULE_PATHNAME', 'steward_upgrade'
	LANGUAGE C;
COMMENT ON FUNCTION steward.upgrade(text, text, boolean) IS
	'Apply pending migrations up to head, a version or +N. Granted to migration roles.';

CREATE FUNCTION steward.downgrade(module text, target text DEFAULT '-1')
	RETURNS TABLE (version text, description text, duration_ms double precision)
	AS 'MODULE_PATHNAME', 'steward_downgrade'
	LANGUAGE C;
COMMENT ON FUNCTION steward.downgrade(text, text) IS
	'Revert applied migrations: -N, base or down to a version. Granted to migration roles.';

CREATE FUNCTION steward.migrate(module text, version text, up_sql text,
								down_sql text DEFAULT NULL, description text DEFAULT NULL,
								allow_out_of_order boolean DEFAULT false) RETURNS text
	AS 'MODULE_PATHNAME', 'steward_migrate'
	LANGUAGE C;
COMMENT ON FUNCTION steward.migrate(text, text, text, text, text, boolean) IS
	'Register and apply one migration; returns applied or skipped. Granted to migration roles.';

CREATE FUNCTION steward.stamp(module text, version text) RETURNS void
	AS 'MODULE_PATHNAME', 'steward_stamp'
	LANGUAGE C;
COMMENT ON FUNCTION steward.stamp(text, text) IS
	'Mark the database as being at version without running anything. Granted to migration roles.';

CREATE FUNCTION steward.repair(module text, version text, reason text,
								up_sql text DEFAULT NULL, down_sql text DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'steward_repair'
	LANGUAGE C;
COMMENT ON FUNCTION steward.repair(text, text, text, text, text) IS
	'Accept a new script (given, or the registered one) for one applied migration, recording the reason. Granted to migration roles.';

CREATE FUNCTION steward.plan(module text, target text DEFAULT 'head')
	RETURNS TABLE (step integer, version text, direction text, sql text)
	AS 'MODULE_PATHNAME', 'steward_plan'
	LANGUAGE C;
COMMENT ON FUNCTION steward.plan(text, text) IS
	'The SQL, templates expanded, that upgrade/downgrade to target would run. Granted to migration roles.';

CREATE FUNCTION steward.dry_run(module text, target text DEFAULT 'head')
	RETURNS TABLE (step integer, version text, direction text, outcome text, error text,
				   duration_ms double precision)
	AS 'MODULE_PATHNAME', 'steward_dry_run'
	LANGUAGE C;
COMMENT ON FUNCTION steward.dry_run(text, text) IS
	'Run the plan in a subtransaction and roll it back; reports each step or the first error. Granted to migration roles.';

REVOKE EXECUTE ON FUNCTION steward.define_module(text, name, text),
	steward.register(text, text, text, text, text, text[]),
	steward.upgrade(text, text, boolean),
	steward.downgrade(text, text),
	steward.migrate(text, text, text, text, text, boolean),
	steward.stamp(text, text),
	steward.repair(text, text, text, text, text),
	steward.plan(text, text),
	steward.dry_run(text, text) FROM PUBLIC;

-- Read-only reports: metadata only (no SQL text), callable by everyone.
CREATE FUNCTION steward.status(module text DEFAULT NULL)
	RETURNS TABLE (module text, version text, description text, state text,
				   applied_at timestamptz)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT coalesce(s.module, m.module), coalesce(s.version, m.version),
		   coalesce(s.description, m.description),
		   CASE WHEN m.version IS NULL THEN 'pending'
				WHEN s.version IS NULL THEN 'missing'
				WHEN m.checksum IS DISTINCT FROM s.checksum AND m.checksum IS NOT NULL THEN 'changed'
				WHEN m.baseline THEN 'baseline'
				ELSE 'applied' END,
		   m.applied_at
	  FROM (SELECT * FROM steward.migration_scripts WHERE $1 IS NULL OR module = $1) s
	  FULL JOIN (SELECT * FROM steward.migrations WHERE $1 IS NULL OR module = $1) m
		ON m.module = s.module AND m.version = s.version
	 ORDER BY 1, steward.version_key(coalesce(s.version, m.version))
	$$;
COMMENT ON FUNCTION steward.status(text) IS
	'Every known migration with its state: applied, pending, changed, missing or baseline';

CREATE FUNCTION steward.current(module text) RETURNS text
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT version FROM steward.migrations WHERE module = $1
	 ORDER BY steward.version_key(version) DESC LIMIT 1
	$$;
COMMENT ON FUNCTION steward.current(text) IS
	'Highest applied version of a module, NULL when none is applied';

CREATE FUNCTION steward.validate(module text DEFAULT NULL)
	RETURNS TABLE (module text, version text, problem text)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
	WITH s AS (SELECT * FROM steward.migration_scripts WHERE $1 IS NULL OR module = $1),
		 m AS (SELECT * FROM steward.migrations WHERE $1 IS NULL OR module = $1),
		 top AS (SELECT DISTINCT ON (module) module, steward.version_key(version) AS k
				 FROM m ORDER BY module, steward.version_key(version) DESC),
		 problems AS (
		SELECT m.module, m.version, 'changed: applied checksum ' || left(m.checksum, 12) ||
			   ' differs from registered ' || left(s.checksum, 12) AS problem
		  FROM m JOIN s USING (module, version)
		 WHERE m.checksum IS NOT NULL AND m.checksum <> s.checksum
		UNION ALL
		SELECT m.module, m.version, 'missing: applied but no script is registered'
		  FROM m WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.module = m.module AND s.version = m.version)
		UNION ALL
		SELECT s.module, s.version, 'gap: pending but a higher version is applied'
		  FROM s JOIN top USING (module)
		 WHERE steward.version_key(s.version) < top.k
		   AND NOT EXISTS (SELECT 1 FROM m WHERE m.module = s.module AND m.version = s.version)
		UNION ALL
		SELECT m.module, m.version, 'unmet requires: ' || r.req || ' is not applied'
		  FROM m JOIN steward.migration_scripts s2 USING (module, version),
			   unnest(s2.requires) AS r(req)
		 WHERE NOT EXISTS (SELECT 1 FROM steward.migrations a
							WHERE a.module || ':' || a.version = r.req)
		UNION ALL
		SELECT s.module, s.version, 'unknown requires: ' || r.req || ' is neither applied nor registered'
		  FROM s, unnest(s.requires) AS r(req)
		 WHERE NOT EXISTS (SELECT 1 FROM m WHERE m.module = s.module AND m.version = s.version)
		   AND NOT EXISTS (SELECT 1 FROM steward.migration_scripts a
							WHERE a.module || ':' || a.version = r.req))
	SELECT module, version, problem
	  FROM (SELECT DISTINCT module, version, problem FROM problems) d
	 ORDER BY module, steward.version_key(version), problem
	$$;
COMMENT ON FUNCTION steward.validate(text) IS
	'Every problem at once: changed, missing, gap, unmet requires. Empty means valid.';
