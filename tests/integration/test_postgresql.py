"""cofferd on the postgresql backend, against a private PostgreSQL.

The module starts one database with tests/pgtest.sh (initdb as an
unprivileged user, a free loopback port) and removes it afterwards; each
test uses a table of its own.  Without PostgreSQL installed the tests
skip, saying why.
"""
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
import requests

from conftest import COFFERD, EXTERNAL, ROOT, Server, started

PGTEST = os.path.join(ROOT, "tests", "pgtest.sh")

pytestmark = pytest.mark.private


@pytest.fixture(scope="module")
def pg():
    if EXTERNAL:
        pytest.skip("needs a private server")
    d = os.path.join(tempfile.mkdtemp(prefix="coffer-pgi-"), "pg")
    r = subprocess.run(["sh", PGTEST, "start", d], capture_output=True,
                       text=True)
    if r.returncode != 0:
        shutil.rmtree(os.path.dirname(d), ignore_errors=True)
        pytest.skip("no test PostgreSQL: " + r.stderr.strip())
    yield {"dir": d, "url": r.stdout.strip()}
    subprocess.run(["sh", PGTEST, "stop", d])
    shutil.rmtree(os.path.dirname(d), ignore_errors=True)


def psql(pg, sql):
    r = subprocess.run(["psql", "-X", "-A", "-t", "-q", pg["url"], "-c",
                        sql], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


class PgServer(Server):
    """A Server whose storage block is postgresql in its own table."""

    def __init__(self, workdir, pg, url=None, opts="", **kw):
        self.pg = pg
        self.table = "t_" + uuid.uuid4().hex[:12]
        self.pg_url = url or pg["url"]
        self.pg_opts = opts
        super().__init__(workdir, storage="postgresql", **kw)

    def write_config(self, listener_extra=None, port=0):
        super().write_config(listener_extra, port)
        with open(self.confpath) as f:
            text = f.read()
        start = text.index('storage "postgresql"')
        end = text.index("}\n", start) + 2
        block = ('storage "postgresql" {\n  connection_url = "%s"\n'
                 '  table = "%s"\n  max_parallel = "16"\n%s}\n' % (
                     self.pg_url, self.table, self.pg_opts))
        with open(self.confpath, "w") as f:
            f.write(text[:start] + block + text[end:])


@pytest.fixture
def pgsrv(pg, tmp_path, request):
    return started(PgServer(tmp_path, pg), request)


def enable_kv(srv, path="secret"):
    r = srv.api("POST", "sys/mounts/" + path, token=srv.root_token,
                json={"type": "kv", "options": {"version": "2"}})
    assert r.status_code == 204, r.text


def test_init_unseal_kv_restart_and_no_cleartext(pgsrv, pg):
    srv = pgsrv.init_unseal()
    enable_kv(srv)
    secret = "pg-plaintext-" + uuid.uuid4().hex
    r = srv.api("POST", "secret/data/app", token=srv.root_token,
                json={"data": {"password": secret}})
    assert r.status_code == 200, r.text
    r = srv.api("GET", "secret/data/app", token=srv.root_token)
    assert r.json()["data"]["data"]["password"] == secret
    # Vault's layout; values pass the barrier: nothing readable.
    n = int(psql(pg, 'SELECT count(*) FROM "%s"' % srv.table))
    assert n > 3
    hits = psql(pg, "SELECT count(*) FROM \"%s\" WHERE position("
                "convert_to('%s', 'UTF8') in value) > 0 OR position("
                "convert_to('%s', 'UTF8') in value) > 0" % (
                    srv.table, secret, srv.root_token))
    assert hits == "0"
    assert psql(pg, "SELECT count(*) FROM \"%s\" WHERE path = '/core/' "
                "AND parent_path = '/'" % srv.table) != "0"
    srv.restart()
    srv.unseal()
    r = srv.api("GET", "secret/data/app", token=srv.root_token)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["data"]["password"] == secret


def test_unmount_removes_the_mounts_rows(pgsrv, pg):
    srv = pgsrv.init_unseal()
    q = "SELECT count(*) FROM \"%s\" WHERE path LIKE '/logical/%%'" % (
        srv.table)
    before = int(psql(pg, q))
    enable_kv(srv, "tmp")
    for i in range(20):
        r = srv.api("POST", "tmp/data/dir%d/k%d" % (i % 3, i),
                    token=srv.root_token, json={"data": {"v": i}})
        assert r.status_code == 200, r.text
    assert int(psql(pg, q)) > before + 20
    r = srv.api("DELETE", "sys/mounts/tmp", token=srv.root_token)
    assert r.status_code == 204, r.text
    assert int(psql(pg, q)) == before


def test_database_restart_under_load(pgsrv, pg):
    """Requests fail cleanly (5xx, Vault's envelope) while the database
    is down, the server stays up, and recovers by itself."""
    srv = pgsrv.init_unseal()
    enable_kv(srv)
    acked, failures, bad = {}, [], []
    stop = threading.Event()

    def writer(w):
        s = requests.Session()
        i = 0
        while not stop.is_set():
            key = "w%d-%d" % (w, i)
            try:
                r = s.post("%s/v1/secret/data/%s" % (srv.url, key),
                           headers={"X-Vault-Token": srv.root_token},
                           json={"data": {"v": key}}, timeout=30)
            except requests.RequestException as e:
                bad.append(str(e))
                return
            if r.status_code == 200:
                acked[key] = True
            elif 500 <= r.status_code < 600 and \
                    isinstance(r.json().get("errors"), list) and \
                    r.json()["errors"]:
                failures.append(r.status_code)
            else:
                bad.append("%d %s" % (r.status_code, r.text))
            i += 1
            time.sleep(0.005)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        subprocess.run(["sh", PGTEST, "down", pg["dir"]], check=True)
        deadline = time.monotonic() + 20
        while not failures and time.monotonic() < deadline:
            time.sleep(0.05)
        assert failures, "no request failed while the database was down"
        # Reads fail the same way, and the server still answers.
        r = srv.api("GET", "secret/data/w0-0", token=srv.root_token)
        assert 500 <= r.status_code < 600
        assert r.json()["errors"]
        assert srv.api("GET", "sys/seal-status").status_code == 200
        subprocess.run(["sh", PGTEST, "up", pg["dir"]], check=True)
        n0 = len(acked)
        deadline = time.monotonic() + 30
        while len(acked) < n0 + 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(acked) >= n0 + 20, "writes did not recover"
    finally:
        stop.set()
        for t in threads:
            t.join()
        subprocess.run(["sh", PGTEST, "up", pg["dir"]],
                       capture_output=True)
    assert not bad, bad[:5]
    assert srv.proc.poll() is None
    for key in acked:
        r = srv.api("GET", "secret/data/" + key, token=srv.root_token)
        assert r.status_code == 200, (key, r.text)
        assert r.json()["data"]["data"]["v"] == key
    with open(srv.logpath, "rb") as f:
        log = f.read().decode("utf-8", "replace")
    assert "database reachable again" in log
    assert "cannot connect" in log


def test_password_never_logged(pg, tmp_path, request):
    url = pg["url"].replace("coffer@", "coffer:Sekr3tPw@")
    srv = PgServer(tmp_path, pg, url=url)
    srv.start()
    request.addfinalizer(lambda: srv.proc and srv.stop())
    srv.init_unseal()
    assert srv.stop() == 0
    assert "Sekr3tPw" not in srv.read_log()
    # Nobody listening: a clear refusal at start, still no password.
    bad = "postgres://coffer:Sekr3tPw@127.0.0.1:1/postgres"
    two = tmp_path / "two"
    two.mkdir()
    srv2 = PgServer(two, pg, url=bad)
    r = subprocess.run([COFFERD, "-config", srv2.confpath], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    assert "cannot open postgresql storage" in r.stderr
    assert "Sekr3tPw" not in r.stderr + r.stdout


def check_config(tmp_path, block):
    conf = tmp_path / "c.hcl"
    conf.write_text(block + 'listener "tcp" {\n  address = "127.0.0.1:0"\n'
                    '  tls_disable = true\n}\n')
    r = subprocess.run([COFFERD, "-n", "-config", str(conf)],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr, str(conf)


def test_config_keys_checked_by_the_backend(tmp_path):
    rc, out, path = check_config(tmp_path, 'storage "postgresql" {\n'
                                 '  connection_url = "postgres://h/db"\n'
                                 '  table = "kv"\n  ha_table = "ha"\n'
                                 '  max_parallel = "64"\n'
                                 '  skip_create_table = "false"\n'
                                 '  ha_enabled = "true"\n'
                                 '  ha_session_timeout = "1500ms"\n}\n'
                                 'api_addr = "http://127.0.0.1:8200"\n')
    assert rc == 0, out
    rc, out, path = check_config(tmp_path, 'storage "postgresql" {\n'
                                 '  connection_url = "postgres://h/db"\n'
                                 '  tabel = "kv"\n'
                                 '  max_parallel = "lots"\n'
                                 '  ha_session_timeout = "2 s"\n'
                                 '  path = "/var/lib/coffer"\n}\n')
    assert rc != 0
    assert '%s:3: unknown key "tabel" in storage "postgresql"' % path in out
    assert "%s:4: max_parallel must be a number" % path in out
    assert "%s:5: ha_session_timeout must be a duration" % path in out
    assert '%s:6: unknown key "path" in storage "postgresql"' % path in out
    rc, out, path = check_config(tmp_path, 'storage "lmdb" {\n'
                                 '  path = "/d"\n  table = "kv"\n}\n')
    assert rc != 0
    assert '%s:3: unknown key "table" in storage "lmdb"' % path in out
