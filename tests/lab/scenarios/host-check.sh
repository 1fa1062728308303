# hwpass host check inside L1: an emulated VT-d with interrupt remapping,
# intel_iommu=on on the command line, vfio-pci and KVM loaded: the host can pass
# devices through, and every check that matters says PASS.
. /lab/lib.sh

check "host check exits 0" hwpass host check
hwpass host check --json >/tmp/check.json
check_output "JSON says the host is ready" '"passthrough_ready": true' cat /tmp/check.json
for id in iommu-firmware iommu-kernel iommu-groups interrupt-remapping kernel-cmdline \
	cpu-virtualization kvm vfio-pci vfio-iommu-type1 dev-vfio memlock; do
	check "$id passes" [ "$(check_level /tmp/check.json "$id")" = PASS ]
done
check_output "the DMAR table is seen" 'ACPI DMAR table present' hwpass host check
check_output "the emulated VT-d unit is listed" 'IOMMU enabled in the kernel +1 IOMMU unit: dmar0' hwpass host check
lab_done
