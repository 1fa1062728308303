# lab: forward 8470 9470
# lab: timeout 900
# The web UI against hwpassd in L1 (run by tests/browser/lab-run, not by the
# lab suite: it needs the browser on the other side). hwpassd serves TLS on
# L1's e1000e, whose port 8470 the lab forwards to the test machine's
# loopback; the browser switches an NVMe to passthrough, starts a VM with it,
# reads its console and stops it. When it is through, the driver says so on
# port 9470, and the checks here confirm from inside that the kernel and the
# store saw what the browser did.
. /lab/lib.sh
export HWPASS_QEMU_ACCEL=tcg # L1's KVM runs on emulated SVM: nested guests use TCG

n1=$(nvme_by_serial hwpass-nvme1)
nic=$(pci_by_id 8086:10d3)
ifc=$(ls "/sys/bus/pci/devices/$nic/net" 2>/dev/null | head -1)
probe=/usr/lib/hwpass/probe-guest

check "the e1000e $nic ($ifc) is up at 10.0.2.15" \
	sh -c "ip addr add 10.0.2.15/24 dev $ifc && ip link set $ifc up"
check "VM ui1 holds $n1, which is not yet passed through" \
	sh -c "hwpass vm create ui1 --memory 64M --vcpus 1 --kernel $probe && hwpass vm add-pci ui1 --address $n1"
token=$(hwpass token create browser)
check "a token for the browser" test -n "$token"
hwpassd --listen tcp:10.0.2.15:8470 --tls-cert /lab/tls/cert.pem --tls-key /lab/tls/key.pem \
	--web-root /usr/share/hwpass/web --autostart never 2>>/tmp/hwpassd.log &
check "hwpassd serves the page over TLS on 10.0.2.15:8470" wait_for 30 curl -skf -o /dev/null https://10.0.2.15:8470/
check_output "and asks for the token on the API" '^401$' \
	curl -sk -o /dev/null -w '%{http_code}\n' https://10.0.2.15:8470/v1/devices
echo "LAB-UI-READY token=$token device=$n1 vm=ui1"

# The browser's turn; the driver's line ends the wait ("done" or "gave up").
said=$(printf 'ack\n' | timeout 600 nc -l -p 9470)
check_output "the browser test came to its end" '^done' echo "$said"
check_output "$n1 is on vfio-pci: switched in the browser" "vfio-pci" readlink "/sys/bus/pci/devices/$n1/driver"
check_output "the switch was the browser's token, through hwpassd" \
	"passthrough-enabled +$n1 +token browser via hwpassd" hwpass events --limit 50
check_output "the start too" "vm-started +ui1 +token browser via hwpassd" hwpass events --limit 50
check_output "and the stop" "vm-stopped +ui1 +token browser via hwpassd" hwpass events --limit 50
check_output "the guest had $n1 (IDENTIFY by DMA)" 'identify=ok vid=1b36 sn="hwpass-nvme1"' \
	cat /run/hwpass/vms/ui1/serial.log
check "no QEMU is left running" sh -c '! pidof qemu-system-x86_64'
check_output "$n1 is free again, and healthy" '"health": "ok"' hwpass --json device show "$n1"
check "libmicrohttpd logged no failed handshake or other error" sh -c '! grep "^hwpassd: tcp:" /tmp/hwpassd.log'
grep -v '^$' /tmp/hwpassd.log | tail -5 | sed 's/^/LAB: hwpassd: /'
kill "$(pidof hwpassd)"
lab_done
