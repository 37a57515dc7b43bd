"""Fixtures that run a real cofferd on a free loopback port.

Each test gets its own server and data directory: the fixture writes a
config with port 0, starts bin/cofferd, reads the bound port from the
log line "listening on 127.0.0.1:PORT", polls sys/health until a
deadline, and stops it with SIGTERM, checking the exit status.  With
COFFER_ADDR set, tests run against that server instead and those that
need a private one are skipped.
"""
import os
import re
import signal
import subprocess
import threading
import time

import hvac
import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COFFERD = os.path.join(ROOT, "bin", "cofferd")
EXTERNAL = os.environ.get("COFFER_ADDR")
START_DEADLINE = 30.0
# Every cofferd the suite starts, by this fixture or by hand, checks its
# lock order (util/lock.h) and aborts on a violation.
os.environ.setdefault("COFFER_LOCK_CHECK", "1")


def pytest_configure(config):
    config.addinivalue_line("markers", "private: needs a server of its own")


def pytest_collection_modifyitems(config, items):
    if not EXTERNAL:
        return
    skip = pytest.mark.skip(reason="COFFER_ADDR set: needs a private server")
    for item in items:
        if "private" in item.keywords:
            item.add_marker(skip)


def log_tail(path):
    """The last 20000 characters of the log file path ("" if none)."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-20000:]
    except OSError:
        return ""


def listening_port(proc, logpath, start_at, deadline):
    """The port of the first "listening on 127.0.0.1:PORT" that cofferd
    proc writes to logpath after offset start_at.  RuntimeError, with
    the log, if proc exits first or deadline (time.monotonic()) passes,
    when proc is killed."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("cofferd exited with %d:\n%s" % (
                proc.returncode, log_tail(logpath)))
        with open(logpath, "rb") as f:
            f.seek(start_at)
            m = re.search(rb"listening on 127\.0\.0\.1:(\d+)", f.read())
        if m:
            return int(m.group(1))
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError("cofferd did not report its port:\n" +
                       log_tail(logpath))


class Server:
    """One cofferd process and its data directory."""

    def __init__(self, workdir, storage="lmdb", extra="", dev=False,
                 dev_args=(), verbose=True):
        self.verbose = verbose
        self.workdir = str(workdir)
        self.storage = storage
        self.extra = extra
        self.dev = dev
        self.dev_args = list(dev_args)
        self.proc = None
        self.port = None
        self.url = None
        self.keys = None
        self.keys_base64 = None
        self.root_token = None
        self.logpath = os.path.join(self.workdir, "cofferd.log")
        self.confpath = os.path.join(self.workdir, "cofferd.hcl")
        self.datadir = os.path.join(self.workdir, "data")
        self.write_config()

    def write_config(self, listener_extra=None, port=0):
        if listener_extra is not None:
            self.listener_extra = listener_extra
        listener_extra = getattr(self, "listener_extra", "")
        storage = 'storage "%s" {\n  path = "%s"\n}\n' % (
            self.storage, self.datadir)
        if self.storage == "inmem":
            storage = 'storage "inmem" {}\n'
        with open(self.confpath, "w") as f:
            f.write(storage)
            f.write('listener "tcp" {\n  address = "127.0.0.1:%d"\n'
                    '  tls_disable = true\n%s}\n' % (port, listener_extra))
            f.write('disable_mlock = true\nlog_level = "debug"\n')
            f.write(self.extra)

    @property
    def pid(self):
        return self.proc.pid

    def env(self):
        env = dict(os.environ)
        # LeakSanitizer cannot trace a process that ptrace is reading.
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        # A ThreadSanitizer report stops cofferd: the fixture then fails.
        env.setdefault("TSAN_OPTIONS", "halt_on_error=1:exitcode=66:"
                       "second_deadlock_stack=1:suppressions=" +
                       os.path.join(ROOT, "tests", "tsan.supp"))
        return env

    def start(self):
        if self.dev:
            args = [COFFERD, "-dev", "-dev-listen-address=127.0.0.1:0",
                    "-v"] + self.dev_args
        else:
            args = [COFFERD, "-config", self.confpath]
            if self.verbose:
                args.append("-v")
        self.log = open(self.logpath, "ab")
        self.stdout_path = os.path.join(self.workdir, "stdout.txt")
        self.stdout = open(self.stdout_path, "wb")
        start_at = self.log.tell()
        self.proc = subprocess.Popen(args, stdout=self.stdout,
                                     stderr=self.log, env=self.env())
        deadline = time.monotonic() + START_DEADLINE
        self.port = listening_port(self.proc, self.logpath, start_at,
                                   deadline)
        self.url = "http://127.0.0.1:%d" % self.port
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/v1/sys/health", timeout=2)
                return self
            except requests.ConnectionError as e:
                if "Connection refused" not in str(e):
                    return self     # a TLS listener answering plain HTTP
                time.sleep(0.02)
        raise RuntimeError("cofferd does not answer:\n" + self.read_log())

    def read_log(self):
        return log_tail(self.logpath)

    def read_stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stop the server; return its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        self.proc = None
        self.log.close()
        self.stdout.close()
        return rc

    def restart_tls(self, cert, key):
        """Stop; start again on the lmdb store with a TLS listener on a
        new port, certificate and key from the files cert and key."""
        self.stop()
        with open(self.confpath, "w") as f:
            f.write('storage "lmdb" { path = "%s" }\n'
                    'listener "tcp" {\n  address = "127.0.0.1:0"\n'
                    '  tls_cert_file = "%s"\n  tls_key_file = "%s"\n}\n'
                    'disable_mlock = true\n' % (self.datadir, cert, key))
        return self.start()

    def restart(self):
        """Stop and start again on the same port (clients keep working)."""
        if not self.dev:
            self.write_config(port=self.port)
        rc = self.stop()
        assert rc == 0, "cofferd exited with %s:\n%s" % (rc, self.read_log())
        return self.start()

    def client(self, token=None):
        return hvac.Client(url=self.url, token=token)

    def api(self, method, path, token=None, **kw):
        """A raw request with requests; path is relative to /v1/."""
        headers = kw.pop("headers", {})
        if token is not None:
            headers["X-Vault-Token"] = token
        return requests.request(method, "%s/v1/%s" % (self.url, path),
                                headers=headers, timeout=30, **kw)

    def init(self, shares=1, threshold=1):
        r = self.api("PUT", "sys/init", json={
            "secret_shares": shares, "secret_threshold": threshold})
        assert r.status_code == 200, r.text
        body = r.json()
        self.keys = body["keys"]
        self.keys_base64 = body["keys_base64"]
        self.root_token = body["root_token"]
        return body

    def unseal(self, keys=None):
        body = None
        for k in (keys or self.keys):
            r = self.api("PUT", "sys/unseal", json={"key": k})
            assert r.status_code == 200, r.text
            body = r.json()
            if not body["sealed"]:
                break
        return body

    def init_unseal(self, shares=1, threshold=1):
        self.init(shares, threshold)
        self.unseal(self.keys[:threshold])
        return self


def self_signed_cert(cert, key):
    """A self-signed certificate for 127.0.0.1, valid for a day, into
    the file cert and its key into the file key (PEM)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)


def in_threads(target, n):
    """Call target() in n threads at once; return when all have."""
    threads = [threading.Thread(target=target) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def auth_method_client(srv, method, policy):
    """A root client of unsealed srv, with the auth method enabled and
    a policy named policy that grants read on sys/key-status alone."""
    c = srv.client(srv.root_token)
    c.sys.enable_auth_method(method)
    c.sys.create_or_update_policy(
        policy, 'path "sys/key-status" { capabilities = ["read"] }')
    return c


def stored_bytes(srv):
    """Every byte of the files in srv's data directory, one after the
    other: what a thief of the disk would read."""
    data = b""
    for root, _, files in os.walk(srv.datadir):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                data += fh.read()
    return data


def assert_key_status_only(srv, token):
    """token, from a login whose one policy grants read on
    sys/key-status, can read that and is refused sys/policy."""
    assert srv.api("GET", "sys/key-status", token=token).status_code == 200
    assert srv.api("GET", "sys/policy", token=token).status_code == 403


def _new_server(tmp_path, request, **kw):
    return started(Server(tmp_path, **kw), request)


def started(srv, request):
    """srv, started, to be stopped after the test, which fails if
    cofferd then exits with anything but 0."""
    srv.start()

    def fin():
        if srv.proc is not None:
            rc = srv.stop()
            if rc != 0:
                pytest.fail("cofferd exited with %s:\n%s" % (
                    rc, srv.read_log()))
    request.addfinalizer(fin)
    return srv


@pytest.fixture
def make_server(tmp_path, request):
    """Factory: make_server(storage="file", extra="...", dev=False)."""
    n = [0]

    def make(**kw):
        n[0] += 1
        d = tmp_path / ("srv%d" % n[0])
        d.mkdir()
        return _new_server(d, request, **kw)
    return make


@pytest.fixture(params=["lmdb", "file"])
def server(request, tmp_path):
    """A fresh, uninitialized server on each durable backend."""
    if EXTERNAL:
        pytest.skip("needs a private server")
    return _new_server(tmp_path, request, storage=request.param)


@pytest.fixture
def lmdb_server(request, tmp_path):
    if EXTERNAL:
        pytest.skip("needs a private server")
    return _new_server(tmp_path, request, storage="lmdb")


@pytest.fixture
def unsealed(request, tmp_path):
    """An initialized, unsealed server on lmdb with .root_token."""
    if EXTERNAL:
        pytest.skip("needs a private server")
    srv = _new_server(tmp_path, request, storage="lmdb")
    return srv.init_unseal()


@pytest.fixture
def root_client(unsealed):
    return unsealed.client(unsealed.root_token)
