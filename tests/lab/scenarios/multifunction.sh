# lab: timeout 600
# A whole multi-function device as one entry (`vm add-pci VM --address
# DDDD:BB:DD`): the lab's two-function device (an ATI display controller at
# function 0 and an HD audio controller at function 1, the shape of a GPU and
# its HDMI audio) goes to a VM on one root port, function 0 marked
# multi-function, and the probe guest sees both at one device number with
# their own function numbers and IDs. A slot with a function that is not in
# passthrough is refused by name with the command that fixes it; vm stop
# frees both functions.
. /lab/lib.sh
export HWPASS_QEMU_ACCEL=tcg # L1's KVM runs on emulated SVM: nested guests use TCG

drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
both_on() { [ "$(drv "$gpu")" = "$1" ] && [ "$(drv "$audio")" = "$1" ]; }
grp() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }
probe=/usr/lib/hwpass/probe-guest
done_in() { wait_for 120 grep -q "PROBE done" "/run/hwpass/vms/$1/serial.log"; }

gpu=$(pci_by_id 1002:5046)
audio=$(pci_by_id 8086:2668)
slot=${gpu%.*}

# The device as L1's kernel sees it.
check "the display function is function 0 ($gpu)" [ "${gpu##*.}" = 0 ]
check "the audio function is function 1 of the same slot ($audio)" [ "$audio" = "$slot.1" ]
check "function 0 says it is multi-function (header type bit 7)" \
	sh -c "[ \$(( 0x\$(od -An -tx1 -j14 -N1 /sys/bus/pci/devices/$gpu/config | tr -d ' ') & 0x80 )) -ne 0 ]"
check "both are in one IOMMU group ($(grp "$gpu"))" [ "$(grp "$gpu")" = "$(grp "$audio")" ]
check "the host drives the audio function (snd_hda_intel)" [ "$(drv "$audio")" = snd_hda_intel ]
check_output "device show: the display controller" "^Name: .*Rage 128" hwpass device show "$gpu"

# Why the group is shared, read from config space on a real kernel: the
# device has no ACS between its functions; the e1000 behind the
# PCIe-to-PCI bridge shares its group because of that bridge.
check_output "device show: only the functions of the slot share the group" \
	"^  not isolated: +only functions of the device in slot $slot share the group" hwpass device show "$audio"
check_output "device show: what to do" "^  to isolate: +pass its functions through together" hwpass device show "$audio"
check_output "device show --json: isolation names function 0" '"culprit": "'"$gpu"'"' hwpass device show "$audio" --json
e1=$(pci_by_id 8086:100e 1)
bridge=$(basename "$(dirname "$(readlink -f "/sys/bus/pci/devices/$e1")")")
check_output "device show: the e1000 $e1 is held together by the PCI bridge $bridge" \
	"^  not isolated: +$bridge is a conventional PCI bridge" hwpass device show "$e1"
check_output "device show --json: cause pci-bridge" '"cause": "pci-bridge"' hwpass device show "$e1" --json
check_output "an isolated device has none" '"isolation": null' hwpass device show "$(pci_by_id 8086:10d3)" --json

# Enabling function 0 takes function 1 along (one group), and records both.
hwpass device passthrough enable "$gpu" >/tmp/enable.txt 2>&1
rc=$?
cat /tmp/enable.txt
check "enable the display function" [ "$rc" -eq 0 ]
check_output "the audio function goes along: same group" "$audio .*goes along: it is in the same IOMMU group" \
	cat /tmp/enable.txt
check "both are on vfio-pci" both_on vfio-pci
check_output "the audio function is enabled too" '^Mode: +passthrough \(passthrough enabled, active\)' \
	hwpass device show "$audio"

check "a VM with the whole slot ($slot)" \
	sh -c "hwpass vm create mf --memory 64M --kernel $probe && hwpass vm add-pci mf --address $slot"
check_output "vm show: one entry for all functions" "static +$slot \(all functions\)" hwpass vm show mf
check_output "a function of that slot as a second entry is refused" \
	"VM 'mf' has $slot already \(pci0\), and $audio is a function of that slot: remove one of them first" \
	hwpass vm add-pci mf --address "$audio"
check_output "a slot with no function 0 is refused at definition" "no PCI device ${slot%:*}:1f.0 on this host" \
	hwpass vm add-pci mf --address "${slot%:*}:1f"

# The host takes function 1 back behind hwpass's back (a manual rebind):
# the slot is then incomplete, and the start says which function and how
# to get it back.
check "the host rebinds the audio function to snd_hda_intel" sh -c "echo >/sys/bus/pci/devices/$audio/driver_override &&
	echo $audio >/sys/bus/pci/drivers/vfio-pci/unbind && echo $audio >/sys/bus/pci/drivers_probe"
check "the audio function is on snd_hda_intel" wait_for 10 eval '[ "$(drv "$audio")" = snd_hda_intel ]'
hwpass vm start mf >/tmp/start.txt 2>&1
rc=$?
cat /tmp/start.txt
check "start with function 1 not in passthrough fails" [ "$rc" -ne 0 ]
check_output "the error names function 1 and who has it" \
	"device $gpu is not available: it is enabled for passthrough, but its IOMMU group $(grp "$gpu") is not viable: the host's driver snd_hda_intel has $audio now" \
	cat /tmp/start.txt
check_output "and says what to do" "bind $audio \(and its IOMMU group\) to vfio-pci again with 'hwpass device passthrough enable $audio'" \
	cat /tmp/start.txt
check_output "nothing half-done: the VM is off" "^State: +off" hwpass vm show mf
check_output "and function 0 is not assigned" '^Assigned to: +-' hwpass device show "$gpu"
check "and no QEMU runs" sh -c '! pidof qemu-system-x86_64'

# Both enabled: the VM gets the slot as the hardware has it.
check "what the error says to do" hwpass device passthrough enable "$audio"
check "both are on vfio-pci again" both_on vfio-pci
check "start it" hwpass vm start mf
check "its guest finishes probing" done_in mf
hwpass vm log mf | grep '^PROBE dev=' | sed 's/^/LAB: /'
check_output "the guest sees the display at function 0" "^PROBE dev=01:00\.0 id=1002:5046 class=030000 " hwpass vm log mf
check_output "and the audio at function 1 of the same device" "^PROBE dev=01:00\.1 id=8086:2668 class=040300 " \
	hwpass vm log mf
check_output "and nothing else behind that port" "^2$" sh -c "hwpass vm log mf | grep -c '^PROBE dev=01:'"
tr '\0' '\n' <"/proc/$(cat /run/hwpass/vms/mf/qemu.pid)/cmdline" >/tmp/argv.txt
grep -E '^(pcie-root-port|vfio-pci),' /tmp/argv.txt | sed 's/^/LAB: QEMU -device /'
check_output "QEMU: one root port for the entry" "^1$" grep -c '^pcie-root-port,' /tmp/argv.txt
check_output "QEMU: function 0 on it, multifunction=on" \
	"^vfio-pci,host=$gpu,bus=hp-rp0,addr=00\.0,multifunction=on,id=hostdev0\.0" cat /tmp/argv.txt
check_output "QEMU: function 1 on the same port" "^vfio-pci,host=$audio,bus=hp-rp0,addr=00\.1,id=hostdev0\.1" \
	cat /tmp/argv.txt
check_output "QEMU: multifunction=on once" "^1$" grep -c 'multifunction=on' /tmp/argv.txt
check_output "both are assigned to mf: the display" '^Assigned to: +mf' hwpass device show "$gpu"
check_output "both are assigned to mf: the audio" '^Assigned to: +mf' hwpass device show "$audio"
check_output "the audio cannot go back to the host while mf runs" "$audio is assigned to VM 'mf': stop the VM first" \
	hwpass device passthrough disable "$audio"

check "stop it" hwpass vm stop mf --force
check_output "vm stop released the display" '^Assigned to: +-' hwpass device show "$gpu"
check_output "and the audio" '^Assigned to: +-' hwpass device show "$audio"
check "both stay on vfio-pci" both_on vfio-pci
check_output "no device stays assigned" "^0\$" sh -c "hwpass device list --json | grep -c '\"assigned_vm\": \"'"

# And back to the host: the audio function gets its driver again.
check "disable both" hwpass device passthrough disable "$gpu" "$audio"
check "the audio function is back on snd_hda_intel" wait_for 10 eval '[ "$(drv "$audio")" = snd_hda_intel ]'
lab_done
