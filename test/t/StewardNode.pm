# StewardNode — a PostgreSQL::Test::Cluster configured like every pg_steward
# test server (test/pg_steward.conf), optionally without the preload.
package StewardNode;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Exporter 'import';

our @EXPORT = qw(steward_node);

# steward_node(NAME, preload => 0|1): an initialised, not yet started node.
sub steward_node
{
	my ($name, %opt) = @_;
	my $preload = exists $opt{preload} ? $opt{preload} : 1;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	my $conf = slurp_file($ENV{STEWARD_CONF});
	$conf =~ s/^shared_preload_libraries.*$//m unless $preload;
	$node->append_conf('postgresql.conf', $conf);
	return $node;
}

1;
