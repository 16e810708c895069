# Exactly once under real concurrency: 16 psql clients race through the same
# 200 migrations with steward.migrate, every call in its own transaction
# (autocommit).  Each migration inserts its version into a table, so a
# migration that ran twice, or not at all, shows up there as well as in the
# catalogs.
#
# Round 1: every client goes 1..200 in order, so all 16 contend for the same
# version at the same time.  Round 2: every client goes through its own
# shuffled order with allow_out_of_order => true, so the runner must also
# get concurrent out-of-order applies right.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use List::Util qw(shuffle);
use Time::HiRes qw(time);
use StewardNode;

my $clients  = 16;
my $versions = 200;

my $node = steward_node('parallel');
$node->append_conf('postgresql.conf', 'max_connections = 50');
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');

my $tmp = PostgreSQL::Test::Utils::tempdir;

# run_clients(MODULE, TABLE, ORDER_SUB, EXTRA_ARGS): start all clients at
# once, wait for all, return the list of { ret, out, err } per client.
sub run_clients
{
	my ($module, $table, $order, $extra) = @_;
	my @runs;
	for my $c (1 .. $clients)
	{
		my $file = "$tmp/${module}_$c.sql";
		open my $fh, '>', $file or die "could not write $file: $!";
		# Barrier: start migrating only once all clients are connected.
		print $fh client_barrier_sql("${module}_client_", $clients);
		for my $v ($order->($c))
		{
			print $fh "SELECT steward.migrate('$module', '$v', "
			  . "'INSERT INTO $table VALUES (''$v'')'$extra);\n";
		}
		close $fh;
		my $run = { out => '', err => '' };
		my $connstr = $node->connstr('postgres') . " application_name=${module}_client_$c";
		$run->{h} = IPC::Run::start(
			[ 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-f', $file ],
			'<', \undef, '>', \$run->{out}, '2>', \$run->{err},
			IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
		push @runs, $run;
	}
	for my $run (@runs)
	{
		$run->{h}->finish;
		$run->{ret} = $run->{h}->result(0);
	}
	return @runs;
}

# check_round(NAME, MODULE, TABLE, RUNS): the exactly-once assertions.
sub check_round
{
	my ($name, $module, $table, @runs) = @_;

	my ($applied, $skipped, $other, $failed) = (0, 0, 0, 0);
	for my $i (0 .. $#runs)
	{
		my $run = $runs[$i];
		if ($run->{ret} != 0)
		{
			$failed++;
			diag("$name: client " . ($i + 1) . " exited $run->{ret}: $run->{err}");
		}
		for my $line (split /\n/, $run->{out})
		{
			if    ($line eq 'applied') { $applied++ }
			elsif ($line eq 'skipped') { $skipped++ }
			else                       { $other++ }
		}
	}
	is($failed, 0, "$name: every psql client exited 0");
	is($applied, $versions, "$name: migrate returned 'applied' once per version");
	is($skipped, ($clients - 1) * $versions,
		"$name: migrate returned 'skipped' for every other call");
	is($other, 0, "$name: migrate returned nothing but applied or skipped");

	is( $node->safe_psql(
			'postgres',
			"SELECT count(*), count(DISTINCT version) FROM steward.migrations WHERE module = '$module'"),
		"$versions|$versions",
		"$name: steward.migrations has one row per version");
	is( $node->safe_psql(
			'postgres',
			"SELECT count(*), count(DISTINCT version) FROM steward.migration_scripts WHERE module = '$module'"),
		"$versions|$versions",
		"$name: steward.migration_scripts has one row per version");
	is( $node->safe_psql('postgres', "SELECT count(*), count(DISTINCT version) FROM $table"),
		"$versions|$versions",
		"$name: $table has every version exactly once");
	is( $node->safe_psql(
			'postgres',
			"SELECT count(*) FROM generate_series(1, $versions) g
			  WHERE NOT EXISTS (SELECT 1 FROM $table t WHERE t.version = g::text)"),
		'0',
		"$name: no version is missing from $table");
	is( $node->safe_psql(
			'postgres',
			"SELECT count(*), count(DISTINCT version) FROM steward.migration_events
			  WHERE module = '$module' AND event = 'apply'"),
		"$versions|$versions",
		"$name: one apply event per version");
	is( $node->safe_psql(
			'postgres',
			"SELECT count(*) FROM steward.migration_events
			  WHERE module = '$module' AND event <> 'apply'"),
		'0',
		"$name: no other events");

	# Atomic: each migration's row was written by the transaction that
	# recorded its apply event (a fresh cluster has xid epoch 0, so the
	# 64-bit txid equals the row's xmin).
	is( $node->safe_psql(
			'postgres',
			"SELECT count(*) FROM $table t
			   JOIN steward.migration_events e
				 ON e.module = '$module' AND e.version = t.version AND e.event = 'apply'
			  WHERE t.xmin::text = e.txid::text"),
		$versions,
		"$name: each migration body committed with its own catalog rows");

	my $winners = $node->safe_psql(
		'postgres',
		"SELECT count(DISTINCT application_name) FROM steward.migration_events
		  WHERE module = '$module' AND event = 'apply'");
	note("$name: versions were applied by $winners different clients");
}

# Round 1: same order everywhere.
$node->safe_psql(
	'postgres', q{
	SELECT steward.define_module('par', 'public', 'parallel clients, same order');
	CREATE TABLE applied_log (version text);
});
my $t0   = time;
my @runs = run_clients('par', 'applied_log', sub { 1 .. $versions }, '');
note(sprintf('round 1: %d clients x %d calls in %.1f s', $clients, $versions, time - $t0));
check_round('same order', 'par', 'applied_log', @runs);

# Round 2: a different shuffled order in every client (seed printed so a
# failure can be replayed).
my $seed = $ENV{STEWARD_SEED} // int(time);
note("shuffle seed $seed (set STEWARD_SEED to replay)");
$node->safe_psql(
	'postgres', q{
	SELECT steward.define_module('par_shuffled', 'public', 'parallel clients, shuffled order');
	CREATE TABLE applied_log_shuffled (version text);
});
$t0 = time;
@runs = run_clients(
	'par_shuffled',
	'applied_log_shuffled',
	sub { srand($seed + $_[0]); return shuffle(1 .. $versions) },
	', allow_out_of_order => true');
note(sprintf('round 2: %d clients x %d calls in %.1f s', $clients, $versions, time - $t0));
check_round('shuffled', 'par_shuffled', 'applied_log_shuffled', @runs);

# The lock is transaction-scoped: nothing is left holding it.
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"),
	'0',
	'no advisory lock is left behind');

$node->stop;

done_testing();
