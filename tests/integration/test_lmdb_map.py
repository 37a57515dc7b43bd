"""The LMDB map stays out of cofferd's locked memory.

cofferd locks its memory (mlockall, MCL_FUTURE) before it opens
storage; the LMDB map holds only ciphertext backed by data.mdb, so
lmdb.c unlocks it after open and after every resize: reading stored
secrets pins no page of data.mdb, while the process's own memory stays
locked.
"""
import os
import re

import pytest


def locked_kib(pid):
    """Locked kB of the data.mdb mappings and of all the others."""
    mdb = other = 0
    name = ""
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = re.match(r"[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)", line)
            if m:
                name = m.group(1)
                continue
            if line.startswith("Locked:"):
                kib = int(line.split()[1])
                if name.endswith("data.mdb"):
                    mdb += kib
                else:
                    other += kib
    return mdb, other


def with_mlock(srv):
    srv.stop()
    with open(srv.confpath) as f:
        conf = f.read()
    with open(srv.confpath, "w") as f:
        f.write(conf.replace("disable_mlock = true", "disable_mlock = false"))
    try:
        srv.start()
    except RuntimeError as e:
        if "lock memory" in str(e):
            pytest.skip("cofferd cannot lock memory here")
        raise
    return srv


def test_map_not_locked(make_server):
    srv = with_mlock(make_server(storage="lmdb"))
    srv.init_unseal()
    tok = srv.root_token
    r = srv.api("POST", "sys/mounts/secret", tok,
                json={"type": "kv", "options": {"version": "2"}})
    assert r.status_code in (200, 204), r.text
    # Past the 64 MiB initial map, so that it is remapped at least once.
    big = "x" * (1 << 20)
    for i in range(72):
        r = srv.api("POST", "secret/data/big%d" % i, tok,
                    json={"data": {"v": big}})
        assert r.status_code == 200, r.text
    assert "map grown" in srv.read_log()
    for i in range(72):
        r = srv.api("GET", "secret/data/big%d" % i, tok)
        assert r.status_code == 200 and r.json()["data"]["data"]["v"] == big
    mdb, other = locked_kib(srv.pid)
    if other == 0:
        # AddressSanitizer makes mlockall a no-op: nothing to compare.
        pytest.skip("nothing of cofferd's is locked (a sanitizer build)")
    assert mdb == 0, "%d kB of data.mdb locked" % mdb
