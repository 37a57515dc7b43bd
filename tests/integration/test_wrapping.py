"""Response wrapping: X-Vault-Wrap-TTL and sys/wrapping/, via hvac and requests."""
import json
import re
import time

import hvac
import pytest

SECRET = "pw-7c1e55d0-wrapped-only"
INVALID = "wrapping token is not valid or does not exist"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
def wr(unsealed):
    c = unsealed.client(unsealed.root_token)
    c.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"})
    c.secrets.kv.v1.create_or_update_secret("app", {"password": SECRET},
                                           mount_point="kv1")
    return unsealed, c


def wrapped(srv, method, path, ttl="120", token=None, **kw):
    tok = token if token is not None else srv.root_token
    return srv.api(method, path, token=tok,
                   headers={"X-Vault-Wrap-TTL": str(ttl)}, **kw)


def unwrap(srv, wtok, token=None):
    return srv.api("POST", "sys/wrapping/unwrap",
                   token=token if token is not None else srv.root_token,
                   json={"token": wtok})


def test_wrapped_kv_read_hides_the_secret(wr):
    srv, c = wr
    r = wrapped(srv, "GET", "kv1/app")
    assert r.status_code == 200, r.text
    assert SECRET not in r.text
    body = r.json()
    assert body["request_id"] == "" and body["data"] is None
    assert body["auth"] is None and body["warnings"] is None
    wi = body["wrap_info"]
    assert wi["ttl"] == 120 and wi["creation_path"] == "kv1/app"
    assert RFC3339.match(wi["creation_time"]), wi["creation_time"]
    assert wi["token"].startswith("hvs.") and wi["accessor"]
    assert "wrapped_accessor" not in wi
    # The wrapping token: one policy, one use, orphan, TTL the wrap TTL.
    look = c.auth.token.lookup_accessor(wi["accessor"])["data"]
    assert look["policies"] == ["response-wrapping"]
    assert look["num_uses"] == 1 and look["orphan"] is True
    assert look["path"] == "kv1/app" and look["explicit_max_ttl"] == 120
    # lookup (unauthenticated) does not use it up.
    lk = srv.api("POST", "sys/wrapping/lookup", json={"token": wi["token"]})
    assert lk.status_code == 200, lk.text
    assert lk.json()["data"] == {"creation_path": "kv1/app",
                                 "creation_ttl": 120,
                                 "creation_time": wi["creation_time"]}
    lk = srv.api("GET", "sys/wrapping/lookup", token=wi["token"])
    assert lk.status_code == 200 and lk.json()["data"]["creation_ttl"] == 120
    # Unwrap gives back the original answer, with its own request id.
    u = unwrap(srv, wi["token"])
    assert u.status_code == 200, u.text
    assert u.headers["Content-Type"] == "application/json"
    orig = u.json()
    assert orig["data"] == {"password": SECRET}
    assert orig["request_id"] not in ("", body["request_id"])
    assert orig["wrap_info"] is None
    assert not u.text.endswith("\n")
    # Once only.
    again = unwrap(srv, wi["token"])
    assert again.status_code == 400 and again.json()["errors"] == [INVALID]
    lk = srv.api("POST", "sys/wrapping/lookup", json={"token": wi["token"]})
    assert lk.status_code == 400 and lk.json()["errors"] == [INVALID]
    assert SECRET not in srv.read_log()


def test_wrapping_token_works_exactly_once_first_party(wr):
    srv, c = wr
    wi = wrapped(srv, "GET", "kv1/app").json()["wrap_info"]
    wc = srv.client(wi["token"])
    assert wc.sys.unwrap()["data"] == {"password": SECRET}
    with pytest.raises(hvac.exceptions.InvalidRequest) as e:
        wc.sys.unwrap()
    assert INVALID in str(e.value)
    # hvac's third-party unwrap as well, on a fresh one.
    wi = wrapped(srv, "GET", "kv1/app").json()["wrap_info"]
    assert c.sys.unwrap(wi["token"])["data"] == {"password": SECRET}
    with pytest.raises(hvac.exceptions.InvalidRequest):
        c.sys.unwrap(wi["token"])


def test_wrap_endpoint_and_header_errors(wr):
    srv, c = wr
    r = srv.api("POST", "sys/wrapping/wrap", token=srv.root_token,
                json={"k": "v", "n": 1})
    assert r.status_code == 400
    assert r.json()["errors"] == [
        "endpoint requires response wrapping to be used"]
    r = wrapped(srv, "POST", "sys/wrapping/wrap", ttl="5m",
                json={"k": "v", "n": 1})
    assert r.status_code == 200, r.text
    wi = r.json()["wrap_info"]
    assert wi["ttl"] == 300 and wi["creation_path"] == "sys/wrapping/wrap"
    u = unwrap(srv, wi["token"]).json()
    assert u["data"] == {"k": "v", "n": 1} and u["auth"] is None
    assert wrapped(srv, "POST", "sys/wrapping/wrap", ttl="2d",
                   json={"a": "b"}).json()["wrap_info"]["ttl"] == 172800
    for ttl, text in (
            ("abc", 'time: invalid duration "abc"'),
            ("5x", 'time: unknown unit "x" in duration "5x"'),
            ("-5", "requested wrap ttl cannot be negative"),
            ("-1m", "requested wrap ttl cannot be negative")):
        r = wrapped(srv, "GET", "kv1/app", ttl=ttl)
        assert r.status_code == 400, (ttl, r.text)
        assert r.json()["errors"] == [
            "error parsing X-Vault-Wrap-TTL header: " + text]
        assert SECRET not in r.text
    # Parsed before the token: a bad header is a 400 even with a bad token.
    r = wrapped(srv, "GET", "kv1/app", ttl="abc", token="hvs.nope")
    assert r.status_code == 400
    # A 204 stays a 204, and creates no token.
    r = wrapped(srv, "PUT", "kv1/other", json={"x": "y"})
    assert r.status_code == 204 and r.text == ""
    # An empty LIST asked to be wrapped is Vault's "unsupported path".
    r = wrapped(srv, "LIST", "kv1/none/")
    assert r.status_code == 404
    assert r.json()["errors"] == ["unsupported path"]
    # A non-empty LIST is wrapped.
    r = wrapped(srv, "LIST", "kv1/")
    wi = r.json()["wrap_info"]
    assert r.status_code == 200 and wi["creation_path"] == "kv1/"
    assert unwrap(srv, wi["token"]).json()["data"]["keys"] == ["app", "other"]


def test_wrong_and_malformed_wrapping_tokens(wr):
    srv, c = wr
    rt = srv.root_token
    for body, text in (
            ({"token": 123}, "could not decode token in request body"),
            ({"token": ""}, "empty token in request body")):
        r = srv.api("POST", "sys/wrapping/unwrap", token=rt, json=body)
        assert r.status_code == 403
        assert r.json()["errors"] == ["error validating wrapping token: " +
                                      text]
    r = srv.api("POST", "sys/wrapping/unwrap", json={})
    assert r.status_code == 403
    assert r.json()["errors"] == [
        "error validating wrapping token: token is empty"]
    for tok in ("hvs.AAAAAAAAAAAAAAAAAAAAAAAA", rt):
        r = srv.api("POST", "sys/wrapping/unwrap", json={"token": tok},
                    token=rt)
        assert r.status_code == 400 and r.json()["errors"] == [INVALID]
    # An ordinary token as the caller, first party: not a wrapping token.
    r = srv.api("POST", "sys/wrapping/unwrap", token=rt, json={})
    assert r.status_code == 400 and r.json()["errors"] == [INVALID]
    r = srv.api("POST", "sys/wrapping/lookup", json={"token": rt})
    assert r.status_code == 400 and r.json()["errors"] == [INVALID]
    # sys/wrapping/pubkey is not in open-source Vault.
    r = srv.api("GET", "sys/wrapping/pubkey", token=rt)
    assert r.status_code == 404


def test_wrapping_token_expires(wr):
    srv, c = wr
    wi = wrapped(srv, "GET", "kv1/app", ttl="1s").json()["wrap_info"]
    assert wi["ttl"] == 1
    time.sleep(2.2)
    r = unwrap(srv, wi["token"])
    assert r.status_code == 400 and r.json()["errors"] == [INVALID]
    r = srv.api("POST", "sys/wrapping/lookup", json={"token": wi["token"]})
    assert r.status_code == 400


def test_rewrap_invalidates_the_old_token(wr):
    srv, c = wr
    wi = wrapped(srv, "GET", "kv1/app", ttl="300").json()["wrap_info"]
    r = srv.api("POST", "sys/wrapping/rewrap", token=srv.root_token,
                json={"token": wi["token"]})
    assert r.status_code == 200, r.text
    nw = r.json()["wrap_info"]
    assert nw["token"] != wi["token"] and nw["ttl"] == 300
    assert nw["creation_path"] == "kv1/app"
    look = c.auth.token.lookup_accessor(nw["accessor"])["data"]
    assert look["path"] == "sys/wrapping/rewrap"
    assert unwrap(srv, wi["token"]).status_code == 400
    assert unwrap(srv, nw["token"]).json()["data"] == {"password": SECRET}
    # First party rewrap: denied, and the token is spent.
    wi = wrapped(srv, "GET", "kv1/app").json()["wrap_info"]
    r = srv.api("POST", "sys/wrapping/rewrap", token=wi["token"], json={})
    assert r.status_code == 403
    assert r.json()["errors"] == ["1 error occurred:\n\t* permission denied\n\n"]
    assert unwrap(srv, wi["token"]).status_code == 400


def test_default_policy_wraps_but_cannot_rewrap(wr):
    srv, c = wr
    user = c.auth.token.create(policies=["default"])["auth"]["client_token"]
    r = wrapped(srv, "POST", "sys/wrapping/wrap", token=user,
                json={"s": SECRET})
    assert r.status_code == 200 and SECRET not in r.text
    wt = r.json()["wrap_info"]["token"]
    r = srv.api("POST", "sys/wrapping/rewrap", token=user,
                json={"token": wt})
    assert r.status_code == 403
    r = unwrap(srv, wt, token=user)
    assert r.status_code == 200 and r.json()["data"] == {"s": SECRET}
    # The caller's own token is checked on a third-party unwrap.
    wt = wrapped(srv, "POST", "sys/wrapping/wrap",
                 json={"s": "x"}).json()["wrap_info"]["token"]
    r = unwrap(srv, wt, token="hvs.bogus")
    assert r.status_code == 403


def test_wrapping_ttl_policy_limits(wr):
    srv, c = wr
    c.sys.create_or_update_policy(
        "maxw", 'path "kv1/*" { capabilities = ["read"]\n'
        '  max_wrapping_ttl = "60s" }')
    c.sys.create_or_update_policy(
        "minw", 'path "kv1/*" { capabilities = ["read"]\n'
        '  min_wrapping_ttl = "30s" }')
    tmax = c.auth.token.create(policies=["maxw"])["auth"]["client_token"]
    tmin = c.auth.token.create(policies=["minw"])["auth"]["client_token"]
    denied = "1 error occurred:\n\t* permission denied\n\n"
    r = srv.api("GET", "kv1/app", token=tmax)
    assert r.status_code == 403 and r.json()["errors"] == [denied]
    assert wrapped(srv, "GET", "kv1/app", ttl="120",
                   token=tmax).status_code == 403
    r = wrapped(srv, "GET", "kv1/app", ttl="45", token=tmax)
    assert r.status_code == 200 and r.json()["wrap_info"]["ttl"] == 45
    assert srv.api("GET", "kv1/app", token=tmin).status_code == 403
    assert wrapped(srv, "GET", "kv1/app", ttl="10",
                   token=tmin).status_code == 403
    r = wrapped(srv, "GET", "kv1/app", ttl="1h", token=tmin)
    assert r.status_code == 200 and SECRET not in r.text
    # Vault tests the request's wrap info, there with any header: a
    # header of 0 wraps nothing, passes max_wrapping_ttl alone and fails
    # min_wrapping_ttl.
    r = wrapped(srv, "GET", "kv1/app", ttl="0", token=tmax)
    assert r.status_code == 200, r.text
    assert r.json()["wrap_info"] is None
    assert r.json()["data"] == {"password": SECRET}
    r = wrapped(srv, "GET", "kv1/app", ttl="0", token=tmin)
    assert r.status_code == 403 and r.json()["errors"] == [denied]


def test_wrapped_token_create_unwraps_into_a_working_token(wr):
    srv, c = wr
    r = c.auth.token.create(policies=["default"], ttl="1h", wrap_ttl="60s")
    wi = r["wrap_info"]
    assert r["auth"] is None and wi["creation_path"] == "auth/token/create"
    assert wi["wrapped_accessor"]
    u = c.sys.unwrap(wi["token"])
    assert u["data"] is None
    a = u["auth"]
    assert a["accessor"] == wi["wrapped_accessor"]
    me = srv.client(a["client_token"]).auth.token.lookup_self()["data"]
    assert me["accessor"] == wi["wrapped_accessor"]
    # The child's parent is the caller, not the wrapping token.
    assert me["orphan"] is False


def test_wrapped_secret_id_and_login(wr):
    srv, c = wr
    c.sys.enable_auth_method("approle")
    c.auth.approle.create_or_update_approle("web", token_policies=["default"])
    rid = c.auth.approle.read_role_id("web")["data"]["role_id"]
    r = wrapped(srv, "POST", "auth/approle/role/web/secret-id", ttl="60s")
    assert r.status_code == 200, r.text
    wi = r.json()["wrap_info"]
    assert wi["creation_path"] == "auth/approle/role/web/secret-id"
    assert r.json()["data"] is None and "secret_id" not in r.text
    d = c.sys.unwrap(wi["token"])["data"]
    assert d["secret_id_accessor"] == wi["wrapped_accessor"]
    # A wrapped login: the token is only in the wrapped answer.
    r = srv.api("POST", "auth/approle/login",
                headers={"X-Vault-Wrap-TTL": "30s"},
                json={"role_id": rid, "secret_id": d["secret_id"]})
    assert r.status_code == 200, r.text
    wi = r.json()["wrap_info"]
    assert r.json()["auth"] is None
    assert wi["creation_path"] == "auth/approle/login"
    a = c.sys.unwrap(wi["token"])["auth"]
    assert a["accessor"] == wi["wrapped_accessor"]
    assert srv.api("GET", "auth/token/lookup-self",
                   token=a["client_token"]).status_code == 200
    assert a["client_token"] not in srv.read_log()


def test_cubbyhole_response_read_with_the_wrapping_token(wr):
    """Old clients read cubbyhole/response with the wrapping token."""
    srv, c = wr
    wi = wrapped(srv, "GET", "kv1/app").json()["wrap_info"]
    r = srv.api("GET", "cubbyhole/response", token=wi["token"])
    assert r.status_code == 200, r.text
    body = r.json()
    inner = json.loads(body["data"]["response"])
    assert inner["data"] == {"password": SECRET}
    assert inner["wrap_info"] is None
    assert body["warnings"] == [
        "Reading from 'cubbyhole/response' is deprecated. Please use "
        "sys/wrapping/unwrap to unwrap responses, as it provides "
        "additional security checks and other benefits."]
    # The read spent the token, and its cubbyhole with it.
    r = srv.api("GET", "cubbyhole/response", token=wi["token"])
    assert r.status_code == 403
    assert unwrap(srv, wi["token"]).status_code == 400
    # Any other token reads its own cubbyhole/response as before.
    assert srv.api("POST", "cubbyhole/response", token=srv.root_token,
                   json={"mine": "yes"}).status_code == 204
    r = srv.api("GET", "cubbyhole/response", token=srv.root_token)
    assert r.status_code == 200 and r.json()["data"] == {"mine": "yes"}
    assert r.json()["warnings"] is None


def test_expired_wrapping_token_is_tidied_untouched(wr):
    """A wrapping token nobody uses is revoked once past its TTL by the
    token store's tidy (the background thread runs the same tidy once a
    minute): its accessor leaves the list, the log counts it."""
    srv, c = wr
    wi = wrapped(srv, "GET", "kv1/app", ttl="1s").json()["wrap_info"]
    acc = wi["accessor"]

    def accessors():
        r = srv.api("LIST", "auth/token/accessors", token=srv.root_token)
        assert r.status_code == 200, r.text
        return r.json()["data"]["keys"]
    assert acc in accessors()
    time.sleep(2.2)
    r = srv.api("POST", "auth/token/tidy", token=srv.root_token)
    assert r.status_code in (200, 202, 204), r.text
    assert acc not in accessors()
    assert "tidy revoked 1 expired tokens" in srv.read_log()
    r = unwrap(srv, wi["token"])
    assert r.status_code == 400 and r.json()["errors"] == [INVALID]
