# test/bench/callgrind.sh — sourced by test/bench/run: instruction counts of
# SQL run by a single-user backend under valgrind's callgrind.
#
# Wall-clock times on the shared 2-core machines are noisy; instruction
# counts are not.  A single-user backend (postgres --single) executes the SQL
# it reads on stdin in its own process — no server, no client, no other
# backend — and callgrind counts every instruction that process executes.
# Start-up and shutdown are counted too, so a caller measures each side at two
# sizes and uses the difference (and compares against a baseline side).
#
# Needs lib.sh sourced and stage_tree/build_install done (as_user, pg_steward
# installed), and valgrind (in STEWARD_PACKAGES).  Debian's postgres binary
# has no debug symbols: its exported functions are named in profiles, static
# ones appear as addresses; pg_steward's own functions are named with their
# source files.

CG_DIR=
CG_DB=
CG_LIB=
CG_OPTS=()

# cg_init DIR DB: a data directory DIR/data that no server ever runs on
# (single-user mode needs it to itself) and a database DB in it.
#
# Every measured backend loads pg_steward from disk again, so the library is
# pinned: the one this run built is copied to DIR/lib and preloaded from
# there, and cg_pin_extension points the extension's functions at it too.  A
# `make install` from another checkout while the bench runs cannot mix two
# builds into one comparison.
cg_init() {
	CG_DIR=$1
	CG_DB=$2
	CG_LIB=$CG_DIR/lib/pg_steward
	as_user mkdir -p "$CG_DIR/lib"
	as_user cp "$WORKDIR/pg_steward.so" "$CG_LIB.so"
	# no JIT, English; cg_pin_extension adds the preload
	CG_OPTS=(-c jit=off -c lc_messages=C)
	as_user initdb -D "$CG_DIR/data" -A trust -U "$RUN_USER" --no-sync -E UTF8 --locale=C >"$CG_DIR/initdb.log"
	echo "CREATE DATABASE $CG_DB;" | CG_DB=postgres cg_sql >/dev/null
}

# cg_pin_extension: after CREATE EXTENSION pg_steward in database CG_DB,
# make its C functions load the pinned library instead of $libdir's, and
# preload it from then on, as on every server of the harness.  (Until then
# nothing is preloaded: CREATE EXTENSION loads $libdir's copy to validate the
# functions, and one backend cannot load both.)
cg_pin_extension() {
	local left
	left=$(printf '%s\n\n' "UPDATE pg_catalog.pg_proc SET probin = '$CG_LIB' WHERE probin = '\$libdir/pg_steward';" \
		"SELECT count(*) AS n FROM pg_catalog.pg_proc WHERE probin LIKE '%pg_steward%' AND probin <> '$CG_LIB';" |
		cg_sql | cg_values)
	if [ "$left" != 0 ]; then
		echo "bench: $left functions of pg_steward not pinned to $CG_LIB" >&2
		return 1
	fi
	CG_OPTS+=(-c "shared_preload_libraries=$CG_LIB")
}

# cg_check OUTPUT: fail (printing the messages) when the backend reported an
# error.  Errors do not stop a single-user backend; the next statement runs.
cg_check() {
	if grep -qE '(ERROR|FATAL|PANIC): ' <<<"$1"; then
		grep -E '(ERROR|FATAL|PANIC|DETAIL|HINT|CONTEXT|STATEMENT): ' <<<"$1" >&2
		return 1
	fi
}

# cg_sql: run the SQL on stdin in a single-user backend, not measured.
# Statements end with a semicolon and an empty line (postgres --single -j),
# so they may span lines.  Prints the backend's output; fails on any error.
cg_sql() {
	local out
	out=$(as_user postgres --single -j -D "$CG_DIR/data" "${CG_OPTS[@]}" "$CG_DB" 2>&1) || {
		echo "$out" >&2
		return 1
	}
	cg_check "$out"
	printf '%s\n' "$out"
}

# cg_values: the values a single-user backend printed (rows of
# `SELECT ... AS name`), one a line, in order.
cg_values() {
	sed -n 's/^\t [0-9]*: [a-z_0-9]* = "\(.*\)"\t.*/\1/p'
}

# cg_measure NAME FILE: run FILE (one statement a line: each line is a
# statement, committed on its own) in a single-user backend under callgrind.
# Keeps the profile as $CG_DIR/NAME.callgrind; prints the total instruction
# count.
cg_measure() {
	local name=$1 file=$2 out total
	out=$(as_user valgrind --tool=callgrind --callgrind-out-file="$CG_DIR/$name.callgrind" \
		postgres --single -D "$CG_DIR/data" "${CG_OPTS[@]}" "$CG_DB" <"$file" 2>&1) || {
		echo "$out" >&2
		return 1
	}
	cg_check "$out"
	total=$(awk '$1 == "totals:" { print $2 }' "$CG_DIR/$name.callgrind")
	[ -n "$total" ] || {
		echo "no totals in $CG_DIR/$name.callgrind" >&2
		return 1
	}
	echo "$total"
}

# cg_functions NAME: instructions per function (exclusive) of profile NAME,
# "count<TAB>function [object]", every function.
cg_functions() {
	callgrind_annotate --auto=no --threshold=100 "$CG_DIR/$1.callgrind" 2>/dev/null |
		awk '/^ *[0-9,]+ +\( *[0-9.]+%\) +/ && !/PROGRAM TOTALS/ {
			n = $1; gsub(",", "", n)
			sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "")
			sub(/^\?\?\?:/, "")
			print n "\t" $0
		}'
}

# cg_diff NAME BASE ROWS [TOP]: the TOP (default 15) functions that execute the
# most instructions more in profile NAME than in profile BASE, per row
# (divided by ROWS): where an overhead goes.
cg_diff() {
	local name=$1 base=$2 rows=$3 top=${4:-15}
	LC_ALL=C join -t $'\t' -1 2 -2 2 -a 1 -a 2 -e 0 -o 0,1.1,2.1 \
		<(cg_functions "$name" | LC_ALL=C sort -t $'\t' -k 2,2) \
		<(cg_functions "$base" | LC_ALL=C sort -t $'\t' -k 2,2) |
		awk -F '\t' -v rows="$rows" '{ d = $2 - $3; if (d > 0) printf "%12.1f  %s\n", d / rows, $1 }' |
		sort -g -r | awk -v top="$top" 'NR <= top'	# not head: it would make sort fail with EPIPE
}

# cg_inclusive NAME [TOP]: the TOP (default 40) functions of profile NAME by
# inclusive instruction count (callgrind_annotate --inclusive=yes).
cg_inclusive() {
	callgrind_annotate --auto=no --inclusive=yes "$CG_DIR/$1.callgrind" 2>/dev/null |
		awk -v top="${2:-40}" '/^ *[0-9,]+ +\( *[0-9.]+%\) +/ && !/PROGRAM TOTALS/ && ++n <= top'
}
