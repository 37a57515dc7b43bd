"""One writer per store: a second cofferd on a store another process
holds refuses to start; HA nodes share an LMDB directory through the
storage HA lock; the configuration checks that go with ha_enabled."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import COFFERD, EXTERNAL

pytestmark = pytest.mark.skipif(EXTERNAL is not None,
                                reason="needs private servers")


def write_config(path, storage, datadir, extra=""):
    with open(path, "w") as f:
        if storage == "inmem":
            f.write('storage "inmem" {\n%s}\n' % extra)
        else:
            f.write('storage "%s" {\n  path = "%s"\n%s}\n' % (
                storage, datadir, extra))
        f.write('listener "tcp" {\n  address = "127.0.0.1:0"\n'
                '  tls_disable = true\n}\n')
        f.write('disable_mlock = true\n')


def run(conf, timeout=20):
    return subprocess.run([COFFERD, "-config", str(conf)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, text=True)


def snapshot(datadir):
    """Size and mtime of every file but our lock file."""
    out = {}
    for name in sorted(os.listdir(datadir)):
        if name == "cofferd.lock":
            continue
        st = os.stat(os.path.join(datadir, name))
        out[name] = (st.st_size, st.st_mtime_ns)
    return out


def put_secret(srv, path, data):
    r = srv.api("POST", "secret/data/" + path, token=srv.root_token,
                json={"data": data})
    assert r.status_code == 200, r.text


def get_secret(srv, path):
    r = srv.api("GET", "secret/data/" + path, token=srv.root_token)
    assert r.status_code == 200, r.text
    return r.json()["data"]["data"]


def mount_kv(srv):
    r = srv.api("POST", "sys/mounts/secret", token=srv.root_token,
                json={"type": "kv", "options": {"version": "2"}})
    assert r.status_code == 204, r.text


@pytest.mark.private
@pytest.mark.parametrize("storage", ["lmdb", "file"])
@pytest.mark.parametrize("second_ha", [False, True])
def test_second_process_refused(make_server, tmp_path, storage, second_ha):
    first = make_server(storage=storage)
    first.init_unseal()
    mount_kv(first)
    put_secret(first, "a", {"v": "1"})
    before = snapshot(first.datadir)

    conf = tmp_path / "second.hcl"
    write_config(conf, storage, first.datadir,
                 '  ha_enabled = true\n' if second_ha else "")
    if second_ha:
        with open(conf, "a") as f:
            f.write('api_addr = "http://127.0.0.1:1"\n')
    r = run(conf)
    assert r.returncode != 0
    if storage == "file":
        # The file backend has no HA at all: a configuration error.
        msg = ("has no HA" if second_ha else
               "in use by another process")
        assert msg in r.stderr, r.stderr
    elif second_ha:
        assert "in use by another cofferd process without ha_enabled" in \
            r.stderr, r.stderr
    else:
        assert "in use by another cofferd process" in r.stderr, r.stderr
        assert "only as HA nodes" in r.stderr, r.stderr
    assert "listening on" not in r.stderr
    # The refused process wrote nothing.
    assert snapshot(first.datadir) == before

    # The first keeps working, with its keys and data intact.
    assert get_secret(first, "a") == {"v": "1"}
    put_secret(first, "b", {"v": "2"})
    r = first.api("GET", "sys/seal-status")
    assert r.json()["initialized"] is True and r.json()["sealed"] is False
    first.restart()
    first.unseal()
    assert get_secret(first, "a") == {"v": "1"}
    assert get_secret(first, "b") == {"v": "2"}


@pytest.mark.parametrize("storage,extra,line,text", [
    ("file", '  ha_enabled = true\n', 3, 'storage "file" has no HA'),
    ("inmem", '  ha_enabled = "true"\n', 2, 'storage "inmem" has no HA'),
    ("lmdb", '  ha_enabled = true\n', 1, "ha_enabled needs api_addr"),
])
def test_ha_config_errors(tmp_path, storage, extra, line, text):
    conf = tmp_path / "c.hcl"
    write_config(conf, storage, str(tmp_path / "data"), extra)
    r = subprocess.run([COFFERD, "-n", "-config", str(conf)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=20, text=True)
    assert r.returncode != 0
    assert "%s:%d: " % (conf, line) in r.stderr, r.stderr
    assert text in r.stderr, r.stderr
    assert not os.path.exists(tmp_path / "data")


def start_node(conf, log):
    return subprocess.Popen([COFFERD, "-config", str(conf), "-v"],
                            stdout=subprocess.DEVNULL, stderr=log)


def wait_log(path, pattern, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, "rb") as f:
            m = re.search(pattern, f.read())
        if m:
            return m
        assert proc.poll() is None, open(path, "rb").read().decode()
        time.sleep(0.02)
    raise AssertionError("no %r in:\n%s" % (
        pattern, open(path, "rb").read().decode()))


@pytest.mark.private
def test_ha_nodes_share_a_directory(tmp_path):
    """Two HA nodes on one LMDB directory: the lock holder serves, the
    other waits (naming the holder) and takes over when it dies."""
    data = str(tmp_path / "data")
    procs = []
    logs = []
    try:
        for i in (1, 2):
            conf = tmp_path / ("n%d.hcl" % i)
            write_config(conf, "lmdb", data, '  ha_enabled = true\n')
            with open(conf, "a") as f:
                f.write('api_addr = "http://node%d.example:8200"\n' % i)
            logs.append(str(tmp_path / ("n%d.log" % i)))
            with open(logs[-1], "wb") as log:
                procs.append(start_node(conf, log))
            if i == 1:
                m = wait_log(logs[0], rb"listening on 127\.0\.0\.1:(\d+)",
                             procs[0])
        from conftest import Server
        a = Server.__new__(Server)
        a.url = "http://127.0.0.1:%d" % int(m.group(1))
        a.init_unseal()
        mount_kv(a)
        put_secret(a, "x", {"v": "kept"})

        wait_log(logs[1], rb"standby: waiting for the active node .*"
                 rb"node1\.example", procs[1])
        time.sleep(0.3)
        with open(logs[1], "rb") as f:
            assert b"listening on" not in f.read()

        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait()
        m = wait_log(logs[1], rb"listening on 127\.0\.0\.1:(\d+)", procs[1])
        b = Server.__new__(Server)
        b.url = "http://127.0.0.1:%d" % int(m.group(1))
        b.keys = a.keys
        b.root_token = a.root_token
        r = b.api("GET", "sys/seal-status")
        assert r.json()["initialized"] is True
        b.unseal()
        assert get_secret(b, "x") == {"v": "kept"}
        with open(logs[1], "rb") as f:
            assert b"HA lock taken" in f.read()
        procs[1].send_signal(signal.SIGTERM)
        assert procs[1].wait(timeout=30) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.private
def test_waiting_ha_node_stops_on_sigterm(tmp_path):
    data = str(tmp_path / "data")
    procs = []
    try:
        for i in (1, 2):
            conf = tmp_path / ("n%d.hcl" % i)
            write_config(conf, "lmdb", data, '  ha_enabled = true\n')
            with open(conf, "a") as f:
                f.write('api_addr = "http://node%d.example:8200"\n' % i)
            log = str(tmp_path / ("n%d.log" % i))
            with open(log, "wb") as lf:
                procs.append(start_node(conf, lf))
            wait_log(log, rb"listening on" if i == 1 else
                     rb"standby: waiting", procs[-1])
        procs[1].send_signal(signal.SIGTERM)
        assert procs[1].wait(timeout=10) == 0
        procs[0].send_signal(signal.SIGTERM)
        assert procs[0].wait(timeout=30) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.private
def test_init_failure_after_keys_stored_is_undone(make_server):
    """sys/init that fails after its keys are stored (here: the token
    store cannot be written) leaves an uninitialized node, not one whose
    shares nobody ever received."""
    srv = make_server(storage="file")
    # A plain file where the "sys" folder must go: writes under sys/
    # (default policy, token salt, root token) fail; core/ still works.
    with open(os.path.join(srv.datadir, "sys"), "w") as f:
        f.write("in the way\n")
    r = srv.api("PUT", "sys/init", json={"secret_shares": 1,
                                         "secret_threshold": 1})
    assert r.status_code == 400, r.text
    assert "initialization failed" in r.json()["errors"][0]
    for path in ("sys/init", "sys/seal-status"):
        assert srv.api("GET", path).json()["initialized"] is False
    assert srv.api("GET", "sys/health").status_code == 501
    assert not os.path.exists(os.path.join(srv.datadir, "core"))

    os.unlink(os.path.join(srv.datadir, "sys"))
    srv.init_unseal()
    mount_kv(srv)
    put_secret(srv, "a", {"v": "1"})
    srv.restart()
    srv.unseal()
    assert get_secret(srv, "a") == {"v": "1"}


@pytest.mark.private
def test_sealed_node_reads_seal_config_from_storage(make_server):
    """While sealed, "initialized" and the share configuration come from
    storage, not from what the process remembered (an HA node shares
    its store with others).  The file backend lets the test change
    storage under the running process."""
    srv = make_server(storage="file")
    srv.init(shares=3, threshold=2)
    cfg = os.path.join(srv.datadir, "core", "_seal-config")
    with open(cfg, "rb") as f:
        saved = f.read()
    st = srv.api("GET", "sys/seal-status").json()
    assert (st["initialized"], st["n"], st["t"]) == (True, 3, 2)

    os.unlink(cfg)
    st = srv.api("GET", "sys/seal-status").json()
    assert (st["initialized"], st["n"], st["t"]) == (False, 0, 0)
    assert srv.api("GET", "sys/init").json()["initialized"] is False
    r = srv.api("PUT", "sys/unseal", json={"key": srv.keys[0]})
    assert r.status_code == 400
    assert r.json()["errors"] == ["Vault is not initialized"]

    with open(cfg, "wb") as f:
        f.write(saved)
    assert srv.api("GET", "sys/seal-status").json()["initialized"] is True
    r = srv.api("PUT", "sys/init", json={"secret_shares": 1,
                                         "secret_threshold": 1})
    assert r.status_code == 400
    assert r.json()["errors"] == ["Vault is already initialized"]
    body = srv.unseal(srv.keys[:2])
    assert body["sealed"] is False
