# Query metrics with pg_stat_statements (DESIGN.md section 5): queryid in
# steward.recent_queries and steward.slow_queries joins pg_stat_statements,
# with both libraries preloaded, in either order; the rings' normalized text
# is pg_stat_statements' own (the query jumble's constants); queryid is NULL
# where query ids are off.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardNode;

my $node = steward_node('metrics_queryid');
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'pg_steward, pg_stat_statements'\n"
	  . "pg_stat_statements.track = all\n"
	  . "steward.slow_query_ms = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE qid');
$node->safe_psql('qid', 'CREATE EXTENSION pg_steward; CREATE EXTENSION pg_stat_statements');

# A workload of statements with constants, as a driver that inlines its
# parameters sends them, one prepared statement, and a failure.
sub workload
{
	my ($tag) = @_;
	my $sql = qq{
SELECT steward.reset_metrics(), pg_stat_statements_reset();
CREATE TABLE IF NOT EXISTS q_items (id int PRIMARY KEY, name text, qty int);
TRUNCATE q_items;
INSERT INTO q_items VALUES (1, 'one $tag', 10), (2, 'two', 20);
INSERT INTO q_items VALUES (3, 'three', 30);
UPDATE q_items SET qty = qty + 5 WHERE id = 1 AND name <> 'secret $tag';
SELECT name FROM q_items WHERE qty > 12 ORDER BY 1 LIMIT 5;
SELECT count(*) FROM q_items WHERE name LIKE 't%';
PREPARE q_p(int) AS SELECT name FROM q_items WHERE id = \$1 AND qty > 0;
EXECUTE q_p(2);
EXECUTE q_p(3);
DELETE FROM q_items WHERE id = 3;
SELECT 1 / (qty - qty) FROM q_items WHERE id = 1;
};
	my ($ret, $out, $err) = $node->psql('qid', $sql, on_error_stop => 0);
	like($err, qr/division by zero/, "$tag: the workload ran, one statement failed");
}

# Every recent statement of the workload has a queryid that joins exactly
# one pg_stat_statements row, whose query text is the ring's.
sub check_join
{
	my ($tag) = @_;
	my $rows = $node->safe_psql(
		'qid', q{
		SELECT r.command || '|' || (r.queryid IS NOT NULL) || '|' || count(s.queryid) || '|'
			   || coalesce(bool_and(s.query = r.query)::text, '-') || '|' || r.query
		  FROM steward.recent_queries r
		  LEFT JOIN pg_stat_statements s ON s.queryid = r.queryid AND s.dbid =
				(SELECT oid FROM pg_database WHERE datname = current_database()) AND s.toplevel
		 WHERE r.datname = current_database() AND r.sqlstate IS NULL AND r.command <> 'UTILITY'
		   AND r.query LIKE '%q\_items%'
		 GROUP BY r.at, r.command, r.queryid, r.query ORDER BY r.at});
	is( $rows, join(
			"\n",
			'INSERT|true|1|true|INSERT INTO q_items VALUES ($1, $2, $3), ($4, $5, $6)',
			'INSERT|true|1|true|INSERT INTO q_items VALUES ($1, $2, $3)',
			'UPDATE|true|1|true|UPDATE q_items SET qty = qty + $1 WHERE id = $2 AND name <> $3',
			'SELECT|true|1|true|SELECT name FROM q_items WHERE qty > $1 ORDER BY 1 LIMIT $2',
			'SELECT|true|1|true|SELECT count(*) FROM q_items WHERE name LIKE $1',
			'SELECT|true|1|true|PREPARE q_p(int) AS SELECT name FROM q_items WHERE id = $1 AND qty > $2',
			'SELECT|true|1|true|PREPARE q_p(int) AS SELECT name FROM q_items WHERE id = $1 AND qty > $2',
			'DELETE|true|1|true|DELETE FROM q_items WHERE id = $1'),
		"$tag: each statement's queryid joins one pg_stat_statements row with the same normalized text"
	);
	# The failed statement has its queryid too (pg_stat_statements keeps no
	# row for failures), and so do the rows of slow_queries.
	is( $node->safe_psql(
			'qid',
			"SELECT sqlstate || '|' || (queryid IS NOT NULL) || '|' || query FROM steward.recent_queries
			  WHERE sqlstate IS NOT NULL"),
		'22012|true|SELECT $1 / (qty - qty) FROM q_items WHERE id = $2',
		"$tag: the failed statement has its queryid and normalized text");
	is( $node->safe_psql(
			'qid', q{
			SELECT count(*) FROM steward.slow_queries r JOIN pg_stat_statements s USING (queryid)
			 WHERE r.query LIKE 'UPDATE q\_items%' AND s.query = r.query}),
		'1',
		"$tag: slow_queries joins pg_stat_statements too");
	# Utility statements join by queryid as well.
	is( $node->safe_psql(
			'qid', q{
			SELECT count(*) FROM steward.recent_queries r JOIN pg_stat_statements s USING (queryid)
			 WHERE r.command = 'UTILITY' AND r.query LIKE 'TRUNCATE%'}),
		'1',
		"$tag: a utility statement joins by queryid");
}

workload('pg_steward first');
check_join('pg_steward first');

# The other order of the hooks.
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'pg_stat_statements, pg_steward'\n");
$node->restart;
workload('pg_stat_statements first');
check_join('pg_stat_statements first');

# With query ids off, queryid is NULL and the lexer finds the constants.
is( $node->safe_psql(
		'qid', q{
		SET compute_query_id = off;
		SELECT name FROM q_items WHERE qty > 12 ORDER BY 1 LIMIT 5;
		SELECT (queryid IS NULL) || '|' || query FROM steward.recent_queries
		 WHERE query LIKE 'SELECT name FROM q\_items WHERE qty%' ORDER BY at DESC LIMIT 1}),
	"one pg_stat_statements first\ntwo\ntrue|SELECT name FROM q_items WHERE qty > \$1 ORDER BY \$2 LIMIT \$3",
	'compute_query_id = off: queryid is NULL, constants found by the lexer');

$node->stop;
done_testing();
