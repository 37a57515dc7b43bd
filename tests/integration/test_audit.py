"""Audit devices: sys/audit, sys/audit-hash and the file device, via hvac and requests."""
import json
import os
import re
import shutil
import signal
import socket
import threading
import time

import hvac
import pytest

SECRET = "pw-4f0c2e19-audited-never-clear"
INTERNAL = {"errors": ["internal error"]}


def entries(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def by_request(ents):
    """request id -> list of entry types, in file order."""
    out = {}
    for e in ents:
        out.setdefault(e["request"]["id"], []).append(e["type"])
    return out


def token_with(srv, name, rules):
    c = srv.client(srv.root_token)
    c.sys.create_or_update_policy(name, rules)
    return c.auth.token.create(policies=[name])["auth"]["client_token"]


@pytest.fixture
def aud(unsealed, tmp_path):
    c = unsealed.client(unsealed.root_token)
    c.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    return unsealed, c, str(tmp_path / "logs" / "audit.log")


def test_enable_list_disable_shapes(aud):
    srv, c, path = aud
    r = srv.api("GET", "sys/audit", token=srv.root_token)
    assert r.status_code == 200 and r.json()["data"] == {}
    c.sys.enable_audit_device("file", path="file", options={
        "file_path": path, "hmac_accessor": False})
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    # The directory was created, and the test entry written.
    test = entries(path)[0]
    assert test["request"]["path"] == "sys/audit/test"
    assert test["auth"] == {"token_type": "default"}
    want = {"file/": {"description": "", "local": False, "path": "file/",
                      "type": "file",
                      "options": {"file_path": path, "hmac_accessor": "0"}}}
    body = srv.api("GET", "sys/audit", token=srv.root_token).json()
    assert body["data"] == want and body["file/"] == want["file/"]
    assert c.sys.list_enabled_audit_devices()["data"] == want
    # "k=v" options, description, a nested path.
    r = srv.api("PUT", "sys/audit/a/b", token=srv.root_token, json={
        "type": "file", "description": "d",
        "options": ["file_path=discard", "prefix=x="]})
    assert r.status_code == 204, r.text
    lst = srv.api("GET", "sys/audit", token=srv.root_token).json()["data"]
    assert lst["a/b/"]["options"] == {"file_path": "discard",
                                      "prefix": "x="}
    assert lst["a/b/"]["description"] == "d"
    assert srv.api("GET", "sys/audit/file",
                   token=srv.root_token).status_code == 405
    r = srv.api("DELETE", "sys/audit/a/b", token=srv.root_token)
    assert r.status_code == 204
    r = srv.api("DELETE", "sys/audit/nothing", token=srv.root_token)
    assert r.status_code == 204
    assert list(c.sys.list_enabled_audit_devices()["data"]) == ["file/"]


@pytest.mark.parametrize("body, text", [
    ({}, 'unknown backend type: ""'),
    ({"type": "nope"}, 'unknown backend type: "nope"'),
    ({"type": "socket"}, "address is required"),
    ({"type": "socket", "options": {"address": "127.0.0.1:1",
                                    "socket_type": "sctp"}},
     "dial sctp: unknown network sctp"),
    ({"type": "socket", "options": {"address": "127.0.0.1:1",
                                    "write_timeout": "soon"}},
     'time: invalid duration "soon"'),
    ({"type": "syslog", "options": {"facility": "NOPE"}},
     'invalid syslog facility "NOPE"'),
    ({"type": "file"}, "file_path is required"),
    ({"type": "file", "options": {"file_path": "discard",
                                  "format": "xml"}},
     'unknown format type "xml"'),
    ({"type": "file", "options": {"file_path": "discard",
                                  "log_raw": "yes"}},
     'strconv.ParseBool: parsing "yes": invalid syntax'),
    ({"type": "file", "options": {"file_path": "discard", "mode": "9"}},
     'strconv.ParseUint: parsing "9": invalid syntax'),
    ({"type": "file", "options": {"file_path": "/proc/nope/audit.log"}},
     'sanity check failed; unable to open "/proc/nope/audit.log" for '
     'writing: mkdir /proc/nope: no such file or directory'),
    ({"type": "file", "options": {"file_path": "/dev/full",
                                  "mode": "0000"}},
     "audit backend failed test message: write /dev/full: no space left "
     "on device"),
])
def test_enable_errors(unsealed, body, text):
    r = unsealed.api("PUT", "sys/audit/bad", token=unsealed.root_token,
                     json=body)
    assert r.status_code == 400, r.text
    assert r.json() == {"errors": [text]}
    r = unsealed.api("GET", "sys/audit", token=unsealed.root_token)
    assert r.json()["data"] == {}


def test_nested_path_in_use(unsealed):
    c = unsealed.client(unsealed.root_token)
    c.sys.enable_audit_device("file", path="file",
                              options={"file_path": "discard"})
    r = unsealed.api("PUT", "sys/audit/file/x", token=unsealed.root_token,
                     json={"type": "file", "options": {"file_path":
                                                       "discard"}})
    assert r.status_code == 400 and r.json() == {
        "errors": ["path already in use"]}


def test_sys_audit_needs_sudo(aud):
    srv, c, path = aud
    plain = token_with(srv, "audit-nosudo", """
path "sys/audit" { capabilities = ["read"] }
path "sys/audit/*" { capabilities = ["create", "update", "delete"] }
""")
    sudo = token_with(srv, "audit-sudo", """
path "sys/audit" { capabilities = ["read", "sudo"] }
path "sys/audit/*" { capabilities = ["create", "update", "delete", "sudo"] }
""")
    body = {"type": "file", "options": {"file_path": "discard"}}
    for tok, want in ((plain, 403), (sudo, 204)):
        r = srv.api("PUT", "sys/audit/d", token=tok, json=body)
        assert r.status_code == want, r.text
    for tok, want in ((plain, 403), (sudo, 200)):
        assert srv.api("GET", "sys/audit", token=tok).status_code == want
    for tok, want in ((plain, 403), (sudo, 204)):
        assert srv.api("DELETE", "sys/audit/d", token=tok).status_code == \
            want


def test_file_device_hashes_tokens_and_secrets(aud):
    srv, c, path = aud
    c.sys.enable_audit_device("file", path="file",
                              options={"file_path": path})
    tok = token_with(srv, "kvrw", """
path "secret/data/*" { capabilities = ["create", "update", "read"] }
""")
    acc = c.auth.token.lookup(tok)["data"]["accessor"]
    u = hvac.Client(url=srv.url, token=tok)
    u.secrets.kv.v2.create_or_update_secret("app", {"password": SECRET},
                                            mount_point="secret")
    got = u.secrets.kv.v2.read_secret_version("app", mount_point="secret")
    assert got["data"]["data"]["password"] == SECRET
    denied = srv.api("GET", "secret/data/other-path", token="hvs.bogus")
    assert denied.status_code == 403
    with open(path) as f:
        text = f.read()
    for clear in (tok, SECRET, srv.root_token, acc):
        assert clear not in text
    ents = entries(path)
    pairs = by_request(ents)
    read_id = got["request_id"]
    # One request entry, then one response entry, per request.
    assert pairs[read_id] == ["request", "response"]
    # The test entry, then the enable's response entry (its request
    # entry went to the devices enabled before it: none).
    test, enable = ents[0], ents[1]
    assert pairs[test["request"]["id"]] == ["request"]
    assert enable["request"]["path"] == "sys/audit/file"
    assert pairs[enable["request"]["id"]] == ["response"]
    assert all(v == ["request", "response"] for k, v in pairs.items()
               if k not in (test["request"]["id"], enable["request"]["id"]))
    h = c.sys.calculate_hash("file", tok)["data"]["hash"]
    ha = c.sys.calculate_hash("file", acc)["data"]["hash"]
    hs = c.sys.calculate_hash("file", SECRET)["data"]["hash"]
    assert h.startswith("hmac-sha256:") and len(h) == 12 + 64
    req, resp = [e for e in ents if e["request"]["id"] == read_id]
    assert req["auth"]["client_token"] == h
    assert req["request"]["client_token"] == h
    assert req["auth"]["accessor"] == ha
    assert req["request"]["client_token_accessor"] == ha
    assert req["auth"]["policies"] == ["default", "kvrw"]
    assert req["auth"]["policy_results"]["allowed"] is True
    assert req["request"]["operation"] == "read"
    assert req["request"]["path"] == "secret/data/app"
    assert req["request"]["mount_point"] == "secret/"
    assert req["request"]["mount_type"] == "kv"
    assert req["request"]["namespace"] == {"id": "root"}
    assert "response" not in req
    assert resp["response"]["data"]["data"]["password"] == hs
    assert resp["response"]["mount_running_plugin_version"]
    # The write's body: every value hashed, keys kept.
    wr = [e for e in ents if e["type"] == "request" and
          e["request"]["path"] == "secret/data/app" and
          e["request"]["operation"] != "read"][0]
    assert wr["request"]["data"]["data"] == {"password": hs}
    # A refused token is audited too, with the reason.
    bad = [e for e in ents if e["request"]["path"] ==
           "secret/data/other-path"]
    assert [e["type"] for e in bad] == ["request", "response"]
    assert bad[0]["auth"]["policy_results"] == {"allowed": False}
    assert bad[1]["error"] == "permission denied"
    # sys/audit-hash errors.
    r = srv.api("PUT", "sys/audit-hash/file", token=srv.root_token,
                json={"input": ""})
    assert r.json() == {"errors": ['the "input" parameter is empty']}
    r = srv.api("PUT", "sys/audit-hash/nope", token=srv.root_token,
                json={"input": "x"})
    assert r.json() == {"errors": ['unknown audit backend "nope/"']}


def test_seal_and_rotate_are_audited(aud):
    """sys/rotate is logged as any request is (both entries, sys/'s
    mount); sys/seal gets a request entry once its token is known, as
    Vault writes one, before the policy decides."""
    srv, c, path = aud
    c.sys.enable_audit_device("file", path="file",
                              options={"file_path": path})
    weak = token_with(srv, "weak", 'path "secret/*" { capabilities = ["read"] }')
    h = c.sys.calculate_hash("file", srv.root_token)["data"]["hash"]
    hw = c.sys.calculate_hash("file", weak)["data"]["hash"]
    r = srv.api("PUT", "sys/rotate", token=srv.root_token)
    assert r.status_code == 204, r.text
    assert srv.api("PUT", "sys/rotate", token=weak).status_code == 403
    assert srv.api("PUT", "sys/seal", token=weak).status_code == 403
    assert srv.api("PUT", "sys/seal", token="hvs.unknown").status_code == 403
    r = srv.api("PUT", "sys/seal", token=srv.root_token)
    assert r.status_code == 204
    assert srv.api("GET", "sys/seal-status").json()["sealed"] is True
    ents = entries(path)
    rot = [e for e in ents if e["request"]["path"] == "sys/rotate"]
    assert [e["type"] for e in rot] == ["request", "response"] * 2
    assert rot[0]["auth"]["client_token"] == h
    assert rot[0]["request"]["operation"] == "update"
    assert rot[0]["request"]["mount_type"] == "system"
    assert rot[0]["request"]["mount_point"] == "sys/"
    assert "error" not in rot[1]
    assert rot[2]["auth"]["client_token"] == hw
    assert rot[2]["auth"]["policy_results"] == {"allowed": False}
    assert rot[3]["error"] == "1 error occurred:\n\t* permission denied\n\n"
    seal = [e for e in ents if e["request"]["path"] == "sys/seal"]
    # The unknown token's attempt is not logged (Vault logs none): the
    # weak token's refused one and root's are, request entries only.
    assert [e["type"] for e in seal] == ["request", "request"]
    assert seal[0]["auth"]["client_token"] == hw
    assert seal[0]["auth"]["policy_results"] == {"allowed": False}
    assert seal[1]["auth"]["client_token"] == h
    assert seal[1]["auth"]["policies"] == ["root"]
    assert seal[1]["request"]["operation"] == "update"
    assert "mount_type" not in seal[1]["request"]
    with open(path) as f:
        text = f.read()
    assert srv.root_token not in text and weak not in text


def break_device_dir(srv, path):
    """The log's directory becomes a plain file: the reopen on SIGHUP
    fails, and so does every write after it, until unlinked."""
    logdir = os.path.dirname(path)
    shutil.rmtree(logdir)
    with open(logdir, "w") as f:
        f.write("not a directory\n")
    os.kill(srv.pid, signal.SIGHUP)
    deadline = time.time() + 10
    while "cannot reopen" not in srv.read_log() and time.time() < deadline:
        time.sleep(0.05)
    return logdir


def test_seal_and_rotate_fail_when_no_device_can_write(aud):
    srv, c, path = aud
    c.sys.enable_audit_device("file", path="file",
                              options={"file_path": path})
    term = c.sys.get_encryption_key_status()["data"]["term"]
    logdir = break_device_dir(srv, path)
    # The request entry cannot be written: nothing happens.
    r = srv.api("PUT", "sys/seal", token=srv.root_token)
    assert r.status_code == 500 and r.json() == {
        "errors": ["failed to audit request, cannot continue"]}
    assert srv.api("GET", "sys/seal-status").json()["sealed"] is False
    r = srv.api("PUT", "sys/rotate", token=srv.root_token)
    assert r.status_code == 500 and r.json() == INTERNAL
    os.unlink(logdir)
    assert c.sys.get_encryption_key_status()["data"]["term"] == term
    paths = [e["request"]["path"] for e in entries(path)]
    assert "sys/seal" not in paths and "sys/rotate" not in paths


def test_response_entry_repeats_the_request_entry(aud):
    """The response entry shows the request and the caller's policy
    result as the request entry did: a 404 after an allowed read is
    still allowed, as in Vault."""
    srv, c, path = aud
    c.sys.enable_audit_device("file", path="file",
                              options={"file_path": path})
    r = srv.api("GET", "secret/data/missing", token=srv.root_token)
    assert r.status_code == 404
    req, resp = [e for e in entries(path)
                 if e["request"]["path"] == "secret/data/missing"]
    assert req["auth"] == resp["auth"]
    assert req["request"] == resp["request"]
    assert resp["auth"]["policy_results"] == {"allowed": True}
    assert resp["response"]["mount_type"] == "kv"


def test_log_raw_and_elided_lists(aud):
    srv, c, path = aud
    c.sys.enable_audit_device("file", path="raw", options={
        "file_path": path, "log_raw": True, "elide_list_responses": "true"})
    c.secrets.kv.v2.create_or_update_secret("a", {"password": SECRET},
                                            mount_point="secret")
    c.secrets.kv.v2.create_or_update_secret("b", {"x": "y"},
                                            mount_point="secret")
    keys = c.secrets.kv.v2.list_secrets("", mount_point="secret")
    with open(path) as f:
        text = f.read()
    assert SECRET in text and srv.root_token in text
    lst = [e for e in entries(path) if e["type"] == "response" and
           e["request"]["operation"] == "list"]
    assert keys["data"]["keys"] == ["a", "b"]
    assert lst[0]["response"]["data"]["keys"] == 2


def test_request_fails_when_no_device_can_write(aud, tmp_path):
    srv, c, path = aud
    c.sys.enable_audit_device("file", path="file",
                              options={"file_path": path})
    logdir = break_device_dir(srv, path)
    r = srv.api("PUT", "secret/data/blocked", token=srv.root_token,
                json={"data": {"password": SECRET}})
    assert r.status_code == 500 and r.json() == INTERNAL
    r = srv.api("GET", "sys/audit", token=srv.root_token)
    assert r.status_code == 500 and r.json() == INTERNAL
    # Writable again: the device opens on its next write; the refused
    # write never reached the handler.
    os.unlink(logdir)
    r = srv.api("GET", "secret/data/blocked", token=srv.root_token)
    assert r.status_code == 404, r.text
    assert [e["type"] for e in entries(path)] == ["request", "response"]
    # With a second device that works, a failing one does not block.
    c.sys.enable_audit_device("file", path="full", options={
        "file_path": "/dev/full", "mode": "0000", "skip_test": "true"})
    c.secrets.kv.v2.create_or_update_secret("ok", {"v": "1"},
                                            mount_point="secret")
    # The disable's response entry no longer reaches the file device:
    # the disable happened, yet its answer is a 500.
    r = srv.api("DELETE", "sys/audit/file", token=srv.root_token)
    assert r.status_code == 500 and r.json() == INTERNAL
    r = srv.api("GET", "secret/data/ok", token=srv.root_token)
    assert r.status_code == 500 and r.json() == INTERNAL


def test_sighup_rotation_loses_no_entry(aud):
    srv, c, path = aud
    c.sys.enable_audit_device("file", path="file",
                              options={"file_path": path})
    ids, stop = [], threading.Event()

    def load():
        cl = srv.client(srv.root_token)
        while not stop.is_set():
            ids.append(cl.sys.list_enabled_audit_devices()["request_id"])
    t = threading.Thread(target=load)
    t.start()
    try:
        while len(ids) < 20:
            time.sleep(0.01)
        os.rename(path, path + ".1")
        os.kill(srv.pid, signal.SIGHUP)
        deadline = time.time() + 10
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.01)
        n = len(ids)
        while len(ids) < n + 20:
            time.sleep(0.01)
    finally:
        stop.set()
        t.join()
    old, new = entries(path + ".1"), entries(path)
    assert old and new
    pairs = by_request(old + new)
    for rid in ids:
        assert pairs.get(rid) == ["request", "response"], rid
    assert set(by_request(new)) & set(ids)


def test_table_survives_seal_and_restart(aud):
    srv, c, path = aud
    c.sys.enable_audit_device("file", path="file",
                              options={"file_path": path})
    h = c.sys.calculate_hash("file", "x")["data"]["hash"]
    c.sys.seal()
    srv.unseal()
    assert list(c.sys.list_enabled_audit_devices()["data"]) == ["file/"]
    assert c.sys.calculate_hash("file", "x")["data"]["hash"] == h
    srv.restart()
    srv.unseal()
    c = srv.client(srv.root_token)
    rid = c.sys.list_enabled_audit_devices()["request_id"]
    assert c.sys.calculate_hash("file", "x")["data"]["hash"] == h
    assert by_request(entries(path))[rid] == ["request", "response"]
    # Disabled, re-enabled: a new salt.
    c.sys.disable_audit_device("file")
    c.sys.enable_audit_device("file", path="file",
                              options={"file_path": path})
    assert c.sys.calculate_hash("file", "x")["data"]["hash"] != h


def _recv_lines(conn, want, deadline=10):
    """Read newline-terminated entries from a stream until want arrive."""
    buf, out = b"", []
    conn.settimeout(0.2)
    end = time.time() + deadline
    while len(out) < want and time.time() < end:
        try:
            chunk = conn.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            out.append(json.loads(line))
    return out


def test_syslog_device(aud, tmp_path, monkeypatch):
    srv, c, _ = aud
    path = str(tmp_path / "log.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(path)
    rx.settimeout(10)
    monkeypatch.setenv("COFFER_SYSLOG_SOCKET", path)
    srv.restart()
    srv.unseal()
    c.sys.enable_audit_device("syslog", path="syslog",
                              options={"tag": "coffer-test",
                                       "facility": "local3"})
    msgs = [rx.recv(65536) for _ in range(2)]       # test entry, enable
    rid = c.sys.list_enabled_audit_devices()["request_id"]
    msgs += [rx.recv(65536) for _ in range(2)]
    # <facility * 8 + info>Mmm dd hh:mm:ss tag[pid]: entry
    pat = re.compile(rb"^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d "
                     rb"coffer-test\[(\d+)\]: (\{.*\})\n$", re.S)
    ents = []
    for m in msgs:
        got = pat.match(m)
        assert got, m
        assert int(got.group(1)) == 19 * 8 + 6
        assert int(got.group(2)) == srv.pid
        ents.append(json.loads(got.group(3)))
    assert ents[0]["request"]["path"] == "sys/audit/test"
    assert [e["type"] for e in ents[2:]] == ["request", "response"]
    assert all(e["request"]["id"] == rid for e in ents[2:])
    h = c.sys.calculate_hash("syslog", srv.root_token)["data"]["hash"]
    assert ents[2]["auth"]["client_token"] == h
    assert srv.root_token.encode() not in b"".join(msgs)
    # Defaults: AUTH and "vault".
    c.sys.enable_audit_device("syslog", path="syslog2")
    seen = [rx.recv(65536) for _ in range(4)]
    assert any(m.startswith(b"<38>") and b" vault[" in m for m in seen)
    rx.close()


def test_socket_device_tcp(aud):
    srv, c, _ = aud
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    addr = "127.0.0.1:%d" % ls.getsockname()[1]
    c.sys.enable_audit_device("socket", path="sock", options={
        "address": addr, "prefix": "P:"})
    conn, _ = ls.accept()
    tok = token_with(srv, "sockkv", """
path "secret/data/*" { capabilities = ["create", "read"] }
""")
    u = hvac.Client(url=srv.url, token=tok)
    u.secrets.kv.v2.create_or_update_secret("s", {"pw": SECRET},
                                            mount_point="secret")
    rid = u.secrets.kv.v2.read_secret_version("s", mount_point="secret")[
        "request_id"]
    lines = []
    conn.settimeout(0.2)
    buf = b""
    end = time.time() + 10
    while time.time() < end and not any(
            l.startswith(b"P:") and rid.encode() in l and
            b'"type":"response"' in l for l in lines):
        try:
            buf += conn.recv(65536)
        except socket.timeout:
            continue
        *done, buf = buf.split(b"\n")
        lines += done
    assert lines and all(l.startswith(b"P:") for l in lines)
    text = b"\n".join(lines)
    assert SECRET.encode() not in text and tok.encode() not in text
    ents = [json.loads(l[2:]) for l in lines]
    assert ents[0]["request"]["path"] == "sys/audit/test"
    read = [e for e in ents if e["request"]["id"] == rid]
    assert [e["type"] for e in read] == ["request", "response"]
    hs = c.sys.calculate_hash("sock", SECRET)["data"]["hash"]
    assert read[1]["response"]["data"]["data"]["pw"] == hs
    assert read[0]["auth"]["client_token"] == c.sys.calculate_hash(
        "sock", tok)["data"]["hash"]
    conn.close()
    ls.close()


def test_sighup_reconnects_socket_device(aud):
    srv, c, _ = aud
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    ls.settimeout(10)
    c.sys.enable_audit_device("socket", path="sock", options={
        "address": "127.0.0.1:%d" % ls.getsockname()[1]})
    first = ls.accept()[0]
    os.kill(srv.pid, signal.SIGHUP)
    # A new connection at the signal, before any request needs one.
    second = ls.accept()[0]
    rid = c.secrets.kv.v2.create_or_update_secret(
        "s", {"k": "v"}, mount_point="secret")["request_id"]
    second.settimeout(10)
    got = b""
    while rid.encode() not in got:
        chunk = second.recv(65536)
        assert chunk, got
        got += chunk
    first.settimeout(0.5)
    try:
        while first.recv(65536):        # entries from before the signal
            pass
    except socket.timeout:
        pytest.fail("the old connection was kept")
    for s in (first, second, ls):
        s.close()


def test_socket_device_udp(aud):
    srv, c, _ = aud
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    addr = "127.0.0.1:%d" % rx.getsockname()[1]
    c.sys.enable_audit_device("socket", path="udp", options={
        "address": addr, "socket_type": "udp"})
    rid = c.sys.list_enabled_audit_devices()["request_id"]
    ents = []
    while len([e for e in ents if e["request"]["id"] == rid]) < 2:
        d = rx.recv(65536)
        assert d.endswith(b"\n") and d.count(b"\n") == 1
        ents.append(json.loads(d))
    assert ents[0]["request"]["path"] == "sys/audit/test"
    h = c.sys.calculate_hash("udp", srv.root_token)["data"]["hash"]
    assert [e["auth"]["client_token"] for e in ents
            if e["request"]["id"] == rid] == [h, h]
    rx.close()


def test_socket_device_stalled_peer_fails_in_time(aud):
    srv, c, path = aud
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    addr = "127.0.0.1:%d" % ls.getsockname()[1]
    c.sys.enable_audit_device("socket", path="sock", options={
        "address": addr, "write_timeout": "1s", "log_raw": "true"})
    held = [ls.accept()[0]]         # accepted, never read
    # Entries (raw: not hashed) big enough to fill the buffers soon.
    big = {"v": "x" * 200000}
    statuses, took = [], []
    for _ in range(40):
        t0 = time.time()
        r = srv.api("PUT", "secret/data/big", token=srv.root_token,
                    json={"data": big})
        took.append(time.time() - t0)
        statuses.append(r.status_code)
        if r.status_code == 500:
            assert r.json() == INTERNAL
            break
    assert statuses[-1] == 500, statuses
    # Refused within about the timeout (the request entry's write).
    assert took[-1] < 4, took
    assert "cannot write" in srv.read_log()
    # The server stays up: another device lets requests through, and
    # the socket device reconnects on its next write.
    c.sys.enable_audit_device("file", path="file",
                              options={"file_path": path})
    r = srv.api("GET", "sys/health")
    assert r.status_code == 200
    ls.settimeout(10)
    held.append(ls.accept()[0])
    r = srv.api("GET", "secret/data/big", token=srv.root_token)
    assert r.status_code in (200, 404), r.text
    for s in held:
        s.close()
    ls.close()


def test_stalled_device_holds_no_core_lock(aud):
    """Requests stuck writing to a stalled device hold no core lock:
    entries are written without it."""
    srv, c, path = aud
    c.secrets.kv.v2.create_or_update_secret("kept", {"v": "1"},
                                            mount_point="secret")
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    c.sys.enable_audit_device("socket", path="sock", options={
        "address": "127.0.0.1:%d" % ls.getsockname()[1],
        "write_timeout": "8s", "log_raw": "true"})
    held = ls.accept()[0]           # accepted, never read
    big = {"v": "x" * 200000}
    state = {"start": None, "end": None, "codes": []}

    def writer():
        for _ in range(200):
            state["start"], state["end"] = time.monotonic(), None
            r = srv.api("PUT", "secret/data/big", token=srv.root_token,
                        json={"data": big})
            state["end"] = time.monotonic()
            state["codes"].append(r.status_code)
            if r.status_code != 200:
                return

    t = threading.Thread(target=writer)
    t.start()
    # Wait until one request has been writing its entry for 1 s.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        st, en = state["start"], state["end"]
        if st is not None and en is None and time.monotonic() - st > 1:
            break
        time.sleep(0.05)
    else:
        pytest.fail("no request stalled: %r" % state["codes"][-5:])
    # The seal checks its token under the core lock, then waits to log
    # its own request entry on the same stalled device, with no lock.
    sealer = {}
    s = threading.Thread(target=lambda: sealer.update(r=srv.api(
        "PUT", "sys/seal", token=srv.root_token)))
    s.start()
    time.sleep(0.5)
    # Another seal attempt takes the core read lock first: it is answered
    # at once, while both requests are still stalled.  Had either held
    # the lock while writing (the seal then waiting for the write lock),
    # this would queue behind them until the 8 s timeout.
    t0 = time.monotonic()
    r = srv.api("PUT", "sys/seal", token="hvs.unknown")
    waited = time.monotonic() - t0
    assert r.status_code == 403
    assert waited < 2 and state["end"] is None and s.is_alive(), \
        (waited, state)
    t.join(30)
    s.join(30)
    assert not t.is_alive() and not s.is_alive()
    assert state["codes"][-1] in (500, 503), state["codes"][-3:]
    held.close()
    # The seal happened only if its entry was logged in the end.
    sealed = srv.api("GET", "sys/seal-status").json()["sealed"]
    assert (sealer["r"].status_code, sealed) in ((204, True), (500, False)), \
        sealer["r"].text
    if sealed:
        srv.unseal()    # the device connects again (to the backlog)
    r = srv.api("GET", "secret/data/kept", token=srv.root_token)
    assert r.status_code == 200 and r.json()["data"]["data"] == {"v": "1"}
    ls.close()


HDRS = "sys/config/auditing/request-headers"


def test_request_headers_config(aud):
    """sys/config/auditing/request-headers as Vault: names lower-cased,
    lookup ignoring case, 400 for an unknown one, deletes always 204,
    root-protected, kept across a seal."""
    srv, c, path = aud
    tok = srv.root_token
    r = srv.api("GET", HDRS, token=tok)
    assert r.status_code == 200 and r.json()["data"] == {"headers": {}}
    assert srv.api("PUT", HDRS + "/X-Request-Id", token=tok,
                   json={}).status_code == 204
    assert srv.api("POST", HDRS + "/X-Secret", token=tok,
                   json={"hmac": True}).status_code == 204
    body = srv.api("GET", HDRS, token=tok).json()
    want = {"x-request-id": {"hmac": False}, "x-secret": {"hmac": True}}
    assert body["data"] == {"headers": want} and body["headers"] == want
    r = srv.api("GET", HDRS + "/X-SECRET", token=tok)
    assert r.status_code == 200
    assert r.json()["data"] == {"X-SECRET": {"hmac": True}}
    r = srv.api("GET", HDRS + "/x-nope", token=tok)
    assert r.status_code == 400
    assert r.json() == {"errors": ["Could not find header in config"]}
    r = srv.api("PUT", HDRS + "/x-bad", token=tok, json={"hmac": "maybe"})
    assert r.status_code == 400
    # Not sudo: refused, even with every capability on the path.
    weak = token_with(srv, "hdrs", 'path "sys/config/auditing/*" '
                      '{ capabilities = ["create", "read", "update", '
                      '"delete", "list"] }')
    assert srv.api("GET", HDRS, token=weak).status_code == 403
    assert srv.api("PUT", HDRS + "/x-a", token=weak,
                   json={}).status_code == 403
    # Stored behind the barrier: back after a seal and unseal.
    assert srv.api("PUT", "sys/seal", token=tok).status_code == 204
    srv.unseal()
    assert srv.api("GET", HDRS, token=tok).json()["data"] == {
        "headers": want}
    assert srv.api("DELETE", HDRS + "/x-request-id",
                   token=tok).status_code == 204
    assert srv.api("DELETE", HDRS + "/x-request-id",
                   token=tok).status_code == 204
    assert srv.api("GET", HDRS, token=tok).json()["data"] == {
        "headers": {"x-secret": {"hmac": True}}}


def test_configured_headers_in_both_entries(aud):
    """A configured header on a request is copied into both of its
    entries, lower-cased, every value kept; an hmac one is hashed with
    the device's salt and never written in clear; others stay out."""
    srv, c, path = aud
    tok = srv.root_token
    c.sys.enable_audit_device("file", path="file", options={
        "file_path": path})
    srv.api("PUT", HDRS + "/X-Request-Id", token=tok, json={})
    srv.api("PUT", HDRS + "/X-Secret", token=tok, json={"hmac": True})
    hidden = "hdr-" + SECRET
    r = srv.api("GET", "secret/data/none", token=tok,
                headers={"X-Request-ID": "abc-123", "X-Secret": hidden,
                         "X-Other": "not-configured"})
    assert r.status_code == 404
    with open(path) as f:
        text = f.read()
    assert hidden not in text and "not-configured" not in text
    mine = [e for e in entries(path)
            if e["request"].get("path") == "secret/data/none"]
    assert [e["type"] for e in mine] == ["request", "response"]
    want_hash = srv.api("POST", "sys/audit-hash/file", token=tok,
                        json={"input": hidden}).json()["data"]["hash"]
    for e in mine:
        assert e["request"]["headers"] == {"x-request-id": ["abc-123"],
                                           "x-secret": [want_hash]}
    # Without configured headers on it, a request has no "headers".
    srv.api("GET", "secret/data/none", token=tok)
    last = entries(path)[-1]
    assert "headers" not in last["request"]


def test_jsonx_format(aud):
    """format "jsonx" writes each entry as Vault does: the entry's
    members as JSONx elements in name order, no wrapper, no newline;
    the same fields hashed as in JSON."""
    import xml.etree.ElementTree as ET
    srv, c, path = aud
    tok = srv.root_token
    c.sys.enable_audit_device("file", path="x", options={
        "file_path": path, "format": "jsonx", "prefix": "@"})
    c.secrets.kv.v2.create_or_update_secret(
        "app", {"password": SECRET, "we<ird & \"odd\"": 1.5},
        mount_point="secret")
    with open(path) as f:
        text = f.read()
    assert SECRET not in text and tok not in text
    assert "\n" not in text
    chunks = text.split("@")[1:]
    assert len(chunks) >= 3
    ns = "http://www.ibm.com/xmlns/prod/2009/jsonx"
    docs = [ET.fromstring('<r xmlns:json="%s">%s</r>' % (ns, ch))
            for ch in chunks]
    J = "{%s}" % ns
    for d in docs:
        names = [el.get("name") for el in d]
        assert names == sorted(names), names
    last = docs[-1]
    top = {el.get("name"): el for el in last}
    assert top["type"].tag == J + "string" and top["type"].text == "response"
    req = top["request"]
    assert req.tag == J + "object"
    fields = {el.get("name"): el for el in req}
    assert fields["path"].text == "secret/data/app"
    assert fields["client_token"].text.startswith("hmac-sha256:")
    data = {el.get("name"): el for el in fields["data"]}
    inner = {el.get("name"): el for el in data["data"]}
    assert inner["password"].text.startswith("hmac-sha256:")
    # Request numbers are hashed as Vault hashes them (json.Number).
    odd = inner['we<ird & "odd"']
    assert odd.tag == J + "string" and odd.text.startswith("hmac-sha256:")
    lease = {el.get("name"): el for el in top["response"]}
    assert all(el.tag.startswith(J) for el in lease.values())
    # The same entry in JSON from a second device, hashed alike.
    want = srv.api("POST", "sys/audit-hash/x", token=tok,
                   json={"input": SECRET}).json()["data"]["hash"]
    assert inner["password"].text == want
