# Sourced by tests/package once its host checks are done, with $deb (this
# tree's package, version $version) built: the package under a real
# systemd. This machine's own system is booted in a container
# (systemd-nspawn on an overlay of /, its changes in memory, its own
# network), where the package is installed, hwpassd.service and
# hwpass-vms.service enabled and started, and a VM started through the
# daemon (QEMU under TCG, the probe guest). Then a newer package (this tree
# as version VERSION+1) is installed over it: the daemon restarts on the
# new binary, hwpass-vms.service is not stopped, the VM's QEMU runs on, and
# the new daemon answers for it. systemd-analyze security rates each unit.
if ! command -v systemd-nspawn >/dev/null || [ ! -x /lib/systemd/systemd ]; then
	echo "# the upgrade under systemd not shown: needs systemd-nspawn (systemd-container) and systemd"
	return 0
fi
newer=$version+1
root=$tmp/root
upper=/dev/shm/hwpass-upgrade-$$
nspawn=
box_down() {
	if [ -n "$nspawn" ]; then
		in_box systemctl poweroff >/dev/null 2>&1
		for _ in $(seq 100); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$nspawn" 2>/dev/null
		wait "$nspawn" 2>/dev/null
	fi
	umount "$root" 2>/dev/null
	rm -rf "$upper"
}
trap 'box_down; purge; rm -rf "$tmp"' EXIT

# The same tree as a newer version.
expect "make deb: hwpass $newer, this tree as the next version" 0 "" \
	sh -c "make -C '$src' deb DEB_BUILD='$tmp/new' DEB_VERSION='$newer' >'$tmp/new.log' 2>&1 ||
		{ tail -20 '$tmp/new.log'; exit 1; }"
old_deb=$deb
new_deb=$tmp/new/hwpass_${newer}_amd64.deb
[ -f "$new_deb" ] || { echo "Bail out! no newer package"; exit 1; }

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

expect "apt-get install ./hwpass_${version}_amd64.deb in it" 0 "" \
	in_box env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "/root/$(basename "$old_deb")"
expect "... nothing enabled or started" 3 "^inactive$" in_box systemctl is-active hwpassd.service
in_box sh -c 'echo HWPASS_QEMU_ACCEL=tcg >>/etc/default/hwpassd'
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

expect "apt-get install ./hwpass_${newer}_amd64.deb over it" 0 "" \
	in_box env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "/root/$(basename "$new_deb")"
newer_re=$(sed 's/[.+]/\\&/g' <<<"$newer")
expect "hwpass --version: $newer" 0 "^hwpass $newer_re\$" in_box hwpass --version
expect "hwpassd was restarted: a new main process, active" 0 "" \
	sh -c "p=\$(nsenter -t $(leader) -a systemctl show -P MainPID hwpassd.service) && [ -n \"\$p\" ] &&
		[ \"\$p\" != 0 ] && [ \"\$p\" != '$old_pid' ] && nsenter -t $(leader) -a systemctl is-active -q hwpassd.service"
expect "... on the new binary" 0 "^hwpassd $newer_re\$" \
	in_box sh -c 'exe=$(readlink /proc/$(systemctl show -P MainPID hwpassd.service)/exe) && "$exe" --version'
expect "hwpass-vms.service was not stopped" 0 "^active$" in_box systemctl is-active hwpass-vms.service
expect "the VM's QEMU runs on, the same process" 0 "" in_box kill -0 "$qemu"
expect "... and the new daemon answers for it: running" 0 "^keep +running" \
	sh -c "nsenter -t $(leader) -a hwpass vm list | grep '^keep'"
in_box systemd-analyze security --no-pager hwpassd.service hwpass-apply.service hwpass-vms.service \
	>"$tmp/security" 2>&1
sed 's/^/# systemd-analyze security: /' "$tmp/security" | grep -E "UNIT|\.service"
expect "systemd-analyze security rates each unit" 0 "" \
	sh -c "test \$(grep -cE '^hwpass.*\\.service +[0-9.]+ ' '$tmp/security') = 3"
