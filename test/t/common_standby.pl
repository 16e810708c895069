# pg_steward on a streaming hot standby, then after its promotion
# (DESIGN.md section 7).
#
# A primary and a streaming standby on loopback, pg_steward preloaded on
# both.  On the standby:
# (a) what the primary wrote is readable and the same as on the primary:
#     the migration catalogs (status, current, history, validate, plan),
#     the DDL log and check()'s drift, the audit log and row_history, lint;
# (b) the metrics views and prometheus() work and count the standby's own
#     statements only (nothing replayed from the primary);
# (c) every steward function that writes refuses with PostgreSQL's
#     read-only error (SQLSTATE 25006), naming itself, and the standby goes
#     on; so do DDL and writes of the user's own (PostgreSQL's errors,
#     through steward's hooks);
# After promotion everything works: a migration, audited writes (the log's
# ids go on without a clash), capture, reset_metrics, manage_schema,
# enable_audit.  No server log shows an assertion failure or a crash.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use StewardNode;

my $primary = steward_node('primary', allows_streaming => 1);
$primary->start;
# steward in "postgres" too: the metrics are read from there, so that
# reading them does not change the counters of "app"
$primary->safe_psql('postgres', 'CREATE EXTENSION pg_steward');
$primary->safe_psql('postgres', 'CREATE DATABASE app');
$primary->safe_psql(
	'app', q{
CREATE EXTENSION pg_steward;
CREATE ROLE reader LOGIN;
CREATE ROLE writer LOGIN;
CREATE SCHEMA shop;
GRANT USAGE ON SCHEMA shop TO reader, writer;
SELECT steward.manage_schema('shop', table_prefix => 'aux_');
SELECT steward.define_module('shop', 'shop');
});

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# Everything below is written on the primary after the base backup, so the
# standby sees it through streaming replication.
$primary->safe_psql(
	'app', q{
SELECT steward.migrate('shop', '1',
	'CREATE TABLE {{schema}}.aux_products (name text NOT NULL UNIQUE, price numeric)',
	'DROP TABLE {{schema}}.aux_products', 'products');
GRANT SELECT ON shop.aux_products TO reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON shop.aux_products TO writer;
SELECT steward.register('shop', '2', 'ALTER TABLE {{schema}}.aux_products ADD COLUMN stock integer NOT NULL DEFAULT 0');
-- DDL outside migrations: drift that check() reports
CREATE INDEX ix_aux_products_price ON shop.aux_products (price);
});
# 3 INSERTs, an UPDATE of 2 rows, a DELETE: 6 audit rows
$primary->safe_psql(
	'app', q{
INSERT INTO shop.aux_products (name, price) VALUES ('apple', 1);
INSERT INTO shop.aux_products (name, price) VALUES ('pear', 2);
INSERT INTO shop.aux_products (name, price) VALUES ('plum', 3);
UPDATE shop.aux_products SET price = price * 10 WHERE name <> 'apple';
DELETE FROM shop.aux_products WHERE name = 'apple';
},
	extra_params => [ '-U', 'writer' ]);
$primary->wait_for_catchup($standby, 'replay');

is($standby->safe_psql('app', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

# ---------------------------------------------------------------------------
# (a) what the primary wrote reads the same on the standby
# ---------------------------------------------------------------------------
my %readable = (
	'status' => q{SELECT module, version, state FROM steward.status('shop')},
	'current' => q{SELECT steward.current('shop')},
	'migrations' =>
	  q{SELECT module, version, description, checksum, applied_by FROM steward.migrations ORDER BY version},
	'history' => q{SELECT id, module, version, event, by_user FROM steward.history ORDER BY id},
	'validate' => q{SELECT * FROM steward.validate('shop')},
	'plan' => q{SELECT step, version, direction, sql FROM steward.plan('shop')},
	'ddl_log' =>
	  q{SELECT id, command_tag, object_type, object_identity, module, version FROM steward.ddl_log ORDER BY id},
	'check' => q{SELECT module, object_type, object_identity, change FROM steward.check('shop') ORDER BY 3},
	'audit_log' =>
	  q{SELECT id, table_name, op, row_id, old_row, new_row, changed, db_user FROM steward.audit_log ORDER BY id},
	'row_history' => q{SELECT id, op FROM steward.row_history('shop.aux_products', (
		SELECT id::text FROM shop.aux_products WHERE name = 'pear'))},
	'lint' => q{SELECT object_identity, rule FROM steward.lint('shop') ORDER BY 1, 2},
	'schema_policies' => q{SELECT schema_name, table_prefix, audit FROM steward.schema_policies},);
for my $what (sort keys %readable)
{
	my $on_primary = $primary->safe_psql('app', $readable{$what});
	my ($ret, $on_standby, $err) = $standby->psql('app', $readable{$what});
	is($ret, 0, "standby: $what can be read") or diag($err);
	is($on_standby, $on_primary, "standby: $what is the same as on the primary");
}
# and what it reads is what the primary did
is($standby->safe_psql('app', q{SELECT string_agg(version || ':' || state, ' ') FROM steward.status('shop')}),
	'1:applied 2:pending', 'standby: migration 1 applied, 2 pending');
is( $standby->safe_psql(
		'app', q{SELECT string_agg(op, ' ' ORDER BY id) FROM steward.audit_log WHERE table_name = 'aux_products'}),
	'INSERT INSERT INSERT UPDATE UPDATE DELETE',
	'standby: the 6 audit rows of the primary\'s writes');
is( $standby->safe_psql(
		'app',
		q{SELECT count(*) FROM steward.ddl_log WHERE module = 'shop' AND version = '1' AND command_tag = 'CREATE TABLE'}),
	'1',
	'standby: the DDL log has the migration\'s CREATE TABLE');
is( $standby->safe_psql(
		'app', q{SELECT object_identity || ' ' || change FROM steward.check('shop') WHERE object_type = 'index'}),
	'shop.ix_aux_products_price added',
	'standby: check() reports the index made outside migrations');

# ---------------------------------------------------------------------------
# (b) metrics on the standby: its own statements, and nothing replayed
# ---------------------------------------------------------------------------
my $products_oid = $standby->safe_psql('app', q{SELECT 'shop.aux_products'::regclass::oid});
# What (a) ran on the table and in "app" counts too: count from here.
my $table_calls_sql = qq{SELECT coalesce(sum(calls), 0) FROM steward.table_metrics
						  WHERE datname = 'app' AND relid = $products_oid AND command = 'SELECT'};
my $histogram_sql = q{SELECT coalesce(sum(count), 0) FROM steward.latency_histogram
					   WHERE datname = 'app' AND command = 'SELECT'};
my $table_calls = $standby->safe_psql('postgres', $table_calls_sql);
my $histogram   = $standby->safe_psql('postgres', $histogram_sql);
$standby->safe_psql('app', "SELECT count(*) FROM shop.aux_products;\n" x 4, extra_params => [ '-U', 'reader' ]);
is( $standby->safe_psql(
		'postgres',
		q{SELECT calls || '|' || errors || '|' || rows FROM steward.query_metrics
		   WHERE datname = 'app' AND username = 'reader' AND command = 'SELECT'}),
	'4|0|4',
	'standby: query_metrics counts the standby\'s 4 SELECTs');
is($standby->safe_psql('postgres', $table_calls_sql) - $table_calls,
	4, 'standby: table_metrics counts them on the table');
is($standby->safe_psql('postgres', $histogram_sql) - $histogram,
	4, 'standby: latency_histogram counts them');
is( $standby->safe_psql(
		'postgres', q{SELECT count(*) FROM steward.query_metrics WHERE username = 'writer'}),
	'0',
	'standby: the primary\'s writes, replayed, are not counted');
is( $primary->safe_psql(
		'postgres',
		q{SELECT calls FROM steward.query_metrics WHERE datname = 'app' AND username = 'writer' AND command = 'INSERT'}),
	'3',
	'primary: counts its own 3 INSERTs');
is( $primary->safe_psql(
		'postgres', q{SELECT count(*) FROM steward.query_metrics WHERE username = 'reader'}),
	'0',
	'primary: the standby\'s SELECTs are not counted there');
like(
	$standby->safe_psql('postgres', 'SELECT steward.prometheus()'),
	qr/^steward_statements_total\{datname="app",username="reader",command="SELECT"\} 4$/m,
	'standby: prometheus() shows the 4 SELECTs');
is( $standby->safe_psql(
		'postgres',
		q{SELECT count(*) FROM steward.recent_queries
		   WHERE datname = 'app' AND username = 'reader' AND query LIKE 'SELECT count(*) FROM shop.aux_products%'}),
	'4',
	'standby: recent_queries has them');
is($standby->safe_psql('postgres', 'SELECT tables_tracked > 0 AND memory_bytes > 0 FROM steward.metrics_info'),
	't', 'standby: metrics_info works');
# a failure on the standby (at plan time: no SELECT call) is counted by
# SQLSTATE
$standby->psql('app', 'SELECT 1 / 0', extra_params => [ '-U', 'reader' ]);
is( $standby->safe_psql(
		'postgres', q{SELECT count FROM steward.error_metrics WHERE datname = 'app' AND sqlstate = '22012'}),
	'1',
	'standby: error_metrics counts its own failure');

# ---------------------------------------------------------------------------
# (c) every steward function that writes refuses with 25006
# ---------------------------------------------------------------------------
my @writers = (
	[ 'steward.define_module()', q{SELECT steward.define_module('other', 'public')} ],
	[ 'steward.register()',      q{SELECT steward.register('shop', '3', 'SELECT 1')} ],
	[ 'steward.upgrade()',       q{SELECT * FROM steward.upgrade('shop')} ],
	[ 'steward.upgrade()',       q{SELECT * FROM steward.upgrade('no_such_module', 'head')} ],
	[ 'steward.downgrade()',     q{SELECT * FROM steward.downgrade('shop')} ],
	[ 'steward.migrate()',       q{SELECT steward.migrate('shop', '3', 'SELECT 1')} ],
	[ 'steward.stamp()',         q{SELECT steward.stamp('shop', '2')} ],
	[ 'steward.repair()',        q{SELECT steward.repair('shop', '1', 'reason')} ],
	[ 'steward.dry_run()',       q{SELECT * FROM steward.dry_run('shop')} ],
	[ 'steward.capture()',       q{SELECT steward.capture('shop', '3')} ],
	[ 'steward.manage_schema()', q{SELECT steward.manage_schema('public')} ],
	[ 'steward.unmanage_schema()', q{SELECT steward.unmanage_schema('shop')} ],
	[ 'steward.enable_audit()',    q{SELECT steward.enable_audit('shop.aux_products')} ],
	[
		'steward.enable_audit()',
		q{SELECT steward.enable_audit('shop.aux_products', on_replica => true)}
	],
	[ 'steward.disable_audit()', q{SELECT steward.disable_audit('shop.aux_products')} ],
	[ 'steward.purge_audit()',   q{SELECT steward.purge_audit('0 seconds')} ],
	[
		'steward.register_set()',
		q{SELECT * FROM steward.register_set('shop', '[{"version": "3", "up_sql": "SELECT 1"}]')}
	],
	[ 'steward.unregister()',  q{SELECT steward.unregister('shop', '2')} ],
	[ 'steward.begin_step()',  q{SELECT * FROM steward.begin_step('shop', '2')} ],
	[ 'steward.record_step()', q{SELECT steward.record_step('shop', '2', 'up', 1)} ],
	[ 'steward.deploy()',      q{CALL steward.deploy('shop')} ],);
for my $w (@writers)
{
	my ($function, $sql) = @$w;
	my ($ret, $out, $err) = $standby->psql('app', $sql, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	isnt($ret, 0, "standby: $sql fails");
	like(
		$err,
		qr/^(?:psql:<stdin>:1: )?ERROR:  25006: cannot execute \Q$function\E in a read-only transaction\nDETAIL:  This server is a hot standby/m,
		"standby: $sql refuses with 25006 naming $function");
}
my ($ret, $out, $err) =
  $standby->psql('postgres', 'SELECT steward.reset_metrics()', extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like(
	$err,
	qr/^(?:psql:<stdin>:1: )?ERROR:  25006: cannot execute steward.reset_metrics\(\) during recovery\n/m,
	'standby: reset_metrics() refuses with 25006');
is( $standby->safe_psql(
		'postgres',
		q{SELECT (SELECT calls FROM steward.query_metrics
				   WHERE datname = 'app' AND username = 'reader' AND command = 'SELECT') || '|' ||
				 (SELECT count FROM steward.error_metrics WHERE datname = 'app' AND sqlstate = '22012')}),
	'4|1',
	'standby: the metrics were not reset');

# The user's own DDL and writes go through steward's hooks (injection,
# the rewrite guard, capture) to PostgreSQL's own refusal.
($ret, $out, $err) = $standby->psql('app', 'CREATE TABLE shop.aux_items (name text)',
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like(
	$err,
	qr/^(?:psql:<stdin>:1: )?ERROR:  25006: cannot execute CREATE TABLE in a read-only transaction$/m,
	'standby: CREATE TABLE in a managed schema gets PostgreSQL\'s read-only error');
($ret, $out, $err) = $standby->psql('app', q{INSERT INTO shop.aux_products (name) VALUES ('fig')},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like(
	$err,
	qr/^(?:psql:<stdin>:1: )?ERROR:  25006: cannot execute INSERT in a read-only transaction$/m,
	'standby: INSERT into an audited table gets PostgreSQL\'s read-only error');
# The pg_steward program against the standby: reading works, a deploy is
# refused with the same error and the program's "server refused" status.
sub steward_program
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_steward', '-h', $standby->host, '-p', $standby->port, '-d', 'app', @_ ],
		'<', \undef, '>', \$out, '2>', \$err, IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($? >> 8, $out, $err);
}
my ($rc, $stdout, $stderr) = steward_program('current', '-m', 'shop');
is("$rc|$stdout", "0|1\n", 'standby: pg_steward current works');
($rc, $stdout, $stderr) = steward_program('history', '-m', 'shop');
is($rc, 0, 'standby: pg_steward history works') or diag($stderr);
like($stdout, qr/\bapply\b/, 'standby: pg_steward history shows the apply event');
($rc, $stdout, $stderr) = steward_program('check', '-m', 'shop');
is($rc, 1, 'standby: pg_steward check works, and finds the drift (exit status 1)') or diag($stderr);
like($stdout, qr/ix_aux_products_price/, 'standby: pg_steward check names the index');
my $dir = PostgreSQL::Test::Utils::tempdir();
PostgreSQL::Test::Utils::append_to_file("$dir/3_more.sql", "SELECT 1;\n");
($rc, $stdout, $stderr) = steward_program('upgrade', '-m', 'shop', '--dir', $dir);
is($rc, 5, 'standby: pg_steward upgrade exits with 5 (the server refused)');
like($stderr, qr/cannot execute steward\.register(?:_set)?\(\) in a read-only transaction/,
	'standby: pg_steward upgrade shows the read-only error') or diag($stderr);

# Reading functions keep working after all those errors.
is($standby->safe_psql('app', q{SELECT count(*) FROM steward.audit_log}), '6', 'standby: still 6 audit rows');
is($standby->safe_psql('app', q{SELECT steward.current('shop')}), '1', 'standby: still at version 1');

# ---------------------------------------------------------------------------
# after promotion everything works
# ---------------------------------------------------------------------------
$primary->stop;
$standby->promote;
is($standby->safe_psql('app', 'SELECT pg_is_in_recovery()'), 'f', 'promoted: out of recovery');
my $max_audit_id = $standby->safe_psql('app', 'SELECT max(id) FROM steward.audit_log');

is( $standby->safe_psql(
		'app',
		q{SELECT string_agg(version, ' ') FROM steward.upgrade('shop')}),
	'2',
	'promoted: upgrade applies migration 2');
is( $standby->safe_psql(
		'app',
		q{SELECT steward.migrate('shop', '3', 'CREATE INDEX ix_aux_products_stock ON {{schema}}.aux_products (stock)',
			'DROP INDEX {{schema}}.ix_aux_products_stock')}),
	'applied',
	'promoted: migrate applies migration 3');
is( $standby->safe_psql(
		'app',
		q{SELECT count(*) FROM steward.ddl_log WHERE module = 'shop' AND version IN ('2', '3')}),
	'2',
	'promoted: the DDL log records both migrations');
$standby->safe_psql(
	'app', q{
INSERT INTO shop.aux_products (name, price, stock) VALUES ('fig', 5, 1);
INSERT INTO shop.aux_products (name, price, stock) VALUES ('kiwi', 6, 2);
UPDATE shop.aux_products SET stock = stock + 1 WHERE name = 'fig';
DELETE FROM shop.aux_products WHERE name = 'plum';
},
	extra_params => [ '-U', 'writer' ]);
is( $standby->safe_psql(
		'app',
		qq{SELECT string_agg(op || ':' || coalesce(new_row->>'name', old_row->>'name'), ' ' ORDER BY id)
		     FROM steward.audit_log WHERE id > $max_audit_id}),
	'INSERT:fig INSERT:kiwi UPDATE:fig DELETE:plum',
	'promoted: audited writes are logged, after the replicated rows');
is($standby->safe_psql('app', 'SELECT count(*) FROM steward.audit_log'), '10', 'promoted: 10 audit rows in all');
$standby->safe_psql('app', 'CREATE INDEX ix_aux_products_name_stock ON shop.aux_products (name, stock)');
is( $standby->safe_psql('app', q{SELECT steward.capture('shop', '4', 'the name and stock index')}),
	'CREATE INDEX ix_aux_products_name_stock ON shop.aux_products (name, stock);',
	'promoted: capture turns the index made outside migrations into migration 4');
is($standby->safe_psql('app', q{SELECT object_identity || ' ' || change FROM steward.check('shop')}),
	'', 'promoted: check is clean');
is($standby->safe_psql('app', q{SELECT string_agg(version || ':' || state, ' ') FROM steward.status('shop')}),
	'1:applied 2:applied 3:applied 4:baseline', 'promoted: status');
$standby->safe_psql(
	'app', q{
CREATE SCHEMA crm;
SELECT steward.manage_schema('crm', table_prefix => 'crm_');
CREATE TABLE crm.crm_contacts (email text);
SELECT steward.enable_audit('crm.crm_contacts', on_replica => true);
INSERT INTO crm.crm_contacts (email) VALUES ('a@example.com');
});
is( $standby->safe_psql(
		'app',
		q{SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
		   WHERE attrelid = 'crm.crm_contacts'::regclass AND attnum > 0}),
	'email,id,created,updated,href',
	'promoted: manage_schema works, and injection');
is( $standby->safe_psql(
		'app', q{SELECT count(*) FROM steward.audit_log WHERE table_name = 'crm_contacts' AND op = 'INSERT'}),
	'1',
	'promoted: enable_audit works (one INSERT logged once)');
is( $standby->safe_psql(
		'postgres',
		q{SELECT calls FROM steward.query_metrics WHERE datname = 'app' AND username = 'reader' AND command = 'SELECT'}),
	'4',
	'promoted: the metrics counted as a standby are kept');
$standby->safe_psql('postgres', 'SELECT steward.reset_metrics()');
is( $standby->safe_psql(
		'postgres', q{SELECT count(*) FROM steward.query_metrics WHERE username IN ('reader', 'writer')}),
	'0',
	'promoted: reset_metrics works');

# No server log shows an assertion failure or a crash (the harness scans
# them too, after the run).
for my $node ($primary, $standby)
{
	ok(!$node->log_contains(qr/TRAP: |terminated by signal|PANIC: /),
		$node->name . ': no assertion failure or crash in the server log');
}
$standby->stop;
done_testing();
