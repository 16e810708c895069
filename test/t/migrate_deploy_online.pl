# CALL steward.deploy under concurrency, against a real server:
#
# 1. Two CALL steward.deploy and one steward.upgrade() at once apply each
#    migration exactly once (the deploy holds the module lock across all
#    its transactions).
# 2. Four pg_steward upgrade programs and two CALL steward.deploy at once on
#    one directory: each migration once.
# 3. Two deploys at once of a module with a CREATE INDEX CONCURRENTLY step,
#    on a table that another session writes during the build: the writes
#    are never blocked (the writer runs with a short lock_timeout), the index
#    is valid and holds every row, the step runs once.
# 4. A CONCURRENTLY build that fails (unique violation) leaves no invalid
#    index; once the data is fixed the same deploy succeeds.
# 5. Only the step's own leftover is dropped: another session's build that
#    fails on another table while the step runs keeps its invalid index,
#    and an unnamed build's leftover is found by its table.
# 6. A runner that would wait for the module lock inside a transaction while
#    a no-transaction step runs (deploy's worker; a client between
#    begin_step and record_step) is refused at once (55006), instead of
#    holding a snapshot the build waits for until its lock timeout.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use StewardNode;

my $node = steward_node('deploy_online');
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');
sub sql { return $node->safe_psql('postgres', $_[0]); }
my $tmp = PostgreSQL::Test::Utils::tempdir;

# psql_client(NAME, SQL): psql running SQL after a barrier of N clients.
sub psql_client
{
	my ($name, $prefix, $n, $body) = @_;
	my $file = "$tmp/$name.sql";
	open my $fh, '>', $file or die "$file: $!";
	print $fh client_barrier_sql($prefix, $n), $body;
	close $fh;
	return start_client($name, 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d',
		$node->connstr('postgres') . " application_name=$name", '-f', $file);
}

sub finish_all
{
	my @runs = @_;
	for my $run (@runs)
	{
		$run->{h}->finish;
		$run->{ret} = $run->{h}->result(0);
		diag("$run->{name} exited $run->{ret}: $run->{err}") if $run->{ret} != 0;
	}
	return scalar grep { $_->{ret} == 0 } @runs;
}

# ------------------------------------------------ 1. deploys and upgrade
sql(q{
CREATE TABLE race_log (version text);
SELECT steward.define_module('race', 'public');
SELECT steward.register('race', g::text, format('INSERT INTO race_log VALUES (%L); SELECT pg_sleep(0.01)', g))
  FROM generate_series(1, 40) g;
SELECT steward.register('race', NULL, 'INSERT INTO race_log VALUES (''views'')', kind => 'repeatable', description => 'views');
});
my @runs = (
	psql_client('race_deploy_1', 'race_', 3, "CALL steward.deploy('race');\n"),
	psql_client('race_deploy_2', 'race_', 3, "CALL steward.deploy('race');\n"),
	psql_client('race_upgrade', 'race_', 3, "SELECT count(*) FROM steward.upgrade('race');\n"));
is(finish_all(@runs), 3, 'two deploys and an upgrade at once all succeed');
is(sql("SELECT count(*) || '/' || count(DISTINCT version) FROM race_log"), '41/41',
	'each migration (and the repeatable script) ran exactly once');
is(sql("SELECT count(*) FROM steward.history WHERE module = 'race' AND event = 'apply'"), 41,
	'one apply event each');
is(sql("SELECT count(*) FROM steward.status('race') WHERE state <> 'applied'"), 0, 'all applied');

# ------------------------------------------------ 2. programs and deploys
my $dir = "$tmp/mixed";
mkdir $dir;
sql("CREATE TABLE mixed_log (version text)");
for my $v (1 .. 30)
{
	open my $fh, '>', "$dir/V${v}__step.sql" or die $!;
	print $fh "INSERT INTO mixed_log VALUES ('$v');\nSELECT pg_sleep(0.01);\n";
	close $fh;
}
# the first program registers the directory; then everyone races
my @first = (start_client('mixed_sync', 'pg_steward', '-h', $node->host, '-p', $node->port, '-d', 'postgres',
	'status', '-m', 'mixed', '-D', $dir));
finish_all(@first);
@runs = ();
for my $p (1 .. 4)
{
	push @runs, start_client("mixed_cli_$p", 'pg_steward', '-h', $node->host, '-p', $node->port, '-d', 'postgres',
		'upgrade', '-m', 'mixed', '-D', $dir);
}
push @runs, psql_client("mixed_deploy_$_", 'mixed_deploy_', 2, "CALL steward.deploy('mixed');\n") for 1 .. 2;
is(finish_all(@runs), 6, 'four pg_steward upgrade and two deploys at once all succeed');
is(sql("SELECT count(*) || '/' || count(DISTINCT version) FROM mixed_log"), '30/30',
	'each migration ran exactly once');

# ------------------------------------------------ 3. CIC under writes
sql(q{
SELECT steward.define_module('busy', 'public');
CREATE TABLE busy (id bigserial, v int);
INSERT INTO busy (v) SELECT g % 1000 FROM generate_series(1, 300000) g;
CREATE TABLE busy_stop (stop boolean);
CREATE PROCEDURE busy_writer() LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..200000 LOOP
    INSERT INTO busy (v) VALUES (i % 1000);
    COMMIT;
    EXIT WHEN EXISTS (SELECT 1 FROM busy_stop);
  END LOOP;
END $$;
SELECT steward.register('busy', '1', E'-- steward:no-transaction\nCREATE INDEX CONCURRENTLY busy_v ON busy (v);\nSELECT pg_sleep(0.2);');
SELECT steward.register('busy', '2', 'CREATE TABLE busy_after (id int)');
});
my $before = sql("SELECT count(*) FROM busy");
my $writer = psql_client('busy_writer', 'busy_writer', 1,
	"SET lock_timeout = '2s';\nCALL busy_writer();\n");
# wait until the writer writes
$node->poll_query_until('postgres', "SELECT count(*) > $before FROM busy") or die 'writer did not start';
@runs = map { psql_client("busy_deploy_$_", 'busy_deploy_', 2, "CALL steward.deploy('busy');\n") } 1 .. 2;
is(finish_all(@runs), 2, 'two deploys of a CONCURRENTLY step at once succeed');
my $during = sql("SELECT count(*) FROM busy");
sql("INSERT INTO busy_stop VALUES (true)");
is(finish_all($writer), 1, 'the writer was never blocked (lock_timeout 2s) and exits 0');
cmp_ok($during, '>', $before + 1, 'the writer wrote while the index was built');
is(sql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'busy_v'::regclass"), 't', 'the index is valid');
is(sql("SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*) FROM busy WHERE v >= 0"),
	sql("SELECT count(*) FROM busy"), 'the index holds every row, also those written during the build');
is(sql("SELECT count(*) FROM steward.history WHERE module = 'busy' AND event = 'apply'"), 2,
	'the CONCURRENTLY step and the next one applied once each');
my $notices = join '', map { $_->{err} } @runs;
like($notices, qr/NOTICE:  applied migration 1 of module "busy" \(no transaction\)\nDETAIL:  [\d.]+ ms/,
	'a NOTICE with the duration for the no-transaction step');
like($notices, qr/module "busy" is up to date/, 'the other deploy found nothing to do');

# ------------------------------------------------ 4. a failed CIC
sql(q{SELECT steward.register('busy', '3', E'-- steward:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY busy_v_unique ON busy (v);')});
my ($ret, $out, $err) = $node->psql('postgres', "CALL steward.deploy('busy')");
isnt($ret, 0, 'a failing CONCURRENTLY build fails the deploy');
like($err, qr/migration 3 of module "busy" failed at statement 1 of 1\nDETAIL:  could not create unique index "busy_v_unique".*dropped the invalid index it left: public\.busy_v_unique/,
	'the error names the step and the dropped invalid index');
is(sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid"), 0, 'no invalid index is left');
is(sql("SELECT state FROM steward.status('busy') WHERE version = '3'"), 'pending', 'the step stays pending');
sql("DELETE FROM busy WHERE id > 1000");
($ret, $out, $err) = $node->psql('postgres', "CALL steward.deploy('busy')");
is($ret, 0, 'after the data is fixed the same deploy succeeds');
is(sql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'busy_v_unique'::regclass"), 't',
	'the unique index is valid');
is(sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0, 'no module lock is left');

# ------------------------------------------------ 5. only the step's own leftover
sql("CREATE TABLE other (x int); INSERT INTO other VALUES (1), (1)");
sql(q{SELECT steward.register('busy', '4', E'-- steward:no-transaction\nSELECT pg_advisory_lock_shared(4242);\nSELECT pg_advisory_unlock_shared(4242);\nCREATE UNIQUE INDEX CONCURRENTLY ON busy ((v % 2));')});
my $holder = $node->background_psql('postgres');
$holder->query_safe('SELECT pg_advisory_lock(4242)');
my $deploy = start_client('deploy5', 'psql', '-X', '-d', $node->connstr('postgres'), '-c', "CALL steward.deploy('busy')");
$node->poll_query_until('postgres', "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
  or die 'the step did not start';
($ret, $out, $err) = $node->psql('postgres', 'CREATE UNIQUE INDEX CONCURRENTLY other_x_unique ON other (x)');
isnt($ret, 0, "another session's CONCURRENTLY build fails while the step runs");
$holder->query_safe('SELECT pg_advisory_unlock(4242)');
$holder->quit;
$deploy->{h}->finish;
like($deploy->{err}, qr/migration 4 of module "busy" failed at statement 3 of 3\nDETAIL:  could not create unique index "busy_expr_idx".*dropped the invalid index it left: public\.busy_expr_idx\n/s,
	"the step's own invalid index is dropped, found by its table");
is(sql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'other_x_unique'::regclass"), 'f',
	"the other session's invalid index is left alone");
is(sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid AND indrelid = 'busy'::regclass"), 0,
	'no invalid index is left on the step\'s table');

# ------------------------------------------------ 6. no waiting in a transaction during a step
sql(q{SELECT steward.unregister('busy', '4')});
sql(q{SELECT steward.register('busy', '5', E'-- steward:no-transaction\nSELECT pg_advisory_lock_shared(4243);\nSELECT pg_advisory_unlock_shared(4243);\nCREATE INDEX CONCURRENTLY busy_id_idx ON busy (id);')});
$holder = $node->background_psql('postgres');
$holder->query_safe('SELECT pg_advisory_lock(4243)');
$deploy = start_client('deploy6', 'psql', '-X', '-d', $node->connstr('postgres'), '-c', "CALL steward.deploy('busy')");
$node->poll_query_until('postgres', "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
  or die 'the step did not start';
($ret, $out, $err) = $node->psql('postgres', "SELECT * FROM steward.upgrade('busy')",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  55006: module "busy" is running a no-transaction step in another session/,
	"upgrade() during deploy's no-transaction step is refused at once, not after its lock timeout");
$holder->query_safe('SELECT pg_advisory_unlock(4243)');
$deploy->{h}->finish;
is($deploy->{h}->result(0), 0, 'the deploy finishes its step');
is(sql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'busy_id_idx'::regclass"), 't', 'its index is valid');

sql(q{SELECT steward.register('busy', '6', E'-- steward:no-transaction\nCREATE INDEX CONCURRENTLY busy_v_idx ON busy (v);')});
my $client = $node->background_psql('postgres');
$client->query_safe(q{SELECT pg_advisory_lock(1937012580, hashtext('busy'))});
$client->query_safe(q{SELECT * FROM steward.begin_step('busy', '6')});
($ret, $out, $err) = $node->psql('postgres', "SELECT * FROM steward.upgrade('busy')",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  55006: module "busy" is running a no-transaction step in another session/,
	'upgrade() while a client is between begin_step and record_step is refused at once');
$client->query_safe(q{CREATE INDEX CONCURRENTLY busy_v_idx ON busy (v)});
$client->query_safe(q{SELECT steward.record_step('busy', '6', 'up', 1)});
($ret, $out, $err) = $node->psql('postgres', "SET steward.migration_lock_timeout = 100; SELECT * FROM steward.upgrade('busy')",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  55P03: could not lock migration module "busy": timed out/,
	'after record_step the module lock is only held: a runner waits for it as usual');
$client->quit;
is(sql(q{SELECT state FROM steward.status('busy') WHERE version = '6'}), 'applied', 'the client step is recorded');
is(sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0, 'no module or step lock is left');

$node->stop;
done_testing();
