# test/lib.sh — shared by `make test`, `make demo` and `make bench`.
#
# The harness must work on a fresh Debian 12 machine run as root (CI), as
# the postgres user, and as a normal user with sudo.  PostgreSQL refuses to
# run as root, so a root run builds and runs everything as `postgres` in a
# private staging copy of the tree: the checkout itself is never written by
# root and nothing a root run leaves behind can break the next run.

set -euo pipefail

STEWARD_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGBIN=/usr/lib/postgresql/15/bin
RUN_USER=postgres

# Debian packages every suite needs; later suites append to this list.
STEWARD_PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-contrib libkrb5-dev
	libipc-run-perl python3-psycopg python3-psycopg2 python3-asyncpg python3-sqlalchemy rsync
	make gcc valgrind)

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
			trap 'log "kept $WORKDIR"' EXIT
		else
			trap 'rm -rf "$WORKDIR"' EXIT
		fi
	else
		WORKDIR=$STEWARD_SRC
		RUN_USER=$(id -un)
	fi
}

# as_user CMD...: run CMD as the unprivileged user in WORKDIR.
as_user() {
	if [ "$(id -u)" = 0 ]; then
		(cd "$WORKDIR" && runuser -u "$RUN_USER" -- env PATH="$PGBIN:$PATH" "$@")
	else
		(cd "$WORKDIR" && env PATH="$PGBIN:$PATH" "$@")
	fi
}

# build_install: compile as the unprivileged user, install as root.
build_install() {
	log "building pg_steward"
	as_user make -s PG_CONFIG="$PG_CONFIG" all >/dev/null
	log "installing pg_steward into $($PG_CONFIG --pkglibdir)"
	if [ -w "$($PG_CONFIG --pkglibdir)" ] && [ -w "$($PG_CONFIG --sharedir)/extension" ]; then
		(cd "$WORKDIR" && make -s PG_CONFIG="$PG_CONFIG" install >/dev/null)
	else
		(cd "$WORKDIR" && as_root make -s PG_CONFIG="$PG_CONFIG" install >/dev/null)
	fi
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
