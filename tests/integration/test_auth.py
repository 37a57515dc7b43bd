"""Tokens, policies and the ACL check, through hvac and requests."""
import threading
import time

import hvac
import pytest

READER = 'path "sys/key-status" { capabilities = ["read"] }\n'
SEALER = ('path "sys/seal" { capabilities = ["update", "sudo"] }\n'
          'path "sys/rotate" { capabilities = ["update"] }\n')


def test_policy_crud_old_and_new_api(root_client, unsealed):
    c = root_client
    assert set(c.sys.list_policies()["data"]["policies"]) == {"default", "root"}
    c.sys.create_or_update_policy("Readers", READER)
    pol = c.sys.read_policy("readers")["data"]
    assert pol["name"] == "readers" and pol["rules"] == READER
    r = unsealed.api("GET", "sys/policies/acl/readers", token=unsealed.root_token)
    assert r.json()["data"] == {"name": "readers", "policy": READER}
    r = unsealed.api("LIST", "sys/policies/acl", token=unsealed.root_token)
    assert r.json()["data"]["keys"] == ["default", "readers", "root"]
    assert "path \"cubbyhole/*\"" in c.sys.read_policy("default")["data"]["rules"]
    c.sys.delete_policy("readers")
    r = unsealed.api("GET", "sys/policy/readers", token=unsealed.root_token)
    assert r.status_code == 404 and r.json() == {"errors": []}


@pytest.mark.parametrize("text,msg", [
    ('path "a" {\n capabilities = ["reed"]\n}', 'invalid capability "reed" on line 2'),
    ('path "a" { capabilities = ["read"] \n bogus = 1 }', "line 2"),
    ('path "a" {', "failed to parse policy"),
    ('nonsense', "failed to parse policy"),
    ('', "not supplied"),
])
def test_bad_policies_are_400(unsealed, text, msg):
    r = unsealed.api("PUT", "sys/policies/acl/bad", token=unsealed.root_token,
                     json={"policy": text})
    assert r.status_code == 400, r.text
    assert msg in r.json()["errors"][0]
    r = unsealed.api("GET", "sys/policies/acl/bad", token=unsealed.root_token)
    assert r.status_code == 404


def test_builtin_policies_are_protected(unsealed):
    t = unsealed.root_token
    r = unsealed.api("PUT", "sys/policy/root", token=t, json={"policy": READER})
    assert r.status_code == 400 and "root" in r.json()["errors"][0]
    r = unsealed.api("DELETE", "sys/policy/root", token=t)
    assert r.status_code == 400
    r = unsealed.api("DELETE", "sys/policy/default", token=t)
    assert r.json()["errors"] == ["cannot delete default policy"]
    r = unsealed.api("PUT", "sys/policy/default", token=t,
                     json={"policy": READER})
    assert r.status_code == 204


def test_token_lifecycle(root_client, unsealed):
    c = root_client
    c.sys.create_or_update_policy("readers", READER)
    res = c.auth.token.create(policies=["readers"], ttl="1h",
                              meta={"app": "x"})
    auth = res["auth"]
    assert auth["client_token"].startswith("hvs.")
    assert auth["policies"] == ["default", "readers"]
    assert auth["lease_duration"] == 3600 and auth["renewable"] is True
    child = hvac.Client(url=unsealed.url, token=auth["client_token"])
    me = child.auth.token.lookup_self()["data"]
    assert me["id"] == auth["client_token"]
    assert me["meta"] == {"app": "x"} and me["path"] == "auth/token/create"
    assert me["display_name"] == "token-token"
    assert 3590 <= me["ttl"] <= 3600 and me["expire_time"].endswith("Z")
    # The ACL applies: key-status yes, sys/policy no.
    assert child.sys.get_encryption_key_status()["data"]["term"] == 1
    with pytest.raises(hvac.exceptions.Forbidden):
        child.sys.list_policies()
    assert c.auth.token.lookup(auth["client_token"])["data"]["id"] == \
        auth["client_token"]
    acc = c.auth.token.lookup_accessor(auth["accessor"])["data"]
    assert acc["id"] == "" and acc["policies"] == ["default", "readers"]
    renewed = child.auth.token.renew_self(increment="2h")["auth"]
    assert renewed["lease_duration"] == 7200
    c.auth.token.revoke(auth["client_token"])
    with pytest.raises(hvac.exceptions.Forbidden):
        child.auth.token.lookup_self()
    r = unsealed.api("POST", "auth/token/lookup", token=unsealed.root_token,
                     json={"token": auth["client_token"]})
    assert r.status_code == 403 and r.json()["errors"] == ["bad token"]


def test_token_tree_and_orphans(root_client, unsealed):
    c = root_client
    c.sys.create_or_update_policy(
        "creator", 'path "auth/token/create" { capabilities = ["update"] }')
    parent = c.auth.token.create(policies=["creator"])["auth"]["client_token"]
    pc = hvac.Client(url=unsealed.url, token=parent)
    kid = pc.auth.token.create()["auth"]["client_token"]
    grandkid = hvac.Client(url=unsealed.url, token=kid).auth.token.create(
    )["auth"]["client_token"]
    orphan = c.auth.token.create(no_parent=True)["auth"]["client_token"]
    assert c.auth.token.lookup(orphan)["data"]["orphan"] is True
    c.auth.token.revoke(parent)
    for t in (parent, kid, grandkid):
        r = unsealed.api("GET", "auth/token/lookup-self", token=t)
        assert r.status_code == 403
    assert unsealed.api("GET", "auth/token/lookup-self",
                        token=orphan).status_code == 200
    # revoke-orphan: the children live on as orphans.
    p2 = c.auth.token.create(policies=["creator"])["auth"]["client_token"]
    k2 = hvac.Client(url=unsealed.url, token=p2).auth.token.create(
    )["auth"]["client_token"]
    c.auth.token.revoke_and_orphan_children(p2)
    assert unsealed.api("GET", "auth/token/lookup-self",
                        token=p2).status_code == 403
    me = unsealed.api("GET", "auth/token/lookup-self", token=k2).json()
    assert me["data"]["orphan"] is True


def test_create_rules(root_client, unsealed):
    c = root_client
    c.sys.create_or_update_policy("readers", READER)
    t = c.auth.token.create(policies=["readers"])["auth"]["client_token"]
    u = unsealed.api
    for body, msg in [({"policies": ["root"]}, "must be subset"),
                      ({"policies": ["other"]}, "must be subset"),
                      ({"no_parent": True}, "create orphan token"),
                      ({"id": "custom1"}, "specify token id"),
                      ({"period": "1h"}, "periodic token"),
                      ({"num_uses": -1}, "cannot be negative"),
                      ({"type": "weird"}, "token_type")]:
        r = u("POST", "auth/token/create", token=t, json=body)
        if r.status_code == 403:
            continue    # the policy lacks create on auth/token/create
        assert r.status_code == 400 and msg in r.json()["errors"][0], r.text
    r = u("POST", "auth/token/create", token=unsealed.root_token,
          json={"id": "custom1", "policies": ["readers"]})
    assert r.status_code == 200
    assert u("GET", "sys/key-status", token="custom1").status_code == 200
    r = u("POST", "auth/token/create", token=unsealed.root_token,
          json={"id": "custom1"})
    assert r.status_code == 400 and "duplicate" in r.json()["errors"][0]


def test_num_uses_and_expiry(root_client, unsealed):
    c = root_client
    c.sys.create_or_update_policy("readers", READER)
    t = c.auth.token.create(policies=["readers"], num_uses=2)["auth"]
    assert t["num_uses"] == 2
    ok = [unsealed.api("GET", "sys/key-status",
                       token=t["client_token"]).status_code for _ in range(4)]
    assert ok == [200, 200, 403, 403]
    short = c.auth.token.create(policies=["readers"], ttl="3s")["auth"]
    assert unsealed.api("GET", "sys/key-status",
                        token=short["client_token"]).status_code == 200
    deadline = time.time() + 10
    while time.time() < deadline:
        r = unsealed.api("GET", "sys/key-status", token=short["client_token"])
        if r.status_code == 403:
            break
        time.sleep(0.2)
    assert r.status_code == 403
    assert r.json()["errors"] == ["permission denied"]


def test_num_uses_counted_atomically(root_client, unsealed):
    c = root_client
    c.sys.create_or_update_policy("readers", READER)
    t = c.auth.token.create(policies=["readers"], num_uses=20)["auth"]
    codes = []

    def hit():
        for _ in range(10):
            codes.append(unsealed.api("GET", "sys/key-status",
                                      token=t["client_token"]).status_code)
    ts = [threading.Thread(target=hit) for _ in range(6)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    assert codes.count(200) == 20


def test_sudo_policy_can_seal_and_plain_cannot(root_client, unsealed):
    c = root_client
    c.sys.create_or_update_policy("sealer", SEALER)
    t = c.auth.token.create(policies=["sealer"])["auth"]["client_token"]
    # sys/rotate is root-protected: update without sudo is refused.
    r = unsealed.api("PUT", "sys/rotate", token=t)
    assert r.status_code == 403
    caps = unsealed.api("POST", "sys/capabilities-self", token=t,
                        json={"paths": ["sys/seal"]}).json()
    assert caps["capabilities"] == ["sudo", "update"]
    assert unsealed.api("PUT", "sys/seal", token=t).status_code == 204
    assert unsealed.api("GET", "sys/health").status_code == 503


def test_capabilities(root_client, unsealed):
    c = root_client
    c.sys.create_or_update_policy("readers", READER)
    t = c.auth.token.create(policies=["readers"])["auth"]["client_token"]
    r = unsealed.api("POST", "sys/capabilities", token=unsealed.root_token,
                     json={"token": t, "paths": ["sys/key-status",
                                                 "secret/x"]})
    d = r.json()["data"]
    assert d["sys/key-status"] == ["read"] and d["secret/x"] == ["deny"]
    r = unsealed.api("POST", "sys/capabilities-self",
                     token=unsealed.root_token, json={"path": "anything"})
    assert r.json()["capabilities"] == ["root"]
    r = unsealed.api("POST", "sys/capabilities-self", token=t, json={})
    assert r.status_code == 400


def test_tokens_and_policies_survive_restart(root_client, unsealed):
    c = root_client
    c.sys.create_or_update_policy("readers", READER)
    t = c.auth.token.create(policies=["readers"])["auth"]["client_token"]
    gone = c.auth.token.create(ttl="1s")["auth"]["client_token"]
    time.sleep(1.5)
    unsealed.restart()
    unsealed.unseal()
    assert unsealed.api("GET", "sys/key-status", token=t).status_code == 200
    assert unsealed.api("GET", "auth/token/lookup-self",
                        token=gone).status_code == 403
    assert c.sys.read_policy("readers")["data"]["rules"] == READER


def test_concurrent_create_and_revoke(root_client, unsealed):
    c = root_client
    made, errors = [], []

    def work(n):
        cl = hvac.Client(url=unsealed.url, token=unsealed.root_token)
        try:
            for i in range(2):
                tok = cl.auth.token.create(ttl="1h")["auth"]["client_token"]
                made.append(tok)
                if i % 2 == 0:
                    cl.auth.token.revoke(tok)
        except Exception as e:     # noqa: BLE001 -- collected and asserted
            errors.append(repr(e))
    ts = [threading.Thread(target=work, args=(n,)) for n in range(100)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    assert errors == []
    assert len(made) == 200
    alive = sum(1 for t in made if unsealed.api(
        "GET", "auth/token/lookup-self", token=t).status_code == 200)
    assert alive == 100


def test_token_roles(root_client, unsealed):
    c = root_client
    c.sys.create_or_update_policy("readers", READER)
    c.auth.token.create_or_update_role("svc", allowed_policies=["readers"],
                                       orphan=True, renewable=False)
    role = c.auth.token.read_role("svc")["data"]
    assert role["allowed_policies"] == ["readers"] and role["orphan"] is True
    assert c.auth.token.list_roles()["data"]["keys"] == ["svc"]
    a = c.auth.token.create(role_name="svc", policies=["readers"])["auth"]
    assert a["policies"] == ["default", "readers"] and a["orphan"] is True
    assert a["renewable"] is False
    me = unsealed.api("GET", "auth/token/lookup-self",
                      token=a["client_token"]).json()["data"]
    assert me["path"] == "auth/token/create/svc"
    r = unsealed.api("POST", "auth/token/create/svc", token=unsealed.root_token,
                     json={"policies": ["other"]})
    assert r.status_code == 400
    r = unsealed.api("POST", "auth/token/create/nosuch",
                     token=unsealed.root_token, json={})
    assert r.status_code == 400 and "unknown role" in r.json()["errors"][0]
    c.auth.token.delete_role("svc")
    r = unsealed.api("LIST", "auth/token/roles", token=unsealed.root_token)
    assert r.status_code == 404


def test_accessors_tidy_renew_accessor(root_client, unsealed):
    c = root_client
    a = c.auth.token.create(ttl="1h")["auth"]
    keys = c.auth.token.list_accessors()["data"]["keys"]
    assert a["accessor"] in keys
    r = c.auth.token.renew_accessor(a["accessor"], increment="2h")["auth"]
    assert r["client_token"] == "" and r["lease_duration"] == 7200
    short = c.auth.token.create(ttl="1s")["auth"]
    time.sleep(1.5)
    r = unsealed.api("POST", "auth/token/tidy", token=unsealed.root_token)
    assert r.status_code == 202 and r.json()["warnings"]
    assert short["accessor"] not in c.auth.token.list_accessors()["data"]["keys"]
    r = unsealed.api("POST", "auth/token/create", token=unsealed.root_token,
                     json={"entity_alias": "x"})
    assert r.status_code == 200 and r.json()["warnings"]
    # What Vault's client sends for "unset" draws no warning.
    r = unsealed.api("POST", "auth/token/create", token=unsealed.root_token,
                     json={"entity_alias": ""})
    assert r.status_code == 200 and r.json()["warnings"] is None


def test_capabilities_accessor_and_resultant_acl(root_client, unsealed):
    c = root_client
    c.sys.create_or_update_policy("readers", READER + 'path "kv/*" { capabilities = ["list"] }')
    a = c.auth.token.create(policies=["readers"])["auth"]
    r = unsealed.api("POST", "sys/capabilities-accessor",
                     token=unsealed.root_token,
                     json={"accessor": a["accessor"], "paths": "sys/key-status"})
    assert r.json()["data"]["capabilities"] == ["read"]
    r = unsealed.api("POST", "sys/capabilities-accessor",
                     token=unsealed.root_token, json={"accessor": "nope",
                                                      "paths": ["x"]})
    assert r.status_code == 400
    r = unsealed.api("GET", "sys/internal/ui/resultant-acl",
                     token=a["client_token"]).json()["data"]
    assert r["exact_paths"]["sys/key-status"]["capabilities"] == ["read"]
    assert r["glob_paths"]["kv/*"]["capabilities"] == ["list"]
    assert r["glob_paths"]["cubbyhole/*"]["capabilities"]
    assert r["root"] is False


def test_batch_tokens(root_client, unsealed):
    c = root_client
    c.sys.create_or_update_policy("readers", READER)
    parent = c.auth.token.create(policies=["readers"])["auth"]["client_token"]
    b = c.auth.token.create(policies=["readers"], type="batch",
                            ttl="1h")["auth"]
    assert b["client_token"].startswith("hvb.") and b["accessor"] == ""
    assert b["token_type"] == "batch" and b["renewable"] is False
    t = b["client_token"]
    assert unsealed.api("GET", "sys/key-status", token=t).status_code == 200
    me = unsealed.api("GET", "auth/token/lookup-self", token=t).json()["data"]
    assert me["type"] == "batch"
    r = unsealed.api("POST", "auth/token/create", token=t, json={})
    assert r.status_code in (400, 403)
    r = unsealed.api("POST", "auth/token/revoke", token=unsealed.root_token,
                     json={"token": t})
    assert r.status_code == 400
    r = unsealed.api("POST", "auth/token/create", token=unsealed.root_token,
                     json={"type": "batch", "num_uses": 3})
    assert r.status_code == 400
    # A tampered batch token is just a bad token.
    bad = t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB")
    assert unsealed.api("GET", "sys/key-status", token=bad).status_code == 403
    # It dies with its parent.
    pc = hvac.Client(url=unsealed.url, token=parent)
    c.sys.create_or_update_policy(
        "readers", READER + 'path "auth/token/create" { capabilities = ["update"] }')
    kid = pc.auth.token.create(type="batch")["auth"]["client_token"]
    assert unsealed.api("GET", "sys/key-status", token=kid).status_code == 200
    c.auth.token.revoke(parent)
    assert unsealed.api("GET", "sys/key-status", token=kid).status_code == 403
