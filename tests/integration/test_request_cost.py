"""What a plain request costs in system calls, and its request id.

A read served from a warm server makes no stat of a ".htpasswd" (civetweb
looks for one unless an authorization handler is set) and draws no
random bytes from the kernel per request (request ids come from a
per-thread pool).  strace counts the calls of the live process.
"""
import re
import shutil
import subprocess
import time
import uuid

import pytest
import requests

N = 200


@pytest.mark.private
@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_reads_make_no_stat_and_no_getrandom(unsealed):
    s = requests.Session()
    url = unsealed.url + "/v1/auth/token/lookup-self"
    hdr = {"X-Vault-Token": unsealed.root_token}
    assert s.get(url, headers=hdr).status_code == 200
    out = unsealed.logpath + ".strace"
    st = subprocess.Popen(["strace", "-f", "-qq", "-e",
                           "trace=newfstatat,stat,getrandom", "-o", out,
                           "-p", str(unsealed.pid)])
    try:
        time.sleep(1.0)     # attached to every thread
        for _ in range(N):
            assert s.get(url, headers=hdr).status_code == 200
        time.sleep(0.3)
    finally:
        st.terminate()
        st.wait(timeout=30)
    with open(out) as f:
        text = f.read()
    assert ".htpasswd" not in text
    assert len(re.findall(r"\bgetrandom\(", text)) < N / 8, text[-2000:]


def test_request_ids_are_unique_v4_uuids(unsealed):
    s = requests.Session()
    hdr = {"X-Vault-Token": unsealed.root_token}
    ids = set()
    for _ in range(300):
        r = s.get(unsealed.url + "/v1/auth/token/lookup-self", headers=hdr)
        rid = r.json()["request_id"]
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                            r"[89ab][0-9a-f]{3}-[0-9a-f]{12}", rid), rid
        assert uuid.UUID(rid).version == 4
        ids.add(rid)
    assert len(ids) == 300
