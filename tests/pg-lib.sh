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
# With HWPASS_PG_TEMPLATE=DIR, initdb runs once into DIR and each new
# cluster is a copy of that one.
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

# A new cluster in $1 (the data directory), made by initdb, or copied from
# HWPASS_PG_TEMPLATE (a cluster made once for this server version, under a
# lock: initdb takes seconds, a copy a fraction of one).
make_cluster() {
	bin=$(bindir)
	if [ -n "${HWPASS_PG_TEMPLATE:-}" ]; then
		template=$HWPASS_PG_TEMPLATE/$(basename "$(dirname "$bin")")
		mkdir -p "$HWPASS_PG_TEMPLATE"
		(
			flock 9
			if [ ! -f "$template/PG_VERSION" ]; then
				rm -rf "$template.new"
				initdb_into "$template.new"
				mv "$template.new" "$template"
			fi
		) 9>"$HWPASS_PG_TEMPLATE/lock"
		cp -a "$template" "$1"
		if [ "$(id -u)" = 0 ]; then
			chown -R postgres: "$1"
		fi
		return
	fi
	initdb_into "$1"
}

initdb_into() {
	mkdir -p "$1"
	chmod 0700 "$1"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$1"
	fi
	if ! as_owner "$bin/initdb" -D "$1" -U postgres -A trust -E UTF8 --locale=C \
		--no-sync >"$1.initdb.log" 2>&1; then
		cat "$1.initdb.log" >&2
		return 1
	fi
	rm -f "$1.initdb.log"
	as_owner sh -c 'cat >>"$1/postgresql.conf" && printf "%s\n" \
		"local all hwpass_pw scram-sha-256" "local all all trust" >"$1/pg_hba.conf"' \
		sh "$1" <<-CONF
	listen_addresses = ''
	fsync = off
	synchronous_commit = off
	full_page_writes = off
	CONF
}

start() {
	dir=$1
	bin=$(bindir)
	if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
		echo "pg-lib.sh: no PostgreSQL server found; install it: apt-get install postgresql" >&2
		return 1
	fi
	case $dir in
	*[!A-Za-z0-9/._+-]*)
		echo "pg-lib.sh: $dir: use a directory name of letters, digits and ./_+-" >&2
		return 1
		;;
	esac
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
		make_cluster "$dir/data"
	fi
	# The socket's directory on the command line: a copied cluster has no
	# directory of its own in its configuration.
	if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-k $dir" -w -t 60 \
		start >/dev/null; then
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
