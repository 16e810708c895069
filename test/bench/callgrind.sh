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

# cg_functions NAME [inclusive]: instructions per function of profile NAME,
# exclusive (or inclusive: the function and what it calls), every function,
# "count<TAB>file:function [object]" without directories.
cg_functions() {
	callgrind_annotate --auto=no --threshold=100 --inclusive="$([ "${2:-}" = inclusive ] && echo yes || echo no)" \
		"$CG_DIR/$1.callgrind" 2>/dev/null |
		awk '/^ *[0-9,]+ +\( *[0-9.]+%\) +/ && !/PROGRAM TOTALS/ {
			n = $1; gsub(",", "", n)
			sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "")
			obj = ""
			if (match($0, / \[[^]]*\]$/)) {
				obj = substr($0, RSTART + 2, RLENGTH - 3); sub(/.*\//, "", obj); obj = " [" obj "]"
				$0 = substr($0, 1, RSTART - 1)
			}
			i = index($0, ":")
			file = substr($0, 1, i - 1); fn = substr($0, i + 1); sub(/.*\//, "", file)
			print n "\t" (file == "???" ? "" : file ":") fn obj
		}'
}

# cg_overhead SIDE BASE ROWS TOP [inclusive]: where an overhead goes.  The
# TOP functions by instructions per row that side SIDE executes more than
# side BASE, each measured at two sizes (profiles SIDE-small, SIDE-large,
# BASE-small, BASE-large) ROWS rows apart:
#   ((SIDE-large - SIDE-small) - (BASE-large - BASE-small)) / ROWS
# Exclusive counts by default (the instructions of the function itself),
# inclusive ones with "inclusive" (a caller includes its callees: read it as
# a call tree; the frames every statement runs under, main to PostgresMain,
# are left out).  Unnamed (static) functions of one binary may be lumped
# differently from run to run, so single exclusive lines can be off; the
# inclusive counts of named functions are exact.
cg_overhead() {
	local side=$1 base=$2 rows=$3 top=$4 mode=${5:-exclusive}
	awk -F '\t' -v rows="$rows" -v mode="$mode" '
		FNR == 1 { f++ }
		mode == "inclusive" && $2 ~ /^(main|PostgresSingleUserMain|PostgresMain|\(below main\)|0x0*1ab70) \[|^libc/ { next }
		{ v[$2] += (f == 1 || f == 4) ? $1 : -$1 }
		END { for (k in v) if (v[k] / rows >= 0.5) printf "%12.1f  %s\n", v[k] / rows, k }' \
		<(cg_functions "$side-large" "$mode") <(cg_functions "$side-small" "$mode") \
		<(cg_functions "$base-large" "$mode") <(cg_functions "$base-small" "$mode") |
		sort -g -r | awk -v top="$top" 'NR <= top'	# not head: sort would fail with EPIPE
}
