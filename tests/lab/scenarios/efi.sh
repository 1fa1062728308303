# lab: timeout 1500
# MEASUREMENT DRAFT: an EFI VM with the pci-testdev, timing OVMF in nested TCG.
. /lab/lib.sh
export HWPASS_QEMU_ACCEL=tcg

testdev=$(pci_by_id 1b36:0005)
now() { cut -d' ' -f1 /proc/uptime; }
bar_addr() {
	lab-qmp /run/hwpass/vms/efi/qmp.sock query-pci 2>/dev/null |
		awk '/"address":/ { a = $2 } /"size": 34359738368/ { gsub(",", "", a); print a; exit }'
}
above_4g() { a=$(bar_addr); [ -n "$a" ] && awk -v a="$a" 'BEGIN { exit !(a > 4294967295) }'; }

check "enable the pci-testdev" hwpass device passthrough enable "$testdev"
check "an EFI VM with it" sh -c "hwpass vm create efi --memory 128M --firmware efi && hwpass vm add-pci efi --address $testdev"
t0=$(now)
check "start it" hwpass vm start efi
t1=$(now)
echo "LAB: vm start took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s"
check "OVMF gives the 32 GiB BAR an address above 4 GiB" wait_for 1200 above_4g
t2=$(now)
echo "LAB: BAR above 4 GiB $(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }') s after vm start returned; address $(bar_addr)"
lab-qmp /run/hwpass/vms/efi/qmp.sock query-pci | head -150 | sed 's/^/LAB: /'
hwpass vm log efi | tail -20 | sed 's/^/LAB-LOG: /'
check "stop it" hwpass vm stop efi --force
check_output "the device is free" '^Assigned to: +-' hwpass device show "$testdev"
lab_done
