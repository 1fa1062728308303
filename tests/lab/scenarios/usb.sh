# hwpass usb list inside L1: the xHCI's devices on the ports QEMU put them on.
. /lab/lib.sh

xhci=$(pci_by_id 1b36:000d)
wait_for 20 [ -e /sys/bus/usb/devices/2-3 ]
hwpass usb list >/tmp/usb.txt
cat /tmp/usb.txt
check_output "the controller heads its tree" "^$xhci Red Hat, Inc. QEMU XHCI Host Controller \[xhci_hcd\]" cat /tmp/usb.txt
check_output "the tablet is on port 1" '^ +port 1 +0627:0001 QEMU QEMU USB Tablet' cat /tmp/usb.txt
check_output "the keyboard is on port 2" '^ +port 2 +0627:0001 QEMU QEMU USB Keyboard' cat /tmp/usb.txt
check_output "the stick is on port 3 with its serial" '^ +port 3 +46f4:0001 QEMU QEMU USB HARDDRIVE serial=hwpass-stick .*\[usb-storage\]' cat /tmp/usb.txt
hwpass usb list --json >/tmp/usb.json
check_output "JSON: the controller's address" "\"address\": \"$xhci\"" cat /tmp/usb.json
check_output "JSON: the stick's port path and serial" '"name": "2-3",' cat /tmp/usb.json
check "JSON: the stick's serial" grep -q '"serial": "hwpass-stick"' /tmp/usb.json
check "JSON: three devices" [ "$(grep -c '"port_path": ' /tmp/usb.json)" -eq 3 ]
lab_done
