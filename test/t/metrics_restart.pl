# Query metrics across restarts and crashes (DESIGN.md section 5).
#
# (a) A known workload gives exact counters, which a clean restart keeps:
#     calls, errors, rows, latencies, histogram, tables, errors by SQLSTATE
#     and metrics_info().since are identical afterwards (pg_stat/
#     pg_steward.stat is written at shutdown, read back and removed at
#     start), also for a session still connected at the shutdown.  A
#     failing statement counts even when it is the first statement of its
#     session, or the first of its command.
# (b) With steward.save = off a clean restart starts from zero.
# (c) A backend killed with SIGKILL makes the postmaster reinitialise shared
#     memory: the counters start from zero, the server accepts connections
#     again, and nothing of before the crash comes back at the next restart.
#     An immediate shutdown (crash recovery at the next start) is a crash
#     too.
# (d) The same while the killed backend is in the middle of a statement:
#     the views work afterwards and their values are consistent.
# Then reset_metrics() empties everything, live backends' slots included,
# and moves since to now; a failure right after it counts.
# (e) Every counter survives a clean restart, statements_dropped (keys
#     that found no room in the retired totals) included.
# (f) The save file has a header: a file of another format, PostgreSQL
#     major, struct layout or steward.max_tables, a damaged or a truncated
#     one is ignored with a LOG line, never loaded.
#
# The workload runs in database "work" (without the extension, so no event
# triggers run there); the views are read from "postgres", so reading them
# does not change the counters of "work".
use strict;
use warnings;
use feature 'state';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use StewardNode;

my $node = steward_node('metrics_restart');
# PostgreSQL::Test::Cluster turns this off; the crash tests need it.
$node->append_conf('postgresql.conf', 'restart_after_crash = on');
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');
$node->safe_psql('postgres', 'CREATE DATABASE work');
my $stat_file = $node->data_dir . '/pg_stat/pg_steward.stat';

# Everything the views know about database "work", one line per row, in a
# stable order; floats in their exact text form.
sub snapshot
{
	return $node->safe_psql(
		'postgres', q{
		SELECT string_agg(line, E'\n' ORDER BY line) FROM (
			SELECT format('query|%s|%s|calls=%s|errors=%s|rows=%s|total=%s|min=%s|max=%s|stddev=%s|p50=%s|p95=%s|p99=%s',
					username, command, calls, errors, rows, total_ms, min_ms, max_ms,
					stddev_ms, p50_ms, p95_ms, p99_ms) AS line
			  FROM steward.query_metrics WHERE datname = 'work'
			UNION ALL
			SELECT format('table|%s|%s|calls=%s|rows=%s|total=%s', relid, command, calls, rows, total_ms)
			  FROM steward.table_metrics WHERE datname = 'work'
			UNION ALL
			SELECT format('hist|%s|le=%s|count=%s', command, le_ms, count)
			  FROM steward.latency_histogram WHERE datname = 'work'
			UNION ALL
			SELECT format('error|%s|count=%s|last_at=%s|%s', sqlstate, count, last_at, last_message)
			  FROM steward.error_metrics WHERE datname = 'work') s});
}

# calls|errors|rows of one command in "work" ('' when there is no row).
sub counts
{
	my ($command) = @_;
	return $node->safe_psql('postgres',
		"SELECT calls || '|' || errors || '|' || rows FROM steward.query_metrics
		  WHERE datname = 'work' AND command = '$command'");
}

sub since
{
	return $node->safe_psql('postgres', 'SELECT since FROM steward.metrics_info()');
}

# How many rows the views show for "work" (query, table, hist, error).
sub rows_for_work
{
	return $node->safe_psql(
		'postgres', q{
		SELECT (SELECT count(*) FROM steward.query_metrics WHERE datname = 'work') || '|' ||
			   (SELECT count(*) FROM steward.table_metrics WHERE datname = 'work') || '|' ||
			   (SELECT count(*) FROM steward.latency_histogram WHERE datname = 'work') || '|' ||
			   (SELECT count(*) FROM steward.error_metrics WHERE datname = 'work')});
}

# The workload, in one psql session that goes on after errors: 2 CREATE
# TABLE, 10 INSERTs (7 into w_one, 3 into w_two), 5 UPDATEs (7 rows), one
# join, and 3 failures of distinct SQLSTATEs: a unique violation (INSERT),
# a division by zero at run time (SELECT) and an unknown column (parse
# analysis, no command).
sub run_workload
{
	my $sql = q{
DROP TABLE IF EXISTS w_one, w_two;
CREATE TABLE w_one (id int PRIMARY KEY, v int);
CREATE TABLE w_two (id int PRIMARY KEY, one_id int);
};
	$sql .= "INSERT INTO w_one VALUES ($_, 0);\n" for 1 .. 7;
	$sql .= "INSERT INTO w_two VALUES ($_, $_);\n" for 1 .. 3;
	$sql .= "UPDATE w_one SET v = id WHERE id = $_;\n" for 1 .. 4;
	$sql .= q{UPDATE w_two SET one_id = 1;
SELECT count(*) FROM w_one JOIN w_two ON w_two.one_id = w_one.id;
INSERT INTO w_one VALUES (1, 0);
SELECT 1 / (v - v) FROM w_one;
SELECT no_such_column FROM w_one;
};
	my ($ret, $out, $err) = $node->psql('work', $sql, on_error_stop => 0);
	my @errors = $err =~ /^.*ERROR:.*$/mg;
	is(scalar(@errors), 3, 'workload: exactly the 3 intended statements failed')
	  or diag($err);
}

# An interactive psql session (IPC::Run), to keep a backend alive.
sub start_session
{
	my ($db) = @_;
	state $n = 0;
	my $s = { in => '', out => '', err => '', app => 'steward_session_' . ++$n };
	$s->{timer} = IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default);
	$s->{h} = IPC::Run::start(
		[ 'psql', '-X', '-A', '-t', '-q', '-d', $node->connstr($db) . " application_name=$s->{app}" ],
		'<', \$s->{in}, '>', \$s->{out}, '2>', \$s->{err}, $s->{timer});
	return $s;
}

sub session_query
{
	my ($s, $sql) = @_;
	$s->{out} = '';
	$s->{in} .= "$sql;\n\\echo __done__\n";
	$s->{timer}->start($PostgreSQL::Test::Utils::timeout_default);
	pump_until($s->{h}, $s->{timer}, \$s->{out}, qr/__done__\n/)
	  or die "session query timed out: $sql\n$s->{err}";
	(my $res = $s->{out}) =~ s/__done__\n//;
	chomp $res;
	return $res;
}

# End the session and wait until its backend has exited (and retired its
# slot).
sub end_session
{
	my ($s) = @_;
	$s->{in} .= "\\q\n";
	$s->{h}->finish;
	$node->poll_query_until('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE application_name = '$s->{app}'", '0')
	  or die "backend of $s->{app} did not exit";
}

# kill -9 one backend and wait until the server accepts connections again.
sub crash_backend
{
	my ($pid, $what) = @_;
	my $log_offset = -s $node->logfile;
	ok(kill('KILL', $pid), "$what: sent SIGKILL to backend $pid");
	# Wait for the postmaster to notice before polling, or the poll could
	# reach the server before the crash is handled.
	my $reinit = 0;
	for (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default)
	{
		$reinit = 1,
		  last
		  if substr(slurp_file($node->logfile), $log_offset) =~
		  /all server processes terminated; reinitializing/;
		usleep(100_000);
	}
	ok($reinit, "$what: postmaster reinitialises shared memory");
	ok($node->poll_query_until('postgres', 'SELECT 1', '1'),
		"$what: server accepts connections again");
}

# ---------------------------------------------------------------------------
# (a) exact counters after a known workload, kept across clean restarts
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'SELECT steward.reset_metrics()');
run_workload();

is(counts('INSERT'),  '11|1|10', 'INSERT: 11 calls (the failed one included), 1 error, 10 rows');
is(counts('UPDATE'),  '5|0|7',   'UPDATE: 5 calls, 7 rows');
is(counts('SELECT'),  '2|1|1',   'SELECT: 2 calls, 1 run-time error, 1 row');
is(counts('UTILITY'), '3|0|0',   'UTILITY: DROP and 2 CREATE TABLE');
# Table names are resolved only in the current database: look up the oids
# in "work", in a session that steward.metrics = off keeps out of the counts.
my %relid;
{
	local $ENV{PGOPTIONS} = '-c steward.metrics=off';
	%relid = map { split /\|/ } split /\n/,
	  $node->safe_psql('work',
		"SELECT relname, oid FROM pg_class WHERE relname IN ('w_one', 'w_two')");
}
is(counts('SELECT'), '2|1|1', 'a session with steward.metrics = off is not counted');
is( $node->safe_psql(
		'postgres', qq{
		SELECT string_agg(t, ' ' ORDER BY t) FROM (
			SELECT CASE relid WHEN $relid{w_one} THEN 'w_one' WHEN $relid{w_two} THEN 'w_two'
					ELSE relid::text END || ':' || command || ':' || calls || ':' || rows AS t
			  FROM steward.table_metrics WHERE datname = 'work') s}),
	'w_one:INSERT:8:7 w_one:SELECT:2:1 w_one:UPDATE:4:4 w_two:INSERT:3:3 w_two:SELECT:1:1 w_two:UPDATE:1:3',
	'table_metrics: calls and rows per table and command');
is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(command || ':' || n, ' ' ORDER BY command) FROM (
			SELECT command, sum(count) AS n FROM steward.latency_histogram
			 WHERE datname = 'work' GROUP BY command) h"),
	'INSERT:11 SELECT:2 UPDATE:5 UTILITY:3',
	'latency_histogram adds up to the calls');
is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(sqlstate || ':' || count, ' ' ORDER BY sqlstate)
		   FROM steward.error_metrics WHERE datname = 'work'"),
	'22012:1 23505:1 42703:1',
	'error_metrics: one of each SQLSTATE');

my $before       = snapshot();
my $since_before = since();
note("snapshot before restart:\n$before");
like($before, qr/^error\|42703/m, 'snapshot has the errors');

$node->restart;
ok(!-e $stat_file, 'the saved file is removed once read back');
is(snapshot(), $before, 'clean restart: every counter of "work" is identical');
is(since(), $since_before, 'clean restart: metrics_info().since is unchanged');

# A session still connected at the shutdown: the fast shutdown terminates
# it, and what it counted is saved too.
my $live = start_session('work');
session_query($live, 'DELETE FROM w_two WHERE id = 3');
session_query($live, 'DELETE FROM w_two WHERE id = 99');
is(counts('DELETE'), '2|0|1', 'live session: 2 DELETEs counted');
$before = snapshot();
$node->restart;
$live->{in} .= "\\q\n";
$live->{h}->finish;
is(counts('DELETE'), '2|0|1', 'live session: its DELETEs survive the restart');
is(snapshot(), $before, 'live session: every counter identical after the restart');
is(since(), $since_before, 'live session: since unchanged');

# Nothing new ran in "work": a second restart keeps the same values again
# (what was read back is saved again).
$node->restart;
is(snapshot(), $before, 'second clean restart: still identical');
is(since(), $since_before, 'second clean restart: since still unchanged');

# A failing statement that is the first statement of its session counts like
# any other: in error_metrics and in its command's errors.
$node->psql('work', 'SELECT * FROM no_such_table');
is( $node->safe_psql(
		'postgres',
		"SELECT count FROM steward.error_metrics WHERE datname = 'work' AND sqlstate = '42P01'"),
	'1',
	'error as the first statement of a session is in error_metrics');
$node->psql('work', 'INSERT INTO w_one VALUES (1, 0)');
is( $node->safe_psql(
		'postgres',
		"SELECT count FROM steward.error_metrics WHERE datname = 'work' AND sqlstate = '23505'"),
	'2',
	'unique violation as the first statement of a session is in error_metrics');
is(counts('INSERT'), '12|2|10',
	'INSERT failing as the first statement of a session counts in query_metrics.errors');
# ... and a command's failure counts in its errors even when the session
# has not run that command successfully before.
my $s1 = start_session('work');
is(session_query($s1, 'SELECT count(*) FROM w_two'), '2', 'session ran a SELECT');
session_query($s1, 'UPDATE w_one SET id = 2 WHERE id = 1');
like($s1->{err}, qr/ERROR:  duplicate key value/, 'its first UPDATE failed');
end_session($s1);
is(counts('UPDATE'), '6|1|7',
	'UPDATE failing in a session without an earlier UPDATE counts in query_metrics.errors');

# ---------------------------------------------------------------------------
# (b) steward.save = off: a clean restart starts from zero
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'ALTER SYSTEM SET steward.save = off');
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
# A new backend inherits the postmaster's settings: once it shows "off", the
# postmaster has read the new value.
ok($node->poll_query_until('postgres', 'SHOW steward.save', 'off'),
	'steward.save is off after reload');
isnt(rows_for_work(), '0|0|0|0', 'counters present before the restart');
$since_before = since();
$node->restart;
ok(!-e $stat_file, 'save = off: no file written');
is(rows_for_work(), '0|0|0|0', 'save = off: clean restart starts from zero');
isnt(since(), $since_before, 'save = off: since moved');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET steward.save');
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
ok($node->poll_query_until('postgres', 'SHOW steward.save', 'on'),
	'steward.save is back on');

# ---------------------------------------------------------------------------
# (c) crash of an idle backend: counters start from zero
# ---------------------------------------------------------------------------
run_workload();
is(counts('INSERT'), '11|1|10', 'crash: workload counted before the crash');
my $s   = start_session('work');
my $pid = session_query($s, 'SELECT pg_backend_pid()');
like($pid, qr/^\d+$/, 'crash: idle backend started');
# The idle backend has counted its own statement in its slot.
is(session_query($s, 'SELECT count(*) FROM w_one'), '7', 'crash: idle backend ran a statement');
$since_before = since();
crash_backend($pid, 'crash of an idle backend');
$s->{h}->finish;
is(rows_for_work(), '0|0|0|0', 'crash: counters of "work" start from zero');
is(counts('INSERT'), '', 'crash: INSERT calls are back to 0 (no row)');
isnt(since(), $since_before, 'crash: since moved');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM steward.recent_queries WHERE datname = 'work'"),
	'0',
	'crash: the ring of recent statements starts empty');
# A clean restart after the crash does not bring back what was counted
# before it (the file was removed when it was read at start).
$node->restart;
is(rows_for_work(), '0|0|0|0', 'crash then clean restart: still zero');

# ---------------------------------------------------------------------------
# (c2) an immediate shutdown is a crash too: the next start runs crash
# recovery, and the counters start from zero (as PostgreSQL's own
# statistics do)
# ---------------------------------------------------------------------------
run_workload();
is(counts('INSERT'), '11|1|10', 'immediate: workload counted before the shutdown');
$since_before = since();
my $log_offset = -s $node->logfile;
$node->stop('immediate');
$node->start;
ok( $node->log_contains(
		qr/database system was not properly shut down; automatic recovery in progress/,
		$log_offset),
	'immediate: the start ran crash recovery');
is(rows_for_work(), '0|0|0|0', 'immediate shutdown: counters of "work" start from zero');
isnt(since(), $since_before, 'immediate shutdown: since moved');

# ---------------------------------------------------------------------------
# (d) crash in the middle of a long statement
# ---------------------------------------------------------------------------
run_workload();
my ($sleep_out, $sleep_err) = ('', '');
my $sleeper = IPC::Run::start(
	[
		'psql', '-X', '-A', '-t', '-d',
		$node->connstr('work') . ' application_name=steward_sleeper',
		'-c', 'SELECT pg_sleep(30)'
	],
	'<', \undef, '>', \$sleep_out, '2>', \$sleep_err,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM pg_stat_activity
		  WHERE application_name = 'steward_sleeper' AND wait_event = 'PgSleep'",
		'1'),
	'long statement: pg_sleep is running');
$pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE application_name = 'steward_sleeper'");
$since_before = since();
crash_backend($pid, 'crash during a long statement');
$sleeper->finish;
isnt($sleeper->result(0), 0, 'long statement: its client saw the connection fail');

# The views work and show consistent values.
my ($ret, $out, $err) = $node->psql(
	'postgres', q{
	SELECT count(*) FROM steward.query_metrics;
	SELECT count(*) FROM steward.table_metrics;
	SELECT count(*) FROM steward.latency_histogram;
	SELECT count(*) FROM steward.error_metrics;
	SELECT count(*) FROM steward.slow_queries;
	SELECT count(*) FROM steward.recent_queries;
	SELECT count(*) FROM steward.metrics_info();
	SELECT length(steward.prometheus()) > 0;});
is($ret, 0, 'after the crash every metrics view can be read') or diag($err);
is(rows_for_work(), '0|0|0|0', 'long statement: counters of "work" start from zero');
isnt(since(), $since_before, 'long statement: since moved');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM steward.recent_queries WHERE query LIKE '%pg_sleep(30)%'"),
	'0',
	'the interrupted statement is not in recent_queries');
# Run something and check the values are sane.
run_workload();
is(counts('INSERT'), '11|1|10', 'after the crash: a workload counts exactly');
is( $node->safe_psql(
		'postgres', q{
		SELECT count(*) FROM steward.query_metrics
		 WHERE calls < 0 OR errors < 0 OR rows < 0 OR total_ms < 0
			OR (calls > 0 AND NOT (min_ms <= mean_ms AND mean_ms <= max_ms + 1e-9
								   AND p50_ms <= p95_ms AND p95_ms <= p99_ms AND p99_ms <= max_ms
								   AND stddev_ms >= 0))}),
	'0',
	'after the crash: min <= mean <= max, percentiles ordered, nothing negative');
is( $node->safe_psql(
		'postgres', q{
		SELECT count(*) FROM (SELECT datname, command, sum(calls) AS calls
								FROM steward.query_metrics GROUP BY 1, 2) q
		  FULL JOIN (SELECT datname, command, sum(count) AS n
					   FROM steward.latency_histogram GROUP BY 1, 2) h USING (datname, command)
		 WHERE coalesce(q.calls, 0) <> coalesce(h.n, 0)}),
	'0',
	'after the crash: histogram counts add up to the calls of every database and command');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM steward.recent_queries WHERE at < (SELECT since FROM steward.metrics_info())"),
	'0',
	'after the crash: nothing in recent_queries is older than since');
is( $node->safe_psql(
		'postgres',
		'SELECT backends >= 0 AND memory_bytes > 0 AND tables_tracked >= 2 AND tables_dropped = 0
		   FROM steward.metrics_info()'),
	't',
	'after the crash: metrics_info is sane');

# ---------------------------------------------------------------------------
# reset_metrics(): everything empty, since = now
# ---------------------------------------------------------------------------
# A live backend with counters in its own slot, and retired totals of
# backends that have exited (the workloads above).
$s = start_session('work');
session_query($s, 'SELECT count(*) FROM w_one');
session_query($s, 'UPDATE w_one SET v = 1 WHERE id = 1');
isnt(rows_for_work(), '0|0|0|0', 'reset: counters present before');
is( $node->safe_psql(
		'postgres', q{
		BEGIN;
		SELECT steward.reset_metrics();
		SELECT since >= now() AND since <= clock_timestamp() FROM steward.metrics_info();
		COMMIT;}),
	"\nt",
	'reset: since is the time of the reset');
is(rows_for_work(), '0|0|0|0', 'reset: no query, table, histogram or error rows for "work"');
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM steward.recent_queries WHERE datname = 'work'"),
	'0',
	'reset: recent_queries forgot "work"');
is( $node->safe_psql(
		'postgres',
		'SELECT tables_tracked || \'|\' || tables_dropped FROM steward.metrics_info()'),
	'0|0',
	'reset: no table tracked');
# A failure right after the reset, in a session that counted before it,
# is counted.
session_query($s, 'SELECT 1 / 0');
like($s->{err}, qr/ERROR:  division by zero/, 'reset: a session fails right after the reset');
is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(sqlstate || ':' || count, ' ') FROM steward.error_metrics WHERE datname = 'work'"),
	'22012:1',
	'reset: that failure is in error_metrics');
# The live backend's old counters do not come back when it exits; what it
# does after the reset counts.
session_query($s, 'UPDATE w_one SET v = 2 WHERE id = 2');
is(counts('UPDATE'), '1|0|1', 'reset: a live backend counts from zero afterwards');
end_session($s);
is(counts('UPDATE'), '1|0|1', 'reset: ... also once it has exited');
is(counts('SELECT'), '', 'reset: its SELECT from before the reset is gone');

# ---------------------------------------------------------------------------
# (e) every counter survives a clean restart, those of what did not fit
# included: 540 (user, command) keys retired into totals with room for 512
# leave 28 statements in metrics_info.statements_dropped
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'SELECT steward.reset_metrics()');
$node->safe_psql('work', 'CREATE TABLE k (x int)');
for my $session (1 .. 9)
{
	my $sql = '';
	for my $r (1 .. 10)
	{
		my $role = "k_${session}_$r";
		$node->safe_psql('postgres', "CREATE ROLE $role");
		$node->safe_psql('work', "GRANT ALL ON k TO $role");
		$sql .= qq{SET SESSION AUTHORIZATION $role;
SELECT 1;
INSERT INTO k VALUES (1);
UPDATE k SET x = 2 WHERE false;
DELETE FROM k WHERE false;
MERGE INTO k USING (SELECT 1 AS y) s ON false WHEN NOT MATCHED THEN INSERT VALUES (1);
RESET SESSION AUTHORIZATION;
};
	}
	$node->safe_psql('work', $sql);
}
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) FROM pg_stat_activity WHERE datname = 'work'", '0'),
	'dropped keys: every session has exited (retired its slot)');
my $info_sql = 'SELECT statements_dropped || \'|\' || statements_untraced || \'|\' || tables_dropped
				  || \'|\' || statements_traced FROM steward.metrics_info';
my ($dropped, $untraced, $tables_dropped, $traced) = split /\|/, $node->safe_psql('postgres', $info_sql);
# Which keys find room depends on the order the backends exited in; at
# least the 28 keys of one statement each beyond the 512 are dropped.
cmp_ok($dropped, '>=', 28, "dropped keys: 540 keys into room for 512 leave statements dropped ($dropped)");
$before = snapshot();
$node->restart;
my ($dropped2, $untraced2, $tables_dropped2, $traced2) =
  split /\|/, $node->safe_psql('postgres', $info_sql);
is("$dropped2|$untraced2|$tables_dropped2", "$dropped|$untraced|$tables_dropped",
	'dropped keys: statements_dropped, statements_untraced and tables_dropped survive a clean restart');
ok($traced2 > $traced && $traced2 <= $traced + 5,
	"dropped keys: statements_traced survives a clean restart ($traced, then $traced2)");
is(snapshot(), $before, 'dropped keys: every counter of "work" is identical after the restart');

# ---------------------------------------------------------------------------
# (f) the save file carries a header; a file that does not match this
# server (another file format or PostgreSQL major, another layout, another
# steward.max_tables) or whose contents are damaged is ignored, with a LOG
# line, instead of being loaded
# ---------------------------------------------------------------------------
# Stop cleanly, let change_file alter the file, start, and check what was
# loaded and logged.
sub restart_with_file
{
	my ($what, $change_file, $log_re) = @_;
	$node->stop;
	ok(-e $stat_file, "$what: the clean stop wrote the file");
	$change_file->();
	my $log_offset = -s $node->logfile;
	$node->start;
	ok($node->log_contains($log_re, $log_offset), "$what: the start logs that the file is ignored");
	is(rows_for_work(), '0|0|0|0', "$what: nothing of the file is loaded");
	ok(!-e $stat_file, "$what: the file is removed");
}

# Overwrite bytes of the file at an offset.
sub patch_file
{
	my ($offset, $bytes) = @_;
	open my $fh, '+<:raw', $stat_file or die "open $stat_file: $!";
	seek $fh, $offset, 0;
	print $fh $bytes;
	close $fh;
}

run_workload();
restart_with_file(
	'another file format',
	sub { patch_file(4, pack('L', 999)) },
	qr/LOG:  ignoring pg_steward metrics file "pg_stat\/pg_steward.stat" written by another server layout\n.*DETAIL:  Its file format is 999, this server's is 2\./
);
run_workload();
restart_with_file(
	'another PostgreSQL major',
	sub { patch_file(8, pack('L', 14)) },
	qr/DETAIL:  Its PostgreSQL major version is 14, this server's is \d+\./);
run_workload();
restart_with_file(
	'another struct layout',
	sub { patch_file(20, pack('L', 7)) },
	qr/DETAIL:  Its query counters size is 7, this server's is \d+\./);
run_workload();
restart_with_file(
	'damaged contents',
	sub {
		my $size = -s $stat_file;
		patch_file($size - 3, 'xyz');
	},
	qr/LOG:  ignoring damaged pg_steward metrics file "pg_stat\/pg_steward.stat"/);
run_workload();
restart_with_file(
	'a truncated file',
	sub { truncate $stat_file, 10 or die "truncate: $!" },
	qr/DETAIL:  Its header size is 10, this server's is \d+\./);
# steward.max_tables shapes the file: a server with another one ignores it.
run_workload();
restart_with_file(
	'another steward.max_tables',
	sub { $node->append_conf('postgresql.conf', 'steward.max_tables = 500') },
	qr/DETAIL:  Its steward.max_tables is 1000, this server's is 500\./);
# and a server with the same settings reads it again
run_workload();
$before = snapshot();
$node->restart;
is(snapshot(), $before, 'same layout and settings: the file is read back');

$node->stop;
done_testing();
