#!/usr/bin/env python3
"""Which crate takes how much of a binary's .text: `cargo bloat --crates` for any target.

cargo-bloat drives `cargo build` itself, so it cannot measure what targets/build.sh builds
(cargo-zigbuild, nightly build-std for MIPS). This reads the symbol table of an unstripped
build instead (`llvm-nm`, or binutils' `nm`, which knows every ELF machine when it is
binutils-multiarch) and adds up the sizes of the code symbols by the crate their demangled
name starts with.

    benches/crate_sizes.py BINARY [-n ROWS] [--markdown] [--split-std] [--build-dir target/TRIPLE/release]

BINARY must keep its symbols: benches/crate_sizes.sh TARGET builds one that way. The rules,
as cargo-bloat's: a function counts for the crate of its path (`redb::tree::...` -> redb);
a trait method `<A as B>::f` for A's crate, or B's when A is a std type and B is not (so a
generic std container's code made for our types stays std's, as cargo-bloat does); code
that fat LTO inlined into a caller counts for the caller (most small crates disappear into
`leither` that way); symbols without a Rust path are C: Lua's (`lua*`), ring's C and
assembly (`ring_core_*`), the rest musl libc and compiler builtins; with --build-dir, the
C archives the build scripts made (Lua's, ring's) also name their static functions. What no symbol covers (alignment padding, code without a symbol) is a row of its own.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

STD = {"std", "core", "alloc", "std_detect", "panic_abort", "rustc_demangle", "compiler_builtins"}
HASH = re.compile(r"::h[0-9a-f]{16}$")
PATH_START = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*")


def nm_tool():
    for t in ("llvm-nm", "nm"):
        if shutil.which(t):
            return t
    sys.exit("crate_sizes: neither llvm-nm nor nm found (apt-get install llvm or binutils-multiarch)")


def text_size(binary):
    """Size of .text from the section headers (readelf -SW), or None."""
    tool = shutil.which("llvm-readelf") or shutil.which("readelf")
    if not tool:
        return None
    out = subprocess.run([tool, "-SW", binary], capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.replace("[ ", "[").split()
        # [Nr] Name Type Address Off Size ...
        if len(f) > 5 and f[1] == ".text":
            return int(f[5], 16)
    return None


def first_path_crate(s):
    """Crate of the first path in s, after references, pointers, slices and dyn."""
    s = s.lstrip()
    for prefix in ("&mut ", "&", "*const ", "*mut ", "[", "(", "dyn ", "impl "):
        while s.startswith(prefix):
            s = s[len(prefix):].lstrip()
    if s.startswith("<"):
        return impl_crate(s)
    m = PATH_START.match(s)
    if not m:
        return None
    word = m.group(0)
    return word if s[len(word):].startswith("::") else None  # a bare word is a primitive type


def split_impl(s):
    """'<A as B>::f' -> ('A', 'B'); '<A>::f' -> ('A', None); None when unbalanced."""
    depth = 0
    for i, c in enumerate(s):
        if c == "<":
            depth += 1
        elif c == ">" and (i == 0 or s[i - 1] != "-"):
            depth -= 1
            if depth == 0:
                inner = s[1:i]
                break
    else:
        return None
    depth = 0
    for i, c in enumerate(inner):
        if c in "<([":
            depth += 1
        elif c in ")]" or (c == ">" and (i == 0 or inner[i - 1] != "-")):
            depth -= 1
        elif depth == 0 and inner.startswith(" as ", i):
            return inner[:i], inner[i + 4:]
    return inner, None


def impl_crate(name):
    parts = split_impl(name)
    if parts is None:
        return None
    a, b = parts
    ca = first_path_crate(a)
    cb = first_path_crate(b) if b else None
    if (ca is None or ca in STD) and cb and cb not in STD:
        return cb
    # `<str>::to_lowercase`, `<[T]>::sort`, `<u64 as Display>::fmt`: a primitive's impl is core's
    return ca or cb or "core"


LEGACY = {"$LT$": "<", "$GT$": ">", "$RF$": "&", "$BP$": "*", "$C$": ",", "$LP$": "(",
          "$RP$": ")", "$SP$": "@"}
LEGACY_ESC = re.compile(r"\$(LT|GT|RF|BP|C|LP|RP|SP|u[0-9a-f]{2,6})\$")


def unescape(name):
    """The legacy mangling's escapes, which LLVM's demangler leaves: `_$LT$a..b$GT$` -> `<a::b>`."""
    if "$" not in name and ".." not in name:
        return name
    if name.startswith("_$"):
        name = name[1:]
    name = LEGACY_ESC.sub(lambda m: LEGACY.get(m.group(0)) or chr(int(m.group(1)[1:], 16)), name)
    return name.replace("..", "::")


def c_symbols(build_dir):
    """Defined symbol -> library, from the C archives build scripts left in BUILD_DIR/build/*/out
    (static functions of Lua or ring have names like `llex`, which only this tells apart)."""
    owner = {}
    for ar in glob.glob(os.path.join(build_dir, "build", "*", "out", "**", "*.a"), recursive=True):
        pkg = os.path.relpath(ar, os.path.join(build_dir, "build")).split(os.sep)[0]
        pkg = re.sub(r"-[0-9a-f]{16}$", "", pkg)
        label = {"mlua-sys": "[C] Lua (mlua-sys)", "ring": "[C/asm] ring"}.get(pkg, f"[C] {pkg}")
        out = subprocess.run([nm_tool(), "--defined-only", ar], capture_output=True, text=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "tTwW":
                owner.setdefault(f[2], label)
    return owner


def crate_of(name, owner=None):
    if owner and name in owner:
        return owner[name]
    name = HASH.sub("", unescape(name))
    if name.startswith("<"):
        c = impl_crate(name)
        return c if c else "[Rust, unknown crate]"
    if "::" in name:
        c = first_path_crate(name)
        return c if c else "[Rust, unknown crate]"
    if name.startswith("OUTLINED_FUNCTION_"):
        return "[outlined: code LLVM's machine outliner took out of any crate]"
    if name.startswith(("lua", "luaL_", "luaopen_")):
        return "[C] Lua (mlua-sys)"
    if "ring_core" in name:
        return "[C/asm] ring"
    return "[C] musl libc, compiler builtins" + ("" if owner else ", static C functions")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("-n", type=int, default=20, help="rows (the rest are summed)")
    ap.add_argument("--markdown", action="store_true", help="a Markdown table")
    ap.add_argument("--build-dir", help="cargo's target/<triple>/release: names the C static functions")
    ap.add_argument("--split-std", action="store_true", help="core, alloc and std apart (as cargo bloat's)")
    a = ap.parse_args()
    owner = c_symbols(a.build_dir) if a.build_dir else None
    out = subprocess.run([nm_tool(), "--print-size", "--size-sort", "-C", a.binary],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"crate_sizes: nm failed: {out.stderr.strip()[:300]}")
    sizes, counted, seen = {}, 0, set()
    for line in out.stdout.splitlines():
        f = line.split(None, 3)
        if len(f) < 4 or f[2] not in "tTwW" or int(f[1], 16) == 0 or (f[0], f[1]) in seen:
            continue  # not code, a label, or another name for code counted (memcpy/__memcpy)
        seen.add((f[0], f[1]))
        size = int(f[1], 16)
        c = crate_of(f[3], owner)
        if c in STD and not a.split_std:
            c = "std (core, alloc, std, ...)"
        sizes[c] = sizes.get(c, 0) + size
        counted += size
    if not sizes:
        sys.exit("crate_sizes: no code symbols: is the binary stripped? (benches/crate_sizes.sh builds one with symbols)")
    text = text_size(a.binary)
    rows = sorted(sizes.items(), key=lambda kv: -kv[1])
    shown, rest = rows[: a.n], rows[a.n:]
    if rest:
        shown.append((f"{len(rest)} other crates", sum(s for _, s in rest)))
    if text and text > counted:
        shown.append(("[no symbol: padding, unnamed code]", text - counted))
    total = text or counted
    if a.markdown:
        print("| crate | .text | share |")
        print("|---|---|---|")
    for c, s in shown:
        kib = f"{s / 1024:,.1f} KiB" if s < 1 << 20 else f"{s / 1048576:.2f} MiB"
        pct = f"{100 * s / total:.1f}%"
        print(f"| {c} | {kib} | {pct} |" if a.markdown else f"{c:40} {s:>10} {kib:>12} {pct:>7}")
    print(f"{'' if not a.markdown else chr(10)}.text {total} bytes ({total / 1048576:.2f} MiB), "
          f"{counted} in symbols")


if __name__ == "__main__":
    main()
