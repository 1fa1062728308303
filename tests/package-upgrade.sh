# Sourced by tests/package once its host checks are done, with $deb (this
# tree's package, version $version) and $base_deb (the last release's,
# $base_version) built: an upgrade from that release under a real systemd.
# This machine's own system is booted in a container (systemd-nspawn on an
# overlay of /, its changes in memory, its own network), where the release
# is installed, hwpassd.service (also on loopback TCP) and
# hwpass-vms.service enabled and started, a VM started through the daemon
# (QEMU under TCG, the probe guest) and an API token made, its store at
# schema 10. Then this tree's package is installed over it: the daemon
# restarts on the new binary and migrates the store to a newer schema,
# hwpass-vms.service is not stopped, the VM's QEMU runs on, the new daemon
# answers for it, and the old token still opens the API over TCP and is
# listed with the role admin. The units' sandbox (dist/systemd/hardening.conf):
# systemd-analyze security's exposure of each unit before (the release's) and
# after, at most 5 now; hwpassd's settings in force; a VM started under it
# runs, its QEMU in the unit's cgroup with no new privileges and the unit's
# capabilities only.
if ! command -v systemd-nspawn >/dev/null || [ ! -x /lib/systemd/systemd ]; then
	echo "# the upgrade under systemd not shown: needs systemd-nspawn (systemd-container) and systemd"
	return 0
fi
root=$tmp/root
upper=/dev/shm/hwpass-upgrade-$$
nspawn=
box_down() {
	local init
	if [ -n "$nspawn" ]; then
		init=$(leader)
		in_box systemctl poweroff >/dev/null 2>&1
		for _ in $(seq 100); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
		# Still up (hwpass-vms' stop gives a VM 120 s): killing the container's
		# init ends all in it; killing nspawn alone would leave them running.
		if kill -0 "$nspawn" 2>/dev/null; then
			[ -n "$init" ] && kill -9 "$init" 2>/dev/null
			kill -9 "$nspawn" 2>/dev/null
		fi
		wait "$nspawn" 2>/dev/null
	fi
	umount "$root" 2>/dev/null
	rm -rf "$upper"
}
undo=(box_down "${undo[@]}")
old_deb=$base_deb
new_deb=$deb

# This system, booted in a container: its files read from /, its changes
# in memory; services that would only get in the way masked.
mkdir -p "$root" "$upper"/{upper,work}
if ! mount -t overlay overlay -o "lowerdir=/,upperdir=$upper/upper,workdir=$upper/work" "$root"; then
	echo "# the upgrade under systemd not shown: cannot mount an overlay of /"
	return 0
fi
for unit in postgresql.service postgresql@.service prometheus.service console-getty.service; do
	ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
# A machine's own policy: services start and restart (this one may be a build container's, which forbids it).
rm -f "$root/usr/sbin/policy-rc.d"
# Not /tmp: the container mounts a tmpfs there.
cp "$old_deb" "$new_deb" "$root/root/"
# Without KVM here: the VMs run under TCG; the daemon gets it from its EnvironmentFile.
# CAP_IPC_LOCK: QEMU locks a VM's memory (VFIO needs it); nspawn does not give it by default.
systemd-nspawn -D "$root" --register=no --keep-unit --private-network --capability=CAP_IPC_LOCK \
	--machine "hwpass-up-$$" -b \
	>"$tmp/boot.log" 2>&1 &
nspawn=$!
leader() { ps -o pid= --ppid "$nspawn" 2>/dev/null | head -1 | tr -d ' '; }
in_box() { local p; p=$(leader) && [ -n "$p" ] && nsenter -t "$p" -a -- "$@"; }
booted() { in_box systemctl is-system-running 2>/dev/null | grep -qE '^(running|degraded)$'; }
for _ in $(seq 600); do booted && break; kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
expect "the container booted with systemd as PID 1" 0 "^systemd$" in_box cat /proc/1/comm
booted || { sed 's/^/# /' "$tmp/boot.log" | tail -20; echo "Bail out! the container did not boot"; exit 1; }

expect "apt-get install ./$(basename "$old_deb") (the last release) in it" 0 "" \
	in_box env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "/root/$(basename "$old_deb")"
expect "... nothing enabled or started" 3 "^inactive$" in_box systemctl is-active hwpassd.service
# The API on loopback TCP too (the container's own), where a token is asked for.
api_port=8470
in_box sh -c "sed -i 's/^HWPASSD_OPTIONS=.*/HWPASSD_OPTIONS=\"--listen tcp:127.0.0.1:$api_port\"/' /etc/default/hwpassd &&
	echo HWPASS_QEMU_ACCEL=tcg >>/etc/default/hwpassd"
# Each VM's QEMU runs as a user of its own, which must be let lock its memory: where this
# machine's root lacks CAP_SYS_RESOURCE and may lock little (cli-run shows the refusal), QEMU
# runs as root in the container, as it must here; elsewhere as its own user (checked below).
qemu_users=on
if ! qemu_users_can_lock; then
	qemu_users=off
	in_box sh -c "echo HWPASS_QEMU_USERS=off >>/etc/default/hwpassd"
fi
expect "systemctl enable --now hwpassd, then hwpass-vms (which starts once the store is there)" 0 "" \
	sh -c "nsenter -t $(leader) -a systemctl enable --now hwpassd.service &&
		nsenter -t $(leader) -a systemctl enable --now hwpass-vms.service"
expect "hwpassd is active (Type=notify: it said it is ready)" 0 "^active$" in_box systemctl is-active hwpassd.service
old_pid=$(in_box systemctl show -P MainPID hwpassd.service)
expect "a VM defined" 0 "" \
	in_box hwpass vm create keep --memory 64M --kernel /usr/lib/hwpass/probe-guest
expect "... started through the daemon (QEMU under TCG)" 0 "is running" in_box hwpass vm start keep
qemu=$(in_box cat /run/hwpass/vms/keep/qemu.pid)
expect "... its QEMU runs" 0 "" in_box kill -0 "$qemu"
expect "an API token made by hwpass $base_version" 0 "^hwp_" in_box hwpass token create old-admin
tok=$(grep '^hwp_' "$tmp/out")
api_vms() { in_box curl -sf -H "Authorization: Bearer $tok" "http://127.0.0.1:$api_port/v1/vms"; }
expect "... opens the API over TCP" 0 '"name": ?"keep"' api_vms
schema() {
	in_box python3 -c 'import sqlite3; print(sqlite3.connect("/var/lib/hwpass/hwpass.db").execute(
		"SELECT version FROM schema_version WHERE id = 1").fetchone()[0])'
}
expect "the store is at schema 10" 0 "^10$" schema
schema_old=$(schema)
# security UNIT: systemd-analyze security's exposure of the installed unit.
security() { in_box systemd-analyze security --no-pager "$1" 2>/dev/null | sed -n 's/^.*exposure level for .*: \([0-9.]*\) .*/\1/p'; }
declare -A exposed_old
for unit in hwpassd.service hwpass-apply.service hwpass-vms.service; do exposed_old[$unit]=$(security $unit); done

# As unattended-upgrades does: a conffile the administrator changed is kept (the new one is
# left beside it as .dpkg-dist).
expect "apt-get install ./$(basename "$new_deb") (this tree) over it" 0 "" \
	in_box env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "/root/$(basename "$new_deb")"
if ! grep -q . "$tmp/out" || grep -q "^E: " "$tmp/out"; then
	# Why, when it failed: what apt said, and the daemon's last words.
	tail -15 "$tmp/out" | sed 's/^/# apt: /'
	in_box journalctl -u hwpassd.service -n 15 --no-pager 2>&1 | sed 's/^/# journal: /'
fi
version_re=$(sed 's/[.+~]/\\&/g' <<<"$version")
expect "... the administrator's /etc/default/hwpassd kept (the API on TCP), the new one beside it" 0 "" \
	in_box sh -c "grep -q '^HWPASSD_OPTIONS=\"--listen tcp:127.0.0.1:$api_port\"' /etc/default/hwpassd &&
		test -f /etc/default/hwpassd.dpkg-dist"
expect "hwpass --version: $version" 0 "^hwpass $version_re\$" in_box hwpass --version
expect "hwpassd was restarted: a new main process, active" 0 "" \
	sh -c "p=\$(nsenter -t $(leader) -a systemctl show -P MainPID hwpassd.service) && [ -n \"\$p\" ] &&
		[ \"\$p\" != 0 ] && [ \"\$p\" != '$old_pid' ] && nsenter -t $(leader) -a systemctl is-active -q hwpassd.service"
expect "... on the new binary" 0 "^hwpassd $version_re\$" \
	in_box sh -c 'exe=$(readlink /proc/$(systemctl show -P MainPID hwpassd.service)/exe) && "$exe" --version'
newer_schema() { local v; v=$(schema) && echo "schema $v" && [ "$v" -gt "$schema_old" ]; }
expect "... which migrated the store: a schema newer than $schema_old" 0 "" newer_schema
expect "hwpass-vms.service was not stopped" 0 "^active$" in_box systemctl is-active hwpass-vms.service
expect "the VM's QEMU runs on, the same process" 0 "" in_box kill -0 "$qemu"
expect "... and the new daemon answers for it: running" 0 "^keep +running" \
	sh -c "nsenter -t $(leader) -a hwpass vm list | grep '^keep'"
expect "the token made by $base_version opens the new daemon's API over TCP" 0 '"name": ?"keep"' api_vms
expect "... and is listed as old-admin, with the role admin" 0 "^true$" \
	in_box sh -c 'hwpass token list --json | jq "[.tokens[] | select(.name == \"old-admin\" and .role == \"admin\")] | length == 1"'
expect "... and the upgrade says so in the event log, with how to narrow it" 0 "^token-role old-admin .*it is now admin.*--role operator or viewer" \
	in_box sh -c 'hwpass events --json | jq -r ".events[] | select(.kind == \"token-role\") | \"\(.kind) \(.subject) \(.message)\""'
# The units' sandbox (dist/systemd/hardening.conf): exposure before and after.
for unit in hwpassd.service hwpass-apply.service hwpass-vms.service; do
	now=$(security $unit)
	echo "# systemd-analyze security $unit: ${exposed_old[$unit]} with $base_version, $now now"
	expect "$unit is less exposed than with $base_version (${exposed_old[$unit]} -> $now), 5 or less" 0 "" \
		python3 -c "import sys; o, n = float(sys.argv[1]), float(sys.argv[2]); sys.exit(not (n < o and n <= 5.0))" \
		"${exposed_old[$unit]:-0}" "${now:-99}"
done
prop() { in_box systemctl show -P "$1" hwpassd.service; }
expect "hwpassd runs sandboxed: no new privileges" 0 "^yes$" prop NoNewPrivileges
expect "... /usr, /boot, /etc read-only" 0 "^full$" prop ProtectSystem
expect "... its own /tmp" 0 "^yes$" prop PrivateTmp
expect "... a closed device policy: VFIO, KVM, USB and disks only" 0 "^closed$" prop DevicePolicy
expect "a VM started under the sandboxed daemon runs (QEMU under TCG)" 0 "is running" \
	in_box sh -c 'hwpass vm create fresh --memory 64M --kernel /usr/lib/hwpass/probe-guest && hwpass vm start fresh'
fresh=$(in_box cat /run/hwpass/vms/fresh/qemu.pid)
# capable PID: its bounding set has none of CAP_MKNOD (27), CAP_SYS_BOOT (22), CAP_SYS_TIME (25), and keeps CAP_IPC_LOCK (14).
bounded() {
	in_box python3 -c 'import sys
b = int([l.split()[1] for l in open("/proc/%s/status" % sys.argv[1]) if l.startswith("CapBnd:")][0], 16)
sys.exit(not (b & (1 << 14) and not b & ((1 << 27) | (1 << 22) | (1 << 25))))' "$1"
}
expect "... its QEMU in hwpassd's cgroup" 0 "hwpassd\.service" in_box cat "/proc/$fresh/cgroup"
if [ "$qemu_users" = on ]; then
	expect "... as a user of its own, not root" 0 "^ *1879048192$" in_box ps -o uid= -p "$fresh"
fi
expect "... with no new privileges" 0 "^NoNewPrivs:.1$" in_box grep NoNewPrivs "/proc/$fresh/status"
expect "... and only the unit's capabilities (IPC_LOCK, not MKNOD, SYS_BOOT, SYS_TIME)" 0 "" bounded "$fresh"
expect "... and it stops" 0 "" in_box hwpass vm stop fresh --force
# The container down before the next part, which runs on this machine.
box_down
nspawn=
