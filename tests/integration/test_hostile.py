"""Hostile input: what an attacker sends gets a 4xx in Vault's envelope,
bounded memory, the server up and the stored data intact."""
import os
import socket
import threading
import time

import pytest
import requests

from conftest import in_threads
from test_http import assert_vault_error, raw_http


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def alive(srv):
    r = srv.api("GET", "sys/health")
    assert r.status_code in (200, 501, 503), r.text
    return r


@pytest.fixture
def kv(unsealed):
    """The unsealed server with a KV version 2 engine at secret/."""
    r = unsealed.api("POST", "sys/mounts/secret", token=unsealed.root_token,
                     json={"type": "kv", "options": {"version": "2"}})
    assert r.status_code == 204, r.text
    return unsealed


def nested(depth, leaf="1"):
    return '{"a":' * depth + leaf + "}" * depth


# --- deep JSON, before and after the parser ---------------------------------

@pytest.mark.parametrize("path", ["sys/health", "sys/unseal", "secret/data/x",
                                  "auth/token/create"])
def test_deep_json_unauthenticated_is_400(kv, path):
    r = kv.api("PUT", path, data="[" * 1000)
    assert r.status_code in (400, 403), r.text
    assert_vault_error(r, r.status_code)
    alive(kv)


def test_deep_json_sealed_and_uninitialized(lmdb_server):
    r = lmdb_server.api("PUT", "sys/health", data="[" * 5000)
    assert_vault_error(r, 400, "nesting deeper than 64 levels")
    lmdb_server.init_unseal()
    lmdb_server.api("PUT", "sys/seal", token=lmdb_server.root_token)
    r = lmdb_server.api("PUT", "sys/unseal", data="{" * 5000)
    assert_vault_error(r, 400, "nesting deeper than 64 levels")
    alive(lmdb_server)


def test_depth_limit_is_64(kv):
    t = kv.root_token
    r = kv.api("PUT", "secret/data/deep", token=t,
                     data='{"data":%s}' % nested(63))
    assert r.status_code == 200, r.text
    r = kv.api("PUT", "secret/data/deep", token=t,
                     data='{"data":%s}' % nested(64))
    assert_vault_error(r, 400, "nesting deeper than 64 levels")


def test_deepest_document_survives_every_walker(kv):
    """63 levels through write, read, patch, subkeys and metadata: every
    place that emits, copies or merges client JSON (release build and
    sanitizers alike)."""
    t = kv.root_token
    doc = '{"data":%s,"options":{}}' % nested(63, '"v"')
    assert kv.api("PUT", "secret/data/d", token=t,
                        data=doc).status_code == 200
    r = kv.api("GET", "secret/data/d", token=t)
    assert r.status_code == 200
    d = r.json()["data"]["data"]
    for _ in range(62):
        d = d["a"]
    assert d == {"a": "v"}
    r = kv.api("PATCH", "secret/data/d", token=t,
                     headers={"Content-Type": "application/merge-patch+json"},
                     data='{"data":%s}' % nested(63, '"w"'))
    assert r.status_code == 200, r.text
    r = kv.api("GET", "secret/subkeys/d", token=t)
    assert r.status_code == 200, r.text
    r = kv.api("POST", "secret/metadata/d", token=t,
                     data='{"custom_metadata":{"k":"v"}}')
    assert r.status_code in (200, 204), r.text
    alive(kv)


def test_too_many_values_is_400(kv):
    body = '{"data":{"a":[%s]}}' % ",".join(["1"] * 200001)
    r = kv.api("PUT", "secret/data/wide", token=kv.root_token,
                     data=body)
    assert_vault_error(r, 400, "more than 200000 values")


# --- bodies that cannot succeed are not read ---------------------------------

def test_unauthenticated_huge_body_refused_unread(kv):
    before = vm_hwm_kb(kv.pid)
    body = b"[" + b"1," * (15 << 20) + b"1]"          # 30 MiB
    t0 = time.monotonic()
    r = kv.api("PUT", "secret/data/x", data=body)
    assert_vault_error(r, 403, "permission denied")
    r = kv.api("PUT", "nomount/x", data=body, token=kv.root_token)
    assert r.status_code == 404
    assert time.monotonic() - t0 < 20
    grown = vm_hwm_kb(kv.pid) - before
    assert grown < 16 * 1024, "peak memory grew by %d KiB" % grown
    alive(kv)


@pytest.mark.skipif(bool(os.environ.get("COFFER_SANITIZE")),
                    reason="the sanitizers' quarantine keeps freed memory")
def test_burst_of_large_bodies_is_bounded(kv):
    """16 authenticated 24 MiB bodies at once: the body budget holds the
    peak near 512 MiB, and every request is answered."""
    body = ('{"token":"' + "x" * (24 << 20) + '"}').encode()
    before = vm_hwm_kb(kv.pid)
    codes = []

    def go():
        r = kv.api("POST", "auth/token/lookup", token=kv.root_token,
                   data=body)
        codes.append(r.status_code)

    in_threads(go, 16)
    assert len(codes) == 16
    assert all(c in (400, 403, 503) for c in codes), codes
    grown = vm_hwm_kb(kv.pid) - before
    assert grown < 640 * 1024, "peak grew by %d MiB" % (grown // 1024)
    alive(kv)


def test_sealed_refuses_body_unread(kv):
    kv.api("PUT", "sys/seal", token=kv.root_token)
    before = vm_hwm_kb(kv.pid)
    r = kv.api("PUT", "secret/data/x", data=b"x" * (30 << 20),
                     token=kv.root_token)
    assert_vault_error(r, 503, "Vault is sealed")
    assert vm_hwm_kb(kv.pid) - before < 16 * 1024


def test_bodyless_error_keeps_the_connection(kv):
    """A request without a body is not a chunked one: its error answer
    leaves the connection open for the next request."""
    s = socket.create_connection(("127.0.0.1", kv.port), timeout=10)
    try:
        for _ in range(2):
            s.sendall(b"GET /v1/nomount/x HTTP/1.1\r\nHost: x\r\n\r\n")
            out = b""
            while b"\r\n\r\n" not in out or not out.endswith(b"\n"):
                chunk = s.recv(65536)
                assert chunk, out
                out += chunk
            assert out.startswith(b"HTTP/1.1 404 "), out
            assert b"Connection: keep-alive" in out, out
    finally:
        s.close()


def test_chunked_body_is_prechecked(kv):
    out = raw_http(kv.port, b"PUT /v1/secret/data/x HTTP/1.1\r\nHost: x\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n"
                   b"5\r\n[[[[[\r\n0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 403 "), out
    t = kv.root_token.encode()
    body = b'{"data":{"a":1}}'
    out = raw_http(kv.port, b"PUT /v1/secret/data/x HTTP/1.1\r\nHost: x\r\n"
                   b"X-Vault-Token: " + t + b"\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n" +
                   b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 "), out
    assert kv.api("GET", "secret/data/x", token=kv.root_token).json()[
        "data"]["data"] == {"a": 1}


def test_seal_family_bodies_are_small(kv):
    r = kv.api("PUT", "sys/unseal", data=b"{" + b" " * (2 << 20) + b"}")
    assert_vault_error(r, 413)
    alive(kv)


def test_bad_token_with_body_is_403(kv):
    r = kv.api("PUT", "secret/data/x", token="hvs.nosuchtoken",
                     json={"data": {"a": 1}})
    assert_vault_error(r, 403, "permission denied")
    # login paths need no token
    r = kv.api("PUT", "auth/token/create", json={})
    assert_vault_error(r, 403)


# --- NUL bytes and escapes ---------------------------------------------------

@pytest.mark.parametrize("path", ["secret/data/a%00b", "secret/data/a%00",
                                  "secret/data/a%00b?x=1"])
def test_nul_in_path_is_400(kv, path):
    t = kv.root_token
    assert kv.api("PUT", "secret/data/a", token=t,
                        json={"data": {"k": "v"}}).status_code == 200
    r = requests.get("%s/v1/%s" % (kv.url, path),
                     headers={"X-Vault-Token": t}, timeout=10)
    assert_vault_error(r, 400, "NUL")


def get_raw(srv, target):
    out = raw_http(srv.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
                   b"X-Vault-Token: " + srv.root_token.encode() +
                   b"\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


@pytest.mark.parametrize("target", [b"/v1/secret/data/a%zzb",
                                    b"/v1/secret/data/a%",
                                    b"/v1/secret/data/a%4",
                                    b"/v1/secret/data/a?version=1%0",
                                    b"/v1/secret/data/a?v%zz=1"])
def test_invalid_escape_is_400(kv, target):
    status, body = get_raw(kv, target)
    assert status == 400, body
    assert b"invalid" in body


def test_percent_in_names_still_works(kv):
    """A '%' sent as %25 is a name, not a bad escape (hvac and requests
    send it that way)."""
    t = kv.root_token
    r = kv.api("PUT", "secret/data/50%off", token=t, json={"data": {"a": 1}})
    assert r.status_code == 200, r.text
    assert kv.api("GET", "secret/data/50%off", token=t).json()[
        "data"]["data"] == {"a": 1}
    status, _ = get_raw(kv, b"/v1/secret/data/50%25off")
    assert status == 200
    status, _ = get_raw(kv, b"/v1/secret/data/a%20b")
    assert status == 404


def test_nul_in_query_is_400(kv):
    r = requests.get(kv.url + "/v1/secret/data/a?version=1%00",
                     headers={"X-Vault-Token": kv.root_token},
                     timeout=10)
    assert_vault_error(r, 400, "invalid query string")


def test_nul_in_json_string_is_400(kv):
    t = kv.root_token
    r = kv.api("POST", "auth/token/create", token=t,
                     data='{"id":"x\\u0000.hvs.y"}')
    assert_vault_error(r, 400, "error parsing JSON")
    r = kv.api("GET", "auth/token/lookup-accessor", token=t)
    # no token "x" was made
    r = kv.api("POST", "auth/token/lookup", token=t, json={"token": "x"})
    assert r.status_code in (400, 403), r.text


def test_null_body_is_no_parameters(kv):
    """Vault decodes a JSON null body into no parameters (what the
    vault CLI sends for unwrap and write -force); other non-objects stay
    400."""
    t = kv.root_token
    r = kv.api("POST", "auth/token/create", token=t, data="null",
               headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json()["auth"]["client_token"]
    for body in ("[]", "1", '"x"', "nul"):
        r = kv.api("POST", "auth/token/create", token=t, data=body)
        assert_vault_error(r, 400, "error parsing JSON")


# --- what civetweb refuses on its own ---------------------------------------

def test_unknown_method_is_json_405(kv):
    out = raw_http(kv.port, b"FOO /v1/sys/health HTTP/1.1\r\n"
                   b"Host: x\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405 "), out
    assert b"Content-Type: application/json" in head
    assert body.startswith(b'{"errors":['), out


@pytest.mark.parametrize("line", [
    b"GET /v1/sys/health x\r\nX-Injected: 1 HTTP/1.1",
    b"GET /v1/sys/health HTTP/9.9<script>",
    b"GET /v1/sys/health HTTP/1.1\r\nContent-Length: -5",
    b"GET /v1/sys/health HTTP/1.1\r\nContent-Length: zz",
])
def test_malformed_requests_reflect_nothing(kv, line):
    out = raw_http(kv.port, line + b"\r\nHost: x\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].startswith(b"HTTP/1.1 4") or \
        head.split(b"\r\n")[0].startswith(b"HTTP/1.1 5"), out
    assert b"Injected" not in out and b"script" not in out and \
        b"9.9" not in out, out
    assert b"application/json" in head, out
    alive(kv)


def test_huge_headers_are_json(kv):
    out = raw_http(kv.port, b"GET /v1/sys/health HTTP/1.1\r\nX-A: " +
                   b"a" * 40000 + b"\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 4"), out[:200]
    assert b"application/json" in out.partition(b"\r\n\r\n")[0]
    alive(kv)


# --- idle and slow connections ----------------------------------------------

def test_idle_connections_do_not_block(kv):
    socks = []
    try:
        for _ in range(300):
            socks.append(socket.create_connection(("127.0.0.1",
                                                   kv.port)))
        # half of them half-send a request and stall
        for s in socks[::2]:
            s.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost:")
        t0 = time.monotonic()
        r = requests.get(kv.url + "/v1/sys/health", timeout=30)
        assert r.status_code == 200
        assert time.monotonic() - t0 < 2.0
    finally:
        for s in socks:
            s.close()
    alive(kv)


def test_keepalive_clients_do_not_hold_every_worker(make_server):
    srv = make_server(extra="worker_threads = 8\n").init_unseal()
    sessions = []
    try:
        for _ in range(20):
            s = requests.Session()
            assert s.get(srv.url + "/v1/sys/health",
                         timeout=10).status_code == 200
            sessions.append(s)
        t0 = time.monotonic()
        r = requests.get(srv.url + "/v1/sys/health", timeout=30)
        assert r.status_code == 200
        assert time.monotonic() - t0 < 2.0
    finally:
        for s in sessions:
            s.close()


def test_burst_of_hostile_requests(kv):
    """Deep JSON, large unauthenticated bodies and idle sockets at once:
    the server stays up, a normal request is answered, data is intact."""
    t = kv.root_token
    assert kv.api("PUT", "secret/data/keep", token=t,
                        json={"data": {"v": 1}}).status_code == 200
    stop = threading.Event()
    errors = []

    def hammer(kind):
        while not stop.is_set():
            try:
                if kind == 0:
                    kv.api("PUT", "sys/health", data="[" * 2000)
                elif kind == 1:
                    kv.api("PUT", "secret/data/x",
                                 data=b"1" * (4 << 20))
                else:
                    s = socket.create_connection(("127.0.0.1",
                                                  kv.port))
                    time.sleep(0.2)
                    s.close()
            except requests.RequestException:
                pass
            except Exception as e:          # noqa: BLE001
                errors.append(e)

    threads = [threading.Thread(target=hammer, args=(i % 3,))
               for i in range(9)]
    for th in threads:
        th.start()
    try:
        time.sleep(1.0)
        t0 = time.monotonic()
        r = kv.api("GET", "secret/data/keep", token=t)
        assert r.status_code == 200
        assert r.json()["data"]["data"] == {"v": 1}
        assert time.monotonic() - t0 < 2.0
    finally:
        stop.set()
        for th in threads:
            th.join()
    assert not errors
    alive(kv)
