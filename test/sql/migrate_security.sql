-- Security: migration SQL runs as the caller, never elevated; the catalogs
-- are written only through steward's functions; mutating functions are not
-- executable by PUBLIC.
CREATE ROLE mig_owner LOGIN;
CREATE ROLE mig_nobody LOGIN;
CREATE ROLE mig_boss;
CREATE SCHEMA app AUTHORIZATION mig_owner;
CREATE TABLE public.secret (v text);
SELECT steward.define_module('app', 'app');

-- Without a grant a normal role cannot call the mutating functions ...
SET SESSION AUTHORIZATION mig_nobody;
SELECT steward.register('app', '1', 'SELECT 1');
SELECT * FROM steward.upgrade('app');
SELECT steward.migrate('app', '1', 'SELECT 1');
SELECT steward.define_module('x');
SELECT * FROM steward.plan('app');
SELECT steward.stamp('app', '1');
-- ... nor write or read the catalogs directly ...
INSERT INTO steward.migrations (module, version, rank) VALUES ('app', '1', 1);
DELETE FROM steward.migration_events;
UPDATE steward.modules SET schema_name = 'x';
SELECT count(*) FROM steward.migration_scripts;
-- ... but may read the metadata reports.
SELECT module, version, state FROM steward.status('app');
SELECT steward.current('app');
SELECT * FROM steward.validate('app');
RESET SESSION AUTHORIZATION;

-- What to grant a migration role: EXECUTE on the runner functions.
GRANT EXECUTE ON FUNCTION steward.register(text, text, text, text, text, text[], text, boolean),
  steward.upgrade(text, text, boolean), steward.downgrade(text, text),
  steward.migrate(text, text, text, text, text, boolean), steward.plan(text, text),
  steward.dry_run(text, text) TO mig_owner;

SET SESSION AUTHORIZATION mig_owner;
-- The migration runs as mig_owner: objects are owned by it ...
SELECT steward.migrate('app', '1', 'CREATE TABLE {{tables.things}} (id int); INSERT INTO {{tables.things}} VALUES (1)',
                       'DROP TABLE {{tables.things}}');
SELECT tableowner FROM pg_tables WHERE schemaname = 'app';
SELECT current_user, steward.current('app');
-- ... and it gets PostgreSQL's own permission error for what it may not do,
-- though steward's catalogs are written with the owner's rights.
SELECT steward.migrate('app', '2', 'INSERT INTO public.secret VALUES (''stolen'')');
SELECT steward.migrate('app', '2', 'UPDATE steward.migrations SET checksum = NULL');
-- (the detail differs between majors: only the message and SQLSTATE are shown)
DO $$
BEGIN
	PERFORM steward.migrate('app', '2', 'CREATE ROLE sneaky SUPERUSER');
EXCEPTION WHEN OTHERS THEN
	RAISE NOTICE '% (SQLSTATE %)', SQLERRM, SQLSTATE;
END
$$;
SELECT steward.migrate('app', '2', 'SET ROLE mig_boss');
-- still only version 1, and nothing of the failed ones stayed
SELECT module, version, state FROM steward.status('app');
RESET SESSION AUTHORIZATION;
SELECT count(*) AS secret_rows FROM public.secret;
SELECT version, applied_by FROM steward.migrations WHERE module = 'app';
SELECT version, event, by_user FROM steward.history WHERE module = 'app';

-- Inside the migration current_user is the caller, not steward's owner.
SET SESSION AUTHORIZATION mig_owner;
SELECT steward.migrate('app', '3', $$CREATE TABLE {{tables.who}} AS SELECT current_user AS u, session_user AS s$$);
SELECT u, s FROM app.who;
RESET SESSION AUTHORIZATION;

-- Cleanup for later tests
DELETE FROM steward.migration_events WHERE module = 'app';
DELETE FROM steward.migration_scripts WHERE module = 'app';
DELETE FROM steward.migrations WHERE module = 'app';
DELETE FROM steward.modules WHERE module = 'app';
DROP SCHEMA app CASCADE;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA steward FROM mig_owner;
DROP ROLE mig_owner;
DROP ROLE mig_nobody;
DROP ROLE mig_boss;
