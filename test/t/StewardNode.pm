# StewardNode — a PostgreSQL::Test::Cluster configured like every pg_steward
# test server (test/pg_steward.conf), optionally without the preload.
package StewardNode;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Exporter 'import';

our @EXPORT = qw(steward_node client_barrier_sql start_client);

# steward_node(NAME, preload => 0|1, INIT_OPTIONS): an initialised, not yet
# started node; other options go to PostgreSQL::Test::Cluster's init (e.g.
# allows_streaming => 1 or 'logical' for a primary or a publisher).
sub steward_node
{
	my ($name, %opt) = @_;
	my $preload = exists $opt{preload} ? delete $opt{preload} : 1;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%opt);
	my $conf = slurp_file($ENV{STEWARD_CONF});
	$conf =~ s/^shared_preload_libraries.*$//m unless $preload;
	$node->append_conf('postgresql.conf', $conf);
	return $node;
}

# start_client(NAME, COMMAND...): a client started in the background, its
# output collected: { name, h (the IPC::Run harness), out, err }.
sub start_client
{
	my ($name, @cmd) = @_;
	my $run = { name => $name, out => '', err => '' };
	$run->{h} = IPC::Run::start(\@cmd, '<', \undef, '>', \$run->{out}, '2>', \$run->{err},
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return $run;
}

# client_barrier_sql(PREFIX, N): a DO block that returns once N sessions
# whose application_name starts with PREFIX are connected (60 s at most),
# so that parallel clients start their work together.
sub client_barrier_sql
{
	my ($prefix, $clients) = @_;
	return qq{DO \$\$
BEGIN
	FOR i IN 1..6000 LOOP
		PERFORM pg_stat_clear_snapshot();
		IF (SELECT count(*) FROM pg_stat_activity
			 WHERE starts_with(application_name, '$prefix')) >= $clients THEN
			RETURN;
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
	RAISE EXCEPTION 'not all $clients clients connected within 60 s';
END
\$\$;
};
}

1;
