#!/usr/bin/env bash
# Benchmark of the query metrics (issue: "at a third of pg_stat_statements'
# cost").  Side by side in one run:
#  1. instructions per indexed point SELECT on a single-user backend under
#     callgrind: no extension, pg_steward (its defaults: every metric on,
#     steward.normalize_text on, the slow log at 1 s), pg_stat_statements;
#     per-query cost = (I(2N) - I(N)) / N, so start-up cancels out;
#  2. pgbench -S, 2 clients, alternating runs: TPS with pg_steward / without;
#  3. pgbench -S with more clients than cores, pg_stat_activity sampled for
#     waits on pg_steward's lock (the hot path must take none).
# Usage: test/bench/metrics.sh   (run as root or as a user with sudo;
# make bench BENCH=metrics [PG=18] runs it through test/bench/run)
#
# Knobs (environment): BENCH_METRICS_N (queries of the smaller callgrind run,
# default 2000), BENCH_PGBENCH_SECONDS (per pgbench run, default 10),
# BENCH_PGBENCH_PAIRS (alternating pairs of part 2, default 3),
# BENCH_METRICS_PGBENCH=0 (callgrind part only: skip parts 2 and 3, whose
# wall-clock numbers mean nothing on a busy machine or an assertion build).
source "$(dirname "$0")/../lib.sh"

N=${BENCH_METRICS_N:-2000}
PGB_SECONDS=${BENCH_PGBENCH_SECONDS:-10}
PGB_PAIRS=${BENCH_PGBENCH_PAIRS:-3}
PGBENCH=${BENCH_METRICS_PGBENCH:-1}
RESULTS_DIR=$STEWARD_SRC/test/bench/results
STAMP=$(date -u +%Y%m%dT%H%M%SZ)

ensure_packages
resolve_pg
stage_tree
private_install
build_install
DIR=$(mktemp -d /tmp/steward_mbench.XXXXXX)
[ "$(id -u)" = 0 ] && chown "$RUN_USER": "$DIR"
STEWARD_ON_EXIT=("as_user pg_ctl -D '$DIR/data' -m immediate stop >/dev/null 2>&1 || true; rm -rf '$DIR'" "${STEWARD_ON_EXIT[@]}")

start_server "$DIR"
as_user psql -X -q -d postgres -c "CREATE DATABASE mb" >/dev/null
as_user psql -X -q -d mb -c "CREATE EXTENSION pg_steward" \
	-c "CREATE TABLE t (id int PRIMARY KEY, v text)" \
	-c "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 100000) g" -c "VACUUM ANALYZE t" >/dev/null
[ "$PGBENCH" = 0 ] || as_user pgbench -i -q -s 5 mb >/dev/null 2>&1
server=$(as_user psql -X -A -t -d mb -c "SELECT version() || CASE WHEN current_setting('debug_assertions')::bool
	THEN ' (assertions on)' ELSE '' END")
stop_server "$DIR"

# --- 1. callgrind on a single-user backend -------------------------------
for n in $N $((2 * N)); do
	: >"$DIR/q$n.sql"
	for ((i = 1; i <= n; i++)); do
		echo "SELECT v FROM t WHERE id = $(((i * 7919) % 100000 + 1));" >>"$DIR/q$n.sql"
	done
done
chmod a+r "$DIR"/q*.sql

# instructions PRELOAD N: total instructions of a single-user backend
# running the N point selects with shared_preload_libraries = PRELOAD; fails
# (printing the backend's messages) when the backend reported an error
instructions() {
	local out="$DIR/cg.${1:-none}.$2.out" msgs total
	msgs=$(as_user valgrind --tool=callgrind --callgrind-out-file="$out" \
		"$PGBIN/postgres" --single -D "$DIR/data" -c shared_preload_libraries="$1" \
		-c steward.slow_query_ms=-1 -c lc_messages=C mb <"$DIR/q$2.sql" 2>&1) || {
		echo "$msgs" >&2
		return 1
	}
	if grep -qE '(ERROR|FATAL|PANIC): ' <<<"$msgs"; then
		grep -E '(ERROR|FATAL|PANIC|DETAIL|HINT): ' <<<"$msgs" | sort | uniq -c | head -n 20 >&2
		return 1
	fi
	total=$(awk '/^(summary|totals):/ { print $2; exit }' "$out")
	[ -n "$total" ] || {
		echo "no totals in $out" >&2
		return 1
	}
	echo "$total"
}

declare -A per_query
for side in none pg_steward pg_stat_statements; do
	preload=$side
	[ "$side" = none ] && preload=""
	a=$(instructions "$preload" "$N")
	b=$(instructions "$preload" $((2 * N)))
	per_query[$side]=$(((b - a) / N))
	log "callgrind: $side: $a instructions for $N queries, $b for $((2 * N)): $((per_query[$side])) per query"
done
ovh_steward=$((per_query[pg_steward] - per_query[none]))
ovh_pgss=$((per_query[pg_stat_statements] - per_query[none]))
ratio_cg=$(awk -v a="$ovh_steward" -v b="$ovh_pgss" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
if [ "$PGBENCH" != 0 ]; then
	# --- 2. pgbench -S, alternating --------------------------------------------
	set_preload() {
		as_user bash -c "sed -i \"s/^shared_preload_libraries.*/shared_preload_libraries = '$1'/\" '$DIR/data/postgresql.conf'"
	}
	tps() {
		as_user pgbench -n -S -c "$1" -j "$1" -T "$PGB_SECONDS" -h "$DIR" -p "$PGPORT" mb 2>/dev/null |
			awk '/^tps =/ { print $3; exit }'
	}
	declare -a tps_none tps_steward
	for ((r = 1; r <= PGB_PAIRS; r++)); do
		for side in none pg_steward; do
			[ $((r % 2)) = 0 ] && side=$([ "$side" = none ] && echo pg_steward || echo none)
			set_preload "$([ "$side" = none ] || echo pg_steward)"
			as_user pg_ctl -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
			t=$(tps 2)
			as_user pg_ctl -D "$DIR/data" -m fast -w stop >/dev/null
			log "pgbench -S -c 2: run $r, $side: $t tps"
			if [ "$side" = none ]; then tps_none+=("$t"); else tps_steward+=("$t"); fi
		done
	done
	m_none=$(printf '%s\n' "${tps_none[@]}" | median)
	m_steward=$(printf '%s\n' "${tps_steward[@]}" | median)
	ratio_tps=$(awk -v a="$m_steward" -v b="$m_none" 'BEGIN { printf "%.3f", a / b }')

	# --- 3. more clients than cores: waits on pg_steward's lock ----------------
	set_preload pg_steward
	as_user pg_ctl -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
	clients=$(($(nproc) * 4))
	as_user pgbench -n -S -c "$clients" -j 2 -T "$PGB_SECONDS" -h "$DIR" -p "$PGPORT" mb >"$DIR/conc.out" 2>&1 &
	pgb=$!
	samples=0
	steward_waits=0
	lwlock_waits=0
	sleep 1
	while kill -0 "$pgb" 2>/dev/null; do
		read -r s w l < <(as_user psql -X -A -t -F ' ' -h "$DIR" -p "$PGPORT" -d mb -c \
			"SELECT count(*), count(*) FILTER (WHERE wait_event = 'pg_steward'),
			        count(*) FILTER (WHERE wait_event_type = 'LWLock')
			   FROM pg_stat_activity WHERE datname = 'mb' AND backend_type = 'client backend'
			    AND pid <> pg_backend_pid()")
		samples=$((samples + s))
		steward_waits=$((steward_waits + w))
		lwlock_waits=$((lwlock_waits + l))
		sleep 0.05
	done
	conc_tps=$(awk '/^tps =/ { print $3; exit }' "$DIR/conc.out")
	as_user pg_ctl -D "$DIR/data" -m fast -w stop >/dev/null
fi

report=$(
	echo "benchmark: metrics ($STAMP)"
	echo "1. instructions per indexed point SELECT, single-user backend under callgrind ($N vs $((2 * N)) queries);"
	echo "   pg_steward with its defaults: every metric on, steward.normalize_text on"
	printf '   %-20s %12s %12s\n' side per_query overhead
	printf '   %-20s %12s %12s\n' none "${per_query[none]}" 0
	printf '   %-20s %12s %12s\n' pg_steward "${per_query[pg_steward]}" "$ovh_steward"
	printf '   %-20s %12s %12s\n' pg_stat_statements "${per_query[pg_stat_statements]}" "$ovh_pgss"
	echo "   pg_steward overhead / pg_stat_statements overhead: $ratio_cg (goal <= 0.30, and <= 1500 instructions)"
	case $server in *"(assertions on)")
		echo "   (assertion-enabled build: the goals are set for release builds; see README, Performance)" ;;
	esac
	if [ "$PGBENCH" != 0 ]; then
		echo "2. pgbench -S -c 2 -T $PGB_SECONDS, $PGB_PAIRS alternating pairs: none ${tps_none[*]} / pg_steward ${tps_steward[*]}"
		echo "   median tps: none $m_none, pg_steward $m_steward, ratio $ratio_tps (goal >= 0.98)"
		echo "3. pgbench -S -c $clients on $(nproc) cores, $PGB_SECONDS s: $conc_tps tps; pg_stat_activity samples of client"
		echo "   backends: $samples, waiting on pg_steward's lock: $steward_waits, on any LWLock: $lwlock_waits"
	else
		echo "2., 3. (pgbench) skipped: BENCH_METRICS_PGBENCH=0"
	fi
	echo "callgrind: $(valgrind --version)"
	echo "server: $server"
	echo "host: $(nproc) CPUs, $(uname -sr)"
)
echo "$report"
mkdir -p "$RESULTS_DIR"
echo "$report" >"$RESULTS_DIR/metrics-$STAMP.txt"
