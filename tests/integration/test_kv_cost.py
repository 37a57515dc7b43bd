"""What a KV v2 write costs in storage reads, counted by sys/metrics.

A write's ACL existence check and its handler share one read of the
secret's metadata, and the mount's config (usually absent) is read once
per mount while the node stays active, not on every write: a first
write of a secret makes one storage read, a rewrite of a cached one
none.  Config writes, tuning and a step down still take effect.
"""
import re

import pytest


def gets(srv):
    r = srv.api("GET", "sys/metrics", token=srv.root_token,
                params={"format": "prometheus"})
    assert r.status_code == 200, r.text
    m = re.search(r"^vault_barrier_get_count(?:\{\})? (\S+)$", r.text,
                  re.M)
    assert m, r.text
    return float(m.group(1))


@pytest.fixture
def kv2(unsealed):
    c = unsealed.client(unsealed.root_token)
    c.sys.enable_secrets_engine("kv", path="kv2", options={"version": "2"})
    return unsealed


def write(srv, key, cas=None, status=200):
    body = {"data": {"a": key}}
    if cas is not None:
        body["options"] = {"cas": cas}
    r = srv.api("POST", "kv2/data/" + key, token=srv.root_token, json=body)
    assert r.status_code == status, r.text
    return r


N = 20


def test_first_write_reads_metadata_once_and_no_config(kv2):
    write(kv2, "warm")          # the config is read once per mount
    g0 = gets(kv2)
    for i in range(N):
        write(kv2, "new%d" % i)
    g1 = gets(kv2)
    # One metadata read each (absent), nothing else; one spare for
    # whatever sys/metrics itself reads.
    assert g1 - g0 <= N + 1, (g0, g1)


def test_rewrite_of_cached_secret_reads_nothing(kv2):
    write(kv2, "hot")
    write(kv2, "hot")
    g0 = gets(kv2)
    for _ in range(N):
        write(kv2, "hot")
    g1 = gets(kv2)
    assert g1 - g0 <= 1, (g0, g1)


def test_cached_config_follows_config_writes(kv2):
    srv = kv2
    write(srv, "c1")
    r = srv.api("POST", "kv2/config", token=srv.root_token,
                json={"cas_required": True, "max_versions": 2})
    assert r.status_code in (200, 204), r.text
    r = write(srv, "c1", status=400)
    assert "check-and-set parameter required" in r.text
    for v in range(1, 5):
        write(srv, "c1", cas=v)
    r = srv.api("GET", "kv2/metadata/c1", token=srv.root_token)
    assert sorted(r.json()["data"]["versions"]) == ["4", "5"]
    r = srv.api("POST", "kv2/config", token=srv.root_token,
                json={"cas_required": False})
    assert r.status_code in (200, 204), r.text
    write(srv, "c1")


def test_cached_config_survives_tune_and_seal(kv2):
    srv = kv2
    r = srv.api("POST", "kv2/config", token=srv.root_token,
                json={"cas_required": True})
    assert r.status_code in (200, 204), r.text
    write(srv, "t", status=400)
    r = srv.api("POST", "sys/mounts/kv2/tune", token=srv.root_token,
                json={"default_lease_ttl": "1h"})
    assert r.status_code in (200, 204), r.text
    write(srv, "t", status=400)
    srv.api("PUT", "sys/seal", token=srv.root_token)
    srv.unseal()
    write(srv, "t", status=400)
    write(srv, "t", cas=0)
