"""The AppRole auth method through hvac."""
import json
import threading

import hvac
import pytest


@pytest.fixture
def ar(unsealed):
    c = unsealed.client(unsealed.root_token)
    c.sys.enable_auth_method("approle")
    c.sys.create_or_update_policy(
        "svc", 'path "sys/key-status" { capabilities = ["read"] }')
    c.auth.approle.create_or_update_approle("Web", token_policies=["svc"],
                                            token_ttl="10m",
                                            secret_id_num_uses=2)
    return unsealed, c


def test_roles_and_login(ar):
    srv, c = ar
    assert c.auth.approle.list_roles()["data"]["keys"] == ["web"]
    role = c.auth.approle.read_role("web")["data"]
    assert role["token_policies"] == ["svc"] and role["token_ttl"] == 600
    rid = c.auth.approle.read_role_id("web")["data"]["role_id"]
    s = c.auth.approle.generate_secret_id(
        "web", metadata={"host": "h1"})["data"]
    assert s["secret_id_num_uses"] == 2
    info = c.auth.approle.read_secret_id("web", s["secret_id"])["data"]
    assert info["metadata"] == {"host": "h1"}
    assert info["secret_id_accessor"] == s["secret_id_accessor"]
    keys = c.auth.approle.list_secret_id_accessors("web")["data"]["keys"]
    assert keys == [s["secret_id_accessor"]]
    anon = srv.client()
    a = anon.auth.approle.login(rid, s["secret_id"])["auth"]
    assert a["policies"] == ["default", "svc"]
    assert a["lease_duration"] == 600
    assert a["metadata"] == {"host": "h1", "role_name": "web"}
    assert srv.api("GET", "sys/key-status",
                   token=a["client_token"]).status_code == 200
    # Two uses, then the secret ID is gone.
    anon.auth.approle.login(rid, s["secret_id"])
    with pytest.raises(hvac.exceptions.InvalidRequest):
        anon.auth.approle.login(rid, s["secret_id"])


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


def test_destroy_and_custom(ar):
    srv, c = ar
    rid = c.auth.approle.read_role_id("web")["data"]["role_id"]
    s = c.auth.approle.create_custom_secret_id("web", "my-own-secret")["data"]
    assert s["secret_id"] == "my-own-secret"
    c.auth.approle.destroy_secret_id_accessor("web", s["secret_id_accessor"])
    r = srv.api("POST", "auth/approle/login",
                json={"role_id": rid, "secret_id": "my-own-secret"})
    assert r.status_code == 400
    c.auth.approle.update_role_id("web", "fixed-role-id")
    s = c.auth.approle.generate_secret_id("web")["data"]
    assert srv.client().auth.approle.login("fixed-role-id", s["secret_id"])
    c.auth.approle.delete_role("web")
    r = srv.api("POST", "auth/approle/login",
                json={"role_id": "fixed-role-id", "secret_id": s["secret_id"]})
    assert r.status_code == 400
    r = srv.api("POST", "auth/approle/role/nope/secret-id",
                token=srv.root_token)
    assert r.status_code == 404


def test_num_uses_atomic(ar):
    srv, c = ar
    c.auth.approle.create_or_update_approle("batch", token_policies=["svc"],
                                            secret_id_num_uses=5)
    rid = c.auth.approle.read_role_id("batch")["data"]["role_id"]
    sid = c.auth.approle.generate_secret_id("batch")["data"]["secret_id"]
    codes = []

    def go():
        for _ in range(3):
            codes.append(srv.api("POST", "auth/approle/login", json={
                "role_id": rid, "secret_id": sid}).status_code)
    ts = [threading.Thread(target=go) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert codes.count(200) == 5
