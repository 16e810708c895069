# pg_steward in a Citus cluster (DESIGN.md section 7): a coordinator and two
# workers on loopback, shared_preload_libraries = 'citus,pg_steward' and both
# extensions on every node, the coordinator in Citus's metadata (so it holds
# a copy of every reference table, and Citus runs DDL on that copy in the
# user's own session).
#
# (a) In a schema managed on every node (mode enforce), CREATE TABLE +
#     create_distributed_table / create_reference_table work: the
#     coordinator's table gets the injected columns, its primary key and
#     triggers; no shard (products_102008 is not plural) is judged, injected
#     into or logged, on the workers or on the coordinator: every shard has
#     exactly the coordinator's columns, one primary key and its triggers.
#     A table conversion (alter_distributed_table) works too: the table it
#     builds is Citus's.  The conventions still judge the coordinator's
#     tables, also by unqualified names.
# (b) Migrations on the coordinator in a schema whose DDL is reserved to
#     migrations on every node: the distributed and reference tables are
#     created and altered through Citus (every shard changes once), each
#     migration is recorded once (on the coordinator only), check() and
#     lint() are clean afterwards, also when Citus shows shards; DDL outside
#     a migration is still refused on the coordinator.  The rewrite guard
#     judges a distributed table by its shards' size, and says when Citus
#     cannot measure them.
# (c) Audit of a distributed table records each changed row once -- rows
#     written through the coordinator, routed by Citus to the workers, and
#     rows written on a worker -- under the table's own name; a reference
#     table's rows once (on the coordinator); a TRUNCATE once; all readable
#     from the coordinator in steward.cluster_audit_log.
# (d) steward.cluster_query_metrics shows every node's counters with its
#     node (host:port); a database used on one worker only shows up there
#     only, with that worker's exact count.
# (e) A node the caller may not read fails the cluster view, naming it.
# (f) Citus's application_name is no credential: a non-superuser who takes
#     one of Citus's prefixes, on the coordinator or connected directly to a
#     worker, is judged like any other session -- the guard refuses DDL
#     outside a migration, the conventions judge, columns are injected, the
#     DDL log records it under the role and the name it claimed.
# (g) A non-superuser's migrations, with the schema's policy on the
#     coordinator only: Citus replays them on the workers as that role, and
#     every shard changes; the workers judge that replay like the role's
#     own DDL (steward cannot tell them apart): their DDL log records it,
#     and a ddl => 'migrations' policy on a worker refuses it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardNode;

my $pg_config = $ENV{PG_CONFIG} || 'pg_config';
my $sharedir = `$pg_config --sharedir`;
chomp $sharedir;
plan skip_all => "Citus is not installed in this PostgreSQL ($sharedir/extension/citus.control)"
  unless -f "$sharedir/extension/citus.control";

my %node;
for my $name (qw(coordinator worker1 worker2))
{
	my $n = steward_node($name);
	$n->append_conf(
		'postgresql.conf', qq{
shared_preload_libraries = 'citus,pg_steward'
listen_addresses = '127.0.0.1'
max_prepared_transactions = 100
citus.shard_count = 8
citus.enable_unsafe_triggers = on
citus.local_hostname = '127.0.0.1'
});
	$n->start;
	$n->safe_psql('postgres', 'CREATE EXTENSION citus; CREATE EXTENSION pg_steward');
	$node{$name} = $n;
}
my $c = $node{coordinator};
my @workers = ($node{worker1}, $node{worker2});
my %addr = map { $_ => '127.0.0.1:' . $node{$_}->port } keys %node;

$c->safe_psql('postgres',
	"SELECT citus_set_coordinator_host('127.0.0.1', " . $c->port . ')');
$c->safe_psql('postgres', "SELECT citus_add_node('127.0.0.1', " . $_->port . ')')
  for @workers;
is($c->safe_psql('postgres', 'SELECT count(*) FROM pg_dist_node'), '3', 'three nodes');

# run SQL on the coordinator; its stderr must stay empty (no warning)
sub on_coordinator
{
	my ($sql, $what) = @_;
	my ($ret, $out, $err) = $c->psql('postgres', $sql);
	is("$ret|$err", '0|', "$what: no error, no warning");
	return $out;
}

# one line per relation of a schema on a node, shards included:
# name|columns|primary keys|triggers
sub relations
{
	my ($n, $schema, $like) = @_;
	return $n->safe_psql(
		'postgres', qq{
		SET citus.show_shards_for_app_name_prefixes = '*';
		SELECT string_agg(format('%s|%s|%s|%s', c.relname,
				(SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_attribute a
				  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
				(SELECT count(*) FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p'),
				(SELECT count(*) FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal)),
			E'\\n' ORDER BY c.relname)
		  FROM pg_class c
		 WHERE c.relnamespace = '$schema'::regnamespace AND c.relkind = 'r' AND c.relname LIKE '$like'});
}

# (a) conventions and injection on the coordinator's tables, never on shards
on_coordinator('CREATE SCHEMA shop', 'schema');
$_->safe_psql('postgres', "SELECT steward.manage_schema('shop')") for values %node;
on_coordinator(
	q{CREATE TABLE shop.products (sku text NOT NULL, name text);
	  SELECT create_distributed_table('shop.products', 'id');
	  CREATE TABLE shop.categories (name text NOT NULL);
	  SELECT create_reference_table('shop.categories');
	  SET search_path = shop, public;
	  CREATE TABLE suppliers (name text NOT NULL);
	  SELECT create_distributed_table('suppliers', 'id');},
	'distributed and reference tables in a managed schema');
my $cols = 'id,created,updated,href';
is( relations($c, 'shop', '%'),
	"categories|name,$cols|1|5\ncategories_102016|name,$cols|1|5\n"
	  . "products|sku,name,$cols|1|5\nsuppliers|name,$cols|1|5",
	'coordinator: injected columns, primary key, audit and touch_updated triggers; '
	  . 'its copy of the reference table the same');
is($c->safe_psql('postgres', q{SELECT conname FROM pg_constraint WHERE conrelid = 'shop.products'::regclass AND contype = 'p'}),
	'pk_products', 'primary key named by the conventions');
my %shards;
for my $w (@workers)
{
	for my $line (split /\n/, relations($w, 'shop', '%\_1%'))
	{
		my ($shard, $rest) = split /\|/, $line, 2;
		(my $table = $shard) =~ s/_\d+$//;
		$shards{$table}++;
		my %want = (
			products => "sku,name,$cols|1|5",
			categories => "name,$cols|1|5",
			suppliers => "name,$cols|1|5");
		is($rest, $want{$table}, $w->name . ": shard $shard has the coordinator's columns, one key, its triggers");
	}
}
is_deeply(\%shards, { products => 8, suppliers => 8, categories => 2 },
	'eight shards per distributed table, a copy of the reference table per worker');
for my $n (values %node)
{
	is($n->safe_psql('postgres', q{SELECT count(*) FROM steward.ddl_log WHERE object_identity ~ '_[0-9]{6}\M'}),
		'0', $n->name . ': no shard DDL logged');
}
is($_->safe_psql('postgres', q{SELECT count(*) FROM steward.ddl_log WHERE schema_name = 'shop'}),
	'0', $_->name . ': DDL Citus replays on a worker is not logged there') for @workers;
on_coordinator(
	q{SET client_min_messages = warning;
	  SELECT alter_distributed_table('shop.suppliers', shard_count := 4, cascade_to_colocated := false);},
	'a table conversion in a managed schema');
is(relations($c, 'shop', 'suppliers%'), "suppliers|name,$cols|1|5",
	'the converted table as before (its intermediate copy was not injected into)');
is($node{worker1}->safe_psql('postgres', q{
	SET citus.show_shards_for_app_name_prefixes = '*';
	SELECT count(*) FROM pg_class WHERE relname LIKE 'suppliers\_%' AND relkind = 'r'}),
	'2', 'its new shards');
my ($ret, $out, $err) = $c->psql('postgres',
	q{SET search_path = shop, public; CREATE TABLE product (x text)});
like($err, qr/ERROR:  table name "product" does not follow the naming convention of schema "shop"/,
	'the coordinator still judges an unqualified table name under another search_path');

# (b) migrations on the coordinator reach every shard once, recorded once
on_coordinator('CREATE SCHEMA store', 'schema for migrations');
$_->safe_psql('postgres', "SELECT steward.manage_schema('store', ddl => 'migrations', audit => false)")
  for values %node;
is( on_coordinator(
		q{SELECT steward.define_module('store', 'store');
		  SELECT steward.migrate('store', '1',
			$m$CREATE TABLE store.orders (total numeric NOT NULL);
			   SELECT create_distributed_table('store.orders', 'id');
			   CREATE TABLE store.regions (name text NOT NULL);
			   SELECT create_reference_table('store.regions');$m$);
		  SELECT steward.register('store', '2',
			$m$CREATE INDEX ix_orders_total ON store.orders (total);
			   ALTER TABLE store.orders ADD COLUMN note text;
			   ALTER TABLE store.regions ADD COLUMN code text;$m$);
		  SELECT version FROM steward.upgrade('store');},
		'migrations creating and altering distributed tables'),
	"\napplied\n\n2",
	'migration 1 applied by migrate(), 2 by upgrade()');
my $altered = 0;
for my $n (values %node)
{
	for my $line (split /\n/, relations($n, 'store', '%\_1%'))
	{
		$altered++;
		like($line, qr/^(orders_\d+\|total,$cols,note|regions_\d+\|name,$cols,code)\|1\|1$/,
			$n->name . ": $line changed once");
	}
	is($n->safe_psql('postgres', q{
		SET citus.show_shards_for_app_name_prefixes = '*';
		SELECT count(*) FROM pg_class c JOIN pg_index x ON x.indrelid = c.oid
		 WHERE c.relname LIKE 'orders\_1%' AND x.indexrelid::regclass::text LIKE 'store.ix\_orders\_total\_%'}),
		$n == $c ? '0' : '4', $n->name . ': the new index on each of its shards');
}
is($altered, 8 + 3, 'every shard and every copy of the reference table');
is($c->safe_psql('postgres', q{SELECT string_agg(version, ',' ORDER BY version) FROM steward.migrations WHERE module = 'store'}),
	'1,2', 'coordinator: both migrations recorded once');
is($c->safe_psql('postgres', q{SELECT count(*) FROM steward.ddl_log WHERE command_tag = 'ALTER TABLE' AND schema_name = 'store'}),
	'2', 'coordinator: each ALTER TABLE logged once, for the distributed table');
is($_->safe_psql('postgres', 'SELECT count(*) FROM steward.migrations'), '0',
	$_->name . ': no migration recorded on a worker') for @workers;
is($c->safe_psql('postgres', q{SELECT count(*) FROM steward.check('store')}), '0', 'check() clean');
is($c->safe_psql('postgres', q{SET citus.show_shards_for_app_name_prefixes = '*';
	SELECT count(*) FROM steward.check('store')}), '0', 'check() clean while Citus shows shards');
is($c->safe_psql('postgres', q{SET citus.show_shards_for_app_name_prefixes = '*';
	SELECT string_agg(rule || ' ' || object_identity, ', ') FROM steward.lint('store')}), '',
	'lint() clean while Citus shows shards');
($ret, $out, $err) = $c->psql('postgres', 'ALTER TABLE store.orders ADD COLUMN stray int');
like($err, qr/ERROR:  DDL on store\.orders is allowed only inside a steward migration/,
	'DDL outside migrations still refused on the coordinator');
is(relations($node{worker1}, 'store', 'orders\_1%') =~ /stray/ ? 'changed' : 'unchanged',
	'unchanged', 'and no shard changed');

# The rewrite guard judges a distributed table by its shards' size (the
# coordinator's table is empty); where Citus cannot measure them (the
# transaction already changed several shards) it says so and lets it run.
$c->safe_psql('postgres', q{INSERT INTO store.orders (total) SELECT g FROM generate_series(1, 5000) g});
($ret, $out, $err) = $c->psql('postgres', q{SET steward.rewrite_guard_mb = 0.2;
	SELECT steward.migrate('store', '3', 'ALTER TABLE store.orders ALTER COLUMN total TYPE text')});
like($err, qr/DETAIL:  ALTER TABLE would rewrite table store\.orders \(\d+ kB\) under an ACCESS EXCLUSIVE lock/,
	'the rewrite guard refuses to rewrite the shards of a distributed table');
cmp_ok(($err =~ /store\.orders \((\d+) kB\)/)[0], '>', 200, 'judged by the size of its shards');
($ret, $out, $err) = $c->psql('postgres', q{SET steward.rewrite_guard_mb = 0.2;
	SELECT steward.migrate('store', '3',
		'ALTER TABLE store.orders ADD COLUMN flag int; ALTER TABLE store.orders ALTER COLUMN total TYPE text')});
is($out, 'applied', 'after other DDL on its shards in the same transaction');
like($err, qr/WARNING:  the rewrite guard cannot measure the distributed table orders here/,
	'the guard says it could not judge');
is($c->safe_psql('postgres', q{SELECT count(*) FROM steward.check('store')}), '0', 'check() clean');

# (c) audit: each changed row once, under the table's name
on_coordinator(
	q{INSERT INTO shop.products (sku, name) SELECT 'sku' || g, 'product ' || g FROM generate_series(1, 10) g;
	  UPDATE shop.products SET name = 'first' WHERE id = (SELECT id FROM shop.products WHERE sku = 'sku1');
	  INSERT INTO shop.categories (name) VALUES ('tools'), ('toys');},
	'writes through the coordinator');
$node{worker1}->safe_psql('postgres',
	q{INSERT INTO shop.products (sku, name) VALUES ('w1', 'from a worker'), ('w2', 'from a worker'), ('w3', 'from a worker')});
on_coordinator(
	q{UPDATE shop.products SET name = name || '!';
	  DELETE FROM shop.products WHERE sku = 'sku2';},
	'multi-shard update and a delete');
my $ids = $c->safe_psql('postgres',
	q{SELECT string_agg(id::text, ',' ORDER BY id::text COLLATE "C") FROM shop.products});
on_coordinator('TRUNCATE shop.products', 'truncate');
my $audit = q{
	SELECT string_agg(format('%s.%s %s %s', schema_name, table_name, op, n), E'\n'
					   ORDER BY schema_name, table_name, op COLLATE "C")
	  FROM (SELECT schema_name, table_name, op, count(*) AS n FROM steward.cluster_audit_log
			 GROUP BY 1, 2, 3) s};
is( $c->safe_psql('postgres', $audit),
	"shop.categories INSERT 2\nshop.products DELETE 1\nshop.products INSERT 13\n"
	  . "shop.products TRUNCATE 1\nshop.products UPDATE 14",
	'cluster_audit_log: every row change once, under the table name, and one TRUNCATE');
is( $c->safe_psql('postgres', q{
		SELECT string_agg(row_id, ',' ORDER BY row_id COLLATE "C") FROM steward.cluster_audit_log
		 WHERE table_name = 'products' AND op = 'INSERT' AND row_id <> (
			SELECT row_id FROM steward.cluster_audit_log WHERE op = 'DELETE')}),
	$ids, 'the inserted rows are the table\'s rows, each once');
is( $c->safe_psql('postgres', q{
		SELECT count(*) FILTER (WHERE a.node = s.nodename || ':' || s.nodeport) || ' of ' || count(*)
		  FROM steward.cluster_audit_log a
		  JOIN citus_shards s
			ON s.shardid = get_shard_id_for_distribution_column('shop.products', a.row_id::uuid)
		 WHERE a.table_name = 'products' AND a.op <> 'TRUNCATE'}),
	'28 of 28', 'each distributed row is recorded on the worker that holds its shard');
is( $c->safe_psql('postgres', q{
		SELECT string_agg(DISTINCT node || ' ' || op, ',') FROM steward.cluster_audit_log
		 WHERE table_name = 'categories' OR op = 'TRUNCATE'}),
	"$addr{coordinator} INSERT,$addr{coordinator} TRUNCATE",
	'reference table rows and the TRUNCATE once, on the coordinator');
is( $c->safe_psql('postgres', q{
		SELECT count(*) FROM steward.cluster_audit_log
		 WHERE table_name = 'products' AND op = 'UPDATE' AND new_row->>'name' LIKE '%!'
		   AND old_row->>'sku' = new_row->>'sku'}),
	'13', 'update rows carry the old and the new row');

# (d) every node's metrics, with its node
is($c->safe_psql('postgres', q{SELECT string_agg(DISTINCT node, ',' ORDER BY node) FROM steward.cluster_query_metrics}),
	join(',', sort values %addr), 'cluster_query_metrics: one node per member of the cluster');
$node{worker2}->safe_psql('postgres', 'CREATE DATABASE probe');
$node{worker2}->safe_psql('probe', 'SELECT 1') for 1 .. 7;
is( $c->safe_psql('postgres', q{
		SELECT string_agg(format('%s %s %s', node, command, calls), ',')
		  FROM steward.cluster_query_metrics WHERE datname = 'probe'}),
	"$addr{worker2} SELECT 7", 'a database used on one worker: its counters, on that node only');
# A node's own keys (database, user, command) before and after reading the
# cluster view bracket what the view shows of it (reading adds keys).
sub keys_of
{
	my ($n, $from, $where) = @_;
	return {
		map { $_ => 1 } split /,/, $n->safe_psql('postgres', qq{
		SELECT string_agg(format('%s/%s/%s', datname, username, command), ',')
		  FROM $from WHERE datname = 'postgres' $where}) };
}
for my $name (sort keys %node)
{
	my $before = keys_of($node{$name}, 'steward.query_metrics', '');
	my $seen = keys_of($c, 'steward.cluster_query_metrics', "AND node = '$addr{$name}'");
	my $after = keys_of($node{$name}, 'steward.query_metrics', '');
	ok( !(grep { !$seen->{$_} } keys %$before) && !(grep { !$after->{$_} } keys %$seen)
		  && keys %$before >= 3,
		"$name: the cluster view shows the node's own counters ("
		  . join(' ', sort keys %$seen) . ')');
}

# (e) a node the caller cannot read fails the call, naming the node
$c->safe_psql('postgres', q{CREATE ROLE clerk LOGIN; GRANT SELECT ON steward.cluster_audit_log TO clerk});
($ret, $out, $err) = $c->psql('postgres', 'SET ROLE clerk; SELECT count(*) FROM steward.cluster_audit_log');
like($err, qr/ERROR:  could not read steward\.audit_log on node 127\.0\.0\.1:\d+/, 'unreadable node named');
like($err, qr/DETAIL:  .*permission denied for table audit_log/, 'with the node\'s error');
like($err, qr/HINT:  Every node needs pg_steward/, 'and what every node needs');

# (f) Citus's application_name proves nothing for a non-superuser
$c->safe_psql('postgres', q{CREATE ROLE mallory LOGIN;
	GRANT USAGE, CREATE ON SCHEMA shop, store TO mallory});
my @citus_names = ('citus_internal gpid=10000012345', 'citus_rebalancer gpid=10000012345',
	'citus_shard_move_subscription_10');
for my $n ($c, $node{worker1})
{
	my $as = sub {
		my ($name, $sql) = @_;
		my ($r, $o, $e) = $n->psql('postgres', $sql,
			connstr => $n->connstr('postgres') . " user=mallory application_name='$name'");
		return $e;
	};
	for my $name (@citus_names)
	{
		like($as->($name, 'CREATE TABLE store.stray (x int)'),
			qr/ERROR:  DDL on store\.stray is allowed only inside a steward migration/,
			$n->name . ": a non-superuser as \"$name\": the guard refuses DDL outside a migration");
	}
	like($as->($citus_names[0], 'CREATE TABLE shop.widget (name text)'),
		qr/ERROR:  table name "widget" does not follow the naming convention of schema "shop"/,
		$n->name . ': the conventions judge its tables');
	is($as->($citus_names[0], 'CREATE TABLE shop.widgets (name text)'), '',
		$n->name . ': a table that follows them is created');
	is(relations($n, 'shop', 'widgets'), "widgets|name,$cols|1|5",
		$n->name . ': with the injected columns, primary key and triggers');
	is( $n->safe_psql('postgres', q{
			SELECT string_agg(format('%s %s %s %s', command_tag, object_identity, by_user, application_name), ',')
			  FROM steward.ddl_log WHERE object_identity LIKE 'shop.widget%' OR object_identity LIKE 'store.stray%'}),
		"CREATE TABLE shop.widgets mallory $citus_names[0]",
		$n->name . ': the DDL log records it, under the role and the name it claimed');
}

# (g) a non-superuser's migrations: replayed by Citus as that role
$c->safe_psql('postgres', q{CREATE ROLE app LOGIN;
	CREATE SCHEMA crm AUTHORIZATION app;
	SELECT steward.manage_schema('crm', ddl => 'migrations', audit => false);
	GRANT EXECUTE ON FUNCTION steward.define_module(text, name, text),
		steward.migrate(text, text, text, text, text, boolean) TO app});
my $as_app = $c->connstr('postgres') . ' user=app';
($ret, $out, $err) = $c->psql('postgres', q{SELECT steward.define_module('crm', 'crm');
	SELECT steward.migrate('crm', '1',
		$m$CREATE TABLE crm.accounts (name text NOT NULL);
		   SELECT create_distributed_table('crm.accounts', 'id');
		   CREATE TABLE crm.countries (name text NOT NULL);
		   SELECT create_reference_table('crm.countries');$m$)}, connstr => $as_app);
is("$out|$err", "\napplied|", 'a non-superuser creates distributed and reference tables in a migration');
($ret, $out, $err) = $c->psql('postgres', q{SELECT steward.migrate('crm', '2',
	'ALTER TABLE crm.accounts ADD COLUMN note text; ALTER TABLE crm.countries ADD COLUMN code text')},
	connstr => $as_app);
is("$out|$err", 'applied|', 'and alters them');
$altered = 0;
for my $n (values %node)
{
	for my $line (split /\n/, relations($n, 'crm', '%\_1%'))
	{
		$altered++;
		like($line, qr/^(accounts_\d+\|name,$cols,note|countries_\d+\|name,$cols,code)\|1\|1$/,
			$n->name . ": $line created and changed as on the coordinator");
	}
}
is($altered, 8 + 3, 'every shard and every copy of the reference table');
is($c->safe_psql('postgres', q{SELECT string_agg(version, ',' ORDER BY version) FROM steward.migrations WHERE module = 'crm'}),
	'1,2', 'coordinator: both migrations recorded');
for my $w (@workers)
{
	is( $w->safe_psql('postgres', q{
			SELECT count(*) FILTER (WHERE command_tag = 'CREATE TABLE') || ' ' ||
				   count(*) FILTER (WHERE command ~ 'ADD COLUMN note') || ' ' ||
				   count(*) FILTER (WHERE by_user <> 'app' OR application_name NOT LIKE 'citus\_internal gpid=%')
			  FROM steward.ddl_log WHERE object_identity = 'crm.accounts'}),
		'1 1 0', $w->name . ': the replay is in its DDL log, under the role (no superuser: judged like the role)');
	# Citus creates a shard before its metadata reaches the worker, so
	# the shard's creation is logged too (its CREATE TABLE, key and
	# triggers); once the metadata names the shard, its changes are not
	is( $w->safe_psql('postgres', q{
			SELECT count(*) FILTER (WHERE command_tag = 'CREATE TABLE') || ' ' ||
				   count(*) FILTER (WHERE command ~ 'ADD COLUMN (note|code)')
			  FROM steward.ddl_log WHERE object_identity ~ '^crm\.(accounts|countries)_[0-9]+$'}),
		'5 0', $w->name . ': and so is the creation of its shards, not their changes');
}
$node{worker1}->safe_psql('postgres', q{SELECT steward.manage_schema('crm', ddl => 'migrations', audit => false)});
($ret, $out, $err) = $c->psql('postgres',
	q{SELECT steward.migrate('crm', '3', 'ALTER TABLE crm.accounts ADD COLUMN stray text')},
	connstr => $as_app);
my $w1port = $node{worker1}->port;
like($err, qr/DETAIL:  DDL on crm\.accounts is allowed only inside a steward migration.*\n(.*\n)*CONTEXT:  while executing command on 127\.0\.0\.1:$w1port\n/,
	"a worker's ddl => 'migrations' policy refuses it there");
is(join('', map { relations($_, 'crm', 'accounts%') } values %node) =~ /stray/ ? 'changed' : 'unchanged',
	'unchanged', 'and nothing changed');

$_->stop for values %node;
done_testing();
