#!/usr/bin/env python3
# benches/flood.py: the attacker and the owner of benches/flood.sh (issue #15, "Show").
#
# Given a running node (its home, port, pid and binary), it sets the scene (an admitted user
# key and two stranger keys, the user's echo and attack services, the user's database, the
# owner's Mimei, an account by name), then runs every flood of docs/security.md at once, each
# in its own process, for --duration seconds, while the owner (from 127.0.0.1, with a session
# from a pass signed by the node key, as the CLI makes one) calls GetVar every ~20 ms over a
# fresh connection and runs `leither mimei add` of a small file several times, and a sampler
# reads the node's VmRSS every 100 ms. It prints the owner's latencies, the mimei adds, the
# peak RSS against MaxMemoryMB and what each flood got, and exits 1 when the owner's GetVar
# p99 reaches --p99-ms, a mimei add failed or the RSS reached MaxMemoryMB (2 on a setup
# failure).
#
# Attackers connect from --net.N source addresses (flood.sh routes 198.18.15.0/24, a
# benchmarking range, to lo so they are outside addresses to the node; without root they are
# 127.0.0.N, which the node counts as loopback: they may then take the slots it keeps for
# loopback). Python standard library only; every reply is read with a timeout.
import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import re
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

ENV = "flood.lever"
PASSWORD = "correct-horse-42"
ACCOUNT = "flooduser"
GLOB = "a*" * 20 + "b"  # 20 stars: Redis's CVE-2022-36021 pattern


# ---- small HTTP over raw sockets -------------------------------------------------------

class Node:
    """What every worker needs to reach the node."""

    def __init__(self, port, resp_port, net):
        self.port = port
        self.resp_port = resp_port
        self.net = net

    def addr(self, n):
        return f"{self.net}.{n}"


def connect(src, port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        if src:
            s.bind((src, 0))
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        raise
    return s


def status_of(raw):
    """The status code of a response's first bytes, or None."""
    m = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
    return int(m.group(1)) if m else None


def kind_of(status):
    if status is None:
        return "no-answer"
    return str(status)


def exchange(src, port, head, body=b"", timeout=20.0, keep=4096, chunks=None):
    """Sends one request (Connection: close) and reads the answer to the end. Returns
    (outcome, first `keep` bytes): outcome is the status code as text, or `reset`,
    `timeout`, `refused`, `no-answer` (closed without a status line)."""
    try:
        s = connect(src, port, timeout)
    except ConnectionRefusedError:
        return "refused", b""
    except socket.timeout:
        return "connect-timeout", b""
    except OSError as e:
        return f"connect-error:{e.errno}", b""
    got = bytearray()
    total = 0
    sent_error = None
    try:
        s.sendall(head)
        if body:
            s.sendall(body)
        for c in chunks or ():
            s.sendall(c)
    except socket.timeout:
        sent_error = "timeout"
    except OSError:
        sent_error = "reset"
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            total += len(b)
            if len(got) < keep:
                got += b[: keep - len(got)]
    except socket.timeout:
        st = status_of(bytes(got))
        s.close()
        return (kind_of(st) if st else (sent_error or "timeout")), bytes(got)
    except OSError:
        st = status_of(bytes(got))
        s.close()
        return (kind_of(st) if st else "reset"), bytes(got)
    s.close()
    st = status_of(bytes(got))
    if st is None and sent_error:
        return sent_error, bytes(got)
    return kind_of(st), bytes(got)


def post_head(path, length, ctype="application/json", extra=""):
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {ctype}\r\n"
        f"{extra}Content-Length: {length}\r\n\r\n"
    ).encode()


def api(src, port, fn, args, timeout=20.0):
    """POST /api/<fn> with a JSON array: (outcome, decoded body or None)."""
    body = json.dumps(args).encode()
    outcome, raw = exchange(src, port, post_head(f"/api/{fn}", len(body)), body, timeout, keep=1 << 20)
    value = None
    if b"\r\n\r\n" in raw:
        text = raw.split(b"\r\n\r\n", 1)[1]
        try:
            value = json.loads(text)
        except ValueError:
            value = None
    return outcome, value


class KeepAlive:
    """One keep-alive connection from `src` (reopened when the node closes it), for floods
    that call fast: http.client with a source address."""

    def __init__(self, src, port, timeout=20.0):
        self.src, self.port, self.timeout = src, port, timeout
        self.c = None

    def call(self, method, path, body=b"", headers=None):
        for attempt in (0, 1):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection(
                        "127.0.0.1", self.port, timeout=self.timeout,
                        source_address=(self.src, 0) if self.src else None)
                h = {"Content-Type": "application/json"}
                h.update(headers or {})
                self.c.request(method, path, body=body, headers=h)
                r = self.c.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.c.close()
                    self.c = None
                return str(r.status), data
            except socket.timeout:
                self.close()
                return "timeout", b""
            except (http.client.HTTPException, OSError) as e:
                self.close()
                if attempt == 1:
                    if isinstance(e, ConnectionRefusedError):
                        return "refused", b""
                    return "reset", b""
        return "reset", b""

    def api(self, fn, args):
        return self.call("POST", f"/api/{fn}", json.dumps(args).encode())

    def close(self):
        if self.c is not None:
            try:
                self.c.close()
            except OSError:
                pass
        self.c = None


# ---- the floods ------------------------------------------------------------------------
# Each is a function (node, ctx, deadline) -> {row name: Counter}, run in a process of its own.

def repeat(deadline, counter, fn, pause=0.0):
    """Calls fn() until the deadline, counting its outcomes."""
    while time.time() < deadline:
        counter[fn()] += 1
        if pause:
            time.sleep(pause)


def run_threads(deadline, jobs):
    """jobs: (row, fn, pause); each in a thread; returns {row: Counter}."""
    rows = {}
    threads = []
    for row, fn, pause in jobs:
        c = rows.setdefault(row, Counter())
        t = threading.Thread(target=repeat, args=(deadline, c, fn, pause), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(max(0.0, deadline - time.time()) + 30)
    return rows


def hold_flood(node, deadline, addrs, per_addr, opening, drip=None, rate=200):
    """Holds up to len(addrs) * per_addr connections open, sending `opening` on each and
    then, with `drip`, one byte of it per second. A connection the node closes is counted by
    the status it answered (or `closed`) and opened again (at most `rate` opens a second)."""
    c = Counter()
    sel = selectors.DefaultSelector()
    conns = {}  # socket -> [addr, bytes seen, next drip index, opened at]
    held_s = []
    wanted = [a for a in addrs for _ in range(per_addr)]
    last_drip = time.time()
    while time.time() < deadline:
        open_by = Counter(v[0] for v in conns.values())
        budget = max(1, rate // 10)
        for a in wanted:
            if budget == 0:
                break
            if open_by[a] > 0:
                open_by[a] -= 1
                continue
            budget -= 1
            try:
                s = connect(a, node.port, 2.0)
                s.setblocking(False)
            except OSError:
                c["connect-failed"] += 1
                continue
            c["opened"] += 1
            conns[s] = [a, b"", 0, time.time()]
            try:
                if drip is None:
                    s.send(opening)
                else:
                    s.send(drip[:1])
                    conns[s][2] = 1
            except OSError:
                pass
            sel.register(s, selectors.EVENT_READ)
        for key, _ in sel.select(0.1):
            s = key.fileobj
            st = conns[s]
            try:
                b = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                b = None
            if b:
                if not st[1]:
                    code = status_of(b)
                    if code == 101:
                        c["upgraded (101)"] += 1
                st[1] = (st[1] + b)[:64]
                continue
            code = status_of(st[1]) if st[1] else None
            if code is None or code == 101:
                c["closed by node" if b == b"" else "reset by node"] += 1
            else:
                c[f"answered {code}"] += 1
            held_s.append(time.time() - st[3])
            sel.unregister(s)
            s.close()
            del conns[s]
        if drip is not None and time.time() - last_drip >= 1.0:
            last_drip = time.time()
            for s, st in list(conns.items()):
                i = st[2]
                try:
                    s.send(drip[i % len(drip): i % len(drip) + 1])
                    st[2] = i + 1
                except OSError:
                    pass
    c["open at the end"] = len(conns)
    for s in list(conns):
        s.close()
    if held_s:
        held_s.sort()
        c["median held (s)"] = round(held_s[len(held_s) // 2], 1)
    return c


def flood_idle_tcp(node, ctx, deadline):
    addrs = [node.addr(n) for n in range(10, 50)]  # 40 addresses x 16 = 640 connections
    return {"idle TCP (40 addrs x 16)": hold_flood(node, deadline, addrs, 16, b"")}


def flood_slowloris(node, ctx, deadline):
    addrs = [node.addr(n) for n in range(50, 54)]
    head = b"GET /api/GetVar HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4096
    return {"slowloris (4 addrs x 16)": hold_flood(node, deadline, addrs, 16, b"", drip=head)}


def flood_idle_ws(node, ctx, deadline):
    addrs = [node.addr(n) for n in range(54, 62)]
    up = (b"GET /ws/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    return {"idle WebSocket (8 addrs x 16)": hold_flood(node, deadline, addrs, 16, up)}


def flood_streams(node, ctx, deadline):
    line = b'"' + b"x" * (8 * 1024 - 3) + b'"\n'
    body = line * 1024  # 8 MiB of 8 KiB lines
    head = post_head(f"/echo/EchoChan?forceenv={ENV}&args=%5B%5D", len(body), "application/x-ndjson")

    def one(i):
        return lambda: exchange(node.addr(62 + i), node.port, head, body, 60.0, keep=64)[0]

    return run_threads(deadline, [("NDJSON streams to echo (8 x 8 MiB)", one(i), 0) for i in range(8)])


def flood_ipfs_add(node, ctx, deadline):
    big = os.urandom(16 << 20)
    piece = 1 << 20

    def add(src, sid):
        head = post_head(f"/ipfs/add?sid={sid}", len(big), "application/octet-stream")
        chunks = [big[i:i + piece] for i in range(0, len(big), piece)]
        return lambda: exchange(src, node.port, head, b"", 60.0, keep=512, chunks=chunks)[0]

    return run_threads(deadline, [
        ("POST /ipfs/add 16 MiB, admitted user", add(node.addr(70), ctx["user_sid"]), 0),
        ("POST /ipfs/add 16 MiB, admitted user", add(node.addr(71), ctx["user_sid"]), 0),
        ("POST /ipfs/add 16 MiB, stranger key", add(node.addr(72), ctx["stranger_sid"]), 0),
        ("POST /ipfs/add 16 MiB, stranger key", add(node.addr(73), ctx["stranger_sid"]), 0),
    ])


def api_loop(node, n, fn, args):
    ka = KeepAlive(node.addr(n), node.port)
    return lambda: ka.api(fn, args)[0]


def flood_mimeis(node, ctx, deadline):
    create = lambda sid: ["" if sid is None else sid, "", "", "{{auto}}", "file"]  # noqa: E731
    return run_threads(deadline, [
        ("MMCreate {{auto}}, admitted user", api_loop(node, 80, "MMCreate", create(ctx["user_sid"])), 0),
        ("MMCreate {{auto}}, stranger key", api_loop(node, 81, "MMCreate", create(ctx["stranger_sid"])), 0),
    ])


def flood_sessions(node, ctx, deadline):
    return run_threads(deadline, [
        ("Login, admitted user's pass", api_loop(node, 90, "Login", [ctx["user2_pass"]]), 0),
        ("Login, stranger's pass", api_loop(node, 91, "Login", [ctx["stranger2_pass"]]), 0),
        ("Login(), guest", api_loop(node, 92, "Login", []), 0),
    ])


def flood_handles(node, ctx, deadline):
    return run_threads(deadline, [
        ("MMOpen, admitted user", api_loop(node, 100, "MMOpen", [ctx["user_sid"], ctx["user_db"], "cur"]), 0),
        ("MMOpen, guest (public Mimei)", api_loop(node, 101, "MMOpen", ["", ctx["owner_mid"], "last"]), 0),
    ])


def resp_cmd(*parts):
    out = [f"*{len(parts)}\r\n".encode()]
    for p in parts:
        p = p.encode() if isinstance(p, str) else p
        out.append(f"${len(p)}\r\n".encode() + p + b"\r\n")
    return b"".join(out)


def flood_globs(node, ctx, deadline):
    def resp_loop(src):
        state = {"s": None}

        def once():
            s = state["s"]
            try:
                if s is None:
                    s = connect(src, node.resp_port, 20.0)
                    s.sendall(resp_cmd("AUTH", ctx["user_pass"]) + resp_cmd("SELECT", ctx["user_db"]))
                    state["s"] = s
                    _resp_read(s, 2)
                s.sendall(resp_cmd("KEYS", GLOB) + resp_cmd("SCAN", "0", "MATCH", GLOB, "COUNT", "1000"))
                _resp_read(s, 2)
                return "answered"
            except socket.timeout:
                state["s"] = None
                return "timeout"
            except OSError:
                state["s"] = None
                return "reset"
        return once

    jobs = [
        ("Scan MATCH 20 stars (API), admitted user",
         api_loop(node, 110, "Scan", [ctx["user_mmsid"], "", GLOB, 1000]), 0),
    ]
    if node.resp_port:
        jobs.append(("RESP KEYS + SCAN MATCH 20 stars, user", resp_loop(node.addr(111)), 0))
    return run_threads(deadline, jobs)


def _resp_read(s, replies):
    """Reads until `replies` top-level RESP replies arrived (a rough count: enough here)."""
    buf = b""
    while True:
        b = s.recv(65536)
        if not b:
            raise ConnectionResetError()
        buf += b
        if _resp_count(buf) >= replies:
            return buf


def _resp_count(buf):
    i, n = 0, 0
    try:
        while i < len(buf):
            i = _resp_skip(buf, i)
            n += 1
    except IndexError:
        pass
    return n


def _resp_skip(buf, i):
    end = buf.index(b"\r\n", i)
    t, arg = buf[i:i + 1], buf[i + 1:end]
    i = end + 2
    if t in (b"+", b"-", b":"):
        return i
    if t == b"$":
        k = int(arg)
        if k < 0:
            return i
        if i + k + 2 > len(buf):
            raise IndexError
        return i + k + 2
    if t == b"*":
        for _ in range(max(0, int(arg))):
            i = _resp_skip(buf, i)
        return i
    raise IndexError


def lua_call(node, n, method):
    head = post_head(f"/attack/{method}?forceenv={ENV}", 2)
    return lambda: exchange(node.addr(n), node.port, head, b"[]", 60.0, keep=256)[0]


def flood_lua_pattern(node, ctx, deadline):
    return run_threads(deadline, [("Lua string.find (.-)x4 on a*300", lua_call(node, 120, "Pattern"), 0)])


def flood_lua_gc(node, ctx, deadline):
    return run_threads(deadline, [("Lua __gc that loops", lua_call(node, 121, "Gc"), 0)])


def flood_lua_loop(node, ctx, deadline):
    row = "Lua while true do end (timeoutMs 3600000)"
    return run_threads(deadline, [(row, lua_call(node, 122, "Loop"), 0), (row, lua_call(node, 123, "Loop"), 0)])


def flood_passwords(node, ctx, deadline):
    def guess(n):
        ka = KeepAlive(node.addr(n), node.port)
        return lambda: ka.api("Login", [ACCOUNT, "guess%06d" % random.randrange(10 ** 6), "byname"])[0]

    return run_threads(deadline, [("Login(name, wrong password)", guess(n), 0) for n in (130, 131)])


FLOODS = {
    "idle-tcp": flood_idle_tcp,
    "slowloris": flood_slowloris,
    "idle-ws": flood_idle_ws,
    "streams": flood_streams,
    "ipfs-add": flood_ipfs_add,
    "mimeis": flood_mimeis,
    "sessions": flood_sessions,
    "handles": flood_handles,
    "globs": flood_globs,
    "lua-pattern": flood_lua_pattern,
    "lua-gc": flood_lua_gc,
    "lua-loop": flood_lua_loop,
    "passwords": flood_passwords,
}


def flood_process(name, node, ctx, deadline, out, nice):
    try:
        if nice:
            os.nice(nice)
        rows = FLOODS[name](node, ctx, deadline)
        out.put((name, {k: dict(v) for k, v in rows.items()}))
    except Exception as e:  # a flood that breaks is reported, not fatal to the run
        out.put((name, {f"{name}: the flood itself failed": {repr(e)[:200]: 1}}))


# ---- the owner and the sampler ---------------------------------------------------------

def owner_getvar(node, sid, deadline, every, timeout, out):
    """GetVar(sid, "ver") from 127.0.0.1 over a fresh connection every `every` s."""
    body = json.dumps([sid, "ver"]).encode()
    head = post_head("/api/GetVar", len(body))
    lat, bad, at = [], Counter(), []
    nxt = time.time()
    start = time.time()
    while time.time() < deadline:
        t0 = time.perf_counter()
        outcome, _ = exchange("127.0.0.1", node.port, head, body, timeout, keep=256)
        ms = (time.perf_counter() - t0) * 1000
        lat.append(ms)
        at.append(round(time.time() - start, 1))
        if outcome != "200":
            bad[outcome] += 1
        nxt += every
        time.sleep(max(0.0, nxt - time.time()))
        if nxt < time.time() - 1:
            nxt = time.time()
    slowest = sorted(zip(lat, at), reverse=True)[:5]
    out.put(("owner", {"lat": lat, "bad": dict(bad), "slowest": slowest}))


def owner_mimei_adds(bin_path, home, mid, files, start, deadline, out):
    """`leither mimei add MID FILE` at evenly spaced times in [start, deadline)."""
    results = []
    n = len(files)
    for i, f in enumerate(files):
        at = start + (deadline - start) * (i + 0.5) / n
        time.sleep(max(0.0, at - time.time()))
        t0 = time.time()
        try:
            p = subprocess.run([bin_path, "--home", home, "mimei", "add", mid, f],
                               capture_output=True, text=True, timeout=60)
            ok = p.returncode == 0 and "MiMeiAdd ver=" in p.stdout
            note = (p.stdout + p.stderr).strip().replace("\n", " | ")[-200:]
        except subprocess.TimeoutExpired:
            ok, note = False, "no answer in 60 s"
        results.append({"ok": ok, "s": round(time.time() - t0, 2), "note": note})
    out.put(("adds", results))


def rss_kib(pid, key="VmRSS"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    """User + system CPU seconds the process has used."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def sampler(pid, stop, peak):
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kib(pid))
        time.sleep(0.1)


# ---- the scene ---------------------------------------------------------------------------

def sh(bin_path, home, *args, input_text=None):
    argv = [bin_path] + (["--home", home] if home else []) + list(args)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120, input=input_text)
    if p.returncode != 0:
        raise SystemExit(f"setup: `{' '.join(argv)}` failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p.stdout


def field(text, name):
    m = re.search(rf"{re.escape(name)}\s*=?\s*(\S+)", text)
    if not m:
        raise SystemExit(f"setup: no {name!r} in:\n{text}")
    return m.group(1)


def must(outcome_value, what):
    outcome, value = outcome_value
    if outcome != "200":
        raise SystemExit(f"setup: {what} answered {outcome}: {value}")
    return value


def setup(args, node, work):
    b, h = args.bin, args.home
    ctx = {}
    keys = {}
    for k in ("user", "user2", "stranger", "stranger2"):
        path = os.path.join(work, f"{k}.key")
        out = sh(b, None, "lpki", "genkey", "-o", path)
        keys[k] = (path, field(out, "id:"))
        ctx[f"{k}_pass"] = sh(b, None, "lpki", "signppt", "-k", path, "-p", "24h").strip().splitlines()[-1]
    for k in ("user", "user2"):
        sh(b, h, "lpki", "addkey", "-i", keys[k][1])
    owner_pass = sh(b, h, "lpki", "signppt", "-p", "24h").strip().splitlines()[-1]
    for k in ("owner", "user", "stranger"):
        p = owner_pass if k == "owner" else ctx[f"{k}_pass"]
        v = must(api("127.0.0.1", node.port, "Login", [p]), f"Login of {k}")
        ctx[f"{k}_sid"] = v["sid"]
        want = {"owner": "owner", "user": "user", "stranger": "visitor"}[k]
        if v.get("rights") != want:
            raise SystemExit(f"setup: {k} logged in as {v.get('rights')}, not {want}")
    # The user's services: an echo stream and the Lua attacks, with lever.json asking for
    # far more than the node's caps.
    for name, manifest, lua in (
        ("echo", {"name": "echo"},
         "return { EchoChan = function(s) while true do local v = s:recv() "
         "if v == nil then return end s:send(v) end end }"),
        ("attack", {"name": "attack", "timeoutMs": 3600000, "ram": 1024, "maxInstructions": 10 ** 12},
         "local M = {}\n"
         "function M.Gc() setmetatable({}, {__gc = function() while true do end end}) "
         "collectgarbage() return 'survived' end\n"
         "function M.Pattern() return string.find(('a'):rep(300), ('.-'):rep(4) .. 'b') end\n"
         "function M.Loop() while true do end end\n"
         "return M\n"),
    ):
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "lever.json"), "w") as f:
            json.dump(manifest, f)
        with open(os.path.join(d, "main.lua"), "w") as f:
            f.write(lua)
        sh(b, h, "lever", "deploy", d, "--env", ENV, "-k", keys["user"][0])
    # The user's database, with keys the 20-star glob must walk.
    sid = ctx["user_sid"]
    ctx["user_db"] = must(api("127.0.0.1", node.port, "MMCreate", [sid, "", "", "flooddb", "db"]), "MMCreate db")
    ctx["user_mmsid"] = must(api("127.0.0.1", node.port, "MMOpen", [sid, ctx["user_db"], "cur"]), "MMOpen db")
    ka = KeepAlive("127.0.0.1", node.port)
    for i in range(args.db_keys):
        st, _ = ka.api("Set", [ctx["user_mmsid"], "a" * 300 + str(i), "v"])
        if st != "200":
            raise SystemExit(f"setup: Set answered {st}")
    ka.close()
    # The owner's Mimei (public, so guests may open it) and the files to add to it.
    out = sh(b, h, "mimei", "create", "-t", "file")
    ctx["owner_mid"] = field(out, "mid=")
    sh(b, h, "mimei", "setright", ctx["owner_mid"], "*", "read")
    ctx["files"] = []
    for i in range(args.adds):
        f = os.path.join(work, f"note{i}.txt")
        with open(f, "w") as fh:
            fh.write(f"note {i} written at {time.time()}\n" * 50)
        ctx["files"].append(f)
    # An account whose password the guesser tries.
    must(api("127.0.0.1", node.port, "Register", [ACCOUNT, PASSWORD]), "Register")
    return ctx


# ---- the run -----------------------------------------------------------------------------

def pct(sorted_ms, p):
    if not sorted_ms:
        return float("nan")
    i = min(len(sorted_ms) - 1, max(0, int(round(p / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[i]


def main():
    ap = argparse.ArgumentParser(description="every flood at once against a node, the owner measured")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--home", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--resp-port", type=int, default=0)
    ap.add_argument("--net", default="127.0.0", help="attackers' source addresses: NET.N")
    ap.add_argument("--work", required=True)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--max-mb", type=int, default=64)
    ap.add_argument("--p99-ms", type=float, default=50)
    # Owner calls answered other than 200 that still pass (CI: a few in ~600, inside the p99).
    ap.add_argument("--max-bad", type=int, default=0)
    ap.add_argument("--adds", type=int, default=5)
    ap.add_argument("--db-keys", type=int, default=1000)
    ap.add_argument("--nice", type=int, default=0, help="niceness of the attacker processes")
    ap.add_argument("--only", default="", help="comma-separated floods (default all): " + ",".join(FLOODS))
    ap.add_argument("--json", default="", help="also write the figures here")
    args = ap.parse_args()

    node = Node(args.port, args.resp_port, args.net)
    t_setup = time.time()
    ctx = setup(args, node, args.work)
    print(f"setup done in {time.time() - t_setup:.1f}s; RSS {rss_kib(args.pid) // 1024} MiB", flush=True)

    names = [n for n in (args.only.split(",") if args.only else FLOODS) if n]
    for n in names:
        if n not in FLOODS:
            print(f"unknown flood {n}; known: {', '.join(FLOODS)}", file=sys.stderr)
            return 2
    mp.set_start_method("fork")
    out = mp.Queue()
    start = time.time()
    cpu0 = cpu_s(args.pid)
    deadline = start + args.duration
    procs = [mp.Process(target=flood_process, args=(n, node, ctx, deadline, out, args.nice), daemon=True)
             for n in names]
    for p in procs:
        p.start()
    stop, peak = threading.Event(), [0]
    sam = threading.Thread(target=sampler, args=(args.pid, stop, peak), daemon=True)
    sam.start()
    # The owner starts once the floods are under way.
    time.sleep(min(2.0, args.duration / 10))
    owner = [
        mp.Process(target=owner_getvar, args=(node, ctx["owner_sid"], deadline, 0.02, 5.0, out), daemon=True),
        mp.Process(target=owner_mimei_adds,
                   args=(args.bin, args.home, ctx["owner_mid"], ctx["files"], time.time(), deadline, out),
                   daemon=True),
    ]
    for p in owner:
        p.start()
    results = {}
    want = len(procs) + len(owner)
    while len(results) < want and time.time() < deadline + 120:
        try:
            k, v = out.get(timeout=1.0)
            results[k] = v
        except Exception:  # queue.Empty
            if not any(p.is_alive() for p in procs + owner) and out.empty():
                break
    stop.set()
    sam.join()
    cpu = (cpu_s(args.pid) - cpu0) / max(0.001, time.time() - start)
    for p in procs + owner:
        p.join(1)
        if p.is_alive():
            p.kill()
    alive = os.path.exists(f"/proc/{args.pid}")
    hwm = rss_kib(args.pid, "VmHWM")
    peak_mib = max(peak[0], hwm) / 1024.0

    # ---- the report
    print()
    print(f"floods: {', '.join(names)} for {args.duration:.0f}s; attackers from {args.net}.N, nice {args.nice}")
    print(f"node CPU: {cpu * 100:.0f}% of one core over the run (its one thread: 100% is saturated)")
    lat = sorted(results.get("owner", {}).get("lat", []))
    bad = results.get("owner", {}).get("bad", {})
    p50, p99, mx = pct(lat, 50), pct(lat, 99), (lat[-1] if lat else float("nan"))
    print(f"owner GetVar: {len(lat)} calls, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {mx:.1f} ms"
          + (f", not 200: {bad}" if bad else "") + f"  (goal p99 < {args.p99_ms:g} ms)")
    slowest = results.get("owner", {}).get("slowest", [])
    if slowest:
        print("  slowest: " + ", ".join(f"{ms:.0f} ms at {t}s" for ms, t in slowest))
    why = []
    if not lat:
        why.append("the owner's GetVar got no answer")
    elif not (p99 < args.p99_ms):
        why.append(f"owner GetVar p99 {p99:.0f} ms >= {args.p99_ms:g} ms")
    if sum(bad.values()) > args.max_bad:
        why.append(f"owner GetVar answers not 200: {bad} (allowed {args.max_bad})")
    adds = results.get("adds", [])
    n_ok = sum(1 for a in adds if a["ok"])
    print(f"owner mimei add: {n_ok}/{len(adds)} succeeded, took "
          + ", ".join(f"{a['s']}s" for a in adds))
    for a in adds:
        if not a["ok"]:
            print(f"  failed: {a['note']}")
    if n_ok != len(adds) or not adds:
        why.append(f"owner mimei add: {n_ok}/{len(adds)} succeeded")
    print(f"node RSS: peak {peak_mib:.1f} MiB (sampled {peak[0] / 1024:.1f}, VmHWM {hwm / 1024:.1f}) "
          f"vs MaxMemoryMB {args.max_mb}" + ("" if alive else "  -- THE NODE DIED"))
    if not alive:
        why.append("the node died")
    elif not (peak_mib < args.max_mb):
        why.append(f"node RSS peak {peak_mib:.1f} MiB >= MaxMemoryMB {args.max_mb}")
    print("what the attacker got:")
    for n in names:
        rows = results.get(n)
        if rows is None:
            print(f"  {n}: no report (the flood process did not finish)")
            continue
        for row, counts in rows.items():
            items = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0])))
            print(f"  {row}: {items}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"owner": {"calls": len(lat), "p50": p50, "p99": p99, "max": mx, "bad": bad},
                       "adds": adds, "peak_mib": peak_mib, "max_mb": args.max_mb,
                       "floods": {n: results.get(n) for n in names}}, f, indent=1)
    ok = not why
    verdict = "PASS" if ok else "FAIL: " + "; ".join(why)
    print(verdict)
    # flood.sh prints it again after the node's log, so a log's tail always shows why.
    with open(os.path.join(args.work, "verdict.txt"), "w") as f:
        f.write(verdict + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
