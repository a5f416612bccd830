#!/usr/bin/env python3
"""Run-time trace control over vmscope's QMP socket, with QEMU's command and field names:
trace-event-get-state / trace-event-set-state turn events on and off in a running guest, the
records appear in the file between the two, unknown names are errors as in QEMU, and a vmscope
started with no --trace option starts tracing (and its file) on the first enable."""
import json, os, socket, subprocess, sys, tempfile, time

B = os.environ.get("B", "build")
VMSCOPE, VMTRACE = os.path.join(B, "vmscope"), os.path.join(B, "vmtrace")
GUEST = os.path.abspath(os.path.join(B, "tests/guests/pio.elf"))
n = failed = 0


def tap(ok, name, why=""):
    global n, failed
    n += 1
    print(("ok %d - %s" if ok else "not ok %d - %s") % (n, name))
    if not ok:
        failed += 1
        print("# " + str(why)[:600])


class Qmp:
    def __init__(self, path, proc):
        while True:  # the socket appears once vmscope attached its modules
            if proc.poll() is not None:
                raise RuntimeError("vmscope exited with %s before its QMP socket appeared" % proc.returncode)
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.s.close()
                time.sleep(0.01)
        self.s.settimeout(30)
        self.f = self.s.makefile("rb")
        json.loads(self.f.readline())  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, command, **args):
        req = {"execute": command}
        if args:
            req["arguments"] = args
        self.s.sendall(json.dumps(req).encode() + b"\n")
        while True:
            m = json.loads(self.f.readline())
            if "event" not in m:
                return m


def unassigned_writes(q):
    r = q.cmd("query-stats", target="vm", providers=[{"provider": "vmscope"}])
    return {e["name"]: e["value"] for e in r["return"][0]["stats"]}["pio_unassigned_writes"]


def records(path, event):
    out = subprocess.run([VMTRACE, "print", "--event", event, path], capture_output=True, text=True)
    return out.stdout.count("\n")


def start(tmp, *extra):
    sock = os.path.join(tmp, "q.sock")
    p = subprocess.Popen([os.path.abspath(VMSCOPE), "--kernel", GUEST, "--append", "iters=1000000000 port=0x80",
                          "--serial", "none", "--qmp", "unix:" + sock] + list(extra), cwd=tmp,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return p, Qmp(sock, p)


def main():
    for f in (VMSCOPE, VMTRACE, GUEST):
        if not os.path.exists(f):
            print("SKIP: %s not built" % f)
            sys.exit(77)
    if not (os.access("/dev/kvm", os.R_OK | os.W_OK)):
        print("SKIP: /dev/kvm not usable")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        vmt = os.path.join(tmp, "rt.vmt")
        p, q = start(tmp, "--trace-file", vmt)
        r = q.cmd("trace-event-get-state", name="pio_write")
        tap(r.get("return") == [{"name": "pio_write", "state": "disabled", "vcpu": False}], "get-state: pio_write disabled", r)
        r = q.cmd("trace-event-get-state", name="nope")
        tap(r.get("error", {}).get("class") == "GenericError" and r["error"]["desc"] == 'unknown event "nope"',
            "get-state: unknown event is an error", r)
        r = q.cmd("trace-event-get-state", name="nope*")
        tap(r.get("return") == [], "get-state: a pattern matching nothing is []", r)
        w_on = unassigned_writes(q)
        r = q.cmd("trace-event-set-state", name="pio_*", enable=True)
        tap(r.get("return") == {}, "set-state: pio_* on", r)
        r = q.cmd("trace-event-get-state", name="pio_*")
        states = {e["name"]: e["state"] for e in r.get("return", [])}
        tap(states == {"pio_read": "enabled", "pio_write": "enabled", "pio_unassigned": "enabled"},
            "get-state: the pio_* events are enabled", r)
        while records(vmt, "pio_write") < 100 and p.poll() is None:  # flushed at least every 100 ms
            time.sleep(0.05)
        r = q.cmd("trace-event-set-state", name="pio_*", enable=False)
        tap(r.get("return") == {}, "set-state: pio_* off", r)
        w_off = unassigned_writes(q)
        # Let the guest make many more writes than a ring can hold (64 Ki records), untraced.
        while unassigned_writes(q) < w_off + 30000 and p.poll() is None:
            time.sleep(0.05)
        r = q.cmd("trace-event-set-state", name="nope", enable=True)
        tap("error" in r, "set-state: unknown event is an error", r)
        r = q.cmd("trace-event-set-state", name="pio_write")
        tap("error" in r, "set-state: enable is required", r)
        w_quit = unassigned_writes(q)
        q.cmd("quit")
        p.wait(timeout=60)
        got = records(vmt, "pio_write")
        tap(100 <= got <= w_off - w_on + 1 and w_quit - w_on > got + 25000,
            "records only between on and off: %d records, %d writes while on, %d in all" % (got, w_off - w_on, w_quit - w_on))
        p, q = start(tmp)
        pid = p.pid
        r = q.cmd("trace-event-set-state", name="pio_write", enable=True)
        auto = os.path.join(tmp, "vmscope-%d.vmt" % pid)
        tap(r.get("return") == {} and os.path.exists(auto), "no --trace: the first enable starts tracing (%s)" % os.path.basename(auto), r)
        w = unassigned_writes(q)
        while unassigned_writes(q) < w + 1000 and p.poll() is None:
            time.sleep(0.05)
        q.cmd("quit")
        p.wait(timeout=60)
        out = subprocess.run([VMTRACE, "stats", auto], capture_output=True, text=True)
        tap(records(auto, "pio_write") > 0, "autostarted file has pio_write records", out.stdout + out.stderr)
    print("1..%d" % n)
    sys.exit(1 if failed else 0)


main()
