"""The cluster on three lab hosts: PostgreSQL (pg-lib.sh) and a controller
on the test machine, an agent (hwpassd --role agent) in each L1, reaching the
controller over TLS through the forwarded port. Host a has one NVMe, b two
behind a PCIe switch, c none. Shown: the hosts join with one-use tokens and
report their real devices; a label and passthrough set through the
controller reach host a, whose kernel binds its NVMe to vfio-pci; the
controller counts it free in a's pool; b's NVMe share a switch; a host with
its link cut is disconnected and comes back; a dead host is failed. The lab
itself first: each host named as the lab named it, its devices as its profile
has them, reaching the controller's forwarded port and nothing else."""
import json
import time

import cluster
import controller


def until(timeout, fn):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(0.5)
    return False


def lab_itself(ctl, lab):
    nvme_count = "lspci -n | grep -c ' 1b36:0010' || true"
    reach = "curl -sk -m 5 -o /dev/null -w '%%{http_code}' https://%s:%d/v1/hosts"
    for h, n in (("a", 1), ("b", 2), ("c", 0)):
        lab.check("%s: named as the lab named it, with %d NVMe" % (h, n), h,
                  "echo $(hostname) $(%s)" % nvme_count, pattern="^%s %d$" % (h, n))
    lab.check("b: its NVMe sit behind one switch (two downstream ports)", "b",
              "lspci -n | grep -c ' 104c:8233'", pattern="^2$")
    lab.check("a: its NVMe's serial names the host", "a", "cat /sys/class/nvme/nvme*/serial", pattern="^a-nvme1")
    lab.check("a reaches the controller's forwarded port (its API asks for a token)", "a",
              reach % (cluster.GUEST_ADDR, ctl.port), pattern="^401$")
    lab.check("a cannot reach anything else (the user network's gateway)", "a",
              "! curl -sS -m 3 http://10.0.2.2:%d/" % ctl.port)


def run(build):
    with controller.Controller(build) as ctl:
        with cluster.Lab(build, {"a": "nvme", "b": "switch", "c": "plain"}, forwards=[ctl.port]) as lab:
            lab_itself(ctl, lab)
            for h in ("a", "b", "c"):
                rc, out = controller.start_agent(ctl, lab[h])
                lab.ok("%s: an agent starts with a join token" % h, rc == 0, out)
            for h in ("a", "b", "c"):
                lab.ok("%s joined and is connected" % h, ctl.wait_state(h, "connected", 60),
                       lab[h].exec("cat /tmp/agent.log")[1])
            nvme_a = ctl.devices("a", "0010")
            lab.ok("a reported its NVMe to the controller",
                   len(nvme_a) == 1, json.dumps(nvme_a))
            addr = nvme_a[0]["address"] if nvme_a else "0000:00:00.0"
            rc, out = ctl.cl("device", "label", addr, "fast", "--host", "a")
            lab.ok("a label set through the controller", rc == 0, out)
            lab.ok("... reaches host a's own store", until(20, lambda: lab["a"].exec(
                "hwpass --db /tmp/hwpass.db --json device show %s" % addr)[1].count('"label": "fast"') == 1))
            rc, out = ctl.cl("device", "passthrough", "enable", addr, "--host", "a")
            lab.ok("passthrough asked for through the controller", rc == 0, out)
            lab.ok("... a's kernel binds the NVMe to vfio-pci", until(30, lambda: lab["a"].exec(
                "readlink /sys/bus/pci/devices/%s/driver" % addr)[1].strip().endswith("/vfio-pci")),
                lab["a"].exec("tail -5 /tmp/agent.log")[1])
            lab.check("... and its VFIO group is there", "a",
                      "ls /dev/vfio/$(basename $(readlink /sys/bus/pci/devices/%s/iommu_group))" % addr)

            def pool_free():
                h = ctl.host("a") or {"pools": []}
                return any(p["device_id"] == "0010" and p.get("label") == "fast" and p["free"] == 1
                           for p in h["pools"])
            lab.ok("the controller counts it free in a's pool 1b36:0010 'fast'", until(20, pool_free),
                   json.dumps(ctl.host("a")))
            nvme_b = ctl.devices("b", "0010")
            lab.ok("b's two NVMe sit behind one PCIe switch, as the controller sees them",
                   len(nvme_b) == 2 and nvme_b[0]["pcie_switch"] and
                   nvme_b[0]["pcie_switch"] == nvme_b[1]["pcie_switch"], json.dumps(nvme_b))
            lab.ok("c reported no NVMe", ctl.devices("c", "0010") == [] and ctl.host("c") is not None)
            rc, out = ctl.cl("host", "list")
            lab.ok("host list names all three, connected", rc == 0 and out.count(" connected ") == 3, out)

            lab["a"].set_link(False)
            lab.ok("with a's link cut, a is disconnected once its lease ends",
                   ctl.wait_state("a", "disconnected", 20))
            lab["a"].set_link(True)
            lab.ok("with its link back, a is connected again", ctl.wait_state("a", "connected", 30),
                   lab["a"].exec("tail -5 /tmp/agent.log")[1])
            lab["c"].kill()
            lab.ok("c, killed, is failed after its lease and a margin", ctl.wait_state("c", "failed", 30))
            lab.ok("b stays connected", ctl.wait_state("b", "connected", 5))
            return lab
