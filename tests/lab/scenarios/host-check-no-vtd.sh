# lab: no-vtd
# lab: iommu-args iommu=pt
# L1 without any IOMMU: no emulated VT-d, so no ACPI DMAR table, as on the build
# machine. The first failing line must say plainly that this host does not
# support passthrough, and what to enable in firmware and on the command line.
. /lab/lib.sh

hwpass host check >/tmp/check.txt
rc=$?
cat /tmp/check.txt
check "host check exits 1" [ "$rc" -eq 1 ]
check_output "the first failing line: no passthrough on this host" \
	'^FAIL +IOMMU in firmware \(ACPI DMAR/IVRS\) +this host does not support passthrough: the firmware reports no IOMMU' \
	grep -m1 '^FAIL' /tmp/check.txt
check_output "its fix: firmware and kernel command line" \
	'fix: enable .* in the firmware setup, then add .*iommu=on iommu=pt to the kernel command line' \
	sed -n '2p' /tmp/check.txt
check_output "interrupt remapping cannot be on either" '^FAIL +Interrupt remapping' cat /tmp/check.txt
lab_done
