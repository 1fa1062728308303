"""The multi-host lab: several L1 hosts booted at once, each with emulated
devices of its own, driven from the test machine (DESIGN.md §7, issue 14).

Each L1 boots the lab image (tests/lab/mkimage) with hwpass.lab_cluster=NAME
on its command line. Its /init then brings up eth0 on QEMU's restricted user
network and serves commands on its second serial port instead of running a
scenario: the test machine sends "EXEC ID BASE64", L1 runs it with sh and
answers "RESULT ID RC BASE64". L1 reaches exactly the test machine's loopback
ports that are forwarded to it (guestfwd) at 10.0.2.100, nothing else. Its own
QEMU's QMP socket cuts and restores its link (set_link), and its QEMU can be
killed, as a host dies.

A scenario is a Python file with run(lab), started by tests/lab/cluster-run;
lab.check() and lab.ok() print TAP.
"""
import base64
import calendar
import json
import re
import os
import shutil
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GUEST_ADDR = "10.0.2.100"  # where L1 finds the test machine's forwarded ports
NET0_MAC = "52:54:00:12:34:01"  # L1's /init finds its network by this address
# The TAP cases of every scenario of one run, numbered on.
TAP = {"n": 0, "failed": 0}

# The devices of each kind of lab host, besides what every host has (a VGA
# card, the e1000e on the user network, a root port per device). Serials name
# the host, so a test can tell which host's device a guest saw.
PROFILES = {
    # one NVMe
    "nvme": lambda name: [
        "-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
        "-drive", "file=@WORK@/nvme1.img,if=none,id=nvm1,format=raw",
        "-device", "nvme,bus=rp1,serial=%s-nvme1,drive=nvm1" % name,
    ],
    # two NVMe behind one PCIe switch (an upstream port, two downstream ports)
    "switch": lambda name: [
        "-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
        "-device", "x3130-upstream,id=up1,bus=rp1",
        "-device", "xio3130-downstream,id=dn1,bus=up1,chassis=11,slot=1",
        "-device", "xio3130-downstream,id=dn2,bus=up1,chassis=12,slot=2",
        "-drive", "file=@WORK@/nvme1.img,if=none,id=nvm1,format=raw",
        "-device", "nvme,bus=dn1,serial=%s-nvme1,drive=nvm1" % name,
        "-drive", "file=@WORK@/nvme2.img,if=none,id=nvm2,format=raw",
        "-device", "nvme,bus=dn2,serial=%s-nvme2,drive=nvm2" % name,
    ],
    # the switch's two NVMe, and an e1000e of its own on a second root port
    "switch-nic": lambda name: PROFILES["switch"](name) + [
        "-device", "pcie-root-port,id=rp2,chassis=2,slot=2",
        "-device", "e1000e,bus=rp2,netdev=net1,romfile=",
        "-netdev", "user,id=net1,restrict=on",
    ],
    # no passthrough device but a NIC
    "plain": lambda name: [
        "-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
        "-device", "e1000e,bus=rp1,netdev=net1,romfile=",
        "-netdev", "user,id=net1,restrict=on",
    ],
}


class LabError(Exception):
    pass


def until(timeout, fn, step=0.25):
    """Whether fn() came true within timeout seconds, asked every step."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(step)
    return False


class Host:
    def __init__(self, lab, name, profile):
        self.lab, self.name, self.profile = lab, name, profile
        self.work = os.path.join(lab.work, name)
        os.makedirs(self.work)
        self.qemu = None
        self.cmd = None  # the socket to L1's command port
        self.buf = b""
        self.seq = 0

    def argv(self, images, initrd):
        net = "user,id=net0,restrict=on"
        # cmd: a connection of its own for each of L1's (a chardev target
        # would be one stream for them all, closed with the first answer).
        for port in self.lab.forwards:
            net += ",guestfwd=tcp:%s:%d-cmd:busybox nc 127.0.0.1 %d" % (GUEST_ADDR, port, port)
        devices = [a.replace("@WORK@", self.work) for a in PROFILES[self.profile](self.name)]
        append = ("console=ttyS0,115200 panic=-1 quiet loglevel=3 no_timer_check intel_iommu=on iommu=pt "
                  "hwpass.lab_cluster=%s" % self.name)
        return ["qemu-system-x86_64",
                "-machine", "q35,kernel-irqchip=split", "-accel", "tcg", "-cpu", "max",
                "-m", "2048", "-smp", "2", "-device", "intel-iommu,intremap=on",
                "-nodefaults", "-no-reboot", "-nographic", "-device", "VGA",
                "-kernel", os.path.join(images, "vmlinuz"), "-initrd", initrd, "-append", append,
                "-chardev", "file,id=con,path=%s" % os.path.join(self.work, "console.log"),
                "-serial", "chardev:con",
                "-chardev", "socket,id=cmd,path=%s,server=on,wait=off" % os.path.join(self.work, "cmd.sock"),
                "-serial", "chardev:cmd",
                "-qmp", "unix:%s,server=on,wait=off" % os.path.join(self.work, "qmp.sock"),
                "-netdev", net, "-device", "e1000e,netdev=net0,romfile=,mac=" + NET0_MAC,
                ] + devices

    def start(self, images, initrd):
        for d in ("nvme1", "nvme2"):
            with open(os.path.join(self.work, d + ".img"), "wb") as f:
                f.truncate(64 << 20)
        log = open(os.path.join(self.work, "qemu.log"), "wb")
        self.qemu = subprocess.Popen(self.argv(images, initrd), stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log, start_new_session=True)
        log.close()

    def console(self):
        try:
            with open(os.path.join(self.work, "console.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_ready(self, deadline):
        """Until L1's command port answers."""
        while time.monotonic() < deadline:
            if self.qemu.poll() is not None:
                raise LabError("%s: QEMU exited (%d) while booting" % (self.name, self.qemu.returncode))
            if "LAB: cluster host ready" in self.console():
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(os.path.join(self.work, "cmd.sock"))
                    self.cmd = s
                    return
                except OSError:
                    s.close()
            time.sleep(0.2)
        raise LabError("%s: not ready in time; console ends with: %s" % (self.name, self.console()[-500:]))

    def exec(self, command, timeout=120):
        """Runs command with sh inside L1: (exit status, stdout+stderr)."""
        if self.cmd is None:
            raise LabError("%s: not running" % self.name)
        self.seq += 1
        payload = base64.b64encode(command.encode()).decode()
        self.cmd.sendall(("EXEC %d %s\n" % (self.seq, payload)).encode())
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LabError("%s: no answer to %r in %d s" % (self.name, command, timeout))
                self.cmd.settimeout(left)
                try:
                    data = self.cmd.recv(65536)
                except TimeoutError:
                    # A late answer is told from the next one by its number (seq).
                    raise LabError("%s: no answer to %r in %d s" % (self.name, command, timeout))
                if not data:
                    raise LabError("%s: the command port closed (host gone?)" % self.name)
                self.buf += data
            line, self.buf = self.buf.split(b"\n", 1)
            parts = line.decode("ascii", "replace").strip().split(" ")
            if len(parts) >= 3 and parts[0] == "RESULT" and parts[1] == str(self.seq):
                out = base64.b64decode(parts[3]) if len(parts) > 3 else b""
                return int(parts[2]), out.decode("utf-8", "replace")
            # anything else: noise on the line, or an older answer

    def qmp(self, command, **arguments):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(os.path.join(self.work, "qmp.sock"))
        f = s.makefile("rw")
        json.loads(f.readline())  # greeting
        for cmd in ({"execute": "qmp_capabilities"}, {"execute": command, "arguments": arguments}):
            f.write(json.dumps(cmd) + "\n")
            f.flush()
            while True:
                m = json.loads(f.readline())
                if "return" in m or "error" in m:
                    break
        s.close()
        if "error" in m:
            raise LabError("%s: QMP %s: %s" % (self.name, command, m["error"]))
        return m["return"]

    def qemus(self):
        """The VMs whose QEMU runs here, by their -name, sorted; None when
        the host does not answer."""
        try:
            rc, out = self.exec("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n' | "
                                "grep -A1 -x -- -name | grep debug-threads | cut -d, -f1", timeout=20)
        except LabError:
            return None
        return sorted(out.split())

    def probed(self, vm):
        """vm's probe guest here read one of this host's NVMe by DMA and ended."""
        try:
            rc, out = self.exec("cat /run/hwpass/vms/%s/serial.log 2>/dev/null" % vm, timeout=20)
        except LabError:
            return False
        return 'identify=ok vid=1b36 sn="%s-nvme' % self.name in out and "PROBE done" in out

    def run_times(self, vm):
        """When vm's QEMU here started and when its serial log was last written
        (the probe guest's 'PROBE done'), on this machine's monotonic clock:
        (start, last) or None. Taken from L1's own clocks (the process's start
        in /proc, the file's mtime) after the fact, so no polling of L1, which
        would itself slow the guest's boot, and no poll interval in the figure.
        L1's clock is mapped to ours by the quickest of three round trips
        (error at most half of it, returned third)."""
        best = None
        for _ in range(3):
            t0 = time.monotonic()
            try:
                rc, out = self.exec("cat /proc/uptime", timeout=20)
            except LabError:
                return None
            t1 = time.monotonic()
            if rc == 0 and (best is None or t1 - t0 < best[0]):
                best = (t1 - t0, (t0 + t1) / 2 - float(out.split()[0]))
        d = "/run/hwpass/vms/%s" % vm
        try:
            rc, out = self.exec("set -e; pid=$(cat %s/qemu.pid); cut -d' ' -f22 /proc/$pid/stat; "
                                "cat /proc/uptime; touch /tmp/.now; stat -c %%y /tmp/.now %s/serial.log" % (d, d),
                                timeout=20)
        except LabError:
            return None
        lines = out.split("\n")
        if rc != 0 or best is None or len(lines) < 4:
            return None

        def wall(text):  # "2026-12-08 02:50:10.123456789 +0000": seconds, UTC
            day, clock = text.split()[:2]
            whole, _, frac = clock.partition(".")
            t = time.strptime(day + " " + whole, "%Y-%m-%d %H:%M:%S")
            return calendar.timegm(t) + float("0." + (frac or "0"))

        try:
            started = int(lines[0]) / 100  # clock ticks since boot: USER_HZ is 100 on x86
            up_now = float(lines[1].split()[0])
            last = up_now + wall(lines[3]) - wall(lines[2])
        except ValueError:
            return None
        return started + best[1], last + best[1], best[0] / 2

    def set_link(self, up):
        """Cuts (or restores) the host's network, as a pulled cable does."""
        self.qmp("set_link", name="net0", up=up)

    def kill(self):
        """The host dies: its QEMU is killed at once."""
        if self.qemu and self.qemu.poll() is None:
            self.qemu.kill()
            self.qemu.wait()
        if self.cmd:
            self.cmd.close()
            self.cmd = None

    def stop(self):
        self.kill()


class Lab:
    """hosts: {name: profile}; forwards: test-machine loopback ports each L1
    reaches at GUEST_ADDR:PORT."""

    def __init__(self, build, hosts, forwards=(), boot_timeout=300):
        self.build = os.path.abspath(build)
        self.forwards = list(forwards)
        self.boot_timeout = boot_timeout
        self.work = tempfile.mkdtemp(prefix="hwpass-cluster-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.hosts = {name: Host(self, name, profile) for name, profile in hosts.items()}
        self.n = 0  # this scenario's cases

    def __enter__(self):
        images = os.path.join(self.build, "lab")
        subprocess.run([os.path.join(HERE, "mkimage"), images, self.build], check=True,
                       stdout=subprocess.DEVNULL)
        initrd = os.path.join(self.work, "initrd")
        with open(initrd, "wb") as out:
            for part in ("base.cpio.gz", "hwpass.cpio.gz"):
                with open(os.path.join(images, part), "rb") as f:
                    shutil.copyfileobj(f, out)
        start = time.monotonic()
        try:
            for h in self.hosts.values():
                h.start(images, initrd)
            deadline = start + self.boot_timeout
            for h in self.hosts.values():
                h.wait_ready(deadline)
        except BaseException:
            # __exit__ is not called when __enter__ fails (or a SIGTERM ends it): no host outlives it.
            for h in self.hosts.values():
                h.stop()
            raise
        print("# %d lab hosts ready in %.1f s" % (len(self.hosts), time.monotonic() - start), flush=True)
        return self

    def __exit__(self, *exc):
        for h in self.hosts.values():
            h.stop()
        logs = os.path.join(self.build, "lab", "logs", "cluster")
        os.makedirs(logs, exist_ok=True)
        for h in self.hosts.values():
            shutil.copy(os.path.join(h.work, "console.log"), os.path.join(logs, h.name + ".console"))
        shutil.rmtree(self.work, ignore_errors=True)
        return False

    def __getitem__(self, name):
        return self.hosts[name]

    def ok(self, name, passed, detail=""):
        self.n += 1
        TAP["n"] += 1
        if passed:
            print("ok %d - %s" % (TAP["n"], name), flush=True)
        else:
            TAP["failed"] += 1
            print("not ok %d - %s%s" % (TAP["n"], name, " # " + detail.strip().splitlines()[-1] if detail.strip() else ""),
                  flush=True)
            for line in detail.strip().splitlines()[-15:]:
                print("#   " + line)

    def check(self, name, host, command, want_rc=0, pattern=None, timeout=120):
        """A TAP case: command inside host exits want_rc (and prints pattern)."""
        try:
            rc, out = self[host].exec(command, timeout)
        except LabError as e:
            self.ok(name, False, str(e))
            return None
        good = rc == want_rc and (pattern is None or re.search(pattern, out, re.M) is not None)
        self.ok(name, good, "exit %d, expected %d%s\n%s" % (
            rc, want_rc, "" if pattern is None else ", looking for '%s'" % pattern, out))
        return out
