#!/usr/bin/env python3
# openwrt/apkv3.py: writes an apk-tools v3 package (.apk, ADB format, as `apk mkpkg` does)
# with the Python standard library only, for OpenWrt 25 and later, without apk-tools.
#
#   apkv3.py --root DIR --out FILE.apk --info name:leither --info version:0.1.0-r1 \
#            --info arch:mipsel_24kc [--info description:... license: origin: url: maintainer:]
#            [--script post-install:FILE ...] [--mtime SECONDS] [--compress deflate|none]
#
# The layout follows apk-tools' sources (src/adb.h, src/apk_adb.h, src/apk_adb.c,
# src/app_mkpkg.c, src/adb_comp.c; doc/apk-v3.5):
#   file    = "ADBd" + raw deflate( "ADB." + schema "pckg" + blocks )   ("ADB." uncompressed)
#   block   = u32 (type << 30 | 4 + payload length), payload, zero padding to 8 bytes;
#             type 0 ADB (exactly one, first), 1 SIG (none here: unsigned), 2 DATA
#   ADB     = adb_hdr { u8 compat_ver 0, u8 ver 0, u16 0, u32 root } + values
#   value   = u32 tag: high 4 bits type, low 28 bits immediate or offset into the ADB payload;
#             0x1 int (direct), 0x2 int32 / 0x3 int64 (offset), 0x8/0x9/0xa blob with an
#             8/16/32-bit length prefix (offset, aligned to the prefix size), 0xd array and
#             0xe object (offset of u32[n]: n, then n-1 values; aligned to 4)
#   package = object { 1 info (pkginfo), 2 paths (dir array), 3 scripts, 4 triggers }
#   pkginfo = { 1 name, 2 version, 3 hashes (unique id: first 20 bytes of SHA-256 over the
#             ADB payload, computed with zeros in its place), 4 description, 5 arch,
#             6 license, 7 origin, 8 maintainer, 9 url, 11 build-time, 12 installed-size }
#   dir     = { 1 name ("etc/init.d", no leading slash), 2 acl, 3 files (file array) }
#   file    = { 1 name, 2 acl, 3 size, 4 mtime, 5 hash (raw SHA-256) }
#   acl     = { 1 mode, 2 user, 3 group }
#   DATA    = u32 path index, u32 file index (1-based, into the sorted arrays), file bytes;
#             one block per non-empty regular file, in path then file order.
# Every directory is listed, the root first without a name, as `apk mkpkg` does with its
# default --compat (3.0.0_pre1: root and intermediate directory nodes kept, which every
# apk 3 pre-release reads). Files and directories are owned by root:root; modes are the
# staging tree's. No signature: OpenWrt installs it with `apk add --allow-untrusted`.
# tests/packages/adb_read.py reads these files back independently.
import argparse
import hashlib
import os
import stat
import struct
import sys
import zlib

SCHEMA_PACKAGE = 0x676B6370  # "pckg"
MAGIC = b"ADB."
T_INT, T_INT32, T_INT64 = 0x10000000, 0x20000000, 0x30000000
T_BLOB8, T_BLOB16, T_BLOB32 = 0x80000000, 0x90000000, 0xA0000000
T_ARRAY, T_OBJECT = 0xD0000000, 0xE0000000
NULL = 0
BLOCK_ADB, BLOCK_SIG, BLOCK_DATA = 0, 1, 2

PI = {"name": 1, "version": 2, "hashes": 3, "description": 4, "arch": 5, "license": 6,
      "origin": 7, "maintainer": 8, "url": 9, "build-time": 11, "installed-size": 12}
SCRIPTS = {"trigger": 1, "pre-install": 2, "post-install": 3, "pre-deinstall": 4,
           "post-deinstall": 5, "pre-upgrade": 6, "post-upgrade": 7}
UID_LEN = 20  # apk_digest_alg_len(SHA1): the unique id's length


class Adb:
    """The ADB payload being written: a header, then values appended with their alignment."""

    def __init__(self):
        self.buf = bytearray(8)  # adb_hdr; root filled in by set_root

    def _raw(self, data, align):
        pad = (-len(self.buf)) % align
        self.buf += b"\0" * pad
        off = len(self.buf)
        if off > 0x0FFFFFFF:
            raise ValueError("ADB payload too large")
        self.buf += data
        return off

    def blob(self, b):
        n = len(b)
        if n == 0:
            return NULL
        if n <= 0xFF:
            return T_BLOB8 | self._raw(bytes([n]) + b, 1)
        if n <= 0xFFFF:
            return T_BLOB16 | self._raw(struct.pack("<H", n) + b, 2)
        return T_BLOB32 | self._raw(struct.pack("<I", n) + b, 4)

    def int(self, v):
        if v < 0x10000000:
            return T_INT | v
        if v <= 0xFFFFFFFF:
            return T_INT32 | self._raw(struct.pack("<I", v), 4)
        return T_INT64 | self._raw(struct.pack("<Q", v), 8)

    def obj(self, slots, kind=T_OBJECT):
        """slots: dict field number -> value (object) or list of values (array)."""
        if isinstance(slots, dict):
            n = max([k for k, v in slots.items() if v != NULL], default=0)
            vals = [slots.get(i, NULL) for i in range(1, n + 1)]
        else:
            vals = [v for v in slots if v != NULL]
        if not vals:
            return NULL
        data = struct.pack("<I", len(vals) + 1) + b"".join(struct.pack("<I", v) for v in vals)
        return kind | self._raw(data, 4)

    def set_root(self, v):
        struct.pack_into("<BBHI", self.buf, 0, 0, 0, 0, v)


def block(kind, payload):
    raw = 4 + len(payload)
    if raw > 0x3FFFFFFF:
        raise ValueError("block too large")
    return struct.pack("<I", (kind << 30) | raw) + payload + b"\0" * ((-raw) % 8)


def scan(root):
    """-> sorted [(dirname, [(filename, path, stat)])]: every directory, the root as ""."""
    dirs = {}
    for d, subdirs, files in os.walk(root):
        subdirs.sort()
        rel = os.path.relpath(d, root)
        rel = "" if rel == "." else rel
        dirs.setdefault(rel, [])
        for f in sorted(files):
            p = os.path.join(d, f)
            st = os.lstat(p)
            if not stat.S_ISREG(st.st_mode):
                raise SystemExit(f"apkv3: {p}: only regular files are supported")
            dirs.setdefault(rel, []).append((f, p, st))
    return sorted((k, sorted(v, key=lambda x: x[0].encode())) for k, v in dirs.items())


def make(root, info, scripts, mtime, compress):
    db = Adb()
    tree = scan(root)
    installed = 0
    paths = []
    for dname, files in tree:
        fvals = []
        for fname, p, st in files:
            data = open(p, "rb").read()
            installed += len(data)
            acl = db.obj({1: db.int(stat.S_IMODE(st.st_mode)), 2: db.blob(b"root"),
                          3: db.blob(b"root")})
            fvals.append(db.obj({1: db.blob(fname.encode()), 2: acl, 3: db.int(len(data)),
                                 4: db.int(mtime), 5: db.blob(hashlib.sha256(data).digest())}))
        dmode = stat.S_IMODE(os.stat(os.path.join(root, dname) if dname else root).st_mode)
        dacl = db.obj({1: db.int(dmode), 2: db.blob(b"root"), 3: db.blob(b"root")})
        # the root directory has no name (mkpkg passes a NULL name for it)
        paths.append(db.obj({1: db.blob(dname.encode()) if dname else NULL, 2: dacl,
                             3: db.obj(fvals, T_ARRAY)}))
    if scripts and installed == 0:
        installed = 1
    pi = {}
    for k, v in info.items():
        pi[PI[k]] = db.blob(v.encode())
    pi[PI["build-time"]] = db.int(mtime)
    pi[PI["installed-size"]] = db.int(installed)
    pi[PI["hashes"]] = db.blob(b"\0" * UID_LEN)
    uid_off = (pi[PI["hashes"]] & 0x0FFFFFFF) + 1
    pkg = {1: db.obj(pi), 2: db.obj(paths, T_ARRAY)}
    if scripts:
        pkg[3] = db.obj({SCRIPTS[k]: db.blob(v) for k, v in scripts.items()})
    db.set_root(db.obj(pkg))
    # the unique id: SHA-256 of the ADB payload with the id zeroed, truncated (as mkpkg)
    db.buf[uid_off:uid_off + UID_LEN] = hashlib.sha256(bytes(db.buf)).digest()[:UID_LEN]

    out = bytearray(MAGIC + struct.pack("<I", SCHEMA_PACKAGE))
    out += block(BLOCK_ADB, bytes(db.buf))
    for pi_, (dname, files) in enumerate(tree, 1):
        for fi, (fname, p, st) in enumerate(files, 1):
            data = open(p, "rb").read()
            if data:
                out += block(BLOCK_DATA, struct.pack("<II", pi_, fi) + data)
    if compress == "none":
        return bytes(out)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    return b"ADBd" + co.compress(bytes(out)) + co.flush()


def main(argv):
    ap = argparse.ArgumentParser(description="write an apk-tools v3 package")
    ap.add_argument("--root", required=True, help="staging tree: the files as installed")
    ap.add_argument("--out", required=True)
    ap.add_argument("--info", action="append", default=[], help="KEY:VALUE (pkginfo field)")
    ap.add_argument("--script", action="append", default=[], help="TYPE:FILE")
    ap.add_argument("--mtime", type=int,
                    default=int(os.environ.get("SOURCE_DATE_EPOCH", "0") or 0))
    ap.add_argument("--compress", choices=["deflate", "none"], default="deflate")
    a = ap.parse_args(argv)
    info = {}
    for kv in a.info:
        k, sep, v = kv.partition(":")
        if not sep or k not in PI or k in ("hashes", "build-time", "installed-size"):
            ap.error(f"bad --info {kv!r}")
        info[k] = v
    for req in ("name", "version", "arch"):
        if req not in info:
            ap.error(f"--info {req}:... is required")
    scripts = {}
    for kv in a.script:
        k, sep, f = kv.partition(":")
        if not sep or k not in SCRIPTS:
            ap.error(f"bad --script {kv!r}")
        scripts[k] = open(f, "rb").read()
    data = make(a.root, info, scripts, a.mtime, a.compress)
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main(sys.argv[1:])
