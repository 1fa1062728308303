# hwpass device passthrough on the real kernel inside L1: enable binds to
# vfio-pci and creates /dev/vfio/N, a shared group moves together, disable
# gives the device back, the host's own devices are refused, labels stick,
# and an apply killed at any step converges with 'hwpass host apply'.
. /lab/lib.sh

drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
grp() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }
nvme1=$(nvme_by_serial hwpass-nvme1)
nvme2=$(nvme_by_serial hwpass-nvme2)
g1=$(grp "$nvme1")

# Enable, idempotently.
check "enable $nvme1" hwpass device passthrough enable "$nvme1"
check "$nvme1 is on vfio-pci" [ "$(drv "$nvme1")" = vfio-pci ]
check "/dev/vfio/$g1 exists" [ -c "/dev/vfio/$g1" ]
check_output "device list shows it in passthrough mode" "^$nvme1 .* passthrough " hwpass device list
hwpass device show "$nvme1" --json >/tmp/d.json
check "JSON: desired and active" sh -c "grep -A3 '\"passthrough\": {' /tmp/d.json | tr -d ' \n' | grep -q '\"desired\":true,\"active\":true,\"reason\":null'"
check_output "enabling it again changes nothing" "already on vfio-pci" hwpass device passthrough enable "$nvme1"
check_output "the host driver is remembered" '^Host driver: +nvme' hwpass device show "$nvme1"

# A dry run shows the plan and changes nothing.
check_output "dry run shows the plan" "^  $nvme2  nvme -> vfio-pci" hwpass device passthrough enable --dry-run "$nvme2"
check "dry run changed nothing" [ "$(drv "$nvme2")" = nvme ]

# The two e1000 behind the PCIe-to-PCI bridge share a group: they move together.
e1=$(pci_by_id 8086:100e 1)
e2=$(pci_by_id 8086:100e 2)
check_output "enabling one e1000 takes the other along" "goes along: it is in the same IOMMU group" \
	hwpass device passthrough enable "$e1"
check "both e1000 are on vfio-pci" [ "$(drv "$e1"):$(drv "$e2")" = vfio-pci:vfio-pci ]
check "/dev/vfio/$(grp "$e1") exists" [ -c "/dev/vfio/$(grp "$e1")" ]
check_output "disabling the other brings both back" "goes back too" hwpass device passthrough disable "$e2"
check "both e1000 are back on e1000" [ "$(drv "$e1"):$(drv "$e2")" = e1000:e1000 ]

# Disable gives the NVMe back to nvme.
check "disable $nvme1" hwpass device passthrough disable "$nvme1"
check "$nvme1 is back on nvme" [ "$(drv "$nvme1")" = nvme ]
check_output "disabling it again changes nothing" "already with the host" hwpass device passthrough disable "$nvme1"

# The host's own devices are refused, with the reason named.
dev=$(ls "/sys/bus/pci/devices/$nvme2/nvme/"*/ | grep -m1 '^nvme[0-9]*n1$')
mke2fs -q "/dev/$dev" && mkdir -p /mnt/data && mount -t ext4 "/dev/$dev" /mnt/data
check_output "a mounted NVMe is refused, the mount named" \
	"refused: $nvme2 is in use by the host: /dev/$dev is mounted on /mnt/data" \
	hwpass device passthrough enable "$nvme2"
check "the refused NVMe stays on nvme" [ "$(drv "$nvme2")" = nvme ]
check "refusal exits 1" sh -c "hwpass device passthrough enable $nvme2 >/dev/null; [ \$? -eq 1 ]"
umount /mnt/data
nic=$(pci_by_id 8086:10d3)
ifname=$(ls "/sys/bus/pci/devices/$nic/net")
ip link set "$ifname" up && ip addr add 10.0.2.15/24 dev "$ifname" && ip route add default via 10.0.2.2
check_output "the NIC with the default route is refused" \
	"refused: $nic is in use by the host: $ifname carries the IPv4 default route" \
	hwpass device passthrough enable "$nic"
check_output "its address is named too" "refused: $nic is in use by the host: $ifname has an address" \
	hwpass device passthrough enable "$nic"
check "the NIC stays on e1000e" [ "$(drv "$nic")" = e1000e ]
vga=$(pci_by_id 1234:1111)
check_output "the boot VGA with the console on it is refused" "refused: $vga is in use by the host: fb0" \
	hwpass device passthrough enable "$vga"
check_output "the SMBus controller is refused" "refused: 0000:00:1f.3 is an SMBus controller" \
	hwpass device passthrough enable 0000:00:1f.3

# Labels and attributes.
check "label $nvme1" hwpass device label "$nvme1" fast
check "attributes" hwpass device attr "$nvme1" tier=gold rack=r1
check_output "device show has the label" '^Label: +fast' hwpass device show "$nvme1"
check_output "device list has the label" "^$nvme1 .* fast " hwpass device list
check_output "JSON has the attributes" '"tier": "gold"' hwpass device show "$nvme1" --json
check "remove one attribute" hwpass device attr "$nvme1" --unset rack
check "it is gone" sh -c "! hwpass device show $nvme1 --json | grep -q '\"rack\"'"
check_output "a bad label is refused" "invalid label" hwpass device label "$nvme1" ""

# Crash safety: kill the apply after each of its sysfs writes; host apply converges.
for n in 0 1 2; do
	HWPASS_FAULT_AFTER_WRITES=$n hwpass device passthrough enable "$nvme1" >/dev/null 2>&1
	rc=$?
	check "enable killed after $n writes (exit 86)" [ "$rc" -eq 86 ]
	check "after the kill the record says desired" sh -c "hwpass device show $nvme1 --json | grep -q '\"desired\": true'"
	check "host apply converges (after $n writes)" hwpass host apply
	check "$nvme1 is on vfio-pci (after $n writes)" [ "$(drv "$nvme1")" = vfio-pci ]
	check "host apply again does nothing" sh -c "hwpass host apply | grep -q '0 devices changed'"
	HWPASS_FAULT_AFTER_WRITES=$n hwpass device passthrough disable "$nvme1" >/dev/null 2>&1
	check "disable killed after $n writes (exit 86)" [ $? -eq 86 ]
	check "host apply converges back (after $n writes)" hwpass host apply
	check "$nvme1 is back on nvme (after $n writes)" [ "$(drv "$nvme1")" = nvme ]
done
check_output "graphics device list shows the VGA on the host" "^$vga .* host " hwpass graphics device list
lab_done
