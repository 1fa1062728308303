"""A cluster's controllers on the test machine for the multi-host lab: a
PostgreSQL of its own (tests/pg-lib.sh: Debian's server, initdb in a
directory of its own, no system service touched), the cluster's
certificates, one controller (or more, over the same database) serving TLS
on a loopback port each that every L1 reaches at cluster.GUEST_ADDR, an API
token, and the operator's CLI through them. start_agent() starts hwpassd
--role agent in an L1 host, told of every controller."""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import cluster

HERE = os.path.dirname(os.path.abspath(__file__))
PG_LIB = os.path.join(HERE, "..", "pg-lib.sh")
HEARTBEAT_MS, LEASE_MS = 1000, 4000
# A VM's dynamic entry for one of the lab's NVMe (QEMU's, 1b36:0010) labelled 'fast'.
FAST_NVME = [{"index": 0, "kind": "dynamic", "allowed": ["1b36:0010"], "count": 1, "label": "fast"}]
TIMING = ["--heartbeat-ms", str(HEARTBEAT_MS), "--lease-ms", str(LEASE_MS)]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Controller:
    """PostgreSQL of its own, the cluster's certificates, and count
    controllers over that database: ctl1, ctl2, ..."""

    def __init__(self, build, timing=TIMING, count=1):
        self.build = build
        self.timing = list(timing)  # the controllers' HA options
        # The server runs as postgres, below this directory.
        self.work = tempfile.mkdtemp(prefix="hwpass-controller-",
                                     dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        os.chmod(self.work, 0o755)
        self.names = ["ctl%d" % (i + 1) for i in range(count)]
        self.ports = {n: free_port() for n in self.names}
        self.port = self.ports["ctl1"]
        # The operator's CLI tries them in turn.
        self.url = ",".join("https://127.0.0.1:%d" % self.ports[n] for n in self.names)
        self.pg = os.path.join(self.work, "pg")
        self.pki = os.path.join(self.work, "pki")
        self.procs = {}

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
        for n in self.names:
            rc, out = self.hwpass("cluster", "init" if n == "ctl1" else "cert", self.pki, n,
                                  "--address", cluster.GUEST_ADDR, "--address", "127.0.0.1")
            if rc != 0:
                raise cluster.LabError("cluster %s: %s" % ("init" if n == "ctl1" else "cert", out))
        self.log = open(os.path.join(self.work, "controller.log"), "w")
        self.start()
        rc, self.token = self.hwpass("--db", self.db, "token", "create", "ops")
        self.token = self.token.strip()
        return self

    def start(self, names=None):
        for n in names or self.names:
            run = os.path.join(self.work, "run", n)
            os.makedirs(run, mode=0o700, exist_ok=True)
            if os.path.exists(os.path.join(run, "sock")):
                os.unlink(os.path.join(run, "sock"))
            self.procs[n] = subprocess.Popen(
                [os.path.join(self.build, "hwpassd"), "--role", "controller", "--db", self.db,
                 "--run-dir", run, "--state-dir", os.path.join(self.work, "state", n),
                 "--listen", "unix:%s/sock" % run, "--listen", "tcp:127.0.0.1:%d" % self.ports[n],
                 "--tls-cert", os.path.join(self.pki, n + ".crt"), "--tls-key", os.path.join(self.pki, n + ".key"),
                 "--advertise", "https://%s:%d" % (cluster.GUEST_ADDR, self.ports[n])] + self.timing,
                stdout=self.log, stderr=subprocess.STDOUT)
            for _ in range(100):
                if os.path.exists(os.path.join(run, "sock")):
                    break
                time.sleep(0.1)

    def stop(self):
        procs = [self.procs.pop(n) for n in list(self.procs)]
        for p in procs:  # all told first: they stop side by side
            p.terminate()
        for p in procs:
            p.wait()

    def kill(self, name):
        """One controller killed (SIGKILL): no goodbye, its leases run out."""
        p = self.procs.pop(name)
        p.kill()
        p.wait()

    def agent_urls(self):
        """The controllers as an L1 reaches them."""
        return ",".join("https://%s:%d" % (cluster.GUEST_ADDR, self.ports[n]) for n in self.names)

    def outage(self, seconds):
        """The controller and its PostgreSQL stopped for seconds, then
        started again (the same database, port and certificates)."""
        self.stop()
        subprocess.run(["sh", PG_LIB, "stop", self.pg], check=True, capture_output=True)
        time.sleep(seconds)
        subprocess.run(["sh", PG_LIB, "start", self.pg], check=True, capture_output=True)
        self.restart(self.timing)

    def restart(self, timing):
        """The controller again, with other HA options (the same database,
        port and certificates: agents come back to it)."""
        self.stop()
        self.timing = list(timing)
        self.start()

    def __exit__(self, *exc):
        self.stop()
        self.log.close()
        subprocess.run(["sh", PG_LIB, "remove", self.pg], capture_output=True)
        shutil.rmtree(self.work, ignore_errors=True)
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

    def define(self, doc, *args):
        """vm define of the VM doc (a dict), with args (--host NAME)."""
        path = os.path.join(self.work, doc["name"] + ".json")
        with open(path, "w") as f:
            json.dump(doc, f)
        return self.cl("vm", "define", path, *args)

    def vm(self, name):
        """vm show NAME as JSON ({} when it fails)."""
        return self.cl_json("vm", "show", name) or {}

    def events(self):
        return (self.cl_json("events", "--limit", "1000") or {}).get("events", [])

    def fast_nvme(self, hosts):
        """Every NVMe of hosts, labelled 'fast' and set for passthrough
        through the controller: {host: [address...]}."""
        nvme = {h: [d["address"] for d in self.devices(h, "0010")] for h in hosts}
        for h in hosts:
            for addr in nvme[h]:
                self.cl("device", "label", addr, "fast", "--host", h)
                self.cl("device", "passthrough", "enable", addr, "--host", h)
        return nvme

    def free_fast(self, host):
        """The 'fast' NVMe the controller counts free on host."""
        doc = self.host(host) or {"pools": []}
        return sum(p["free"] for p in doc["pools"] if p["device_id"] == "0010" and p.get("label") == "fast")

    def devices(self, host, device_id):
        doc = self.cl_json("device", "list", "--host", host) or {"devices": []}
        return [d for d in doc["devices"] if d["device_id"] == device_id]



def start_agent(ctl, host, options=""):
    """hwpassd --role agent in host, with a join token of its own (a host that
    joined keeps its credential: started again, it does not use it), and
    options: (rc, its log so far). L1's VMs run under TCG (its KVM runs on
    emulated SVM)."""
    ca = base64.b64encode(open(os.path.join(ctl.pki, "ca.crt"), "rb").read()).decode()
    rc, token = ctl.cl("cluster", "token", "create", "--ttl", "10m")
    if rc != 0:
        return rc, token
    return host.exec("mkdir -p /etc/hwpass && echo %s | base64 -d >/etc/hwpass/ca.crt && "
                     "(HWPASS_QEMU_ACCEL=tcg hwpassd --role agent --name %s --controller %s --ca /etc/hwpass/ca.crt "
                     "--join-token %s --db /tmp/hwpass.db --state-dir /tmp/state --run-dir /run/hwpass %s "
                     ">>/tmp/agent.log 2>&1 </dev/null &) && sleep 1 && cat /tmp/agent.log"
                     % (ca, host.name, ctl.agent_urls(), token.splitlines()[0], options))
