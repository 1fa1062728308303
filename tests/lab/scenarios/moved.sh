# lab: boots 2
# lab: swap-nvme-on-boot 2
# lab: timeout 900
# An NVMe moved to another root port between boots (the two plain NVMe trade
# slots, so the old address holds the other NVMe now): host apply at boot
# follows it by its serial (label, desired state, vfio-pci at the new
# address), a static VM's entry follows it and the VM gets that very NVMe
# (the probe guest reads its serial), a VM asking by label finds it, and the
# other NVMe, standing at the old address, is left to the host.
. /lab/lib.sh
export HWPASS_QEMU_ACCEL=tcg # L1's KVM runs on emulated SVM: nested guests use TCG

boot=$(sed -n 's/.*hwpass\.lab_boot=\([0-9]*\).*/\1/p' /proc/cmdline)
drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
probe=/usr/lib/hwpass/probe-guest
done_in() { wait_for 120 grep -q "PROBE done" "/run/hwpass/vms/$1/serial.log"; }

if [ "$boot" = 1 ]; then
	old=$(nvme_by_serial hwpass-nvme2)
	other=$(nvme_by_serial hwpass-nvme1)
	echo "$old $other" >/var/lib/hwpass/lab-moved
	check "boot 1: enable hwpass-nvme2 at $old" hwpass device passthrough enable "$old"
	check "boot 1: label it" hwpass device label "$old" "moving scratch"
	check "boot 1: a VM with it by address" sh -c "hwpass vm create static1 --memory 64M --vcpus 1 --kernel $probe && hwpass vm add-pci static1 --address $old"
	check "boot 1: a VM asking for it by label" sh -c "hwpass vm create bylabel --memory 64M --vcpus 1 --kernel $probe && hwpass vm add-pci bylabel --allowed 1b36:0010 --label 'moving scratch'"
	check "boot 1: $old is on vfio-pci" [ "$(drv "$old")" = vfio-pci ]
	check "boot 1: $other stays with nvme" [ "$(drv "$other")" = nvme ]
	lab_done
	exit
fi

read -r old new </var/lib/hwpass/lab-moved
check "boot 2: the NVMe moved: hwpass-nvme1 now stands at $old" [ "$(nvme_by_serial hwpass-nvme1)" = "$old" ]
check_output "boot 2: host apply at boot exited 0" "^0$" cat /tmp/host-apply.rc
check_output "boot 2: and bound one device" "1 device changed" cat /tmp/host-apply.log
check "boot 2: hwpass-nvme2 at its new address $new is on vfio-pci" [ "$(drv "$new")" = vfio-pci ]
check "boot 2: hwpass-nvme1 at the old address stays with nvme" [ "$(drv "$old")" = nvme ]
check_output "boot 2: device show $new has the label" '^Label: +moving scratch' hwpass device show "$new"
check_output "boot 2: desired and active there" '^Mode: +passthrough \(passthrough enabled, active\)' hwpass device show "$new"
check_output "boot 2: nothing is stored for the old address" '^Mode: +host \(passthrough not enabled, not active\)' hwpass device show "$old"
check_output "boot 2: device list: the label at the new address" "^$new .*moving scratch" hwpass device list
check "boot 2: device list shows nothing stale" sh -c \
	"! hwpass device list | grep -E 'is gone|hardware changed|not found at its address|\(moved\)'"
check_output "boot 2: no missing devices in the JSON" '"missing_devices": \[\]' hwpass device list --json
check_output "boot 2: the move is an event" "device-moved .*$old -> $new" hwpass events
check_output "boot 2: so is the VM entry that followed" "vm-device-followed +static1 .*pci0: $old -> $new" hwpass events
check_output "boot 2: the static VM's entry names $new" "^  pci0 +static +$new .*-> $new" hwpass vm show static1

check "boot 2: the static VM starts" hwpass vm start static1
check "boot 2: its guest finishes probing" done_in static1
check_output "boot 2: the guest's IDENTIFY by DMA returns the moved NVMe's serial" 'identify=ok vid=1b36 sn="hwpass-nvme2"' hwpass vm log static1
check_output "boot 2: $new is assigned to static1" '^Assigned to: +static1' hwpass device show "$new"
check "boot 2: stop it" hwpass vm stop static1 --force
check "boot 2: the label VM starts" hwpass vm start bylabel
check "boot 2: its guest finishes probing" done_in bylabel
check_output "boot 2: it found the moved NVMe by its label" 'identify=ok vid=1b36 sn="hwpass-nvme2"' hwpass vm log bylabel
check "boot 2: stop it" hwpass vm stop bylabel --force
check "boot 2: hwpass-nvme1 was never taken from the host" [ "$(drv "$old")" = nvme ]
lab_done
