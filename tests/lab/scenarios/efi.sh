# lab: timeout 900
# EFI in the lab: OVMF (Debian's ovmf, put in L1's image where hwpass looks for
# it) boots a VM with the pci-testdev passed through and maps its 32 GiB
# 64-bit BAR above 4 GiB; QEMU says so over QMP (query-pci, through lab-qmp).
# OVMF cannot boot the multiboot probe guest, so the firmware's own PCI
# enumeration is what is checked. Then the VM is forced off and the device
# is released.
#
# Firmware auto picks BIOS for this device: its 64 GiB window is within the
# 512 GiB SeaBIOS maps (vm-devices.sh shows SeaBIOS placing the BAR above
# 4 GiB too), so the EFI VM here is set to efi. Auto's EFI choice, for devices
# whose BARs need more, builds the same QEMU command line (tests/cli-vm).
#
# Measured 2026-12-05 on the 2-core test machine while other work kept its
# load average at 9-20, two runs: L1 booted in 17 s, vm start returned after
# 13-19 s, and OVMF (TCG inside TCG, no KVM anywhere) had enumerated PCI and
# placed the BAR at 0xe000000000 (896 GiB) 90 s and 203 s after that, before
# writing anything to its serial console; the whole scenario, image layer
# included, took 3 min 40 s and 5 min 44 s. The wait below allows 10 minutes.
. /lab/lib.sh
export HWPASS_QEMU_ACCEL=tcg # L1's KVM runs on emulated SVM: nested guests use TCG

drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
qemu_cmdline() { tr '\0' ' ' <"/proc/$(cat "/run/hwpass/vms/$1/qemu.pid")/cmdline"; }
now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }
# The address the guest's firmware gave the 32 GiB BAR (keys sorted by
# lab-qmp: "address" comes before "size" in a region); -1 or nothing before.
bar_addr() {
	lab-qmp /run/hwpass/vms/efi/qmp.sock query-pci 2>/dev/null |
		awk '/"address":/ { a = $2 } /"size": 34359738368/ { gsub(",", "", a); print a; exit }'
}
above_4g() { a=$(bar_addr); [ -n "$a" ] && awk -v a="$a" 'BEGIN { exit !(a > 4294967295) }'; }

testdev=$(pci_by_id 1b36:0005)
check "enable the pci-testdev" hwpass device passthrough enable "$testdev"

# auto: BIOS for a 32 GiB BAR, and why.
check "an auto VM with the pci-testdev" sh -c "hwpass vm create auto1 --memory 128M && hwpass vm add-pci auto1 --address $testdev"
check_output "auto picks BIOS for it, saying why" \
	"^Firmware: +auto: BIOS \(SeaBIOS\) at power-on now, because the devices' 64-bit BARs fit in a 64 GiB window" \
	hwpass vm show auto1

check "an EFI VM with the pci-testdev" sh -c "hwpass vm create efi --memory 128M --firmware efi && hwpass vm add-pci efi --address $testdev"
t0=$(now)
check "start it" hwpass vm start efi
echo "LAB: vm start returned after $(since "$t0") s"
t1=$(now)
check_output "QEMU boots OVMF from L1's ovmf files" "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd" qemu_cmdline efi
check_output "and OVMF is given the window" "name=opt/ovmf/X-PciMmio64Mb,string=65536" qemu_cmdline efi
check_output "show: this run is EFI" "^This run: +EFI \(OVMF\)$" hwpass vm show efi
# OVMF in TCG inside TCG: a minute or more. Progress every minute.
i=0
while ! above_4g && [ $i -lt 60 ]; do
	[ $((i % 6)) -eq 0 ] && echo "LAB: $(since "$t1") s: BAR at '$(bar_addr)', serial log $(wc -c </run/hwpass/vms/efi/serial.log) bytes"
	sleep 10
	i=$((i + 1))
done
echo "LAB: OVMF had mapped the BAR at $(bar_addr) $(since "$t1") s after vm start"
check "OVMF gave the 32 GiB BAR an address above 4 GiB" above_4g
check "stop it" hwpass vm stop efi --force
check_output "the device is free" '^Assigned to: +-' hwpass device show "$testdev"
check "and still on vfio-pci" [ "$(drv "$testdev")" = vfio-pci ]
check_output "show: the last run was EFI" "^Last run: +EFI \(OVMF\)$" hwpass vm show efi
lab_done
