# Resets between VMs, told as they happened: the first e1000 behind the
# PCIe-to-PCI bridge has no reset that works (no FLR, no PM reset; the kernel
# lists a bus reset, which it refuses while the second e1000 shares the bus),
# so enabling it warns and stopping its VM says it was not reset, without
# quarantining it; the same for an NVMe whose reset methods are turned off.
. /lab/lib.sh
export HWPASS_QEMU_ACCEL=tcg # L1's KVM runs on emulated SVM: nested guests use TCG

probe=/usr/lib/hwpass/probe-guest
e1=$(pci_by_id 8086:100e 1)
n1=$(nvme_by_serial hwpass-nvme1)

check "the kernel lists only a bus reset for $e1" [ "$(cat /sys/bus/pci/devices/$e1/reset_method)" = bus ]
check "which it refuses: its neighbour shares the bus" sh -c "! echo 1 >/sys/bus/pci/devices/$e1/reset"
check_output "enabling it warns that it cannot be reset between VMs" \
	"warning: $e1 has no reset method: hwpass cannot reset it between VMs" \
	hwpass device passthrough enable "$e1"
check "a VM with it" sh -c "hwpass vm create e1 --memory 64M --vcpus 1 --kernel $probe && hwpass vm add-pci e1 --address $e1"
check "start it" hwpass vm start e1
hwpass vm stop e1 --force >/tmp/stop.out 2>/tmp/stop.err
check "stop it" [ $? -eq 0 ]
check_output "the stop does not claim a reset" "^VM 'e1' is off; its devices are free\.$" cat /tmp/stop.out
check_output "and names the device that was not reset" \
	"warning: $e1 was not reset: the kernel has no reset method for it" cat /tmp/stop.err
check_output "the stop's JSON says the same" '"reset": "none"' \
	sh -c "hwpass vm start e1 >/dev/null && hwpass vm stop e1 --force --json"
check_output "the events record it" "device-not-reset +$e1" hwpass events
check_output "its health stays ok (nothing failed)" '^Health: +ok' hwpass device show "$e1"

# An NVMe whose reset methods are turned off while its VM runs.
check "enable $n1" hwpass device passthrough enable "$n1"
check "a VM with it" sh -c "hwpass vm create n1 --memory 64M --vcpus 1 --kernel $probe && hwpass vm add-pci n1 --address $n1"
check "start it" hwpass vm start n1
check "turn the NVMe's reset methods off" sh -c "echo '' >/sys/bus/pci/devices/$n1/reset_method"
hwpass vm stop n1 --force >/tmp/stop.out 2>/tmp/stop.err
check "stop it" [ $? -eq 0 ]
check_output "the stop does not claim a reset" "^VM 'n1' is off; its devices are free\.$" cat /tmp/stop.out
check_output "and names the device" "warning: $n1 was not reset: the kernel has no reset method for it" cat /tmp/stop.err
check_output "it is not quarantined" '^Health: +ok' hwpass device show "$n1"
check "turn them back on" sh -c "echo default >/sys/bus/pci/devices/$n1/reset_method"
hwpass vm start n1 >/dev/null
hwpass vm stop n1 --force >/tmp/stop.out 2>/tmp/stop.err
check_output "a stop resets it again, and says so" "^VM 'n1' is off; its devices are reset and free\.$" cat /tmp/stop.out
check "without a warning" [ ! -s /tmp/stop.err ]
