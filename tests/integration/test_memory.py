"""Zeroization, proven on the live process.

After init, unseal and sys/seal, every readable page of cofferd is read
through /proc/PID/mem and searched for every share (raw bytes, hex and
base64) and for the root token.  None may remain.
"""
import base64
import os
import re
import signal

import pytest


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


def secrets_of(srv):
    found = []
    for hexkey, b64key in zip(srv.keys, srv.keys_base64):
        raw = bytes.fromhex(hexkey)
        found += [("share raw", raw), ("share hex", hexkey.encode()),
                  ("share hex upper", hexkey.upper().encode()),
                  ("share base64", b64key.encode())]
    found.append(("root token", srv.root_token.encode()))
    # The secret part of the token alone, in case the prefix was split.
    found.append(("root token body", srv.root_token[4:].encode()))
    return found


def leftovers(srv):
    chunks = read_memory(srv.pid)
    assert sum(len(c) for c in chunks) > 1 << 20
    hits = []
    for what, needle in secrets_of(srv):
        for c in chunks:
            if needle in c:
                hits.append(what)
                break
    return hits


@pytest.mark.private
@pytest.mark.skipif(os.environ.get("COFFER_SANITIZE") == "1",
                    reason="ASan maps terabytes of shadow and allocator "
                    "space that /proc/PID/mem cannot be scanned through; "
                    "the plain run of make check covers this")
@pytest.mark.parametrize("storage", ["lmdb", "file"])
@pytest.mark.skipif(os.geteuid() != 0, reason="reading /proc/PID/mem needs root")
def test_nothing_left_after_seal(make_server, storage):
    srv = make_server(storage=storage)
    srv.init(5, 3)
    srv.unseal(srv.keys[:3])
    # Use the token and the shares the way clients do, over several
    # connections, so that every buffer on the way has seen them.
    for _ in range(3):
        assert srv.api("GET", "sys/key-status",
                       token=srv.root_token).status_code == 200
    srv.client(srv.root_token).sys.get_encryption_key_status()
    st = srv.api("PUT", "sys/generate-root/attempt", json={}).json()
    srv.api("PUT", "sys/generate-root/update",
            json={"key": srv.keys[3], "nonce": st["nonce"]})
    srv.api("DELETE", "sys/generate-root/attempt")
    # Positive control: the scan does see what the process holds.
    cluster_id = srv.api("GET", "sys/health").json()["cluster_id"].encode()
    assert any(cluster_id in c for c in read_memory(srv.pid))
    assert srv.api("PUT", "sys/seal", token=srv.root_token).status_code == 204
    # Later requests reuse the connections' buffers, as in real life.
    for _ in range(8):
        srv.api("GET", "sys/seal-status")
    hits = leftovers(srv)
    assert hits == [], "found in memory after sys/seal: %s" % hits
