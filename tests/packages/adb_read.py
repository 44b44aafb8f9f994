#!/usr/bin/env python3
# tests/packages/adb_read.py: an independent reader of apk-tools v3 packages (ADB), written
# from apk-tools' doc/apk-v3.5 and src/adb.h, src/apk_adb.h, src/extract_v3.c rather than
# from openwrt/apkv3.py, so the test checks the writer against the format, not itself.
#
#   adb_read.py FILE.apk                 print the package as JSON (info, paths, scripts)
#   adb_read.py FILE.apk --extract DIR   also write the files under DIR with their modes
# Checks, failing with a message: the compression prefix (ADBd raw deflate or ADB.), the
# "pckg" schema, block order (one ADB, then SIG*, then DATA*), block sizes and 8-byte padding,
# adb_hdr compat version 0, every value's offset in range and aligned for its type, arrays
# sorted by name, the unique id (SHA-256 of the ADB block with the id zeroed, 20 bytes), and
# the DATA blocks: one per non-empty regular file in path/file order (as extract_v3 walks
# them), each with the recorded size and SHA-256.
import hashlib
import json
import os
import struct
import sys
import zlib

SCHEMA = {  # field number -> (name, kind); kinds: s string, i int, h hex blob, or a schema name
    "package": {1: ("info", "pkginfo"), 2: ("paths", "dirs"), 3: ("scripts", "scripts"),
                4: ("triggers", "strings"), 5: ("replaces-priority", "i")},
    "pkginfo": {1: ("name", "s"), 2: ("version", "s"), 3: ("hashes", "h"),
                4: ("description", "s"), 5: ("arch", "s"), 6: ("license", "s"),
                7: ("origin", "s"), 8: ("maintainer", "s"), 9: ("url", "s"),
                10: ("repo-commit", "h"), 11: ("build-time", "i"), 12: ("installed-size", "i"),
                13: ("file-size", "i"), 14: ("provider-priority", "i"), 15: ("depends", "deps"),
                16: ("provides", "deps"), 17: ("replaces", "deps"), 18: ("install-if", "deps"),
                19: ("recommends", "deps"), 20: ("layer", "i"), 21: ("tags", "strings")},
    "dir": {1: ("name", "s"), 2: ("acl", "acl"), 3: ("files", "files")},
    "file": {1: ("name", "s"), 2: ("acl", "acl"), 3: ("size", "i"), 4: ("mtime", "i"),
             5: ("hash", "h"), 6: ("target", "h")},
    "acl": {1: ("mode", "i"), 2: ("user", "s"), 3: ("group", "s"), 4: ("xattrs", "strings")},
    "scripts": {1: ("trigger", "s"), 2: ("pre-install", "s"), 3: ("post-install", "s"),
                4: ("pre-deinstall", "s"), 5: ("post-deinstall", "s"), 6: ("pre-upgrade", "s"),
                7: ("post-upgrade", "s")},
    "dep": {1: ("name", "s"), 2: ("version", "s"), 3: ("match", "i")},
}
ARRAYS = {"dirs": "dir", "files": "file", "deps": "dep", "strings": "s"}


class Bad(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Bad(msg)


class Reader:
    def __init__(self, adb):
        self.adb = adb
        need(len(adb) >= 16, "ADB block shorter than 16 bytes")
        compat, ver, _res, self.root = struct.unpack_from("<BBHI", adb, 0)
        need(compat == 0, f"adb_hdr compat version {compat}, readers know 0")

    def _at(self, off, size, align):
        need(off % align == 0, f"value at {off} not aligned to {align}")
        need(off >= 8 and off + size <= len(self.adb), f"value at {off}+{size} out of range")
        return self.adb[off:off + size]

    def int(self, v):
        t, x = v & 0xF0000000, v & 0x0FFFFFFF
        if t == 0x10000000:
            return x
        if t == 0x20000000:
            return struct.unpack("<I", self._at(x, 4, 4))[0]
        if t == 0x30000000:
            return struct.unpack("<Q", self._at(x, 8, 8))[0]
        raise Bad(f"expected an int, got tag {v:#x}")

    def blob(self, v):
        t, x = v & 0xF0000000, v & 0x0FFFFFFF
        for tag, fmt, n in ((0x80000000, "<B", 1), (0x90000000, "<H", 2), (0xA0000000, "<I", 4)):
            if t == tag:
                ln = struct.unpack(fmt, self._at(x, n, n))[0]
                return bytes(self._at(x + n, ln, 1))
        raise Bad(f"expected a blob, got tag {v:#x}")

    def slots(self, v, want):
        t, x = v & 0xF0000000, v & 0x0FFFFFFF
        need(t == want, f"expected {'array' if want == 0xD0000000 else 'object'}, tag {v:#x}")
        n = struct.unpack("<I", self._at(x, 4, 4))[0]
        need(n >= 1, "object with no count")
        return struct.unpack(f"<{n}I", self._at(x, 4 * n, 4))[1:]

    def value(self, v, kind):
        if v == 0:
            return None
        if kind == "i":
            return self.int(v)
        if kind == "s":
            return self.blob(v).decode()
        if kind == "h":
            return self.blob(v).hex()
        if kind in ARRAYS:
            return [self.value(e, ARRAYS[kind]) for e in self.slots(v, 0xD0000000)]
        out = {}
        for i, e in enumerate(self.slots(v, 0xE0000000), 1):
            if e == 0:
                continue
            need(i in SCHEMA[kind], f"{kind}: unknown field {i}")
            name, k = SCHEMA[kind][i]
            out[name] = self.value(e, k)
        return out


def blocks(buf):
    """-> [(type, payload)], checking sizes and padding."""
    out, pos = [], 0
    while pos < len(buf):
        need(len(buf) - pos >= 4, "truncated block header")
        ts = struct.unpack_from("<I", buf, pos)[0]
        typ, raw = ts >> 30, ts & 0x3FFFFFFF
        need(typ != 3, "extended (64-bit) block: not expected for a small package")
        need(raw >= 4, "block smaller than its header")
        padded = raw + (-raw) % 8
        need(pos + padded <= len(buf), "block runs past the end of the file")
        need(buf[pos + raw:pos + padded] == b"\0" * (padded - raw), "non-zero block padding")
        out.append((typ, bytes(buf[pos + 4:pos + raw])))
        pos += padded
    return out


def read(path, extract=None):
    data = open(path, "rb").read()
    if data[:4] == b"ADBd":
        data = zlib.decompress(data[4:], -15)
    need(data[:4] == b"ADB.", f"not an ADB file (starts {data[:4]!r})")
    need(data[4:8] == b"pckg", f"schema {data[4:8]!r}, expected pckg")
    bl = blocks(data[8:])
    need(bl and bl[0][0] == 0, "first block is not the ADB block")
    seen_data = False
    for typ, _ in bl[1:]:
        need(typ in (1, 2), f"unexpected block type {typ}")
        need(not (typ == 1 and seen_data), "SIG block after DATA")
        seen_data |= typ == 2
    adb = bl[0][1]
    r = Reader(adb)
    pkg = r.value(r.root, "package")
    info = pkg["info"]
    for f in ("name", "version", "arch", "hashes"):
        need(f in info, f"info has no {f}")
    # unique id: sha256 over the ADB block with the id bytes zeroed, first 20 bytes
    uid = bytes.fromhex(info["hashes"])
    need(len(uid) == 20, "unique id is not 20 bytes")
    pos = adb.find(bytes([20]) + uid)
    need(pos >= 0, "unique id not found")
    z = bytearray(adb)
    z[pos + 1:pos + 21] = b"\0" * 20
    need(hashlib.sha256(bytes(z)).digest()[:20] == uid, "unique id does not match the ADB block")
    paths = pkg.get("paths") or []
    for p in paths:
        p.setdefault("name", "")  # the root directory's entry has no name
    names = [p["name"] for p in paths]
    need(names == sorted(names, key=str.encode), "paths not sorted")
    expected = []
    for pi, p in enumerate(paths, 1):
        fnames = [f["name"] for f in p.get("files") or []]
        need(fnames == sorted(fnames, key=str.encode), f"files of {p['name']} not sorted")
        for fi, f in enumerate(p.get("files") or [], 1):
            if f.get("size", 0) and "target" not in f:
                expected.append((pi, fi, p["name"], f))
    datas = [b for t, b in bl if t == 2]
    need(len(datas) == len(expected), f"{len(datas)} DATA blocks for {len(expected)} files")
    total = 0
    for (pi, fi, dname, f), b in zip(expected, datas):
        hp, hf = struct.unpack_from("<II", b, 0)
        body = b[8:]
        need((hp, hf) == (pi, fi), f"DATA block for {hp}/{hf}, expected {pi}/{fi}")
        need(len(body) == f["size"], f"{dname}/{f['name']}: size {len(body)} != {f['size']}")
        need(hashlib.sha256(body).hexdigest() == f["hash"], f"{dname}/{f['name']}: hash mismatch")
        total += len(body)
        if extract:
            d = os.path.join(extract, dname)
            os.makedirs(d, exist_ok=True)
            out = os.path.join(d, f["name"])
            with open(out, "wb") as fh:
                fh.write(body)
            os.chmod(out, f["acl"]["mode"])
    need(info.get("installed-size", 0) >= total, "installed-size smaller than the files")
    return pkg


def main():
    if len(sys.argv) < 2:
        print(__doc__ or "usage: adb_read.py FILE.apk [--extract DIR]", file=sys.stderr)
        sys.exit(2)
    ex = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--extract" else None
    try:
        pkg = read(sys.argv[1], ex)
    except (Bad, zlib.error, UnicodeDecodeError, KeyError, struct.error) as e:
        print(f"adb_read: {sys.argv[1]}: {e}", file=sys.stderr)
        sys.exit(1)
    json.dump(pkg, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
