"""CIDR binding: the client address, X-Forwarded-For, token bound_cidrs
and AppRole's CIDR lists (issue 13, wrapping-audit-leases.md section 5)."""

import subprocess

import hvac
import pytest

from conftest import COFFERD, EXTERNAL, Server

DENIED = {"errors": ["permission denied"]}


def private():
    if EXTERNAL:
        pytest.skip("needs a private server")


def xff_server(tmp_path, request, extra, init=True):
    private()
    srv = Server(tmp_path)
    srv.write_config(listener_extra=extra)
    srv.start()
    request.addfinalizer(lambda: srv.stop())
    return srv.init_unseal() if init else srv


def role_token(srv, cidrs, **extra):
    tok = srv.root_token
    r = srv.api("POST", "auth/token/roles/bound", token=tok,
                json=dict(token_bound_cidrs=cidrs, **extra))
    assert r.status_code in (200, 204), r.text
    r = srv.api("POST", "auth/token/create/bound", token=tok, json={})
    assert r.status_code == 200, r.text
    return r.json()["auth"]["client_token"]


# --- token bound_cidrs -------------------------------------------------

def test_token_bound_inside_works_outside_refused(unsealed):
    srv = unsealed
    inside = role_token(srv, ["127.0.0.1/32"])
    c = srv.client(inside)
    assert c.auth.token.lookup_self()["data"]["bound_cidrs"] == [
        "127.0.0.1"]
    assert c.is_authenticated()
    outside = role_token(srv, "10.0.0.0/8,192.0.2.10")
    r = srv.api("GET", "auth/token/lookup-self", token=outside)
    assert r.status_code == 403 and r.json() == DENIED
    with pytest.raises(hvac.exceptions.Forbidden):
        srv.client(outside).auth.token.renew_self()
    # The root token still sees the list, as Vault shows it.
    r = srv.api("POST", "auth/token/lookup", token=srv.root_token,
                json={"token": outside})
    assert r.json()["data"]["bound_cidrs"] == ["10.0.0.0/8", "192.0.2.10"]
    # No list, no key.
    r = srv.api("GET", "auth/token/lookup-self", token=srv.root_token)
    assert "bound_cidrs" not in r.json()["data"]


def test_token_bound_use_not_consumed(unsealed):
    srv = unsealed
    r = srv.api("POST", "auth/token/roles/b", token=srv.root_token,
                json={"token_bound_cidrs": ["10.0.0.0/8"]})
    assert r.status_code in (200, 204)
    r = srv.api("POST", "auth/token/create/b", token=srv.root_token,
                json={"num_uses": 2})
    tok = r.json()["auth"]["client_token"]
    for _ in range(4):
        assert srv.api("GET", "auth/token/lookup-self",
                       token=tok).status_code == 403
    r = srv.api("POST", "auth/token/lookup", token=srv.root_token,
                json={"token": tok})
    assert r.json()["data"]["num_uses"] == 2


def test_token_child_inherits_parent_list(unsealed):
    srv = unsealed
    r = srv.api("PUT", "sys/policies/acl/creator", token=srv.root_token,
                json={"policy": 'path "auth/token/create" '
                      '{ capabilities = ["update"] }'})
    assert r.status_code == 204, r.text
    parent = role_token(srv, ["127.0.0.0/8"],
                        allowed_policies=["creator"])
    r = srv.api("POST", "auth/token/create", token=parent, json={})
    assert r.status_code == 200, r.text
    child = r.json()["auth"]["client_token"]
    r = srv.api("GET", "auth/token/lookup-self", token=child)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["bound_cidrs"] == ["127.0.0.0/8"]


def test_token_role_cidrs_fields(unsealed):
    srv, tok = unsealed, unsealed.root_token
    r = srv.api("POST", "auth/token/roles/r", token=tok, json={})
    r = srv.api("GET", "auth/token/roles/r", token=tok)
    assert r.json()["data"]["token_bound_cidrs"] == []
    r = srv.api("POST", "auth/token/roles/r", token=tok,
                json={"token_bound_cidrs": ["nope"]})
    assert r.status_code == 400
    assert r.json()["errors"] == [
        'error parsing bound_cidrs: error parsing address "nope": Unable '
        'to convert nope to an IPv4 or IPv6 address, or a UNIX Socket']
    r = srv.api("POST", "auth/token/roles/r", token=tok,
                json={"token_bound_cidrs": ["10.0.0.0/8"],
                      "bound_cidrs": ["192.0.2.0/24"]})
    assert r.status_code == 200, r.text
    assert r.json()["warnings"] == [
        "Both 'token_bound_cidrs' and deprecated 'bound_cidrs' value "
        "supplied, ignoring the deprecated value"]
    r = srv.api("POST", "auth/token/roles/r2", token=tok,
                json={"bound_cidrs": "192.0.2.0/24"})
    assert r.status_code in (200, 204), r.text
    r = srv.api("GET", "auth/token/roles/r2", token=tok)
    assert r.json()["data"]["token_bound_cidrs"] == ["192.0.2.0/24"]


# --- the listener's X-Forwarded-For keys -------------------------------

TRUST_LOCAL = '  x_forwarded_for_authorized_addrs = "127.0.0.1/32"\n'


def test_xff_ignored_without_authorized_addrs(unsealed):
    srv = unsealed
    tok = role_token(srv, ["10.0.0.0/8"])
    r = srv.api("GET", "auth/token/lookup-self", token=tok,
                headers={"X-Forwarded-For": "10.1.2.3"})
    assert r.status_code == 403 and r.json() == DENIED


def test_xff_trusted_peer(tmp_path, request):
    srv = xff_server(tmp_path, request, TRUST_LOCAL)
    tok = role_token(srv, ["10.0.0.0/8"])
    ok = srv.api("GET", "auth/token/lookup-self", token=tok,
                 headers={"X-Forwarded-For": "10.1.2.3"})
    assert ok.status_code == 200, ok.text
    r = srv.api("GET", "auth/token/lookup-self", token=tok,
                headers={"X-Forwarded-For": "192.0.2.7"})
    assert r.status_code == 403 and r.json() == DENIED
    # The last entry of the chain is the client.
    r = srv.api("GET", "auth/token/lookup-self", token=tok,
                headers={"X-Forwarded-For": "10.1.2.3, 192.0.2.7"})
    assert r.status_code == 403
    # A name is not an address: outside every block.
    r = srv.api("GET", "auth/token/lookup-self", token=tok,
                headers={"X-Forwarded-For": "client.example"})
    assert r.status_code == 403
    # No header: the peer, 127.0.0.1, outside 10/8; not rejected.
    r = srv.api("GET", "auth/token/lookup-self", token=tok)
    assert r.status_code == 403 and r.json() == DENIED
    assert srv.api("GET", "sys/health").status_code == 200


def test_xff_untrusted_peer_ignored(tmp_path, request):
    srv = xff_server(tmp_path, request,
                     '  x_forwarded_for_authorized_addrs = '
                     '["192.0.2.0/24"]\n')
    tok = role_token(srv, ["10.0.0.0/8"])
    r = srv.api("GET", "auth/token/lookup-self", token=tok,
                headers={"X-Forwarded-For": "10.1.2.3"})
    assert r.status_code == 403 and r.json() == DENIED


def test_xff_hop_skips(tmp_path, request):
    srv = xff_server(tmp_path, request, TRUST_LOCAL +
                     "  x_forwarded_for_hop_skips = 1\n")
    tok = role_token(srv, ["10.0.0.0/8"])
    r = srv.api("GET", "auth/token/lookup-self", token=tok,
                headers={"X-Forwarded-For": "10.1.2.3, 192.0.2.7"})
    assert r.status_code == 200, r.text
    r = srv.api("GET", "auth/token/lookup-self", token=tok,
                headers={"X-Forwarded-For": "192.0.2.7, 10.1.2.3"})
    assert r.status_code == 403
    r = srv.api("GET", "sys/health",
                headers={"X-Forwarded-For": "10.1.2.3"})
    assert r.status_code == 400
    assert r.json() == {"errors": [
        "malformed x-forwarded-for configuration or request, hops to skip "
        "(1) would skip before earliest chain link (chain length 1)"]}


def test_xff_reject_not_present(tmp_path, request):
    srv = xff_server(tmp_path, request, TRUST_LOCAL +
                     "  x_forwarded_for_reject_not_present = true\n",
                     init=False)
    r = srv.api("GET", "sys/seal-status")
    assert r.status_code == 400
    assert r.json() == {"errors": [
        "missing x-forwarded-for header and configured to reject when "
        "not present"]}
    r = srv.api("GET", "sys/seal-status",
                headers={"X-Forwarded-For": "10.1.2.3"})
    assert r.status_code == 200, r.text


def test_xff_reject_not_authorized(tmp_path, request):
    srv = xff_server(tmp_path, request,
                     '  x_forwarded_for_authorized_addrs = "10.0.0.0/8"\n'
                     "  x_forwarded_for_reject_not_authorized = true\n")
    r = srv.api("GET", "sys/seal-status",
                headers={"X-Forwarded-For": "10.1.2.3"})
    assert r.status_code == 400
    assert r.json() == {"errors": [
        "client address not authorized for x-forwarded-for and configured "
        "to reject connection"]}
    # Without the header the peer is used: not refused (default false).
    assert srv.api("GET", "sys/seal-status").status_code == 200


def test_xff_bad_cidr_refused_by_check(tmp_path):
    private()
    srv = Server(tmp_path)
    srv.write_config(listener_extra='  x_forwarded_for_authorized_addrs = '
                     '["10.0.0.0/8", "bogus"]\n')
    r = subprocess.run([COFFERD, "-n", "-config", srv.confpath],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "cofferd.hcl:" in r.stderr
    assert 'error parsing address "bogus"' in r.stderr


# --- AppRole -----------------------------------------------------------

def approle(srv, **role):
    c = srv.client(srv.root_token)
    c.sys.enable_auth_method("approle")
    r = srv.api("POST", "auth/approle/role/r", token=srv.root_token,
                json=role)
    assert r.status_code in (200, 204), r.text
    rid = c.auth.approle.read_role_id("r")["data"]["role_id"]
    return c, rid


def login(srv, rid, sid=None):
    body = {"role_id": rid}
    if sid is not None:
        body["secret_id"] = sid
    return srv.api("POST", "auth/approle/login", json=body)


def test_approle_secret_id_cidr_list(unsealed):
    srv = unsealed
    c, rid = approle(srv)
    # Unlimited uses: Vault's "through" text.
    sid = c.auth.approle.generate_secret_id(
        "r", cidr_list=["10.0.0.0/8"])["data"]["secret_id"]
    r = login(srv, rid, sid)
    assert r.status_code == 400
    assert r.json() == {"errors": [
        'source address "127.0.0.1" unauthorized through CIDR '
        'restrictions on the secret ID']}
    # Counted uses: the use is taken first, then "by ...: %!w(<nil>)".
    r = srv.api("POST", "auth/approle/role/r/secret-id",
                token=srv.root_token,
                json={"cidr_list": "10.0.0.0/8", "num_uses": 1})
    sid1 = r.json()["data"]["secret_id"]
    r = login(srv, rid, sid1)
    assert r.status_code == 400
    assert r.json() == {"errors": [
        'source address "127.0.0.1" unauthorized by CIDR restrictions on '
        'the secret ID: %!w(<nil>)']}
    assert login(srv, rid, sid1).json() == {
        "errors": ["invalid role or secret ID"]}
    # Inside: a token, bound by the secret ID's token_bound_cidrs.
    sid = c.auth.approle.generate_secret_id(
        "r", cidr_list=["127.0.0.0/8"],
        token_bound_cidrs=["10.0.0.0/8"])["data"]["secret_id"]
    d = c.auth.approle.read_secret_id("r", sid)["data"]
    assert d["cidr_list"] == ["127.0.0.0/8"]
    assert d["token_bound_cidrs"] == ["10.0.0.0/8"]
    r = login(srv, rid, sid)
    assert r.status_code == 200, r.text
    tok = r.json()["auth"]["client_token"]
    r = srv.api("GET", "auth/token/lookup-self", token=tok)
    assert r.status_code == 403 and r.json() == DENIED


def test_approle_secret_id_write_errors(unsealed):
    srv = unsealed
    c, rid = approle(srv, secret_id_bound_cidrs=["10.0.0.0/8"])
    tok = srv.root_token
    r = srv.api("POST", "auth/approle/role/r/secret-id", token=tok,
                json={"cidr_list": ["10.0.0.5"]})
    assert r.status_code == 500
    assert r.json() == {"errors": [
        "1 error occurred:\n\t* failed to validate CIDR blocks: invalid "
        "CIDR address: 10.0.0.5\n\n"]}
    r = srv.api("POST", "auth/approle/role/r/custom-secret-id", token=tok,
                json={"secret_id": "s1", "token_bound_cidrs": "bad"})
    assert r.status_code == 500
    assert r.json() == {"errors": [
        "1 error occurred:\n\t* failed to validate token CIDR blocks: "
        "invalid CIDR address: bad\n\n"]}
    r = srv.api("POST", "auth/approle/role/r/secret-id", token=tok,
                json={"cidr_list": ["192.168.0.0/24"]})
    assert r.status_code == 500
    assert r.json() == {"errors": [
        '1 error occurred:\n\t* failed to verify subset relationship '
        'between CIDR blocks on the role ["10.0.0.0/8"] and CIDR blocks '
        'on the secret ID ["192.168.0.0/24"]: %!w(<nil>)\n\n']}
    r = srv.api("POST", "auth/approle/role/r2", token=tok,
                json={"secret_id_bound_cidrs": "10.0.0.5"})
    assert r.status_code == 500
    assert r.json() == {"errors": [
        "1 error occurred:\n\t* failed to validate CIDR blocks: invalid "
        "CIDR address: 10.0.0.5\n\n"]}
    r = srv.api("POST", "auth/approle/role/r2", token=tok,
                json={"token_bound_cidrs": "zz"})
    assert r.status_code == 400
    assert r.json()["errors"] == [
        'error parsing address "zz": Unable to convert zz to an IPv4 or '
        'IPv6 address, or a UNIX Socket']


def test_approle_role_secret_id_bound_cidrs(unsealed):
    srv = unsealed
    c, rid = approle(srv, secret_id_bound_cidrs="10.0.0.0/8",
                     token_bound_cidrs=["127.0.0.1"])
    d = c.auth.approle.read_role("r")["data"]
    assert d["secret_id_bound_cidrs"] == ["10.0.0.0/8"]
    assert d["token_bound_cidrs"] == ["127.0.0.1"]
    sid = c.auth.approle.generate_secret_id("r")["data"]["secret_id"]
    r = login(srv, rid, sid)
    assert r.status_code == 400
    assert r.json() == {"errors": [
        'source address "127.0.0.1" unauthorized by CIDR restrictions on '
        'the role: %!w(<nil>)']}
    # Without bind_secret_id the role's list is the constraint.
    r = srv.api("POST", "auth/approle/role/open", token=srv.root_token,
                json={"bind_secret_id": False,
                      "secret_id_bound_cidrs": ["127.0.0.0/8"],
                      "token_bound_cidrs": ["127.0.0.1"]})
    assert r.status_code in (200, 204), r.text
    orid = c.auth.approle.read_role_id("open")["data"]["role_id"]
    r = login(srv, orid)
    assert r.status_code == 200, r.text
    tok = r.json()["auth"]["client_token"]
    r = srv.api("GET", "auth/token/lookup-self", token=tok)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["bound_cidrs"] == ["127.0.0.1"]
    # Unset lists read back as Vault shows them.
    r = srv.api("POST", "auth/approle/role/plain", token=srv.root_token,
                json={})
    d = c.auth.approle.read_role("plain")["data"]
    assert d["secret_id_bound_cidrs"] is None
    assert d["token_bound_cidrs"] == []
    sid = c.auth.approle.generate_secret_id("plain")["data"]["secret_id"]
    d = c.auth.approle.read_secret_id("plain", sid)["data"]
    assert d["cidr_list"] == [] and d["token_bound_cidrs"] == []


def test_approle_cidrs_through_xff(tmp_path, request):
    srv = xff_server(tmp_path, request, TRUST_LOCAL)
    c, rid = approle(srv, secret_id_bound_cidrs=["10.0.0.0/8"])
    sid = c.auth.approle.generate_secret_id("r")["data"]["secret_id"]
    r = srv.api("POST", "auth/approle/login",
                json={"role_id": rid, "secret_id": sid},
                headers={"X-Forwarded-For": "10.9.8.7"})
    assert r.status_code == 200, r.text
    r = srv.api("POST", "auth/approle/login",
                json={"role_id": rid, "secret_id": sid},
                headers={"X-Forwarded-For": "not-an-ip"})
    assert r.status_code == 400
    assert r.json() == {"errors": [
        'source address "not-an-ip" unauthorized by CIDR restrictions on '
        'the role: invalid IP address']}


# --- userpass token_bound_cidrs -----------------------------------------

def test_userpass_token_bound_cidrs(unsealed):
    """A user's token_bound_cidrs bind the login and its token: a login
    from outside is refused, one from inside gets a token carrying the
    list; the user shows it as Vault echoes it."""
    srv = unsealed
    tok = srv.root_token
    r = srv.api("POST", "sys/auth/userpass", token=tok,
                json={"type": "userpass"})
    assert r.status_code == 204, r.text
    for name, cidrs in (("near", "127.0.0.1/32"),
                        ("far", ["10.0.0.0/8", "192.0.2.10"])):
        r = srv.api("POST", "auth/userpass/users/" + name, token=tok,
                    json={"password": "pw", "token_ttl": "1h",
                          "token_bound_cidrs": cidrs})
        assert r.status_code == 204, r.text
    r = srv.api("GET", "auth/userpass/users/far", token=tok)
    assert r.json()["data"]["token_bound_cidrs"] == [
        "10.0.0.0/8", "192.0.2.10"]
    r = srv.api("POST", "auth/userpass/login/far", json={"password": "pw"})
    assert r.status_code == 403 and r.json() == DENIED
    r = srv.api("POST", "auth/userpass/login/near", json={"password": "pw"})
    assert r.status_code == 200, r.text
    t = r.json()["auth"]["client_token"]
    r = srv.api("GET", "auth/token/lookup-self", token=t)
    assert r.status_code == 200
    assert r.json()["data"]["bound_cidrs"] == ["127.0.0.1"]
    # A bad entry is refused with Vault's text.
    r = srv.api("POST", "auth/userpass/users/bad", token=tok,
                json={"password": "pw", "token_bound_cidrs": "nonsense"})
    assert r.status_code == 400, r.text
