# Helpers for lab scenarios (sourced inside L1). Each check prints one line the
# host-side runner turns into a TAP case:
#   LAB-TAP ok - NAME
#   LAB-TAP not ok - NAME # the failing line
# A scenario exits 0 only when all its checks passed.
lab_failed=0

# check NAME COMMAND...: passes when COMMAND exits 0.
check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "LAB-TAP ok - $name"
	else
		lab_failed=$((lab_failed + 1))
		echo "LAB-TAP not ok - $name # exit $rc: $(echo "$out" | tail -1)"
		echo "$out" | tail -20 | sed 's/^/LAB:   /'
	fi
	return 0
}

# check_output NAME PATTERN COMMAND...: passes when COMMAND's output has a line
# matching the extended regular expression PATTERN (whatever its exit status).
check_output() {
	local name=$1 pattern=$2 out
	shift 2
	out=$("$@" 2>&1)
	if echo "$out" | grep -qE -- "$pattern"; then
		echo "LAB-TAP ok - $name: $(echo "$out" | grep -E -- "$pattern" | head -1)"
	else
		lab_failed=$((lab_failed + 1))
		echo "LAB-TAP not ok - $name # no line matches '$pattern'"
		echo "$out" | tail -20 | sed 's/^/LAB:   /'
	fi
}

# wait_for SECONDS COMMAND...: retries COMMAND until it succeeds.
wait_for() {
	local limit=$1 i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -ge $((limit * 10)) ] && return 1
		sleep 0.1
	done
}

# json_field JSON KEY: the value of the first "KEY": VALUE line (pretty-printed JSON).
json_field() {
	echo "$1" | sed -n "s/^ *\"$2\": \(.*\)/\1/p" | head -1 | sed 's/,$//; s/^"//; s/"$//'
}

# pci_by_id VVVV:DDDD [N]: the address of the Nth (default 1st) function with that ID.
pci_by_id() {
	local want=$1 n=${2:-1} d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x${want%%:*}:0x${want##*:}" ] || continue
		n=$((n - 1))
		[ $n -eq 0 ] && { basename "$d"; return 0; }
	done
	return 1
}

lab_done() {
	[ "$lab_failed" -eq 0 ]
}

# check_level FILE ID: the level of check ID in a saved `hwpass host check --json`.
check_level() {
	grep -A2 "\"id\": \"$2\"" "$1" | sed -n 's/.*"level": "\(.*\)".*/\1/p'
}

# nvme_by_serial SERIAL: the address of the NVMe controller with that serial
# (the lab's NVMe serials are fixed in tests/lab/run).
nvme_by_serial() {
	for d in /sys/bus/pci/devices/*; do
		grep -qE "^$1 *$" "$d"/nvme/nvme*/serial 2>/dev/null && basename "$d"
	done
}
