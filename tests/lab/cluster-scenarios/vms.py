"""Cluster VMs on three lab hosts, placed by the controller and run by the
agents with real VFIO: host a has one NVMe, b two behind a PCIe switch, c
none. First the lab itself (each host named as the lab named it, its devices
as its profile has them, reaching the controller's forwarded port and
nothing else), then the agents: they join with one-use tokens and report
their real devices; a label and passthrough set through the controller reach
host a, whose kernel binds its NVMe to vfio-pci; the controller counts it
free in a's pool; b's NVMe share a switch; a host with its link cut is
disconnected and comes back. Then every NVMe labelled 'fast' and set for
passthrough through the controller: a VM asking for two 'fast' NVMe behind
one switch lands on b and its probe guest reads both of b's serials by DMA;
a VM asking for one lands on a, the only host with one free; a third gets an
explain naming all three hosts and why none can take it; once the first
stops, the third lands on b; a VM pinned to a by a static entry waits for
a's NVMe and then starts there only. Last, a dead host is failed."""
import json
import os

import cluster
import controller


def until(timeout, fn):
    return cluster.until(timeout, fn, 1)

PROBE = "/usr/lib/hwpass/probe-guest"


def vm_doc(name, entry):
    return {"name": name, "memory_mib": 64, "vcpus": 1, "kernel": PROBE, "pci": [dict(index=0, **entry)]}


def fast(count=1, **more):
    return dict(kind="dynamic", allowed=["1b36:0010"], count=count, label="fast", **more)


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


def agents(ctl, lab):
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


def run(build):
    with controller.Controller(build) as ctl:
        with cluster.Lab(build, {"a": "nvme", "b": "switch", "c": "plain"}, forwards=[ctl.port]) as lab:
            lab_itself(ctl, lab)
            agents(ctl, lab)
            scenario(ctl, lab)
            lab["c"].kill()
            lab.ok("c, killed, is failed after its lease and a margin", ctl.wait_state("c", "failed", 30))
            lab.ok("b stays connected", ctl.wait_state("b", "connected", 5))
            return lab


def scenario(ctl, lab):
    nvme = {h: [d["address"] for d in ctl.devices(h, "0010")] for h in ("a", "b")}
    lab.ok("a has one NVMe, b two", len(nvme["a"]) == 1 and len(nvme["b"]) == 2, json.dumps(nvme))
    for h, addrs in nvme.items():
        for addr in addrs:
            ctl.cl("device", "label", addr, "fast", "--host", h)
            ctl.cl("device", "passthrough", "enable", addr, "--host", h)

    def free(h):
        host = ctl.host(h) or {"pools": []}
        return sum(p["free"] for p in host["pools"] if p["device_id"] == "0010" and p.get("label") == "fast")
    lab.ok("the agents bind them: a has 1 'fast' NVMe free, b 2", until(60, lambda: free("a") == 1 and free("b") == 2),
           json.dumps([ctl.host("a"), ctl.host("b")]))

    docs = {"pair": vm_doc("pair", fast(2, groups={"same_switch": "s"})), "one": vm_doc("one", fast()),
            "two": vm_doc("two", fast())}
    for name, doc in docs.items():
        path = os.path.join(ctl.work, name + ".json")
        with open(path, "w") as f:
            json.dump(doc, f)
        rc, out = ctl.cl("vm", "define", path)
        lab.ok("VM %s is defined through the controller" % name, rc == 0, out)

    def shown(name):
        return ctl.cl_json("vm", "show", name) or {}

    def probed(host, name, serial):
        rc, out = lab[host].exec("cat /run/hwpass/vms/%s/serial.log 2>/dev/null" % name)
        return 'identify=ok vid=1b36 sn="%s"' % serial in out

    def started(name, host, serials):
        rc, out = ctl.cl("vm", "start", name)
        lab.ok("%s: vm start places it on %s" % (name, host), rc == 0 and shown(name).get("host") == host, out)
        for serial in serials:
            lab.ok("%s: its probe guest on %s reads %s by DMA" % (name, host, serial),
                   until(180, lambda: probed(host, name, serial)),
                   lab[host].exec("tail -5 /tmp/agent.log; tail -5 /run/hwpass/vms/%s/serial.log" % name)[1])
        lab.ok("%s: the controller hears it runs" % name, until(30, lambda: shown(name).get("state") == "running"),
               json.dumps(shown(name)))

    started("pair", "b", ["b-nvme1", "b-nvme2"])
    lab.ok("b's NVMe are both held by pair", len(shown("pair").get("held_devices", [])) == 2)
    started("one", "a", ["a-nvme1"])

    rc, out = ctl.cl("vm", "explain", "two")
    lab.ok("two: no host can take it, and explain says why for each of the three",
           rc == 1 and all(("\n%s: " % h) in "\n" + out for h in ("a", "b", "c")), out)
    rc, out = ctl.cl("vm", "start", "two")
    lab.ok("two: its start is refused with the reason", rc == 1 and "no host can take VM 'two'" in out, out)

    rc, out = ctl.cl("vm", "stop", "pair")
    lab.ok("pair: stop through the controller", rc == 0, out)
    # b stops it at its next heartbeat and reports it off at the one after: a start before then
    # is refused (it would have given the new run devices on top of the old run's).
    rc, out = ctl.cl("vm", "start", "pair")
    lab.ok("pair: started again at once, refused: its host has not stopped it yet",
           rc == 2 and "VM 'pair' has not stopped yet on b" in out, out)
    lab.ok("pair: its host stops it and the devices go free",
           until(90, lambda: shown("pair").get("host") is None and free("b") == 2), json.dumps(shown("pair")))
    started("two", "b", [])
    lab.ok("two: its guest reads one of b's NVMe", until(180, lambda: probed("b", "two", "b-nvme1") or
                                                        probed("b", "two", "b-nvme2")))

    # A VM pinned to a by its static entry: it waits for a's NVMe, and goes nowhere else.
    pinned = vm_doc("pinned", {"kind": "static", "address": nvme["a"][0]})
    path = os.path.join(ctl.work, "pinned.json")
    with open(path, "w") as f:
        json.dump(pinned, f)
    rc, out = ctl.cl("--host", "a", "vm", "define", path)
    lab.ok("pinned: defined on host a by its static entry", rc == 0, out)
    rc, out = ctl.cl("vm", "start", "pinned")
    lab.ok("pinned: refused while one holds a's NVMe", rc == 1, out)
    # one's supervisor killed -9: its QEMU goes with it (PR_SET_PDEATHSIG), a's agent finds the run
    # lost and reports it ended, the controller gives a's NVMe back.
    rc, out = lab["a"].exec("q=$(cat /run/hwpass/vms/one/qemu.pid) && "
                            "s=$(awk '/^PPid:/ {print $2}' /proc/$q/status) && echo $q $s && kill -9 $s")
    lab.ok("one: its supervisor on a is killed -9", rc == 0 and len(out.split()) == 2, out)
    qemu = out.split()[0] if rc == 0 and out.split() else "0"
    lab.ok("one: its QEMU goes with its supervisor",
           until(10, lambda: lab["a"].exec("kill -0 %s" % qemu)[0] != 0))
    lab.ok("one: a's agent reports the run ended, the controller has it off and a's NVMe free",
           until(30, lambda: shown("one").get("host") is None and shown("one").get("state") == "off"
                 and free("a") == 1),
           json.dumps(shown("one")) + lab["a"].exec("tail -3 /tmp/agent.log")[1])
    lab.check("... a's own store says it was lost, its devices released", "a",
              "hwpass --db /tmp/hwpass.db events | grep -c 'vm-lost  *one '", pattern="^1$")
    lab.check("... its QEMU user's group file and run directory are root's again at once", "a",
              "g=$(basename $(readlink /sys/bus/pci/devices/%s/iommu_group)) && "
              "stat -c %%u /dev/vfio/$g /run/hwpass/vms/one | sort -u | tr '\\n' ' '" % nvme["a"][0],
              pattern="^0 $")
    lab.check("... the NVMe stays on vfio-pci", "a",
              "readlink /sys/bus/pci/devices/%s/driver" % nvme["a"][0], pattern="/vfio-pci$")
    started("pinned", "a", ["a-nvme1"])
    for name in ("two", "pinned"):
        ctl.cl("vm", "stop", name)
    lab.ok("every VM stops and every device is free again",
           until(90, lambda: free("a") == 1 and free("b") == 2))
    return lab
