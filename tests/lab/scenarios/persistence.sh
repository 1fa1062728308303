# lab: boots 2
# Desired state and labels survive a reboot of L1 (its database is on a
# persistent disk), and hwpass host apply at boot binds again what was enabled.
. /lab/lib.sh

boot=$(sed -n 's/.*hwpass\.lab_boot=\([0-9]*\).*/\1/p' /proc/cmdline)
drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
# Boot 1 finds the NVMe by its serial (nvme drives it then) and remembers it
# on the state disk: on boot 2 vfio-pci holds it and shows no serial.
for d in /sys/bus/pci/devices/*; do
	grep -qE "^hwpass-nvme2 *$" "$d"/nvme/nvme*/serial 2>/dev/null && basename "$d" >/var/lib/hwpass/lab-nvme
done
nvme=$(cat /var/lib/hwpass/lab-nvme)
e1=$(pci_by_id 8086:100e 1)
e2=$(pci_by_id 8086:100e 2)

check "boot $boot: the state disk holds the database" grep -q " /var/lib/hwpass " /proc/mounts
if [ "$boot" = 1 ]; then
	check "boot 1: enable $nvme" hwpass device passthrough enable "$nvme"
	check "boot 1: label it" hwpass device label "$nvme" "fast scratch"
	check "boot 1: enable the e1000 pair" hwpass device passthrough enable "$e1"
	check "boot 1: $nvme is on vfio-pci" [ "$(drv "$nvme")" = vfio-pci ]
else
	check_output "boot 2: host apply ran at boot" "3 devices changed" cat /tmp/host-apply.log
	check "boot 2: $nvme is on vfio-pci again" [ "$(drv "$nvme")" = vfio-pci ]
	check "boot 2: both e1000 are on vfio-pci again" [ "$(drv "$e1"):$(drv "$e2")" = vfio-pci:vfio-pci ]
	check "boot 2: /dev/vfio for the NVMe's group" [ -c "/dev/vfio/$(basename "$(readlink "/sys/bus/pci/devices/$nvme/iommu_group")")" ]
	check_output "boot 2: the label survived" '^Label: +fast scratch' hwpass device show "$nvme"
	check_output "boot 2: desired and active" '^Mode: +passthrough \(passthrough enabled, active\)' hwpass device show "$nvme"
	check_output "boot 2: host apply again changes nothing" "0 devices changed" hwpass host apply
fi
lab_done
