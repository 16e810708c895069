# Four pg_steward upgrade processes at once on the same directory of 250
# migrations: each migration is applied exactly once (by one of them; the
# others report it skipped), at most 200 in one transaction (the program
# applies a run of transactional versions with one steward.upgrade call),
# and every process exits 0 and ends at the last version.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JSON::PP;
use StewardNode;

my $procs    = 4;
my $versions = 250;

my $node = steward_node('cli_parallel');
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward; CREATE TABLE applied_log (version text)');

my $dir = PostgreSQL::Test::Utils::tempdir . '/migrations';
mkdir $dir or die;
for my $v (1 .. $versions)
{
	open my $fh, '>', "$dir/V${v}__step_$v.sql" or die;
	print $fh "INSERT INTO applied_log VALUES ('$v');\n";
	close $fh;
}

my @runs;
for my $p (1 .. $procs)
{
	my $run = { out => '', err => '' };
	$run->{h} = IPC::Run::start(
		[ 'pg_steward', '-d', $node->connstr('postgres') . " application_name=cli_$p",
			'upgrade', '-m', 'par', '-D', $dir, '--json' ],
		'<', \undef, '>', \$run->{out}, '2>', \$run->{err},
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	push @runs, $run;
}
my ($applied, $skipped, $ok) = (0, 0, 0);
for my $run (@runs)
{
	$run->{h}->finish;
	if ($run->{h}->result(0) == 0)
	{
		my $j = decode_json($run->{out});
		$applied += $j->{applied};
		$skipped += $j->{skipped};
		$ok++ if ($j->{current} // '') eq $versions;
	}
	else
	{
		diag("a process failed: $run->{err}");
	}
}
is($ok, $procs, "all $procs processes exit 0 at version $versions");
is($applied, $versions, 'the processes applied each version once between them');
# A process that planned after others had applied some versions does not
# list those at all; the others report the versions they lost as skipped.
ok($skipped <= ($procs - 1) * $versions, "the others report what they lost as skipped ($skipped)");
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT version) FROM applied_log'),
	"$versions|$versions", 'each migration body ran once');
is($node->safe_psql('postgres',
		"SELECT count(*), count(DISTINCT version) FROM steward.migration_events WHERE module = 'par' AND event = 'apply'"),
	"$versions|$versions", 'one apply event per version');
is($node->safe_psql('postgres',
		"SELECT count(*) >= 2 AND max(n) <= 200 FROM (SELECT count(*) AS n FROM steward.migration_events WHERE module = 'par' AND event = 'apply' GROUP BY txid) t"),
	't', 'at most 200 versions in one transaction');
is($node->safe_psql('postgres', "SELECT count(*) FROM steward.migration_scripts WHERE module = 'par'"),
	$versions, 'every script registered once');
my $winners = $node->safe_psql('postgres',
	"SELECT count(DISTINCT application_name) FROM steward.migration_events WHERE module = 'par'");
note("versions were applied by $winners of the $procs processes");
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"),
	'0', 'no advisory lock is left behind');

$node->stop;
done_testing();
