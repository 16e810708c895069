# Memory is bounded: beyond steward.max_tables the extra tables are counted
# as dropped and reported, and nothing else is lost.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardNode;

my $node = steward_node('limits');
$node->append_conf('postgresql.conf', "steward.max_tables = 16\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');
is($node->safe_psql('postgres', 'SHOW steward.max_tables'), '16', 'max_tables is 16');

# 24 tables, one INSERT each, in one session.
my $sql = "SELECT steward.reset_metrics();\n";
$sql .= "CREATE TABLE lim_$_ (x int); INSERT INTO lim_$_ VALUES (1);\n" for 1 .. 24;
$node->safe_psql('postgres', $sql);

my ($tracked, $dropped, $memory) = split /\|/, $node->safe_psql('postgres',
	'SELECT tables_tracked, tables_dropped, memory_bytes FROM steward.metrics_info()');
is($tracked, 16, 'exactly max_tables tables are tracked');
cmp_ok($dropped, '>=', 8, "the rest are counted as dropped ($dropped)");
cmp_ok($memory, '>', 0, "memory is reported ($memory bytes)");
is($node->safe_psql('postgres',
		"SELECT calls FROM steward.query_metrics WHERE datname = 'postgres' AND command = 'INSERT'"),
	'24', 'every INSERT is still counted per command');
$node->stop;
done_testing();
