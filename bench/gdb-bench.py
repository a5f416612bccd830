#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gdb-bench: the gdb stubs of vmscope (--accel kvm, --accel interp) and QEMU (-accel tcg)
side by side, on the same demo guest, in the same run.

Figures (medians of --runs runs):
  raw_steps      single steps per second, raw `s` packets (10,000 steps)
  gdb_stepi      gdb's own `stepi` (differential: stepi 10200 minus stepi 200, / 10,000)
  raw_read       MiB/s reading 16 MiB with raw `m` packets, at the largest size each stub offers
                 (cold: the first read faults the host pages in; warm: the same 16 MiB again)
  gdb_dump       MiB/s of gdb `dump binary memory` (differential: 16 MiB minus 64 KiB)
  sw_hits/hw_hits  breakpoint hits per second (Z0 / Z1 at compute_something's loop head, stepping
                 off each hit the way gdb does: z, s, Z, c)

QEMU gets the ELF32 (.mb) image, gdb the ELF64 symbols; vmscope loads the ELF64.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

RLE = re.compile(rb"(.)\*(.)", re.S)  # run-length encoding: c*N is c and N - 29 more copies
STEPS = 10000
READ_BYTES = 16 << 20
HITS = 100  # per kind: 2 x 100 of the loop's 1000 iterations, the 10,000 steps stay in the loop


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Rsp:
    """A minimal RSP client: acks (or no-ack mode when offered), checksums, RLE replies."""

    def __init__(self, port, timeout=60):
        deadline = time.time() + timeout
        while True:
            try:
                self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.02)  # the stub is still starting: connection refused
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.ack = True
        self.pending_ack = b""  # sent with the next packet: one write per request
        feats = self.cmd("qSupported:swbreak+;hwbreak+")
        m = re.search(r"PacketSize=([0-9a-fA-F]+)", feats)
        self.packet_size = int(m.group(1), 16) if m else 4096
        if "QStartNoAckMode+" in feats and self.cmd("QStartNoAckMode") == "OK":
            self.ack = False
        self.cmd("?")

    def _read(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError("stub closed the connection")
        self.buf += d

    def send(self, payload):
        data = payload.encode()
        pkt = self.pending_ack + b"$" + data + b"#%02x" % (sum(data) & 0xFF)
        self.pending_ack = b""
        self.s.sendall(pkt)

    def recv(self):
        while True:
            i = self.buf.find(b"$")
            j = self.buf.find(b"#", i + 1) if i >= 0 else -1
            if i >= 0 and j >= 0 and len(self.buf) >= j + 3:
                body = self.buf[i + 1 : j]
                self.buf = self.buf[j + 3 :]
                if self.ack:
                    self.pending_ack = b"+"
                if b"}" not in body:  # no escapes (hex replies): expand runs with a regex, fast
                    if b"*" in body:
                        body = RLE.sub(lambda m: m.group(1) * (m.group(2)[0] - 28), body)
                    text = body.decode("latin1")
                    if text.startswith("O") and text != "OK":
                        continue
                    return text
                out, k = bytearray(), 0
                while k < len(body):
                    c = body[k]
                    if c == 0x7D:
                        out.append(body[k + 1] ^ 0x20)
                        k += 2
                    elif c == 0x2A:
                        out += bytes([out[-1]]) * (body[k + 1] - 29)
                        k += 2
                    else:
                        out.append(c)
                        k += 1
                text = out.decode("latin1")
                if text.startswith("O") and text != "OK":
                    continue  # console output
                return text
            self._read()

    def cmd(self, payload):
        self.send(payload)
        return self.recv()


def launch(kind, port, elf, mb, vmscope):
    if kind == "qemu-tcg":
        argv = ["qemu-system-x86_64", "-accel", "tcg", "-M", "pc", "-m", "64", "-nodefaults",
                "-no-user-config", "-display", "none", "-serial", "null", "-no-reboot",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                "-kernel", mb, "-append", "ticks=1000000", "-S", "-gdb", "tcp:127.0.0.1:%d" % port]
        if os.path.exists("/usr/share/qemu/qboot.rom"):
            argv[1:1] = ["-bios", "/usr/share/qemu/qboot.rom"]
    else:
        accel = kind.split("-")[1]
        argv = [vmscope, "--accel", accel, "--kernel", elf, "--append", "ticks=1000000",
                "--serial", "none", "-S", "--gdb", "tcp:127.0.0.1:%d" % port]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def stop_proc(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def symbols(elf):
    out = subprocess.run(["nm", elf], capture_output=True, text=True, check=True).stdout
    syms = {l.split()[2]: int(l.split()[0], 16) for l in out.splitlines() if len(l.split()) == 3}
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", elf], capture_output=True,
                         text=True, check=True).stdout
    body = dis.split("<compute_something>:")[1].split("\n\n")[0]
    loop = None
    for m in re.finditer(r"^\s*([0-9a-f]+):\s+j\w+\s+([0-9a-f]+) <compute_something\+", body, re.M):
        if int(m.group(2), 16) < int(m.group(1), 16):
            loop = int(m.group(2), 16)  # target of the backward jump
    return syms["compute_something"], loop


def to_entry(r, func):
    """Run to compute_something with a hardware breakpoint."""
    assert r.cmd("Z1,%x,1" % func) == "OK", "Z1 refused"
    r.send("c")
    stop = r.recv()
    assert stop.startswith("T"), stop
    assert r.cmd("z1,%x,1" % func) == "OK"


def bp_hits(r, typ, addr, n):
    assert r.cmd("Z%d,%x,1" % (typ, addr)) == "OK", "Z%d refused" % typ
    t0 = time.perf_counter()
    for _ in range(n):
        r.send("c")
        stop = r.recv()
        assert stop.startswith("T05"), stop
        r.cmd("z%d,%x,1" % (typ, addr))  # step off the breakpoint as gdb does
        r.send("s")
        r.recv()
        r.cmd("Z%d,%x,1" % (typ, addr))
    dt = time.perf_counter() - t0
    r.cmd("z%d,%x,1" % (typ, addr))
    return n / dt


def raw_steps(r, n):
    t0 = time.perf_counter()
    for _ in range(n):
        r.send("s")
        stop = r.recv()
        if not stop.startswith("T"):
            raise RuntimeError("step: " + stop)
    return n / (time.perf_counter() - t0)


def raw_read(r, total):
    chunk = (r.packet_size - 8) // 2
    if chunk > 0x7F8 and r.packet_size <= 0x1000:
        chunk = 0x7F8
    addr, t0 = 0, time.perf_counter()
    while addr < total:
        n = min(chunk, total - addr)
        reply = r.cmd("m%x,%x" % (addr, n))
        if reply.startswith("E") or not reply:
            raise RuntimeError("m%x: %s" % (addr, reply))
        addr += len(reply) // 2
    return total / (1 << 20) / (time.perf_counter() - t0), chunk


def raw_session(kind, args, func, loop):
    port = free_port()
    p = launch(kind, port, args.elf, args.mb, args.vmscope)
    try:
        r = Rsp(port)
        to_entry(r, func)
        res = {"sw_hits": bp_hits(r, 0, loop, HITS), "hw_hits": bp_hits(r, 1, loop, HITS),
               "raw_steps": raw_steps(r, STEPS)}
        res["raw_read"], res["m_size"] = raw_read(r, READ_BYTES)  # cold: host pages faulted in
        res["raw_read_warm"], _ = raw_read(r, READ_BYTES)
        r.s.close()
        return res
    finally:
        stop_proc(p)


def gdb_time(kind, args, func, cmds):
    port = free_port()
    p = launch(kind, port, args.elf, args.mb, args.vmscope)
    try:
        argv = ["gdb", "-batch", "-nx", args.elf, "-ex", "set pagination off",
                "-ex", "target remote 127.0.0.1:%d" % port, "-ex", "hbreak *0x%x" % func,
                "-ex", "continue", "-ex", "delete"]
        for c in cmds:
            argv += ["-ex", c]
        t0 = time.perf_counter()
        out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        dt = time.perf_counter() - t0
        if out.returncode != 0 or "Error" in out.stderr or "Cannot" in out.stderr:
            raise RuntimeError("gdb: " + out.stderr[-400:])
        return dt
    finally:
        stop_proc(p)


def gdb_session(kind, args, func):
    small = gdb_time(kind, args, func, ["stepi 200"])
    big = gdb_time(kind, args, func, ["stepi %d" % (STEPS + 200)])
    res = {"gdb_stepi": STEPS / max(big - small, 1e-6)}
    with tempfile.NamedTemporaryFile() as f:
        small = gdb_time(kind, args, func, ["dump binary memory %s 0 0x10000" % f.name])
        big = gdb_time(kind, args, func, ["dump binary memory %s 0 0x%x" % (f.name, READ_BYTES + 0x10000)])
    res["gdb_dump"] = READ_BYTES / (1 << 20) / max(big - small, 1e-6)
    return res


FIGURES = [("raw_steps", "single steps/s, raw s packets"), ("gdb_stepi", "single steps/s, gdb stepi"),
           ("raw_read", "MiB/s, 16 MiB by raw m (cold)"), ("raw_read_warm", "MiB/s, same 16 MiB again (warm)"), ("gdb_dump", "MiB/s, gdb dump binary memory"),
           ("sw_hits", "sw breakpoint hits/s"), ("hw_hits", "hw breakpoint hits/s")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    b = os.environ.get("B", "build")
    ap.add_argument("--elf", default=os.path.join(b, "tests/guests/demo.elf"))
    ap.add_argument("--mb", default=os.path.join(b, "tests/guests/demo.mb"))
    ap.add_argument("--vmscope", default=os.path.join(b, "vmscope"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--stubs", default="qemu-tcg,vmscope-kvm,vmscope-interp")
    ap.add_argument("--no-gdb", action="store_true", help="raw protocol figures only")
    args = ap.parse_args()
    func, loop = symbols(args.elf)
    stubs, skipped = [], {}
    for s in args.stubs.split(","):
        if s == "qemu-tcg" and not shutil.which("qemu-system-x86_64"):
            skipped[s] = "qemu-system-x86_64 not installed"
        elif s.startswith("vmscope") and not os.access(args.vmscope, os.X_OK):
            skipped[s] = args.vmscope + " not built"
        elif s == "vmscope-kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
            skipped[s] = "/dev/kvm not usable"
        elif s.startswith("vmscope"):
            probe = subprocess.run([args.vmscope, "--accel", s.split("-")[1], "--kernel", args.elf,
                                    "--append", "ticks=1", "--serial", "none"], capture_output=True, text=True)
            if probe.returncode != 1:
                skipped[s] = "cannot run the demo guest: " + (probe.stderr.strip().splitlines() or ["?"])[-1]
            else:
                stubs.append(s)
        else:
            stubs.append(s)
    results = {s: {} for s in stubs}
    for s in stubs:
        runs = []
        for _ in range(args.runs):
            try:
                r = raw_session(s, args, func, loop)
                if not args.no_gdb:
                    r.update(gdb_session(s, args, func))
                runs.append(r)
            except Exception as e:  # noqa: BLE001 - reported, the other stubs still run
                skipped[s] = "failed: %s" % e
                break
        for key, _ in FIGURES:
            vals = [r[key] for r in runs if key in r]
            if vals:
                results[s][key] = statistics.median(vals)
        if runs:
            results[s]["m_size"] = runs[0]["m_size"]
    print("gdb-bench: demo guest, %d steps, %d MiB, %d hits, median of %d runs" %
          (STEPS, READ_BYTES >> 20, HITS, args.runs))
    cols = [s for s in stubs if results[s]]
    print("%-34s" % "figure" + "".join("%16s" % c for c in cols) +
          "".join("%16s" % ("%s/qemu" % c.split("-")[1]) for c in cols if c != "qemu-tcg"))
    for key, label in FIGURES:
        row = "%-34s" % label
        for c in cols:
            row += "%16s" % ("%.1f" % results[c][key] if key in results[c] else "-")
        q = results.get("qemu-tcg", {}).get(key)
        for c in cols:
            if c == "qemu-tcg":
                continue
            v = results[c].get(key)
            row += "%16s" % ("%.2fx" % (v / q) if v and q else "-")
        print(row)
    for c in cols:
        print("  %s: m packets of %d bytes" % (c, results[c]["m_size"]))
    for s, why in skipped.items():
        print("  %s: skipped: %s" % (s, why))
    return 0


if __name__ == "__main__":
    sys.exit(main())
