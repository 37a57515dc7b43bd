"""Mounts, KV v1 and v2, cubbyhole, through hvac, on lmdb and file."""
import concurrent.futures

import hvac
import pytest
import requests


@pytest.fixture
def kv(server):
    """An unsealed server (lmdb or file) with kv1/ and kv2/ mounted."""
    server.init_unseal()
    c = server.client(server.root_token)
    c.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"})
    c.sys.enable_secrets_engine("kv", path="kv2", options={"version": "2"})
    return server, c


def test_mount_lifecycle(kv):
    srv, c = kv
    mounts = c.sys.list_mounted_secrets_engines()["data"]
    assert mounts["kv2/"]["type"] == "kv"
    assert mounts["kv2/"]["options"] == {"version": "2"}
    assert mounts["cubbyhole/"]["type"] == "cubbyhole"
    assert mounts["kv1/"]["accessor"].startswith("kv_")
    c.sys.tune_mount_configuration("kv1", default_lease_ttl="1h",
                                   description="tuned")
    t = c.sys.read_mount_configuration("kv1")["data"]
    assert t["default_lease_ttl"] == 3600 and t["description"] == "tuned"
    c.secrets.kv.v1.create_or_update_secret("a", {"x": "1"}, mount_point="kv1")
    c.sys.move_backend("kv1", "moved")
    assert c.secrets.kv.v1.read_secret("a", mount_point="moved")["data"] == {"x": "1"}
    c.sys.disable_secrets_engine("moved")
    c.sys.enable_secrets_engine("kv", path="moved")
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.secrets.kv.v1.read_secret("a", mount_point="moved")
    # Mounts persist.
    srv.restart()
    srv.unseal()
    assert "kv2/" in c.sys.list_mounted_secrets_engines()["data"]


@pytest.mark.parametrize("body,msg", [
    ({"type": "kv"}, ""),
    ({}, "backend type must be specified"),
    ({"type": "nosuch"}, "not available"),
    ({"type": "transitx"}, ""),
    ({"type": "cubbyhole"}, "not mountable"),
    ({"type": "kv", "config": {"default_lease_ttl": "2h",
                               "max_lease_ttl": "1h"}}, "greater than"),
])
def test_mount_errors(kv, body, msg):
    srv, c = kv
    r = srv.api("POST", "sys/mounts/kv2", token=srv.root_token, json=body)
    assert r.status_code == 400, r.text
    assert msg in r.json()["errors"][0]
    r = srv.api("POST", "sys/mounts/sys", token=srv.root_token,
                json={"type": "kv"})
    assert r.status_code == 400
    r = srv.api("DELETE", "sys/mounts/cubbyhole", token=srv.root_token)
    assert r.status_code == 400


def test_kv_v1(kv):
    srv, c = kv
    v1 = c.secrets.kv.v1
    v1.create_or_update_secret("app/db", {"user": "u", "pw": "p"},
                               mount_point="kv1")
    v1.create_or_update_secret("app", {"k": "v"}, mount_point="kv1")
    r = v1.read_secret("app/db", mount_point="kv1")
    assert r["data"] == {"user": "u", "pw": "p"}
    assert r["lease_duration"] == 2764800
    assert v1.list_secrets("", mount_point="kv1")["data"]["keys"] == ["app", "app/"]
    r = srv.api("GET", "kv1/?list=true", token=srv.root_token)
    assert r.json()["data"]["keys"] == ["app", "app/"]
    v1.delete_secret("app/db", mount_point="kv1")
    with pytest.raises(hvac.exceptions.InvalidPath):
        v1.read_secret("app/db", mount_point="kv1")
    r = srv.api("PUT", "kv1/x", token=srv.root_token, json={})
    assert r.status_code == 400
    r = srv.api("PUT", "kv1/x", token=srv.root_token, data=b"[1,2]")
    assert r.status_code == 400


def test_kv_v2_versions(kv):
    srv, c = kv
    v2 = c.secrets.kv.v2
    w = v2.create_or_update_secret("app", {"pw": "1"}, mount_point="kv2")
    assert w["data"]["version"] == 1
    assert w["data"]["created_time"].endswith("Z")
    v2.create_or_update_secret("app", {"pw": "2"}, cas=1, mount_point="kv2")
    with pytest.raises(hvac.exceptions.InvalidRequest) as e:
        v2.create_or_update_secret("app", {"pw": "x"}, cas=1,
                                   mount_point="kv2")
    assert "check-and-set parameter did not match" in str(e.value)
    r = v2.read_secret_version("app", mount_point="kv2")["data"]
    assert r["data"] == {"pw": "2"} and r["metadata"]["version"] == 2
    r = v2.read_secret_version("app", version=1, mount_point="kv2")["data"]
    assert r["data"] == {"pw": "1"}
    v2.patch("app", {"extra": "e"}, mount_point="kv2")
    r = v2.read_secret_version("app", mount_point="kv2")["data"]
    assert r["data"] == {"pw": "2", "extra": "e"}
    v2.delete_latest_version_of_secret("app", mount_point="kv2")
    r = srv.api("GET", "kv2/data/app", token=srv.root_token)
    assert r.status_code == 404
    assert r.json()["data"]["data"] is None
    assert r.json()["data"]["metadata"]["deletion_time"] != ""
    v2.undelete_secret_versions("app", versions=[3], mount_point="kv2")
    assert v2.read_secret_version("app", mount_point="kv2")["data"]["data"]["extra"] == "e"
    v2.destroy_secret_versions("app", versions=[1], mount_point="kv2")
    meta = v2.read_secret_metadata("app", mount_point="kv2")["data"]
    assert meta["current_version"] == 3
    assert meta["versions"]["1"]["destroyed"] is True
    r = srv.api("GET", "kv2/data/app?version=1", token=srv.root_token)
    assert r.status_code == 404
    v2.update_metadata("app", max_versions=2, mount_point="kv2")
    r = srv.api("POST", "kv2/metadata/app", token=srv.root_token,
                json={"custom_metadata": {"owner": "team"}})
    assert r.status_code == 204
    v2.create_or_update_secret("app", {"pw": "4"}, mount_point="kv2")
    meta = v2.read_secret_metadata("app", mount_point="kv2")["data"]
    assert sorted(meta["versions"]) == ["3", "4"]
    assert meta["custom_metadata"] == {"owner": "team"}
    assert meta["oldest_version"] == 3
    assert v2.list_secrets("", mount_point="kv2")["data"]["keys"] == ["app"]
    v2.delete_metadata_and_all_versions("app", mount_point="kv2")
    with pytest.raises(hvac.exceptions.InvalidPath):
        v2.read_secret_metadata("app", mount_point="kv2")


def test_kv_v2_config_and_bad_input(kv):
    srv, c = kv
    v2 = c.secrets.kv.v2
    v2.configure(max_versions=5, cas_required=True, mount_point="kv2")
    cfg = v2.read_configuration(mount_point="kv2")["data"]
    assert cfg["max_versions"] == 5 and cfg["cas_required"] is True
    r = srv.api("POST", "kv2/data/x", token=srv.root_token,
                json={"data": {"a": 1}})
    assert r.status_code == 400 and "required" in r.json()["errors"][0]
    t = srv.root_token
    for body in [{"data": "notobj", "options": {"cas": 0}},
                 {"options": {"cas": 0}},
                 {"data": {"a": 1}, "options": {"cas": "zero"}}]:
        r = srv.api("POST", "kv2/data/x", token=t, json=body)
        assert r.status_code == 400, r.text
    for q in ["version=-1", "version=abc"]:
        r = srv.api("GET", "kv2/data/x?" + q, token=t)
        assert r.status_code in (400, 404)
    # Nothing was written by the bad calls.
    assert srv.api("GET", "kv2/metadata/x", token=t).status_code == 404
    r = srv.api("GET", "kv2/x", token=t)
    assert r.status_code == 404 and r.json()["warnings"]


def test_kv_v2_list_10000(lmdb_server):
    srv = lmdb_server
    srv.init_unseal()
    c = srv.client(srv.root_token)
    c.sys.enable_secrets_engine("kv", path="big", options={"version": "2"})

    def put(i):
        s = requests.Session()
        r = s.post("%s/v1/big/data/k%05d" % (srv.url, i),
                   headers={"X-Vault-Token": srv.root_token},
                   json={"data": {"i": i}})
        assert r.status_code == 200
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        list(ex.map(put, range(10000)))
    keys = c.secrets.kv.v2.list_secrets("", mount_point="big")["data"]["keys"]
    assert len(keys) == 10000 and keys[0] == "k00000"


def test_cubbyhole_isolation(unsealed):
    srv = unsealed
    c = srv.client(srv.root_token)
    t1 = c.auth.token.create()["auth"]["client_token"]
    t2 = c.auth.token.create()["auth"]["client_token"]
    assert srv.api("POST", "cubbyhole/s", token=t1,
                   json={"v": "one"}).status_code == 204
    assert srv.api("GET", "cubbyhole/s", token=t1).json()["data"] == {"v": "one"}
    assert srv.api("GET", "cubbyhole/s", token=t2).status_code == 404
    assert srv.api("GET", "cubbyhole/s", token=srv.root_token).status_code == 404
    assert srv.api("LIST", "cubbyhole/", token=t1).json()["data"]["keys"] == ["s"]
    c.auth.token.revoke(t1)
    t3 = c.auth.token.create(id="reuse")["auth"]["client_token"]
    assert srv.api("LIST", "cubbyhole/", token=t3).status_code == 404


def test_kv_acl_matrix(unsealed):
    srv = unsealed
    c = srv.client(srv.root_token)
    c.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    c.secrets.kv.v2.create_or_update_secret("a/x", {"v": 1}, mount_point="secret")
    c.secrets.kv.v2.create_or_update_secret("b/x", {"v": 2}, mount_point="secret")
    c.sys.create_or_update_policy(
        "reader", 'path "secret/data/a/*" { capabilities = ["read"] }')
    t = c.auth.token.create(policies=["reader"])["auth"]["client_token"]
    assert srv.api("GET", "secret/data/a/x", token=t).status_code == 200
    assert srv.api("POST", "secret/data/a/x", token=t,
                   json={"data": {"v": 9}}).status_code == 403
    assert srv.api("GET", "secret/data/b/x", token=t).status_code == 403
    assert c.secrets.kv.v2.read_secret_version(
        "a/x", mount_point="secret")["data"]["data"] == {"v": 1}
    # create vs update: a create-only policy can add but not overwrite.
    c.sys.create_or_update_policy(
        "creator", 'path "secret/data/*" { capabilities = ["create"] }')
    t2 = c.auth.token.create(policies=["creator"])["auth"]["client_token"]
    assert srv.api("POST", "secret/data/new", token=t2,
                   json={"data": {"v": 1}}).status_code == 200
    assert srv.api("POST", "secret/data/new", token=t2,
                   json={"data": {"v": 2}}).status_code == 403


def test_vault_cli_version_detection(unsealed):
    srv = unsealed
    c = srv.client(srv.root_token)
    c.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    r = srv.api("GET", "sys/internal/ui/mounts/secret/foo/bar",
                token=srv.root_token)
    d = r.json()["data"]
    assert d["path"] == "secret/" and d["options"]["version"] == "2"
    assert d["type"] == "kv"
    r = srv.api("GET", "sys/internal/ui/mounts/nothing/here",
                token=srv.root_token)
    assert r.status_code == 403


def test_ui_mounts_for_a_limited_token(unsealed):
    """sys/internal/ui/mounts is served without a token, as in Vault;
    a token sees the mounts it has any capability at or below (so `kv
    get` finds its mount), others get the preflight 403, and asking
    consumes none of a token's uses."""
    srv = unsealed
    c = srv.client(srv.root_token)
    c.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    c.sys.enable_secrets_engine("kv", path="other")
    c.sys.enable_secrets_engine("kv", path="team/a")
    c.sys.enable_auth_method("userpass")
    c.sys.create_or_update_policy("app", '''
path "secret/data/app" { capabilities = ["read"] }
path "team/+/x" { capabilities = ["list"] }
path "other/*" { capabilities = ["deny"] }
''')
    tok = c.auth.token.create(policies=["app"], num_uses=3)["auth"][
        "client_token"]
    srv.api("POST", "secret/data/app", token=srv.root_token,
            json={"data": {"pw": "x"}})
    for path in ("secret/app", "secret/other/thing", "team/a/x"):
        r = srv.api("GET", "sys/internal/ui/mounts/" + path, token=tok)
        assert r.status_code == 200, (path, r.text)
    assert r.json()["data"]["path"] == "team/a/"
    r = srv.api("GET", "sys/internal/ui/mounts/secret/app", token=tok)
    assert r.json()["data"]["options"] == {"version": "2"}
    preflight = ("preflight capability check returned 403, please ensure "
                 "client's policies grant access to path \"%s/\"")
    for path in ("other/x", "auth/userpass/login/u"):
        r = srv.api("GET", "sys/internal/ui/mounts/" + path, token=tok)
        assert r.status_code == 403
        assert r.json()["errors"] == [preflight % path]
    for t in (None, "hvs.nosuchtoken"):
        r = srv.api("GET", "sys/internal/ui/mounts/secret/app", token=t)
        assert r.status_code == 403
        assert r.json()["errors"] == [preflight % "secret/app"]
    listing = srv.api("GET", "sys/internal/ui/mounts", token=tok).json()
    # cubbyhole/ and sys/ through the default policy.
    assert sorted(listing["data"]["secret"]) == [
        "cubbyhole/", "secret/", "sys/", "team/a/"]
    assert sorted(listing["data"]["auth"]) == ["token/"]   # default policy
    r = srv.api("GET", "sys/internal/ui/mounts").json()
    assert r["data"] == {"secret": {}, "auth": {}}
    full = srv.api("GET", "sys/internal/ui/mounts",
                   token=srv.root_token).json()["data"]
    assert "other/" in full["secret"] and "userpass/" in full["auth"]
    # Nine asks above, yet the three uses are all still there.
    for _ in range(3):
        assert srv.api("GET", "secret/data/app",
                       token=tok).status_code == 200
    assert srv.api("GET", "secret/data/app", token=tok).status_code == 403


def test_upgrade_v1_to_v2(kv):
    srv, c = kv
    v1 = c.secrets.kv.v1
    v1.create_or_update_secret("a", {"x": "1"}, mount_point="kv1")
    v1.create_or_update_secret("d/b", {"y": "2"}, mount_point="kv1")
    r = srv.api("POST", "sys/mounts/kv1/tune", token=srv.root_token,
                json={"options": {"version": "2"}})
    assert r.status_code == 200 and r.json()["warnings"]
    v2 = c.secrets.kv.v2
    assert v2.read_secret_version("a", mount_point="kv1")["data"]["data"] == {"x": "1"}
    got = v2.read_secret_version("d/b", mount_point="kv1")["data"]
    assert got["data"] == {"y": "2"} and got["metadata"]["version"] == 1
    assert v2.list_secrets("", mount_point="kv1")["data"]["keys"] == ["a", "d/"]
    r = srv.api("POST", "sys/mounts/kv1/tune", token=srv.root_token,
                json={"options": {"version": "1"}})
    assert r.status_code == 400 and "downgrade" in r.json()["errors"][0]


def test_subkeys(kv):
    srv, c = kv
    c.secrets.kv.v2.create_or_update_secret(
        "s", {"a": "1", "b": {"c": "2", "d": {"e": "3"}}, "f": {}},
        mount_point="kv2")
    r = srv.api("GET", "kv2/subkeys/s", token=srv.root_token).json()["data"]
    assert r["subkeys"] == {"a": None, "b": {"c": None, "d": {"e": None}},
                            "f": None}
    r = srv.api("GET", "kv2/subkeys/s?depth=1",
                token=srv.root_token).json()["data"]
    assert r["subkeys"] == {"a": None, "b": None, "f": None}
    assert r["metadata"]["version"] == 1
