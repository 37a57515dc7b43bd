"""Durations and numbers from clients: bounded where they are parsed.

Every duration is refused when negative (Vault's "cannot provide negative
value") or beyond Go's time.Duration (where Vault's own arithmetic
wraps), and capped by the mount's max TTL where Vault caps it, so no
expiry can wrap into the past.
"""
import time

import pytest

HUGE = 9223372036854775807
MAX_LEASE = 768 * 3600      # the system max lease TTL by default


def post(srv, path, body, token=None):
    return srv.api("POST", path, token=token or srv.root_token, json=body)


def child(srv, body=None):
    r = post(srv, "auth/token/create", dict(body or {}, policies=["default"]))
    assert r.status_code == 200, r.text
    return r.json()["auth"]["client_token"]


def lookup_self(srv, tok):
    return srv.api("GET", "auth/token/lookup-self", token=tok)


def test_display_name_long(unsealed):
    """A 300-character name was read past its stack buffer; Vault keeps it
    whole."""
    srv = unsealed
    name = "a" * 150 + "!@#" + "b" * 147 + "\u00e9x-"
    tok = child(srv, {"display_name": name})
    r = lookup_self(srv, tok)
    assert r.status_code == 200, r.text
    want = "token-" + "a" * 150 + "---" + "b" * 147 + "-x-"
    assert r.json()["data"]["display_name"] == want[:-1]
    tok = child(srv, {"display_name": "x" * 4000})
    assert lookup_self(srv, tok).json()["data"]["display_name"] == \
        "token-" + "x" * 4000


@pytest.mark.parametrize("path", ["auth/token/renew-self",
                                  "auth/token/renew"])
@pytest.mark.parametrize("inc", [HUGE, str(HUGE), "9223372037",
                                 "2562048h"])
def test_renew_huge_increment(unsealed, path, inc):
    srv = unsealed
    tok = child(srv, {"ttl": "1h"})
    body = {"increment": inc}
    if path == "auth/token/renew":
        body["token"] = tok
    r = post(srv, path, body, token=tok if path.endswith("self") else None)
    assert r.status_code == 400, r.text
    assert "invalid duration" in r.json()["errors"][0]
    # The token still lives.
    r = lookup_self(srv, tok)
    assert r.status_code == 200, r.text
    assert 0 < r.json()["data"]["ttl"] <= 3600


def test_renew_capped_by_max(unsealed):
    srv = unsealed
    tok = child(srv, {"ttl": "1h", "explicit_max_ttl": "2h"})
    r = post(srv, "auth/token/renew-self", {"increment": "9223372036"},
             token=tok)
    assert r.status_code == 200, r.text
    assert 0 < r.json()["auth"]["lease_duration"] <= 7200
    assert "capped" in " ".join(r.json()["warnings"])
    assert lookup_self(srv, tok).status_code == 200


@pytest.mark.parametrize("field", ["ttl", "explicit_max_ttl", "period",
                                   "lease"])
@pytest.mark.parametrize("v", [-5, "-5", "-5m", -2.0])
def test_negative_create_durations_refused(unsealed, field, v):
    """Vault parses these itself: "<field> must be positive"."""
    srv = unsealed
    r = post(srv, "auth/token/create", {field: v})
    assert r.status_code == 400, r.text
    assert r.json()["errors"] == ["%s must be positive" % field]


def test_negative_increment_refused(unsealed):
    srv = unsealed
    tok = child(srv, {"ttl": "1h"})
    for v in (-5, "-5", "-5s"):
        r = post(srv, "auth/token/renew-self", {"increment": v}, token=tok)
        assert r.status_code == 400, r.text
        assert r.json()["errors"] == [
            "Field validation failed: error converting input for field "
            "\"increment\": cannot provide negative value '-5'"]


def test_explicit_max_ttl_huge(unsealed):
    srv = unsealed
    r = post(srv, "auth/token/create", {"explicit_max_ttl": HUGE})
    assert r.status_code == 400, r.text
    assert "invalid duration" in r.json()["errors"][0]
    # The largest accepted value still caps: the token's TTL stays
    # within the system max, and the max expiry is in the future.
    tok = child(srv, {"explicit_max_ttl": 9223372036, "ttl": "1h"})
    d = lookup_self(srv, tok).json()["data"]
    assert d["explicit_max_ttl"] == 9223372036
    assert 0 < d["ttl"] <= 3600
    r = post(srv, "auth/token/renew-self", {"increment": "768h"}, token=tok)
    assert r.status_code == 200, r.text
    assert 0 < r.json()["auth"]["lease_duration"] <= MAX_LEASE


def test_token_role_explicit_max_ttl(unsealed):
    srv = unsealed
    r = post(srv, "auth/token/roles/r", {"token_explicit_max_ttl": HUGE})
    assert r.status_code == 400, r.text
    r = post(srv, "auth/token/roles/r", {"explicit_max_ttl": HUGE})
    assert r.status_code == 400, r.text
    r = post(srv, "auth/token/roles/r",
             {"token_explicit_max_ttl": "9223372036"})
    assert r.status_code in (200, 204), r.text
    assert "greater than system/mount allowed value" in \
        " ".join(r.json()["warnings"])
    r = post(srv, "auth/token/create/r", {"ttl": "1h"})
    assert r.status_code == 200, r.text
    tok = r.json()["auth"]["client_token"]
    assert 0 < lookup_self(srv, tok).json()["data"]["ttl"] <= 3600


def approle(srv, role_body):
    r = post(srv, "sys/auth/approle", {"type": "approle"})
    assert r.status_code in (200, 204), r.text
    r = post(srv, "auth/approle/role/web", dict(role_body,
                                                token_policies=["default"]))
    return r


def secret_id_expiry(srv, sid):
    r = post(srv, "auth/approle/role/web/secret-id/lookup",
             {"secret_id": sid})
    assert r.status_code == 200, r.text
    return r.json()["data"]


@pytest.mark.parametrize("body", [{"ttl": HUGE}, {"ttl": "9223372037"}])
def test_approle_secret_id_huge_ttl(unsealed, body):
    srv = unsealed
    assert approle(srv, {}).status_code in (200, 204)
    r = post(srv, "auth/approle/role/web/secret-id", body)
    assert r.status_code == 400, r.text
    assert "invalid duration" in r.json()["errors"][0]
    r = post(srv, "auth/approle/role/web", {"secret_id_ttl": HUGE})
    assert r.status_code == 400, r.text


def test_approle_secret_id_ttl_capped(unsealed):
    """Vault caps a secret ID's TTL at the mount's max lease TTL."""
    srv = unsealed
    r = approle(srv, {"secret_id_ttl": "9223372036"})
    assert r.status_code in (200, 204), r.text
    r = post(srv, "auth/approle/role/web/secret-id", {})
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert d["secret_id_ttl"] == MAX_LEASE
    info = secret_id_expiry(srv, d["secret_id"])
    exp = info["expiration_time"]
    assert exp > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    assert info["secret_id_ttl"] == MAX_LEASE
    # The secret ID still logs in.
    rid = srv.api("GET", "auth/approle/role/web/role-id",
                  token=srv.root_token).json()["data"]["role_id"]
    r = srv.api("POST", "auth/approle/login",
                json={"role_id": rid, "secret_id": d["secret_id"]})
    assert r.status_code == 200, r.text
    r = post(srv, "auth/approle/role/web/secret-id", {"ttl": -5})
    assert r.status_code == 400, r.text
    assert "cannot provide negative value '-5'" in r.json()["errors"][0]


def test_userpass_token_ttl_bounds(unsealed):
    srv = unsealed
    r = post(srv, "sys/auth/userpass", {"type": "userpass"})
    assert r.status_code in (200, 204), r.text
    for v in (HUGE, -1, "-1h"):
        r = post(srv, "auth/userpass/users/al",
                 {"password": "pw", "token_ttl": v})
        assert r.status_code == 400, r.text
    r = post(srv, "auth/userpass/users/al",
             {"password": "pw", "token_max_ttl": "9223372036"})
    assert r.status_code in (200, 204), r.text
    r = srv.api("POST", "auth/userpass/login/al", json={"password": "pw"})
    assert r.status_code == 200, r.text
    assert 0 < r.json()["auth"]["lease_duration"] <= MAX_LEASE


@pytest.fixture
def kvs(unsealed):
    srv = unsealed
    for path, ver in (("kv1", "1"), ("kv2", "2")):
        r = post(srv, "sys/mounts/" + path,
                 {"type": "kv", "options": {"version": ver}})
        assert r.status_code in (200, 204), r.text
    return srv


def kv2_write(srv, key, data):
    r = post(srv, "kv2/data/" + key, {"data": data})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def kv2_read(srv, key, query=""):
    return srv.api("GET", "kv2/data/%s%s" % (key, query),
                   token=srv.root_token)


@pytest.mark.parametrize("path", ["kv2/config", "kv2/metadata/a"])
@pytest.mark.parametrize("dva", [HUGE, str(HUGE), "2562048h"])
def test_kv2_delete_version_after_huge(kvs, path, dva):
    srv = kvs
    r = post(srv, path, {"delete_version_after": dva})
    assert r.status_code == 400, r.text
    assert "invalid duration" in r.json()["errors"][0]
    kv2_write(srv, "a", {"x": "1"})
    r = kv2_read(srv, "a")
    assert r.status_code == 200 and r.json()["data"]["data"] == {"x": "1"}


def test_kv2_delete_version_after_largest(kvs):
    """The largest accepted setting puts deletion centuries ahead, and
    survives a restart on LMDB."""
    srv = kvs
    r = post(srv, "kv2/config", {"delete_version_after": 9223372036})
    assert r.status_code in (200, 204), r.text
    md = kv2_write(srv, "a", {"x": "1"})
    assert md["deletion_time"] > "2300"
    srv.restart()
    srv.unseal()
    kv2_write(srv, "a", {"x": "2"})
    r = kv2_read(srv, "a")
    assert r.status_code == 200 and r.json()["data"]["data"] == {"x": "2"}


@pytest.mark.parametrize("path", ["kv2/config", "kv2/metadata/a"])
@pytest.mark.parametrize("v", [-1, "-1", 4294967296])
def test_kv2_max_versions_refused(kvs, path, v):
    """Vault stores max_versions as uint32, so -1 wraps to 4294967295
    there; coffer refuses what does not fit."""
    srv = kvs
    r = post(srv, path, {"max_versions": v})
    assert r.status_code == 400, r.text
    assert r.json()["errors"] == ["max_versions must be positive"]


@pytest.mark.parametrize("op", ["delete", "undelete", "destroy"])
@pytest.mark.parametrize("versions,idx,bad", [
    (["abc"], 0, "abc"), ([1, "x2"], 1, "x2"), ("1,abc", 1, "abc"),
    ("1.5", 0, "1.5"),
])
def test_kv2_versions_not_numbers(kvs, op, versions, idx, bad):
    srv = kvs
    kv2_write(srv, "a", {"x": "1"})
    r = post(srv, "kv2/%s/a" % op, {"versions": versions})
    assert r.status_code == 400, r.text
    assert r.json()["errors"] == [
        "Field validation failed: error converting input for field "
        "\"versions\": cannot parse '[%d]' as int: strconv.ParseInt: "
        "parsing \"%s\": invalid syntax" % (idx, bad)]
    r = post(srv, "kv2/%s/a" % op, {"versions": [{"a": 1}]})
    assert r.status_code == 400, r.text
    # Nothing changed.
    r = kv2_read(srv, "a")
    assert r.json()["data"]["data"] == {"x": "1"}


def test_kv2_versions_forms(kvs):
    """Numbers as strings, with spaces, or a bare number select the same
    version; numbers no version has (0, -1) are skipped, as in Vault."""
    srv = kvs
    kv2_write(srv, "a", {"x": "1"})
    kv2_write(srv, "a", {"x": "2"})
    r = post(srv, "kv2/delete/a", {"versions": [-1, 0]})
    assert r.status_code in (200, 204), r.text
    assert kv2_read(srv, "a").json()["data"]["data"] == {"x": "2"}
    r = post(srv, "kv2/delete/a", {"versions": " 2 , 01"})
    assert r.status_code in (200, 204), r.text
    assert kv2_read(srv, "a").json()["data"]["data"] is None
    assert kv2_read(srv, "a", "?version=1").json()["data"]["data"] is None
    r = post(srv, "kv2/undelete/a", {"versions": 2})
    assert r.status_code in (200, 204), r.text
    assert kv2_read(srv, "a").json()["data"]["data"] == {"x": "2"}


def test_kv2_version_query(kvs):
    """Vault reads the current version for ?version=0 or below, and
    refuses what is no integer."""
    srv = kvs
    kv2_write(srv, "a", {"x": "1"})
    kv2_write(srv, "a", {"x": "2"})
    r = kv2_read(srv, "a", "?version=-1")
    assert r.status_code == 200, r.text
    assert r.json()["data"]["metadata"]["version"] == 2
    r = kv2_read(srv, "a", "?version=abc")
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("ttl,want", [
    (-5, 2764800), ("-5s", 2764800), ("junk", 2764800), (HUGE, 7200),
    (str(HUGE), 7200), ("3h", 7200), ("90m", 5400), (60, 60),
])
def test_kv1_ttl(kvs, ttl, want):
    """A v1 secret's ttl hint: what is no duration (or negative) leaves
    the mount's default, and the mount's max TTL caps it."""
    srv = kvs
    r = post(srv, "kv1/a", {"x": "1", "ttl": ttl})
    assert r.status_code in (200, 204), r.text
    if want == 7200:
        r = post(srv, "sys/mounts/kv1/tune", {"max_lease_ttl": "2h"})
        assert r.status_code in (200, 204), r.text
    r = srv.api("GET", "kv1/a", token=srv.root_token)
    assert r.status_code == 200, r.text
    assert r.json()["lease_duration"] == want
