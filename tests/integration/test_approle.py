"""The AppRole auth method through hvac."""
import threading
import time

import hvac
import pytest

from conftest import (assert_key_status_only, auth_method_client,
                      stored_bytes)


@pytest.fixture
def ar(unsealed):
    c = auth_method_client(unsealed, "approle", "svc")
    c.auth.approle.create_or_update_approle("Web", token_policies=["svc"],
                                            token_ttl="10m",
                                            secret_id_num_uses=2)
    return unsealed, c


def login(srv, rid, sid):
    return srv.api("POST", "auth/approle/login",
                   json={"role_id": rid, "secret_id": sid})


def test_roles_and_login(ar):
    srv, c = ar
    assert c.auth.approle.list_roles()["data"]["keys"] == ["web"]
    role = c.auth.approle.read_role("WEB")["data"]
    assert role["token_policies"] == ["svc"] and role["token_ttl"] == 600
    assert role["bind_secret_id"] is True and role["secret_id_num_uses"] == 2
    assert role["secret_id_bound_cidrs"] is None
    assert role["token_bound_cidrs"] == [] and role["token_type"] == "default"
    assert role["local_secret_ids"] is False and "policies" not in role
    rid = c.auth.approle.read_role_id("web")["data"]["role_id"]
    s = c.auth.approle.generate_secret_id(
        "web", metadata={"host": "h1"})["data"]
    assert s["secret_id_num_uses"] == 2 and s["secret_id_ttl"] == 0
    info = c.auth.approle.read_secret_id("web", s["secret_id"])["data"]
    assert info["metadata"] == {"host": "h1"}
    assert info["secret_id_accessor"] == s["secret_id_accessor"]
    assert info["secret_id_num_uses"] == 2
    acc = c.auth.approle.read_secret_id_accessor(
        "web", s["secret_id_accessor"])["data"]
    assert acc["metadata"] == {"host": "h1"}
    keys = c.auth.approle.list_secret_id_accessors("web")["data"]["keys"]
    assert keys == [s["secret_id_accessor"]]
    anon = srv.client()
    a = anon.auth.approle.login(rid, s["secret_id"])["auth"]
    assert a["policies"] == ["default", "svc"]
    assert a["lease_duration"] == 600 and a["orphan"] is True
    assert a["metadata"] == {"host": "h1", "role_name": "web"}
    me = srv.api("POST", "auth/token/lookup", token=srv.root_token,
                 json={"token": a["client_token"]}).json()["data"]
    assert me["display_name"] == "approle"
    assert me["path"] == "auth/approle/login"
    # The token can do what its policies allow, and only that.
    assert_key_status_only(srv, a["client_token"])
    assert c.auth.approle.read_secret_id(
        "web", s["secret_id"])["data"]["secret_id_num_uses"] == 1
    # Two uses, then the secret ID is gone, accessor too.
    anon.auth.approle.login(rid, s["secret_id"])
    with pytest.raises(hvac.exceptions.InvalidRequest):
        anon.auth.approle.login(rid, s["secret_id"])
    r = srv.api("LIST", "auth/approle/role/web/secret-id",
                token=srv.root_token)
    assert r.status_code == 404
    # Deleting the role removes it and its secret IDs.
    s = c.auth.approle.generate_secret_id("web")["data"]
    c.auth.approle.delete_role("web")
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.auth.approle.read_role("web")
    assert login(srv, rid, s["secret_id"]).status_code == 400
    c.auth.approle.create_or_update_approle("web", token_policies=["svc"])
    assert login(srv, rid, s["secret_id"]).status_code == 400


def test_login_failures(ar):
    srv, c = ar
    rid = c.auth.approle.read_role_id("web")["data"]["role_id"]
    for body, msg in [({}, "missing role_id"),
                      ({"role_id": rid}, "missing secret_id"),
                      ({"role_id": "nope", "secret_id": "x"},
                       "invalid role or secret ID"),
                      ({"role_id": rid, "secret_id": "wrong"},
                       "invalid role or secret ID")]:
        r = srv.api("POST", "auth/approle/login", json=body)
        assert r.status_code == 400 and r.json()["errors"] == [msg]
    # A secret ID of one role does not open another.
    c.auth.approle.create_or_update_approle("db", token_policies=["svc"])
    db_rid = c.auth.approle.read_role_id("db")["data"]["role_id"]
    sid = c.auth.approle.generate_secret_id("web")["data"]["secret_id"]
    r = login(srv, db_rid, sid)
    assert r.status_code == 400
    assert r.json()["errors"] == ["invalid role or secret ID"]
    assert login(srv, rid, sid).status_code == 200


def test_role_id_changes(ar):
    srv, c = ar
    old = c.auth.approle.read_role_id("web")["data"]["role_id"]
    sid = c.auth.approle.generate_secret_id("web")["data"]["secret_id"]
    c.auth.approle.update_role_id("web", "fixed-role-id")
    assert c.auth.approle.read_role_id("web")["data"]["role_id"] == \
        "fixed-role-id"
    # The old role ID stops working at once.
    r = login(srv, old, sid)
    assert r.status_code == 400
    assert r.json()["errors"] == ["invalid role or secret ID"]
    assert login(srv, "fixed-role-id", sid).status_code == 200
    # A role ID belongs to one role.
    c.auth.approle.create_or_update_approle("other", token_policies=["svc"])
    r = srv.api("POST", "auth/approle/role/other/role-id",
                token=srv.root_token, json={"role_id": "fixed-role-id"})
    assert r.status_code == 400
    assert r.json()["errors"] == ["role_id already in use"]
    other = c.auth.approle.read_role_id("other")["data"]["role_id"]
    assert other != "fixed-role-id"
    r = srv.api("POST", "auth/approle/role/other/role-id",
                token=srv.root_token, json={})
    assert r.status_code == 400 and r.json()["errors"] == ["missing role_id"]
    # Any characters will do: role IDs are stored hashed.
    c.auth.approle.update_role_id("other", "a/b c")
    osid = c.auth.approle.generate_secret_id("other")["data"]["secret_id"]
    assert login(srv, "a/b c", osid).status_code == 200


def test_destroy_and_custom(ar):
    srv, c = ar
    rid = c.auth.approle.read_role_id("web")["data"]["role_id"]
    s = c.auth.approle.create_custom_secret_id(
        "web", "my-own-secret", metadata={"k": "v"})["data"]
    assert s["secret_id"] == "my-own-secret"
    r = srv.api("POST", "auth/approle/role/web/custom-secret-id",
                token=srv.root_token, json={"secret_id": "my-own-secret"})
    assert r.status_code == 400
    assert "already registered" in r.json()["errors"][0]
    # The first one still works with its own accessor.
    info = c.auth.approle.read_secret_id("web", "my-own-secret")["data"]
    assert info["secret_id_accessor"] == s["secret_id_accessor"]
    assert info["metadata"] == {"k": "v"}
    c.auth.approle.destroy_secret_id_accessor("web", s["secret_id_accessor"])
    assert login(srv, rid, "my-own-secret").status_code == 400
    r = srv.api("POST", "auth/approle/role/web/secret-id/lookup",
                token=srv.root_token, json={"secret_id": "my-own-secret"})
    assert r.status_code == 204
    s = c.auth.approle.generate_secret_id("web")["data"]
    c.auth.approle.destroy_secret_id("web", s["secret_id"])
    assert login(srv, rid, s["secret_id"]).status_code == 400
    r = srv.api("POST", "auth/approle/role/web/secret-id-accessor/lookup",
                token=srv.root_token,
                json={"secret_id_accessor": s["secret_id_accessor"]})
    assert r.status_code == 400 and "failed to find accessor entry" in \
        r.json()["errors"][0]
    r = srv.api("POST", "auth/approle/role/nope/secret-id",
                token=srv.root_token)
    assert r.status_code == 404
    assert r.json()["errors"] == ['role "nope" does not exist']


def test_secret_id_limits_and_ttl(ar):
    srv, c = ar
    rid = c.auth.approle.read_role_id("web")["data"]["role_id"]
    for body, msg in [({"num_uses": 3},
                       "num_uses cannot be higher than the role's "
                       "secret_id_num_uses"),
                      ({"num_uses": -1}, "num_uses cannot be negative"),
                      ({"metadata": "[1, 2]"}, "failed to parse metadata"),
                      ({"metadata": '{"n": 1}'}, "failed to parse metadata"),
                      ({"cidr_list": "10.0.0.0/8", "num_uses": -1},
                       "num_uses cannot be negative")]:
        r = srv.api("POST", "auth/approle/role/web/secret-id",
                    token=srv.root_token, json=body)
        assert r.status_code == 400 and msg in r.json()["errors"][0], r.text
    assert srv.api("LIST", "auth/approle/role/web/secret-id",
                   token=srv.root_token).status_code == 404
    # k=v metadata, one use asked for.
    r = srv.api("POST", "auth/approle/role/web/secret-id",
                token=srv.root_token, json={"metadata": "a=1,b=2",
                                            "num_uses": 1, "ttl": "1h"})
    s = r.json()["data"]
    assert (s["secret_id_num_uses"], s["secret_id_ttl"]) == (1, 3600)
    a = login(srv, rid, s["secret_id"]).json()["auth"]
    assert a["metadata"] == {"a": "1", "b": "2", "role_name": "web"}
    assert login(srv, rid, s["secret_id"]).status_code == 400
    # secret_id_ttl: the role's, then a shorter one per secret ID.
    c.auth.approle.create_or_update_approle("short", token_policies=["svc"],
                                            secret_id_ttl="1h")
    srid = c.auth.approle.read_role_id("short")["data"]["role_id"]
    r = srv.api("POST", "auth/approle/role/short/secret-id",
                token=srv.root_token, json={"ttl": "2h"})
    assert r.status_code == 400 and r.json()["errors"] == [
        "ttl cannot be longer than the role's secret_id_ttl"]
    long_lived = c.auth.approle.generate_secret_id("short")["data"]
    assert long_lived["secret_id_ttl"] == 3600
    r = srv.api("POST", "auth/approle/role/short/secret-id",
                token=srv.root_token, json={"ttl": 1})
    brief = r.json()["data"]
    info = c.auth.approle.read_secret_id("short", brief["secret_id"])["data"]
    assert info["expiration_time"] > info["creation_time"]
    time.sleep(2.1)
    r = login(srv, srid, brief["secret_id"])
    assert r.status_code == 400
    assert r.json()["errors"] == ["invalid role or secret ID"]
    assert login(srv, srid, long_lived["secret_id"]).status_code == 200
    # tidy removes expired secret IDs nobody tried.
    r = srv.api("POST", "auth/approle/role/short/secret-id",
                token=srv.root_token, json={"ttl": 1})
    acc = r.json()["data"]["secret_id_accessor"]
    time.sleep(1.1)
    listed = c.auth.approle.list_secret_id_accessors("short")["data"]["keys"]
    assert acc in listed
    r = srv.api("POST", "auth/approle/tidy/secret-id", token=srv.root_token)
    assert r.status_code == 202 and r.json()["warnings"]
    listed = c.auth.approle.list_secret_id_accessors("short")["data"]["keys"]
    assert listed == [long_lived["secret_id_accessor"]]


def test_role_settings_refused_change_nothing(ar):
    srv, c = ar
    before = c.auth.approle.read_role("web")["data"]
    for body, msg in [
            ({"bind_secret_id": False},
             "at least one constraint should be enabled on the role"),
            ({"token_bound_cidrs": ["10.0.0.1/32", "nope"]},
             'error parsing address "nope"'),
            ({"token_type": "batch"}, "not supported"),
            ({"secret_id_num_uses": -2}, "cannot be negative"),
            ({"token_ttl": "2h", "token_max_ttl": "1h"}, "cannot be greater"),
            ({"token_ttl": "later"}, "token_ttl")]:
        r = srv.api("POST", "auth/approle/role/web", token=srv.root_token,
                    json=body)
        assert r.status_code == 400 and msg in r.json()["errors"][0], r.text
    # Vault answers a list not in CIDR notation with a 500.
    r = srv.api("POST", "auth/approle/role/web", token=srv.root_token,
                json={"secret_id_bound_cidrs": "10.0.0.0/8,10.0.0.1"})
    assert r.status_code == 500 and "invalid CIDR address: 10.0.0.1" in \
        r.json()["errors"][0], r.text
    assert c.auth.approle.read_role("web")["data"] == before
    for path in ["auth/approle/role/bad%20name", "auth/approle/role/web/x"]:
        r = srv.api("POST", path, token=srv.root_token, json={})
        assert r.status_code == 404, path


def test_token_ttls(ar):
    srv, c = ar
    # ttl > max is refused, and the role is not created.
    with pytest.raises(hvac.exceptions.InvalidRequest):
        c.auth.approle.create_or_update_approle(
            "t", token_policies=["svc"], token_ttl="10m",
            token_max_ttl="5m")
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.auth.approle.read_role("t")
    c.auth.approle.create_or_update_approle(
        "t", token_policies=["svc"], token_max_ttl="5m", token_num_uses=2,
        token_no_default_policy=True, token_explicit_max_ttl="4m")
    role = c.auth.approle.read_role("t")["data"]
    assert role["token_no_default_policy"] is True
    assert role["token_explicit_max_ttl"] == 240
    rid = c.auth.approle.read_role_id("t")["data"]["role_id"]
    sid = c.auth.approle.generate_secret_id("t")["data"]["secret_id"]
    a = login(srv, rid, sid).json()["auth"]
    assert a["lease_duration"] == 240 and a["policies"] == ["svc"]
    assert a["num_uses"] == 2
    # The token keeps the role's explicit maximum as its own, as Vault.
    me = srv.api("POST", "auth/token/lookup", token=srv.root_token,
                 json={"token": a["client_token"]}).json()["data"]
    assert me["explicit_max_ttl"] == 240
    # Legacy policies/period names are accepted and shown back.
    r = srv.api("POST", "auth/approle/role/t", token=srv.root_token,
                json={"policies": "svc,other", "period": "1h"})
    assert r.status_code == 204
    role = c.auth.approle.read_role("t")["data"]
    assert role["policies"] == role["token_policies"] == ["svc", "other"]
    assert role["period"] == role["token_period"] == 3600


def test_num_uses_atomic(ar):
    srv, c = ar
    c.auth.approle.create_or_update_approle("batch", token_policies=["svc"],
                                            secret_id_num_uses=5)
    rid = c.auth.approle.read_role_id("batch")["data"]["role_id"]
    sid = c.auth.approle.generate_secret_id("batch")["data"]["secret_id"]
    codes = []

    def go():
        for _ in range(3):
            codes.append(login(srv, rid, sid).status_code)
    ts = [threading.Thread(target=go) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert codes.count(200) == 5 and codes.count(400) == 7


def test_secret_ids_stored_hashed_and_survive_restart(ar):
    srv, c = ar
    rid = c.auth.approle.read_role_id("web")["data"]["role_id"]
    c.auth.approle.create_custom_secret_id("web", "custom-Secret-4711xyz")
    c.auth.approle.update_role_id("web", "role-id-0815abc")
    c.sys.seal()
    data = stored_bytes(srv)
    assert b"custom-Secret-4711xyz" not in data
    assert b"role-id-0815abc" not in data and rid.encode() not in data
    srv.restart()
    srv.unseal()
    r = login(srv, "role-id-0815abc", "custom-Secret-4711xyz")
    assert r.status_code == 200, r.text
