# Memory admission on a real kernel: every VM runs with mem-lock=on, so a
# running VM's memory is locked and MemAvailable already leaves it out. A VM
# taking most of the memory runs; a second one that fits in what MemAvailable
# says is left then starts (it would not if the first were counted again),
# and one that does not fit is still refused, with the numbers.
. /lab/lib.sh
export HWPASS_QEMU_ACCEL=tcg # L1's KVM runs on emulated SVM: nested guests use TCG
probe=/usr/lib/hwpass/probe-guest
avail_mib() { echo $(($(sed -n 's/^MemAvailable: *\([0-9]*\) kB$/\1/p' /proc/meminfo) / 1024)); }
locked_mib() { echo $(($(sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$(cat "/run/hwpass/vms/$1/qemu.pid")/status") / 1024)); }

# Each QEMU under TCG also locks its own code buffer and heap (about 200 MiB):
# the sizes leave room for that.
big=$(($(avail_mib) - 650))
check "create a VM of ${big} MiB, most of the memory" hwpass vm create big --memory "${big}M" --vcpus 1 --kernel "$probe"
check "it starts" hwpass vm start big
check "its QEMU has locked all of it" [ "$(locked_mib big)" -ge "$big" ]
left=$(avail_mib)
echo "# MemAvailable with big running: $left MiB"
small=$((left - 300))
check "create a VM of ${small} MiB, which fits in what MemAvailable says is left" \
	hwpass vm create small --memory "${small}M" --vcpus 1 --kernel "$probe"
check "counting big's memory again would refuse it" [ $((big + small)) -gt "$left" ]
check "it starts" hwpass vm start small
check_output "both run" "^2\$" sh -c "hwpass vm list | grep -c ' running '"
left=$(avail_mib)
check "create a VM larger than what is left" hwpass vm create toobig --memory "$((left + 64))M" --vcpus 1 --kernel "$probe"
check_output "it is refused, with the numbers and the fix" \
	"VM 'toobig' needs [0-9]+ MiB reserved; the host has [0-9]+ MiB available: stop a VM or give this one less memory" \
	hwpass vm start toobig
check_output "and stays off" "^toobig +off" hwpass vm list
check "stop both" sh -c "hwpass vm stop big --force && hwpass vm stop small --force"
check_output "all off" "^3\$" sh -c "hwpass vm list | grep -c ' off '"
lab_done
