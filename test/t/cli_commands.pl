# The pg_steward program: every command on a Flyway-style and a numbered
# directory, --json, --help, bad input (each a one-line error naming the
# file or the cause, nothing registered) and the exit statuses.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JSON::PP;
use StewardNode;

my $node = steward_node('cli');
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');
$node->safe_psql('postgres', 'CREATE DATABASE plain');    # no extension
my $tmp = PostgreSQL::Test::Utils::tempdir;

# steward(ARGS...): run the program against the node; (exit status, stdout, stderr).
sub steward
{
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'pg_steward', '-h', $node->host, '-p', $node->port, '-d', 'postgres', @_ ],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($? >> 8, $out, $err);
}

# write_dir(NAME, FILE => CONTENT, ...): a fresh directory with those files.
sub write_dir
{
	my ($name, %files) = @_;
	my $dir = "$tmp/$name";
	mkdir $dir;
	unlink glob("$dir/*");
	for my $f (keys %files)
	{
		open my $fh, '>:raw', "$dir/$f" or die "$dir/$f: $!";
		print $fh $files{$f};
		close $fh;
	}
	return $dir;
}

sub sql { return $node->safe_psql('postgres', $_[0]); }

sub registered
{
	return sql("SELECT count(*) FROM steward.migration_scripts WHERE module = '$_[0]'");
}

# ---------------------------------------------------------------- help
my ($rc, $out, $err) = steward('--help');
is($rc, 0, '--help exits 0');
like($out, qr/Usage:.*Commands:.*Exit status/s, '--help lists usage, commands, exit statuses');
for my $cmd (qw(status upgrade downgrade current history validate check plan dry-run stamp repair new split capture))
{
	($rc, $out) = steward($cmd, '--help');
	ok($rc == 0 && $out =~ /Usage:\n  pg_steward \[OPTION\]\.\.\. \Q$cmd\E/, "$cmd --help");
}
($rc, $out, $err) = steward('--version');
like($out, qr/^pg_steward \d/, '--version');

# ------------------------------------------------ both directory styles
my %styles = (
	flyway => {
		'V1__create_products.sql' =>
		  "CREATE SCHEMA {{schema}};\nCREATE TABLE {{tables.products}} (id int PRIMARY KEY, name text);\n",
		'U1__create_products.sql' => "DROP SCHEMA {{schema}} CASCADE;\n",
		'V2__add_price.sql'       => "ALTER TABLE {{tables.products}} ADD price numeric;\n",
		'U2__add_price.sql'       => "ALTER TABLE {{tables.products}} DROP price;\n",
		'V10__name_index.sql' =>
		  "-- steward:requires other:1\nCREATE INDEX ix_products_name ON {{tables.products}} (name);\n",
		'U10__name_index.sql' => "DROP INDEX {{schema}}.ix_products_name;\n",
		'README.md'           => "ignored: not a .sql file\n",
	},
	numbered => {
		'001_create_products.sql' =>
		  "CREATE SCHEMA {{schema}};\nCREATE TABLE {{tables.products}} (id int PRIMARY KEY, name text);\n",
		'001_create_products.down.sql' => "DROP SCHEMA {{schema}} CASCADE;\n",
		'002_add_price.up.sql'         => "ALTER TABLE {{tables.products}} ADD price numeric;\n",
		'002_add_price.down.sql'       => "ALTER TABLE {{tables.products}} DROP price;\n",
		'010_name_index.sql' =>
		  "-- steward:requires other:1\nCREATE INDEX ix_products_name ON {{tables.products}} (name);\n",
		'010_name_index.down.sql' => "DROP INDEX {{schema}}.ix_products_name;\n",
	});
# version 10 requires module other at 1
sql("SELECT steward.define_module('other'); SELECT steward.migrate('other', '1', 'SELECT 1')");

for my $style (sort keys %styles)
{
	my $m    = "shop_$style";
	my $dir  = write_dir($style, %{ $styles{$style} });
	my ($v1, $v2, $v10) = $style eq 'flyway' ? ('1', '2', '10') : ('001', '002', '010');
	my @m = ('-m', $m, '-D', $dir);

	($rc, $out, $err) = steward('status', @m, '-s', $m);
	is($rc, 0, "$style: status exits 0");
	like($out, qr/^$v1 +\| create products \| pending \|.*\| V?${v1}_+create_products\.sql$/m,
		"$style: status shows a pending file with its description and file");
	is(registered($m), 0, "$style: status registered nothing");

	($rc, $out, $err) = steward('plan', @m, '-s', $m);
	is($rc, 0, "$style: plan exits 0");
	like($out, qr/-- step 1: apply version $v1, create products .*\n--   CREATE SCHEMA "?$m"?;/,
		"$style: plan shows the expanded SQL");
	like($out, qr/SELECT version, description FROM steward.upgrade\('$m', '$v10'\);\nCOMMIT;/,
		"$style: plan runs each version through steward.upgrade in its own transaction");
	my $plan = $out;
	($rc, $out) = steward('upgrade', '--sql', @m, '-s', $m);
	is($out, $plan, "$style: upgrade --sql prints the plan");

	($rc, $out, $err) = steward('dry-run', @m, '-s', $m);
	is($rc, 0, "$style: dry-run exits 0");
	like($out, qr/^ok +up $v10 .*\ndry run of $m to head: every step ran; nothing was changed$/m,
		"$style: dry-run reports every step ok");
	is(registered($m), 0, "$style: dry-run registered nothing");

	($rc, $out, $err) = steward('upgrade', @m, '-s', $m, '+1');
	is($rc, 0, "$style: upgrade +1 exits 0");
	like($out, qr/^synced .* \($style style, 3 scripts\): 3 added/m, "$style: the sync line");
	like($out, qr/^applied +$v1 +create products +\(\d+\.\d ms\)$/m,
		"$style: one line per step with its duration");
	like($out, qr/^$m is at $v1: 1 applied, 0 skipped/m, "$style: the summary line");

	($rc, $out, $err) = steward('upgrade', @m, '--json');
	is($rc, 0, "$style: upgrade --json exits 0");
	my $j = decode_json($out);
	is_deeply([ map { $_->{version} } @{ $j->{steps} } ], [ $v2, $v10 ],
		"$style: --json lists the applied steps");
	is($j->{current}, $v10, "$style: --json has the current version");
	ok($j->{steps}[0]{duration_ms} > 0 && $j->{steps}[0]{file} =~ /add_price/,
		"$style: --json steps carry duration and file");

	($rc, $out) = steward('current', '-m', $m);
	is($out, "$v10\n", "$style: current");
	($rc, $out) = steward('current', '-m', $m, '--json');
	is(decode_json($out)->{current}, $v10, "$style: current --json");

	($rc, $out) = steward('upgrade', @m);
	like($out, qr/^$m is at $v10: 0 applied, 0 skipped/m, "$style: a second upgrade has nothing to do");

	($rc, $out) = steward('history', '-m', $m);
	like($out, qr/\| $v10 +\| apply \|.*\(3 rows\)/s, "$style: history lists the apply events");
	($rc, $out) = steward('history', '-m', $m, '--json');
	is(scalar @{ decode_json($out) }, 3, "$style: history --json");

	($rc, $out) = steward('validate', @m);
	is($rc, 0, "$style: validate exits 0 when valid");
	like($out, qr/^$m is valid$/m, "$style: validate says so");

	($rc, $out) = steward('check', '-m', $m);
	is($rc, 0, "$style: check exits 0 without drift");
	sql("ALTER TABLE $m.products ADD sku text");
	($rc, $out) = steward('check', '-m', $m);
	is($rc, 1, "$style: check exits 1 on drift");
	like($out, qr/$m\.products \| altered \| column sku added/, "$style: check names the drift");
	($rc, $out) = steward('check', '-m', $m, '--json');
	is(decode_json($out)->[0]{change}, 'altered', "$style: check --json");
	sql("ALTER TABLE $m.products DROP sku");

	($rc, $out, $err) = steward('downgrade', @m);
	is($rc, 0, "$style: downgrade exits 0");
	like($out, qr/^reverted +$v10 +name index/m, "$style: downgrade reverts the highest version");
	($rc, $out) = steward('downgrade', @m, $v1);
	like($out, qr/^reverted +$v2 .*\n$m is at $v1: 1 reverted/m, "$style: downgrade to a version");
	($rc, $out) = steward('downgrade', @m, 'base', '--json');
	is(decode_json($out)->{current}, undef, "$style: downgrade base, --json");
	is(sql("SELECT count(*) FROM pg_namespace WHERE nspname = '$m'"), 0, "$style: the down scripts ran");

	($rc, $out, $err) = steward('stamp', @m, $v2);
	is($rc, 0, "$style: stamp exits 0");
	is(sql("SELECT string_agg(version || ':' || state, ',') FROM steward.status('$m')"),
		"$v1:baseline,$v2:baseline,$v10:pending", "$style: stamp adopted the versions");
	steward('stamp', @m, 'base');

	# A changed applied file is refused until repair accepts it.
	steward('upgrade', @m, $v1);
	my $f1 = (grep { /^0*1_+create_products\.sql$|^V1__/ } keys %{ $styles{$style} })[0];
	write_dir($style . '_changed', %{ $styles{$style} });
	my $changed = "$tmp/${style}_changed";
	open my $fh, '>>', "$changed/$f1" or die;
	print $fh "-- reviewed\n";
	close $fh;
	($rc, $out, $err) = steward('upgrade', '-m', $m, '-D', $changed);
	is($rc, 5, "$style: upgrade of a changed applied file exits 5");
	like($err, qr/^pg_steward: error: cannot register .*: .*checksum mismatch for applied migration $v1/m,
		"$style: the error names the version");
	($rc, $out) = steward('validate', '-m', $m, '-D', $changed);
	is($rc, 1, "$style: validate exits 1 on the changed file");
	($rc, $out, $err) = steward('repair', '-m', $m, '-D', $changed, $v1);
	is($rc, 2, "$style: repair without --reason is a usage error");
	($rc, $out, $err) = steward('repair', '-m', $m, '-D', $changed, $v1, '--reason', 'comment added');
	is($rc, 0, "$style: repair --reason exits 0");
	($rc, $out, $err) = steward('upgrade', '-m', $m, '-D', $changed);
	is($rc, 0, "$style: upgrade works after repair");
	is(sql("SELECT detail->>'reason' FROM steward.history WHERE module = '$m' AND event = 'repair'"),
		'comment added', "$style: the repair is in the history");

	# new: the next file in the directory's style
	($rc, $out) = steward('new', '-D', $dir, 'Add SKU!', '--down');
	my ($up, $down) = split /\n/, $out;
	if ($style eq 'flyway')
	{
		like($up, qr{/V11__add_sku\.sql$}, "$style: new names the next file");
		like($down, qr{/U11__add_sku\.sql$}, "$style: new --down names its undo file");
	}
	else
	{
		like($up, qr{/011_add_sku\.sql$}, "$style: new keeps the zero padding");
		like($down, qr{/011_add_sku\.down\.sql$}, "$style: new --down names its down file");
	}
	ok(-f $up && -f $down, "$style: new created both files");
}

# A plan runs as it is under psql and leaves the same state as upgrade.
{
	my $dir = write_dir('planned', %{ $styles{flyway} });
	my ($rc2, $script) = steward('plan', '-m', 'planned', '-s', 'planned', '-D', $dir);
	my ($ret, $o, $e) = $node->psql('postgres', $script, on_error_stop => 1);
	is($ret, 0, 'psql runs the plan') or diag($e);
	is(sql("SELECT string_agg(version || ':' || state, ',') FROM steward.status('planned')"),
		'1:applied,2:applied,10:applied', 'the plan applied every version through steward');
}

# ----------------------------------------------------------- bad input
my %bad = (
	'unreadable file' => [ { 'V1__a.sql' => 'SELECT 1' }, qr{V1__a\.sql: cannot read: Permission denied},
		sub { chmod 0, "$_[0]/V1__a.sql" } ],
	'name that fits no style' =>
	  [ { 'V1__a.sql' => 'SELECT 1', 'notes.sql' => 'SELECT 2' }, qr{fits no migration style: notes\.sql} ],
	'duplicate versions' => [ { 'V1__a.sql' => 'SELECT 1', 'V01__b.sql' => 'SELECT 2' },
		qr{version 1 is defined twice: V01__b\.sql and V1__a\.sql} ],
	'mixed styles' => [ { 'V1__a.sql' => 'SELECT 1', 'V2__b.sql' => 'SELECT 1', '3_c.sql' => 'SELECT 3' },
		qr{mixes the flyway style \(2 files\) with the numbered style: 3_c\.sql} ],
	'non-UTF-8 content' => [ { 'V1__a.sql' => 'SELECT 1', 'V2__b.sql' => "SELECT 'caf\xe9'" },
		qr{V2__b\.sql: line 1: not valid UTF-8 \(byte 0xe9 at offset 11\)} ],
	'empty script'     => [ { 'V1__a.sql' => "  \n" }, qr{V1__a\.sql: the script is empty} ],
	'orphan down file' => [ { '1_a.sql' => 'SELECT 1', '2_b.down.sql' => 'SELECT 2' },
		qr{2_b\.down\.sql: down script of version 2, which has no up file} ],
	'NUL byte' => [ { 'V1__a.sql' => "SELECT 1;\n\0" }, qr{V1__a\.sql: line 2: contains a NUL byte} ],
);
for my $case (sort keys %bad)
{
	my ($files, $re, $prepare) = @{ $bad{$case} };
	(my $name = $case) =~ s/\W+/_/g;
	my $dir = write_dir("bad_$name", %$files);
	$prepare->($dir) if $prepare;
	($rc, $out, $err) = steward('upgrade', '-m', "bad_$name", '-D', $dir);
	is($rc, 3, "$case: exit status 3");
	like($err, qr/\Apg_steward: error: \Q$dir\E.*$re.*\n\z/, "$case: one line naming the file");
	is(registered("bad_$name"), 0, "$case: nothing registered");
}
{
	# one bad script among good ones: the sync is one transaction
	my $dir = write_dir('half', 'V1__a.sql' => 'CREATE TABLE half_a (id int)', 'V2__b.sql' => 'CREATE TABLE (',
		'V3__c.sql' => 'CREATE TABLE half_c (id int)');
	($rc, $out, $err) = steward('upgrade', '-m', 'half', '-D', $dir);
	is($rc, 5, 'a script the server refuses: exit status 5');
	like($err, qr/\Apg_steward: error: cannot register .*: V2__b\.sql: up_sql of migration 2 of module "half" is not valid SQL/,
		'the error names the file');
	is(registered('half'), 0, 'nothing is half-registered');
	is(sql("SELECT count(*) FROM steward.modules WHERE module = 'half'"), 0, 'not even the module');
}
{
	my $dir = write_dir('failing', 'V1__a.sql' => 'CREATE TABLE fail_a (id int)',
		'V2__b.sql' => 'INSERT INTO fail_a VALUES (1/0)');
	($rc, $out, $err) = steward('upgrade', '-m', 'failing', '-D', $dir);
	is($rc, 5, 'a failing migration: exit status 5');
	like($out, qr/^applied +1 /m, 'the migration before it is applied');
	like($err, qr/^pg_steward: error: migration 2 of module "failing" failed: division by zero \(V2__b\.sql\)$/m,
		'the error names the migration, the cause and the file');
	is(sql("SELECT steward.current('failing')"), '1', 'the migration before it stays');
	($rc, $out, $err) = steward('dry-run', '-m', 'failing', '-D', $dir);
	is($rc, 1, 'dry-run exits 1 when a step fails');
	like($out, qr/^error +up 2: migration 2 of module "failing" failed: division by zero/m, 'dry-run names the error');
	($rc, $out) = steward('dry-run', '-m', 'failing', '-D', $dir, '--json');
	is(decode_json($out)->{ok}, JSON::PP::false, 'dry-run --json');
}

($rc, $out, $err) = steward('status', '-m', 'x', '-D', "$tmp/does_not_exist");
is($rc, 3, 'missing directory: exit status 3');
like($err, qr/cannot open the migration directory: No such file or directory\n\z/, 'missing directory: named');

{
	my ($o, $e) = ('', '');
	IPC::Run::run([ 'pg_steward', '-h', $node->host, '-p', '1', '-d', 'postgres', 'current', '-m', 'x' ],
		'<', \undef, '>', \$o, '2>', \$e);
	is($? >> 8, 4, 'connection failure: exit status 4');
	like($e, qr/\Apg_steward: error: connection failed: [^\n]*\n\z/, 'connection failure: one line');
	IPC::Run::run([ 'pg_steward', '-h', $node->host, '-p', $node->port, '-d', 'plain', 'current', '-m', 'x' ],
		'<', \undef, '>', \$o, '2>', \$e);
	is($? >> 8, 4, 'no extension: exit status 4');
	like($e, qr/\Apg_steward: error: database "plain" has no pg_steward extension[^\n]*\n\z/,
		'no extension: one line');
	IPC::Run::run([ 'pg_steward', '-d', sprintf('host=%s port=%s dbname=postgres', $node->host, $node->port),
			'current', '-m', 'shop_flyway' ], '<', \undef, '>', \$o, '2>', \$e);
	is($o, "10\n", 'a conninfo string as -d');
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGDATABASE} = 'postgres';
	IPC::Run::run([ 'pg_steward', 'current', '-m', 'shop_flyway' ], '<', \undef, '>', \$o, '2>', \$e);
	is($o, "10\n", 'PG* environment variables');
}

($rc, $out, $err) = steward('frobnicate');
is($rc, 2, 'unknown command: exit status 2');
($rc, $out, $err) = steward('upgrade');
is($rc, 2, 'missing --module: exit status 2');
like($err, qr/upgrade needs --module NAME/, 'missing --module: said');
($rc, $out, $err) = steward('status', '--bogus');
is($rc, 2, 'unknown option: exit status 2');

# ----------------------------------------- repeatable scripts, removed files
{
	my $dir = write_dir('repeatable', 'V1__a.sql' => 'CREATE TABLE rep_a (id int)',
		'R__view.sql' => 'CREATE OR REPLACE VIEW rep_v AS SELECT * FROM rep_a');
	($rc, $out, $err) = steward('upgrade', '-m', 'rep', '-D', $dir);
	is($rc, 0, 'repeatable scripts are registered with register_set');
	is(sql("SELECT string_agg(version || ':' || state, ',') FROM steward.status('rep')"),
		'1:applied,R__view:applied', 'the repeatable script is applied after the versioned one');
}
{
	my $dir = write_dir('removed', 'V1__a.sql' => 'SELECT 1', 'V2__b.sql' => 'SELECT 2',
		'V3__c.sql' => 'SELECT 3');
	steward('upgrade', '-m', 'removed', '-D', $dir, '1');
	steward('status', '-m', 'removed', '-D', $dir);
	unlink "$dir/V3__c.sql";
	($rc, $out, $err) = steward('upgrade', '-m', 'removed', '-D', $dir);
	is($rc, 0, 'a run after a pending file was deleted exits 0');
	is(registered('removed'), 2, 'a deleted pending file is unregistered on the next run');
	like($out, qr/^synced .*: 0 added, 0 updated, 1 removed$/m, 'and the run says so');
	# the first run registered 3 and applied 1; the second applied 2, not 3
	is(sql("SELECT steward.current('removed')"), '2', 'nothing that has no file was applied');
}

# split: a no-transaction step's statements, one by one
{
	my $dir = write_dir('split', 'V1__idx.sql' => <<'EOS');
-- steward:no-transaction
CREATE INDEX CONCURRENTLY ix_a ON t (a);   -- a ; in a comment
/* block ; /* nested ; */ */
SELECT 'it''s; fine', E'\'; still', "odd;name" FROM t;
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$;
CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END;
CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b);
;
SELECT $1, $$x;y$$
EOS
	($rc, $out) = steward('split', "$dir/V1__idx.sql");
	my @stmts = ($out =~ /^-- statement \d+ of (\d+), line (\d+)$/mg);
	is($stmts[0], 6, 'split finds 6 statements');
	is_deeply([ @stmts[ map { 2 * $_ + 1 } 0 .. 5 ] ], [ 2, 4, 5, 6, 7, 9 ], 'on their lines');
	like($out, qr/CREATE FUNCTION g\(\) .*BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END;\n/,
		'a BEGIN ATOMIC body stays one statement');
	like($out, qr/DO ALSO \(NOTIFY a; NOTIFY b\);\n/, 'parentheses keep a rule together');
	like($out, qr/E'\\'; still', "odd;name" FROM t;\n/, 'quotes and escapes keep a statement together');
}

# ---------------------------------------------------------------- capture
# DDL run outside migrations becomes migration VERSION: written as a file in
# the directory's style (with its down file when every statement has an
# inverse), registered and applied in the same transaction; the directory
# and the server agree afterwards (check, validate, upgrade, downgrade).
{
	my $m   = 'capt_flyway';
	my $dir = write_dir($m,
		'V1__items.sql' => "CREATE SCHEMA {{schema}};\nCREATE TABLE {{tables.items}} (id int PRIMARY KEY);\n");
	($rc, $out, $err) = steward('upgrade', '-m', $m, '-s', $m, '-D', $dir);
	is($rc, 0, 'capture: the module is upgraded') or diag($err);
	sql("ALTER TABLE $m.items ADD COLUMN note text; CREATE INDEX ix_items_note ON $m.items (note)");
	($rc, $out, $err) = steward('check', '-m', $m);
	is($rc, 1, 'capture: check sees the ad-hoc DDL as drift first');

	($rc, $out, $err) = steward('capture', '2', '-m', $m, '-D', $dir, '--description', 'Hotfix: note');
	is($rc, 0, 'capture exits 0') or diag($err);
	is($out, "$dir/V2__hotfix_note.sql\n$dir/U2__hotfix_note.sql\n",
		'capture prints the V and U files it wrote, named in the Flyway style');
	is(slurp_file("$dir/V2__hotfix_note.sql"),
		"ALTER TABLE $m.items ADD COLUMN note text;\nCREATE INDEX ix_items_note ON $m.items (note);",
		'the V file holds the captured statements in order');
	is(slurp_file("$dir/U2__hotfix_note.sql"),
		"DROP INDEX $m.ix_items_note;\nALTER TABLE $m.items DROP COLUMN note;\n",
		'the U file holds their inverses, last first');
	is(sql("SELECT string_agg(version || ':' || state, ',') FROM steward.status('$m')"),
		'1:applied,2:baseline', 'version 2 is registered and applied (baseline: it already ran)');
	is(sql("SELECT description FROM steward.migration_scripts WHERE module = '$m' AND version = '2'"),
		'Hotfix: note', 'with its description');
	($rc, $out, $err) = steward('check', '-m', $m);
	is($rc, 0, 'check is clean after capture') or diag($out);
	($rc, $out, $err) = steward('validate', '-m', $m, '-D', $dir);
	is($rc, 0, 'validate: the written file matches the registered checksum') or diag($out, $err);
	($rc, $out, $err) = steward('upgrade', '-m', $m, '-D', $dir);
	like($out, qr/^$m is at 2: 0 applied, 0 skipped/m, 'upgrade from the directory has nothing to do');
	($rc, $out, $err) = steward('downgrade', '-m', $m, '-D', $dir);
	is($rc, 0, 'downgrade runs the U file') or diag($err);
	is(sql("SELECT count(*) FROM pg_attribute WHERE attrelid = '$m.items'::regclass AND attname = 'note'"),
		0, 'which undid the capture');
	($rc, $out, $err) = steward('upgrade', '-m', $m, '-D', $dir);
	like($out, qr/^applied +2 +hotfix note /m, 'and the V file applies it again');

	($rc, $out, $err) = steward('capture', '3', '-m', $m, '-D', $dir);
	is($rc, 5, 'nothing to capture: exit status 5');
	like($err, qr/\Apg_steward: error: nothing to capture in schema "$m"\nhint: [^\n]+\n\z/,
		'nothing to capture: one error line and its hint');
	ok(!glob("$dir/*3__*"), 'nothing to capture: no file written');
	is(sql("SELECT count(*) FROM steward.migration_scripts WHERE module = '$m' AND version = '3'"), 0,
		'nothing to capture: nothing registered');
	($rc, $out, $err) = steward('capture', '2', '-m', $m, '-D', $dir);
	is($rc, 3, 'a VERSION the directory has: exit status 3');
	like($err, qr/\Apg_steward: error: \Q$dir\E already has a file for version 2\n\z/, '... saying so');
	sql("ALTER TABLE $m.items ADD COLUMN extra int");
	($rc, $out, $err) = steward('capture', '1.5', '-m', $m, '-D', $dir);
	is($rc, 5, 'a VERSION below the current one: exit status 5');
	like($err, qr/\Apg_steward: error: cannot capture module "$m" as version 1\.5: it is at version 2\n/,
		'... saying so');
	sql("ALTER TABLE $m.items DROP COLUMN extra");
}
{
	my $m   = 'capt_numbered';
	my $dir = write_dir($m,
		'001_items.sql' => "CREATE SCHEMA {{schema}};\nCREATE TABLE {{tables.items}} (id int PRIMARY KEY);\n",
		'002_label.sql' => "ALTER TABLE {{tables.items}} ADD label text;\n");
	steward('upgrade', '-m', $m, '-s', $m, '-D', $dir, '001');
	sql("SET search_path = $m; ALTER TABLE items ALTER COLUMN id TYPE bigint");
	($rc, $out, $err) = steward('capture', '003', '-m', $m, '-D', $dir);
	is($rc, 5, 'capture above a pending version: exit status 5');
	like($err, qr/\Apg_steward: error: cannot capture module "$m" as version 003: version 002 is pending\n/,
		'... saying so');
	like($err, qr/^hint: The DDL ran before it: capture as a version between 001 and 002/m,
		'... and where it belongs');
	ok(!-e "$dir/003_captured.sql", 'capture refused: no file written');
	($rc, $out, $err) = steward('capture', '001.1', '-m', $m, '-D', $dir, '--json');
	is($rc, 0, 'numbered: capture between the current and the pending version exits 0') or diag($err);
	is_deeply(decode_json($out), { file => "$dir/001.1_captured.sql", down_file => undef },
		'numbered: <version>_<description>.sql and, with no inverse for ALTER COLUMN TYPE, no down file');
	($rc, $out, $err) = steward('upgrade', '-m', $m, '-D', $dir);
	like($out, qr/^applied +002 .*\n$m is at 002: 1 applied/m, 'the pending version applies after it');
	is(sql("SELECT string_agg(version || ':' || state, ',') FROM steward.status('$m')"),
		'001:applied,001.1:baseline,002:applied', 'in version order');
	is(slurp_file("$dir/001.1_captured.sql"), 'ALTER TABLE items ALTER COLUMN id TYPE bigint;',
		'the statement is kept as it was typed (unqualified)');
	is(sql("SELECT down_sql IS NULL FROM steward.migration_scripts WHERE module = '$m' AND version = '001.1'"),
		't', 'and is registered without down_sql');
	($rc, $out, $err) = steward('check', '-m', $m);
	is($rc, 0, 'numbered: check is clean after capture');

	sql("ALTER TABLE $m.items ADD COLUMN qty int");
	($rc, $out, $err) = steward('capture', '004', '-m', $m, '-D', $dir, '--description', 'Add qty');
	is($out, "$dir/004_add_qty.sql\n$dir/004_add_qty.down.sql\n", 'numbered: the .down.sql file too');
	is(slurp_file("$dir/004_add_qty.down.sql"), "ALTER TABLE $m.items DROP COLUMN qty;\n",
		'numbered: holding the inverse');
	($rc, $out, $err) = steward('validate', '-m', $m, '-D', $dir);
	is($rc, 0, 'numbered: the directory validates');
}

$node->stop;
done_testing();
