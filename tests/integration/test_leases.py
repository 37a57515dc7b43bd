"""Leases: sys/leases/* and the old sys/renew, sys/revoke paths.

coffer's leases are those of service and wrapping tokens, with ids
"<creation path>/h<64 hex>" that no response envelope carries; they are
seen through LIST sys/leases/lookup/ (sudo), looked up, refused renewal
(tokens renew through auth/token/renew*) and revoked with their tokens.
"""
import re

import hvac
import pytest

LEASE_RE = re.compile(r"^h[0-9a-f]{64}$")


def post(srv, path, body=None, token=None):
    return srv.api("POST", path, token=token or srv.root_token,
                   json=body or {})


def make_token(srv, body=None, path="auth/token/create"):
    r = post(srv, path, dict({"policies": ["default"]}, **(body or {})))
    assert r.status_code == 200, r.text
    assert r.json()["lease_id"] == ""
    return r.json()["auth"]


def leases(srv, prefix):
    r = srv.api("LIST", "sys/leases/lookup/" + prefix, token=srv.root_token)
    if r.status_code == 404:
        assert r.json() == {"errors": []}
        return []
    assert r.status_code == 200, r.text
    return r.json()["data"]["keys"]


def userpass(srv, users=("alice", "bob")):
    c = srv.client(srv.root_token)
    c.sys.enable_auth_method("userpass")
    out = {}
    for u in users:
        c.auth.userpass.create_or_update_user(u, "pw-" + u,
                                              policies=["default"])
        r = srv.api("POST", "auth/userpass/login/" + u,
                    json={"password": "pw-" + u})
        assert r.status_code == 200, r.text
        out[u] = r.json()["auth"]["client_token"]
    return out


def test_token_lease_listed_and_looked_up(unsealed):
    """A created token has a lease under its path; LIST walks the tree,
    lookup answers §3.4's shape."""
    srv = unsealed
    c = srv.client(srv.root_token)
    make_token(srv, {"ttl": "1h"})
    assert leases(srv, "") == ["auth/"]
    assert leases(srv, "auth/token") == ["create/"]
    ids = c.sys.list_leases("auth/token/create/")["data"]["keys"]
    assert len(ids) == 1 and LEASE_RE.match(ids[0]), ids
    lid = "auth/token/create/" + ids[0]
    d = c.sys.read_lease(lid)["data"]
    assert d["id"] == lid
    assert d["last_renewal"] is None
    assert d["renewable"] is True
    assert 3590 <= d["ttl"] <= 3600
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$",
                    d["issue_time"]), d
    assert re.match(r"^\d{4}-\d\d-\d\dT", d["expire_time"]), d


def test_root_token_lease_never_expires_and_init_root_has_none(unsealed):
    srv = unsealed
    c = srv.client(srv.root_token)
    assert leases(srv, "") == []          # sys/init's root: no lease
    r = post(srv, "auth/token/create-orphan", {"policies": ["root"]})
    assert r.status_code == 200, r.text
    ids = leases(srv, "auth/token/create-orphan/")
    assert len(ids) == 1
    d = c.sys.read_lease("auth/token/create-orphan/" + ids[0])["data"]
    assert d["expire_time"] is None and d["ttl"] == 0
    assert d["renewable"] is False
    r = post(srv, "sys/leases/renew",
             {"lease_id": "auth/token/create-orphan/" + ids[0]})
    assert r.status_code == 400
    assert r.json()["errors"] == ["lease is not renewable"]


def test_lookup_errors(unsealed):
    srv = unsealed
    r = post(srv, "sys/leases/lookup", {})
    assert r.status_code == 400
    assert r.json()["errors"] == ["lease_id must be specified"]
    r = post(srv, "sys/leases/lookup", {"lease_id": "auth/token/create/hx"})
    assert r.status_code == 400
    assert r.json()["errors"] == ["invalid lease"]
    r = srv.api("GET", "sys/leases/lookup", token=srv.root_token)
    assert r.status_code == 405


def test_list_and_prefix_ops_need_sudo(unsealed):
    srv = unsealed
    c = srv.client(srv.root_token)
    c.sys.create_or_update_policy("leases", """
path "sys/leases/*" { capabilities = ["read", "list", "update"] }
path "sys/revoke-prefix/*" { capabilities = ["update"] }
path "sys/revoke-force/*" { capabilities = ["update"] }
""")
    tok = make_token(srv, {"policies": ["leases"]})["client_token"]
    for method, path in (("LIST", "sys/leases/lookup/auth/"),
                         ("PUT", "sys/leases/revoke-prefix/auth/token"),
                         ("PUT", "sys/leases/revoke-force/auth/token"),
                         ("PUT", "sys/revoke-prefix/auth/token"),
                         ("PUT", "sys/revoke-force/auth/token")):
        r = srv.api(method, path, token=tok)
        assert r.status_code == 403, (path, r.text)
    # Without sudo, lookup of one lease (not a LIST) is allowed.
    r = srv.api("PUT", "sys/leases/lookup", token=tok,
                json={"lease_id": "x"})
    assert r.status_code == 400 and r.json()["errors"] == ["invalid lease"]
    c.sys.create_or_update_policy("leases", """
path "sys/leases/*" { capabilities = ["read", "list", "update", "sudo"] }
""")
    r = srv.api("LIST", "sys/leases/lookup/auth/", token=tok)
    assert r.status_code == 200 and r.json()["data"]["keys"] == ["token/"]


def test_renew_refusals(unsealed):
    """sys/leases/renew never renews a token: Vault's texts, in order."""
    srv = unsealed
    c = srv.client(srv.root_token)
    make_token(srv, {"ttl": "1h"})
    lid = "auth/token/create/" + leases(srv, "auth/token/create/")[0]
    for path in ("sys/leases/renew", "sys/renew"):
        r = post(srv, path, {})
        assert r.status_code == 400
        assert r.json()["errors"] == ["lease_id must be specified"]
        r = post(srv, path, {"lease_id": "auth/token/create/hnope"})
        assert r.json()["errors"] == ["lease not found"]
        r = post(srv, path, {"lease_id": lid, "increment": "10m"})
        assert r.status_code == 400
        assert r.json()["errors"] == [
            "tokens cannot be renewed through this endpoint"]
        r = post(srv, path + "/" + lid)
        assert r.json()["errors"] == [
            "tokens cannot be renewed through this endpoint"]
        # The body's lease_id wins over the URL's.
        r = post(srv, path + "/" + lid,
                 {"lease_id": "auth/token/create/hnope"})
        assert r.json()["errors"] == ["lease not found"]
        r = srv.api("GET", path, token=srv.root_token)
        assert r.status_code == 405
    with pytest.raises(hvac.exceptions.InvalidRequest) as ei:
        c.sys.renew_lease(lid, increment=60)
    assert "tokens cannot be renewed through this endpoint" in str(ei.value)
    # Not renewable: a token created renewable=false.
    make_token(srv, {"ttl": "1h", "renewable": False},
               "auth/token/create-orphan")
    nid = leases(srv, "auth/token/create-orphan/")[0]
    r = post(srv, "sys/leases/renew",
             {"lease_id": "auth/token/create-orphan/" + nid})
    assert r.json()["errors"] == ["lease is not renewable"]


@pytest.mark.parametrize("path", ["sys/leases/revoke", "sys/revoke"])
def test_revoke_token_lease_revokes_tree(unsealed, path):
    srv = unsealed
    srv.client(srv.root_token).sys.create_or_update_policy(
        "maker", 'path "auth/token/create" { capabilities = ["update"] }')
    parent = make_token(srv, {"ttl": "1h", "policies": ["maker"]})[
        "client_token"]
    r = post(srv, "auth/token/create", {"policies": ["default"],
                                        "ttl": "10m"}, token=parent)
    assert r.status_code == 200, r.text
    kid = r.json()["auth"]["client_token"]
    ids = leases(srv, "auth/token/create/")
    assert len(ids) == 2
    # The parent's lease is the one with the longer TTL.
    pl = None
    for i in ids:
        d = srv.client(srv.root_token).sys.read_lease(
            "auth/token/create/" + i)["data"]
        if d["ttl"] > 3000:
            pl = "auth/token/create/" + i
    assert pl is not None
    r = post(srv, path, {"lease_id": pl})
    assert r.status_code == 204, r.text
    for t in (parent, kid):
        r = srv.api("GET", "auth/token/lookup-self", token=t)
        assert r.status_code == 403
    assert leases(srv, "auth/token/create/") == []
    # Unknown lease: 204; missing: 400.
    r = post(srv, path, {"lease_id": "auth/token/create/hgone"})
    assert r.status_code == 204
    r = post(srv, path, {})
    assert r.status_code == 400
    assert r.json()["errors"] == ["lease_id must be specified"]
    r = srv.api("GET", path, token=srv.root_token)
    assert r.status_code == 405


def test_revoke_url_id_and_async(unsealed):
    srv = unsealed
    c = srv.client(srv.root_token)
    a = make_token(srv, {"ttl": "1h"})["client_token"]
    lid = "auth/token/create/" + leases(srv, "auth/token/create/")[0]
    r = post(srv, "sys/leases/revoke/" + lid, {"sync": False})
    assert r.status_code == 202
    assert r.content == b"" or r.content == b"\n"
    assert r.headers["Content-Type"].startswith("application/json")
    assert srv.api("GET", "auth/token/lookup-self", token=a).status_code \
        == 403
    b = make_token(srv, {"ttl": "1h"})["client_token"]
    lid = "auth/token/create/" + leases(srv, "auth/token/create/")[0]
    c.sys.revoke_lease(lid)
    assert srv.api("GET", "auth/token/lookup-self", token=b).status_code \
        == 403
    b = make_token(srv, {"ttl": "1h"})["client_token"]
    lid = "auth/token/create/" + leases(srv, "auth/token/create/")[0]
    r = post(srv, "sys/revoke/" + lid)
    assert r.status_code == 204
    assert srv.api("GET", "auth/token/lookup-self", token=b).status_code \
        == 403


def test_revoke_prefix_userpass_only(unsealed):
    """revoke-prefix on auth/userpass/login/ revokes those tokens and no
    other."""
    srv = unsealed
    c = srv.client(srv.root_token)
    toks = userpass(srv)
    other = make_token(srv, {"ttl": "1h"})["client_token"]
    assert leases(srv, "auth/userpass/login/") == ["alice/", "bob/"]
    c.sys.revoke_prefix("auth/userpass/login/")
    for t in toks.values():
        assert srv.api("GET", "auth/token/lookup-self",
                       token=t).status_code == 403
    assert srv.api("GET", "auth/token/lookup-self",
                   token=other).status_code == 200
    assert leases(srv, "auth/userpass/") == []
    assert leases(srv, "") == ["auth/"]


def test_revoke_prefix_forms(unsealed):
    srv = unsealed
    toks = userpass(srv)
    # An exact lease id without a trailing slash: that lease alone.
    al = "auth/userpass/login/alice/" + leases(
        srv, "auth/userpass/login/alice/")[0]
    r = post(srv, "sys/leases/revoke-prefix/" + al)
    assert r.status_code == 204, r.text
    assert srv.api("GET", "auth/token/lookup-self",
                   token=toks["alice"]).status_code == 403
    assert srv.api("GET", "auth/token/lookup-self",
                   token=toks["bob"]).status_code == 200
    # A partial name is not a prefix of "bob/": nothing goes.
    r = post(srv, "sys/revoke-prefix/auth/userpass/login/bo")
    assert r.status_code == 204
    assert srv.api("GET", "auth/token/lookup-self",
                   token=toks["bob"]).status_code == 200
    # Async and old alias, with the folder name.
    r = post(srv, "sys/revoke-prefix/auth/userpass", {"sync": False})
    assert r.status_code == 202
    assert srv.api("GET", "auth/token/lookup-self",
                   token=toks["bob"]).status_code == 403
    r = srv.api("GET", "sys/leases/revoke-prefix/auth", token=srv.root_token)
    assert r.status_code == 405


@pytest.mark.parametrize("path", ["sys/leases/revoke-force",
                                  "sys/revoke-force"])
def test_revoke_force(unsealed, path):
    srv = unsealed
    toks = userpass(srv, ("carol",))
    r = post(srv, path + "/auth/userpass/login")
    assert r.status_code == 204, r.text
    assert srv.api("GET", "auth/token/lookup-self",
                   token=toks["carol"]).status_code == 403
    assert leases(srv, "") == []


def test_revoke_force_hvac(unsealed):
    srv = unsealed
    c = srv.client(srv.root_token)
    t = make_token(srv, {"ttl": "1h"})["client_token"]
    c.sys.revoke_force("auth/token/create")
    assert srv.api("GET", "auth/token/lookup-self", token=t).status_code \
        == 403


def test_wrapping_token_lease(unsealed):
    """A wrapping token has a lease under the wrapped path, not
    renewable; revoking it destroys the wrapped response."""
    srv = unsealed
    r = srv.api("POST", "sys/wrapping/wrap", token=srv.root_token,
                headers={"X-Vault-Wrap-TTL": "300"}, json={"k": "v"})
    assert r.status_code == 200, r.text
    assert r.json()["lease_id"] == ""
    wt = r.json()["wrap_info"]["token"]
    ids = leases(srv, "sys/wrapping/wrap/")
    assert len(ids) == 1
    lid = "sys/wrapping/wrap/" + ids[0]
    d = srv.client(srv.root_token).sys.read_lease(lid)["data"]
    assert d["renewable"] is False and 290 <= d["ttl"] <= 300
    r = post(srv, "sys/leases/renew", {"lease_id": lid})
    assert r.json()["errors"] == ["lease is not renewable"]
    r = post(srv, "sys/leases/revoke", {"lease_id": lid})
    assert r.status_code == 204
    r = srv.api("POST", "sys/wrapping/unwrap", token=wt)
    assert r.status_code in (400, 403), r.text
    assert leases(srv, "") == []


def test_unwrap_drops_lease(unsealed):
    srv = unsealed
    r = srv.api("POST", "sys/wrapping/wrap", token=srv.root_token,
                headers={"X-Vault-Wrap-TTL": "300"}, json={"k": "v"})
    wt = r.json()["wrap_info"]["token"]
    r = srv.api("POST", "sys/wrapping/unwrap", token=wt)
    assert r.status_code == 200, r.text
    assert leases(srv, "") == []


def test_lease_ids_never_in_responses(unsealed):
    """The lease id is only seen through LIST: not in create, lookup or
    login answers."""
    srv = unsealed
    toks = userpass(srv, ("dave",))
    r = post(srv, "auth/token/create", {"policies": ["default"]})
    tok = r.json()["auth"]["client_token"]
    lid = leases(srv, "auth/token/create/")[0]
    for resp in (r, srv.api("GET", "auth/token/lookup-self", token=tok),
                 post(srv, "auth/token/lookup", {"token": tok}),
                 post(srv, "auth/token/renew-self", token=tok),
                 srv.api("POST", "auth/userpass/login/dave",
                         json={"password": "pw-dave"})):
        assert resp.status_code == 200, resp.text
        assert lid not in resp.text and lid[1:] not in resp.text
        assert resp.json()["lease_id"] == ""
    assert toks


def test_renewal_shows_in_lookup(unsealed):
    srv = unsealed
    tok = make_token(srv, {"ttl": "1h"})["client_token"]
    r = post(srv, "auth/token/renew-self", {"increment": "2h"}, token=tok)
    assert r.status_code == 200, r.text
    lid = "auth/token/create/" + leases(srv, "auth/token/create/")[0]
    d = srv.client(srv.root_token).sys.read_lease(lid)["data"]
    assert d["last_renewal"] is not None
    assert d["ttl"] > 3600


def test_tidy(unsealed):
    srv = unsealed
    tok = make_token(srv, {"ttl": "1h"})["client_token"]
    r = post(srv, "sys/leases/tidy")
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["warnings"] == [
        "Tidy operation successfully started. Any information from the "
        "operation will be printed to Vault's server logs."]
    assert body["data"] is None and body["auth"] is None
    assert body["lease_id"] == "" and body["lease_duration"] == 0
    assert list(body) == ["request_id", "lease_id", "renewable",
                          "lease_duration", "data", "wrap_info",
                          "warnings", "auth"]
    # A live lease survives tidy.
    assert srv.api("GET", "auth/token/lookup-self", token=tok).status_code \
        == 200
    assert len(leases(srv, "auth/token/create/")) == 1
    assert srv.api("GET", "sys/leases/tidy",
                   token=srv.root_token).status_code == 405


def test_irrevocable_and_count(unsealed):
    srv = unsealed
    r = srv.api("GET", "sys/leases?type=irrevocable", token=srv.root_token)
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"lease_count": 0, "leases": []}
    r = srv.api("GET", "sys/leases/count?type=irrevocable",
                token=srv.root_token)
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"counts": {}, "lease_count": 0}
    assert srv.api("GET", "sys/leases",
                   token=srv.root_token).status_code == 404


# --- the token TTL gaps


def test_token_mount_tune_applies(unsealed):
    """sys/mounts/auth/token/tune's TTLs govern tokens created there."""
    srv = unsealed
    r = srv.api("POST", "sys/mounts/auth/token/tune", token=srv.root_token,
                json={"default_lease_ttl": "1h", "max_lease_ttl": "2h"})
    assert r.status_code == 204, r.text
    a = make_token(srv)
    assert a["lease_duration"] == 3600
    r = post(srv, "auth/token/create", {"policies": ["default"],
                                        "ttl": "5h"})
    assert r.status_code == 200, r.text
    assert r.json()["auth"]["lease_duration"] == 7200
    # Renewal is capped by the mount's max too.
    tok = a["client_token"]
    r = post(srv, "auth/token/renew-self", {"increment": "10h"}, token=tok)
    assert r.status_code == 200, r.text
    assert 7190 <= r.json()["auth"]["lease_duration"] <= 7200
    # The tune outlives a restart.
    srv.restart()
    srv.unseal()
    assert make_token(srv)["lease_duration"] == 3600


def test_auth_mount_tune_applies(unsealed):
    """sys/auth/userpass/tune's TTLs govern its login tokens."""
    srv = unsealed
    userpass(srv, ("erin",))
    r = srv.api("POST", "sys/auth/userpass/tune", token=srv.root_token,
                json={"default_lease_ttl": "20m", "max_lease_ttl": "30m"})
    assert r.status_code == 204, r.text
    r = srv.api("POST", "auth/userpass/login/erin",
                json={"password": "pw-erin"})
    assert r.status_code == 200, r.text
    a = r.json()["auth"]
    assert a["lease_duration"] == 1200
    r = post(srv, "auth/token/renew-self", {"increment": "5h"},
             token=a["client_token"])
    assert r.status_code == 200, r.text
    assert 1790 <= r.json()["auth"]["lease_duration"] <= 1800


def test_userpass_renew_capped_by_token_max_ttl(unsealed):
    srv = unsealed
    c = srv.client(srv.root_token)
    c.sys.enable_auth_method("userpass")
    r = srv.api("POST", "auth/userpass/users/fay", token=srv.root_token,
                json={"password": "pw", "token_ttl": "10m",
                      "token_max_ttl": "15m"})
    assert r.status_code == 204, r.text
    r = srv.api("POST", "auth/userpass/login/fay", json={"password": "pw"})
    a = r.json()["auth"]
    assert a["lease_duration"] == 600
    r = post(srv, "auth/token/renew-self", {"increment": "1h"},
             token=a["client_token"])
    assert r.status_code == 200, r.text
    assert 890 <= r.json()["auth"]["lease_duration"] <= 900
    assert r.json()["warnings"] == [
        "TTL exceeded the effective max_ttl; TTL value is capped accordingly"]


def renew_self(srv, tok, body=None):
    return post(srv, "auth/token/renew-self", body, token=tok)


def test_userpass_renew_rechecks_the_user(unsealed):
    """Vault's pathLoginRenew: the user as it is now, not at login."""
    srv = unsealed
    c = srv.client(srv.root_token)
    c.sys.enable_auth_method("userpass")
    c.auth.userpass.create_or_update_user("gil", "pw", policies=["dev"],
                                          token_ttl="10m",
                                          token_max_ttl="1h")
    login = lambda: srv.api("POST", "auth/userpass/login/gil",
                            json={"password": "pw"}).json()["auth"]
    tok = login()["client_token"]
    # The user's current token_ttl and token_max_ttl, not the login's.
    c.auth.userpass.create_or_update_user("gil", policies=["dev"],
                                          token_ttl="20m",
                                          token_max_ttl="25m")
    r = renew_self(srv, tok)
    assert r.status_code == 200, r.text
    assert r.json()["auth"]["lease_duration"] == 1200
    r = renew_self(srv, tok, {"increment": "1h"})
    assert r.status_code == 200, r.text
    assert 1490 <= r.json()["auth"]["lease_duration"] <= 1500
    # "default" aside, other policies now: refused with Vault's 500 text.
    c.auth.userpass.create_or_update_user("gil", policies=["dev", "ops"])
    r = renew_self(srv, tok)
    assert r.status_code == 500
    assert r.json()["errors"] == [
        "1 error occurred:\n\t* failed to renew entry: policies have "
        "changed, not renewing\n\n"]
    c.auth.userpass.create_or_update_user("gil", policies=["default", "dev"])
    assert renew_self(srv, tok).status_code == 200
    # A deleted user's token is not renewed: an empty 204 (as Vault).
    ttl = srv.api("GET", "auth/token/lookup-self", token=tok).json()[
        "data"]["ttl"]
    c.auth.userpass.delete_user("gil")
    r = renew_self(srv, tok, {"increment": "2h"})
    assert r.status_code == 204 and r.text == ""
    r = post(srv, "auth/token/renew", {"token": tok})
    assert r.status_code == 204 and r.text == ""
    look = srv.api("GET", "auth/token/lookup-self", token=tok).json()["data"]
    assert look["ttl"] <= ttl


def test_approle_renew_rechecks_the_role(unsealed):
    srv = unsealed
    c = srv.client(srv.root_token)
    c.sys.enable_auth_method("approle")
    c.auth.approle.create_or_update_approle("web", token_ttl="10m",
                                            token_max_ttl="1h",
                                            token_policies=["dev"])
    rid = c.auth.approle.read_role_id("web")["data"]["role_id"]
    sid = c.auth.approle.generate_secret_id("web")["data"]["secret_id"]
    r = srv.api("POST", "auth/approle/login",
                json={"role_id": rid, "secret_id": sid})
    tok = r.json()["auth"]["client_token"]
    assert r.json()["auth"]["lease_duration"] == 600
    c.auth.approle.create_or_update_approle("web", token_ttl="15m",
                                            token_max_ttl="20m",
                                            token_policies=["ops"])
    # The role's current TTLs; its policies are not compared (Vault).
    r = renew_self(srv, tok)
    assert r.status_code == 200, r.text
    assert r.json()["auth"]["lease_duration"] == 900
    r = renew_self(srv, tok, {"increment": "1h"})
    assert 1190 <= r.json()["auth"]["lease_duration"] <= 1200
    c.auth.approle.delete_role("web")
    r = renew_self(srv, tok)
    assert r.status_code == 500
    assert r.json()["errors"] == [
        "1 error occurred:\n\t* failed to renew entry: role \"web\" does "
        "not exist during renewal\n\n"]


def test_wrapped_list_lease_id_joined(unsealed):
    """A wrapped LIST of "kv1/" gets lease "kv1/h...", not "kv1//h..."."""
    srv = unsealed
    c = srv.client(srv.root_token)
    c.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"})
    assert srv.api("PUT", "kv1/a", token=srv.root_token,
                   json={"x": "y"}).status_code == 204
    r = srv.api("LIST", "kv1/", token=srv.root_token,
                headers={"X-Vault-Wrap-TTL": "60"})
    assert r.status_code == 200, r.text
    ids = leases(srv, "kv1/")
    assert len(ids) == 1 and LEASE_RE.match(ids[0]), ids


def test_lookup_of_a_batch_token(unsealed):
    """Vault's lookup opens a batch token: it is its own entry."""
    srv = unsealed
    b = make_token(srv, {"type": "batch", "ttl": "1h",
                         "policies": ["dev"]})
    tok = b["client_token"]
    assert tok.startswith("hvb.") and b["accessor"] == ""
    r = post(srv, "auth/token/lookup", {"token": tok})
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert d["id"] == tok and d["type"] == "batch" and d["accessor"] == ""
    assert d["policies"] == ["default", "dev"] and d["orphan"] is False
    assert d["renewable"] is False and d["path"] == "auth/token/create"
    assert 3590 <= d["ttl"] <= 3600 and d["creation_ttl"] == 3600
    assert d == srv.api("GET", "auth/token/lookup-self",
                        token=tok).json()["data"] | {"ttl": d["ttl"]}
    # Not ours, or orphaned by its parent's revocation: a bad token.
    r = post(srv, "auth/token/lookup", {"token": "hvb.AAAA" + tok[8:20]})
    assert r.status_code == 403 and r.json()["errors"] == ["bad token"]
    parent = make_token(srv, {"policies": ["root"]})["client_token"]
    r = post(srv, "auth/token/create", {"type": "batch",
                                        "policies": ["default"]},
             token=parent)
    child = r.json()["auth"]["client_token"]
    assert post(srv, "auth/token/lookup", {"token": child}).status_code == 200
    assert post(srv, "auth/token/revoke", {"token": parent}).status_code == 204
    r = post(srv, "auth/token/lookup", {"token": child})
    assert r.status_code == 403 and r.json()["errors"] == ["bad token"]
