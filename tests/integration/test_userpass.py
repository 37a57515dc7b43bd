"""The userpass auth method through hvac."""
import time

import hvac
import pytest

from conftest import (assert_key_status_only, auth_method_client,
                      stored_bytes)


@pytest.fixture
def up(unsealed):
    c = auth_method_client(unsealed, "userpass", "dev")
    return unsealed, c


def lookup(srv, token):
    r = srv.api("GET", "auth/token/lookup-self", token=token)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_users_and_login(up):
    srv, c = up
    methods = c.sys.list_auth_methods()["data"]
    assert methods["userpass/"]["type"] == "userpass"
    assert methods["userpass/"]["accessor"].startswith("auth_userpass_")
    c.auth.userpass.create_or_update_user("Alice", "s3cret",
                                          policies=["Dev"])
    u = c.auth.userpass.read_user("alice")["data"]
    assert u["token_policies"] == ["dev"] and "password" not in u
    assert "hash" not in u and "s3cret" not in str(u)
    # Written with the legacy name, so it is shown too.
    assert u["policies"] == ["dev"]
    assert u["token_ttl"] == 0 and u["token_type"] == "default"
    assert u["token_bound_cidrs"] == []
    assert c.auth.userpass.list_user()["data"]["keys"] == ["alice"]
    anon = srv.client()
    res = anon.auth.userpass.login("ALICE", "s3cret")
    a = res["auth"]
    assert a["policies"] == ["default", "dev"]
    assert a["token_policies"] == ["default", "dev"]
    assert a["metadata"] == {"username": "alice"}
    assert a["orphan"] is True and a["renewable"] is True
    assert a["lease_duration"] == 2764800 and a["token_type"] == "service"
    assert res["data"] is None
    me = lookup(srv, a["client_token"])
    assert me["display_name"] == "userpass-alice"
    assert me["path"] == "auth/userpass/login/ALICE"
    # The token does what its policies allow, and nothing else.
    assert_key_status_only(srv, a["client_token"])
    c.auth.userpass.update_password_on_user("alice", "n3w")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        anon.auth.userpass.login("alice", "s3cret")
    assert anon.auth.userpass.login("alice", "n3w")["auth"]["client_token"]
    # Policies change through users/:name/policies, token_* names shown.
    r = srv.api("POST", "auth/userpass/users/alice/policies",
                token=srv.root_token, json={"token_policies": "a,b"})
    assert r.status_code == 204
    u = c.auth.userpass.read_user("alice")["data"]
    assert u["token_policies"] == ["a", "b"] and "policies" not in u
    # ...without touching the password.
    assert anon.auth.userpass.login("alice", "n3w")["auth"]["policies"] == \
        ["a", "b", "default"]
    c.auth.userpass.delete_user("alice")
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.auth.userpass.read_user("alice")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        anon.auth.userpass.login("alice", "n3w")
    # Deleting a user leaves issued tokens alone, as Vault does.
    assert lookup(srv, a["client_token"])["display_name"] == "userpass-alice"


def test_token_settings_and_ttl(up):
    srv, c = up
    c.auth.userpass.create_or_update_user(
        "bob", "pw", token_policies=["dev"], token_ttl="10m",
        token_max_ttl="1h", token_num_uses=3, token_no_default_policy=True)
    u = c.auth.userpass.read_user("bob")["data"]
    assert (u["token_ttl"], u["token_max_ttl"], u["token_num_uses"]) == \
        (600, 3600, 3)
    assert u["token_no_default_policy"] is True and "policies" not in u
    a = srv.client().auth.userpass.login("bob", "pw")["auth"]
    assert a["lease_duration"] == 600 and a["policies"] == ["dev"]
    assert a["num_uses"] == 3
    r = srv.api("POST", "auth/token/lookup", token=srv.root_token,
                json={"token": a["client_token"]})
    me = r.json()["data"]
    assert 590 <= me["ttl"] <= 600 and me["num_uses"] == 3
    assert me["policies"] == ["dev"]
    # token_max_ttl caps token_ttl...
    c.auth.userpass.create_or_update_user("bob", token_ttl="2h",
                                          token_max_ttl=0)
    c.auth.userpass.create_or_update_user("bob", token_max_ttl="30m",
                                          token_ttl=0)
    a = srv.client().auth.userpass.login("bob", "pw")["auth"]
    assert a["lease_duration"] == 1800
    r = srv.api("POST", "auth/token/lookup", token=srv.root_token,
                json={"token": a["client_token"]})
    assert r.json()["data"]["explicit_max_ttl"] == 0
    # ...and so does token_explicit_max_ttl.
    c.auth.userpass.create_or_update_user("bob", token_max_ttl=0,
                                          token_explicit_max_ttl="20m")
    a = srv.client().auth.userpass.login("bob", "pw")["auth"]
    assert a["lease_duration"] == 1200
    r = srv.api("POST", "auth/token/lookup", token=srv.root_token,
                json={"token": a["client_token"]})
    assert r.json()["data"]["explicit_max_ttl"] == 1200
    # Legacy ttl/max_ttl names are accepted and shown back.
    c.auth.userpass.create_or_update_user("bob", ttl="5m", max_ttl="1h")
    u = c.auth.userpass.read_user("bob")["data"]
    assert u["token_ttl"] == u["ttl"] == 300
    assert u["token_max_ttl"] == u["max_ttl"] == 3600
    # Settings coffer refuses (bad values, batch tokens) change nothing.
    before = c.auth.userpass.read_user("bob")["data"]
    for body, msg in [
            ({"token_bound_cidrs": ["nonsense"]},
             'error parsing address "nonsense"'),
            ({"token_type": "batch"}, "not supported"),
            ({"token_type": "weird"}, "invalid 'token_type' value"),
            ({"token_num_uses": -1}, "token_num_uses cannot be negative"),
            ({"token_ttl": "2h", "token_max_ttl": "1h"},
             "'token_ttl' cannot be greater than 'token_max_ttl'"),
            ({"token_ttl": "soon"}, "token_ttl")]:
        r = srv.api("POST", "auth/userpass/users/bob", token=srv.root_token,
                    json=body)
        assert r.status_code == 400 and msg in r.json()["errors"][0], r.text
    assert c.auth.userpass.read_user("bob")["data"] == before
    assert srv.client().auth.userpass.login("bob", "pw")["auth"]


def test_root_policy_refused(up):
    srv, c = up
    c.auth.userpass.create_or_update_user("eve", "pw", policies=["root"])
    r = srv.api("POST", "auth/userpass/login/eve", json={"password": "pw"})
    assert r.status_code == 400
    assert r.json()["errors"] == ["auth methods cannot create root tokens"]


def test_failures_look_alike(up):
    srv, c = up
    c.auth.userpass.create_or_update_user("bob", "right")
    r1 = srv.api("POST", "auth/userpass/login/bob", json={"password": "wrong"})
    r2 = srv.api("POST", "auth/userpass/login/nobody",
                 json={"password": "wrong"})
    assert r1.status_code == r2.status_code == 400
    assert r1.json() == r2.json() == {"errors": ["invalid username or password"]}
    # Both cost one Argon2id verification: an unknown name is no faster.
    known, unknown = [], []
    for _ in range(3):
        t0 = time.monotonic()
        srv.api("POST", "auth/userpass/login/bob", json={"password": "wrong"})
        t1 = time.monotonic()
        srv.api("POST", "auth/userpass/login/nobody",
                json={"password": "wrong"})
        t2 = time.monotonic()
        known.append(t1 - t0)
        unknown.append(t2 - t1)
    assert min(unknown) > 0.5 * min(known), (known, unknown)
    # A login sent with a token ignores the token (no ACL, no use).
    r = srv.api("POST", "auth/userpass/login/bob", token="bogus",
                json={"password": "right"})
    assert r.status_code == 200
    for body in [{}, {"password": ""}]:
        r = srv.api("POST", "auth/userpass/login/bob", json=body)
        assert r.status_code == 400
        assert r.json()["errors"] == ["missing password"]
    r = srv.api("POST", "auth/userpass/users/carol", token=srv.root_token,
                json={})
    assert r.status_code == 400 and r.json()["errors"] == ["missing password"]
    r = srv.api("POST", "auth/userpass/users/carol/password",
                token=srv.root_token, json={"password": "x"})
    assert r.status_code == 400
    assert r.json()["errors"] == ["username does not exist"]
    for path in ["auth/userpass/users/bad%20name", "auth/userpass/users/-x",
                 "auth/userpass/users/bob/other"]:
        r = srv.api("POST", path, token=srv.root_token, json={"password": "x"})
        assert r.status_code == 404, path
    # Managing users needs a token; logging in does not.
    r = srv.api("GET", "auth/userpass/users/bob")
    assert r.status_code == 403


def test_password_is_hashed_with_argon2id(up, tmp_path):
    """The store holds an Argon2id string, never the password."""
    srv, c = up
    c.auth.userpass.create_or_update_user("dora", "p4ssw0rd-unique-xyz")
    srv.client(srv.root_token).sys.seal()
    data = stored_bytes(srv)
    assert b"p4ssw0rd-unique-xyz" not in data
    srv.unseal()
    assert srv.client().auth.userpass.login("dora", "p4ssw0rd-unique-xyz")


def test_acl_on_user_management(up):
    srv, c = up
    c.sys.create_or_update_policy(
        "pwchange", 'path "auth/userpass/users/+/password" '
        '{ capabilities = ["update"] }')
    t = c.auth.token.create(policies=["pwchange"])["auth"]["client_token"]
    c.auth.userpass.create_or_update_user("fay", "old")
    r = srv.api("POST", "auth/userpass/users/fay/password", token=t,
                json={"password": "new"})
    assert r.status_code == 204
    r = srv.api("POST", "auth/userpass/users/fay", token=t,
                json={"password": "x", "policies": "root"})
    assert r.status_code == 403
    assert srv.client().auth.userpass.login("fay", "new")


def test_enabling_auth_needs_sudo(up):
    srv, c = up
    c.sys.create_or_update_policy(
        "mounter", 'path "sys/auth/*" { capabilities = ["create", "update"] }')
    t = c.auth.token.create(policies=["mounter"])["auth"]["client_token"]
    r = srv.api("POST", "sys/auth/other", token=t, json={"type": "userpass"})
    assert r.status_code == 403
    r = srv.api("DELETE", "sys/auth/token", token=srv.root_token)
    assert r.status_code == 400


def test_second_mount_and_restart(up):
    srv, c = up
    c.sys.enable_auth_method("userpass", path="team/ops")
    c.auth.userpass.create_or_update_user("gus", "pw", mount_point="team/ops")
    a = srv.client().auth.userpass.login("gus", "pw",
                                         mount_point="team/ops")["auth"]
    assert lookup(srv, a["client_token"])["display_name"] == "team-ops-gus"
    # Users of one mount are not users of another.
    r = srv.api("POST", "auth/userpass/login/gus", json={"password": "pw"})
    assert r.status_code == 400
    srv.restart()
    srv.unseal()
    assert srv.client().auth.userpass.login("gus", "pw",
                                            mount_point="team/ops")
