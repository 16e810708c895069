# The library works preloaded and loaded on demand, and its settings show
# their documented defaults in a server started with the preload.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardNode;

my $node = steward_node('preloaded');
$node->start;
is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'), 'pg_steward',
	'library is preloaded');
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');
is($node->safe_psql('postgres', 'SELECT steward.version()'), '0.1', 'version');
is($node->safe_psql('postgres', 'SHOW steward.migration_lock_timeout'), '30s',
	'migration_lock_timeout default');
is($node->safe_psql('postgres', 'SHOW steward.ddl_lock_timeout'), '5s',
	'ddl_lock_timeout default');
my ($ret, $out, $err) = $node->psql('postgres', 'SET steward.typo = 1');
isnt($ret, 0, 'unknown steward.* setting is refused');
like($err, qr/invalid configuration parameter name "steward.typo"/, 'prefix is reserved');
$node->stop;

# Without the preload the library loads on first use and nothing crashes.
my $plain = steward_node('on_demand', preload => 0);
$plain->start;
is($plain->safe_psql('postgres', 'SHOW shared_preload_libraries'), '', 'not preloaded');
$plain->safe_psql('postgres', 'CREATE EXTENSION pg_steward');
# A session that has not called into the library yet does not know its
# settings; one that has, does.
is($plain->safe_psql('postgres', 'SELECT steward.version(); SHOW steward.ddl_lock_timeout'),
	"0.1\n5s", 'version and settings work when loaded on demand');
# Everything but the metrics works; the metrics views say what to add.
($ret, $out, $err) = $plain->psql('postgres', 'SELECT * FROM steward.query_metrics');
isnt($ret, 0, 'metrics need the preload');
like($err, qr/query metrics requires pg_steward to be loaded via shared_preload_libraries/,
	'the error names the missing preload');
like($err, qr/HINT:  Add shared_preload_libraries = 'pg_steward' to postgresql.conf and restart the server./,
	'the hint shows the line to add');
ok($plain->safe_psql('postgres', 'SELECT 1') eq '1', 'server still up');
$plain->stop;

done_testing();
