"""Three lab hosts at once, as the cluster's tests need them: each with its own
devices, each reaching only the test machine's forwarded port (where the
controller will listen), a link that can be cut and restored, and a host that
can die."""
import http.server
import socket
import threading

import cluster


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from the test machine\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(build):
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    get = "curl -sS -m 5 http://%s:%d/" % (cluster.GUEST_ADDR, port)
    nvme_count = "hwpass --json device list | grep -c '\"device_id\": \"0010\"' || true"
    try:
        with cluster.Lab(build, {"a": "nvme", "b": "switch", "c": "plain"}, forwards=[port]) as lab:
            for h in ("a", "b", "c"):
                lab.check("%s: named as the lab named it" % h, h, "hostname", pattern="^%s$" % h)
            lab.check("a: one NVMe", "a", nvme_count, pattern="^1$")
            lab.check("b: two NVMe", "b", nvme_count, pattern="^2$")
            lab.check("c: none", "c", nvme_count, pattern="^0$")
            lab.check("b: its NVMe sit behind one switch (two downstream ports)", "b",
                      "lspci -n | grep -c ' 104c:8233'", pattern="^2$")
            lab.check("a: its NVMe's serial names the host", "a",
                      "cat /sys/class/nvme/nvme*/serial", pattern="^a-nvme1")
            for h in ("a", "b", "c"):
                lab.check("%s reaches the test machine's forwarded port" % h, h, get,
                          pattern="^hello from the test machine$")
            lab.check("a cannot reach anything else (the user network's gateway)", "a",
                      "! curl -sS -m 3 http://10.0.2.2:%d/" % port)
            lab["a"].set_link(False)
            lab.check("with a's link cut, a cannot reach the test machine", "a", "! " + get)
            lab.check("b still can", "b", get, pattern="^hello")
            lab["a"].set_link(True)
            lab.check("with a's link back, a can again", "a", "sleep 1; " + get, pattern="^hello")
            lab["c"].kill()
            try:
                lab["c"].exec("true", timeout=5)
                dead = False
            except cluster.LabError:
                dead = True
            lab.ok("c, killed, answers no more", dead)
            lab.check("a and b live on", "a", "true")
            return lab
    finally:
        server.shutdown()
