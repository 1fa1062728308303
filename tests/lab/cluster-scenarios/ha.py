"""HA on three lab hosts with real VFIO. Host a has two NVMe behind a PCIe
switch and a NIC (e1000e), b and c one NVMe each; every NVMe is set for
passthrough and labelled 'fast' through the controller, and a's NIC too.

- Maintenance: m1 and m2 (dynamic, one 'fast' NVMe each, guests that power
  off on the ACPI button) run on a, with nic (pinned to a's NIC by a static
  entry). Entering maintenance on a is refused, naming nic; nic stopped, a
  enters it and m1 and m2 move, stopped by ACPI, to b and c, where their
  probe guests read those hosts' NVMe.

- db (dynamic, one 'fast' NVMe) starts where the most are free: on a. st is
  pinned to a's other NVMe by a static entry.
- a's link is cut. Its agent, cut off, powers both VMs off before its lease
  ends; only then is a failed and db restarted on b or c (the timeline
  shows it), while st stays off. a's link returns: st starts there again,
  db runs once, elsewhere.
- The host running db dies (its L1's QEMU killed): db's probe guest runs on
  another host. From the kill to the guest's 'PROBE done', with the fast
  profile, then again with the default profile (the controller restarted
  with it), with the breakdown: detect (the host failed), decide (db
  placed), start (db's QEMU up), guest (PROBE done).
- With "tolerate 1 failure", the power-on that would leave a VM nowhere to
  restart if its host failed is refused, naming that failure.
- The controller and its PostgreSQL stopped for 30 s: the agents hear a
  refusal, not silence, so no VM is powered off; afterwards the hosts are
  connected again, no host is failed and the same QEMUs run on.
- No host was failed that was not killed or cut off (false failovers)."""
import json
import re
import time

import cluster
import controller
from cluster import until

PROBE = "/usr/lib/hwpass/probe-guest"
FAST = ["--ha-profile", "fast"]
DEFAULT = ["--ha-profile", "default"]


def run(build):
    with controller.Controller(build, FAST) as ctl:
        with cluster.Lab(build, {"a": "switch-nic", "b": "nvme", "c": "nvme"}, forwards=[ctl.port]) as lab:
            return scenario(ctl, lab)


def scenario(ctl, lab):
    hosts = ("a", "b", "c")
    for h in hosts:
        rc, out = controller.start_agent(ctl, lab[h])
        lab.ok("%s: its agent joins" % h, rc == 0 and ctl.wait_state(h, "connected", 60), out)
    nvme = ctl.fast_nvme(hosts)
    lab.ok("a reports two NVMe, b and c one each", [len(nvme[h]) for h in hosts] == [2, 1, 1], json.dumps(nvme))
    if [len(nvme[h]) for h in hosts] != [2, 1, 1]:
        return lab
    lab.ok("the agents bind them: 'fast' NVMe free: a 2, b 1, c 1",
           until(90, lambda: [ctl.free_fast(h) for h in hosts] == [2, 1, 1], 0.5),
           json.dumps([ctl.host(h) for h in hosts]))

    if not maintenance(ctl, lab):
        return lab

    rc, out = ctl.define({"name": "db", "memory_mib": 64, "vcpus": 1, "kernel": PROBE,
                          "restart_priority": "high", "pci": controller.FAST_NVME})
    lab.ok("db (dynamic, one 'fast' NVMe, restart priority high) is defined", rc == 0, out)

    rc, out = ctl.cl("--json", "vm", "start", "db")
    lab.ok("db starts on a, where two NVMe are free", rc == 0 and json.loads(out).get("host") == "a", out)
    if rc != 0 or json.loads(out).get("host") != "a":
        return lab
    pinned = [addr for addr in nvme["a"] if addr not in out][0]
    rc, out = ctl.define({"name": "st", "memory_mib": 64, "vcpus": 1, "kernel": PROBE,
                                "pci": [{"index": 0, "kind": "static", "address": pinned}]}, "--host", "a")
    lab.ok("st (pinned to a's other NVMe by a static entry) is defined", rc == 0, out)
    rc, out = ctl.cl("vm", "start", "st")
    lab.ok("st starts on a", rc == 0, out)
    for vm in ("db", "st"):
        lab.ok("%s: its probe guest on a reads an a NVMe by DMA" % vm, until(180, lambda: lab["a"].probed(vm), 1),
               lab["a"].exec("tail -5 /tmp/agent.log; tail -5 /run/hwpass/vms/%s/serial.log" % vm)[1])
    lab.ok("the controller hears both run",
           until(30, lambda: ctl.vm("db").get("state") == "running" and ctl.vm("st").get("state") == "running"),
           json.dumps([ctl.vm("db"), ctl.vm("st")]))
    epochs = {vm: ctl.vm(vm).get("epoch", 0) for vm in ("db", "st")}

    # a's link cut: isolation before failover. When a's VMs went off is
    # taken from a's agent (a command to a, polled from here, takes up to
    # seconds to come back under load: the moment seen would be late): it
    # says how much of its lease was left when it stopped them; the cluster
    # places db elsewhere only once that lease and the margin have passed.
    cut = time.monotonic()
    lab["a"].set_link(False)
    placed_at = None
    end = cut + 60
    while time.monotonic() < end and placed_at is None:
        if ctl.vm("db").get("host") in ("b", "c"):
            placed_at = time.monotonic() - cut
        time.sleep(0.1)
    log = lab["a"].exec("cat /tmp/agent.log")[1]
    left = re.search(r"cut off from the cluster .* with (\d+) ms of the lease left: stopping 2 VMs", log)
    print("# a's link cut: its agent stopped its VMs with %s ms of its lease left, db placed elsewhere after %s s"
          % (left.group(1) if left else "-", "%.1f" % placed_at if placed_at else "-"), flush=True)
    lab.ok("a, cut off, powers db and st off before its lease ends, so before db may be placed elsewhere",
           left is not None and int(left.group(1)) > 0 and placed_at is not None and
           all("VM '%s' (isolated: powered off): stopped" % vm in log for vm in ("db", "st")),
           "\n".join(log.splitlines()[-6:]))
    lab.ok("... and a is failed", ctl.wait_state("a", "failed", 30), json.dumps(ctl.host("a")))
    second = ctl.vm("db").get("host")
    lab.ok("db: its probe guest on %s reads that host's NVMe" % second,
           second in ("b", "c") and until(180, lambda: lab[second].probed("db"), 0.5))
    lab.ok("st (static) stays off while a is away: pending on a, not elsewhere",
           ctl.vm("st").get("host") == "a" and all(lab[h].qemus() == [] for h in ("b", "c") if h != second),
           json.dumps(ctl.vm("st")))

    lab["a"].set_link(True)
    lab.ok("a's link back: a is connected again", ctl.wait_state("a", "connected", 60), json.dumps(ctl.host("a")))
    lab.ok("st starts again on a, at a new epoch",
           until(180, lambda: ctl.vm("st").get("state") == "running" and ctl.vm("st").get("epoch", 0) > epochs["st"]
                 and lab["a"].probed("st"), 1), json.dumps(ctl.vm("st")))
    lab.ok("nothing runs twice: a runs st only, %s runs db" % second,
           lab["a"].qemus() == ["st"] and lab[second].qemus() == ["db"],
           json.dumps({h: lab[h].qemus() for h in hosts}))

    admission(ctl, lab, second)
    outage(ctl, lab, {"a": "st", second: "db"})

    # Kills: fast, then the default profile.
    failed = {"a"}
    figures = []
    victim = second
    for profile, timing in (("fast", FAST), ("default", DEFAULT)):
        if profile != "fast":
            ctl.restart(timing)
            lab.ok("the controller restarted with --ha-profile %s: the hosts reconnect" % profile,
                   all(ctl.wait_state(h, "connected", 60) for h in hosts if h not in failed))
            # The new controller takes the HA lease once the old one's
            # expires, then gives every host a lease and a margin.
            time.sleep(15)
        epoch = ctl.vm("db").get("epoch", 0)
        killed = time.monotonic()
        lab[victim].kill()
        failed.add(victim)
        # detect and decide are polled from the controller; start (db's QEMU
        # started) and guest (its serial log's last line, PROBE done) are read
        # afterwards from the target's own clocks: polling the L1 for them, a
        # shell pipeline in an emulated machine ten times a second, took the
        # CPU the nested guest boots on.
        marks = {}
        end = killed + 120
        target, probed, err = None, False, None
        while time.monotonic() < end and not probed:
            now = time.monotonic() - killed
            if "detect" not in marks and (ctl.host(victim) or {}).get("state") == "failed":
                marks["detect"] = now
            doc = ctl.vm("db")
            if target is None and doc.get("host") not in (None, victim) and doc.get("epoch", 0) > epoch:
                target = doc["host"]
                marks["decide"] = now
            if target and now > marks["decide"] + 2:
                probed = lab[target].probed("db")
            time.sleep(0.1 if target is None else 0.5)
        times = lab[target].run_times("db") if probed else None
        if times:
            marks["start"], marks["guest"], err = times[0] - killed, times[1] - killed, times[2]
        ok = all(k in marks for k in ("detect", "decide", "start", "guest"))
        figures.append((profile, victim, target, marks))
        lab.ok("%s profile: %s killed, db's probe guest runs on %s" % (profile, victim, target), ok,
               json.dumps({"marks": marks, "db": doc}))
        if not ok:
            return lab
        print("# %s profile: %s killed; failed after %.1f s, db placed on %s after %.1f s, its QEMU up after "
              "%.1f s, PROBE done after %.1f s (detect %.1f, decide %.1f, start %.1f, guest %.1f; %s's clock "
              "read within %.2f s)"
              % (profile, victim, marks["detect"], target, marks["decide"], marks["start"], marks["guest"],
                 marks["detect"], marks["decide"] - marks["detect"], marks["start"] - marks["decide"],
                 marks["guest"] - marks["start"], target, err), flush=True)
        victim = target
    events = (ctl.cl_json("events", "--limit", "1000") or {}).get("events", [])
    false = [e.get("host") for e in events if e["kind"] == "host-failed" and e.get("host") not in failed]
    print("# false failovers (hosts failed that were neither killed nor cut off): %d" % len(false), flush=True)
    lab.ok("no host was failed that was not killed or cut off", not false, json.dumps(false))
    kinds = [(e["kind"], e.get("host"), e.get("subject")) for e in events]
    lab.ok("events: host-failed for a, vm-host-failed and vm-restarted for db",
           ("host-failed", "a", None) in kinds and ("vm-host-failed", "a", "db") in kinds and
           ("vm-restarted", second, "db") in kinds, json.dumps(kinds[-12:]))
    watchdog(ctl, lab, victim)
    return lab


def maintenance(ctl, lab):
    """m1 and m2 on a with nic (static): maintenance on a refused naming nic;
    nic stopped, m1 and m2 move to b and c. Every device free again after."""
    nics = [d["address"] for d in ctl.devices("a", "10d3") if not d["address"].startswith("0000:00:")]
    lab.ok("a reports its second NIC (behind a root port)", len(nics) == 1, json.dumps(ctl.devices("a", "10d3")))
    if len(nics) != 1:
        return False
    ctl.cl("device", "passthrough", "enable", nics[0], "--host", "a")
    lab.ok("a's agent binds its NIC to vfio-pci",
           until(60, lambda: [d.get("driver") for d in ctl.devices("a", "10d3") if d["address"] == nics[0]] ==
                 ["vfio-pci"], 0.5), json.dumps(ctl.devices("a", "10d3")))
    for vm in ("m1", "m2"):
        ctl.define({"name": vm, "memory_mib": 64, "vcpus": 1, "kernel": PROBE, "append": "acpi",
                    "pci": controller.FAST_NVME})
    ctl.define({"name": "nic", "memory_mib": 64, "vcpus": 1, "kernel": PROBE,
                      "pci": [{"index": 0, "kind": "static", "address": nics[0]}]}, "--host", "a")
    # b and c in maintenance while m1 and m2 start: both land on a.
    for h in ("b", "c"):
        rc, out = ctl.cl("host", "maintenance", "enter", h)
        lab.ok("%s (no VMs) enters maintenance" % h, rc == 0, out)
    for vm in ("m1", "m2", "nic"):
        rc, out = ctl.cl("--json", "vm", "start", vm)
        lab.ok("%s starts on a" % vm, rc == 0 and json.loads(out).get("host") == "a", out)
    for h in ("b", "c"):
        rc, out = ctl.cl("host", "maintenance", "exit", h)
        lab.ok("%s leaves maintenance" % h, rc == 0, out)
    lab.ok("m1, m2 and nic run on a",
           until(120, lambda: lab["a"].qemus() == ["m1", "m2", "nic"] and
                 all(lab["a"].probed(vm) for vm in ("m1", "m2")), 1),
           json.dumps(lab["a"].qemus()) + lab["a"].exec("tail -5 /tmp/agent.log")[1])
    rc, out = ctl.cl("host", "maintenance", "enter", "a")
    lab.ok("maintenance on a is refused while nic (static) runs there, naming it",
           rc == 1 and "'nic'" in out and "cannot move" in out, out)
    ctl.cl("vm", "stop", "nic", "--force")
    began = time.monotonic()
    rc, out = ctl.cl("host", "maintenance", "enter", "a", "--wait")
    took = time.monotonic() - began
    lab.ok("nic stopped: a enters maintenance and waits until it runs no VM", rc == 0 and
           "runs no VM now" in out, out)
    where = {}

    def moved():
        # HA places them at its next pass after a ran them no more.
        where.update({vm: (ctl.cl_json("vm", "show", vm) or {}).get("host") for vm in ("m1", "m2")})
        return sorted(h or "" for h in where.values()) == ["b", "c"]
    lab.ok("m1 and m2 moved, one to b and one to c", until(60, moved, 0.5), json.dumps(where))
    for vm, h in where.items():
        lab.ok("%s: its probe guest on %s reads that host's NVMe" % (vm, h),
               h in ("b", "c") and until(180, lambda: lab[h].probed(vm), 1),
               lab[h].exec("tail -3 /run/hwpass/vms/%s/serial.log" % vm)[1] if h in ("b", "c") else "")
    rc, out = lab["a"].exec("grep -E \"VM 'm[12]' .*stopped\" /tmp/agent.log")
    lab.ok("... each stopped on a by its ACPI power button, not forced",
           all("VM '%s'" % vm in out for vm in ("m1", "m2")) and "forced" not in out, out)
    print("# maintenance on a: m1 and m2 moved to %s in %.1f s ('enter --wait' until a ran no VM)"
          % (" and ".join("%s" % where[vm] for vm in ("m1", "m2")), took), flush=True)
    ctl.cl("host", "maintenance", "exit", "a")
    for vm in ("m1", "m2"):
        ctl.cl("vm", "stop", vm)
    lab.ok("m1 and m2 stopped: 'fast' NVMe free again: a 2, b 1, c 1",
           until(90, lambda: [ctl.free_fast(h) for h in ("a", "b", "c")] == [2, 1, 1], 0.5),
           json.dumps([ctl.host(h) for h in ("a", "b", "c")]))
    return True


def admission(ctl, lab, second):
    """st runs on a, db on second; a and the third host have a free 'fast'
    NVMe each. x takes one of them; y, on the last, would have nowhere to
    restart if its host failed: refused with tolerate 1, naming that case."""
    for vm in ("x", "y"):
        ctl.define({"name": vm, "memory_mib": 64, "vcpus": 1, "kernel": PROBE, "pci": controller.FAST_NVME})
    rc, out = ctl.cl("cluster", "ha", "tolerate", "1")
    lab.ok("cluster ha tolerate 1", rc == 0 and "tolerates 1 host failure" in out, out)
    rc, out = ctl.cl("--json", "vm", "start", "x")
    x_host = json.loads(out).get("host") if rc == 0 else None
    lab.ok("x starts (on a or the third host): every single failure still leaves room", x_host in ("a", "b", "c")
           and x_host != second, out)
    rc, out = ctl.cl("vm", "start", "y")
    lab.ok("y, on the last free 'fast' NVMe, is refused, naming the failure that would leave it nowhere",
           rc == 1 and "would leave no room to restart VM 'y' if" in out and "failed" in out, out)
    lab.ok("... and stays off", (ctl.cl_json("vm", "show", "y") or {}).get("desired") == "off")
    rc, out = ctl.cl("cluster", "ha", "status")
    print("# cluster ha status with x on %s:\n# %s" % (x_host, out.strip().replace("\n", "\n# ")), flush=True)
    ctl.cl("vm", "stop", "x", "--force")
    ctl.cl("cluster", "ha", "tolerate", "0")
    def x_gone():
        q = lab[x_host].qemus()
        return q is not None and "x" not in q
    lab.ok("x stopped: its host runs no QEMU of it", until(60, x_gone, 1), json.dumps(lab[x_host].qemus()))


def outage(ctl, lab, running):
    """running: {host: the VM that runs there}. The controller and its
    PostgreSQL stopped for 30 s: nothing is powered off (the agents'
    controllers refuse connections: the network works), and the cluster
    converges when they are back."""
    pids = {h: lab[h].exec("cat /run/hwpass/vms/%s/qemu.pid" % vm)[1].strip() for h, vm in running.items()}
    before = {e.get("id") for e in (ctl.cl_json("events", "--limit", "1000") or {}).get("events", [])}
    ctl.outage(30)
    lab.ok("controller and PostgreSQL stopped for 30 s: the same QEMUs run (%s)" %
           ", ".join("%s on %s" % (vm, h) for h, vm in running.items()),
           all(lab[h].exec("cat /run/hwpass/vms/%s/qemu.pid" % vm)[1].strip() == pids[h] and
               lab[h].qemus() == [vm] for h, vm in running.items()),
           json.dumps({h: lab[h].qemus() for h in running}) +
           "".join(lab[h].exec("tail -5 /tmp/agent.log")[1] for h in running))
    lab.ok("... back: every host is connected again",
           all(ctl.wait_state(h, "connected", 60) for h in ("a", "b", "c")),
           json.dumps([ctl.host(h) for h in ("a", "b", "c")]))
    lab.ok("... and the VMs are still running, where they were, on their QEMU of before",
           until(30, lambda: all((ctl.cl_json("vm", "show", vm) or {}).get("host") == h and
                                 (ctl.cl_json("vm", "show", vm) or {}).get("state") == "running"
                                 for h, vm in running.items()), 0.5) and
           all(lab[h].exec("cat /run/hwpass/vms/%s/qemu.pid" % vm)[1].strip() == pids[h] for h, vm in running.items()),
           json.dumps([ctl.cl_json("vm", "show", vm) for vm in running.values()]))
    events = (ctl.cl_json("events", "--limit", "1000") or {}).get("events", [])
    after = [(e["kind"], e.get("host"), e.get("subject")) for e in events if e.get("id") not in before]
    lab.ok("... no host failed, and none of %s isolated, restarted or stopped meanwhile" %
           " and ".join(sorted(running.values())),
           not [k for k in after if k[0] == "host-failed" or
                (k[2] in running.values() and k[0] in ("vm-isolated", "vm-restarted", "vm-stopped",
                                                       "vm-host-failed"))], json.dumps(after))


def watchdog(ctl, lab, host):
    """host runs db. Its agent, restarted with a watchdog (softdog), is
    killed and restarted inside the watchdog's timeout: the host and db live
    on. Then it hangs (SIGSTOP): the watchdog resets the host before the
    cluster fails it, so db cannot run twice."""
    h = lab[host]
    qemu_pid = "cat /run/hwpass/vms/db/qemu.pid"
    # db was just restarted here: its QEMU may not have written its pid yet.
    until(10, lambda: h.exec(qemu_pid)[0] == 0, 0.2)
    pid = h.exec(qemu_pid)[1].strip()
    agent = "kill -9 $(pidof hwpassd) && sleep 0.5 && ! pidof hwpassd"
    rc, out = h.exec(agent)
    rc, out = controller.start_agent(ctl, h, "--watchdog /dev/watchdog")
    lab.ok("%s: its agent restarted with --watchdog /dev/watchdog" % host,
           rc == 0 and "cannot arm" not in out and h.exec("pidof hwpassd")[0] == 0, out)
    lab.ok("... the host is connected, db runs on (the same QEMU)",
           until(30, lambda: (ctl.host(host) or {}).get("state") == "connected" and
                 (ctl.cl_json("vm", "show", "db") or {}).get("state") == "running", 0.5) and
           h.exec(qemu_pid)[1].strip() == pid,
           json.dumps([ctl.host(host), ctl.cl_json("vm", "show", "db"), h.exec(qemu_pid)[1], pid]) +
           h.exec("tail -5 /tmp/agent.log")[1])
    h.exec(agent)
    rc, out = controller.start_agent(ctl, h, "--watchdog /dev/watchdog")
    time.sleep(12)  # longer than the watchdog's 8 s (the default profile's)
    try:
        alive = h.exec("true", timeout=10)[0] == 0
    except cluster.LabError:
        alive = False
    lab.ok("its agent killed and back within the watchdog's timeout: the host is not reset, db's QEMU is the same",
           alive and h.exec(qemu_pid)[1].strip() == pid and ctl.wait_state(host, "connected", 10),
           h.console()[-400:] if not alive else h.exec("tail -5 /tmp/agent.log")[1])
    if not alive:
        return
    stopped = time.monotonic()
    h.exec("kill -STOP $(pidof hwpassd)")
    reset_at = failed_at = None
    end = stopped + 40
    while time.monotonic() < end and (reset_at is None or failed_at is None):
        if reset_at is None and h.qemu.poll() is not None:
            reset_at = time.monotonic() - stopped
        if failed_at is None and (ctl.host(host) or {}).get("state") == "failed":
            failed_at = time.monotonic() - stopped
        time.sleep(0.1)
    h.kill()
    print("# %s's agent hung: the watchdog reset it after %s s, the cluster failed it after %s s"
          % (host, "%.1f" % reset_at if reset_at else "-", "%.1f" % failed_at if failed_at else "-"), flush=True)
    lab.ok("its agent hung (SIGSTOP): the watchdog resets the host before the cluster fails it",
           reset_at is not None and failed_at is not None and reset_at < failed_at, h.console()[-400:])
