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
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("cofferd exited with %d:\n%s" % (
                    self.proc.returncode, self.read_log()))
            with open(self.logpath, "rb") as f:
                f.seek(start_at)
                m = re.search(rb"listening on 127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                break
            time.sleep(0.02)
        else:
            self.proc.kill()
            raise RuntimeError("cofferd did not report its port:\n" +
                               self.read_log())
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
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")[-20000:]
        except OSError:
            return ""

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


def _new_server(tmp_path, request, **kw):
    srv = Server(tmp_path, **kw)
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
