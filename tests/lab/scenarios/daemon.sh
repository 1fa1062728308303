# hwpassd in L1: the CLI's changes go through it, a VM with a passthrough NVMe
# keeps running while hwpassd restarts, the new hwpassd re-attaches to it,
# and the VM is still managed afterwards: stopped, its device reset and free.
. /lab/lib.sh
export HWPASS_QEMU_ACCEL=tcg # L1's KVM runs on emulated SVM: nested guests use TCG

n1=$(nvme_by_serial hwpass-nvme1)
probe=/usr/lib/hwpass/probe-guest
sock=/run/hwpass/hwpass.sock
api() { curl -s --unix-socket "$sock" "$@"; }
start_daemon() {
	hwpassd --autostart never >/dev/null 2>>/tmp/hwpassd.log &
	wait_for 30 api -o /dev/null http://hwpassd/v1/vms
}

check "enable $n1" hwpass device passthrough enable "$n1"
check "create a VM with it" sh -c "hwpass vm create d1 --memory 64M --vcpus 1 --kernel $probe && hwpass vm add-pci d1 --address $n1"
check "hwpassd starts and answers" start_daemon
check "it applied the stored state at start" wait_for 30 grep -q "hwpass host apply: exit 0" /tmp/hwpassd.log
check_output "vm start goes through it" "VM 'd1' is running" hwpass vm start d1
check_output "and is recorded as done through it" "vm-started +d1 +(root|uid 0) via hwpassd" hwpass events --limit 5
check "the guest finishes probing" wait_for 60 grep -q "PROBE done" /run/hwpass/vms/d1/serial.log
check_output "the guest has the NVMe (IDENTIFY by DMA)" 'identify=ok vid=1b36 sn="hwpass-nvme1"' hwpass vm log d1
qemu=$(cat /run/hwpass/vms/d1/qemu.pid)
check "hwpassd stops (SIGTERM)" sh -c "kill \$(pidof hwpassd) && for i in \$(seq 50); do pidof hwpassd >/dev/null || exit 0; sleep 0.1; done; exit 1"
check "the VM's QEMU goes on without it" kill -0 "$qemu"
check "a new hwpassd starts" start_daemon
check_output "and re-attaches to the VM" "VM 'd1': supervisor [0-9]+, QMP .*: running" cat /tmp/hwpassd.log
check_output "the API shows it running" '"state": "running"' api http://hwpassd/v1/vms/d1
check_output "$n1 is still assigned to it" '"assigned_vm": "d1"' api "http://hwpassd/v1/devices/$n1"
check_output "the restart left $n1 on vfio-pci" "vfio-pci" readlink "/sys/bus/pci/devices/$n1/driver"
check_output "stop it through the API" '"state": "off"' api -d '{"timeout": 3}' http://hwpassd/v1/vms/d1/stop
check "QEMU is gone" sh -c "! kill -0 $qemu 2>/dev/null"
check_output "$n1 is free" '"assigned_vm": null' api "http://hwpassd/v1/devices/$n1"
check_output "its reset worked: healthy" '"health": "ok"' api "http://hwpassd/v1/devices/$n1"
check_output "the events tell the story" "vm-attached" hwpass events --limit 20
kill "$(pidof hwpassd)"
lab_done
