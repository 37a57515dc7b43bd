"""The userpass auth method through hvac."""
import time

import hvac
import pytest


@pytest.fixture
def up(unsealed):
    c = unsealed.client(unsealed.root_token)
    c.sys.enable_auth_method("userpass")
    c.sys.create_or_update_policy(
        "dev", 'path "sys/key-status" { capabilities = ["read"] }')
    return unsealed, c


def test_users_and_login(up):
    srv, c = up
    methods = c.sys.list_auth_methods()["data"]
    assert methods["userpass/"]["type"] == "userpass"
    assert methods["userpass/"]["accessor"].startswith("auth_userpass_")
    c.auth.userpass.create_or_update_user("Alice", "s3cret",
                                          policies=["dev"])
    u = c.auth.userpass.read_user("alice")["data"]
    assert u["token_policies"] == ["dev"] and "password" not in u
    assert "hash" not in u
    assert c.auth.userpass.list_user()["data"]["keys"] == ["alice"]
    anon = srv.client()
    res = anon.auth.userpass.login("alice", "s3cret")
    a = res["auth"]
    assert a["policies"] == ["default", "dev"]
    assert a["metadata"] == {"username": "alice"}
    assert a["orphan"] is True and a["lease_duration"] == 2764800
    me = srv.api("GET", "auth/token/lookup-self", token=a["client_token"])
    assert me.json()["data"]["display_name"] == "userpass-alice"
    assert me.json()["data"]["path"] == "auth/userpass/login/alice"
    assert srv.api("GET", "sys/key-status",
                   token=a["client_token"]).status_code == 200
    assert srv.api("GET", "sys/policy",
                   token=a["client_token"]).status_code == 403
    c.auth.userpass.update_password_on_user("alice", "n3w")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        anon.auth.userpass.login("alice", "s3cret")
    assert anon.auth.userpass.login("alice", "n3w")["auth"]["client_token"]
    c.auth.userpass.delete_user("alice")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        anon.auth.userpass.login("alice", "n3w")


def test_failures_look_alike(up):
    srv, c = up
    c.auth.userpass.create_or_update_user("bob", "right")
    r1 = srv.api("POST", "auth/userpass/login/bob", json={"password": "wrong"})
    r2 = srv.api("POST", "auth/userpass/login/nobody",
                 json={"password": "wrong"})
    assert r1.status_code == r2.status_code == 400
    assert r1.json() == r2.json() == {"errors": ["invalid username or password"]}
    # Both cost one Argon2id verification.
    t0 = time.monotonic()
    srv.api("POST", "auth/userpass/login/bob", json={"password": "wrong"})
    t1 = time.monotonic()
    srv.api("POST", "auth/userpass/login/nobody", json={"password": "wrong"})
    t2 = time.monotonic()
    assert (t2 - t1) > 0.3 * (t1 - t0)
    r = srv.api("POST", "auth/userpass/users/carol", token=srv.root_token,
                json={})
    assert r.status_code == 400 and r.json()["errors"] == ["missing password"]


def test_enabling_auth_needs_sudo(up):
    srv, c = up
    c.sys.create_or_update_policy(
        "mounter", 'path "sys/auth/*" { capabilities = ["create", "update"] }')
    t = c.auth.token.create(policies=["mounter"])["auth"]["client_token"]
    r = srv.api("POST", "sys/auth/other", token=t, json={"type": "userpass"})
    assert r.status_code == 403
    r = srv.api("DELETE", "sys/auth/token", token=srv.root_token)
    assert r.status_code == 400
