"""sys/metrics, sys/host-info, sys/in-flight-req, sys/tools/*,
sys/version-history and the rekey backup paths, via requests and hvac."""
import base64
import hashlib
import re
import socket
import threading
import time

import pytest

from conftest import EXTERNAL, Server

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
SAMPLE = re.compile(r'^([^\s{]+)(\{([^}]*)\})?\s+(\S+)(\s+-?\d+)?$')
LABEL = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*$')
SUFFIXES = ("_sum", "_count", "_bucket")
TS = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def parse_prometheus(text):
    """Text exposition format 0.0.4: {name: [(labels, value)]}, and
    {family: type}.  Every line is a comment or a sample whose family
    has a TYPE line; anything else fails."""
    types, samples = {}, {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                assert NAME.match(parts[2]), line
                if parts[1] == "TYPE":
                    assert parts[3] in ("counter", "gauge", "summary",
                                        "histogram", "untyped"), line
                    assert parts[2] not in types, "two TYPE lines: " + line
                    types[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample: %r" % line
        name, labels = m.group(1), {}
        assert NAME.match(name), line
        if m.group(3):
            for pair in m.group(3).split(","):
                lm = LABEL.match(pair)
                assert lm, line
                labels[lm.group(1)] = lm.group(2)
        value = float(m.group(4))      # NaN and +Inf parse too
        family = name
        if name not in types:
            for s in SUFFIXES:
                if name.endswith(s) and name[:-len(s)] in types:
                    family = name[:-len(s)]
        assert family in types, "no TYPE for " + line
        samples.setdefault(name, []).append((labels, value))
    return samples, types


def prom(srv, token):
    r = srv.api("GET", "sys/metrics", token=token,
                params={"format": "prometheus"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse_prometheus(r.text)


def test_prometheus_text_parses_and_counts_requests(unsealed):
    srv, tok = unsealed, unsealed.root_token
    s1, types = prom(srv, tok)
    assert types["vault_core_handle_request"] == "summary"
    assert types["vault_core_unsealed"] == "gauge"
    assert s1["vault_core_unsealed"] == [({}, 1.0)]
    assert s1["vault_core_active"] == [({}, 1.0)]
    assert {l["quantile"] for l, _ in s1["vault_core_handle_request"]} == \
        {"0.5", "0.9", "0.99"}
    for fam in ("process_resident_memory_bytes", "process_open_fds",
                "vault_process_threads"):
        assert s1[fam][0][1] > 0, fam
    n1 = s1["vault_core_handle_request_count"][0][1]
    g1 = s1["vault_barrier_get_count"][0][1]
    p1 = s1["vault_barrier_put_count"][0][1]
    c = srv.client(tok)
    c.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"})
    for i in range(5):
        c.secrets.kv.v1.create_or_update_secret("k%d" % i, {"a": "b"},
                                               mount_point="kv1")
        c.secrets.kv.v1.read_secret("k%d" % i, mount_point="kv1")
    s2, _ = prom(srv, tok)
    assert s2["vault_core_handle_request_count"][0][1] >= n1 + 11
    assert s2["vault_core_handle_request_sum"][0][1] > 0
    assert s2["vault_barrier_put_count"][0][1] >= p1 + 5
    assert s2["vault_barrier_get_count"][0][1] >= g1 + 5


def test_prometheus_by_accept_header_and_bad_format(unsealed):
    srv, tok = unsealed, unsealed.root_token
    r = srv.api("GET", "sys/metrics", token=tok,
                headers={"Accept": "application/openmetrics-text; "
                         "version=0.0.1"})
    assert r.status_code == 200
    parse_prometheus(r.text)
    r = srv.api("GET", "sys/metrics", token=tok, params={"format": "xml"})
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.text == 'metric response format "xml" unknown'


def test_json_shape_and_token_creations(unsealed):
    srv, tok = unsealed, unsealed.root_token

    def snap():
        r = srv.api("GET", "sys/metrics", token=tok)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("application/json")
        return r.json()
    j = snap()
    assert set(j) == {"Timestamp", "Gauges", "Points", "Counters",
                      "Samples"}
    assert TS.match(j["Timestamp"]) and j["Timestamp"][18] == "0"
    assert j["Points"] == []
    gauges = {g["Name"]: g for g in j["Gauges"]}
    assert gauges["vault.core.unsealed"]["Value"] == 1
    assert gauges["vault.core.in_flight_requests"]["Value"] >= 1
    for g in j["Gauges"]:
        assert set(g) == {"Name", "Value", "Labels"}
    samples = {s["Name"]: s for s in j["Samples"]}
    h = samples["vault.core.handle_request"]
    assert set(h) == {"Name", "Count", "Rate", "Sum", "Min", "Max", "Mean",
                      "Stddev", "Labels"}
    assert h["Count"] > 0 and h["Max"] >= h["Min"] > 0
    assert abs(h["Rate"] - h["Sum"] / 10) < 1e-6
    before = {c["Name"]: c for c in j["Counters"]}["vault.token.creation"]
    srv.client(tok).auth.token.create(policies=["default"], ttl="1h")
    after = {c["Name"]: c for c in snap()["Counters"]}["vault.token.creation"]
    assert after["Count"] == before["Count"] + 1


def test_needs_a_token_with_read(unsealed):
    srv, tok = unsealed, unsealed.root_token
    assert srv.api("GET", "sys/metrics").status_code == 403
    c = srv.client(tok)
    c.sys.create_or_update_policy("m", 'path "sys/metrics" '
                                  '{ capabilities = ["read"] }')
    t = c.auth.token.create(policies=["m"])["auth"]["client_token"]
    d = c.auth.token.create(policies=["default"])["auth"]["client_token"]
    assert srv.api("GET", "sys/metrics", token=t).status_code == 200
    assert srv.api("GET", "sys/metrics", token=d).status_code == 403


def test_unauthenticated_metrics_access(tmp_path, request):
    if EXTERNAL:
        pytest.skip("needs a private server")
    srv = Server(tmp_path)
    srv.write_config(listener_extra="  telemetry {\n"
                     "    unauthenticated_metrics_access = true\n  }\n")
    srv.start()
    request.addfinalizer(lambda: srv.stop())
    srv.init_unseal()
    r = srv.api("GET", "sys/metrics", params={"format": "prometheus"})
    assert r.status_code == 200, r.text
    parse_prometheus(r.text)
    assert srv.api("GET", "sys/metrics").json()["Gauges"]
    r = srv.api("PUT", "sys/metrics", json={})
    assert r.status_code == 405 and r.json() == {"errors": []}
    # Only sys/metrics is opened.
    assert srv.api("GET", "sys/host-info").status_code == 403


def test_unknown_telemetry_key_refused(tmp_path):
    srv = Server(tmp_path)
    srv.write_config(listener_extra="  telemetry {\n    bogus = 1\n  }\n")
    with pytest.raises(RuntimeError, match='unknown key "bogus" in '
                       'telemetry'):
        srv.start()


def test_host_info(unsealed):
    srv, tok = unsealed, unsealed.root_token
    r = srv.api("GET", "sys/host-info", token=tok)
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert RFC3339.match(d["timestamp"])
    assert set(d) >= {"cpu", "cpu_times", "host", "memory"}
    assert d["cpu"] and {"cpu", "vendorId", "modelName", "mhz", "flags",
                         "cores"} <= set(d["cpu"][0])
    assert d["cpu_times"][0]["cpu"] == "cpu0"
    assert d["cpu_times"][0]["user"] >= 0
    h = d["host"]
    assert h["os"] == "linux" and h["hostname"] == socket.gethostname()
    assert h["uptime"] > 0 and h["procs"] > 0 and h["kernelVersion"]
    m = d["memory"]
    assert m["total"] > m["available"] > 0 and 0 < m["usedPercent"] < 100
    assert srv.api("GET", "sys/host-info").status_code == 403


def test_in_flight_req_shows_a_held_request(unsealed):
    srv, tok = unsealed, unsealed.root_token
    r = srv.api("GET", "sys/in-flight-req", token=tok)
    assert r.status_code == 200, r.text
    own = list(r.json().values())
    assert len(own) == 1
    assert own[0]["request_path"] == "/v1/sys/in-flight-req"
    assert own[0]["request_method"] == "GET"
    assert own[0]["client_remote_address"].startswith("127.0.0.1:")
    assert RFC3339.match(own[0]["start_time"]) and own[0]["client_id"] == ""
    # A PUT whose body never finishes stays in flight.
    s = socket.create_connection(("127.0.0.1", srv.port))
    try:
        s.sendall(b"PUT /v1/cubbyhole/slow HTTP/1.1\r\nHost: x\r\n"
                  b"X-Vault-Token: " + tok.encode() + b"\r\n"
                  b"X-Forwarded-For: 203.0.113.9, 10.0.0.1\r\n"
                  b"Content-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"a\":")
        deadline = time.monotonic() + 10
        while True:
            got = srv.api("GET", "sys/in-flight-req", token=tok).json()
            slow = [v for v in got.values()
                    if v["request_path"] == "/v1/cubbyhole/slow"]
            if slow or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(slow) == 1, got
        assert slow[0]["request_method"] == "PUT"
        assert slow[0]["client_remote_address"] == "203.0.113.9, 10.0.0.1"
        assert len(got) == 2
    finally:
        s.close()
    deadline = time.monotonic() + 10
    while len(srv.api("GET", "sys/in-flight-req", token=tok).json()) > 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def rnd(srv, tok, path="sys/tools/random", **body):
    return srv.api("POST", path, token=tok, json=body)


def test_tools_random(unsealed):
    srv, tok = unsealed, unsealed.root_token
    r = rnd(srv, tok)
    assert r.status_code == 200, r.text
    assert len(base64.b64decode(r.json()["data"]["random_bytes"])) == 32
    assert r.json()["warnings"] is None
    r = rnd(srv, tok, bytes=10, format="hex")
    assert re.match(r"^[0-9a-f]{20}$", r.json()["data"]["random_bytes"])
    r = rnd(srv, tok, "sys/tools/random/64")
    assert len(base64.b64decode(r.json()["data"]["random_bytes"])) == 64
    r = rnd(srv, tok, "sys/tools/random/seal/16", format="hex")
    assert len(r.json()["data"]["random_bytes"]) == 32
    assert r.json()["warnings"] == ["no seal/entropy augmentation "
                                    "available, using platform entropy "
                                    "source"]
    r = rnd(srv, tok, "sys/tools/random/all", bytes=8)
    assert r.status_code == 200
    assert len(base64.b64decode(r.json()["data"]["random_bytes"])) == 8
    r = rnd(srv, tok, source="seal")
    assert r.status_code == 200
    assert r.json()["warnings"] == [
        "Endpoint replaced the value of these parameters with the values "
        "captured from the endpoint's path: [source]"]
    a = rnd(srv, tok).json()["data"]["random_bytes"]
    b = rnd(srv, tok).json()["data"]["random_bytes"]
    assert a != b
    hv = srv.client(tok).adapter.post("/v1/sys/tools/random/12",
                                      json={"format": "hex"})
    assert len(hv["data"]["random_bytes"]) == 24


@pytest.mark.parametrize("path,body,text", [
    ("sys/tools/random", {"bytes": 0}, '"bytes" cannot be less than 1'),
    ("sys/tools/random", {"bytes": 131073},
     '"bytes" should be less than 131072'),
    ("sys/tools/random", {"format": "b32"},
     'unsupported encoding format "b32"; must be "hex" or "base64"'),
    ("sys/tools/random/foo/8", {},
     'unsupported entropy source "foo"; must be "platform" or "seal", '
     'or "all"'),
    ("sys/tools/random/abc", {},
     'error parsing url-set byte count: strconv.Atoi: parsing "abc": '
     'invalid syntax'),
    ("sys/tools/random/seal/x1", {},
     'error parsing url-set byte count: strconv.Atoi: parsing "x1": '
     'invalid syntax'),
    ("sys/tools/hash", {"input": "a$b="},
     "unable to decode input as base64: illegal base64 data at input "
     "byte 1"),
    ("sys/tools/hash", {"input": "abc"},
     "unable to decode input as base64: illegal base64 data at input "
     "byte 0"),
    ("sys/tools/hash", {"input": "aGk=", "format": "b32"},
     'unsupported encoding format b32; must be "hex" or "base64"'),
    ("sys/tools/hash/md5", {"input": "aGk="}, "unsupported algorithm md5"),
    ("sys/tools/hash", {"input": "aGk=", "algorithm": "sha1"},
     "unsupported algorithm sha1"),
])
def test_tools_errors(unsealed, path, body, text):
    r = unsealed.api("POST", path, token=unsealed.root_token, json=body)
    assert r.status_code == 400, r.text
    assert r.json() == {"errors": [text]}


def test_tools_get_is_405(unsealed):
    for p in ("sys/tools/random", "sys/tools/hash"):
        assert unsealed.api("GET", p, token=unsealed.root_token
                            ).status_code == 405


ALGS = {"sha2-224": hashlib.sha224, "sha2-256": hashlib.sha256,
        "sha2-384": hashlib.sha384, "sha2-512": hashlib.sha512,
        "sha3-224": hashlib.sha3_224, "sha3-256": hashlib.sha3_256,
        "sha3-384": hashlib.sha3_384, "sha3-512": hashlib.sha3_512}


def test_tools_hash(unsealed):
    srv, tok = unsealed, unsealed.root_token
    msg = b"coffer metrics \x00\xff"
    inp = base64.b64encode(msg).decode()
    for alg, fn in ALGS.items():
        r = srv.api("POST", "sys/tools/hash/" + alg, token=tok,
                    json={"input": inp, "algorithm": "sha2-256"})
        assert r.status_code == 200, r.text
        assert r.json()["data"]["sum"] == fn(msg).hexdigest(), alg
        r = srv.api("POST", "sys/tools/hash", token=tok,
                    json={"input": inp, "algorithm": alg,
                          "format": "base64"})
        assert base64.b64decode(r.json()["data"]["sum"]) == fn(msg).digest()
    r = srv.api("POST", "sys/tools/hash", token=tok, json={})
    assert r.json()["data"]["sum"] == hashlib.sha256(b"").hexdigest()
    hv = srv.client(tok).adapter.post("/v1/sys/tools/hash/sha2-512",
                                      json={"input": inp})
    assert hv["data"]["sum"] == hashlib.sha512(msg).hexdigest()


def test_version_history(unsealed):
    srv, tok = unsealed, unsealed.root_token
    r = srv.api("LIST", "sys/version-history", token=tok)
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert d["keys"] == ["1.14.8"]
    info = d["key_info"]["1.14.8"]
    assert info["previous_version"] is None
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
                    info["timestamp_installed"])
    assert RFC3339.match(info["build_date"])
    r2 = srv.api("GET", "sys/version-history", token=tok,
                 params={"list": "true"})
    assert r2.json()["data"] == d
    assert srv.api("GET", "sys/version-history",
                   token=tok).status_code == 405
    # A restart keeps the first install time.
    srv.restart()
    srv.unseal()
    r3 = srv.api("LIST", "sys/version-history", token=tok)
    assert r3.json()["data"] == d


def test_rekey_backup_paths(unsealed):
    srv, tok = unsealed, unsealed.root_token
    for p in ("sys/rekey/backup", "sys/rekey/recovery-key-backup"):
        r = srv.api("GET", p, token=tok)
        assert r.status_code == 400, r.text
        assert r.json() == {"errors": ["no backed-up keys found"]}
        assert srv.api("DELETE", p, token=tok).status_code == 204
        assert srv.api("GET", p).status_code == 403
    # Vault has no such path.
    r = srv.api("GET", "sys/rekey-recovery-key/backup", token=tok)
    assert r.status_code == 404
    assert r.json() == {"errors": ["1 error occurred:\n\t* unsupported "
                                   "path\n\n"]}


def test_counters_requests_removed(unsealed):
    r = unsealed.api("GET", "sys/internal/counters/requests",
                     token=unsealed.root_token)
    assert r.status_code == 404
    assert r.json() == {"errors": [
        "The functionality has been removed on this path"]}
