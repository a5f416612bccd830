#!/usr/bin/env python3
"""vmscope's QMP socket against the protocol (QEMU's qmp-spec): greeting, negotiation, every
command, events, ids, and bad input (malformed JSON, unknown commands, oversized messages,
a client that never reads). Exit 77 with a reason when the host cannot run a guest."""
import json, os, socket, subprocess, sys, tempfile, time

B = os.environ.get("B", "build")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
os.chdir(ROOT)
VMSCOPE = os.path.join(B, "vmscope")
GUEST = os.path.join(B, "tests/guests/pio.elf")
n = 0
failed = 0


def tap(ok, name, why=""):
    global n, failed
    n += 1
    print(("ok %d - %s" if ok else "not ok %d - %s") % (n, name))
    if not ok:
        failed += 1
        print("# " + str(why)[:600])


def skip_all(why):
    print("SKIP: " + why)
    sys.exit(77)


class Client:
    def __init__(self, path):
        for _ in range(500):
            self.s = socket.socket(socket.AF_UNIX)
            self.s.settimeout(10)
            try:
                self.s.connect(path)
                break
            except BlockingIOError:  # backlog full while the server is busy: retry
                self.s.close()
                time.sleep(0.01)
        self.buf = b""
        self.events = []

    def send_raw(self, data):
        self.s.sendall(data)

    def msg(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def reply(self):
        while True:
            m = self.msg()
            if "event" in m:
                self.events.append(m)
                continue
            return m

    def cmd(self, execute, args=None, **kw):
        req = {"execute": execute}
        if args is not None:
            req["arguments"] = args
        req.update(kw)
        self.send_raw(json.dumps(req).encode() + b"\n")
        return self.reply()

    def wait_event(self, name):
        for e in self.events:
            if e["event"] == name:
                return e
        while True:
            m = self.msg()
            if m.get("event") == name:
                return m


def err_class(r):
    return r.get("error", {}).get("class")


def stat(reply, provider, name):
    for entry in reply["return"]:
        if entry["provider"] == provider:
            for s in entry["stats"]:
                if s["name"] == name:
                    return s["value"]
    return None


def main():
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip_all("/dev/kvm not usable")
    if not os.path.exists(VMSCOPE) or not os.path.exists(GUEST):
        skip_all("vmscope or the pio guest not built")
    tmp = tempfile.mkdtemp(prefix="qmp-conf.")
    path = os.path.join(tmp, "q.sock")
    vm = subprocess.Popen([VMSCOPE, "--accel", "kvm", "--kernel", GUEST, "--append", "iters=2000000000",
                           "--serial", "none", "--qmp", "unix:" + path], stderr=subprocess.PIPE)
    try:
        for _ in range(500):  # until the server listens (the file appears at bind)
            try:
                probe = socket.socket(socket.AF_UNIX)
                probe.connect(path)
                probe.close()
                break
            except OSError:
                time.sleep(0.01)
        run(path, vm)
    finally:
        if vm.poll() is None:
            vm.kill()
        vm.wait()
    print("1..%d" % n)
    sys.exit(1 if failed else 0)


def run(path, vm):
    st = os.stat(path)
    tap(oct(st.st_mode & 0o777) == "0o600", "socket mode 0600", oct(st.st_mode))
    c = Client(path)
    g = c.msg()
    tap("QMP" in g and "version" in g["QMP"] and "qemu" in g["QMP"]["version"], "greeting", g)

    r = c.cmd("query-status")
    tap(err_class(r) == "CommandNotFound" and "capabilities" in r["error"]["desc"], "commands need negotiation", r)
    r = c.cmd("qmp_capabilities", {"enable": ["oob"]})
    tap(err_class(r) == "GenericError", "unavailable capability refused", r)
    r = c.cmd("qmp_capabilities")
    tap(r == {"return": {}}, "qmp_capabilities", r)
    r = c.cmd("qmp_capabilities")
    tap(err_class(r) == "CommandNotFound", "negotiation only once", r)

    r = c.cmd("query-status", id="abc")
    tap(r.get("return", {}).get("status") == "running" and r.get("id") == "abc", "query-status running, id echoed", r)
    r = c.cmd("query-status", id=42)
    tap(r.get("id") == 42, "numeric id echoed", r)

    r = c.cmd("stop")
    tap(r == {"return": {}}, "stop", r)
    tap(c.wait_event("STOP")["event"] == "STOP", "STOP event")
    r = c.cmd("query-status")
    tap(r["return"]["status"] == "paused" and r["return"]["running"] is False, "query-status paused", r)
    a = stat(c.cmd("query-stats", {"target": "vm"}), "vmscope", "pio_unassigned_writes")
    b = stat(c.cmd("query-stats", {"target": "vm"}), "vmscope", "pio_unassigned_writes")
    tap(a is not None and a == b, "paused guest does not count", (a, b))
    r = c.cmd("cont")
    tap(r == {"return": {}}, "cont", r)
    tap(c.wait_event("RESUME")["event"] == "RESUME", "RESUME event")

    r = c.cmd("query-stats", {"target": "vm"})
    provs = [e["provider"] for e in r.get("return", [])]
    tap("kvm" in provs and "vmscope" in provs, "query-stats vm: kvm and vmscope providers", provs)
    tap(isinstance(stat(r, "vmscope", "exits"), int), "vmscope exits counter", r)
    r = c.cmd("query-stats", {"target": "vcpu"})
    ent = r.get("return", [{}])[0]
    tap(ent.get("qom-path") == "/machine/unattached/device[0]" and stat(r, "kvm", "exits") is not None,
        "query-stats vcpu: qom-path and exits", ent.get("qom-path"))
    r = c.cmd("query-stats", {"target": "vm", "providers": [{"provider": "vmscope"}]})
    tap([e["provider"] for e in r["return"]] == ["vmscope"], "query-stats provider filter", r)
    r = c.cmd("query-stats")
    tap(err_class(r) == "GenericError" and "target" in r["error"]["desc"], "query-stats without target", r)
    r = c.cmd("query-stats", {"target": "disk"})
    tap(err_class(r) == "GenericError", "query-stats bad target", r)
    r = c.cmd("query-stats-schemas")
    kinds = {(e["provider"], e["target"]) for e in r["return"]}
    tap({("kvm", "vm"), ("kvm", "vcpu"), ("vmscope", "vm")} <= kinds, "query-stats-schemas", kinds)
    d = [s for e in r["return"] if e["provider"] == "kvm" for s in e["stats"] if s["name"].endswith("_hist")]
    tap(not d or d[0]["type"] in ("linear-histogram", "log2-histogram"), "histogram schema type", d[:1])

    r = c.cmd("system_reset")
    tap(r == {"return": {}} or err_class(r) == "GenericError", "system_reset answers", r)

    r = c.cmd("no-such-command")
    tap(err_class(r) == "CommandNotFound", "unknown command", r)
    r = c.cmd("query-status", {"bogus": 1})
    tap(err_class(r) == "GenericError" and "bogus" in r["error"]["desc"], "unexpected argument", r)
    c.send_raw(b'{"arguments": {}}\n')
    r = c.reply()
    tap(err_class(r) == "GenericError" and "execute" in r["error"]["desc"], "missing execute", r)
    c.send_raw(b'{"execute": "query-status", "arguments": 5}\n')
    r = c.reply()
    tap(err_class(r) == "GenericError", "arguments not an object", r)
    c.send_raw(b'{"execute": "query-status",,}\n')
    r = c.reply()
    tap(err_class(r) == "GenericError" and "JSON" in r["error"]["desc"], "malformed JSON", r)
    c.send_raw(b'hello\n')
    r = c.reply()
    tap(err_class(r) == "GenericError", "garbage line", r)
    c.send_raw(b'[1, 2]\n')
    r = c.reply()
    tap(err_class(r) == "GenericError" and "object" in r["error"]["desc"], "not an object", r)
    c.send_raw(b'{"execute": "query-status", "id": "' + b"x" * 100000 + b'"}\n')
    r = c.reply()
    tap(err_class(r) == "GenericError" and "too large" in r["error"]["desc"], "oversized message", r)
    r = c.cmd("query-status", id="after")
    tap(r.get("id") == "after", "connection usable after bad input", r)
    c.send_raw(b'{"execute": "query-status", "id": 1}{"execute": "query-status", "id": 2}\n')
    tap(c.reply().get("id") == 1 and c.reply().get("id") == 2, "two messages in one write")
    c.send_raw(b'{"execute": "query-')
    time.sleep(0.05)
    c.send_raw(b'status", "id": "split"}\n')
    tap(c.reply().get("id") == "split", "one message in two writes")

    # a client that never reads: the guest keeps running and others are served
    slow = Client(path)
    slow.msg()
    slow.cmd("qmp_capabilities")
    slow.s.setblocking(False)
    req = (json.dumps({"execute": "query-stats", "arguments": {"target": "vcpu"}}) + "\n").encode()
    sent = 0
    try:
        for _ in range(20000):
            sent += slow.s.send(req)
    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
        pass
    before = stat(c.cmd("query-stats", {"target": "vm"}), "vmscope", "pio_unassigned_writes")
    after = before
    for _ in range(200):
        after = stat(c.cmd("query-stats", {"target": "vm"}), "vmscope", "pio_unassigned_writes")
        if after > before:
            break
        time.sleep(0.01)
    tap(after > before, "slow client does not stall the guest (%d requests queued)" % (sent // len(req)), (before, after))
    slow.s.close()

    clients = [Client(path) for _ in range(8)]
    extra = clients[-1].msg()
    tap("error" in extra or "QMP" in extra, "client limit answered", extra)
    for x in clients:
        x.s.close()

    r = c.cmd("quit")
    tap(r == {"return": {}}, "quit", r)
    tap(c.wait_event("SHUTDOWN")["event"] == "SHUTDOWN", "SHUTDOWN event")
    vm.wait(timeout=20)
    tap(vm.returncode == 0, "vmscope exits 0 after quit", vm.returncode)
    tap(not os.path.exists(path), "socket removed on exit")


if __name__ == "__main__":
    main()
