"""Response bytes: the exact head cofferd writes, keep-alive and close.

Every answer is one write of the status line, the headers and the body
(server/http.c send_reply).  These tests read the bytes off a raw socket:
the header names in order, their values, the status line (ours, never
the request's version), Connection agreeing with what the server then
does to the socket, and HEAD sending no body bytes at all.
"""
import json
import re
import shutil
import socket
import subprocess
import time

import pytest

HEADER_NAMES = ["Content-Type", "Cache-Control", "Content-Length", "Date",
                "Connection"]
DATE_RE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
                     r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                     r"\d{4} \d\d:\d\d:\d\d GMT$")


class Conn:
    """One raw connection that reads one response at a time."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def close(self):
        self.s.close()

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def response(self, head_only=False):
        """(status line, [(name, value)], body) of the next answer."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = [tuple(x.split(": ", 1)) for x in lines[1:]]
        n = 0 if head_only else int(dict(headers)["Content-Length"])
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return lines[0], headers, body

    def closed_by_server(self, wait=1.0):
        """True at EOF, False if the socket stays open and silent."""
        self.s.settimeout(wait)
        try:
            chunk = self.s.recv(65536)
        except socket.timeout:
            return False
        finally:
            self.s.settimeout(10)
        if chunk:
            raise AssertionError("unexpected bytes: %r" % chunk)
        return True


def request(method, path, version="1.1", headers=()):
    lines = ["%s %s HTTP/%s" % (method, path, version), "Host: x"]
    lines += ["%s: %s" % h for h in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def check_head(status_line, headers, body, code, reason, connection,
               names=HEADER_NAMES):
    assert status_line == "HTTP/1.1 %d %s" % (code, reason)
    assert [h[0] for h in headers] == names, headers
    h = dict(headers)
    assert h["Content-Type"] == "application/json"
    assert h["Cache-Control"] == "no-store"
    assert DATE_RE.match(h["Date"]), h["Date"]
    assert h["Connection"] == connection
    if body:
        assert int(h["Content-Length"]) == len(body)
        assert body.endswith(b"\n")
        json.loads(body)


def test_keepalive_then_close(unsealed):
    c = Conn(unsealed.port)
    try:
        c.send(request("GET", "/v1/sys/health"))
        st, hd, body = c.response()
        check_head(st, hd, body, 200, "OK", "keep-alive")
        assert json.loads(body)["sealed"] is False
        assert not c.closed_by_server(0.3)
        # A secret that is not there: an empty 404, still kept.
        c.send(request("GET", "/v1/cubbyhole/nothing",
                       headers=[("X-Vault-Token", unsealed.root_token)]))
        st, hd, body = c.response()
        check_head(st, hd, body, 404, "Not Found", "keep-alive")
        assert json.loads(body) == {"errors": []}
        assert not c.closed_by_server(0.3)
        # The client asks to close: the head says so and the server does.
        c.send(request("GET", "/v1/sys/health",
                       headers=[("Connection", "close")]))
        st, hd, body = c.response()
        check_head(st, hd, body, 200, "OK", "close")
        assert c.buf == b""
        assert c.closed_by_server()
    finally:
        c.close()


def test_pipelined_answers_are_whole(unsealed):
    c = Conn(unsealed.port)
    try:
        c.send(request("GET", "/v1/sys/health") * 3 +
               request("GET", "/v1/sys/health",
                       headers=[("Connection", "close")]))
        for want in ("keep-alive", "keep-alive", "keep-alive", "close"):
            st, hd, body = c.response()
            check_head(st, hd, body, 200, "OK", want)
        assert c.closed_by_server()
    finally:
        c.close()


def test_head_sends_no_body(unsealed):
    c = Conn(unsealed.port)
    try:
        c.send(request("GET", "/v1/sys/health"))
        _, _, body = c.response()
        c.send(request("HEAD", "/v1/sys/health",
                       headers=[("X-Vault-Namespace", "team-a/")]))
        st, hd, none = c.response(head_only=True)
        check_head(st, hd, none, 200, "OK", "keep-alive",
                   names=["Content-Type", "Cache-Control",
                          "X-Vault-Namespace", "Content-Length", "Date",
                          "Connection"])
        h = dict(hd)
        assert h["X-Vault-Namespace"] == "team-a/"
        # The length of the GET's body (server_time_utc may have moved
        # by a digit at most), and not one body byte on the wire: the
        # next answer's status line comes first.
        assert abs(int(h["Content-Length"]) - len(body)) <= 1
        assert not c.closed_by_server(0.3)
        c.send(request("HEAD", "/v1/sys/health",
                       headers=[("Connection", "close")]))
        st, hd, _ = c.response(head_only=True)
        assert st == "HTTP/1.1 200 OK"
        assert dict(hd)["Connection"] == "close"
        assert c.buf == b""
        assert c.closed_by_server()
    finally:
        c.close()


@pytest.mark.parametrize("version,headers,want", [
    ("1.0", [], "close"),
    ("1.0", [("Connection", "Keep-Alive")], "keep-alive"),
    ("1.1", [("Connection", "keep-alive, close")], "close"),
    ("1.1", [("Connection", "TE, close")], "close"),
    ("1.1", [("Connection", "upgrade")], "close"),
])
def test_connection_header_matches_socket(unsealed, version, headers, want):
    c = Conn(unsealed.port)
    try:
        c.send(request("GET", "/v1/sys/health", version, headers))
        st, hd, body = c.response()
        # The status line is ours: never the request's version.
        check_head(st, hd, body, 200, "OK", want)
        assert c.closed_by_server() == (want == "close")
    finally:
        c.close()


def test_refused_body_closes_with_close_header(unsealed):
    """A body too large is refused unread: the head says close."""
    c = Conn(unsealed.port)
    try:
        c.send(b"PUT /v1/cubbyhole/x HTTP/1.1\r\nHost: x\r\n"
               b"X-Vault-Token: " + unsealed.root_token.encode() +
               b"\r\nContent-Length: 99999999999\r\n\r\n")
        st, hd, body = c.response()
        check_head(st, hd, body, 413, "Request Entity Too Large", "close")
        assert c.closed_by_server()
    finally:
        c.close()


def test_error_head_agrees_with_socket(unsealed):
    """Whatever an error answer says in Connection, the server does."""
    for path in ("/v1/nosuch/x", "/v1/sys/nothing-here"):
        c = Conn(unsealed.port)
        try:
            c.send(request("GET", path))
            st, hd, body = c.response()
            assert st.startswith("HTTP/1.1 4"), st
            want = dict(hd)["Connection"]
            check_head(st, hd, body, int(st.split()[1]),
                       st.split(" ", 2)[2], want)
            assert c.closed_by_server() == (want == "close"), path
        finally:
            c.close()


def test_large_body_whole(unsealed):
    """A 1 MiB secret comes back whole, its length in the head."""
    tok = unsealed.root_token
    r = unsealed.api("POST", "sys/mounts/kv", token=tok,
                     json={"type": "kv", "options": {"version": "1"}})
    assert r.status_code == 204, r.text
    big = "x" * (1 << 20)
    r = unsealed.api("PUT", "kv/big", token=tok, json={"v": big})
    assert r.status_code == 204, r.text
    c = Conn(unsealed.port)
    try:
        c.send(request("GET", "/v1/kv/big", headers=[("X-Vault-Token", tok)]))
        st, hd, body = c.response()
        check_head(st, hd, body, 200, "OK", "keep-alive")
        assert json.loads(body)["data"]["v"] == big
    finally:
        c.close()


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_one_write_per_answer(unsealed, tmp_path):
    """strace counts one sendto per answer, large or small, HEAD or GET."""
    out = tmp_path / "strace.txt"
    st = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=sendto,write,"
                           "writev,sendmsg", "-o", str(out),
                           "-p", str(unsealed.pid)],
                          stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)       # strace attaches to every thread
        if st.poll() is not None:
            pytest.skip("strace cannot attach: %s" % st.stderr.read())
        c = Conn(unsealed.port)
        try:
            for i in range(20):
                c.send(request("HEAD" if i % 2 else "GET", "/v1/sys/health",
                               headers=[("X-Vault-Namespace", "ns%d" % i)]))
                c.response(head_only=bool(i % 2))
        finally:
            c.close()
        time.sleep(0.3)
    finally:
        st.terminate()
        st.wait()
    calls = [ln for ln in out.read_text().splitlines()
             if re.search(r"\b(sendto|writev|sendmsg)\(", ln) or
             re.search(r"\bwrite\(\d+, \"HTTP", ln)]
    sends = [ln for ln in calls if "HTTP/1.1 200" in ln]
    assert len(sends) == 20, calls
    assert len(calls) == 20, calls
