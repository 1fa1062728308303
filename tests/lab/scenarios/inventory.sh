# hwpass device list / show / iommu list inside L1 against the kernel's own view
# (sysfs) and lspci: IDs, class, driver, IOMMU group, BARs (the 32 GiB one
# included), reset methods, the shared group, the boot VGA, SR-IOV VFs once
# they are enabled.
. /lab/lib.sh

hex() { v=$(cat "$1"); v=${v#0x}; echo "$v"; }
field() { json_field "$(cat /tmp/dev.json)" "$1"; }

# Every function sysfs has, hwpass shows with the same identity and placement.
matches_sysfs() {
	local d=/sys/bus/pci/devices/$1 want got
	hwpass device show "$1" --json >/tmp/dev.json || return 1
	for f in vendor:vendor_id device:device_id subsystem_vendor:subsystem_vendor_id \
		subsystem_device:subsystem_device_id class:class; do
		want=$(hex "$d/${f%%:*}")
		got=$(field "${f##*:}")
		[ "$want" = "$got" ] || { echo "${f##*:} is $got, sysfs says $want"; return 1; }
	done
	want=$(basename "$(readlink "$d/iommu_group")")
	got=$(field iommu_group)
	[ "$want" = "$got" ] || { echo "iommu_group is $got, sysfs says $want"; return 1; }
	want=null
	[ -L "$d/driver" ] && want=$(basename "$(readlink "$d/driver")")
	got=$(field driver)
	[ "$want" = "$got" ] || { echo "driver is $got, sysfs says $want"; return 1; }
	want=$(cat "$d/reset_method" 2>/dev/null | tr ' ' '\n')
	got=$(sed -n '/"reset_methods": \[/,/\]/p' /tmp/dev.json | sed -n 's/^ *"\([a-z_]*\)",*$/\1/p')
	[ "$want" = "$got" ] || { echo "reset methods '$got', sysfs says '$want'"; return 1; }
}

n=$(ls /sys/bus/pci/devices | wc -l)
check_output "device list --json lists all $n functions" "^$n\$" \
	sh -c "hwpass device list --json | grep -c '\"address\": \"'"
for d in /sys/bus/pci/devices/*; do
	check "$(basename "$d") matches sysfs (IDs, class, group, driver, reset methods)" matches_sysfs "$(basename "$d")"
done

# The lab's hardware, each where it should be.
check "three NVMe controllers (1b36:0010)" [ "$(hwpass device list | grep -c ' 1b36:0010 ')" -eq 3 ]
check "an e1000e (8086:10d3)" pci_by_id 8086:10d3
check "HD audio (8086:293e)" pci_by_id 8086:293e
check "an xHCI (1b36:000d)" pci_by_id 1b36:000d
vga=$(pci_by_id 1234:1111)
hwpass device show "$vga" --json >/tmp/dev.json
check "the VGA card is the boot VGA" [ "$(field boot_vga)" = true ]
check "the NVMe reset methods are flr and bus" sh -c "hwpass device show $(pci_by_id 1b36:0010) | grep -q 'Reset methods:   flr bus'"
check "the e1000e has a reset method" sh -c "hwpass device show $(pci_by_id 8086:10d3) | grep -qE 'Reset methods:   [a-z]'"

# The large-BAR stand-in: a 32 GiB 64-bit prefetchable BAR, as lspci sees it too.
td=$(pci_by_id 1b36:0005)
hwpass device show "$td" --json >/tmp/dev.json
check_output "pci-testdev BAR 2 is 32 GiB, 64-bit, prefetchable" \
	'"index": 2, "size": 34359738368, "is_64bit": true, "prefetchable": true' \
	sh -c "tr -d '\n' </tmp/dev.json | sed 's/  */ /g; s/{ /{/g' | grep -o '\"index\": 2, [^}]*'"
check_output "lspci agrees: Region 2 is 32G" 'Region 2: Memory at .*64-bit, prefetchable.*\[size=32G\]' lspci -vv -s "$td"
check_output "device show prints the 32G BAR" '^  2: 32G +memory, 64-bit, prefetchable' hwpass device show "$td"

# Two e1000 behind a PCIe-to-PCI bridge share one group and can only go together.
e1=$(pci_by_id 8086:100e 1)
e2=$(pci_by_id 8086:100e 2)
g1=$(basename "$(readlink /sys/bus/pci/devices/$e1/iommu_group)")
check "the two e1000 share IOMMU group $g1" [ "$g1" = "$(basename "$(readlink /sys/bus/pci/devices/$e2/iommu_group)")" ]
check_output "iommu list marks the group" "^IOMMU group $g1 +NOT ISOLATED: 2 endpoints" hwpass iommu list
check_output "the verdict names the other e1000" "shared IOMMU group $g1: it also holds $e2" hwpass device show "$e1"

# SR-IOV: the PF reports its VFs; once enabled they are listed with their PF.
pf=
for d in /sys/bus/pci/devices/*; do [ -f "$d/sriov_totalvfs" ] && pf=$(basename "$d"); done
check "an SR-IOV NVMe PF exists" [ -n "$pf" ]
hwpass device show "$pf" --json >/tmp/dev.json
check "the PF offers 2 VFs, none enabled" [ "$(field total_vfs):$(field num_vfs)" = "2:0" ]
echo 0 >"/sys/bus/pci/devices/$pf/sriov_drivers_autoprobe"
echo 2 >"/sys/bus/pci/devices/$pf/sriov_numvfs"
wait_for 10 [ -e "/sys/bus/pci/devices/$pf/virtfn1" ]
hwpass device show "$pf" --json >/tmp/dev.json
check "the PF now has 2 VFs enabled" [ "$(field num_vfs)" = 2 ]
vfs=$(hwpass device list --json | grep -c "\"physfn\": \"$pf\"")
check "device list shows 2 VFs of $pf" [ "$vfs" -eq 2 ]
for i in 0 1; do
	vf=$(basename "$(readlink "/sys/bus/pci/devices/$pf/virtfn$i")")
	check "VF $vf matches sysfs" matches_sysfs "$vf"
	check_output "VF $vf names its PF" "virtual function of $pf" hwpass device show "$vf"
done
check_output "each VF has its own group" "^2\$" sh -c \
	"hwpass device list --json | grep -B30 '\"physfn\": \"$pf\"' | grep '\"iommu_group\": [0-9]' | sort -u | wc -l"
lab_done
