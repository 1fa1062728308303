# The lab's passthrough path end to end, by hand: bind one NVMe to vfio-pci
# (driver_override, unbind, drivers_probe), start a nested QEMU with
# -device vfio-pci,host=... booting the probe guest, and see the guest run an
# NVMe IDENTIFY by DMA through VFIO and the emulated VT-d.
. /lab/lib.sh

nvme=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1b36:0x0010 ] || continue
	grep -q hwpass-nvme1 "$d"/nvme/nvme*/serial 2>/dev/null && nvme=$(basename "$d")
done
check "found the NVMe with serial hwpass-nvme1" [ -n "$nvme" ]
dev=/sys/bus/pci/devices/$nvme
group=$(basename "$(readlink "$dev/iommu_group")")

echo vfio-pci >"$dev/driver_override"
echo "$nvme" >"$dev/driver/unbind"
echo "$nvme" >/sys/bus/pci/drivers_probe
check "$nvme is bound to vfio-pci" [ "$(basename "$(readlink "$dev/driver")")" = vfio-pci ]
check "/dev/vfio/$group exists" [ -c "/dev/vfio/$group" ]
check_output "hwpass sees the vfio-pci binding" '^Driver: +vfio-pci, override vfio-pci' hwpass device show "$nvme"

start=$(cut -d' ' -f1 /proc/uptime)
timeout 120 qemu-system-x86_64 -machine q35 -accel tcg -m 64 -nodefaults -display none \
	-serial stdio -monitor none -no-reboot \
	-kernel /usr/lib/hwpass/probe-guest -append exit \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-device vfio-pci,host="$nvme" >/tmp/l2.txt 2>&1
rc=$?
end=$(cut -d' ' -f1 /proc/uptime)
sed 's/^/L2: /' /tmp/l2.txt
echo "LAB: nested guest ran $(awk "BEGIN {print $end - $start}")s"
check "the probe guest exits with success (33)" [ "$rc" -eq 33 ]
check_output "the guest sees the NVMe" '^PROBE dev=00:0[0-9a-f].0 id=1b36:0010 class=010802' cat /tmp/l2.txt
check_output "the guest reads CAP and VS" '^PROBE nvme dev=.* cap=0x[0-9a-f]+ vs=0x00010400' cat /tmp/l2.txt
check_output "IDENTIFY by DMA returns the serial" '^PROBE nvme dev=.* identify=ok vid=1b36 sn="hwpass-nvme1"' cat /tmp/l2.txt
check_output "the guest finishes" '^PROBE done' cat /tmp/l2.txt

# Back to the host driver.
echo >"$dev/driver_override"
echo "$nvme" >"$dev/driver/unbind"
echo "$nvme" >/sys/bus/pci/drivers_probe
check "$nvme is back on nvme" [ "$(basename "$(readlink "$dev/driver")")" = nvme ]
lab_done
