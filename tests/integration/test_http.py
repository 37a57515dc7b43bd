"""The HTTP layer: envelopes, status codes, bad input, logging, signals."""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from conftest import COFFERD, Server, in_threads


def raw_http(port, data, timeout=10):
    """Send raw bytes, return the whole answer (for what requests won't send)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        if len(body) >= int(line.split(b":")[1]):
                            return out
        return out
    finally:
        s.close()


def assert_vault_error(r, status, text=None):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert list(body.keys()) == ["errors"]
    assert isinstance(body["errors"], list)
    if text is not None:
        assert any(text in e for e in body["errors"]), body


def test_health_uninitialized(lmdb_server):
    r = lmdb_server.api("GET", "sys/health")
    assert r.status_code == 501
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.text.endswith("}\n")
    b = r.json()
    assert b["initialized"] is False
    assert b["sealed"] is True
    assert b["standby"] is True
    assert b["performance_standby"] is False
    assert b["replication_performance_mode"] == "disabled"
    assert b["replication_dr_mode"] == "disabled"
    assert abs(b["server_time_utc"] - time.time()) < 60
    assert "version" in b and "cluster_name" not in b


def test_health_head_and_codes(lmdb_server):
    r = lmdb_server.api("HEAD", "sys/health")
    assert r.status_code == 501
    assert r.content == b""
    assert r.headers["Content-Type"] == "application/json"
    r = lmdb_server.api("GET", "sys/health?uninitcode=299&sealedcode=299")
    assert r.status_code == 299
    r = lmdb_server.api("GET", "sys/health?standbyok=True&uninitcode=200")
    assert r.status_code == 200


@pytest.mark.parametrize("q", ["uninitcode=abc", "standbyok=maybe",
                               "sealedcode=5", "activecode=1000"])
def test_health_bad_params(lmdb_server, q):
    r = lmdb_server.api("GET", "sys/health?" + q)
    assert_vault_error(r, 400)
    assert r.json() == {"errors": []}


def test_health_states(lmdb_server):
    lmdb_server.init()
    r = lmdb_server.api("GET", "sys/health")
    assert r.status_code == 503
    assert r.json()["initialized"] is True and r.json()["sealed"] is True
    lmdb_server.unseal()
    r = lmdb_server.api("GET", "sys/health")
    assert r.status_code == 200
    b = r.json()
    assert b["sealed"] is False and b["standby"] is False
    assert b["cluster_name"] and b["cluster_id"]


HEALTH_KEYS = ["initialized", "sealed", "standby", "performance_standby",
               "replication_performance_mode", "replication_dr_mode",
               "server_time_utc", "version", "cluster_name", "cluster_id"]


def test_health_body_as_vault_writes_it(make_server):
    """sys/health writes its JSON as text: Vault's members in Vault's
    order, each of its type, and a configured cluster name escaped."""
    name = 'ops "blue"\\east \u00e9'
    srv = make_server(extra='cluster_name = "%s"\n' %
                      name.replace("\\", "\\\\").replace('"', '\\"'))
    srv.init()
    srv.unseal()
    r = srv.api("GET", "sys/health")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    b = json.loads(r.text, object_pairs_hook=list)
    assert [k for k, _ in b] == HEALTH_KEYS
    b = dict(b)
    assert b["cluster_name"] == name
    assert abs(b["server_time_utc"] - time.time()) < 60
    assert b["version"] == "1.14.8"
    assert b["replication_dr_mode"] == "disabled"
    assert b["performance_standby"] is False
    h = requests.head(srv.url + "/v1/sys/health", timeout=10)
    assert h.status_code == 200 and h.content == b""
    assert int(h.headers["Content-Length"]) == len(r.content)


def test_sealed_paths_answer_503(lmdb_server):
    for method, path in [("GET", "secret/foo"), ("PUT", "sys/mounts/x"),
                         ("LIST", "secret/"), ("DELETE", "a/b"),
                         ("GET", "sys/policy")]:
        r = lmdb_server.api(method, path, json={} if method == "PUT" else None)
        assert_vault_error(r, 503, "Vault is sealed")


def test_not_v1_is_404(lmdb_server):
    for path in ["/", "/v2/sys/health", "/ui/", "/v1"]:
        r = requests.get(lmdb_server.url + path, timeout=10)
        assert r.status_code == 404
        assert r.headers["Content-Type"] == "application/json"
        assert r.json() == {"errors": []}


def test_unknown_method_is_405(lmdb_server):
    r = requests.request("OPTIONS", lmdb_server.url + "/v1/sys/health",
                         timeout=10)
    assert r.status_code == 405
    assert r.json() == {"errors": []}


def test_list_method_reaches_coffer(unsealed):
    """civetweb itself refuses unknown methods; LIST must get through."""
    r = unsealed.api("LIST", "sys/policy", token=unsealed.root_token)
    assert r.status_code != 400 or "errors" in r.json()
    r = unsealed.api("LIST", "nomount/", token=unsealed.root_token)
    assert_vault_error(r, 404, "no handler for route")


def test_malformed_json_is_400(unsealed):
    for body in [b"{", b"[1,2]", b'"str"', b"{\"a\":}", b"\xff\xfe"]:
        r = unsealed.api("PUT", "sys/policy/x", token=unsealed.root_token,
                         data=body)
        assert_vault_error(r, 400)
    assert unsealed.api("GET", "sys/health").status_code == 200


def test_dot_segments_and_bad_paths_are_400(lmdb_server):
    port = lmdb_server.port
    for path in [b"/v1/sys/../sys/health", b"/v1/a/./b", b"/v1/a/%2e%2e/b",
                 b"/v1/a/%ff%fe", b"/v1/a/%01b"]:
        out = raw_http(port, b"GET " + path +
                       b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 400"), (path, out[:200])
        assert b'"errors"' in out
    assert lmdb_server.api("GET", "sys/health").status_code == 501


def test_body_too_large_is_413(make_server):
    srv = make_server()
    srv.stop()
    srv.write_config(listener_extra="  max_request_size = 1024\n")
    srv.start()
    r = srv.api("PUT", "sys/init", data=b"{" + b" " * 4096 + b"}")
    assert_vault_error(r, 413, "request body too large")
    # Chunked, with no declared length: refused while reading.
    def gen():
        for _ in range(10):
            yield b" " * 1000
    r = srv.api("PUT", "sys/init", data=gen())
    assert r.status_code == 413
    # The server is still up and nothing changed.
    assert srv.api("GET", "sys/init").json() == {"initialized": False}


def test_body_limit_default_is_32mib(lmdb_server):
    big = b'{"a":"' + b"x" * (33 * 1024 * 1024) + b'"}'
    r = lmdb_server.api("PUT", "sys/init", data=big)
    assert r.status_code == 413
    assert lmdb_server.api("GET", "sys/health").status_code == 501


def test_namespace_header_echoed(lmdb_server):
    r = lmdb_server.api("GET", "sys/health",
                        headers={"X-Vault-Namespace": "ns1/"})
    assert r.headers.get("X-Vault-Namespace") == "ns1/"


def test_missing_token_is_403(unsealed):
    r = unsealed.api("GET", "sys/mounts")
    assert_vault_error(r, 403, "permission denied")
    r = unsealed.api("GET", "sys/mounts", token="hvs.garbage")
    assert_vault_error(r, 403, "permission denied")


def test_bearer_token_and_envelope(unsealed):
    r = unsealed.api("GET", "sys/key-status", headers={
        "Authorization": "Bearer " + unsealed.root_token})
    assert r.status_code == 200, r.text
    b = r.json()
    for k in ["request_id", "lease_id", "renewable", "lease_duration",
              "data", "wrap_info", "warnings", "auth"]:
        assert k in b
    assert len(b["request_id"]) == 36
    assert b["wrap_info"] is None and b["warnings"] is None


def test_request_log_has_no_secrets(unsealed):
    secret = "hvs.NeverLogThisToken0123456"
    unsealed.api("GET", "sys/policy", token=secret)
    unsealed.api("PUT", "sys/policy/x", token=unsealed.root_token,
                 json={"policy": 'path "topsecretpath" {capabilities=["read"]}'})
    log = unsealed.read_log()
    assert "GET /v1/sys/policy 403" in log
    assert secret not in log
    assert unsealed.root_token not in log
    assert "topsecretpath" not in log
    assert unsealed.keys[0] not in log


def test_json_log_format(make_server):
    srv = make_server(extra='log_format = "json"\n')
    srv.api("GET", "sys/health")
    lines = [l for l in srv.read_log().splitlines() if l.startswith("{")]
    assert lines
    for l in lines:
        rec = json.loads(l)
        assert rec["@level"] and rec["@message"]


def test_sigterm_exits_zero_after_inflight(make_server):
    srv = make_server()
    results = []

    def hammer():
        for _ in range(50):
            try:
                results.append(srv.api("GET", "sys/health").status_code)
            except requests.ConnectionError:
                results.append("closed")
    t = threading.Thread(target=hammer)
    t.start()
    time.sleep(0.05)
    assert srv.stop(signal.SIGTERM) == 0
    t.join()
    assert 501 in results


def test_sigint_exits_zero(make_server):
    srv = make_server()
    assert srv.stop(signal.SIGINT) == 0


def test_sighup_rereads_log_level(make_server):
    srv = make_server(verbose=False)
    srv.api("GET", "sys/health")
    assert "GET /v1/sys/health 501" in srv.read_log()

    def set_level(level):
        with open(srv.confpath) as f:
            conf = f.read()
        conf = re.sub(r'log_level = "[a-z]+"', 'log_level = "%s"' % level,
                      conf)
        with open(srv.confpath, "w") as f:
            f.write(conf)
        srv.proc.send_signal(signal.SIGHUP)

    def logged_after(n):
        deadline = time.time() + 10
        while time.time() < deadline:
            srv.api("GET", "sys/health")
            if srv.read_log().count("sys/health 501") > n:
                return True
            time.sleep(0.05)
        return False

    set_level("error")
    deadline = time.time() + 10
    while "SIGHUP" not in srv.read_log() and time.time() < deadline:
        time.sleep(0.05)
    before = srv.read_log().count("sys/health 501")
    for _ in range(5):
        srv.api("GET", "sys/health")
    assert srv.read_log().count("sys/health 501") == before
    set_level("debug")
    assert logged_after(before)


def test_concurrent_requests(lmdb_server):
    errors = []

    def worker():
        s = requests.Session()
        for _ in range(100):
            r = s.get(lmdb_server.url + "/v1/sys/health", timeout=10)
            if r.status_code != 501:
                errors.append(r.status_code)
    in_threads(worker, 8)
    assert errors == []


@pytest.mark.private
def test_request_queued_during_start_is_served():
    """A connection made while cofferd starts (queued before civetweb's
    threads run) is answered by coffer's handler, never by civetweb's
    own 404 from before the handler is registered.  A race: 60 starts
    catch it most of the time."""
    got = []
    for _ in range(60):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        p = subprocess.Popen([COFFERD, "-dev",
                              "-dev-listen-address=127.0.0.1:%d" % port],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=Server.env(None))
        try:
            deadline = time.monotonic() + 30
            while True:
                s = socket.socket()
                try:
                    s.connect(("127.0.0.1", port))
                    break
                except OSError:
                    s.close()
                    assert time.monotonic() < deadline
                    time.sleep(0.0005)
            with s:
                s.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n"
                          b"Connection: close\r\n\r\n")
                data = b""
                while True:
                    d = s.recv(4096)
                    if not d:
                        break
                    data += d
            # No answer: say whether cofferd had exited (a sanitizer's
            # exit code) or closed the connection while running.
            got.append(data.split(b" ")[1] if data else
                       b"none, exit %r" % (p.poll(),))
        finally:
            p.kill()
            p.wait()
    assert set(got) == {b"200"}, got
