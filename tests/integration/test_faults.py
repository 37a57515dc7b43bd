"""Storage faults: every storage error becomes a 5xx, nothing half-written.

bin/cofferd-fault is cofferd with its storage wrapped in a faultstore
(backends/faultstore.c), armed by a file named in COFFER_FAULT_ARM.  For
each N, a copy of one initialized data directory is unsealed under the
fault build, the Nth storage call of the armed kinds is made to fail,
and a fixed script of writes runs.  Each answer must be the expected
success or a 5xx in Vault's {"errors": [...]} envelope, never a 4xx.
Then the plain bin/cofferd starts on the same data and checks that
every acknowledged write is there, and that no write, failed or not, is
visible in part: a KV version its metadata does not know, a token
without its accessor, an accessor without its token.
"""
import base64
import os
import re
import shutil

import pytest

import conftest
from conftest import EXTERNAL, ROOT, Server

FAULTD = os.path.join(ROOT, "bin", "cofferd-fault")
PLAIN = base64.b64encode(b"fault tolerant").decode()
POLICY = 'path "kv2/*" { capabilities = ["read"] }'

pytestmark = pytest.mark.private


class FaultServer(Server):
    """The fault build, with its arm file in the work directory."""

    def __init__(self, workdir, **kw):
        super().__init__(workdir, **kw)
        self.armfile = os.path.join(self.workdir, "arm")

    def env(self):
        env = super().env()
        env["COFFER_FAULT_ARM"] = self.armfile
        return env

    def start(self):
        saved = conftest.COFFERD
        conftest.COFFERD = FAULTD
        try:
            return super().start()
        finally:
            conftest.COFFERD = saved

    def arm(self, spec):
        tmp = self.armfile + ".tmp"
        with open(tmp, "w") as f:
            f.write(spec + "\n")
        os.rename(tmp, self.armfile)

    def fault_log(self):
        log = self.read_log()
        return (re.findall(r"faultstore: call (\d+)", log),
                re.findall(r"faultstore: failing call (\d+)", log))


# The script: (name, deps, method, path, body, success statuses).
STEPS = [
    ("mount_kv", [], "POST", "sys/mounts/kv2",
     {"type": "kv", "options": {"version": "2"}}, (204,)),
    ("tune_kv", ["mount_kv"], "POST", "sys/mounts/kv2/tune",
     {"max_lease_ttl": "7200s"}, (204,)),
    ("kv_write1", ["mount_kv"], "POST", "kv2/data/a",
     {"data": {"v": "1"}}, (200,)),
    ("kv_write2", ["mount_kv"], "POST", "kv2/data/a",
     {"data": {"v": "2", "w": "x"}}, (200,)),
    ("kv_patch", ["kv_write2"], "PATCH", "kv2/data/a",
     {"data": {"w": "y"}}, (200,)),
    ("kv_delete", ["kv_write1"], "DELETE", "kv2/data/a", None, (204,)),
    ("kv_destroy", ["kv_write1"], "POST", "kv2/destroy/a",
     {"versions": [1]}, (204,)),
    ("kv_b1", ["mount_kv"], "POST", "kv2/data/b", {"data": {"b": "1"}},
     (200,)),
    ("kv_b2", ["kv_b1"], "POST", "kv2/data/b", {"data": {"b": "2"}},
     (200,)),
    ("kv_b_purge", ["kv_b1"], "DELETE", "kv2/metadata/b", None, (204,)),
    ("policy", [], "PUT", "sys/policies/acl/p1", {"policy": POLICY},
     (204,)),
    ("token1", [], "POST", "auth/token/create", {"policies": ["p1"]},
     (200,)),
    ("token2", [], "POST", "auth/token/create", {"policies": ["p1"]},
     (200,)),
    ("revoke2", ["token2"], "POST", "auth/token/revoke", "token2", (204,)),
    ("mount_transit", [], "POST", "sys/mounts/transit",
     {"type": "transit"}, (204,)),
    ("tkey", ["mount_transit"], "POST", "transit/keys/k1", {}, (200, 204)),
    ("rotate", ["tkey"], "POST", "transit/keys/k1/rotate", {}, (200, 204)),
    ("encrypt", ["tkey"], "POST", "transit/encrypt/k1",
     {"plaintext": PLAIN}, (200,)),
]


def is_5xx_envelope(r):
    if not 500 <= r.status_code < 600:
        return False
    try:
        body = r.json()
    except ValueError:
        return False
    return (r.headers.get("Content-Type") == "application/json" and
            isinstance(body.get("errors"), list) and
            all(isinstance(e, str) for e in body["errors"]))


def run_script(srv):
    """Run STEPS; return {name: response} for those that were sent."""
    out = {}
    acked = set()
    for name, deps, method, path, body, ok in STEPS:
        if not all(d in acked for d in deps):
            continue
        if body == "token2":
            body = {"token": out["token2"].json()["auth"]["client_token"]}
        headers = {}
        if method == "PATCH":
            headers["Content-Type"] = "application/merge-patch+json"
        r = srv.api(method, path, token=srv.root_token, json=body,
                    headers=headers)
        out[name] = r
        if r.status_code in ok:
            acked.add(name)
        else:
            assert is_5xx_envelope(r), (
                "%s %s: %d %s\n%s" % (method, path, r.status_code, r.text,
                                      srv.read_log()[-4000:]))
    return out, acked


def check_state(srv, out, acked):
    """After a restart without faults: acked is there, nothing is half."""
    tok = srv.root_token

    def get(path, **kw):
        return srv.api("GET", path, token=tok, **kw)

    mounts = get("sys/mounts").json()["data"]
    if "mount_kv" in acked:
        assert mounts["kv2/"]["type"] == "kv"
    if "kv2/" in mounts:
        assert mounts["kv2/"]["options"]["version"] == "2"
        t = get("sys/mounts/kv2/tune")
        assert t.status_code == 200, t.text
        if "tune_kv" in acked:
            assert t.json()["data"]["max_lease_ttl"] == 7200
        check_kv(srv, out, acked)
    if "mount_transit" in acked:
        assert mounts["transit/"]["type"] == "transit"
    if "transit/" in mounts:
        check_transit(srv, out, acked)

    p = get("sys/policies/acl/p1")
    if "policy" in acked:
        assert p.status_code == 200, p.text
        assert p.json()["data"]["policy"] == POLICY
    else:
        assert p.status_code in (200, 404), p.text

    check_tokens(srv, out, acked)


def check_kv(srv, out, acked):
    check_kv_key(srv, out, acked, "a", (("kv_write1", {"v": "1"}),
                                        ("kv_write2", {"v": "2", "w": "x"}),
                                        ("kv_patch", {"v": "2", "w": "y"})))
    check_kv_key(srv, out, acked, "b", (("kv_b1", {"b": "1"}),
                                        ("kv_b2", {"b": "2"})))


def check_kv_key(srv, out, acked, key, writes):
    """Every version the metadata lists is whole; no other is visible."""
    tok = srv.root_token
    m = srv.api("GET", "kv2/metadata/" + key, token=tok)
    versions = {}
    current = 0
    if m.status_code == 200:
        md = m.json()["data"]
        versions = md["versions"]
        current = md["current_version"]
        assert sorted(int(v) for v in versions) == list(
            range(md["oldest_version"] or 1, current + 1)), md
    else:
        assert m.status_code == 404, m.text
    purged = key == "b" and "kv_b_purge" in acked
    if purged:
        assert m.status_code == 404, m.text
    want = {}
    for name, data in writes:
        if name in acked and not purged:
            want[out[name].json()["data"]["version"]] = data
    for v in range(1, current + 1):
        r = srv.api("GET", "kv2/data/%s?version=%d" % (key, v), token=tok)
        vm = versions[str(v)]
        if vm["destroyed"] or vm["deletion_time"] != "":
            assert r.status_code == 404, r.text
            continue
        assert r.status_code == 200, (v, vm, r.text)
        if v in want:
            assert r.json()["data"]["data"] == want[v]
    for v in want:
        assert str(v) in versions, (v, versions)
    if key == "a" and "kv_delete" in acked:
        assert versions[str(current)]["deletion_time"] != ""
    if key == "a" and "kv_destroy" in acked:
        assert versions["1"]["destroyed"] is True
    # No version beyond what the metadata knows, none after a purge.
    for v in range(1 if purged else current + 1, current + 3):
        r = srv.api("GET", "kv2/data/%s?version=%d" % (key, v), token=tok)
        assert r.status_code == 404, r.text


def check_transit(srv, out, acked):
    tok = srv.root_token
    k = srv.api("GET", "transit/keys/k1", token=tok)
    if "tkey" in acked:
        assert k.status_code == 200, k.text
    if k.status_code != 200:
        assert k.status_code == 404, k.text
        return
    kd = k.json()["data"]
    assert sorted(kd["keys"]) == [str(i) for i in
                                  range(1, kd["latest_version"] + 1)]
    if "rotate" in acked:
        assert kd["latest_version"] >= 2
    if "encrypt" in acked:
        ct = out["encrypt"].json()["data"]["ciphertext"]
        r = srv.api("POST", "transit/decrypt/k1", token=tok,
                    json={"ciphertext": ct})
        assert r.status_code == 200, r.text
        assert r.json()["data"]["plaintext"] == PLAIN


def check_tokens(srv, out, acked):
    tok = srv.root_token
    for name in ("token1", "token2"):
        if name not in acked:
            continue
        auth = out[name].json()["auth"]
        gone = name == "token2" and "revoke2" in acked
        r = srv.api("POST", "auth/token/lookup", token=tok,
                    json={"token": auth["client_token"]})
        a = srv.api("POST", "auth/token/lookup-accessor", token=tok,
                    json={"accessor": auth["accessor"]})
        if gone:
            assert r.status_code != 200, r.text
            assert a.status_code != 200, a.text
        elif name == "token1":
            assert r.status_code == 200, r.text
        # Token and accessor exist together or not at all.
        assert (r.status_code == 200) == (a.status_code == 200), (
            name, r.text, a.text)
        if r.status_code == 200:
            assert r.json()["data"]["accessor"] == auth["accessor"]
    # Every token's accessor leads back to it.
    r = srv.api("LIST", "auth/token/accessors", token=tok)
    assert r.status_code == 200, r.text
    for acc in r.json()["data"]["keys"]:
        a = srv.api("POST", "auth/token/lookup-accessor", token=tok,
                    json={"accessor": acc})
        assert a.status_code == 200, (acc, a.text)


def initialized_template(tmp_path, storage):
    """Init once on the plain build; each round copies its data."""
    d = tmp_path / "template"
    d.mkdir()
    srv = Server(d, storage=storage)
    srv.start()
    try:
        srv.init_unseal()
    finally:
        assert srv.stop() == 0
    return srv


def one_round(tmp_path, template, storage, spec, i):
    d = tmp_path / ("round%d" % i)
    d.mkdir()
    f = FaultServer(d, storage=storage)
    shutil.copytree(template.datadir, f.datadir)
    f.keys, f.root_token = template.keys, template.root_token
    f.start()
    try:
        f.unseal()
        f.arm(spec)
        out, acked = run_script(f)
        calls, failed = f.fault_log()
        log = f.read_log()
    finally:
        rc = f.stop()
    assert rc == 0, "cofferd-fault exited with %s:\n%s" % (rc, f.read_log())
    # The same data under the production build, without faults.
    p = Server(d, storage=storage)
    p.keys, p.root_token = f.keys, f.root_token
    p.start()
    try:
        p.unseal()
        try:
            check_state(p, out, acked)
        except AssertionError as e:
            raise AssertionError("after %s (acked %s): %s\n%s" % (
                spec, sorted(acked), e, log[-6000:])) from None
    finally:
        assert p.stop() == 0
    shutil.rmtree(d)
    return len(calls) + len(failed), len(failed)


def sweep(tmp_path, storage, kinds, limit):
    """Fail call 1, 2, ... of kinds until the script makes fewer."""
    if EXTERNAL:
        pytest.skip("needs a private server")
    template = initialized_template(tmp_path, storage)
    fired = 0
    for n in range(1, limit + 1):
        counted, failed = one_round(tmp_path, template, storage,
                                    "%s:%d" % (kinds, n), n)
        if failed == 0:
            break
        fired += 1
    else:
        pytest.fail("the script makes more than %d %s calls" % (limit,
                                                                kinds))
    # Without faults that fired, the sweep proved nothing.
    assert fired > 5


@pytest.mark.parametrize("storage", ["lmdb", "file"])
def test_write_faults(tmp_path, storage):
    sweep(tmp_path, storage, "writes", 200)


def test_read_faults(tmp_path):
    sweep(tmp_path, "lmdb", "reads", 400)


def test_sticky_faults(tmp_path):
    """From call N on every write fails, as when a disk goes away."""
    if EXTERNAL:
        pytest.skip("needs a private server")
    template = initialized_template(tmp_path, "lmdb")
    for i, n in enumerate((1, 3, 8)):
        one_round(tmp_path, template, "lmdb", "writes:%d+" % n, i)
