# pg_steward on both ends of logical replication (DESIGN.md section 7).
#
# A publisher and a subscriber, pg_steward preloaded on both, the same
# migration run on both: schema "shop" is managed, so both tables get the
# injected columns, touch_updated and the audit triggers on either side.
# On the subscriber, aux_payments is also audited with on_replica => true.
#
# Rows applied by the subscription (its initial copy and the changes after
# it) are written by apply workers in replica mode:
# - aux_orders (audited the default way) records none of them on the
#   subscriber, while the publisher records every change of its own;
# - aux_payments (on_replica) records each of them once: the initial copy
#   as INSERTs, then every INSERT, UPDATE, DELETE and TRUNCATE;
# - touch_updated does not fire for them: the subscriber's rows are the
#   publisher's, updated included;
# - a local write on the subscriber is audited as anywhere.
# Nothing of steward's gets in the way: CREATE / ALTER SUBSCRIPTION and
# CREATE PUBLICATION go through the event triggers into the DDL log, a
# table added later by a migration on both sides is picked up by REFRESH
# PUBLICATION, and the apply and table synchronization workers never fail.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardNode;

my $publisher = steward_node('publisher', allows_streaming => 'logical');
my $subscriber = steward_node('subscriber');
$_->start for $publisher, $subscriber;

# The same set-up on both: a managed schema and migration 1.
for my $node ($publisher, $subscriber)
{
	$node->safe_psql('postgres', 'CREATE DATABASE app');
	$node->safe_psql(
		'app', q{
CREATE EXTENSION pg_steward;
CREATE SCHEMA shop;
SELECT steward.manage_schema('shop', table_prefix => 'aux_');
SELECT steward.define_module('shop', 'shop');
SELECT steward.migrate('shop', '1', $$
	CREATE TABLE {{schema}}.aux_orders (item text NOT NULL, qty integer NOT NULL);
	CREATE TABLE {{schema}}.aux_payments (amount numeric NOT NULL, note text);
$$);
});
}
$subscriber->safe_psql('app', q{SELECT steward.enable_audit('shop.aux_payments', on_replica => true)});
is( $subscriber->safe_psql(
		'app',
		q{SELECT string_agg(tgrelid::regclass || ':' || tgname || ':' || tgenabled::text, ' '
							ORDER BY tgrelid::regclass::text, tgname)
		    FROM pg_trigger WHERE tgrelid IN ('shop.aux_orders'::regclass, 'shop.aux_payments'::regclass)}),
	join(' ',
		'shop.aux_orders:steward_audit_delete:O', 'shop.aux_orders:steward_audit_insert:O',
		'shop.aux_orders:steward_audit_truncate:O', 'shop.aux_orders:steward_audit_update:O',
		'shop.aux_orders:steward_touch_updated:O', 'shop.aux_payments:steward_audit_delete:O',
		'shop.aux_payments:steward_audit_insert:O', 'shop.aux_payments:steward_audit_replica_delete:R',
		'shop.aux_payments:steward_audit_replica_insert:R', 'shop.aux_payments:steward_audit_replica_update:R',
		'shop.aux_payments:steward_audit_truncate:A', 'shop.aux_payments:steward_audit_update:O',
		'shop.aux_payments:steward_touch_updated:O'),
	'subscriber: injection attached touch_updated and the audit triggers; on_replica added its own');

# Rows there before the subscription: copied by the initial synchronization.
$publisher->safe_psql(
	'app', q{
INSERT INTO shop.aux_orders (item, qty) VALUES ('apple', 1), ('pear', 2);
INSERT INTO shop.aux_payments (amount, note) VALUES (10, 'first'), (20, 'second');
CREATE PUBLICATION shop_pub FOR TABLES IN SCHEMA shop;
});
my $publisher_connstr = $publisher->connstr . ' dbname=app';
$subscriber->safe_psql('app',
	"CREATE SUBSCRIPTION shop_sub CONNECTION '$publisher_connstr' PUBLICATION shop_pub");
$subscriber->wait_for_subscription_sync($publisher, 'shop_sub');

# Audit rows on the subscriber, per table: "op:row_id" in log order, with
# row_id replaced by the item or the note of the row, to compare with what
# the publisher did.
sub subscriber_audit
{
	my ($table) = @_;
	return $subscriber->safe_psql(
		'app', qq{
		SELECT coalesce(string_agg(op || coalesce(':' || (coalesce(new_row, old_row)->>'note'), ''), ' '
								   ORDER BY id), '')
		  FROM steward.audit_log WHERE table_name = '$table'});
}

is(subscriber_audit('aux_orders'), '', 'initial copy: aux_orders records none of the copied rows');
is( subscriber_audit('aux_payments'),
	'INSERT:first INSERT:second',
	'initial copy: aux_payments (on_replica) records each copied row once');

# Changes after the copy, in several transactions.
$publisher->safe_psql(
	'app', q{
INSERT INTO shop.aux_orders (item, qty) VALUES ('plum', 3), ('fig', 4), ('kiwi', 5);
INSERT INTO shop.aux_payments (amount, note) VALUES (30, 'third'), (40, 'fourth'), (50, 'fifth');
UPDATE shop.aux_orders SET qty = qty + 100 WHERE item = 'apple';
UPDATE shop.aux_payments SET amount = amount + 1 WHERE note IN ('first', 'third');
UPDATE shop.aux_payments SET amount = amount WHERE note = 'second';
DELETE FROM shop.aux_orders WHERE item = 'pear';
DELETE FROM shop.aux_payments WHERE note = 'fourth';
});
$publisher->wait_for_catchup('shop_sub');

is(subscriber_audit('aux_orders'), '', 'changes: aux_orders records none of the applied changes');
is( subscriber_audit('aux_payments'),
	'INSERT:first INSERT:second INSERT:third INSERT:fourth INSERT:fifth UPDATE:first UPDATE:third DELETE:fourth',
	'changes: aux_payments records every applied change once (the no-op UPDATE none)');
is( $subscriber->safe_psql(
		'app',
		q{SELECT string_agg(old_row->>'amount' || '->' || (new_row->>'amount') || ' ' || array_to_string(changed, ','),
							' ' ORDER BY id)
		    FROM steward.audit_log WHERE table_name = 'aux_payments' AND op = 'UPDATE'}),
	'10->11 amount,updated 30->31 amount,updated',
	'changes: the UPDATEs record old and new rows and the changed columns (updated as the publisher set it)');
is( $publisher->safe_psql(
		'app',
		q{SELECT string_agg(table_name || ':' || op || ':' || n, ' ' ORDER BY table_name, op) FROM (
			SELECT table_name, op, count(*) AS n FROM steward.audit_log GROUP BY 1, 2) c}),
	'aux_orders:DELETE:1 aux_orders:INSERT:5 aux_orders:UPDATE:1 '
	  . 'aux_payments:DELETE:1 aux_payments:INSERT:5 aux_payments:UPDATE:2',
	'publisher: records every change of its own, on both tables');

# The subscriber's rows are the publisher's, injected columns included:
# updated as the publisher's touch_updated set it, not touched again.
my $rows_sql = q{
	SELECT string_agg(t, E'\n' ORDER BY t) FROM (
		SELECT format('order %s %s %s %s %s %s', id, item, qty, created, updated, href) AS t FROM shop.aux_orders
		UNION ALL
		SELECT format('payment %s %s %s %s %s %s', id, amount, note, created, updated, href) FROM shop.aux_payments) r};
my $publisher_rows = $publisher->safe_psql('app', $rows_sql);
is($subscriber->safe_psql('app', $rows_sql), $publisher_rows,
	'the subscriber\'s rows equal the publisher\'s, created, updated and href included');
is( $publisher->safe_psql(
		'app', q{SELECT count(*) FROM shop.aux_orders WHERE item = 'apple' AND updated > created}),
	'1',
	'publisher: touch_updated moved updated of the UPDATEd order (so the equality above means something)');

# A local write on the subscriber is audited the default way.
$subscriber->safe_psql('app', q{INSERT INTO shop.aux_orders (item, qty) VALUES ('local', 1)});
is(subscriber_audit('aux_orders'), 'INSERT', 'subscriber: a local INSERT into aux_orders is recorded');
$subscriber->safe_psql('app', q{DELETE FROM shop.aux_orders WHERE item = 'local'});
$subscriber->safe_psql('app', q{DELETE FROM steward.audit_log WHERE table_name = 'aux_orders'});

# TRUNCATE is applied by statement-level triggers, which on_replica makes
# fire always.
$publisher->safe_psql('app', 'TRUNCATE shop.aux_orders, shop.aux_payments');
$publisher->wait_for_catchup('shop_sub');
is($subscriber->safe_psql('app', 'SELECT count(*) FROM shop.aux_payments'), '0', 'TRUNCATE applied');
is(subscriber_audit('aux_orders'), '', 'TRUNCATE: aux_orders records nothing');
like(subscriber_audit('aux_payments'), qr/ DELETE:fourth TRUNCATE$/,
	'TRUNCATE: aux_payments records it once');

# Who: the apply worker's session, and no client.
is( $subscriber->safe_psql(
		'app',
		q{SELECT count(*) || ' ' || count(DISTINCT db_user) || ' ' || count(client_addr) || ' '
				 || bool_and(db_user = (SELECT usename FROM pg_user WHERE usesysid = 10))
		    FROM steward.audit_log WHERE table_name = 'aux_payments'}),
	'9 1 0 true',
	'subscriber: the 9 rows name the subscription\'s owner and no client address');

# A table added later by a migration run on both sides: injected, audited
# on the subscriber the default way, picked up by REFRESH PUBLICATION.
for my $node ($publisher, $subscriber)
{
	$node->safe_psql('app',
		q{SELECT steward.migrate('shop', '2', 'CREATE TABLE {{schema}}.aux_refunds (amount numeric NOT NULL)')});
}
$publisher->safe_psql('app', 'INSERT INTO shop.aux_refunds (amount) VALUES (1), (2), (3)');
$subscriber->safe_psql('app', 'ALTER SUBSCRIPTION shop_sub REFRESH PUBLICATION');
$subscriber->wait_for_subscription_sync($publisher, 'shop_sub');
$publisher->safe_psql('app', 'UPDATE shop.aux_refunds SET amount = amount * 10');
$publisher->wait_for_catchup('shop_sub');
is($subscriber->safe_psql('app', 'SELECT string_agg(amount::text, \',\' ORDER BY amount) FROM shop.aux_refunds'),
	'10,20,30', 'REFRESH PUBLICATION: the new table is replicated');
is(subscriber_audit('aux_refunds'), '', 'the new table records none of the applied rows on the subscriber');

# The DDL went through steward's event triggers into the DDL log.
is( $subscriber->safe_psql(
		'app',
		q{SELECT string_agg(command_tag || ' ' || object_identity, ', ' ORDER BY id) FROM steward.ddl_log
		   WHERE object_type = 'subscription'}),
	'CREATE SUBSCRIPTION shop_sub, ALTER SUBSCRIPTION shop_sub',
	'subscriber: CREATE and ALTER SUBSCRIPTION are in the DDL log');
is( $publisher->safe_psql(
		'app',
		q{SELECT string_agg(command_tag || ' ' || object_identity, ', ' ORDER BY id) FROM steward.ddl_log
		   WHERE object_type = 'publication'}),
	'CREATE PUBLICATION shop_pub',
	'publisher: CREATE PUBLICATION is in the DDL log');

# Nothing failed: no apply or synchronization error, no ERROR in any log.
is( $subscriber->safe_psql(
		'app', q{SELECT apply_error_count + sync_error_count FROM pg_stat_subscription_stats}),
	'0',
	'subscriber: no apply or table synchronization error');
$subscriber->safe_psql('app', 'DROP SUBSCRIPTION shop_sub');
for my $node ($publisher, $subscriber)
{
	ok(!$node->log_contains(qr/ERROR: |TRAP: |terminated by signal|PANIC: /),
		$node->name . ': no error, assertion failure or crash in the server log');
}
$_->stop for $publisher, $subscriber;
done_testing();
