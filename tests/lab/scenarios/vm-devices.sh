# lab: timeout 600
# lab: alone
# More devices in VMs inside L1: `hwpass device probe` on the e1000e; the
# pci-testdev's 32 GiB BAR gets the computed 64-bit window and the guest sees
# it assigned; the USB stick, given by ID and serial, reaches the guest's xHCI;
# VMs on hugepages; autostart starts in order and stops in reverse.
. /lab/lib.sh
export HWPASS_QEMU_ACCEL=tcg # L1's KVM runs on emulated SVM: nested guests use TCG

drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
probe=/usr/lib/hwpass/probe-guest
done_in() { wait_for 60 grep -q "PROBE done" "/run/hwpass/vms/$1/serial.log"; }
qemu_cmdline() { tr '\0' ' ' <"/proc/$(cat "/run/hwpass/vms/$1/qemu.pid")/cmdline"; }

nic=$(pci_by_id 8086:10d3)
vga=$(pci_by_id 1234:1111)
testdev=$(pci_by_id 1b36:0005)

# device probe: a two-second answer, the device as the guest saw it.
check_output "probe refuses a device the host still drives" "is not in passthrough mode \(driver: " \
	hwpass device probe "$vga"
check "enable the e1000e and the pci-testdev" hwpass device passthrough enable "$nic" "$testdev"
(while :; do ps -o user,comm | grep qemu-system; sleep 0.2; done) >/tmp/probe-ps.txt 2>&1 &
watcher=$!
hwpass device probe "$nic" >/tmp/probe.txt 2>&1
rc=$?
cat /tmp/probe.txt
check "probe of the e1000e exits 0" [ "$rc" -eq 0 ]
kill "$watcher"
check_output "the probe's QEMU ran as a user of its own, as a VM's does (ps -o user,comm)" '^18790481 +qemu-system' \
	sort -u /tmp/probe-ps.txt
check_output "never as root" '^0$' sh -c "grep -c '^root' /tmp/probe-ps.txt || true"
check_output "the guest saw it behind its root port, same IDs" "^Guest: +saw it at 01:00.0 as 8086:10d3, class 020000" cat /tmp/probe.txt
check_output "BAR0: the host's 128 KiB, assigned in the guest" "^  BAR0  mem32 +host 128 KiB +guest 128 KiB +at 0x[0-9a-f]+ +ok" cat /tmp/probe.txt
check_output "its STATUS register read through the BAR" "^  e1000e dev=01:00.0 status=0x[0-9a-f]{8}$" cat /tmp/probe.txt
check_output "the verdict" "^Result: +passthrough works \([0-9.]+ s\)" cat /tmp/probe.txt
check_output "JSON says it works" '"works": true' hwpass device probe "$nic" --json
check_output "after the probe the e1000e is free" '^Assigned to: +-' hwpass device show "$nic"
check_output "and healthy (its reset worked)" '^Health: +ok' hwpass device show "$nic"
check "and still on vfio-pci" [ "$(drv "$nic")" = vfio-pci ]
check_output "the probe's short-lived VM is gone" "^0$" sh -c "hwpass vm list | grep -c '^probe-' || true"

# The 32 GiB BAR: the window is computed, QEMU gets it, the guest maps the BAR.
check "a VM with the pci-testdev" sh -c "hwpass vm create big --memory 64M --kernel $probe && hwpass vm add-pci big --address $testdev"
check_output "vm show gives the computed window" "^MMIO: +64-bit MMIO window 64 GiB \(BARs need 32 GiB" hwpass vm show big
check "start it" hwpass vm start big
check_output "QEMU was given the window" "q35-pcihost.pci-hole64-size=68719476736" qemu_cmdline big
check "its guest finishes probing" done_in big
check_output "the guest sees the 32 GiB BAR assigned above 4 GiB" \
	"^PROBE dev=01:00.0 id=1b36:0005 .*2:mem64p:0x[1-9a-f][0-9a-f]{8,}/0x800000000" hwpass vm log big
check_output "suspend is refused while it runs" "suspend is refused" hwpass vm suspend big
check "stop it" hwpass vm stop big --force

# device probe of the 32 GiB BAR: QEMU takes long to map it here (over a
# minute under load), which the guest's default 60 s timeout does not count.
hwpass device probe "$testdev" --json >/tmp/probe-big.json 2>/tmp/probe-big.err
check "probe of the pci-testdev with the default timeout exits 0" sh -c "[ $? -eq 0 ] || ! cat /tmp/probe-big.err"
check_output "--json prints one document" "^1$" grep -c '^{' /tmp/probe-big.json
check_output "its bars name the 32 GiB BAR, as the guest saw it" '"guest_size_text": "32 GiB"' cat /tmp/probe-big.json
check_output "and the verdict" '"verdict": "passthrough works"' cat /tmp/probe-big.json

# The USB stick by ID and serial: resolved to its bus and address, and the
# guest's xHCI has a device connected.
check "a VM with the stick by ID and serial" sh -c "hwpass vm create usb --memory 64M --kernel $probe && hwpass vm add-usb usb --id 46f4:0001:hwpass-stick"
check_output "the serial becomes bus 2 and the stick's address" "usb-host,bus=hp-xhci.0,id=usb0,hostbus=2,hostaddr=$(cat /sys/bus/usb/devices/2-3/devnum)" \
	hwpass vm show usb --qemu-argv
check "start it" hwpass vm start usb
check "its guest finishes probing" done_in usb
check_output "the guest's xHCI has a device connected" "^PROBE xhci dev=[0-9a-f:.]+ ports=[0-9]+ connected=[0-9]+:[0-9]+" hwpass vm log usb
check "L1's usb-storage let go of the stick (QEMU holds it)" [ "$(basename "$(readlink /sys/bus/usb/devices/2-3:1.0/driver)")" = usbfs ]
stick=/dev/bus/usb/002/$(printf %03d "$(cat /sys/bus/usb/devices/2-3/devnum)")
check_output "the stick's device node is its QEMU's user's while it runs" '^1879048192$' stat -c %u "$stick"
check "stop it" hwpass vm stop usb --force
check_output "and root's again after" '^0$' stat -c %u "$stick"
check "the stick goes back to usb-storage" wait_for 10 sh -c '[ "$(basename "$(readlink /sys/bus/usb/devices/2-3:1.0/driver)")" = usb-storage ]'

# Hugepages: the guest's memory comes out of the host's free hugepages, and a
# VM that needs more than are free is refused with the numbers.
hp_free() { awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo; }
check "reserve 48 hugepages of 2 MiB and mount hugetlbfs" sh -c 'echo 48 >/proc/sys/vm/nr_hugepages && mkdir -p /dev/hugepages && mount -t hugetlbfs none /dev/hugepages'
check "48 are free" [ "$(hp_free)" -eq 48 ]
check "a 64 MiB VM on hugepages" sh -c "hwpass vm create huge1 --memory 64M --hugepages --kernel $probe && hwpass vm add-pci huge1 --address $testdev"
check "it starts" hwpass vm start huge1
check "its guest finishes probing" done_in huge1
check "its memory took 32 of them" [ "$(hp_free)" -eq 16 ]
check "a second one" hwpass vm create huge2 --memory 64M --hugepages --kernel $probe
check_output "is refused with the numbers" "VM 'huge2' needs 32 hugepages of 2048 kB for its 64 MiB; the host has 16 free" hwpass vm start huge2
check "stop the first" hwpass vm stop huge1 --force
check "its hugepages are free again" wait_for 10 sh -c '[ "$(awk "/^HugePages_Free:/ { print \$2 }" /proc/meminfo)" -eq 48 ]'
check "now the second starts" hwpass vm start huge2
check "stop it" hwpass vm stop huge2 --force

# Autostart: usb (order 1, 1 s delay), then big (order 2); stopped in reverse.
check "set the order" sh -c "hwpass vm autostart big --order 2 && hwpass vm autostart usb --order 1 --delay 1"
hwpass host start-vms >/tmp/start.txt 2>&1
cat /tmp/start.txt
check_output "start-vms: both started" "^2 started, 0 failed\.$" cat /tmp/start.txt
check_output "start-vms: usb first, then big" "^usb big$" sh -c "grep -o \"^VM '[^']*'\" /tmp/start.txt | tr -d \"'\" | cut -d' ' -f2 | xargs"
hwpass host stop-vms --timeout 2 >/tmp/stop.txt 2>&1
cat /tmp/stop.txt
check_output "stop-vms: big first, then usb" "^big usb$" sh -c "grep -o \"^VM '[^']*' is off\" /tmp/stop.txt | tr -d \"'\" | cut -d' ' -f2 | xargs"
check_output "no device stays assigned" "^0\$" sh -c "hwpass device list --json | grep -c '\"assigned_vm\": \"'"
lab_done
