# lab: systemd
# hwpass under a real systemd, on a real kernel with an IOMMU: L1 boots Debian's
# systemd as PID 1 with the build's units (dist/systemd, hardening.conf put in by
# meson) and, as on a host with nothing passed through yet, VFIO not loaded.
# hwpassd.service is enabled and started; through it the CLI binds an NVMe to
# vfio-pci from inside the unit's sandbox and starts a VM whose probe guest reads
# the NVMe's serial by DMA. The sandbox is shown in force where passthrough
# meets it: hwpassd's and QEMU's bounding set, no new privileges, QEMU in the
# unit's cgroup, /usr and /etc read-only and /tmp private in its mount
# namespace, and a device outside DeviceAllow refused there while VFIO's opens.
# hwpass-apply and hwpass-vms run too, and systemd-analyze security rates all three.
. /lab/lib.sh
export HWPASS_QEMU_ACCEL=tcg # L1's KVM runs on emulated SVM: nested guests use TCG

drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
n1=$(nvme_by_serial hwpass-nvme1)
n2=$(nvme_by_serial hwpass-nvme2)
g1=$(basename "$(readlink "/sys/bus/pci/devices/$n1/iommu_group")")
probe=/usr/lib/hwpass/probe-guest
unit_cg=/sys/fs/cgroup/system.slice/hwpassd.service

# The capabilities in the kernel's order (linux/capability.h), for CapBnd masks.
caps="chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap linux_immutable
	net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner sys_module sys_rawio
	sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice sys_resource sys_time
	sys_tty_config mknod lease audit_write audit_control setfcap mac_override mac_admin syslog
	wake_alarm block_suspend audit_read perfmon bpf checkpoint_restore"
# cap_mask NAME...: the CapBnd of /proc/PID/status for capabilities named as
# systemctl shows them (cap_sys_admin ...).
cap_mask() {
	local mask=0 want i name
	for want in "$@"; do
		i=0
		for name in $caps; do
			[ "cap_$name" = "$want" ] && mask=$((mask | (1 << i)))
			i=$((i + 1))
		done
	done
	printf '%016x\n' "$mask"
}
capbnd() { sed -n 's/^CapBnd:[[:space:]]*//p' "/proc/$1/status"; }
# lacks HEX NAME...: none of the named capabilities is in the mask.
lacks() {
	local mask=$1
	shift
	[ $((0x$mask & 0x$(cap_mask "$@"))) -eq 0 ]
}
# open_in_unit DEV: opens DEV from a process moved into hwpassd.service's
# cgroup, where the unit's device policy (a BPF program systemd attached to
# that cgroup) decides; prints "opened" or the shell's refusal.
open_in_unit() {
	sh -c 'echo $$ >"$1/cgroup.procs" || exit 2
		grep -q "^0::/system.slice/hwpassd.service$" /proc/self/cgroup || exit 3
		exec 3<"$2" && echo opened' sh "$unit_cg" "$1" 2>&1
}
# unit_ran UNIT: its state, result and main process's exit status.
unit_ran() {
	echo "$(systemctl show -P ActiveState "$1") $(systemctl show -P Result "$1") $(systemctl show -P ExecMainStatus "$1")"
}

check_output "systemd is PID 1" '^systemd$' cat /proc/1/comm
check_output "the boot finished, nothing failed" '^running$' systemctl is-system-running --wait
check "VFIO is not loaded: nothing was passed through since boot" [ ! -e /sys/module/vfio ]

mkdir -p /etc/default
echo HWPASS_QEMU_ACCEL=tcg >/etc/default/hwpassd
check "systemctl enable --now hwpassd.service" systemctl enable --now hwpassd.service
check_output "hwpassd.service is active (Type=notify: it said it is ready)" '^active$' systemctl is-active hwpassd.service
vfio_loaded() { [ -d /sys/bus/pci/drivers/vfio-pci ] && [ -e /sys/module/vfio_iommu_type1 ] && [ -c /dev/vfio/vfio ] && echo loaded; }
check_output "modprobe@vfio_pci.service, which it wants, ran first: vfio-pci, VFIO's IOMMU backend, /dev/vfio/vfio" \
	"^inactive success 0 loaded\$" eval 'echo "$(unit_ran modprobe@vfio_pci.service) $(vfio_loaded)"'
pid=$(systemctl show -P MainPID hwpassd.service)
want=$(cap_mask $(systemctl show -P CapabilityBoundingSet hwpassd.service))
check_output "hwpassd's bounding set is the unit's CapabilityBoundingSet" "^$want\$" capbnd "$pid"
check "... which leaves out CAP_SYS_BOOT, CAP_SYS_TIME, CAP_MKNOD, CAP_NET_ADMIN, CAP_BPF" \
	lacks "$want" cap_sys_boot cap_sys_time cap_mknod cap_net_admin cap_bpf
check_output "hwpassd runs with no new privileges, under a seccomp filter" '^NoNewPrivs:[[:space:]]+1 Seccomp:[[:space:]]+2' \
	sh -c "grep -E '^(NoNewPrivs|Seccomp):' /proc/$pid/status | tr '\n' ' '"
check_output "in its mount namespace /usr is read-only (ProtectSystem)" "Read-only file system" \
	nsenter -t "$pid" -m touch /usr/.lab-probe
check_output "... and /etc" "Read-only file system" nsenter -t "$pid" -m touch /etc/.lab-probe
check "... which this shell, outside, may write" sh -c 'touch /usr/.lab-probe /etc/.lab-probe && rm /usr/.lab-probe /etc/.lab-probe'
check "its /tmp is its own (PrivateTmp): a file in this shell's /tmp is not there" \
	sh -c "touch /tmp/lab-probe && nsenter -t $pid -m sh -c '! test -e /tmp/lab-probe'"

check "hwpass device passthrough enable $n1" hwpass device passthrough enable "$n1"
check_output "... carried out by hwpassd" "passthrough-enabled +$n1 +(root|uid 0) via hwpassd" hwpass events --limit 5
check "$n1 is on vfio-pci, /dev/vfio/$g1 is there" sh -c "[ '$(drv "$n1")' = vfio-pci ] && [ -c /dev/vfio/$g1 ]"

check "create a VM with $n1" sh -c "hwpass vm create sd1 --memory 64M --vcpus 1 --kernel $probe && hwpass vm add-pci sd1 --address $n1"
check_output "start it through hwpassd" "VM 'sd1' is running" hwpass vm start sd1
check "the guest finishes probing" wait_for 60 grep -q "PROBE done" /run/hwpass/vms/sd1/serial.log
check_output "the guest's IDENTIFY by DMA returns $n1's serial" 'identify=ok vid=1b36 sn="hwpass-nvme1"' hwpass vm log sd1
qemu=$(cat /run/hwpass/vms/sd1/qemu.pid 2>/dev/null)
check_output "its QEMU runs in hwpassd.service's cgroup" '^0::/system.slice/hwpassd.service$' cat "/proc/$qemu/cgroup"
check_output "... as a user of its own" '^1879048192$' stat -c %u "/proc/$qemu"
check_output "... with no new privileges" '^NoNewPrivs:[[:space:]]+1$' grep NoNewPrivs "/proc/$qemu/status"
check "... and no capability outside the unit's bounding set" sh -c "[ \$((0x$(capbnd "$qemu") & ~0x$want)) -eq 0 ]"

c2=$(ls "/sys/bus/pci/devices/$n2/nvme" | head -1)
check_output "this shell opens /dev/$c2 ($n2's NVMe controller)" "^opened$" sh -c "exec 3</dev/$c2 && echo opened"
check_output "in hwpassd.service's cgroup the device policy refuses it (not in DeviceAllow)" \
	"can't open '?/dev/$c2'?: Operation not permitted" open_in_unit "/dev/$c2"
check_output "... and lets /dev/vfio/vfio open there" "^opened$" open_in_unit /dev/vfio/vfio

check_output "stop the VM (the guest ignores ACPI: forced after the timeout)" "is off; its devices are reset and free" \
	hwpass vm stop sd1 --timeout 3
check "its QEMU is gone" sh -c "! kill -0 $qemu 2>/dev/null"
check_output "$n1 is free and healthy after its reset" '^Health: +ok' hwpass device show "$n1"

check "systemctl enable --now hwpass-apply.service (its own sandbox)" systemctl enable --now hwpass-apply.service
check_output "... 'hwpass host apply' ran and exited 0, $n1 left on vfio-pci" "^active success 0 vfio-pci\$" \
	eval 'echo "$(unit_ran hwpass-apply.service) $(drv "$n1")"'
check "systemctl enable --now hwpass-vms.service" systemctl enable --now hwpass-vms.service
check_output "... 'hwpass host start-vms' ran and exited 0" "^active success 0\$" unit_ran hwpass-vms.service
check "systemctl stop hwpass-vms.service ('hwpass host stop-vms')" systemctl stop hwpass-vms.service
check_output "... exited 0" "^inactive success 0\$" unit_ran hwpass-vms.service

check "hwpass device passthrough disable $n1" hwpass device passthrough disable "$n1"
check "$n1 is back on nvme" [ "$(drv "$n1")" = nvme ]
check_output "hwpassd ran throughout: the same process, never restarted" "^$pid 0\$" \
	sh -c 'echo $(systemctl show -P MainPID hwpassd.service) $(systemctl show -P NRestarts hwpassd.service)'

for unit in hwpassd.service hwpass-vms.service hwpass-apply.service; do
	check_output "systemd-analyze security $unit: below 5, OK" "exposure level for $unit: [0-4]\.[0-9] OK" \
		systemd-analyze security --no-pager "$unit"
done

if [ "$lab_failed" -gt 0 ]; then
	for f in /run/lab-*.log; do
		[ -f "$f" ] && tail -20 "$f" | sed "s|^|LAB: hwpassd: $(basename "$f" .log): |"
	done
fi
lab_done
