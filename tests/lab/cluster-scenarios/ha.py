"""HA on two lab hosts with real VFIO: each has one NVMe, labelled 'fast'
and set for passthrough through the controller. A VM asking for one 'fast'
NVMe runs on one of them and its probe guest reads that host's serial by
DMA. That host dies (its L1's QEMU killed). The controller fails it once it
has been silent for its lease and as long again, and restarts the VM on the
other host, whose probe guest then reads the other NVMe's serial by DMA:
the same VM, restarted on the host with a free matching device, without
anyone asking. The time from the kill to the restart is printed."""
import json
import os
import time

import cluster
import controller

PROBE = "/usr/share/hwpass/probe-guest"


def until(timeout, fn, step=0.5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(step)
    return False


def run(build):
    with controller.Controller(build) as ctl:
        with cluster.Lab(build, {"a": "nvme", "b": "nvme"}, forwards=[ctl.port]) as lab:
            return scenario(ctl, lab)


def scenario(ctl, lab):
    for h in ("a", "b"):
        rc, out = controller.start_agent(ctl, lab[h])
        lab.ok("%s: its agent joins" % h, rc == 0 and ctl.wait_state(h, "connected", 60), out)
    for h in ("a", "b"):
        for d in ctl.devices(h, "0010"):
            ctl.cl("device", "label", d["address"], "fast", "--host", h)
            ctl.cl("device", "passthrough", "enable", d["address"], "--host", h)

    def free(h):
        host = ctl.host(h) or {"pools": []}
        return sum(p["free"] for p in host["pools"] if p["device_id"] == "0010" and p.get("label") == "fast")
    lab.ok("the agents bind them: one 'fast' NVMe free on each host",
           until(60, lambda: free("a") == 1 and free("b") == 1), json.dumps([ctl.host("a"), ctl.host("b")]))

    doc = {"name": "db", "memory_mib": 64, "vcpus": 1, "kernel": PROBE, "restart_priority": "high",
           "pci": [{"index": 0, "kind": "dynamic", "allowed": ["1b36:0010"], "count": 1, "label": "fast"}]}
    path = os.path.join(ctl.work, "db.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    rc, out = ctl.cl("vm", "define", path)
    lab.ok("db (restart priority high) is defined through the controller", rc == 0, out)

    def shown():
        return ctl.cl_json("vm", "show", "db") or {}

    def probed(host):
        rc, out = lab[host].exec("cat /run/hwpass/vms/db/serial.log 2>/dev/null")
        return 'identify=ok vid=1b36 sn="%s-nvme1"' % host in out

    rc, out = ctl.cl("--json", "vm", "start", "db")
    first = (json.loads(out) if rc == 0 else {}).get("host")
    lab.ok("db: vm start places it on a host", first in ("a", "b"), out)
    if first not in ("a", "b"):
        return lab
    other = "b" if first == "a" else "a"
    lab.ok("db: its probe guest on %s reads %s-nvme1 by DMA" % (first, first), until(180, lambda: probed(first)),
           lab[first].exec("tail -5 /tmp/agent.log; tail -5 /run/hwpass/vms/db/serial.log")[1])
    lab.ok("db: the controller hears it runs", until(30, lambda: shown().get("state") == "running"),
           json.dumps(shown()))
    epoch = shown().get("epoch")

    killed = time.monotonic()
    lab[first].kill()
    lab.ok("%s dies: the controller calls it failed" % first, ctl.wait_state(first, "failed", 60),
           json.dumps(ctl.host(first)))
    failed_after = time.monotonic() - killed
    lab.ok("db is placed again on %s, at a new epoch, without anyone asking" % other,
           until(60, lambda: shown().get("host") == other and shown().get("epoch", 0) > epoch), json.dumps(shown()))
    placed_after = time.monotonic() - killed
    lab.ok("db: its probe guest on %s reads %s-nvme1 by DMA" % (other, other), until(180, lambda: probed(other)),
           lab[other].exec("tail -5 /tmp/agent.log; tail -5 /run/hwpass/vms/db/serial.log")[1])
    probed_after = time.monotonic() - killed
    lab.ok("db: the controller hears it runs there", until(30, lambda: shown().get("state") == "running"),
           json.dumps(shown()))
    running_after = time.monotonic() - killed
    print("# %s killed: failed after %.1f s, db placed on %s after %.1f s, its guest read the NVMe after %.1f s, "
          "reported running after %.1f s (heartbeat %d ms, lease %d ms)"
          % (first, failed_after, other, placed_after, probed_after, running_after, controller.HEARTBEAT_MS,
             controller.LEASE_MS), flush=True)
    events = (ctl.cl_json("events", "--limit", "1000") or {}).get("events", [])
    kinds = [(e["kind"], e.get("host"), e.get("subject")) for e in events]
    lab.ok("events: host-failed, then vm-host-failed and vm-restarted for db",
           ("host-failed", first, None) in kinds and ("vm-host-failed", first, "db") in kinds and
           ("vm-restarted", other, "db") in kinds, json.dumps(kinds[-12:]))
    ctl.cl("vm", "stop", "db")
    lab.ok("db stops on %s and its NVMe is free again" % other, until(90, lambda: free(other) == 1),
           json.dumps(ctl.host(other)))
    return lab
