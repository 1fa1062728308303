#!/bin/sh
# A PostgreSQL server of its own for tests and benchmarks (DESIGN.md §7):
# Debian's server, its cluster made by initdb in a directory of its own,
# listening only on a Unix socket in that directory (no TCP).
#
#   pg-lib.sh start DIR    initdb DIR/data when it is missing, start the server,
#                          print the store URL (postgresql:///postgres?host=DIR...)
#   pg-lib.sh stop DIR     stop the server; DIR stays, start brings it back
#   pg-lib.sh remove DIR   stop the server and delete DIR
#   pg-lib.sh run CMD...   a new DIR; CMD runs with HWPASS_TEST_STORE (the URL)
#                          and HWPASS_TEST_PGDIR (DIR); stopped and removed however
#                          CMD ends; exits as CMD did
#
# PostgreSQL refuses to run as root: as root, the server runs as the system
# user postgres, who gets DIR. Authentication is trust on the socket, except
# for the role hwpass_pw, which must give its password (a test makes it).
# Durability is off (fsync, full pages): the data is thrown away anyway.
set -eu

# The newest server Debian installed, or HWPASS_PG_BINDIR.
bindir() {
	if [ -n "${HWPASS_PG_BINDIR:-}" ]; then
		echo "$HWPASS_PG_BINDIR"
		return
	fi
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

start() {
	dir=$1
	bin=$(bindir)
	if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
		echo "pg-lib.sh: no PostgreSQL server found; install it: apt-get install postgresql" >&2
		return 1
	fi
	mkdir -p "$dir"
	chmod 0700 "$dir"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$dir"
		if ! runuser -u postgres -- test -w "$dir"; then
			echo "pg-lib.sh: the user postgres cannot reach $dir; put it where every" \
				"directory above it is searchable (such as under /tmp)" >&2
			return 1
		fi
	fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		if ! as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C \
			--no-sync >"$dir/initdb.log" 2>&1; then
			cat "$dir/initdb.log" >&2
			return 1
		fi
		as_owner sh -c 'cat >>"$1/postgresql.conf" && printf "%s\n" \
			"local all hwpass_pw scram-sha-256" "local all all trust" >"$1/pg_hba.conf"' \
			sh "$dir/data" <<-CONF
		listen_addresses = ''
		unix_socket_directories = '$dir'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		CONF
	fi
	if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null; then
		cat "$dir/server.log" >&2
		return 1
	fi
	echo "postgresql:///postgres?host=$dir&user=postgres"
}

stop() {
	dir=$1
	bin=$(bindir)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
	fi
}

remove() {
	stop "$1" || true
	rm -rf "$1"
}

case "${1:-}" in
start|stop|remove)
	[ $# -eq 2 ] || { echo "usage: $0 $1 DIR" >&2; exit 2; }
	"$1" "$2"
	;;
run)
	shift
	[ $# -ge 1 ] || { echo "usage: $0 run CMD..." >&2; exit 2; }
	if [ -z "$(bindir)" ]; then
		echo "1..0 # SKIP no PostgreSQL server (apt-get install postgresql)"
		exit 0
	fi
	dir=$(mktemp -d "${TMPDIR:-/tmp}/hwpass-pg.XXXXXX")
	trap 'remove "$dir"' EXIT
	trap 'exit 130' INT TERM
	url=$(start "$dir")
	rc=0
	HWPASS_TEST_STORE=$url HWPASS_TEST_PGDIR=$dir "$@" || rc=$?
	exit $rc
	;;
*)
	echo "usage: $0 start DIR | stop DIR | remove DIR | run CMD..." >&2
	exit 2
	;;
esac
