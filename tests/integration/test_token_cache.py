"""The active node's token cache never outlives what storage says.

Each test makes a token, uses it a few times so its entry is cached,
then changes or removes the entry (revocation by every route, expiry,
num_uses, renewal, orphaning, sealing) and checks that the very next
request sees the change.
"""
import threading
import time

import pytest

READER = 'path "sys/key-status" { capabilities = ["read"] }\n'
CREATOR = 'path "auth/token/create" { capabilities = ["update"] }\n'


def _token(srv, **body):
    body.setdefault("policies", ["readers"])
    r = srv.api("POST", "auth/token/create", token=srv.root_token, json=body)
    assert r.status_code == 200, r.text
    return r.json()["auth"]


def _warm(srv, tok, n=3):
    for _ in range(n):
        r = srv.api("GET", "auth/token/lookup-self", token=tok)
        assert r.status_code == 200, r.text
    return r.json()["data"]


def _status(srv, tok, path="sys/key-status"):
    return srv.api("GET", path, token=tok).status_code


@pytest.fixture
def srv(unsealed):
    r = unsealed.api("PUT", "sys/policies/acl/readers",
                     token=unsealed.root_token,
                     json={"policy": READER + CREATOR})
    assert r.status_code == 204, r.text
    return unsealed


def test_revoke_self_while_cached(srv):
    t = _token(srv)["client_token"]
    _warm(srv, t)
    assert srv.api("POST", "auth/token/revoke-self",
                   token=t).status_code == 204
    assert _status(srv, t) == 403
    assert _status(srv, t, "auth/token/lookup-self") == 403


def test_revoke_by_token_and_accessor_while_cached(srv):
    a = _token(srv)
    b = _token(srv)
    _warm(srv, a["client_token"])
    _warm(srv, b["client_token"])
    r = srv.api("POST", "auth/token/revoke", token=srv.root_token,
                json={"token": a["client_token"]})
    assert r.status_code == 204
    r = srv.api("POST", "auth/token/revoke-accessor", token=srv.root_token,
                json={"accessor": b["accessor"]})
    assert r.status_code == 204
    assert _status(srv, a["client_token"]) == 403
    assert _status(srv, b["client_token"]) == 403


def test_revoke_tree_while_cached(srv):
    parent = _token(srv)["client_token"]
    r = srv.api("POST", "auth/token/create", token=parent, json={})
    kid = r.json()["auth"]["client_token"]
    r = srv.api("POST", "auth/token/create", token=kid, json={})
    grandkid = r.json()["auth"]["client_token"]
    for t in (parent, kid, grandkid):
        _warm(srv, t)
    r = srv.api("POST", "auth/token/revoke", token=srv.root_token,
                json={"token": parent})
    assert r.status_code == 204
    for t in (parent, kid, grandkid):
        assert _status(srv, t) == 403
        assert _status(srv, t, "auth/token/lookup-self") == 403


def test_revoke_orphan_changes_cached_children(srv):
    parent = _token(srv)["client_token"]
    r = srv.api("POST", "auth/token/create", token=parent, json={})
    kid = r.json()["auth"]["client_token"]
    assert _warm(srv, kid)["orphan"] is False
    _warm(srv, parent)
    r = srv.api("POST", "auth/token/revoke-orphan", token=srv.root_token,
                json={"token": parent})
    assert r.status_code == 204
    assert _status(srv, parent) == 403
    # The child lives on, and what it looks up is its new entry.
    assert _warm(srv, kid, 1)["orphan"] is True


def test_expiry_checked_on_every_use(srv):
    t = _token(srv, ttl="2s")["client_token"]
    _warm(srv, t)
    deadline = time.time() + 10
    while time.time() < deadline and _status(srv, t) == 200:
        time.sleep(0.1)
    assert _status(srv, t) == 403
    assert _status(srv, t, "auth/token/lookup-self") == 403


def test_num_uses_never_exceeded(srv):
    t = _token(srv, num_uses=4)["client_token"]
    left = [srv.api("GET", "auth/token/lookup-self", token=t).json()
            ["data"]["num_uses"] for _ in range(3)]
    assert left == [3, 2, 1]
    assert [_status(srv, t) for _ in range(3)] == [200, 403, 403]


def test_renewal_seen_at_once(srv):
    t = _token(srv, ttl="1h", explicit_max_ttl="10h")["client_token"]
    before = _warm(srv, t)
    assert before["ttl"] <= 3600
    r = srv.api("POST", "auth/token/renew-self", token=t,
                json={"increment": "5h"})
    assert r.status_code == 200, r.text
    after = _warm(srv, t, 1)
    assert after["ttl"] > 3600 * 4
    assert after["expire_time"] != before["expire_time"]


def test_seal_drops_the_cache(srv):
    t = _token(srv)["client_token"]
    _warm(srv, t)
    r = srv.api("PUT", "sys/seal", token=srv.root_token)
    assert r.status_code == 204
    assert _status(srv, t) == 503
    srv.unseal()
    assert _status(srv, t) == 200
    r = srv.api("POST", "auth/token/revoke", token=srv.root_token,
                json={"token": t})
    assert r.status_code == 204
    assert _status(srv, t) == 403


def test_revocation_under_load_is_final(srv):
    """Once revoke returns, no request with the token succeeds again."""
    t = _token(srv)["client_token"]
    _warm(srv, t)
    revoked = threading.Event()
    late = []
    stop = time.time() + 3

    def hammer():
        while time.time() < stop:
            mark = revoked.is_set()
            code = _status(srv, t)
            if mark and code == 200:
                late.append(code)
            if mark and code == 403:
                return
    ts = [threading.Thread(target=hammer) for _ in range(6)]
    for th in ts:
        th.start()
    time.sleep(0.3)
    r = srv.api("POST", "auth/token/revoke", token=srv.root_token,
                json={"token": t})
    assert r.status_code == 204
    revoked.set()
    for th in ts:
        th.join()
    assert late == []
    assert _status(srv, t) == 403
