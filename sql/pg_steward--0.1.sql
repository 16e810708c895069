/* pg_steward 0.1 install script */
\echo Use "CREATE EXTENSION pg_steward" to load this file. \quit

COMMENT ON SCHEMA steward IS 'pg_steward: conventions, migrations, injected columns and audit, metrics';
-- Everyone may look into the schema; each object's own grants decide the rest.
GRANT USAGE ON SCHEMA steward TO PUBLIC;

-- Break-glass for guarded schemas (manage_schema(..., ddl => 'migrations')):
-- members of this role may SET steward.allow_ddl = on.  Roles are shared by
-- the cluster, so an existing one (another database's extension) is kept.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'steward_ddl_admin') THEN
		CREATE ROLE steward_ddl_admin NOLOGIN;
	END IF;
END
$$;

CREATE FUNCTION steward.version() RETURNS text
	AS 'MODULE_PATHNAME', 'steward_version'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION steward.version() IS 'Version of the loaded pg_steward library';

-- Called first by every steward function written in SQL that changes
-- something: in a read-only transaction, as every transaction on a hot
-- standby is, it raises PostgreSQL's read-only error (25006) naming that
-- function (the C functions make the same check themselves).
CREATE FUNCTION steward.require_writable(function text) RETURNS void
	AS 'MODULE_PATHNAME', 'steward_require_writable_sql'
	LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION steward.require_writable(text) IS
	'Raise the read-only error (SQLSTATE 25006) for function when the transaction is read-only (always on a hot standby)';

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

-- A repeatable script (kind 'repeatable') is identified by its description
-- and stored under the version 'R__' || description, which no versioned
-- script may have; outputs show that key where they show a version.
CREATE TABLE steward.migration_scripts (
	module		text NOT NULL REFERENCES steward.modules ON UPDATE CASCADE,
	version		text NOT NULL,
	description	text,
	up_sql		text NOT NULL,
	down_sql	text,
	checksum	text NOT NULL,
	requires	text[],
	registered_at timestamptz NOT NULL DEFAULT now(),
	kind		text NOT NULL DEFAULT 'versioned' CHECK (kind IN ('versioned', 'repeatable')),
	transactional boolean NOT NULL DEFAULT true,
	PRIMARY KEY (module, version),
	CHECK ((kind = 'repeatable') = (version LIKE 'R\_\_%'))
);
COMMENT ON TABLE steward.migration_scripts IS 'Registered migrations: the plan';
COMMENT ON COLUMN steward.migration_scripts.kind IS
	'versioned (applied once, in version order) or repeatable (version R__<description>: re-applied whenever its checksum changes, after the versioned ones)';
COMMENT ON COLUMN steward.migration_scripts.transactional IS
	'false for a no-transaction step: its statements run one by one as top-level statements (CALL steward.deploy, the pg_steward program)';

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
	kind		text NOT NULL DEFAULT 'versioned' CHECK (kind IN ('versioned', 'repeatable')),
	PRIMARY KEY (module, version)
);
COMMENT ON TABLE steward.migrations IS 'Applied migrations: what the database is now';
COMMENT ON COLUMN steward.migrations.kind IS
	'repeatable: the checksum a repeatable script was last applied with';
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
SELECT pg_catalog.pg_extension_config_dump('steward.migration_events_id_seq', '');

CREATE FUNCTION steward.define_module(module text, schema_name name DEFAULT 'public',
									  description text DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'steward_define_module'
	LANGUAGE C;
COMMENT ON FUNCTION steward.define_module(text, name, text) IS
	'Create or update a migration module. Granted by the extension owner to migration roles.';

CREATE FUNCTION steward.register(module text, version text, up_sql text,
								 down_sql text DEFAULT NULL, description text DEFAULT NULL,
								 requires text[] DEFAULT NULL, kind text DEFAULT 'versioned',
								 transactional boolean DEFAULT true) RETURNS void
	AS 'MODULE_PATHNAME', 'steward_register'
	LANGUAGE C;
COMMENT ON FUNCTION steward.register(text, text, text, text, text, text[], text, boolean) IS
	'Register (idempotently) one migration script: versioned, or repeatable (version NULL, identified by description); transactional => false (or a first line -- steward:no-transaction) for a no-transaction step. Granted to migration roles.';

CREATE FUNCTION steward.register_set(module text, scripts jsonb, remove_missing boolean DEFAULT true)
	RETURNS TABLE (version text, action text)
	AS 'MODULE_PATHNAME', 'steward_register_set'
	LANGUAGE C;
COMMENT ON FUNCTION steward.register_set(text, jsonb, boolean) IS
	'Register a whole migration directory in one call: [{"version", "up_sql", "down_sql", "description", "requires", "kind", "transactional"}, ...]; one row per script added, replaced, unchanged or (remove_missing) removed. Granted to migration roles.';

CREATE FUNCTION steward.unregister(module text, version text) RETURNS void
	AS 'MODULE_PATHNAME', 'steward_unregister'
	LANGUAGE C;
COMMENT ON FUNCTION steward.unregister(text, text) IS
	'Remove one pending script (a repeatable one by its R__<description> version). Granted to migration roles.';

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
	'Mark the database as being at version (registered or not) without running anything. Granted to migration roles.';

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

-- Before a client (the pg_steward program) runs a no-transaction step's
-- statements itself, under the module's session lock: the session runs
-- them as that migration until record_step; the rows say what an
-- interrupted earlier run left ('drop': run first; 'done': skip).
CREATE FUNCTION steward.begin_step(module text, version text, direction text DEFAULT 'up')
	RETURNS TABLE (action text, statement text)
	AS 'MODULE_PATHNAME', 'steward_begin_step'
	LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION steward.begin_step(text, text, text) IS
	'Before running a no-transaction step''s statements in this session (under the module''s session lock): they run as that migration until record_step; returns what an interrupted earlier run left (drop: run first, done: skip). Granted to migration roles.';

-- A no-transaction step that the pg_steward program ran itself (statement
-- by statement, under the module's session lock), recorded as applied
-- ('up') or reverted ('down'); false when it already was.
CREATE FUNCTION steward.record_step(module text, version text, direction text,
									duration_ms double precision DEFAULT NULL) RETURNS boolean
	AS 'MODULE_PATHNAME', 'steward_record_step'
	LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION steward.record_step(text, text, text, double precision) IS
	'Record a no-transaction step that a client ran itself as applied (up) or reverted (down); false when it already was. Granted to migration roles.';

CREATE PROCEDURE steward.deploy(module text, target text DEFAULT 'head')
	AS 'MODULE_PATHNAME', 'steward_deploy'
	LANGUAGE C;
COMMENT ON PROCEDURE steward.deploy(text, text) IS
	'CALL outside a transaction block: apply pending migrations up to target, each in a transaction of its own, no-transaction steps as top-level statements (in a background worker), repeatable scripts last; a NOTICE per step. Granted to migration roles.';

REVOKE EXECUTE ON FUNCTION steward.define_module(text, name, text),
	steward.register(text, text, text, text, text, text[], text, boolean),
	steward.register_set(text, jsonb, boolean),
	steward.unregister(text, text),
	steward.begin_step(text, text, text),
	steward.record_step(text, text, text, double precision),
	steward.upgrade(text, text, boolean),
	steward.downgrade(text, text),
	steward.migrate(text, text, text, text, text, boolean),
	steward.stamp(text, text),
	steward.repair(text, text, text, text, text),
	steward.plan(text, text),
	steward.dry_run(text, text) FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE steward.deploy(text, text) FROM PUBLIC;

-- Read-only reports: metadata only (no SQL text), callable by everyone.
CREATE FUNCTION steward.status(module text DEFAULT NULL)
	RETURNS TABLE (module text, version text, description text, state text,
				   applied_at timestamptz)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT coalesce(s.module, m.module), coalesce(s.version, m.version),
		   coalesce(s.description, m.description),
		   CASE WHEN m.version IS NULL THEN 'pending'
				-- a repeatable script is pending again when its checksum changed
				WHEN s.kind = 'repeatable' AND m.checksum IS DISTINCT FROM s.checksum THEN 'pending'
				-- stamped at a version without a script (or a script registered later)
				WHEN m.baseline AND m.checksum IS NULL THEN 'baseline'
				WHEN s.version IS NULL THEN 'missing'
				WHEN m.checksum IS DISTINCT FROM s.checksum AND m.checksum IS NOT NULL THEN 'changed'
				WHEN m.baseline THEN 'baseline'
				ELSE 'applied' END,
		   m.applied_at
	  FROM (SELECT * FROM steward.migration_scripts WHERE $1 IS NULL OR module = $1) s
	  FULL JOIN (SELECT * FROM steward.migrations WHERE $1 IS NULL OR module = $1) m
		ON m.module = s.module AND m.version = s.version
	 ORDER BY 1, coalesce(s.kind, m.kind) = 'repeatable', steward.version_key(coalesce(s.version, m.version))
	$$;
COMMENT ON FUNCTION steward.status(text) IS
	'Every known migration with its state: applied, pending, changed, missing or baseline; repeatable scripts (version R__<description>) last, applied or pending';

CREATE FUNCTION steward.current(module text) RETURNS text
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT version FROM steward.migrations WHERE module = $1 AND kind = 'versioned'
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
				 FROM m WHERE m.kind = 'versioned'
				 ORDER BY module, steward.version_key(version) DESC),
		 problems AS (
		-- a changed repeatable script is simply pending: not a problem
		SELECT m.module, m.version, 'changed: applied checksum ' || left(m.checksum, 12) ||
			   ' differs from registered ' || left(s.checksum, 12) AS problem
		  FROM m JOIN s USING (module, version)
		 WHERE m.checksum IS NOT NULL AND m.checksum <> s.checksum AND s.kind = 'versioned'
		UNION ALL
		SELECT m.module, m.version, 'missing: applied but no script is registered'
		  FROM m WHERE NOT (m.baseline AND m.checksum IS NULL)	-- stamped without a script
		   AND NOT EXISTS (SELECT 1 FROM s WHERE s.module = m.module AND s.version = m.version)
		UNION ALL
		SELECT s.module, s.version, 'gap: pending but a higher version is applied'
		  FROM s JOIN top USING (module)
		 WHERE s.kind = 'versioned' AND steward.version_key(s.version) < top.k
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
	 ORDER BY module, version LIKE 'R\_\_%', steward.version_key(version), problem
	$$;
COMMENT ON FUNCTION steward.validate(text) IS
	'Every problem at once: changed, missing, gap, unmet requires. Empty means valid.';

/* ------------------------------------------------------------------------
 * DDL capture and drift (DESIGN.md section 3)
 * ------------------------------------------------------------------------ */

-- Citus keeps copies of a distributed or reference table, named
-- <table>_<shard id>, next to it (src/common/citus.c); steward's reports
-- (check, lint) leave them out, whether Citus shows them or not.
CREATE FUNCTION steward.citus_shard(rel regclass) RETURNS boolean
	AS 'MODULE_PATHNAME', 'steward_citus_shard'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION steward.citus_shard(regclass) IS
	'True when the relation is a Citus shard (or an index of one), which steward leaves to Citus; false without Citus';

CREATE TABLE steward.ddl_log (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at			timestamptz NOT NULL DEFAULT clock_timestamp(),
	txid		xid8 NOT NULL DEFAULT pg_current_xact_id(),
	command_tag	text NOT NULL,
	object_type	text,
	schema_name	name,
	object_identity text,
	command		text,
	by_user		name NOT NULL,
	application_name text,
	module		text,
	version		text,
	extension	name,
	break_glass	boolean NOT NULL DEFAULT false	-- run with steward.allow_ddl in a guarded schema
);
CREATE INDEX ix_ddl_log_schema_name ON steward.ddl_log (schema_name, id);
COMMENT ON TABLE steward.ddl_log IS
	'Every DDL command, one row per affected object; module/version set inside a migration, extension inside an extension script';
REVOKE ALL ON steward.ddl_log FROM PUBLIC;

CREATE TABLE steward.fingerprints (
	schema_name	name NOT NULL,
	object_type	text NOT NULL,
	object_identity text NOT NULL,
	hash		text NOT NULL,
	definition	jsonb NOT NULL,
	objid		oid,
	table_oid	oid,
	dbid		text NOT NULL,
	module		text,
	version		text,
	taken_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (schema_name, object_type, object_identity)
);
CREATE INDEX ix_fingerprints_objid ON steward.fingerprints (objid);
CREATE INDEX ix_fingerprints_table_oid ON steward.fingerprints (table_oid);
CREATE INDEX ix_fingerprints_object_identity ON steward.fingerprints (object_identity);
-- every migration run asks whether rows of another database are present
-- (restored): two index probes, not a scan of every fingerprint
CREATE INDEX ix_fingerprints_dbid ON steward.fingerprints (dbid);
COMMENT ON TABLE steward.fingerprints IS
	'Per-object fingerprint of each schema as the migrations left it (objid/table_oid valid only in database dbid)';
REVOKE ALL ON steward.fingerprints FROM PUBLIC;


-- ddl_log is not dumped: a restore's own DDL is logged as it runs, and the
-- dumped history would collide with it.  Fingerprints are what check needs.
SELECT pg_catalog.pg_extension_config_dump('steward.fingerprints', '');

-- The deparsed parts of one object's fingerprint (definition, view query,
-- index, defaults, partitioning, policy expressions, domain checks), read
-- safely while other sessions run DDL: it waits for DDL in progress on the
-- object (an ACCESS SHARE lock on its table, as reading it would; released
-- at once) and returns NULL when the object is gone by then, instead of
-- failing as pg_get_viewdef() and friends do on a vanished relation.
CREATE FUNCTION steward.deparse_object(classid regclass, objid oid) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'steward_deparse_object'
	LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION steward.deparse_object(regclass, oid) IS
	'Deparsed parts of a relation, constraint, trigger, rule, policy, function or type for its fingerprint; NULL when it was dropped (waits for DDL in progress on it)';

-- Fingerprint rows of the given objects, one array of OIDs per catalog:
-- a canonical JSON definition built only from names and deparsed SQL, never
-- OIDs, so that a dump and restore of the same schema gives the same hash.
-- Defaults, constraints and indexes are compared by their deparsed
-- definition: dropping a table and creating it again the same way gives
-- the same fingerprints.  Written in C (src/drift/fingerprint_rows.c):
-- each given object is looked up in the catalog caches, so fingerprinting
-- the few objects one migration touched stays cheap however big the
-- database, and nothing is planned (a migration run is often a fresh
-- connection).  Everything deparsed goes through the locking of
-- steward.deparse_object(), so an object another session drops meanwhile
-- is left out instead of failing the call.  The settings that change how constants are deparsed
-- (a timestamptz in a CHECK, a date in a partition bound or a default) are
-- pinned, so that a migration run in one time zone and a check() in
-- another see the same text.  Objects of extensions, of steward, of
-- pg_toast and temporary ones are left out.
CREATE FUNCTION steward.fingerprint_rows(rels oid[], cons oid[], trgs oid[], procs oid[], types oid[])
	RETURNS TABLE (schema_name name, object_type text, object_identity text,
				   hash text, definition jsonb, objid oid, table_oid oid)
	AS 'MODULE_PATHNAME', 'steward_fingerprint_rows'
	LANGUAGE C STABLE
	SET search_path = pg_catalog, pg_temp
	SET TimeZone = 'UTC'
	SET DateStyle = 'ISO, YMD'
	SET IntervalStyle = 'postgres'
	SET extra_float_digits = 1
	SET bytea_output = 'hex'
	SET lc_monetary = 'C';
COMMENT ON FUNCTION steward.fingerprint_rows(oid[], oid[], oid[], oid[], oid[]) IS
	'Fingerprints of the given relations (with their policies and rules), constraints, triggers, functions and types';

-- Every fingerprinted object of one schema.
CREATE FUNCTION steward.object_fingerprints(schema_name name)
	RETURNS TABLE (schema_name name, object_type text, object_identity text,
				   hash text, definition jsonb, objid oid, table_oid oid)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT * FROM steward.fingerprint_rows(
		ARRAY(SELECT c.oid FROM pg_class c WHERE c.relnamespace = to_regnamespace(quote_ident($1))
			   AND NOT steward.citus_shard(c.oid)),
		ARRAY(SELECT k.oid FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
			   WHERE c.relnamespace = to_regnamespace(quote_ident($1)) AND NOT steward.citus_shard(c.oid)),
		ARRAY(SELECT g.oid FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
			   WHERE c.relnamespace = to_regnamespace(quote_ident($1)) AND NOT steward.citus_shard(c.oid)),
		ARRAY(SELECT p.oid FROM pg_proc p WHERE p.pronamespace = to_regnamespace(quote_ident($1))),
		ARRAY(SELECT t.oid FROM pg_type t WHERE t.typnamespace = to_regnamespace(quote_ident($1))))
	$$;
COMMENT ON FUNCTION steward.object_fingerprints(name) IS
	'Live per-object fingerprints of a schema: tables with their columns, indexes, constraints, views, functions, triggers, sequences, types';

-- Describe what changed between two fingerprint definitions, in words.
CREATE FUNCTION steward.describe_change(old_def jsonb, new_def jsonb) RETURNS text
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	WITH oc AS (SELECT c->>'name' AS name, c AS col, ord FROM jsonb_array_elements($1->'columns') WITH ORDINALITY AS x(c, ord)),
		 nc AS (SELECT c->>'name' AS name, c AS col, ord FROM jsonb_array_elements($2->'columns') WITH ORDINALITY AS x(c, ord)),
		 colchanges AS (
			SELECT coalesce(nc.ord, oc.ord) AS ord,
				   CASE WHEN oc.name IS NULL THEN format('column %s added (%s)', nc.name, nc.col->>'type')
						WHEN nc.name IS NULL THEN format('column %s dropped', oc.name)
						ELSE (SELECT string_agg(format('column %s %s: %s -> %s', nc.name, k,
													   coalesce(oc.col->>k, 'none'), coalesce(nc.col->>k, 'none')), '; ' ORDER BY k)
								FROM (SELECT DISTINCT k FROM (SELECT jsonb_object_keys(oc.col) UNION ALL
															 SELECT jsonb_object_keys(nc.col)) AS ks(k)) kk
							   WHERE (oc.col->k) IS DISTINCT FROM (nc.col->k)) END AS what
			  FROM oc FULL JOIN nc ON oc.name = nc.name
			 WHERE oc.col IS DISTINCT FROM nc.col),
		 keychanges AS (
			SELECT k, format('%s: %s -> %s', k,
							 left(regexp_replace(coalesce($1->>k, 'none'), '\s+', ' ', 'g'), 160),
							 left(regexp_replace(coalesce($2->>k, 'none'), '\s+', ' ', 'g'), 160)) AS what
			  FROM (SELECT jsonb_object_keys($1) UNION SELECT jsonb_object_keys($2)) AS ks(k)
			 WHERE k <> 'columns' AND ($1->k) IS DISTINCT FROM ($2->k))
	SELECT CASE
		WHEN $1 IS NULL THEN 'not created by a migration'
		WHEN $2 IS NULL THEN 'dropped outside migrations'
		ELSE nullif(concat_ws('; ',
				(SELECT string_agg(what, '; ' ORDER BY ord) FROM colchanges),
				(SELECT string_agg(what, '; ' ORDER BY k) FROM keychanges)), '')
		END
	$$;
COMMENT ON FUNCTION steward.describe_change(jsonb, jsonb) IS
	'Words for the difference of two object fingerprint definitions';

CREATE FUNCTION steward.check(module text DEFAULT NULL)
	RETURNS TABLE (module text, object_type text, object_identity text, change text, detail text)
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
	WITH mods AS (
		SELECT m.module, m.schema_name,
			   greatest((SELECT max(l.id) FROM steward.ddl_log l WHERE l.module = m.module),
						(SELECT max((e.detail->>'ddl_log_id')::bigint) FROM steward.migration_events e
						  WHERE e.module = m.module AND e.event = 'baseline'), 0) AS watermark
		  FROM steward.modules m WHERE $1 IS NULL OR m.module = $1),
	live AS (SELECT mo.module, f.object_type, f.object_identity, f.hash, f.definition
			   FROM mods mo, steward.object_fingerprints(mo.schema_name) f),
	stored AS (SELECT mo.module, f.object_type, f.object_identity, f.hash, f.definition
				 FROM mods mo JOIN steward.fingerprints f ON f.schema_name = mo.schema_name),
	drift AS (
		SELECT coalesce(l.module, s.module) AS module,
			   coalesce(l.object_type, s.object_type) AS object_type,
			   coalesce(l.object_identity, s.object_identity) AS object_identity,
			   CASE WHEN s.hash IS NULL THEN 'added' WHEN l.hash IS NULL THEN 'dropped' ELSE 'altered' END AS change,
			   steward.describe_change(s.definition, l.definition) AS detail
		  FROM live l FULL JOIN stored s
			ON s.module = l.module AND s.object_type = l.object_type AND s.object_identity = l.object_identity
		 WHERE l.hash IS DISTINCT FROM s.hash),
	-- DDL outside migrations on objects that have no fingerprint kind
	-- (statistics, text search objects, ...): reported unless created and
	-- dropped again.  Objects that are part of a fingerprint (columns of
	-- every kind of relation, column defaults, domain constraints) are
	-- judged by that fingerprint: a DROP TABLE logs its defaults as
	-- dropped, and a CREATE TABLE that puts them back logs no default.
	outside AS (
		SELECT mo.module, d.object_type, d.object_identity,
			   (array_agg(d.command_tag ORDER BY d.id))[1] AS first_tag,
			   (array_agg(d.command_tag ORDER BY d.id DESC))[1] AS last_tag,
			   (array_agg(d.by_user ORDER BY d.id DESC))[1] ||
				   CASE WHEN bool_or(d.break_glass) THEN ' (break-glass)' ELSE '' END AS last_by
		  FROM mods mo JOIN steward.ddl_log d ON d.schema_name = mo.schema_name AND d.id > mo.watermark
		 WHERE d.module IS NULL AND d.extension IS NULL
		   AND d.object_type NOT IN ('table', 'index', 'table constraint', 'view',
									 'materialized view', 'sequence', 'foreign table', 'composite type',
									 'function', 'procedure', 'trigger', 'type', 'domain',
									 'domain constraint', 'schema', 'policy', 'rule', 'default value')
		   AND d.object_type NOT LIKE '% column'
		 GROUP BY mo.module, d.object_type, d.object_identity),
	unprinted AS (
		SELECT o.module, o.object_type, o.object_identity,
			   CASE WHEN o.first_tag LIKE 'CREATE%' THEN 'added'
					WHEN o.last_tag LIKE 'DROP%' THEN 'dropped' ELSE 'altered' END AS change,
			   format('%s outside migrations by %s', o.last_tag, o.last_by) AS detail
		  FROM outside o
		 WHERE NOT (o.first_tag LIKE 'CREATE%' AND o.last_tag LIKE 'DROP%'))
	SELECT dr.module, dr.object_type, dr.object_identity, dr.change,
		   concat_ws('; ', dr.detail,
			   (SELECT format('last DDL outside migrations: %s by %s%s', l.command_tag, l.by_user,
							  CASE WHEN l.break_glass THEN ' (break-glass)' ELSE '' END)
				  FROM steward.ddl_log l, mods mo
				 WHERE mo.module = dr.module AND l.id > mo.watermark AND l.module IS NULL
				   AND l.extension IS NULL AND l.object_identity = dr.object_identity
				 ORDER BY l.id DESC LIMIT 1))
	  FROM drift dr
	UNION ALL
	SELECT * FROM unprinted
	ORDER BY 1, 2, 3
	$$;
COMMENT ON FUNCTION steward.check(text) IS
	'Drift: objects whose live fingerprint differs from what migrations left, and DDL outside migrations. Empty = clean.';
REVOKE EXECUTE ON FUNCTION steward.check(text) FROM PUBLIC;

-- Known inverses of captured DDL (src/drift/inverse.c).
CREATE FUNCTION steward.inverse_sql(sql text) RETURNS text
	AS 'MODULE_PATHNAME', 'steward_inverse_sql'
	LANGUAGE C STRICT IMMUTABLE;
COMMENT ON FUNCTION steward.inverse_sql(text) IS
	'The statements that undo sql (CREATE -> DROP, ADD COLUMN/CONSTRAINT -> DROP, RENAME -> back), last first; NULL when one has no known inverse';

-- Turn the DDL run outside migrations in a module's schema since its last
-- migration into a registered, applied migration.  Not a hot path: SQL.
CREATE FUNCTION steward.capture(module text, version text, description text DEFAULT NULL)
	RETURNS text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	schema name;
	watermark bigint;
	up text;
	cur text;
	pending text;
BEGIN
	PERFORM steward.require_writable('steward.capture()');
	SELECT m.schema_name INTO schema FROM steward.modules m WHERE m.module = capture.module;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'module "%" is not defined', capture.module
			USING ERRCODE = 'undefined_object', HINT = 'Define it with steward.define_module() first.';
	END IF;
	-- The DDL ran after the current version and before any pending one:
	-- the captured version goes there (stamp would forget applied versions
	-- above it, and applying a pending one first would take the DDL into
	-- its fingerprints, leaving nothing to capture).
	cur := steward.current(capture.module);
	IF cur IS NOT NULL AND steward.version_cmp(capture.version, cur) <= 0 THEN
		RAISE EXCEPTION 'cannot capture module "%" as version %: it is at version %',
				capture.module, capture.version, cur
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Capture as a version after %s: the DDL ran after it.', cur);
	END IF;
	SELECT st.version INTO pending FROM steward.status(capture.module) st
	 WHERE st.state = 'pending' ORDER BY steward.version_key(st.version) LIMIT 1;
	IF pending IS NOT NULL AND steward.version_cmp(capture.version, pending) >= 0 THEN
		RAISE EXCEPTION 'cannot capture module "%" as version %: version % is pending',
				capture.module, capture.version, pending
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = format('The DDL ran before it: capture as a version %s %s, then apply the pending ones.',
								CASE WHEN cur IS NULL THEN 'below' ELSE 'between ' || cur || ' and' END,
								pending);
	END IF;
	SELECT greatest((SELECT max(l.id) FROM steward.ddl_log l WHERE l.module = capture.module),
					(SELECT max((e.detail->>'ddl_log_id')::bigint) FROM steward.migration_events e
					  WHERE e.module = capture.module AND e.event = 'baseline'), 0)
	  INTO watermark;
	-- one row per object: a statement is a run of rows of one transaction
	-- with the same text
	WITH rows AS (
		SELECT l.id, l.command,
			   (lag(l.txid) OVER w IS DISTINCT FROM l.txid OR
				lag(l.command) OVER w IS DISTINCT FROM l.command) AS first
		  FROM steward.ddl_log l
		 WHERE l.schema_name = schema AND l.id > watermark AND l.module IS NULL
		   AND l.extension IS NULL AND l.command IS NOT NULL
		WINDOW w AS (ORDER BY l.id))
	SELECT string_agg(rtrim(r.command, E' \t\n;') || ';', E'\n' ORDER BY r.id) INTO up
	  FROM rows r WHERE r.first;
	IF up IS NULL THEN
		RAISE EXCEPTION 'nothing to capture in schema "%"', schema
			USING ERRCODE = 'no_data_found',
				  HINT = 'No DDL ran outside migrations since the last migration of this module.';
	END IF;
	PERFORM steward.register(capture.module, capture.version, up, steward.inverse_sql(up),
							 coalesce(capture.description, 'captured'));
	PERFORM steward.stamp(capture.module, capture.version);
	RETURN up;
END
$$;
COMMENT ON FUNCTION steward.capture(text, text, text) IS
	'Turn the DDL run outside migrations in the module''s schema since its last migration into a registered, applied migration; returns its up_sql';
REVOKE EXECUTE ON FUNCTION steward.capture(text, text, text) FROM PUBLIC;

/* ------------------------------------------------------------------------
 * Naming conventions (DESIGN.md section 1)
 * ------------------------------------------------------------------------ */

CREATE FUNCTION steward.pluralize(word text) RETURNS text
	AS 'MODULE_PATHNAME', 'steward_pluralize_sql'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION steward.pluralize(text) IS
	'English plural of the last word of a snake_case name (aux_person -> aux_people)';
CREATE FUNCTION steward.singularize(word text) RETURNS text
	AS 'MODULE_PATHNAME', 'steward_singularize_sql'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION steward.singularize(text) IS
	'English singular of the last word of a snake_case name (aux_people -> aux_person)';
CREATE FUNCTION steward.is_plural(name text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'steward_is_plural_sql'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION steward.is_plural(text) IS
	'Is the last word of a snake_case name plural (or uncountable)?';
CREATE FUNCTION steward.snake_case(name text) RETURNS text
	AS 'MODULE_PATHNAME', 'steward_snake_case_sql'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION steward.snake_case(text) IS 'Lower snake_case spelling of a name (OrderItems -> order_items)';
CREATE FUNCTION steward.suggest_table_name(name text, prefix text, plural boolean) RETURNS text
	AS 'MODULE_PATHNAME', 'steward_suggest_table_name_sql'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION steward.suggest_table_name(text, text, boolean) IS
	'The accepted table name: snake_case, prefixed, plural (Products -> aux_products)';
CREATE FUNCTION steward.standard_name(kind text, tbl regclass, cols text[], ref regclass DEFAULT NULL)
	RETURNS text
	AS 'MODULE_PATHNAME', 'steward_standard_name'
	LANGUAGE C STABLE;
COMMENT ON FUNCTION steward.standard_name(text, regclass, text[], regclass) IS
	'Standard name: pk_<table>, ix_/uq_/ck_/ex_<table>_<cols>, fk_<table>_<cols>_<ref>, sq_<table>_<col>; over 63 bytes cut with an 8-hex hash';
CREATE FUNCTION steward.name_suggestion(classid regclass, objid oid) RETURNS text
	AS 'MODULE_PATHNAME', 'steward_name_suggestion'
	LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION steward.name_suggestion(regclass, oid) IS
	'Standard name of an existing constraint, index or owned sequence whose name is not acceptable; NULL if it is';

CREATE TABLE steward.schema_policies (
	schema_name		name PRIMARY KEY,
	table_prefix	text NOT NULL DEFAULT '',
	plural_tables	boolean NOT NULL DEFAULT true,
	inject_columns	boolean NOT NULL DEFAULT true,
	audit			boolean NOT NULL DEFAULT true,
	mode			text NOT NULL DEFAULT 'enforce' CHECK (mode IN ('enforce', 'warn', 'off')),
	id_column		name NOT NULL DEFAULT 'id',
	created_column	name NOT NULL DEFAULT 'created',
	updated_column	name NOT NULL DEFAULT 'updated',
	href_template	text DEFAULT '/{table}/{id}',
	-- LIKE patterns of table names that get no injected columns
	inject_exclude	text[] NOT NULL DEFAULT '{}'
		CHECK (array_position(inject_exclude, NULL) IS NULL),
	-- 'migrations': DDL on the schema's objects only inside steward migrations
	ddl				text NOT NULL DEFAULT 'any' CHECK (ddl IN ('any', 'migrations')),
	updated_at		timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE steward.schema_policies IS 'Per-schema naming and injection policies; schemas without a row are left alone';
REVOKE ALL ON steward.schema_policies FROM PUBLIC;
GRANT SELECT ON steward.schema_policies TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('steward.schema_policies', '');

CREATE FUNCTION steward.manage_schema(schema_name name, table_prefix text DEFAULT '',
									  plural_tables boolean DEFAULT true,
									  inject_columns boolean DEFAULT true, audit boolean DEFAULT true,
									  mode text DEFAULT 'enforce', id_column text DEFAULT 'id',
									  created_column text DEFAULT 'created',
									  updated_column text DEFAULT 'updated',
									  href_template text DEFAULT '/{table}/{id}',
									  inject_exclude text[] DEFAULT '{}',
									  ddl text DEFAULT 'any')
	RETURNS steward.schema_policies
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	result steward.schema_policies;
BEGIN
	PERFORM steward.require_writable('steward.manage_schema()');
	IF schema_name IS NULL OR schema_name = '' THEN
		RAISE EXCEPTION 'schema_name must not be empty'
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass the schema to manage.';
	END IF;
	IF schema_name IN ('steward', 'pg_catalog', 'information_schema', 'pg_toast') THEN
		RAISE EXCEPTION 'schema "%" cannot be managed', schema_name
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Manage your own schemas only.';
	END IF;
	IF mode IS NULL OR mode NOT IN ('enforce', 'warn', 'off') THEN
		RAISE EXCEPTION 'invalid mode "%"', mode
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use enforce, warn or off.';
	END IF;
	IF coalesce(table_prefix, '') <> '' AND table_prefix !~ '^[a-z][a-z0-9_]*$' THEN
		RAISE EXCEPTION 'invalid table_prefix "%"', table_prefix
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A prefix is lower snake_case, e.g. ''aux_''.';
	END IF;
	IF id_column !~ '^[a-z][a-z0-9_]*$' OR created_column !~ '^[a-z][a-z0-9_]*$'
	   OR updated_column !~ '^[a-z][a-z0-9_]*$' OR id_column IS NULL OR created_column IS NULL
	   OR updated_column IS NULL THEN
		RAISE EXCEPTION 'invalid column name in policy (%, %, %)', id_column, created_column, updated_column
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Column names are lower snake_case, e.g. ''id'', ''created'', ''updated''.';
	END IF;
	IF ddl IS NULL OR ddl NOT IN ('any', 'migrations') THEN
		RAISE EXCEPTION 'invalid ddl "%"', ddl
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use any (DDL from anywhere) or migrations (DDL only inside steward migrations).';
	END IF;
	IF array_position(inject_exclude, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'inject_exclude must not contain NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'List LIKE patterns of table names, e.g. ARRAY[''aux_alembic_version'', ''%_links''].';
	END IF;
	INSERT INTO steward.schema_policies AS p (schema_name, table_prefix, plural_tables, inject_columns,
			audit, mode, id_column, created_column, updated_column, href_template, inject_exclude, ddl)
	VALUES (manage_schema.schema_name, coalesce(manage_schema.table_prefix, ''),
			coalesce(manage_schema.plural_tables, true), coalesce(manage_schema.inject_columns, true),
			coalesce(manage_schema.audit, true), manage_schema.mode, manage_schema.id_column,
			manage_schema.created_column, manage_schema.updated_column, manage_schema.href_template,
			coalesce(manage_schema.inject_exclude, '{}'), manage_schema.ddl)
	ON CONFLICT ON CONSTRAINT schema_policies_pkey DO UPDATE SET
		table_prefix = excluded.table_prefix, plural_tables = excluded.plural_tables,
		inject_columns = excluded.inject_columns, audit = excluded.audit, mode = excluded.mode,
		id_column = excluded.id_column, created_column = excluded.created_column,
		updated_column = excluded.updated_column, href_template = excluded.href_template,
		inject_exclude = excluded.inject_exclude, ddl = excluded.ddl, updated_at = now()
	RETURNING * INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION steward.manage_schema(name, text, boolean, boolean, boolean, text, text, text, text, text, text[], text) IS
	'Create or replace the naming and injection policy of a schema. Granted by the extension owner.';

CREATE FUNCTION steward.unmanage_schema(schema_name name) RETURNS boolean
	LANGUAGE sql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT steward.require_writable('steward.unmanage_schema()');
	WITH d AS (DELETE FROM steward.schema_policies p WHERE p.schema_name = $1 RETURNING 1)
	SELECT count(*) > 0 FROM d
	$$;
COMMENT ON FUNCTION steward.unmanage_schema(name) IS
	'Remove a schema''s policy; true if it had one. Granted by the extension owner.';
REVOKE EXECUTE ON FUNCTION steward.manage_schema(name, text, boolean, boolean, boolean, text, text, text, text, text, text[], text),
	steward.unmanage_schema(name) FROM PUBLIC;

-- lint's created_outside_migrations: the tables of module schemas
-- (steward.modules.schema_name) among the given schemas that no migration
-- created.  steward.fingerprints decides: only migrations (for what they
-- created or changed) and stamp (adopting a schema as it is) write it, so a
-- table with no fingerprint under its identity -- nor under its OID in the
-- database that stored it, so that a rename keeps it -- was made outside
-- migrations.  This is check()'s "added" for tables.  The DDL log does not
-- decide: it is not dumped, a restore logs its own CREATE TABLEs, and
-- tables made before pg_steward have no rows in it.  SECURITY DEFINER (the
-- catalogs are not readable by PUBLIC): only OIDs and module names come out.
CREATE FUNCTION steward.tables_outside_migrations(schemas oid[])
	RETURNS TABLE (relid oid, module text)
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
	WITH db AS (
		-- the dbid fingerprint.c stores: system identifier (unsigned) and database OID
		SELECT (CASE WHEN s.system_identifier < 0 THEN s.system_identifier::numeric + 18446744073709551616
					 ELSE s.system_identifier::numeric END)::text || ':' || d.oid::text AS dbid
		  FROM pg_control_system() s, pg_database d WHERE d.datname = current_database())
	SELECT c.oid, m.module
	  FROM pg_class c
	  JOIN pg_namespace n ON n.oid = c.relnamespace
	  CROSS JOIN LATERAL (SELECT min(mo.module) AS module FROM steward.modules mo
						   WHERE mo.schema_name = n.nspname) m
	  CROSS JOIN LATERAL pg_identify_object('pg_class'::regclass, c.oid, 0) i
	 WHERE c.relnamespace = ANY ($1) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
	   AND m.module IS NOT NULL AND NOT steward.citus_shard(c.oid)
	   AND NOT EXISTS (SELECT 1 FROM steward.fingerprints f
						WHERE f.schema_name = n.nspname AND f.object_type = i.type
						  AND f.object_identity = i.identity)
	   AND NOT EXISTS (SELECT 1 FROM steward.fingerprints f, db
						WHERE f.objid = c.oid AND f.dbid = db.dbid AND f.object_type = i.type)
	$$;
COMMENT ON FUNCTION steward.tables_outside_migrations(oid[]) IS
	'Tables of module schemas among the given schemas that no migration created (no fingerprint from a migration or stamp); used by lint';

-- lint's production checklist over the given schemas, each finding with
-- the SQL that fixes it: created_outside_migrations, fk_without_index (no
-- valid, non-partial index whose leading columns are the key's columns, in
-- any order), not_validated (a NOT VALID constraint never validated;
-- NOT ENFORCED ones of 18 are meant to stay so), no_primary_key and
-- duplicate_index (same access method, columns, operator classes,
-- collations, orderings, expressions and predicate; the one to drop is the
-- one not backing the primary key, then not backing a constraint, then not
-- unique, then the newer).  Tables are chosen as lint's naming rules choose
-- them: no partitions (they follow their parent), typed, temporary or
-- extension tables.  Names in suggestions are schema-qualified.
CREATE FUNCTION steward.lint_checklist(schemas oid[])
	RETURNS TABLE (object_type text, object_identity text, rule text, message text, suggestion text)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	WITH tbls AS (
		SELECT c.oid, c.relkind, c.relname, n.nspname, format('%I.%I', n.nspname, c.relname) AS qname,
			   i.type AS otype, i.identity AS ident, coalesce(p.id_column, 'id') AS id_column,
			   coalesce(p.inject_columns, false) AS injecting,
			   EXISTS (SELECT 1 FROM unnest(p.inject_exclude) x WHERE c.relname LIKE x) AS excluded,
			   ARRAY[p.created_column, p.updated_column] AS stamps
		  FROM pg_class c
		  JOIN pg_namespace n ON n.oid = c.relnamespace
		  LEFT JOIN steward.schema_policies p ON p.schema_name = n.nspname AND p.mode <> 'off'
		  CROSS JOIN LATERAL pg_identify_object('pg_class'::regclass, c.oid, 0) i
		 WHERE c.relnamespace = ANY ($1) AND c.relkind IN ('r', 'p')
		   AND NOT c.relispartition AND c.reloftype = 0 AND c.relpersistence <> 't'
		   AND NOT steward.citus_shard(c.oid)
		   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
							  AND d.objid = c.oid AND d.deptype = 'e')),
	keyed AS (
		SELECT k.oid, k.conname, k.contype, k.conkey, k.confrelid, k.convalidated, k.conparentid,
			   coalesce((to_jsonb(k) ->> 'conenforced')::boolean, true) AS enforced,	-- 18 has NOT ENFORCED
			   t.oid AS relid, t.qname, t.relkind,
			   (pg_identify_object('pg_constraint'::regclass, k.oid, 0)).identity AS ident,
			   (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY u.ord)
				  FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
				  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) AS cols,
			   ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
					   JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
					  ORDER BY u.ord) AS colnames
		  FROM pg_constraint k JOIN tbls t ON t.oid = k.conrelid
		 WHERE k.conparentid = 0),
	idx AS (
		SELECT x.indexrelid, x.indrelid, x.indisunique, ic.relname AS iname, ic.relkind AS ikind,
			   t.nspname, t.qname, k.contype, k.conname,
			   concat_ws('|', ic.relam, x.indnkeyatts, x.indkey, x.indclass, x.indcollation, x.indoption,
						 x.indnullsnotdistinct, coalesce(pg_get_expr(x.indexprs, x.indrelid), ''),
						 coalesce(pg_get_expr(x.indpred, x.indrelid), '')) AS signature
		  FROM pg_index x
		  JOIN tbls t ON t.oid = x.indrelid
		  JOIN pg_class ic ON ic.oid = x.indexrelid
		  LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid
								   AND k.contype IN ('p', 'u', 'x')
		 WHERE x.indisvalid)
	SELECT t.otype, t.ident, 'created_outside_migrations',
		   format('Table %s is in the schema of module %s, but no migration created it: adopt the schema as it is (stamp), or drop the table and create it in a migration.',
				  t.qname, quote_literal(o.module)),
		   format('SELECT steward.stamp(%L, coalesce(steward.current(%L), %L));', o.module, o.module, 'base')
	  FROM steward.tables_outside_migrations($1) o JOIN tbls t ON t.oid = o.relid
	UNION ALL
	SELECT 'table constraint', k.ident, 'fk_without_index',
		   format('No index of %s leads with the columns of foreign key %I (%s): each DELETE or key UPDATE in %s reads all of %s to check it.',
				  k.qname, k.conname, k.cols, k.confrelid::regclass, k.qname),
		   format('CREATE INDEX%s %I ON %s (%s);', CASE WHEN k.relkind = 'p' THEN '' ELSE ' CONCURRENTLY' END,
				  steward.standard_name('ix', k.relid::regclass, k.colnames), k.qname, k.cols)
	  FROM keyed k
	 WHERE k.contype = 'f'
	   AND NOT EXISTS (SELECT 1 FROM pg_index x
						WHERE x.indrelid = k.relid AND x.indisvalid AND x.indpred IS NULL
						  AND x.indnkeyatts >= cardinality(k.conkey)
						  AND ARRAY(SELECT v FROM unnest((x.indkey::int2[])[0:cardinality(k.conkey) - 1]) v ORDER BY v)
							  = ARRAY(SELECT v FROM unnest(k.conkey) v ORDER BY v))
	UNION ALL
	SELECT 'table constraint', k.ident, 'not_validated',
		   format('Constraint %I on %s was added NOT VALID and never validated: rows from before it were never checked.',
				  k.conname, k.qname),
		   format('ALTER TABLE %s VALIDATE CONSTRAINT %I;', k.qname, k.conname)
	  FROM keyed k
	 WHERE NOT k.convalidated AND k.enforced
	UNION ALL
	SELECT t.otype, t.ident, 'no_primary_key',
		   format('Table %s has no primary key%s: its rows cannot be told apart, and logical replication cannot send its updates and deletes.',
				  t.qname, CASE WHEN t.excluded THEN ' (inject_exclude leaves it without the policy''s ' || quote_ident(t.id_column) || ')' ELSE '' END),
		   CASE
			 WHEN u.iname IS NOT NULL
			 THEN format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY USING INDEX %I;', t.qname, s.pk, u.iname)
			 WHEN a.cols IS NOT NULL
			 THEN format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (%s);', t.qname, s.pk, a.cols)
			 WHEN EXISTS (SELECT 1 FROM pg_attribute c WHERE c.attrelid = t.oid AND c.attname = t.id_column AND NOT c.attisdropped)
			 THEN format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (%I);', t.qname, s.pk, t.id_column)
			 WHEN t.injecting AND NOT t.excluded
			 THEN format('ALTER TABLE %s ADD COLUMN %I uuid NOT NULL DEFAULT gen_random_uuid(), ADD CONSTRAINT %I PRIMARY KEY (%I);',
						 t.qname, t.id_column, s.pk, t.id_column)
			 ELSE format('ALTER TABLE %s ADD COLUMN %I bigint GENERATED ALWAYS AS IDENTITY, ADD CONSTRAINT %I PRIMARY KEY (%I);',
						 t.qname, t.id_column, s.pk, t.id_column)
		   END
	  FROM tbls t
	  CROSS JOIN LATERAL (SELECT steward.standard_name('pk', t.oid::regclass, NULL) AS pk) s
	  -- a unique index on NOT NULL columns that no constraint owns becomes the key as it is
	  LEFT JOIN LATERAL (
		SELECT ic.relname AS iname
		  FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_am am ON am.oid = ic.relam
		 WHERE x.indrelid = t.oid AND t.relkind = 'r' AND x.indisunique AND x.indisvalid AND am.amname = 'btree'
		   AND x.indpred IS NULL AND x.indexprs IS NULL
		   AND NOT EXISTS (SELECT 1 FROM unnest(x.indoption::int2[]) o WHERE o <> 0)
		   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = t.oid)
		   AND NOT EXISTS (SELECT 1 FROM unnest(x.indkey::int2[]) v
							 JOIN pg_attribute c ON c.attrelid = t.oid AND c.attnum = v WHERE NOT c.attnotnull)
		 ORDER BY x.indnatts, ic.relname LIMIT 1) u ON true
	  -- an association table (two or more foreign keys cover every column but
	  -- the policy's timestamps) is keyed by its foreign keys
	  LEFT JOIN LATERAL (
		SELECT string_agg(quote_ident(c.attname), ', ' ORDER BY c.attnum) AS cols
		  FROM pg_attribute c
		 WHERE c.attrelid = t.oid AND c.attnum > 0 AND NOT c.attisdropped
		HAVING (SELECT count(*) FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype = 'f') >= 2
		   AND bool_and(coalesce(c.attname = ANY (t.stamps), false)
						OR EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype = 'f'
									  AND c.attnum = ANY (k.conkey)))) a ON true
	 WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype = 'p')
	UNION ALL
	SELECT 'index', (pg_identify_object('pg_class'::regclass, d.indexrelid, 0)).identity, 'duplicate_index',
		   format('Index %I on %s has the same columns, expressions and predicate as %I: it slows every write and serves no query the other does not.',
				  d.iname, d.qname, k.iname),
		   CASE WHEN d.conname IS NOT NULL THEN format('ALTER TABLE %s DROP CONSTRAINT %I;', d.qname, d.conname)
				WHEN d.ikind = 'I' THEN format('DROP INDEX %I.%I;', d.nspname, d.iname)
				ELSE format('DROP INDEX CONCURRENTLY %I.%I;', d.nspname, d.iname) END
	  FROM idx d
	  CROSS JOIN LATERAL (
		SELECT b.iname FROM idx b
		 WHERE b.indrelid = d.indrelid AND b.indexrelid <> d.indexrelid AND b.signature = d.signature
		   AND b.contype IS DISTINCT FROM 'x'
		   AND (b.contype IS DISTINCT FROM 'p', b.contype IS NULL, NOT b.indisunique, b.indexrelid)
			   < (d.contype IS DISTINCT FROM 'p', d.contype IS NULL, NOT d.indisunique, d.indexrelid)
		 ORDER BY b.contype IS DISTINCT FROM 'p', b.contype IS NULL, NOT b.indisunique, b.indexrelid
		 LIMIT 1) k
	 WHERE d.contype IS DISTINCT FROM 'x'
	$$;
COMMENT ON FUNCTION steward.lint_checklist(oid[]) IS
	'lint''s production checklist over the given schemas: created_outside_migrations, fk_without_index, not_validated, no_primary_key, duplicate_index';

-- Every naming violation among existing objects of a schema (default: all
-- managed schemas), judged by the same C code that enforces the rules.
CREATE FUNCTION steward.lint(schema_name name DEFAULT NULL)
	RETURNS TABLE (object_type text, object_identity text, rule text, message text, suggestion text)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	WITH sch AS (
		SELECT n.oid, n.nspname, coalesce(p.table_prefix, '') AS prefix,
			   coalesce(p.plural_tables, true) AS plural
		  FROM pg_namespace n LEFT JOIN steward.schema_policies p ON p.schema_name = n.nspname
		 WHERE CASE WHEN $1 IS NULL THEN p.schema_name IS NOT NULL AND p.mode <> 'off'
					ELSE n.nspname = $1 END),
	rels AS (
		SELECT c.oid, c.relname::text AS relname, c.relkind, sch.nspname, sch.prefix, sch.plural,
			   (pg_identify_object('pg_class'::regclass, c.oid, 0)).type AS otype,
			   (pg_identify_object('pg_class'::regclass, c.oid, 0)).identity AS ident
		  FROM pg_class c JOIN sch ON c.relnamespace = sch.oid
		 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I')
		   AND NOT c.relispartition AND c.reloftype = 0 AND c.relpersistence <> 't'
		   AND NOT steward.citus_shard(c.oid)
		   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
							  AND d.objid = c.oid AND d.deptype = 'e')),
	problems AS (
		-- table names: snake_case, prefix, plural
		SELECT r.otype, r.ident,
			   CASE WHEN r.relname !~ '^[a-z][a-z0-9_]*$' THEN 'snake_case'
					WHEN r.prefix <> '' AND left(r.relname, length(r.prefix)) <> r.prefix THEN 'table_prefix'
					ELSE 'plural_table' END AS rule,
			   CASE WHEN r.relname !~ '^[a-z][a-z0-9_]*$' THEN 'Names are lower snake_case.'
					WHEN r.prefix <> '' AND left(r.relname, length(r.prefix)) <> r.prefix
					THEN format('Table names in schema "%s" start with "%s".', r.nspname, r.prefix)
					ELSE 'Table names end in a plural word.' END AS message,
			   steward.suggest_table_name(r.relname, r.prefix, r.plural) AS suggestion
		  FROM rels r
		 WHERE r.relkind IN ('r', 'p')
		   AND steward.suggest_table_name(r.relname, r.prefix, r.plural) <> r.relname
		UNION ALL
		-- views, materialized views, free sequences: snake_case
		SELECT r.otype, r.ident, 'snake_case', 'Names are lower snake_case.', steward.snake_case(r.relname)
		  FROM rels r
		 WHERE r.relkind IN ('v', 'm', 'S') AND r.relname !~ '^[a-z][a-z0-9_]*$'
		   AND steward.name_suggestion('pg_class'::regclass, r.oid) IS NULL
		UNION ALL
		-- columns: snake_case
		SELECT 'table column', r.ident || '.' || quote_ident(a.attname), 'snake_case',
			   'Names are lower snake_case.', steward.snake_case(a.attname)
		  FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
		 WHERE r.relkind IN ('r', 'p', 'v', 'm') AND a.attname !~ '^[a-z][a-z0-9_]*$'
		UNION ALL
		-- indexes and owned sequences: standard names
		SELECT r.otype, r.ident, 'standard_name',
			   CASE WHEN r.relkind = 'S' THEN 'Sequences of serial and identity columns are named sq_<table>_<column>.'
					ELSE 'Index names are ix_<table>_<columns> (uq_<table>_<columns> for unique indexes).' END,
			   steward.name_suggestion('pg_class'::regclass, r.oid)
		  FROM rels r
		 WHERE r.relkind IN ('i', 'I', 'S') AND steward.name_suggestion('pg_class'::regclass, r.oid) IS NOT NULL
		UNION ALL
		-- constraints: standard names
		SELECT (pg_identify_object('pg_constraint'::regclass, k.oid, 0)).type,
			   (pg_identify_object('pg_constraint'::regclass, k.oid, 0)).identity, 'standard_name',
			   'Constraint names are pk_<table>, uq_<table>_<columns>, fk_<table>_<columns>_<referenced table>, ck_<table>_<columns> or ex_<table>_<columns>.',
			   steward.name_suggestion('pg_constraint'::regclass, k.oid)
		  FROM pg_constraint k JOIN rels r ON r.oid = k.conrelid AND r.relkind IN ('r', 'p')
		 WHERE k.conparentid = 0 AND steward.name_suggestion('pg_constraint'::regclass, k.oid) IS NOT NULL)
	SELECT * FROM problems
	UNION ALL
	SELECT * FROM steward.lint_checklist(ARRAY(SELECT oid FROM sch))
	ORDER BY 2, 3
	$$;
COMMENT ON FUNCTION steward.lint(name) IS
	'Naming violations (with the accepted name) and the production checklist (with the SQL that fixes it) among existing objects of a schema (default: every managed schema)';

/* ------------------------------------------------------------------------
 * Injected columns, updated and audit triggers (DESIGN.md section 4)
 * ------------------------------------------------------------------------ */

CREATE FUNCTION steward.touch_updated() RETURNS trigger
	AS 'MODULE_PATHNAME', 'steward_touch_updated'
	LANGUAGE C;
COMMENT ON FUNCTION steward.touch_updated() IS
	'BEFORE UPDATE row trigger: sets the updated column (argument, default "updated") to the transaction timestamp when the row changed, unless the UPDATE assigned it';

-- CACHE 1: ids are taken in the trigger, after the row lock is held, so one
-- row's entries are numbered in the order its changes were made.
CREATE SEQUENCE steward.audit_log_id_seq;
CREATE TABLE steward.audit_log (
	id			bigint NOT NULL DEFAULT nextval('steward.audit_log_id_seq') PRIMARY KEY,
	at			timestamptz NOT NULL DEFAULT statement_timestamp(),
	txid		xid8 NOT NULL,
	relid		oid NOT NULL,
	schema_name	name NOT NULL,
	table_name	name NOT NULL,
	op			text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
	row_id		text COLLATE "C",	-- a key, compared bytewise: cheap index inserts in any locale
	old_row		jsonb,
	new_row		jsonb,
	changed		text[],
	db_user		name NOT NULL,
	"current_role" name NOT NULL,
	application_name text,
	client_addr	inet,
	module		text,
	version		text
);
ALTER SEQUENCE steward.audit_log_id_seq OWNED BY steward.audit_log.id;
CREATE INDEX ix_audit_log_relid_row_id ON steward.audit_log (relid, row_id);
COMMENT ON TABLE steward.audit_log IS
	'Every INSERT, UPDATE, DELETE and TRUNCATE on audited tables; append-only for everyone but its owner';
REVOKE ALL ON steward.audit_log FROM PUBLIC;
REVOKE ALL ON SEQUENCE steward.audit_log_id_seq FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('steward.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('steward.audit_log_id_seq', '');

CREATE FUNCTION steward.audit_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME', 'steward_audit_trigger'
	LANGUAGE C;
COMMENT ON FUNCTION steward.audit_trigger() IS
	'Statement-level AFTER trigger with transition tables that writes steward.audit_log; attach with steward.enable_audit()';

-- The table of an audit call: an existing table or partitioned table, not
-- the log itself.  Returns its kind; for a partition of an audited table,
-- also the parent, the parent's audit trigger arguments and whether the
-- parent is audited on_replica (what a partition must have: writes to it
-- are logged under the parent).  A table is audited on_replica when its
-- TRUNCATE trigger fires always (tgenabled 'A'), see enable_audit.
CREATE FUNCTION steward.audit_relation(tbl regclass, OUT kind "char", OUT parent regclass,
									   OUT parent_args bytea, OUT parent_on_replica boolean)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF tbl IS NULL THEN
		RAISE EXCEPTION 'tbl must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Pass the table, e.g. ''shop.payments''.';
	END IF;
	SELECT c.relkind INTO kind FROM pg_class c WHERE c.oid = tbl;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation with OID % does not exist', tbl::oid USING ERRCODE = 'undefined_table',
			HINT = 'Pass an existing table, e.g. ''shop.payments''; a regclass value outlives the table it named.';
	END IF;
	IF kind NOT IN ('r', 'p') THEN
		RAISE EXCEPTION '"%" is not a table', tbl USING ERRCODE = 'wrong_object_type',
			HINT = 'Only tables and partitioned tables can be audited.';
	END IF;
	IF tbl = 'steward.audit_log'::regclass THEN
		RAISE EXCEPTION 'steward.audit_log cannot be audited' USING ERRCODE = 'wrong_object_type',
			DETAIL = 'It is where audit rows are written; nobody but its owner can change it.',
			HINT = 'Audit the tables whose changes you want recorded.';
	END IF;
	SELECT i.inhparent, g.tgargs,
		   EXISTS (SELECT 1 FROM pg_trigger x WHERE x.tgrelid = i.inhparent
					  AND x.tgname = 'steward_audit_truncate' AND x.tgenabled = 'A')
	  INTO parent, parent_args, parent_on_replica
	  FROM pg_inherits i
	  JOIN pg_class c ON c.oid = i.inhrelid AND c.relispartition
	  JOIN pg_trigger g ON g.tgrelid = i.inhparent AND g.tgname = 'steward_audit_insert'
	 WHERE i.inhrelid = tbl;
END
$$;
COMMENT ON FUNCTION steward.audit_relation(regclass) IS
	'Used by enable_audit and disable_audit: checks the table and finds its audited parent';

-- Every trigger enable_audit may attach to a table, which enable_audit
-- and disable_audit drop: the statement-level ones, and the row-level
-- ones of on_replica.
CREATE FUNCTION steward.audit_trigger_names() RETURNS text[]
	LANGUAGE sql IMMUTABLE
	AS $$
	SELECT ARRAY['steward_audit_insert', 'steward_audit_update', 'steward_audit_delete',
				 'steward_audit_truncate', 'steward_audit_before_truncate',
				 'steward_audit_replica_insert', 'steward_audit_replica_update',
				 'steward_audit_replica_delete']
	$$;
COMMENT ON FUNCTION steward.audit_trigger_names() IS
	'Names of the triggers steward.enable_audit() attaches (used by enable_audit and disable_audit)';

CREATE FUNCTION steward.disable_audit(tbl regclass) RETURNS boolean
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	found boolean := false;
	rel record;
	r regclass;
	t text;
BEGIN
	PERFORM steward.require_writable('steward.disable_audit()');
	rel := steward.audit_relation(tbl);
	IF rel.parent IS NOT NULL THEN
		RAISE EXCEPTION 'cannot disable auditing of partition % alone', tbl
			USING ERRCODE = 'object_not_in_prerequisite_state',
			DETAIL = format('Its parent %s is audited, and so are direct writes to the parent''s partitions.', rel.parent),
			HINT = format('Disable auditing of %s, or detach the partition first.', rel.parent);
	END IF;
	FOR r IN SELECT tbl UNION ALL
			 SELECT p.relid FROM pg_partition_tree(tbl) p WHERE p.level > 0 LOOP
		FOREACH t IN ARRAY steward.audit_trigger_names() LOOP
			IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = r AND tgname = t) THEN
				EXECUTE format('DROP TRIGGER %I ON %s', t, r);
				found := true;
			END IF;
		END LOOP;
	END LOOP;
	RETURN found;
END
$$;
COMMENT ON FUNCTION steward.disable_audit(regclass) IS
	'Remove the audit triggers of a table and of its partitions; true if it was audited. Needs the right to drop triggers on them.';

-- on_replica: also record changes made with session_replication_role =
-- replica, which is how logical replication's apply workers run.  Apply
-- fires row-level triggers only (and TRUNCATE's statement-level ones), so
-- a table audited on_replica gets, besides the statement-level triggers,
-- row-level ones that fire only in replica mode (ENABLE REPLICA), and its
-- TRUNCATE triggers fire in both modes (ENABLE ALWAYS).  A change is thus
-- recorded once in either mode.  Partitioned tables get only the
-- TRUNCATE part: apply writes to leaf partitions, which get the rest.
-- touch_updated is left alone: a replicated row keeps the updated value
-- it had on the publisher.
CREATE FUNCTION steward.enable_audit(tbl regclass, exclude_columns text[] DEFAULT '{}',
									 mode text DEFAULT 'full', on_replica boolean DEFAULT false)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	rel record;
	args text[];
	arglist text;
	missing text;
	r regclass;
	in_tree boolean;
	kind "char";
	t text;
BEGIN
	PERFORM steward.require_writable('steward.enable_audit()');
	rel := steward.audit_relation(tbl);
	IF mode IS NULL OR mode NOT IN ('full', 'diff') THEN
		RAISE EXCEPTION 'invalid audit mode "%"', mode USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use full (whole rows) or diff (changed columns only).';
	END IF;
	IF on_replica IS NULL THEN
		RAISE EXCEPTION 'on_replica must not be NULL' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Pass true to also record rows applied by logical replication (session_replication_role = replica), false (the default) to record only the changes made on this server.';
	END IF;
	SELECT string_agg(c, ', ') INTO missing FROM unnest(coalesce(exclude_columns, '{}')) AS c
	 WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = c
						  AND a.attnum > 0 AND NOT a.attisdropped);
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'table % has no column %', tbl, missing USING ERRCODE = 'undefined_column',
			HINT = 'exclude_columns lists columns of the table.';
	END IF;
	-- the trigger arguments: the mode, then the excluded columns in order
	args := ARRAY[mode] || ARRAY(SELECT c FROM unnest(exclude_columns) AS c WHERE c IS NOT NULL ORDER BY c);
	IF rel.parent IS NOT NULL AND (rel.parent_on_replica IS DISTINCT FROM on_replica OR rel.parent_args IS DISTINCT FROM
		(SELECT string_agg(convert_to(a, getdatabaseencoding()) || decode('00', 'hex'), ''::bytea ORDER BY n)
		   FROM unnest(args) WITH ORDINALITY AS u(a, n))) THEN
		RAISE EXCEPTION 'partition % is audited with its parent %', tbl, rel.parent
			USING ERRCODE = 'object_not_in_prerequisite_state',
			DETAIL = 'Writes to a partition are logged under its audited parent, with the parent''s exclude_columns, mode and on_replica.',
			HINT = format('Change them for the whole table with steward.enable_audit(%L, ...), or detach the partition first.',
						  rel.parent::text);
	END IF;
	arglist := (SELECT string_agg(quote_literal(a), ', ' ORDER BY n) FROM unnest(args) WITH ORDINALITY AS u(a, n));
	-- the table and every partition below it: statement triggers fire only
	-- on the table a statement names (foreign partitions cannot have them)
	FOR r, in_tree, kind IN
		SELECT c.oid, c.relkind = 'p' OR c.relispartition, c.relkind FROM pg_class c WHERE c.oid = tbl
		UNION ALL
		SELECT p.relid, true, c.relkind FROM pg_partition_tree(tbl) p JOIN pg_class c ON c.oid = p.relid
		 WHERE p.level > 0 AND c.relkind IN ('r', 'p') LOOP
		FOREACH t IN ARRAY steward.audit_trigger_names() LOOP
			IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = r AND tgname = t) THEN
				EXECUTE format('DROP TRIGGER %I ON %s', t, r);
			END IF;
		END LOOP;
		EXECUTE format('CREATE TRIGGER steward_audit_insert AFTER INSERT ON %s '
					   'REFERENCING NEW TABLE AS steward_new FOR EACH STATEMENT '
					   'EXECUTE FUNCTION steward.audit_trigger(%s)', r, arglist);
		EXECUTE format('CREATE TRIGGER steward_audit_update AFTER UPDATE ON %s '
					   'REFERENCING OLD TABLE AS steward_old NEW TABLE AS steward_new FOR EACH STATEMENT '
					   'EXECUTE FUNCTION steward.audit_trigger(%s)', r, arglist);
		EXECUTE format('CREATE TRIGGER steward_audit_delete AFTER DELETE ON %s '
					   'REFERENCING OLD TABLE AS steward_old FOR EACH STATEMENT '
					   'EXECUTE FUNCTION steward.audit_trigger(%s)', r, arglist);
		EXECUTE format('CREATE TRIGGER steward_audit_truncate AFTER TRUNCATE ON %s '
					   'FOR EACH STATEMENT EXECUTE FUNCTION steward.audit_trigger(%s)', r, arglist);
		-- in a partition tree: notes the TRUNCATE of a table, which covers its
		-- partitions' (not elsewhere: every trigger costs every statement)
		IF in_tree THEN
			EXECUTE format('CREATE TRIGGER steward_audit_before_truncate BEFORE TRUNCATE ON %s '
						   'FOR EACH STATEMENT EXECUTE FUNCTION steward.audit_trigger(%s)', r, arglist);
		END IF;
		IF on_replica THEN
			PERFORM steward.audit_on_replica(r, kind = 'r', in_tree, arglist);
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION steward.enable_audit(regclass, text[], text, boolean) IS
	'Record INSERT, UPDATE, DELETE and TRUNCATE of a table and of its partitions (also ones added later) in steward.audit_log (idempotent); with on_replica => true also those applied by logical replication. Needs the right to create triggers on them (on_replica: their ownership).';

-- enable_audit's step for on_replica, on one table of the tree: the
-- row-level triggers that fire only in replica mode (on tables with
-- storage), and TRUNCATE triggers that fire in both modes.
CREATE FUNCTION steward.audit_on_replica(r regclass, row_triggers boolean, in_tree boolean,
										 arglist text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	alter_cmds text[] := ARRAY['ENABLE ALWAYS TRIGGER steward_audit_truncate'];
	op text;
BEGIN
	IF NOT pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = r), 'USAGE') THEN
		RAISE EXCEPTION 'must be owner of table % to audit it on_replica', r
			USING ERRCODE = 'insufficient_privilege',
			DETAIL = 'on_replica changes when the table''s triggers fire (ALTER TABLE ... ENABLE REPLICA / ALWAYS TRIGGER).',
			HINT = 'Run it as the table''s owner or a member of the owning role.';
	END IF;
	IF in_tree THEN
		alter_cmds := alter_cmds || 'ENABLE ALWAYS TRIGGER steward_audit_before_truncate'::text;
	END IF;
	IF row_triggers THEN
		FOREACH op IN ARRAY ARRAY['insert', 'update', 'delete'] LOOP
			EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s FOR EACH ROW '
						   'EXECUTE FUNCTION steward.audit_trigger(%s)',
						   'steward_audit_replica_' || op, upper(op), r, arglist);
			alter_cmds := alter_cmds || format('ENABLE REPLICA TRIGGER %I', 'steward_audit_replica_' || op);
		END LOOP;
	END IF;
	EXECUTE format('ALTER TABLE %s %s', r, array_to_string(alter_cmds, ', '));
END
$$;
COMMENT ON FUNCTION steward.audit_on_replica(regclass, boolean, boolean, text) IS
	'Used by enable_audit(..., on_replica => true): the triggers that record changes made in replica mode';

CREATE FUNCTION steward.row_history(tbl regclass, row_id text) RETURNS SETOF steward.audit_log
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT * FROM steward.audit_log a WHERE a.relid = $1 AND a.row_id = $2 ORDER BY a.id
	$$;
COMMENT ON FUNCTION steward.row_history(regclass, text) IS
	'Audit rows of one row (by primary key text), oldest first; needs SELECT on steward.audit_log';

CREATE FUNCTION steward.purge_audit(older_than interval) RETURNS bigint
	LANGUAGE sql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT steward.require_writable('steward.purge_audit()');
	WITH d AS (DELETE FROM steward.audit_log WHERE at < now() - $1 RETURNING 1)
	SELECT count(*) FROM d
	$$;
COMMENT ON FUNCTION steward.purge_audit(interval) IS
	'Delete audit rows older than the interval; returns how many. Granted by the extension owner.';
REVOKE EXECUTE ON FUNCTION steward.purge_audit(interval) FROM PUBLIC;

/* ------------------------------------------------------------------------
 * Query metrics in shared memory (DESIGN.md section 5)
 * ------------------------------------------------------------------------ */

CREATE FUNCTION steward.query_metrics_fn(OUT datname text, OUT username text, OUT command text,
	OUT calls bigint, OUT errors bigint, OUT rows bigint, OUT total_ms double precision,
	OUT min_ms double precision, OUT max_ms double precision, OUT mean_ms double precision,
	OUT stddev_ms double precision, OUT p50_ms double precision, OUT p95_ms double precision,
	OUT p99_ms double precision)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'steward_query_metrics' LANGUAGE C VOLATILE;
CREATE VIEW steward.query_metrics AS SELECT * FROM steward.query_metrics_fn();
COMMENT ON VIEW steward.query_metrics IS 'Statements per database, user and command: calls, errors, rows, latency';

CREATE FUNCTION steward.table_metrics_fn(OUT datname text, OUT relid oid, OUT schema_name text,
	OUT table_name text, OUT command text, OUT calls bigint, OUT rows bigint, OUT total_ms double precision)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'steward_table_metrics' LANGUAGE C VOLATILE;
CREATE VIEW steward.table_metrics AS SELECT * FROM steward.table_metrics_fn();
COMMENT ON VIEW steward.table_metrics IS 'Which statements touch which tables (views resolved to their base tables)';

CREATE FUNCTION steward.latency_histogram_fn(OUT datname text, OUT command text,
	OUT le_ms double precision, OUT count bigint)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'steward_latency_histogram' LANGUAGE C VOLATILE;
CREATE VIEW steward.latency_histogram AS SELECT * FROM steward.latency_histogram_fn();
COMMENT ON VIEW steward.latency_histogram IS 'Statement latency in log2 buckets (le_ms = upper bound), per database and command';

CREATE FUNCTION steward.error_metrics_fn(OUT datname text, OUT sqlstate text, OUT count bigint,
	OUT last_at timestamptz, OUT last_message text)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'steward_error_metrics' LANGUAGE C VOLATILE;
CREATE VIEW steward.error_metrics AS SELECT * FROM steward.error_metrics_fn();
COMMENT ON VIEW steward.error_metrics IS 'Failed statements per database and SQLSTATE, parse and plan errors included';

CREATE FUNCTION steward.trace_fn(slow boolean, OUT at timestamptz, OUT pid integer, OUT datname text,
	OUT username text, OUT application_name text, OUT client_addr inet, OUT command text,
	OUT duration_ms double precision, OUT rows bigint, OUT query text, OUT sqlstate text,
	OUT queryid bigint, OUT message text)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'steward_trace' LANGUAGE C VOLATILE STRICT;
CREATE VIEW steward.slow_queries AS
	SELECT at, pid, datname, username, application_name, client_addr, command, duration_ms, rows,
		   query, sqlstate, queryid, message
	  FROM steward.trace_fn(true) ORDER BY at;
COMMENT ON VIEW steward.slow_queries IS 'The last 100 statements that ran at least steward.slow_query_ms, failed ones included';
CREATE VIEW steward.recent_queries AS
	SELECT at, pid, datname, username, application_name, client_addr, command, duration_ms, rows,
		   query, sqlstate, queryid, message
	  FROM steward.trace_fn(false) ORDER BY at;
COMMENT ON VIEW steward.recent_queries IS 'The last steward.trace_size statements of all backends; sqlstate and message set for failures';

CREATE FUNCTION steward.metrics_info(OUT since timestamptz, OUT tables_tracked integer,
	OUT tables_dropped bigint, OUT memory_bytes bigint, OUT backends integer, OUT max_tables integer,
	OUT trace_size integer, OUT max_query_length integer, OUT statements_traced bigint,
	OUT statements_dropped bigint, OUT statements_untraced bigint)
	RETURNS record AS 'MODULE_PATHNAME', 'steward_metrics_info' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.metrics_info() IS 'About the metrics: since when, tables tracked and dropped, shared memory used';
CREATE VIEW steward.metrics_info AS SELECT * FROM steward.metrics_info();
COMMENT ON VIEW steward.metrics_info IS 'About the metrics: since when, what is tracked, what did not fit, shared memory used';
-- Everyone may read the metrics; query text, error messages and client
-- addresses are hidden inside the functions from those not allowed to see
-- them.
GRANT SELECT ON steward.query_metrics, steward.table_metrics, steward.latency_histogram,
	steward.error_metrics, steward.slow_queries, steward.recent_queries, steward.metrics_info
	TO PUBLIC;

CREATE FUNCTION steward.reset_metrics() RETURNS void
	AS 'MODULE_PATHNAME', 'steward_reset_metrics' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.reset_metrics() IS 'Forget all query metrics. Not executable by PUBLIC.';
REVOKE EXECUTE ON FUNCTION steward.reset_metrics() FROM PUBLIC;

-- Prometheus text exposition of the metrics, from one collection of the
-- counters (src/metrics/prometheus.c).  Emits counters only, never query
-- text, messages or addresses.
CREATE FUNCTION steward.prometheus() RETURNS text
	AS 'MODULE_PATHNAME', 'steward_prometheus' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.prometheus() IS 'The metrics in Prometheus text exposition format';

/* ------------------------------------------------------------------------
 * The whole Citus cluster in one query (DESIGN.md section 7)
 * ------------------------------------------------------------------------ */

-- Every row of one of steward's views or tables on every node: in a Citus
-- database through Citus's run_command_on_all_nodes() (a connection per
-- node, as the calling user, so each node applies its own privileges and
-- privacy rules), each node's rows as one json array; without Citus, this
-- server's rows as node 'local'.  A node that fails (pg_steward missing
-- there, no privilege) fails the call, naming the node.  Not a hot path.
CREATE FUNCTION steward.cluster_rows(rel regclass, OUT node text, OUT rows json)
	RETURNS SETOF record
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	q text := format('SELECT coalesce(json_agg(r), ''[]'') FROM %s r', rel);
	ok boolean;
	result text;
BEGIN
	IF rel IS NULL OR rel::text NOT LIKE 'steward.%' THEN
		RAISE EXCEPTION 'steward.cluster_rows() reads steward''s own views and tables only'
			USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Query steward.cluster_query_metrics or steward.cluster_audit_log.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
		node := 'local';
		EXECUTE q INTO rows;
		RETURN NEXT;
		RETURN;
	END IF;
	FOR node, ok, result IN EXECUTE
		'SELECT coalesce(n.nodename || '':'' || n.nodeport,
						 current_setting(''citus.local_hostname'') || '':'' || current_setting(''port'')),
				c.success, c.result
		   FROM pg_catalog.run_command_on_all_nodes($1) c
		   LEFT JOIN pg_catalog.pg_dist_node n ON n.nodeid = c.nodeid
		  ORDER BY 1' USING q LOOP
		IF NOT ok THEN
			RAISE EXCEPTION 'could not read % on node %', rel, node
				USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = result,
				HINT = 'Every node needs pg_steward (shared_preload_libraries and CREATE EXTENSION pg_steward), and you need the right to read it there.';
		END IF;
		rows := result::json;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION steward.cluster_rows(regclass) IS
	'Rows of a steward view or table on every node of a Citus cluster (this server''s alone without Citus), as json per node';

-- The views name their columns (not NULL::steward.audit_log): a view on a
-- table's row type would pin the table's columns.
CREATE VIEW steward.cluster_query_metrics AS
	SELECT c.node, m.*
	  FROM steward.cluster_rows('steward.query_metrics') c,
		   LATERAL json_to_recordset(c.rows) AS m(datname text, username text, command text,
			   calls bigint, errors bigint, rows bigint, total_ms double precision,
			   min_ms double precision, max_ms double precision, mean_ms double precision,
			   stddev_ms double precision, p50_ms double precision, p95_ms double precision,
			   p99_ms double precision);
COMMENT ON VIEW steward.cluster_query_metrics IS
	'steward.query_metrics of every node of a Citus cluster (node = host:port), of this server alone (node = local) without Citus';
GRANT SELECT ON steward.cluster_query_metrics TO PUBLIC;

CREATE VIEW steward.cluster_audit_log AS
	SELECT c.node, a.*
	  FROM steward.cluster_rows('steward.audit_log') c,
		   LATERAL json_to_recordset(c.rows) AS a(id bigint, at timestamptz, txid xid8, relid oid,
			   schema_name name, table_name name, op text, row_id text COLLATE "C", old_row jsonb,
			   new_row jsonb, changed text[], db_user name, "current_role" name,
			   application_name text, client_addr inet, module text, version text);
COMMENT ON VIEW steward.cluster_audit_log IS
	'steward.audit_log of every node of a Citus cluster (node = host:port; relid is that node''s OID of the table), of this server alone (node = local) without Citus';
REVOKE ALL ON steward.cluster_audit_log FROM PUBLIC;

-- Event triggers: one C dispatcher per event, shared by DDL capture and the
-- conventions.  They write steward's catalogs on behalf of whoever runs DDL,
-- but are not SECURITY DEFINER: the dispatcher first records the statement's
-- role and search path (names the user wrote are resolved as the statement
-- resolves them), then becomes the catalog owner with a pinned search_path
-- itself (src/common/ddl_events.c).
CREATE FUNCTION steward.on_ddl_command_start() RETURNS event_trigger
	AS 'MODULE_PATHNAME', 'steward_on_ddl_command_start'
	LANGUAGE C;
CREATE FUNCTION steward.on_ddl_command_end() RETURNS event_trigger
	AS 'MODULE_PATHNAME', 'steward_on_ddl_command_end'
	LANGUAGE C;
CREATE FUNCTION steward.on_sql_drop() RETURNS event_trigger
	AS 'MODULE_PATHNAME', 'steward_on_sql_drop'
	LANGUAGE C;
REVOKE EXECUTE ON FUNCTION steward.on_ddl_command_start(), steward.on_ddl_command_end(),
	steward.on_sql_drop() FROM PUBLIC;

CREATE EVENT TRIGGER steward_ddl_command_start ON ddl_command_start
	EXECUTE FUNCTION steward.on_ddl_command_start();
CREATE EVENT TRIGGER steward_ddl_command_end ON ddl_command_end
	EXECUTE FUNCTION steward.on_ddl_command_end();
CREATE EVENT TRIGGER steward_sql_drop ON sql_drop
	EXECUTE FUNCTION steward.on_sql_drop();
