# VMs with passthrough devices inside L1: a VM with an NVMe by address and
# VMs asking for "1b36:0010 with label fast" boot the probe guest, which runs
# an NVMe IDENTIFY by DMA; a VM that finds no free device is refused with what
# it looked for; stopping releases and resets the device for the next VM.
. /lab/lib.sh
export HWPASS_QEMU_ACCEL=tcg # L1's KVM runs on emulated SVM: nested guests use TCG

drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
n1=$(nvme_by_serial hwpass-nvme1)
n2=$(nvme_by_serial hwpass-nvme2)
probe=/usr/lib/hwpass/probe-guest
# The guest's log is complete once it says "PROBE done".
done_in() { wait_for 60 grep -q "PROBE done" "/run/hwpass/vms/$1/serial.log"; }

check "enable both NVMe" hwpass device passthrough enable "$n1" "$n2"
check "label them fast" sh -c "hwpass device label $n1 fast && hwpass device label $n2 fast"

check "create a VM with $n1 by address" sh -c "hwpass vm create static1 --memory 64M --vcpus 1 --kernel $probe && hwpass vm add-pci static1 --address $n1"
check "start it" hwpass vm start static1
check_output "it is running" "^static1 +running" hwpass vm list
check "the guest finishes probing" done_in static1
check_output "the guest's IDENTIFY by DMA returns $n1's serial" 'identify=ok vid=1b36 sn="hwpass-nvme1"' hwpass vm log static1
check_output "$n1 is assigned to static1" '^Assigned to: +static1' hwpass device show "$n1"

# Each VM's QEMU runs as a user of its own (from 1879048192 up), which owns its run directory
# and its VFIO group file while it runs, and nothing else: not a free device's group.
group_of() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }
qemu_of() { cat "/run/hwpass/vms/$1/qemu.pid"; }
g1=$(group_of "$n1")
g2=$(group_of "$n2")
uid1=$(stat -c %u /run/hwpass/vms/static1)
ps -o user,comm | grep -E 'USER|qemu'
# (busybox's ps shows 8 characters of a user with no name)
check_output "ps -o user,comm: static1's QEMU runs as its own user, not root" '^18790481 +qemu-system' \
	sh -c "ps -o user,comm | grep qemu-system"
check_output "its uid in full" '^1879048192$' stat -c %u "/proc/$(qemu_of static1)"
check_output "its run directory is that user's" '^1879048192$' echo "$uid1"
check_output "so is the group file of $n1 (/dev/vfio/$g1)" "^$uid1 600\$" stat -c '%u %a' "/dev/vfio/$g1"
check_output "the free $n2's group file stays root's" '^0 600$' stat -c '%u %a' "/dev/vfio/$g2"
check_output "QEMU runs under its seccomp filter, with no new privileges" '^NoNewPrivs:[[:space:]]+1 Seccomp:[[:space:]]+2' \
	sh -c "grep -E '^(NoNewPrivs|Seccomp):' /proc/$(qemu_of static1)/status | tr '\n' ' '"
check_output "and may lock only the memory it needs (64 MiB twice, and a GiB for itself)" \
	'^Max locked memory +1207959552 +1207959552 +bytes' grep 'Max locked memory' "/proc/$(qemu_of static1)/limits"
printf 'root:x:0:0::/:/bin/sh\nvm-static1:x:%s:%s::/:/bin/sh\n' "$uid1" "$uid1" >/etc/passwd
check_output "as static1's user, opening the free $n2's group is refused: EACCES, not EBUSY" \
	"can't open /dev/vfio/$g2: Permission denied" su -s /bin/sh vm-static1 -c "exec 3</dev/vfio/$g2"
check_output "while its own group, which its QEMU holds, is busy" "can't open /dev/vfio/$g1: Device or resource busy" \
	su -s /bin/sh vm-static1 -c "exec 3</dev/vfio/$g1"
check "root can open the free group" sh -c "exec 3</dev/vfio/$g2"

check "create two VMs asking for 1b36:0010 with label fast" sh -c "for v in dyn1 dyn2; do hwpass vm create \$v --memory 64M --vcpus 1 --kernel $probe && hwpass vm add-pci \$v --allowed 1b36:0010 --label fast || exit 1; done"
check "dyn1 starts" hwpass vm start dyn1
check "dyn1's guest finishes probing" done_in dyn1
check_output "dyn1 got the other NVMe" 'identify=ok vid=1b36 sn="hwpass-nvme2"' hwpass vm log dyn1
check_output "dyn2 finds no free device, and says what it looked for" \
	"no free device for 1b36:0010 with label 'fast'" hwpass vm start dyn2
check_output "dyn2 stays off" "^dyn2 +off" hwpass vm list

check_output "dyn1's QEMU runs as a user of its own too" '^2$' \
	sh -c "ps -o user,comm | grep qemu-system | grep -v '^root' | awk '{print \$1}' | sort -u | wc -l"
check_output "stop static1 (the guest ignores ACPI: forced after the timeout)" "is off; its devices are reset and free" \
	hwpass vm stop static1 --timeout 3
check_output "its group file is root's again" '^0 600$' stat -c '%u %a' "/dev/vfio/$g1"
check_output "and its run directory, console log included" '^0 0$' \
	sh -c "stat -c %u /run/hwpass/vms/static1 | tr '\n' ' '; stat -c %u /run/hwpass/vms/static1/serial.log"
check_output "$n1 is free again" '^Assigned to: +-' hwpass device show "$n1"
check_output "its reset worked: healthy" '^Health: +ok' hwpass device show "$n1"
check "$n1 stays on vfio-pci" [ "$(drv "$n1")" = vfio-pci ]
check "now dyn2 starts" hwpass vm start dyn2
check "dyn2's guest finishes probing" done_in dyn2
check_output "dyn2 got $n1" 'identify=ok vid=1b36 sn="hwpass-nvme1"' hwpass vm log dyn2
check "stop dyn1 and dyn2" sh -c "hwpass vm stop dyn1 --force && hwpass vm stop dyn2 --force"
check_output "all off" "^3\$" sh -c "hwpass vm list | grep -c ' off '"
check_output "no device stays assigned" "^0\$" sh -c "hwpass device list --json | grep -c '\"assigned_vm\": \"'"
lab_done
