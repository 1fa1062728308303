# Shared by the shell tests that run hwpass commands: a throw-away directory
# and database, `expect` for one TAP case, `sql` for a look inside the store,
# `tap_done` for the plan line and the exit status.
here=$(cd "$(dirname "$0")" && pwd)
hwpass=${HWPASS:?HWPASS must point to the hwpass binary}
fixtures=${HWPASS_FIXTURES:-$here/fixtures/hosts}
tmp=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
db=$tmp/state.db

# free_port: a loopback TCP port nobody listens on now (another may take it
# before it is used: callers that can, retry).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# expect NAME EXIT PATTERN COMMAND...: exit status and a line of stdout+stderr.
expect() {
	local name=$1 want=$2 pattern=$3 rc
	shift 3
	n=$((n + 1))
	"$@" >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		failed=$((failed + 1))
		echo "not ok $n - $name # exit $rc, expected $want: $(tail -1 "$tmp/out")"
	elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" "$tmp/out"; then
		failed=$((failed + 1))
		echo "not ok $n - $name # no line matches '$pattern'"
		sed 's/^/# /' "$tmp/out" | head -10
	else
		echo "ok $n - $name"
	fi
}
sql() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join("|".join(map(str,r)) for r in c.execute(sys.argv[2]))); c.commit()' "$db" "$1"; }
tap_done() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
}

# Whether hwpass here may let a VM's QEMU, under a user of its own, lock the VM's memory: the
# hard locked-memory limit is unlimited, or this root may raise it (CAP_SYS_RESOURCE).
qemu_users_can_lock() {
	[ "$(ulimit -Hl)" = unlimited ] || [ $(( (0x$(awk '/^CapEff/ {print $2}' /proc/self/status) >> 24) & 1 )) = 1 ]
}
