"""Zeroization, proven on the live process.

The test drives cofferd through every path that handles key material:
init, unseal (hex and base64 shares), rotate, generate-root, rekey with
and without verification, seal and unseal again.  It recovers every key
the server made from what it returned and stored: the unseal key (KEK)
by combining the shares here, the root key by opening the stored
"core/root-key" with it, and the data keys by opening "core/keyring"
with the root key.

Then, reading every readable page of cofferd through /proc/PID/mem:
- while unsealed, the root key and every data key must be found (the
  scan sees what the process holds), and no share or KEK (they are
  wiped as soon as they are used);
- after sys/seal, nothing may remain: no share of any generation (raw,
  hex, base64), no KEK, no root key, no data key, no root token and no
  one-time pad.
"""
import base64
import ctypes
import ctypes.util
import os
import re
import struct

import pytest

NONCE_LEN = 24      # XChaCha20-Poly1305
TAG_LEN = 16


def read_memory(pid):
    """All readable private memory of pid, one bytes object per region."""
    chunks = []
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)",
                         line)
            start, end, perms, name = (int(m.group(1), 16),
                                       int(m.group(2), 16), m.group(3),
                                       m.group(4))
            if perms[0] != "r" or name.startswith("[v"):
                continue
            # Skip the LMDB map and files mapped read-only from disk.
            if name.endswith(".mdb") or (name.startswith("/") and
                                         "w" not in perms):
                continue
            try:
                mem.seek(start)
                chunks.append(mem.read(end - start))
            except (OSError, ValueError, OverflowError):
                continue
    return chunks


# --- Shamir over GF(2^8) (AES polynomial), to find the KEK ---------------

def gf_mul(a, b):
    p = 0
    for _ in range(8):
        if b & 1:
            p ^= a
        hi = a & 0x80
        a = (a << 1) & 0xff
        if hi:
            a ^= 0x1b
        b >>= 1
    return p


def gf_inv(a):
    r = 1
    for _ in range(254):
        r = gf_mul(r, a)
    return r


def combine(shares_hex):
    """Vault's shamir.Combine: y-bytes then one x byte per share."""
    parts = [bytes.fromhex(s) for s in shares_hex]
    if len(parts) == 1:
        return parts[0]
    xs = [p[-1] for p in parts]
    out = bytearray(len(parts[0]) - 1)
    for j, pj in enumerate(parts):
        basis = 1
        for m, xm in enumerate(xs):
            if m != j:
                basis = gf_mul(basis, gf_mul(xm, gf_inv(xm ^ xs[j])))
        for i in range(len(out)):
            out[i] ^= gf_mul(pj[i], basis)
    return bytes(out)


# --- reading what the server stored ---------------------------------------

class MDBVal(ctypes.Structure):
    _fields_ = [("mv_size", ctypes.c_size_t), ("mv_data", ctypes.c_void_p)]


def lmdb_get(path, key):
    lib = ctypes.CDLL(ctypes.util.find_library("lmdb"))
    env, txn, dbi = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_uint()
    assert lib.mdb_env_create(ctypes.byref(env)) == 0
    try:
        # Read-only, alongside the server (LMDB's lock file allows it).
        assert lib.mdb_env_open(env, path.encode(), 0x20000, 0o600) == 0
        assert lib.mdb_txn_begin(env, None, 0x20000, ctypes.byref(txn)) == 0
        try:
            assert lib.mdb_dbi_open(txn, None, 0, ctypes.byref(dbi)) == 0
            k = MDBVal(len(key), ctypes.cast(ctypes.c_char_p(key.encode()),
                                             ctypes.c_void_p))
            v = MDBVal()
            assert lib.mdb_get(txn, dbi, ctypes.byref(k),
                               ctypes.byref(v)) == 0
            return ctypes.string_at(v.mv_data, v.mv_size)
        finally:
            lib.mdb_txn_abort(txn)
    finally:
        lib.mdb_env_close(env)


def stored(srv, key):
    if srv.storage == "lmdb":
        return lmdb_get(srv.datadir, key)
    folder, name = key.rsplit("/", 1)
    with open(os.path.join(srv.datadir, folder, "_" + name), "rb") as f:
        data = f.read()
    assert data[:4] == b"CFV1"
    klen = struct.unpack(">I", data[4:8])[0]
    assert data[8:8 + klen] == key.encode()
    return data[8 + klen:]


def aead_open(key, aad, blob):
    """barrier.c's envelope: version, term, nonce, ciphertext and tag."""
    lib = ctypes.CDLL(ctypes.util.find_library("sodium"))
    nonce, ct = blob[5:5 + NONCE_LEN], blob[5 + NONCE_LEN:]
    out = ctypes.create_string_buffer(len(ct))
    outlen = ctypes.c_ulonglong()
    rc = lib.crypto_aead_xchacha20poly1305_ietf_decrypt(
        out, ctypes.byref(outlen), None, ct, ctypes.c_ulonglong(len(ct)),
        aad.encode(), ctypes.c_ulonglong(len(aad)), nonce, key)
    assert rc == 0, "cannot open %s" % aad
    return out.raw[:outlen.value]


def server_keys(srv, shares):
    """The KEK, root key and data keys in use, from shares and storage."""
    kek = combine(shares)
    assert len(kek) == 32
    root = aead_open(kek, "core/root-key", stored(srv, "core/root-key"))
    ring = aead_open(root, "core/keyring", stored(srv, "core/keyring"))
    assert ring[:4] == b"CKR1"
    n = struct.unpack(">I", ring[8:12])[0]
    data_keys = [ring[12 + i * 44 + 12:12 + i * 44 + 44] for i in range(n)]
    assert len(root) == 32 and all(len(k) == 32 for k in data_keys)
    return kek, root, data_keys


# --- the scenario ----------------------------------------------------------

def share_needles(label, keys_hex, keys_b64):
    found = []
    for hexkey, b64key in zip(keys_hex, keys_b64):
        found += [(label + " raw", bytes.fromhex(hexkey)),
                  (label + " hex", hexkey.encode()),
                  (label + " hex upper", hexkey.upper().encode()),
                  (label + " base64", b64key.encode())]
    return found


def decode_root(encoded, otp):
    raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    return bytes(a ^ b for a, b in zip(raw, otp.encode())).decode()


def hits(pid, needles):
    chunks = read_memory(pid)
    assert sum(len(c) for c in chunks) > 1 << 20
    return sorted({what for what, needle in needles
                   if any(needle in c for c in chunks)})


@pytest.mark.private
@pytest.mark.skipif(os.environ.get("COFFER_SANITIZE") in ("1", "thread"),
                    reason="ASan and TSan map terabytes of shadow and "
                    "allocator space that /proc/PID/mem cannot be scanned "
                    "through; the plain run of make check covers this")
@pytest.mark.parametrize("storage", ["lmdb", "file"])
@pytest.mark.skipif(os.geteuid() != 0,
                    reason="reading /proc/PID/mem needs root")
def test_nothing_left_after_seal(make_server, storage):
    srv = make_server(storage=storage)
    res = srv.init(5, 3)
    gone = share_needles("init share", res["keys"], res["keys_base64"])
    keys = [server_keys(srv, res["keys"][:3])]
    # Unseal through hvac, hex and base64 alike.
    c = srv.client()
    c.sys.submit_unseal_key(res["keys"][0])
    c.sys.submit_unseal_key(res["keys_base64"][2])
    assert c.sys.submit_unseal_key(res["keys"][4])["sealed"] is False
    # Use the token the way clients do, over several connections.
    for _ in range(3):
        assert srv.api("GET", "sys/key-status",
                       token=srv.root_token).status_code == 200
    root = srv.client(srv.root_token)
    root.sys.get_encryption_key_status()
    root.sys.rotate_encryption_key()

    # generate-root: a server-made OTP, and a wrong share on the way.
    st = c.sys.start_root_token_generation()
    otp, nonce = st["otp"], st["nonce"]
    c.sys.generate_root(res["keys"][1], nonce)
    srv.api("PUT", "sys/generate-root/update",
            json={"key": "ab" * 33, "nonce": nonce})
    r = srv.api("PUT", "sys/generate-root/update",
                json={"key": res["keys"][3], "nonce": nonce})
    assert r.status_code == 400
    c.sys.generate_root(res["keys"][3], nonce)
    c.sys.generate_root(res["keys_base64"][1], nonce)
    st = c.sys.generate_root(res["keys"][0], nonce)
    token2 = decode_root(st["encoded_token"], otp)
    assert srv.api("GET", "sys/key-status", token=token2).status_code == 200

    # Rekey straight, then rekey with verification.
    rk = c.sys.start_rekey(secret_shares=4, secret_threshold=2)
    c.sys.rekey(res["keys"][2], rk["nonce"])
    c.sys.rekey(res["keys"][3], rk["nonce"])
    st = c.sys.rekey(res["keys"][4], rk["nonce"])
    gen2 = st
    gone += share_needles("rekey share", gen2["keys"], gen2["keys_base64"])
    keys.append(server_keys(srv, gen2["keys"][:2]))
    rk = c.sys.start_rekey(secret_shares=3, secret_threshold=2,
                           require_verification=True)
    c.sys.rekey(gen2["keys"][0], rk["nonce"])
    st = c.sys.rekey(gen2["keys_base64"][3], rk["nonce"])
    gen3, vnonce = st, st["verification_nonce"]
    c.sys.rekey_verify(gen3["keys"][2], vnonce)
    assert c.sys.rekey_verify(gen3["keys_base64"][0], vnonce)["complete"]
    gone += share_needles("verified share", gen3["keys"],
                          gen3["keys_base64"])
    keys.append(server_keys(srv, gen3["keys"][1:]))

    # Seal and unseal once more with the last shares.
    root.sys.seal()
    for k in gen3["keys"][:2]:
        c.sys.submit_unseal_key(k)
    assert c.sys.read_seal_status()["sealed"] is False
    kek, live_root, data_keys = keys[-1]
    assert len(data_keys) == 2

    for i, (k, r, d) in enumerate(keys):
        gone += [("KEK %d" % i, k), ("root key %d" % i, r)]
        gone += [("data key %d.%d" % (i, t), dk) for t, dk in enumerate(d)]
    gone += [("root token", srv.root_token.encode()),
             ("root token body", srv.root_token[4:].encode()),
             ("generated root token", token2.encode()),
             ("generated root token body", token2[4:].encode()),
             ("one-time pad", otp.encode())]

    # Positive control while unsealed: the scan sees the keys in use ...
    live = [("root key", live_root)] + \
        [("data key %d" % t, dk) for t, dk in enumerate(data_keys)]
    assert hits(srv.pid, live) == sorted(w for w, _ in live)
    # ... and shares and KEKs are already gone.
    early = [(w, n) for w, n in gone if "share" in w or "KEK" in w]
    assert hits(srv.pid, early) == []

    assert srv.api("PUT", "sys/seal", token=token2).status_code == 204
    # Later requests reuse the connections' buffers, as in real life.
    for _ in range(8):
        srv.api("GET", "sys/seal-status")
    left = hits(srv.pid, gone)
    assert left == [], "found in memory after sys/seal: %s" % left
