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
# listed with the role admin. systemd-analyze security rates each unit.
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

expect "apt-get install ./$(basename "$new_deb") (this tree) over it" 0 "" \
	in_box env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "/root/$(basename "$new_deb")"
version_re=$(sed 's/[.+~]/\\&/g' <<<"$version")
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
in_box systemd-analyze security --no-pager hwpassd.service hwpass-apply.service hwpass-vms.service \
	>"$tmp/security" 2>&1
sed 's/^/# systemd-analyze security: /' "$tmp/security" | grep -E "UNIT|\.service"
expect "systemd-analyze security rates each unit" 0 "" \
	sh -c "test \$(grep -cE '^hwpass.*\\.service +[0-9.]+ ' '$tmp/security') = 3"
# The container down before the next part, which runs on this machine.
box_down
nspawn=
