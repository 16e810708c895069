# test/lib.sh — shared by `make test`, `make demo` and `make bench`.
#
# The harness must work on a fresh Debian 12 machine run as root (CI), as
# the postgres user, and as a normal user with sudo.  PostgreSQL refuses to
# run as root, so a root run builds and runs everything as `postgres` in a
# private staging copy of the tree: the checkout itself is never written by
# root and nothing a root run leaves behind can break the next run.

set -euo pipefail

STEWARD_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_USER=postgres
# PG_CONFIG (the PostgreSQL to test against) is set by resolve_pg; a run
# that is handed a private install (test/run-suites) gets it from there.
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGBIN=${PGBIN:-$($PG_CONFIG --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}

# Debian packages every suite needs; later suites append to this list.
STEWARD_PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-contrib libkrb5-dev
	libipc-run-perl python3-psycopg python3-psycopg2 python3-asyncpg python3-sqlalchemy
	python3-alembic rsync make gcc valgrind)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# as_root CMD...: run CMD with root privileges (directly or via sudo).
as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

# ensure_packages: install what is missing, running apt-get update first.
ensure_packages() {
	local missing=() p
	for p in "${STEWARD_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
	# Debian creates a cluster on install; the harness never uses it.
	as_root pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
}

# on_exit CMD: run CMD when the script exits (after the ones added before);
# a command that fails does not stop the ones after it.
STEWARD_ON_EXIT=()
on_exit() {
	STEWARD_ON_EXIT+=("$1")
	trap 'for c in "${STEWARD_ON_EXIT[@]}"; do eval "$c" || true; done' EXIT
}

# resolve_pg: choose the PostgreSQL to build and test against and set
# PG_CONFIG, PG_MAJOR.  PG_CONFIG=/path/to/pg_config (make test PG_CONFIG=…)
# wins; PG=N asks for major N: its Debian/PGDG install when there is one,
# otherwise an assertion-enabled build from source (test/pgbuild, cached
# outside the checkout).  The default is Debian's PostgreSQL 15.
resolve_pg() {
	if [ -n "${STEWARD_PG_CONFIG:-}" ]; then
		PG_CONFIG=$STEWARD_PG_CONFIG
	elif [ -n "${PG:-}" ] && [ -x "/usr/lib/postgresql/$PG/bin/pg_config" ]; then
		PG_CONFIG=/usr/lib/postgresql/$PG/bin/pg_config
	elif [ -n "${PG:-}" ]; then
		PG_CONFIG=$(bash "$STEWARD_SRC/test/pgbuild" "$PG")
	else
		PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	fi
	[ -x "$PG_CONFIG" ] || { echo "no pg_config at $PG_CONFIG" >&2; exit 2; }
	PG_MAJOR=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*$/\1/')
	if [ -n "${PG:-}" ] && [ "$PG" != "$PG_MAJOR" ]; then
		echo "PG=$PG but $PG_CONFIG is PostgreSQL $PG_MAJOR" >&2
		exit 2
	fi
	PGBIN=$("$PG_CONFIG" --bindir)
	log "testing against PostgreSQL $("$PG_CONFIG" --version | cut -d' ' -f2) ($PG_CONFIG)"
}

# private_install: copy the PostgreSQL install under test (binaries,
# libraries, share and headers, keeping their relative layout, which is how
# PostgreSQL finds its files) into a directory of this run, and point
# PG_CONFIG and PGBIN at the copy.  pg_steward is installed only there, so
# runs from several checkouts can go at once and neither the system's
# PostgreSQL nor a user's server is ever touched by the harness.
private_install() {
	local dirs=() root d rel f libdir incdir
	dirs=("$("$PG_CONFIG" --bindir)" "$("$PG_CONFIG" --pkglibdir)" "$("$PG_CONFIG" --sharedir)"
		"$("$PG_CONFIG" --includedir-server)" "$("$PG_CONFIG" --pkgincludedir)")
	libdir=$("$PG_CONFIG" --libdir)
	incdir=$("$PG_CONFIG" --includedir)
	# the deepest directory that holds them all (and libpq's, below)
	root=${dirs[0]}
	for d in "${dirs[@]}" "$libdir" "$incdir"; do
		while [ "${d#"$root"/}" = "$d" ] && [ "$d" != "$root" ]; do root=$(dirname "$root"); done
	done
	PRIVATE_PG=$(mktemp -d /var/tmp/pg_steward-pg.XXXXXX)
	on_exit "rm -rf '$PRIVATE_PG'"
	for d in "${dirs[@]}"; do
		rel=${d#"$root"}
		[ -d "$PRIVATE_PG$rel" ] && continue
		mkdir -p "$PRIVATE_PG$rel"
		cp -a "$d/." "$PRIVATE_PG$rel/"
	done
	# libpq's library and headers, for the pg_steward program (cli/), which
	# PGXS builds with -I$(includedir) and links with -L$(libdir) -lpq: only
	# those files, since libdir may be the system's whole library directory.
	mkdir -p "$PRIVATE_PG${libdir#"$root"}" "$PRIVATE_PG${incdir#"$root"}"
	cp -a "$libdir"/libpq.so* "$PRIVATE_PG${libdir#"$root"}/"
	for f in libpq-fe.h libpq-events.h postgres_ext.h pg_config_ext.h libpq; do
		if [ -e "$incdir/$f" ]; then cp -a "$incdir/$f" "$PRIVATE_PG${incdir#"$root"}/"; fi
	done
	[ "$(id -u)" = 0 ] && chown -R "$RUN_USER": "$PRIVATE_PG"
	PG_CONFIG=$PRIVATE_PG${dirs[0]#"$root"}/pg_config
	PGBIN=$PRIVATE_PG${dirs[0]#"$root"}
	[ "$("$PG_CONFIG" --pkglibdir)" = "$PRIVATE_PG${dirs[1]#"$root"}" ] || {
		echo "the copy of PostgreSQL in $PRIVATE_PG does not find its own files" >&2
		exit 2
	}
	log "private PostgreSQL install for this run: $PRIVATE_PG"
}

# Debian packages a Citus build from source needs (test/citusbuild).
CITUS_BUILD_PACKAGES=(liblz4-dev libzstd-dev)

# resolve_citus: find Citus for the PostgreSQL under test (before
# private_install), for the citus suite.  Installed with that PostgreSQL
# (a PGDG package: citus.so in its pkglibdir), private_install copies it
# along; otherwise it is built from the vendored source (test/citusbuild,
# cached), its packages installed first, and install_citus copies it into
# the private install.  When neither is possible, CITUS_SKIP says why and
# the citus suite is skipped (counted as skipped, not passed).
resolve_citus() {
	local plan
	CITUS_BUILD=
	CITUS_SKIP=
	if [ -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ] &&
		[ -f "$("$PG_CONFIG" --sharedir)/extension/citus.control" ]; then
		log "Citus: installed with PostgreSQL $PG_MAJOR"
		return 0
	fi
	if ! plan=$(bash "$STEWARD_SRC/test/citusbuild" --plan "$PG_CONFIG" 2>&1); then
		CITUS_SKIP=$(printf '%s\n' "$plan" | tail -n 1)
		log "Citus: none for PostgreSQL $PG_MAJOR: $CITUS_SKIP"
		return 0
	fi
	if [ "${plan%% *}" = build ]; then
		STEWARD_PACKAGES+=("${CITUS_BUILD_PACKAGES[@]}")
		ensure_packages
	fi
	CITUS_BUILD=$(bash "$STEWARD_SRC/test/citusbuild" "$PG_CONFIG")
}

# install_citus: copy the Citus build resolve_citus chose (if any) into the
# private install (after private_install).
install_citus() {
	[ -n "${CITUS_BUILD:-}" ] || return 0
	cp -a "$CITUS_BUILD"/lib/. "$("$PG_CONFIG" --pkglibdir)/"
	cp -a "$CITUS_BUILD"/extension/. "$("$PG_CONFIG" --sharedir)/extension/"
	[ "$(id -u)" = 0 ] && chown -R "$RUN_USER": "$PRIVATE_PG"
	log "Citus from $CITUS_BUILD installed into $PRIVATE_PG"
}

# stage_tree: set WORKDIR to a tree the unprivileged user can build in.
# As root that is a fresh copy owned by postgres; otherwise the checkout.
stage_tree() {
	if [ "$(id -u)" = 0 ]; then
		WORKDIR=/var/tmp/pg_steward-$(basename "$STEWARD_SRC")-$$
		rm -rf "$WORKDIR"
		mkdir -p "$WORKDIR"
		rsync -a --delete --exclude .git --exclude '*.o' --exclude '*.so' --exclude '*.bc' \
			--exclude results --exclude tmp_check --exclude output_iso --exclude log \
			"$STEWARD_SRC"/ "$WORKDIR"/
		chown -R "$RUN_USER": "$WORKDIR"
		# STEWARD_KEEP=1 keeps the staging copy (results/, tmp_check/) to inspect.
		if [ -n "${STEWARD_KEEP:-}" ]; then
			on_exit "log 'kept $WORKDIR'"
		else
			on_exit "rm -rf '$WORKDIR'"
		fi
	else
		WORKDIR=$STEWARD_SRC
		RUN_USER=$(id -un)
	fi
}

# as_user CMD...: run CMD as the unprivileged user in WORKDIR.
as_user() {
	if [ "$(id -u)" = 0 ]; then
		(cd "$WORKDIR" && runuser -u "$RUN_USER" -- env PATH="$PGBIN:$PATH" PG_CONFIG="$PG_CONFIG" PGBIN="$PGBIN" "$@")
	else
		(cd "$WORKDIR" && env PATH="$PGBIN:$PATH" PG_CONFIG="$PG_CONFIG" PGBIN="$PGBIN" "$@")
	fi
}

# build_install: compile and install into the private install, both as
# the unprivileged user (resolve_pg and private_install come first).
build_install() {
	log "building pg_steward against PostgreSQL $PG_MAJOR"
	as_user make -s clean >/dev/null 2>&1 || true
	as_user make -s PG_CONFIG="$PG_CONFIG" all >/dev/null
	log "installing pg_steward into $($PG_CONFIG --pkglibdir)"
	as_user make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
}

# free_port: a TCP port nobody listens on now.
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_server DIR: initdb DIR/data and start it with pg_steward preloaded,
# listening on 127.0.0.1:$PGPORT and a socket in DIR.  Exports PGHOST/PGPORT.
start_server() {
	local dir=$1
	PGPORT=$(free_port)
	export PGHOST=$dir PGPORT PGUSER=$RUN_USER PGDATABASE=postgres
	as_user initdb -D "$dir/data" -A trust -U "$RUN_USER" --no-sync -E UTF8 --locale=C >"$dir/initdb.log"
	as_user bash -c "cat test/pg_steward.conf >> '$dir/data/postgresql.conf'
		printf \"port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n\" $PGPORT '$dir' >> '$dir/data/postgresql.conf'"
	as_user pg_ctl -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
}

stop_server() {
	local dir=$1
	as_user pg_ctl -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}
