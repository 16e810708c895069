# Dump and restore of a database whose schema pg_steward manages.
#
# Database src gets a rich schema through steward.upgrade: serial and
# identity columns, defaults, NOT NULL, CHECK / UNIQUE / FK constraints,
# expression and partial indexes, a view, a materialized view, a plpgsql
# trigger function and its trigger, a sequence, an enum, a domain with a
# check, a partitioned table with partitions, a row-level security policy
# and a rule (the last two are kinds check() follows through ddl_log, not
# through fingerprints).  check('app') must be empty there.
#
# pg_dump carries CREATE EXTENSION pg_steward and the data of the
# extension's configuration tables (pg_extension_config_dump): the
# migration catalogs, steward.ddl_log and steward.fingerprints.  The
# restore's own DDL fires the extension's event triggers.  Fingerprints are
# built from names and deparsed SQL, never OIDs, so a restored database must
# look exactly like its source to check():
#
#   dst   plain dump restored by psql, settings as they come
#   dst2  custom-format dump restored by pg_restore, settings as they come
#   dst3  plain dump restored with steward.ddl_capture = off (the setting's
#         own description recommends it for restores)
#
# In each: the restore reports no error, check('app') is empty, the
# catalogs (migrations, events, fingerprints, the migrations' ddl_log rows)
# came along unchanged, and the live fingerprints equal src's.  After the
# restore the database must stay usable: plain DDL works, and a migration
# applied there (stored OIDs are src's: the rows carry src's dbid, so they
# match by name) leaves check() clean; src runs the same migration as the
# control.  DDL outside migrations in dst is reported as drift of that
# table, naming the column.  Last, a clean restart keeps ddl_log and
# fingerprints.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use StewardNode;

my $node = steward_node('dump_restore');
$node->start;
my $tmp = PostgreSQL::Test::Utils::tempdir;

# query(DB, SQL): stdout of psql, or "ERROR: <stderr>" so that a failing
# statement fails the assertion that uses it instead of ending the test.
sub query
{
	my ($db, $sql) = @_;
	my ($out, $err) = ('', '');
	my $ret = $node->psql($db, $sql, stdout => \$out, stderr => \$err);
	return $ret == 0 ? $out : "ERROR: $err";
}

# check_rows(DB): check('app') as lines "type | identity | change | detail".
sub check_rows
{
	my ($db) = @_;
	my $out = query($db,
		"SELECT concat_ws(' | ', object_type, object_identity, change, detail)
		   FROM steward.check('app')");
	return [ grep { $_ ne '' } split /\n/, $out ];
}

# lines(DB, SQL): the rows of a one-column query, as a list.
sub lines
{
	my ($db, $sql) = @_;
	return [ grep { $_ ne '' } split /\n/, query($db, $sql) ];
}

# run_cmd(CMD...): run a client program; returns (exit code, stderr).
sub run_cmd
{
	my @cmd = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($? >> 8, $err);
}

# errors(STDERR): the error lines of a restore's stderr, one string.
sub errors
{
	my ($err) = @_;
	return join "\n", grep { /ERROR|error:/ } split /\n/, $err;
}

# ---------------------------------------------------------------------------
# src: the schema, built by migrations
# ---------------------------------------------------------------------------

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION pg_steward');
$node->safe_psql(
	'src', q{
SELECT steward.define_module('app', 'app', 'dump and restore');

SELECT steward.register('app', '1', $m$
CREATE SCHEMA {{schema}};
CREATE TYPE {{schema}}.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN {{schema}}.email AS text CHECK (VALUE ~ '^[^@]+@[^@]+$');
CREATE SEQUENCE {{schema}}.invoice_no START 1000 INCREMENT 10 CACHE 5;
CREATE TABLE {{tables.customers}} (
	id serial PRIMARY KEY,
	email {{schema}}.email NOT NULL UNIQUE,
	name text NOT NULL DEFAULT 'anonymous',
	mood {{schema}}.mood DEFAULT 'ok',
	created timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT ck_customers_name CHECK (length(name) > 0)
);
$m$, 'DROP SCHEMA {{schema}} CASCADE', 'types, sequence, customers');

SELECT steward.register('app', '2', $m$
CREATE TABLE {{tables.orders}} (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer_id int NOT NULL REFERENCES {{tables.customers}} ON DELETE CASCADE,
	invoice bigint NOT NULL DEFAULT nextval('app.invoice_no'),
	total numeric(12,2) NOT NULL CHECK (total >= 0),
	status text NOT NULL DEFAULT 'new',
	tags text[] NOT NULL DEFAULT '{}',
	updated timestamptz,
	UNIQUE (customer_id, invoice)
);
CREATE INDEX ix_orders_lower_status ON {{tables.orders}} (lower(status));
CREATE INDEX ix_orders_open ON {{tables.orders}} (customer_id) WHERE status <> 'done';
CREATE FUNCTION {{schema}}.touch() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
	NEW.updated := now();
	RETURN NEW;
END
$f$;
CREATE TRIGGER tg_orders_touch BEFORE UPDATE ON {{tables.orders}}
	FOR EACH ROW EXECUTE FUNCTION {{schema}}.touch();
$m$, NULL, 'orders, indexes, trigger');

SELECT steward.register('app', '3', $m$
CREATE VIEW {{schema}}.open_orders AS
	SELECT o.id, c.email, o.total
	  FROM {{tables.orders}} o JOIN {{tables.customers}} c ON c.id = o.customer_id
	 WHERE o.status <> 'done';
CREATE MATERIALIZED VIEW {{schema}}.revenue AS
	SELECT customer_id, sum(total) AS total FROM {{tables.orders}} GROUP BY customer_id;
CREATE UNIQUE INDEX ix_revenue_customer ON {{schema}}.revenue (customer_id);
CREATE TABLE {{tables.events}} (
	id bigint GENERATED BY DEFAULT AS IDENTITY,
	at timestamptz NOT NULL,
	kind text NOT NULL CHECK (kind <> ''),
	PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE {{schema}}.events_2024 PARTITION OF {{tables.events}}
	FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX ix_events_kind ON {{tables.events}} (kind);
$m$, NULL, 'views, partitioned events');

SELECT steward.register('app', '4', $m$
ALTER TABLE {{tables.customers}} ADD COLUMN phone varchar(20);
ALTER TABLE {{tables.orders}} ALTER COLUMN status SET DEFAULT 'open';
CREATE TABLE {{schema}}.events_2025 PARTITION OF {{tables.events}}
	FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO {{tables.customers}} (email, name) VALUES ('alice@example.com', 'alice');
INSERT INTO {{tables.orders}} (customer_id, total) VALUES (1, 9.50);
INSERT INTO {{tables.events}} (at, kind) VALUES ('2024-06-01', 'signup');
REFRESH MATERIALIZED VIEW {{schema}}.revenue;
$m$, NULL, 'more columns and a partition, data');

SELECT steward.register('app', '5', $m$
ALTER TABLE {{tables.orders}} ENABLE ROW LEVEL SECURITY;
CREATE POLICY p_orders_visible ON {{tables.orders}} USING (status <> 'hidden');
CREATE RULE r_customers_keep_root AS ON DELETE TO {{tables.customers}}
	WHERE old.name = 'root' DO INSTEAD NOTHING;
$m$, NULL, 'policy and rule');
});

is($node->safe_psql('src', "SELECT string_agg(version, ',' ORDER BY version) FROM steward.upgrade('app')"),
	'1,2,3,4,5', 'src: upgrade applies the five migrations');
is_deeply(check_rows('src'), [], 'src: check(app) is empty after the migrations');
cmp_ok($node->safe_psql('src', "SELECT count(*) FROM steward.fingerprints WHERE schema_name = 'app'"),
	'>=', 30, 'src: the migrations stored fingerprints of the schema');

# What the restored databases must equal.
my %src_count;
for my $t (qw(modules migration_scripts migrations migration_events fingerprints))
{
	$src_count{$t} = $node->safe_psql('src', "SELECT count(*) FROM steward.$t");
}
$src_count{ddl_log_app} =
  $node->safe_psql('src', "SELECT count(*) FROM steward.ddl_log WHERE module = 'app'");
my $stored_sql =
  "SELECT object_type || ' ' || object_identity || ' ' || hash FROM steward.fingerprints
	WHERE schema_name = 'app' ORDER BY 1";
my $live_sql =
  "SELECT object_type || ' ' || object_identity || ' ' || hash FROM steward.object_fingerprints('app')
	ORDER BY 1";
my $src_stored = lines('src', $stored_sql);
my $src_live   = lines('src', $live_sql);

# ---------------------------------------------------------------------------
# Dumps and restores
# ---------------------------------------------------------------------------

$node->command_ok([ 'pg_dump', '-d', $node->connstr('src'), '-f', "$tmp/src.sql" ],
	'pg_dump, plain format');
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', "$tmp/src.dump" ],
	'pg_dump, custom format');

my $capture_off = " options='-c steward.ddl_capture=off'";
my %restore = (
	dst  => [ 'psql', '-X', '-q', '-d', $node->connstr('dst'), '-f', "$tmp/src.sql" ],
	dst2 => [ 'pg_restore', '-d', $node->connstr('dst2'), "$tmp/src.dump" ],
	dst3 => [ 'psql', '-X', '-q', '-d', $node->connstr('dst3') . $capture_off, '-f', "$tmp/src.sql" ]);

for my $db (qw(dst dst2 dst3))
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	my ($ret, $err) = run_cmd(@{ $restore{$db} });
	is($ret, 0, "$db: $restore{$db}[0] exits 0");
	is(errors($err), '', "$db: the restore reports no error");

	is_deeply(check_rows($db), [], "$db: check(app) is empty after the restore");
	for my $t (sort keys %src_count)
	{
		my $sql = $t eq 'ddl_log_app'
		  ? "SELECT count(*) FROM steward.ddl_log WHERE module = 'app'"
		  : "SELECT count(*) FROM steward.$t";
		# ddl_log is not dumped (a restore's own DDL would collide with it):
		# the source's DDL history stays in the source database.
		is(query($db, $sql), $t eq 'ddl_log_app' ? 0 : $src_count{$t},
			$t eq 'ddl_log_app'
			? "$db: ddl_log is not carried over by the dump"
			: "$db: steward.$t has src's row count");
	}
	is_deeply(lines($db, $stored_sql), $src_stored, "$db: stored fingerprints equal src's");
	is_deeply(lines($db, $live_sql), $src_live,
		"$db: live fingerprints equal src's (names and deparsed SQL, no OIDs)");
	is(query($db, 'SELECT count(*) FROM app.orders'), '1', "$db: table data restored");
}

# ---------------------------------------------------------------------------
# After the restore
# ---------------------------------------------------------------------------

# Plain DDL outside any module still works (it writes steward.ddl_log).
for my $db (qw(dst dst2 dst3))
{
	is(query($db, 'CREATE TABLE public.after_restore (i int); SELECT 1'), '1',
		"$db: DDL works after the restore");
}

# A migration in the restored database: stored rows carry src's dbid, so
# the renamed index and constraint must be matched by name, not by OID.
# src runs the same migration as the control.
my $m6 = q{SELECT steward.migrate('app', '6', $m$
ALTER TABLE {{tables.orders}} ADD COLUMN note text;
ALTER INDEX {{schema}}.ix_orders_open RENAME TO ix_orders_pending;
ALTER TABLE {{tables.customers}} RENAME CONSTRAINT ck_customers_name TO ck_customers_name_nonempty;
CREATE INDEX ix_customers_created ON {{tables.customers}} (created);
$m$)};
for my $db (qw(src dst dst3))
{
	is(query($db, $m6), 'applied', "$db: steward.migrate applies migration 6");
	is_deeply(check_rows($db), [], "$db: check(app) is empty after migration 6");
	is(query($db, "SELECT count(*) FROM steward.fingerprints WHERE object_identity LIKE '%ix_orders_open%'"),
		'0', "$db: the old name of the renamed index has no fingerprint left");
}

# DDL outside migrations is drift of the table it changed, naming the column.
my $before = check_rows('dst');
query('dst', 'ALTER TABLE app.customers ADD COLUMN nickname text');
my @new = grep { my $r = $_; !grep { $_ eq $r } @$before } @{ check_rows('dst') };
is(scalar(@new), 1, 'dst: one new drift row after ALTER TABLE outside migrations')
  or diag(join "\n", @new);
like($new[0] // '', qr/^table \| app\.customers \| altered \| .*column nickname added/,
	'dst: the drift is the table, altered, naming the column');

# ---------------------------------------------------------------------------
# A clean restart keeps the log and the fingerprints
# ---------------------------------------------------------------------------

my $log_before = query('src', 'SELECT count(*) FROM steward.ddl_log');
my $fp_before  = lines('src', $stored_sql);
$node->restart;
is(query('src', 'SELECT count(*) FROM steward.ddl_log'), $log_before, 'restart keeps steward.ddl_log');
is_deeply(lines('src', $stored_sql), $fp_before, 'restart keeps steward.fingerprints');
is_deeply(check_rows('src'), [], 'src: check(app) is still empty after the restart');

$node->stop;

done_testing();
