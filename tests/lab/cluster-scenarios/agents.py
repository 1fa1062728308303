"""The cluster on three lab hosts: PostgreSQL (pg-lib.sh) and a controller
on the test machine, an agent (hwpassd --role agent) in each L1, reaching the
controller over TLS through the forwarded port. Host a has one NVMe, b two
behind a PCIe switch, c none. Shown: the hosts join with one-use tokens and
report their real devices; a label and passthrough set through the
controller reach host a, whose kernel binds its NVMe to vfio-pci; the
controller counts it free in a's pool; b's NVMe share a switch; a host with
its link cut is disconnected and comes back; a dead host is failed."""
import base64
import json
import os
import subprocess
import tempfile
import time

import cluster

HERE = os.path.dirname(os.path.abspath(__file__))
PG_LIB = os.path.join(HERE, "..", "..", "pg-lib.sh")
HEARTBEAT_MS, LEASE_MS = 1000, 4000


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Controller:
    """PostgreSQL of its own, the cluster's certificates, one controller."""

    def __init__(self, build, work):
        self.build, self.work = build, work
        self.port = free_port()
        self.url = "https://127.0.0.1:%d" % self.port
        self.pg = os.path.join(work, "pg")
        self.pki = os.path.join(work, "pki")
        self.proc = None

    def hwpass(self, *args, env=None):
        p = subprocess.run([os.path.join(self.build, "hwpass")] + list(args), capture_output=True, text=True,
                           env=dict(os.environ, **(env or {})))
        return p.returncode, p.stdout + p.stderr

    def cl(self, *args):
        """The operator's CLI, through the controller."""
        return self.hwpass(*args, env={"HWPASS_CONTROLLER": self.url, "HWPASS_TOKEN": self.token,
                                       "HWPASS_CA": os.path.join(self.pki, "ca.crt")})

    def cl_json(self, *args):
        rc, out = self.cl("--json", *args)
        return json.loads(out) if rc == 0 else None

    def __enter__(self):
        self.db = subprocess.run(["sh", PG_LIB, "start", self.pg], check=True, capture_output=True,
                                 text=True).stdout.strip()
        rc, out = self.hwpass("cluster", "init", self.pki, "ctl1", "--address", cluster.GUEST_ADDR,
                              "--address", "127.0.0.1")
        if rc != 0:
            raise cluster.LabError("cluster init: " + out)
        self.log = open(os.path.join(self.work, "controller.log"), "w")
        run = os.path.join(self.work, "run")
        self.proc = subprocess.Popen(
            [os.path.join(self.build, "hwpassd"), "--role", "controller", "--db", self.db,
             "--run-dir", run, "--state-dir", os.path.join(self.work, "state"),
             "--listen", "unix:%s/sock" % run, "--listen", "tcp:127.0.0.1:%d" % self.port,
             "--tls-cert", os.path.join(self.pki, "ctl1.crt"), "--tls-key", os.path.join(self.pki, "ctl1.key"),
             "--advertise", "https://%s:%d" % (cluster.GUEST_ADDR, self.port),
             "--heartbeat-ms", str(HEARTBEAT_MS), "--lease-ms", str(LEASE_MS)],
            stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            if os.path.exists(os.path.join(run, "sock")):
                break
            time.sleep(0.1)
        rc, self.token = self.hwpass("--db", self.db, "token", "create", "ops")
        self.token = self.token.strip()
        return self

    def __exit__(self, *exc):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
        self.log.close()
        subprocess.run(["sh", PG_LIB, "remove", self.pg], capture_output=True)
        return False

    def host(self, name):
        doc = self.cl_json("host", "list") or {"hosts": []}
        return next((h for h in doc["hosts"] if h["name"] == name), None)

    def wait_state(self, name, state, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            h = self.host(name)
            if h and h["state"] == state:
                return True
            time.sleep(0.5)
        return False

    def devices(self, host, device_id):
        doc = self.cl_json("device", "list", "--host", host) or {"devices": []}
        return [d for d in doc["devices"] if d["device_id"] == device_id]


def until(timeout, fn):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(0.5)
    return False


def run(build):
    work = tempfile.mkdtemp(prefix="hwpass-controller-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    os.chmod(work, 0o755)  # the server runs as postgres, below it
    try:
        return scenario(build, work)
    finally:
        subprocess.run(["rm", "-rf", work])


def scenario(build, work):
    with Controller(build, work) as ctl:
        with cluster.Lab(build, {"a": "nvme", "b": "switch", "c": "plain"}, forwards=[ctl.port]) as lab:
            ca = base64.b64encode(open(os.path.join(ctl.pki, "ca.crt"), "rb").read()).decode()
            for h in ("a", "b", "c"):
                rc, token = ctl.cl("cluster", "token", "create", "--ttl", "10m")
                token = token.splitlines()[0] if rc == 0 else "none"
                lab.check("%s: an agent starts with a join token" % h, h,
                          "mkdir -p /etc/hwpass && echo %s | base64 -d >/etc/hwpass/ca.crt && "
                          "(hwpassd --role agent --name %s --controller https://%s:%d --ca /etc/hwpass/ca.crt "
                          "--join-token %s --db /tmp/hwpass.db --state-dir /tmp/state --run-dir /run/hwpass "
                          ">/tmp/agent.log 2>&1 </dev/null &) && sleep 1 && cat /tmp/agent.log"
                          % (ca, h, cluster.GUEST_ADDR, ctl.port, token))
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
