# A no-transaction step whose run is interrupted while its CREATE INDEX
# CONCURRENTLY runs is finished by the next run: no invalid index is left,
# the step is recorded once, check is clean.  The build is held in its
# "waiting for writers" phase by a session that keeps a row updated until
# the test releases it, so every interruption happens mid-build (no
# timing assumptions).
#
# 1. pg_steward killed (SIGKILL): its backend finishes the build once the
#    writer commits; the next upgrade skips the statement that committed.
# 2. pg_steward's backend terminated: the build leaves an invalid index;
#    the next upgrade drops it and builds the index again.
# 3. CALL steward.deploy cancelled: its worker is stopped, leaving an
#    invalid index; the next deploy drops it and builds again.
# 4. CALL steward.deploy terminated: its worker runs on; the next deploy
#    waits for it, then skips what it built.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use StewardNode;

my $node = steward_node('cli_interrupted');
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');
sub sql { return $node->safe_psql('postgres', $_[0]); }
my $tmp = PostgreSQL::Test::Utils::tempdir;

sub finish
{
	my ($run) = @_;
	$run->{h}->finish;
	return $run->{h}->result(0);
}

my @conn = ('-h', $node->host, '-p', $node->port, '-d', 'postgres');

sub steward
{
	my $run = start_client('pg_steward', 'pg_steward', @conn, @_);
	my $rc = finish($run);
	return ($rc, $run->{out}, $run->{err});
}

sub psql_start
{
	my ($name, $sql) = @_;
	return start_client($name, 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d',
		$node->connstr('postgres') . " application_name=$name", '-c', $sql);
}

# A writer that holds a row of things updated (so CONCURRENTLY builds wait
# for it) until release has row n.
sub hold_writer
{
	my ($n) = @_;
	my $run = start_client("writer$n", 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d',
		$node->connstr('postgres') . " application_name=writer$n", '-c',
		"BEGIN; UPDATE things SET k = k WHERE id = 1; DO \$\$ BEGIN WHILE NOT EXISTS (SELECT 1 FROM ctl.release WHERE n = $n) LOOP PERFORM pg_sleep(0.01); END LOOP; END \$\$; COMMIT;");
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
		  . "WHERE a.application_name = 'writer$n' AND l.relation = 'things'::regclass AND l.mode = 'RowExclusiveLock' AND l.granted")
	  or die "writer $n did not start";
	return $run;
}

sub release_writer
{
	my ($n, $run) = @_;
	sql("INSERT INTO ctl.release VALUES ($n)");
	is(finish($run), 0, "writer $n committed");
}

sub wait_for_build
{
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_progress_create_index WHERE phase LIKE 'waiting for writers%'")
	  or die 'the build did not start';
}

sub write_file
{
	my ($path, $content) = @_;
	open my $fh, '>', $path or die "$path: $!";
	print $fh $content;
	close $fh;
}

sql("CREATE SCHEMA ctl; CREATE TABLE ctl.release (n int)");
my $dir = "$tmp/intr";
mkdir $dir;
write_file("$dir/V1__things.sql",
	"CREATE TABLE {{tables.things}} (id int, k int);\nINSERT INTO {{tables.things}} SELECT g, g % 10 FROM generate_series(1, 1000) g;\n");
my ($rc, $out, $err) = steward('upgrade', '-m', 'intr', '-D', $dir);
is($rc, 0, 'version 1 applied') or diag($err);

# ------------------------------------------------ 1. the program killed
write_file("$dir/V2__index_k.sql",
	"-- steward:no-transaction\nCREATE INDEX CONCURRENTLY ix_things_k ON {{tables.things}} (k);\n");
my $writer = hold_writer(1);
my $prog = start_client('upgrade', 'pg_steward', @conn, 'upgrade', '-m', 'intr', '-D', $dir);
wait_for_build();
$prog->{h}->signal('KILL');
$prog->{h}->finish;
is($prog->{h}->full_result(0) & 127, 9, 'the program was killed mid-build');
release_writer(1, $writer);
($rc, $out, $err) = steward('upgrade', '-m', 'intr', '-D', $dir);
is($rc, 0, 'the next upgrade exits 0') or diag($err);
like($err, qr/version 2, statement 1 of 1 was applied by an interrupted run: skipped/,
	'it skips the statement the killed run committed');
like($out, qr/^applied +2 +index k /m, 'and records the step');
is(sql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_things_k'::regclass"), 't', 'the index is valid');
is(sql("SELECT count(*) FROM steward.history WHERE module = 'intr' AND version = '2' AND event = 'apply'"), 1,
	'the step is recorded once');
($rc, $out, $err) = steward('check', '-m', 'intr', '-D', $dir);
is($rc, 0, 'check is clean') or diag($out . $err);

# ------------------------------------------------ 2. its backend terminated
write_file("$dir/V3__index_id.sql",
	"-- steward:no-transaction\nCREATE INDEX CONCURRENTLY ix_things_id ON {{tables.things}} (id);\n");
$writer = hold_writer(2);
$prog = start_client('upgrade', 'pg_steward', @conn, 'upgrade', '-m', 'intr', '-D', $dir);
wait_for_build();
sql("SELECT pg_terminate_backend(pid) FROM pg_stat_progress_create_index");
isnt(finish($prog), 0, 'the program whose backend was terminated fails');
release_writer(2, $writer);
is(sql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_things_id'::regclass"), 'f',
	'the interrupted build left an invalid index');
($rc, $out, $err) = steward('upgrade', '-m', 'intr', '-D', $dir);
is($rc, 0, 'the next upgrade exits 0') or diag($err);
like($err, qr/dropped the invalid index an interrupted run left \(public\.ix_things_id\)/,
	'it drops the invalid index first');
is(sql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_things_id'::regclass"), 't',
	'the index is built again, valid');
is(sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid"), 0, 'no invalid index is left');
is(sql("SELECT count(*) FROM steward.history WHERE module = 'intr' AND version = '3' AND event = 'apply'"), 1,
	'the step is recorded once');
($rc, $out, $err) = steward('check', '-m', 'intr', '-D', $dir);
is($rc, 0, 'check is clean') or diag($out . $err);

# ------------------------------------------------ 3. deploy cancelled
sql(q{SELECT steward.define_module('intrd', 'public');
SELECT steward.register('intrd', '1', E'-- steward:no-transaction\nCREATE INDEX CONCURRENTLY ix_things_k_id ON things (k, id);');
SELECT steward.register('intrd', '2', E'-- steward:no-transaction\nCREATE INDEX CONCURRENTLY ix_things_id_k ON things (id, k);');});
$writer = hold_writer(3);
my $deploy = psql_start('deployer3', "CALL steward.deploy('intrd', '1')");
wait_for_build();
sql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'deployer3'");
isnt(finish($deploy), 0, 'the cancelled deploy fails');
like($deploy->{err}, qr/canceling statement due to user request/, 'it was cancelled');
release_writer(3, $writer);
$deploy = psql_start('deployer3b', "CALL steward.deploy('intrd', '1')");
is(finish($deploy), 0, 'the next deploy succeeds') or diag($deploy->{err});
like($deploy->{err}, qr/migration 1 of module "intrd": resuming the run that was interrupted/,
	'it resumes the interrupted step');
is(sql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_things_k_id'::regclass"), 't', 'the index is valid');
is(sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid"), 0, 'no invalid index is left');
is(sql("SELECT count(*) FROM steward.history WHERE module = 'intrd' AND version = '1' AND event = 'apply'"), 1,
	'the step is recorded once');

# ------------------------------------------------ 4. deploy terminated
$writer = hold_writer(4);
$deploy = psql_start('deployer4', "CALL steward.deploy('intrd')");
wait_for_build();
sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'deployer4'");
isnt(finish($deploy), 0, 'the terminated deploy fails');
my $next = psql_start('deployer4b', "CALL steward.deploy('intrd')");
# 1937012563 = 'stwS': the step lock a deploy worker holds while it runs
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 1937012563 AND NOT granted")
  or die 'the next deploy does not wait for the worker';
pass('the next deploy waits for the worker the terminated one left');
release_writer(4, $writer);
is(finish($next), 0, 'the next deploy succeeds') or diag($next->{err});
like($next->{err}, qr/migration 2 of module "intrd": resuming the run that was interrupted/,
	'it skips what the worker built');
is(sql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_things_id_k'::regclass"), 't', 'the index is valid');
is(sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid"), 0, 'no invalid index is left');
is(sql("SELECT count(*) FROM steward.history WHERE module = 'intrd' AND version = '2' AND event = 'apply'"), 1,
	'the step is recorded once');
is(sql("SELECT count(*) FROM steward.check('intrd')"), 0, 'check is clean');
is(sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0, 'no advisory lock is left');

$node->stop;
done_testing();
