"""The HA leader killed during a restart storm, on three lab hosts with real
VFIO and two controllers over one PostgreSQL (the agents know both; the
fast profile). Hosts a and b have two NVMe behind a PCIe switch, c one;
every NVMe is set for passthrough and labelled 'fast'.

Four VMs run on a: d1 and d2 (dynamic, one 'fast' NVMe each, restart
priority high and medium) and n1 and n2 (dynamic, no device, low and
lowest). a dies (its L1's QEMU killed); the leading controller fails it
and restarts d1 first, and is killed (SIGKILL) as soon as it has placed
it, while the lower levels still wait their turn. Shown:
  - the other controller takes the leader lease, with the next fencing
    token, and finishes the storm in priority order;
  - the agents that were talking to the killed controller go on with the
    other one: no host but a fails, no VM is isolated;
  - every VM runs again, each on exactly one host (watched on the hosts
    all along: never two QEMUs of one VM), placed once (one vm-restarted
    each), d1 and d2 reading their new host's NVMe by DMA."""
import json
import time

import cluster
import controller
from cluster import until

PROBE = "/usr/lib/hwpass/probe-guest"
FAST = ["--ha-profile", "fast"]
STORM = {"d1": "high", "d2": "medium", "n1": "low", "n2": "lowest"}


def run(build):
    with controller.Controller(build, FAST, count=2) as ctl:
        with cluster.Lab(build, {"a": "switch", "b": "switch", "c": "nvme"},
                         forwards=list(ctl.ports.values())) as lab:
            return scenario(ctl, lab)


def leaders(ctl):
    """(holder, token) of each ha-leader event, oldest first."""
    found = []
    for e in ctl.events():
        words = (e.get("message") or "").split()
        if e["kind"] == "ha-leader" and len(words) >= 6:
            found.append((words[1], int(words[-1].rstrip(")"))))
    return found


def leader_name(ctl, holder):
    """The controller (ctl1, ctl2) whose pid ends holder (HOST-PID)."""
    pid = holder.rsplit("-", 1)[-1]
    return next((n for n, p in ctl.procs.items() if str(p.pid) == pid), None)


def scenario(ctl, lab):
    hosts = ("a", "b", "c")
    for h in hosts:
        rc, out = controller.start_agent(ctl, lab[h])
        lab.ok("%s: its agent joins, told of both controllers" % h,
               rc == 0 and ctl.wait_state(h, "connected", 60), out)
    nvme = ctl.fast_nvme(hosts)
    lab.ok("a and b report two NVMe, c one", [len(nvme[h]) for h in hosts] == [2, 2, 1], json.dumps(nvme))
    lab.ok("the agents bind them: 'fast' NVMe free: a 2, b 2, c 1",
           until(90, lambda: [ctl.free_fast(h) for h in hosts] == [2, 2, 1], 0.5),
           json.dumps([ctl.host(h) for h in hosts]))
    lab.ok("one controller leads HA", until(30, lambda: len(leaders(ctl)) == 1), json.dumps(leaders(ctl)))
    if len(leaders(ctl)) != 1:
        return lab
    holder, token = leaders(ctl)[0]
    first = leader_name(ctl, holder)
    lab.ok("... it is one of the two (%s)" % first, first in ctl.procs, holder)

    for vm, priority in STORM.items():
        rc, out = ctl.define({"name": vm, "memory_mib": 64, "vcpus": 1, "kernel": PROBE,
                              "restart_priority": priority, "pci": controller.FAST_NVME if vm.startswith("d") else []})
        lab.ok("%s (dynamic, %s, restart priority %s) is defined" %
               (vm, "one 'fast' NVMe" if vm.startswith("d") else "no device", priority), rc == 0, out)
    # b and c in maintenance while they start: all four land on a.
    for h in ("b", "c"):
        ctl.cl("host", "maintenance", "enter", h)
    for vm in STORM:
        rc, out = ctl.cl("--json", "vm", "start", vm)
        lab.ok("%s starts on a" % vm, rc == 0 and json.loads(out).get("host") == "a", out)
    for h in ("b", "c"):
        ctl.cl("host", "maintenance", "exit", h)
    lab.ok("all four run on a; d1 and d2 read a's NVMe",
           until(180, lambda: lab["a"].qemus() == sorted(STORM) and all(lab["a"].probed(vm) for vm in ("d1", "d2"))
                 and all(ctl.vm(vm).get("state") == "running" for vm in STORM), 1),
           json.dumps(lab["a"].qemus()) + lab["a"].exec("tail -5 /tmp/agent.log")[1])
    epochs = {vm: ctl.vm(vm).get("epoch", 0) for vm in STORM}
    before = {e.get("id") for e in ctl.events()}

    # a dies; the leader is killed once it placed the first of a's VMs.
    killed = time.monotonic()
    lab["a"].kill()
    marks, seen, twice = {}, {}, []

    def watch():
        """Each VM's QEMUs on b and c now; any VM on both is noted."""
        on = {h: lab[h].qemus() or [] for h in ("b", "c")}
        for vm in STORM:
            where = [h for h in on if vm in on[h]]
            if len(where) > 1:
                twice.append((vm, where))
            if where:
                seen[vm] = where[0]
        return on

    end = killed + 60
    while time.monotonic() < end and "leader killed" not in marks:
        if "failed" not in marks and (ctl.host("a") or {}).get("state") == "failed":
            marks["failed"] = time.monotonic() - killed
        if any(ctl.vm(vm).get("host") in ("b", "c") for vm in STORM):
            placed = [vm for vm in STORM if ctl.vm(vm).get("host") in ("b", "c")]
            ctl.kill(first)
            marks["leader killed"] = time.monotonic() - killed
            marks["placed then"] = placed
        time.sleep(0.1)
    lab.ok("a is failed and the leader places a first VM, then is killed (%s)" % json.dumps(marks),
           "failed" in marks and "leader killed" in marks and len(marks["placed then"]) < len(STORM),
           json.dumps([ctl.vm(vm) for vm in STORM]))
    if "leader killed" not in marks:
        return lab
    second = [n for n in ctl.procs][0]

    def done():
        watch()
        return all(ctl.vm(vm).get("state") == "running" and ctl.vm(vm).get("host") in ("b", "c") and
                   seen.get(vm) == ctl.vm(vm).get("host") for vm in STORM)
    while time.monotonic() < killed + 240 and not done():
        if "new leader" not in marks and len(leaders(ctl)) > 1:
            marks["new leader"] = time.monotonic() - killed
        time.sleep(0.5)
    marks["all running"] = time.monotonic() - killed
    now = leaders(ctl)
    lab.ok("%s leads HA after it, with the next fencing token (%d)" % (second, token + 1),
           len(now) == 2 and leader_name(ctl, now[-1][0]) == second and now[-1][1] == token + 1, json.dumps(now))
    where = {vm: ctl.vm(vm).get("host") for vm in STORM}
    lab.ok("every VM of a runs again, on b or c, at a new epoch",
           done() and all(ctl.vm(vm).get("epoch", 0) > epochs[vm] for vm in STORM),
           json.dumps([ctl.vm(vm) for vm in STORM]))
    lab.ok("... each on exactly one host, as the hosts show (watched all along: never on two at once)",
           not twice and all(sum(vm in (lab[h].qemus() or []) for h in ("b", "c")) == 1 for vm in STORM),
           json.dumps({"twice": twice, "b": lab["b"].qemus(), "c": lab["c"].qemus()}))
    for vm in ("d1", "d2"):
        lab.ok("%s: its probe guest on %s reads that host's NVMe" % (vm, where[vm]),
               where[vm] in ("b", "c") and until(180, lambda: lab[where[vm]].probed(vm), 1))
    events = [e for e in ctl.events() if e.get("id") not in before]  # oldest first
    restarted = [e["subject"] for e in events if e["kind"] == "vm-restarted"]
    lab.ok("each VM was placed once (one vm-restarted each), in restart priority order",
           restarted == list(STORM), json.dumps(restarted))
    trouble = [(e["kind"], e.get("host"), e.get("subject")) for e in events
               if (e["kind"] == "host-failed" and e.get("host") != "a") or e["kind"] == "vm-isolated"]
    lab.ok("no other host failed and no VM was isolated: the agents went on with %s" % second,
           not trouble and all((ctl.host(h) or {}).get("state") == "connected" for h in ("b", "c")),
           json.dumps(trouble))
    print("# leader killed in a restart storm: a failed after %.1f s; %s placed %s and was killed at %.1f s; "
          "%s led at %.1f s; all four running again after %.1f s"
          % (marks["failed"], first, ", ".join(marks["placed then"]), marks["leader killed"], second,
             marks.get("new leader", -1), marks["all running"]), flush=True)
    return lab
