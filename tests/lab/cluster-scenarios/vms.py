"""Cluster VMs on three lab hosts, placed by the controller and run by the
agents with real VFIO: host a has one NVMe, b two behind a PCIe switch, c
none, every NVMe labelled 'fast' and set for passthrough through the
controller. A VM asking for two 'fast' NVMe behind one switch lands on b and
its probe guest reads both of b's serials by DMA; a VM asking for one lands
on a, the only host with one free; a third gets an explain naming all three
hosts and why none can take it; once the first stops, the third lands on b;
a VM pinned to a by a static entry waits for a's NVMe and then starts there
only."""
import json
import os
import time

import cluster
import controller

PROBE = "/usr/share/hwpass/probe-guest"


def until(timeout, fn):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(1)
    return False


def vm_doc(name, entry):
    return {"name": name, "memory_mib": 64, "vcpus": 1, "kernel": PROBE, "pci": [dict(index=0, **entry)]}


def fast(count=1, **more):
    return dict(kind="dynamic", allowed=["1b36:0010"], count=count, label="fast", **more)


def run(build):
    with controller.Controller(build) as ctl:
        with cluster.Lab(build, {"a": "nvme", "b": "switch", "c": "plain"}, forwards=[ctl.port]) as lab:
            return scenario(ctl, lab)


def scenario(ctl, lab):
    for h in ("a", "b", "c"):
        rc, out = controller.start_agent(ctl, lab[h])
        lab.ok("%s: its agent joins" % h, rc == 0 and ctl.wait_state(h, "connected", 60), out)
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
    ctl.cl("vm", "stop", "one")
    lab.ok("one: stopped, a's NVMe is free", until(90, lambda: free("a") == 1))
    started("pinned", "a", ["a-nvme1"])
    for name in ("two", "pinned"):
        ctl.cl("vm", "stop", name)
    lab.ok("every VM stops and every device is free again",
           until(90, lambda: free("a") == 1 and free("b") == 2))
    return lab
