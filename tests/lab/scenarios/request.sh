# The request language with real VFIO inside L1: one VM asking for two
# "1b36:0010 with label fast" (--count 2) gets both NVMe, each on its own root
# port, and the probe guest's IDENTIFY by DMA answers on both; a VM whose
# entry needs an attribute gets the one NVMe that carries it; stopping frees
# them all.
. /lab/lib.sh
export HWPASS_QEMU_ACCEL=tcg # L1's KVM runs on emulated SVM: nested guests use TCG

n1=$(nvme_by_serial hwpass-nvme1)
n2=$(nvme_by_serial hwpass-nvme2)
probe=/usr/lib/hwpass/probe-guest
done_in() { wait_for 60 grep -q "PROBE done" "/run/hwpass/vms/$1/serial.log"; }

check "enable both NVMe, label them fast" sh -c "hwpass device passthrough enable $n1 $n2 && hwpass device label $n1 fast && hwpass device label $n2 fast"
check "give $n2 an attribute" hwpass device attr "$n2" tier=gold

check "a VM asking for two of them" sh -c "hwpass vm create pair --memory 64M --vcpus 1 --kernel $probe && hwpass vm add-pci pair --allowed 1b36:0010 --label fast --count 2"
check_output "it counts two devices" "^Devices: +2 of 16" hwpass vm show pair
check "it starts" hwpass vm start pair
check "its guest finishes probing" done_in pair
check_output "IDENTIFY by DMA on the first" 'identify=ok vid=1b36 sn="hwpass-nvme1"' hwpass vm log pair
check_output "and on the second" 'identify=ok vid=1b36 sn="hwpass-nvme2"' hwpass vm log pair
check_output "$n1 is assigned to pair" '^Assigned to: +pair' hwpass device show "$n1"
check_output "$n2 is assigned to pair" '^Assigned to: +pair' hwpass device show "$n2"
check_output "a second VM finds none, and names its entry" "pciPassthru0: no free device for 1b36:0010" \
	sh -c "hwpass vm create gold --memory 64M --vcpus 1 --kernel $probe && hwpass vm add-pci gold --allowed 1b36:0010 --attr tier=gold && hwpass vm start gold"
check "stop pair" hwpass vm stop pair --force
check_output "both are free again" "^0\$" sh -c "hwpass device list --json | grep -c '\"assigned_vm\": \"'"

check "the VM asking for tier=gold starts" hwpass vm start gold
check "its guest finishes probing" done_in gold
check_output "it got $n2, the one with the attribute" 'identify=ok vid=1b36 sn="hwpass-nvme2"' hwpass vm log gold
check "stop it" hwpass vm stop gold --force
lab_done
