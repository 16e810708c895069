# The pg_steward program's no-transaction steps and directory removals,
# against the server's steward.register_set (the whole directory at once)
# and steward.record_step (a step the program ran itself).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use StewardNode;

my $node = steward_node('cli_no_tx');
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');
sub sql { return $node->safe_psql('postgres', $_[0]); }
my $tmp = PostgreSQL::Test::Utils::tempdir;

sub steward
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_steward', '-h', $node->host, '-p', $node->port, '-d', 'postgres', @_ ],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($? >> 8, $out, $err);
}

sub write_file
{
	my ($path, $content) = @_;
	open my $fh, '>', $path or die "$path: $!";
	print $fh $content;
	close $fh;
}

my $dir = "$tmp/ntx";
mkdir $dir;
write_file("$dir/V1__items.sql",
	"CREATE TABLE {{tables.items}} (id int, k int);\nINSERT INTO {{tables.items}} SELECT g, g % 10 FROM generate_series(1, 10000) g;\n");
write_file("$dir/V2__index.sql",
	"-- steward:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS ix_items_k ON {{tables.items}} (k);\nSELECT pg_sleep(2.5);\n");
write_file("$dir/U2__index.sql", "-- steward:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS {{schema}}.ix_items_k;\n");
write_file("$dir/V3__after.sql", "CREATE TABLE {{tables.after}} (id int);\n");
write_file("$dir/U3__after.sql", "DROP TABLE {{tables.after}};\n");

# Three programs at once: the no-transaction step too runs once.
my @runs;
for my $p (1 .. 3)
{
	my $run = { out => '', err => '' };
	$run->{h} = IPC::Run::start(
		[ 'pg_steward', '-h', $node->host, '-p', $node->port, '-d', 'postgres', 'upgrade', '-m', 'ntx', '-D', $dir ],
		'<', \undef, '>', \$run->{out}, '2>', \$run->{err},
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	push @runs, $run;
}
$_->{h}->finish for @runs;
is(scalar(grep { $_->{h}->result(0) == 0 } @runs), 3, 'three upgrades at once exit 0')
  or diag(join '', map { $_->{err} } @runs);
my $all = join '', map { $_->{out} } @runs;
is(scalar(() = $all =~ /^applied +2 +index +\(\d+\.\d ms, no transaction\)$/mg), 1,
	'the no-transaction step is applied by one of them');
my $errs = join '', map { $_->{err} } @runs;
like($errs, qr/^applying 2: \d+ s, statement 2 of 2: SELECT pg_sleep\(2\.5\)/m,
	'a progress line while a statement runs long');
is(sql("SELECT count(*) FROM steward.history WHERE module = 'ntx' AND event = 'apply'"), 3,
	'one apply event per version');
is(sql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_items_k'::regclass"), 't',
	'the index was built concurrently and is valid');
is(sql("SELECT string_agg(version || ':' || state, ',') FROM steward.status('ntx')"),
	'1:applied,2:applied,3:applied', 'every version applied');
is(sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0, 'the session lock is released');
# What the step built is the migration's: logged as it, fingerprinted, so
# check is clean and capture finds nothing.
is(sql("SELECT string_agg(module || ':' || version, ',') FROM steward.ddl_log WHERE object_identity = 'public.ix_items_k'"),
	'ntx:2', 'the CONCURRENTLY build is logged as migration 2');
my ($rc, $out, $err) = steward('check', '-m', 'ntx', '-D', $dir);
is($rc, 0, 'check is clean after the no-transaction step') or diag($out . $err);
my ($cret, $cout, $cerr) = $node->psql('postgres', "SELECT steward.capture('ntx', '3.1')");
like($cerr, qr/nothing to capture/, 'capture finds nothing to capture');

# A failing CONCURRENTLY build: its invalid index is dropped, the step stays pending.
write_file("$dir/V4__unique.sql", "-- steward:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY ix_items_k_unique ON {{tables.items}} (k);\n");
($rc, $out, $err) = steward('upgrade', '-m', 'ntx', '-D', $dir);
is($rc, 5, 'a failing no-transaction step: exit status 5');
like($err, qr/^pg_steward: error: version 4, statement 1 of 1 \(line 2\) failed: could not create unique index "ix_items_k_unique".* \(V4__unique\.sql\)$/m,
	'the error names the version, the statement, its line and the file');
like($err, qr/dropped the invalid index the failed statement left/, 'the invalid index is dropped');
is(sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid"), 0, 'no invalid index is left');
is(sql("SELECT state FROM steward.status('ntx') WHERE version = '4'"), 'pending', 'the step stays pending');

# A deleted pending file is unregistered on the next run (register_set).
unlink "$dir/V4__unique.sql";
($rc, $out, $err) = steward('upgrade', '-m', 'ntx', '-D', $dir);
is($rc, 0, 'the next run exits 0');
like($out, qr/^synced .*: 0 added, 0 updated, 1 removed$/m, 'it says the script was removed');
is(sql("SELECT count(*) FROM steward.migration_scripts WHERE module = 'ntx' AND version = '4'"), 0,
	'a deleted pending file is unregistered');

# Downgrade through the no-transaction step.
($rc, $out, $err) = steward('downgrade', '-m', 'ntx', '-D', $dir, '1');
is($rc, 0, 'downgrade through a no-transaction step exits 0');
like($out, qr/^reverted 3 .*\nreverted 2 +index +\(\d+\.\d ms, no transaction\)$/m, 'both reverted, newest first');
is(sql("SELECT count(*) FROM pg_class WHERE relname = 'ix_items_k'"), 0, 'the index is dropped');
is(sql("SELECT steward.current('ntx')"), '1', 'at version 1');

# The plan of a no-transaction step: top-level statements under the session lock.
($rc, $out) = steward('plan', '-m', 'ntx', '-D', $dir);
like($out, qr/-- step 1: apply version 2, index \(V2__index\.sql\), outside a transaction\n(--.*\n)+SELECT \* FROM steward\.register_set.*\nSELECT pg_catalog\.pg_advisory_lock\(1937012580, pg_catalog\.hashtext\('ntx'\)\);\nSELECT coalesce\(\(SELECT state = 'pending' FROM steward\.status\('ntx'\) WHERE version = '2'\), false\) AS steward_run_step \\gset\n\\if :steward_run_step\nSELECT action, statement FROM steward\.begin_step\('ntx', '2', 'up'\);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS ix_items_k ON public\.items \(k\);\nSELECT pg_sleep\(2\.5\);\nSELECT steward\.record_step\('ntx', '2', 'up', NULL\);\n\\endif\n/,
	'plan shows a no-transaction step as top-level statements and its recording');
my ($ret, $o, $e) = $node->psql('postgres', $out, on_error_stop => 1);
is($ret, 0, 'psql runs that plan') or diag($e);
is(sql("SELECT string_agg(version || ':' || state, ',') FROM steward.status('ntx')"),
	'1:applied,2:applied,3:applied', 'the plan applied the versions');
($ret, $o, $e) = $node->psql('postgres', $out, on_error_stop => 1);
is($ret, 0, 'psql runs that plan again: the applied steps are skipped') or diag($e);
is(sql("SELECT count(*) FROM steward.history WHERE module = 'ntx' AND version = '2' AND event = 'apply'"), 2,
	'the no-transaction step is not recorded again');
($rc, $out, $err) = steward('check', '-m', 'ntx', '-D', $dir);
is($rc, 0, 'check is clean after the plan ran the step through psql') or diag($out . $err);

# The rewrite guard judges the statements of the program's no-transaction
# steps: VACUUM FULL of a table above steward.rewrite_guard_mb is refused
# (the step stays pending), a CONCURRENTLY build passes.
write_file("$dir/V5__vacuum.sql", "-- steward:no-transaction\nVACUUM FULL {{tables.items}};\n");
{
	local $ENV{PGOPTIONS} = '-c steward.rewrite_guard_mb=8kB';
	($rc, $out, $err) = steward('upgrade', '-m', 'ntx', '-D', $dir);
}
is($rc, 5, 'a VACUUM FULL step of a big table: exit status 5');
like($err, qr/version 5, statement 1 of 1 \(line 2\) failed: VACUUM FULL would rewrite table public\.items/,
	'the rewrite guard refused it');
is(sql("SELECT state FROM steward.status('ntx') WHERE version = '5'"), 'pending', 'the step stays pending');
write_file("$dir/V5__vacuum.sql", "-- steward:no-transaction\nCREATE INDEX CONCURRENTLY ix_items_id ON {{tables.items}} (id);\n");
{
	local $ENV{PGOPTIONS} = '-c steward.rewrite_guard_mb=8kB';
	($rc, $out, $err) = steward('upgrade', '-m', 'ntx', '-D', $dir);
}
is($rc, 0, 'a CONCURRENTLY build passes the rewrite guard') or diag($err);
($rc, $out, $err) = steward('check', '-m', 'ntx', '-D', $dir);
is($rc, 0, 'check is clean') or diag($out . $err);

$node->stop;
done_testing();
