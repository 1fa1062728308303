# lab: iommu-args intel_iommu=off
# L1 boots with intel_iommu=off: the firmware still has VT-d (ACPI DMAR), the
# kernel leaves it off. (Debian's kernel turns VT-d on by default, so leaving
# intel_iommu=on out is not enough to turn it off.) hwpass host check must
# fail, say why, and say what to change.
. /lab/lib.sh

hwpass host check >/tmp/check.txt
rc=$?
cat /tmp/check.txt
check "host check exits 1" [ "$rc" -eq 1 ]
check_output "the first failing line is the kernel's IOMMU" \
	'^FAIL +IOMMU enabled in the kernel +the firmware reports an IOMMU \(ACPI DMAR\) but the kernel has not enabled it' \
	grep -m1 '^FAIL' /tmp/check.txt
check_output "the command line check names intel_iommu=off" \
	'^FAIL +Kernel command line +the kernel command line turns the IOMMU off \(intel_iommu=off\)' cat /tmp/check.txt
check_output "its fix: remove it, add intel_iommu=on" 'fix: remove intel_iommu=off and add intel_iommu=on iommu=pt' cat /tmp/check.txt
check_output "the firmware check passes (the table is there)" '^PASS +IOMMU in firmware' cat /tmp/check.txt
check_output "no device has a group" 'No device has an IOMMU group' hwpass device list
check_output "iommu list says so" 'No IOMMU groups' hwpass iommu list
check_output "the NVMe is not capable: no group" '^Passthrough: +not capable' hwpass device show "$(pci_by_id 1b36:0010)"
lab_done
