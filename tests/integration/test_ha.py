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
    # The fixture's environment: under ThreadSanitizer, its options and
    # tests/tsan.supp (a report stops the node).
    from conftest import Server
    return subprocess.Popen([COFFERD, "-config", str(conf), "-v"],
                            stdout=subprocess.DEVNULL, stderr=log,
                            env=Server.env(None))


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


def wait_for(cond, timeout, step=0.01):
    """True once cond() is, False if it is not within timeout s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return False


def free_port():
    import socket
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


class Cluster:
    """n HA nodes on one LMDB directory, each on a fixed port with its
    api_addr pointing at itself."""

    def __init__(self, tmp_path, n):
        self.tmp = tmp_path
        self.data = str(tmp_path / "data")
        self.nodes = []
        for i in range(n):
            port = free_port()
            self.add_node('storage "lmdb" {\n  path = "%s"\n'
                          '  ha_enabled = true\n}\n' % self.data,
                          "127.0.0.1:%d" % port,
                          "http://127.0.0.1:%d" % port)
            self.start(i)

    def add_node(self, storage, address, api_addr):
        """Node len(self.nodes), not yet started: n<i>.hcl in self.tmp
        with the storage block, a plain listener on address and
        api_addr, and a Server standing for it at api_addr."""
        from conftest import Server
        i = len(self.nodes)
        conf = self.tmp / ("n%d.hcl" % i)
        with open(conf, "w") as f:
            f.write(storage)
            f.write('listener "tcp" {\n  address = "%s"\n'
                    '  tls_disable = true\n}\n' % address)
            f.write('disable_mlock = true\n')
            f.write('api_addr = "%s"\n' % api_addr)
        srv = Server.__new__(Server)
        srv.url = api_addr
        srv.conf = conf
        srv.logpath = str(self.tmp / ("n%d.log" % i))
        srv.proc = None
        self.nodes.append(srv)
        return srv

    def start(self, i):
        srv = self.nodes[i]
        with open(srv.logpath, "ab") as log:
            n = log.tell()
            srv.proc = start_node(srv.conf, log)
        deadline = time.monotonic() + 20
        while True:
            with open(srv.logpath, "rb") as f:
                f.seek(n)
                if b"listening on" in f.read():
                    break
            assert srv.proc.poll() is None and \
                time.monotonic() < deadline, srv.read_log()
            time.sleep(0.02)

    def unseal_all(self, keys):
        for srv in self.nodes:
            if srv.proc is not None:
                srv.keys = keys
                srv.unseal()

    def health(self):
        out = []
        for srv in self.nodes:
            if srv.proc is None or srv.proc.poll() is not None:
                out.append(None)
                continue
            out.append(srv.api("GET", "sys/health").status_code)
        return out

    def wait_active(self, not_index=None, timeout=20):
        """The one node answering 200, once every other live one
        answers 429."""
        deadline = time.monotonic() + timeout
        codes = None
        while time.monotonic() < deadline:
            codes = self.health()
            live = [c for c in codes if c is not None]
            if live.count(200) == 1 and live.count(429) == len(live) - 1:
                i = codes.index(200)
                if i != not_index:
                    return i
            time.sleep(0.05)
        raise AssertionError("no single active node: %r" % (codes,))

    def kill(self, i, sig=signal.SIGKILL):
        p = self.nodes[i].proc
        p.send_signal(sig)
        rc = p.wait(timeout=30)
        self.nodes[i].proc = None
        return rc

    def close(self):
        for srv in self.nodes:
            if srv.proc is not None and srv.proc.poll() is None:
                srv.proc.kill()
                srv.proc.wait()


@pytest.fixture
def cluster(tmp_path):
    made = []

    def make(n):
        c = Cluster(tmp_path, n)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


def init_cluster(c, n_keys=3, threshold=2):
    """Initialize through node 0, unseal every node with the same
    shares, mount kv; return the active node's index."""
    a = c.nodes[0]
    a.init(n_keys, threshold)
    for srv in c.nodes:
        srv.keys = a.keys[:threshold]
        srv.root_token = a.root_token
        srv.unseal()
    i = c.wait_active()
    mount_kv(c.nodes[i])
    return i


def standby_leader(sb, act):
    """sb's sys/leader, which must say HA on, sb a standby, act the
    leader."""
    r = sb.api("GET", "sys/leader").json()
    assert r["ha_enabled"] is True and r["is_self"] is False
    assert r["leader_address"] == act.url
    return r


@pytest.mark.private
def test_ha_nodes_share_a_directory(cluster):
    """Two HA nodes on one LMDB directory both listen: the lock holder
    is active, the other standby (429, naming the active), and the
    standby takes over, with the data, when the active dies."""
    c = cluster(2)
    a = init_cluster(c)
    b = 1 - a
    put_secret(c.nodes[a], "x", {"v": "kept"})
    assert c.health()[b] == 429
    r = c.nodes[b].api("GET", "sys/health", params={"standbyok": "true"})
    assert r.status_code == 200 and r.json()["standby"] is True
    assert c.nodes[a].api("GET", "sys/health").json()["standby"] is False
    wait_log(c.nodes[b].logpath, rb"ha: standby, waiting", c.nodes[b].proc)

    c.kill(a)
    assert c.wait_active() == b
    assert get_secret(c.nodes[b], "x") == {"v": "kept"}
    with open(c.nodes[b].logpath, "rb") as f:
        assert b"ha: active node" in f.read()
    c.nodes[b].proc.send_signal(signal.SIGTERM)
    assert c.nodes[b].proc.wait(timeout=30) == 0
    c.nodes[b].proc = None


@pytest.mark.private
def test_sealed_ha_node_stops_on_sigterm(cluster):
    c = cluster(2)
    for i in (1, 0):
        assert c.kill(i, signal.SIGTERM) == 0


@pytest.mark.private
def test_ha_leader_and_forwarding(cluster):
    """sys/leader on a standby names the active; a standby forwards
    reads, writes, LIST and errors and relays the answer unchanged; a
    client that refuses forwarding gets a 307 to the active."""
    c = cluster(2)
    a = init_cluster(c)
    act, sb = c.nodes[a], c.nodes[1 - a]
    r = act.api("GET", "sys/leader").json()
    assert r["ha_enabled"] is True and r["is_self"] is True
    assert r["leader_address"] == act.url
    assert r["active_time"] != "0001-01-01T00:00:00Z"
    r = standby_leader(sb, act)
    assert r["active_time"] == "0001-01-01T00:00:00Z"

    # A write through the standby is readable on the active.
    put_secret(sb, "w", {"via": "standby"})
    assert get_secret(act, "w") == {"via": "standby"}
    assert get_secret(sb, "w") == {"via": "standby"}
    # LIST and an error come back as the active answers them.
    for method, path, kw in (
            ("LIST", "secret/metadata/", {}),
            ("GET", "secret/data/missing", {}),
            ("GET", "secret/data/w", {"token": "hvs.bogus"}),
            ("PUT", "sys/policy/p", {"json": {"policy": "path {"}})):
        kw.setdefault("token", act.root_token)
        ra = act.api(method, path, **kw)
        rs = sb.api(method, path, **kw)
        assert rs.status_code == ra.status_code, (path, rs.text)
        body_a, body_s = ra.json(), rs.json()
        for body in (body_a, body_s):
            body.pop("request_id", None)
        assert body_s == body_a
        assert rs.headers["Content-Type"] == "application/json"
    assert "w" in sb.api("LIST", "secret/metadata/",
                         token=act.root_token).json()["data"]["keys"]
    # Token checks happen on the active.
    r = sb.api("GET", "secret/data/w")
    assert r.status_code == 403

    r = sb.api("GET", "secret/data/w?version=1", token=act.root_token,
               headers={"X-Vault-No-Request-Forwarding": "true"},
               allow_redirects=False)
    assert r.status_code == 307
    assert r.headers["Location"] == act.url + "/v1/secret/data/w?version=1"


@pytest.mark.private
def test_ha_step_down_moves_the_active_role(cluster):
    c = cluster(2)
    a = init_cluster(c)
    act, sb = c.nodes[a], c.nodes[1 - a]
    put_secret(act, "s", {"v": "1"})
    # Step-down needs a token with sudo.
    assert act.api("PUT", "sys/step-down").status_code == 403
    r = act.api("PUT", "sys/step-down", token=act.root_token)
    assert r.status_code == 204, r.text
    b = c.wait_active(not_index=a)
    assert b == 1 - a
    assert get_secret(c.nodes[b], "s") == {"v": "1"}
    assert act.api("GET", "sys/leader").json()["leader_address"] == sb.url
    # The old active stays standby (it does not compete for 10 s) and
    # forwards: step-down sent to it steps the new active down.
    time.sleep(1)
    assert c.health()[a] == 429
    put_secret(act, "t", {"v": "2"})
    assert get_secret(sb, "t") == {"v": "2"}


@pytest.mark.private
def test_ha_step_down_is_audited(cluster, tmp_path):
    """sys/step-down logs a request entry once its token is known, as
    Vault does; with no device able to log it, the node stays active
    and the answer is Vault's 500."""
    import json
    c = cluster(2)
    a = init_cluster(c)
    act = c.nodes[a]
    log = str(tmp_path / "audit.log")
    r = act.api("PUT", "sys/audit/file", token=act.root_token,
                json={"type": "file", "options": {"file_path": log}})
    assert r.status_code == 204, r.text
    r = act.api("PUT", "sys/step-down", token=act.root_token)
    assert r.status_code == 204, r.text
    with open(log) as f:
        ents = [json.loads(line) for line in f if line.strip()]
    down = [e for e in ents if e["request"]["path"] == "sys/step-down"]
    assert [e["type"] for e in down] == ["request"]
    assert down[0]["request"]["operation"] == "update"
    assert down[0]["auth"]["policies"] == ["root"]
    assert down[0]["auth"]["client_token"].startswith("hmac-sha256:")
    b = c.wait_active(not_index=a)
    act = c.nodes[b]
    r = act.api("PUT", "sys/audit/full", token=act.root_token,
                json={"type": "file", "options": {
                    "file_path": "/dev/full", "skip_test": "true"}})
    assert r.status_code == 204, r.text
    r = act.api("DELETE", "sys/audit/file", token=act.root_token)
    assert r.status_code == 500      # its response entry: no device
    r = act.api("PUT", "sys/step-down", token=act.root_token)
    assert r.status_code == 500 and r.json() == {
        "errors": ["failed to audit request, cannot continue"]}
    time.sleep(0.5)
    assert c.health()[b] == 200


@pytest.mark.private
def test_ha_step_down_through_standby(cluster):
    c = cluster(3)
    a = init_cluster(c)
    other = [i for i in range(3) if i != a][0]
    r = c.nodes[other].api("PUT", "sys/step-down",
                           token=c.nodes[a].root_token)
    assert r.status_code == 204, r.text
    b = c.wait_active(not_index=a)
    assert b != a


@pytest.mark.private
def test_ha_kill_and_seal_hand_over(cluster):
    """Three nodes: kill -9 of the active, then sealing the new active,
    each hands the role to another node with the data intact; sealing
    a standby is refused with Vault's 500."""
    c = cluster(3)
    a = init_cluster(c)
    put_secret(c.nodes[a], "k", {"v": "1"})
    c.kill(a)
    b = c.wait_active()
    assert b != a
    assert get_secret(c.nodes[b], "k") == {"v": "1"}
    put_secret(c.nodes[b], "k2", {"v": "2"})

    sb = [i for i in range(3) if i not in (a, b)][0]
    r = c.nodes[sb].api("PUT", "sys/seal", token=c.nodes[b].root_token)
    assert r.status_code == 500
    assert r.json()["errors"] == [
        "vault cannot seal when in standby mode; please restart instead"]
    assert c.health()[sb] == 429

    r = c.nodes[b].api("PUT", "sys/seal", token=c.nodes[b].root_token)
    assert r.status_code == 204
    deadline = time.monotonic() + 20
    while c.health()[sb] != 200:
        assert time.monotonic() < deadline, c.health()
        time.sleep(0.05)
    assert c.health()[b] == 503
    assert get_secret(c.nodes[sb], "k") == {"v": "1"}
    assert get_secret(c.nodes[sb], "k2") == {"v": "2"}
    # The sealed node unseals again as a standby that forwards.
    c.nodes[b].unseal()
    assert c.health()[b] == 429
    assert get_secret(c.nodes[b], "k2") == {"v": "2"}


@pytest.mark.private
def test_ha_no_active_node(cluster):
    """The active's SIGTERM steps down so that a standby takes over;
    a standby with nobody active answers Vault's 500 text (here: the
    node that stepped down, in its 10 s pause, after the new active
    died)."""
    c = cluster(2)
    a = init_cluster(c)
    b = 1 - a
    assert c.kill(a, signal.SIGTERM) == 0
    assert c.wait_active() == b
    c.start(a)
    c.nodes[a].keys = c.nodes[b].keys
    c.nodes[a].unseal()
    assert c.health()[a] == 429
    tok = c.nodes[b].root_token
    assert c.nodes[b].api("PUT", "sys/step-down",
                          token=tok).status_code == 204
    assert c.wait_active(not_index=b) == a
    time.sleep(1)                       # b's pause ends well before a's
    assert c.nodes[a].api("PUT", "sys/step-down",
                          token=tok).status_code == 204
    paused_at = time.monotonic()
    assert c.wait_active(not_index=a) == b
    c.kill(b)
    # Only while a is still in its pause (slow builds may outlast it).
    if time.monotonic() - paused_at < 7:
        r = c.nodes[a].api("GET", "secret/data/x", token=tok)
        assert r.status_code == 500
        assert r.json()["errors"] == [
            "local node not active but active cluster node not found"]
        assert c.nodes[a].api("GET", "sys/leader").json()[
            "leader_address"] == ""
        assert c.health()[a] == 429
    # After its pause it takes over by itself.
    assert c.wait_active() == a


@pytest.mark.private
def test_ha_rotate_and_rekey_across_takeovers(cluster):
    """Keyring rotation and a rekey on one node, then a takeover by a
    node that unsealed before them: it opens the store and reads what
    was written under every term."""
    c = cluster(2)
    a = init_cluster(c)
    b = 1 - a
    act = c.nodes[a]
    tok = act.root_token
    put_secret(act, "t1", {"v": "1"})
    assert act.api("PUT", "sys/rotate", token=tok).status_code == 204
    put_secret(act, "t2", {"v": "2"})
    r = act.api("PUT", "sys/rekey/init",
                json={"secret_shares": 1, "secret_threshold": 1})
    assert r.status_code == 200, r.text
    nonce = r.json()["nonce"]
    for k in act.keys:
        r = act.api("PUT", "sys/rekey/update", json={"key": k,
                                                      "nonce": nonce})
        assert r.status_code == 200, r.text
    assert r.json()["complete"] is True
    new_keys = r.json()["keys"]
    assert act.api("PUT", "sys/rotate", token=tok).status_code == 204
    put_secret(act, "t3", {"v": "3"})

    assert act.api("PUT", "sys/step-down", token=tok).status_code == 204
    assert c.wait_active(not_index=a) == b
    nb = c.nodes[b]
    for k, v in (("t1", "1"), ("t2", "2"), ("t3", "3")):
        assert get_secret(nb, k) == {"v": v}
    assert nb.api("PUT", "sys/rotate", token=tok).status_code == 204
    put_secret(nb, "t4", {"v": "4"})
    r = nb.api("GET", "sys/key-status", token=tok)
    assert r.json()["data"]["term"] == 4
    # The new shares unseal a restarted node.
    c.kill(a)
    c.start(a)
    c.nodes[a].keys = new_keys
    assert c.nodes[a].unseal()["sealed"] is False
    assert get_secret(c.nodes[a], "t4") == {"v": "4"}


@pytest.mark.private
def test_non_ha_step_down_and_leader(make_server):
    srv = make_server()
    srv.init_unseal()
    r = srv.api("PUT", "sys/step-down")
    assert r.status_code == 204
    assert srv.api("GET", "sys/health").status_code == 200
    r = srv.api("GET", "sys/leader").json()
    assert r["ha_enabled"] is False and r["leader_address"] == ""


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


@pytest.mark.private
def test_ha_health_answers_during_step_down_drain(cluster):
    """sys/health does not wait behind the core lock: probes sent to
    both nodes all through a step-down under write load (the old active
    drains its requests under the core write lock) each answer within
    1 s, a generous bound on the 50 ms the design asks for."""
    import threading
    import requests as rq
    c = cluster(2)
    a = init_cluster(c)
    act = c.nodes[a]
    tok = act.root_token
    stop = threading.Event()
    waits, errors = [], []

    def probe(srv):
        s = rq.Session()
        while not stop.is_set():
            t = time.monotonic()
            try:
                code = s.get(srv.url + "/v1/sys/health",
                             timeout=5).status_code
            except rq.RequestException as e:
                errors.append(repr(e))
                continue
            waits.append((time.monotonic() - t, code))
            time.sleep(0.002)

    def load(srv, n):
        s = rq.Session()
        i = 0
        while not stop.is_set():
            i += 1
            try:
                s.post(srv.url + "/v1/secret/data/drain%d-%d" % (n, i),
                       headers={"X-Vault-Token": tok},
                       json={"data": {"v": "x" * 4096}}, timeout=30)
            except rq.RequestException:
                time.sleep(0.01)

    threads = [threading.Thread(target=probe, args=(srv,))
               for srv in c.nodes for _ in range(2)]
    threads += [threading.Thread(target=load, args=(c.nodes[k % 2], k))
                for k in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        assert act.api("PUT", "sys/step-down",
                       token=tok).status_code == 204
        b = c.wait_active(not_index=a)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert b == 1 - a
    assert not errors, errors[:3]
    assert len(waits) > 50
    codes = {code for _, code in waits}
    assert codes <= {200, 429}, codes
    worst = max(w for w, _ in waits)
    print("sys/health: %d probes during the step-down, max %.1f ms" % (
        len(waits), worst * 1000))
    assert worst < 1.0, worst


@pytest.mark.private
def test_ha_forwarded_patch_unchanged(cluster):
    """A PATCH (JSON merge patch) through a standby reaches the active
    with its method, content type and body, and its answer, success or
    error, comes back as the active gives it."""
    c = cluster(2)
    a = init_cluster(c)
    act, sb = c.nodes[a], c.nodes[1 - a]
    tok = act.root_token
    put_secret(act, "p", {"a": "1", "b": "2"})
    mp = {"Content-Type": "application/merge-patch+json"}
    r = sb.api("PATCH", "secret/data/p", token=tok, headers=dict(mp),
               json={"data": {"b": "3", "c": "4"}})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["version"] == 2
    assert get_secret(act, "p") == {"a": "1", "b": "3", "c": "4"}
    ra = act.api("PATCH", "secret/data/p", token=tok, headers=dict(mp),
                 json={"data": {"a": None}})
    assert ra.status_code == 200
    assert ra.json()["data"]["version"] == 3
    assert set(ra.json()) == set(r.json())
    assert set(ra.json()["data"]) == set(r.json()["data"])
    assert get_secret(sb, "p") == {"b": "3", "c": "4"}
    # Errors: a missing secret, a wrong content type, no token.
    for path, headers, token in (
            ("secret/data/nothing", mp, tok),
            ("secret/data/p", {"Content-Type": "application/json"}, tok),
            ("secret/data/p", mp, None)):
        kw = dict(token=token, headers=dict(headers),
                  data='{"data": {"z": "1"}}')
        ra = act.api("PATCH", path, **kw)
        rs = sb.api("PATCH", path, **kw)
        assert ra.status_code >= 400, ra.text
        assert rs.status_code == ra.status_code, (path, rs.text)
        ba, bs = ra.json(), rs.json()
        for body in (ba, bs):
            body.pop("request_id", None)
        assert bs == ba
        assert rs.headers["Content-Type"] == ra.headers["Content-Type"]
    assert get_secret(act, "p") == {"b": "3", "c": "4"}


def transit_encrypt(srv, tok, pt):
    import base64
    r = srv.api("POST", "transit/encrypt/k", token=tok,
                json={"plaintext": base64.b64encode(pt).decode()})
    assert r.status_code == 200, r.text
    return r.json()["data"]["ciphertext"]


def transit_decrypt(srv, tok, ct):
    import base64
    r = srv.api("POST", "transit/decrypt/k", token=tok,
                json={"ciphertext": ct})
    assert r.status_code == 200, (ct, r.text)
    return base64.b64decode(r.json()["data"]["plaintext"])


@pytest.mark.private
def test_ha_transit_policy_mount_across_takeovers(cluster):
    """Issue 9 section 1 across takeovers, each node keeping its process
    (and whatever it cached while active): transit rotate on A, step
    down, rotate on B, step down, rotate on A; every ciphertext still
    decrypts and no key version is reused.  A policy narrowed and a
    mount added on B are in force on A after it takes over again."""
    c = cluster(2)
    a = init_cluster(c)
    b = 1 - a
    A, B = c.nodes[a], c.nodes[b]
    tok = A.root_token
    assert A.api("POST", "sys/mounts/transit", token=tok,
                 json={"type": "transit"}).status_code == 204
    assert A.api("POST", "transit/keys/k", token=tok).status_code in (
        200, 204)
    r = A.api("PUT", "sys/policy/reader", token=tok, json={
        "policy": 'path "secret/data/x" { capabilities = ["read"] }'})
    assert r.status_code == 204, r.text
    put_secret(A, "x", {"v": "1"})
    r = A.api("POST", "auth/token/create", token=tok,
              json={"policies": ["reader"]})
    assert r.status_code == 200, r.text
    utok = r.json()["auth"]["client_token"]
    # A caches the key, the policy and the ACL while active.
    assert A.api("GET", "secret/data/x", token=utok).status_code == 200

    cts = {}
    cts["a1"] = transit_encrypt(A, tok, b"a1")
    assert A.api("POST", "transit/keys/k/rotate",
                 token=tok).status_code in (200, 204)
    cts["a2"] = transit_encrypt(A, tok, b"a2")

    assert A.api("PUT", "sys/step-down", token=tok).status_code == 204
    assert c.wait_active(not_index=a) == b
    assert B.api("POST", "transit/keys/k/rotate",
                 token=tok).status_code in (200, 204)
    cts["b3"] = transit_encrypt(B, tok, b"b3")
    r = B.api("PUT", "sys/policy/reader", token=tok, json={
        "policy": 'path "secret/data/y" { capabilities = ["read"] }'})
    assert r.status_code == 204, r.text
    r = B.api("POST", "sys/mounts/more", token=tok,
              json={"type": "kv", "options": {"version": "2"}})
    assert r.status_code == 204, r.text
    r = B.api("POST", "more/data/m", token=tok, json={"data": {"v": "m"}})
    assert r.status_code == 200, r.text
    assert B.api("GET", "secret/data/x", token=utok).status_code == 403

    # A's pause must end well before B's, or a loaded machine may wake
    # B's HA thread first.
    time.sleep(1)
    assert B.api("PUT", "sys/step-down", token=tok).status_code == 204
    # A sits out its own 10 s pause, then takes over.
    assert c.wait_active(not_index=b, timeout=30) == a
    assert A.api("POST", "transit/keys/k/rotate",
                 token=tok).status_code in (200, 204)
    cts["a4"] = transit_encrypt(A, tok, b"a4")

    versions = {name: ct.split(":")[1] for name, ct in cts.items()}
    assert versions == {"a1": "v1", "a2": "v2", "b3": "v3", "a4": "v4"}
    for srv in (A, B):
        for name, ct in cts.items():
            assert transit_decrypt(srv, tok, ct) == name.encode()
    r = A.api("GET", "transit/keys/k", token=tok)
    assert r.json()["data"]["latest_version"] == 4

    assert A.api("GET", "secret/data/x", token=utok).status_code == 403
    r = A.api("GET", "sys/policy/reader", token=tok)
    assert "secret/data/y" in r.json()["rules"]
    assert "more/" in A.api("GET", "sys/mounts", token=tok).json()["data"]
    r = A.api("GET", "more/data/m", token=tok)
    assert r.status_code == 200 and r.json()["data"]["data"] == {"v": "m"}

def ha_nodes(srv, token, want, timeout=25):
    """Poll sys/ha-status on srv until it lists `want` nodes."""
    deadline = time.monotonic() + timeout
    while True:
        r = srv.api("GET", "sys/ha-status", token=token)
        assert r.status_code == 200, r.text
        body = r.json()
        if len(body["nodes"]) == want or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert body["nodes"] == body["data"]["nodes"]
    return body["nodes"]


@pytest.mark.private
@pytest.mark.parametrize("n", [2, 3])
def test_ha_status_lists_every_node(cluster, n):
    """Standbys echo to the active, which lists every node in
    sys/ha-status (sorted by api_address, itself without last_echo);
    a standby forwards the request; a standby that dies is dropped
    after three missed echoes."""
    import socket
    c = cluster(n)
    a = init_cluster(c)
    tok = c.nodes[a].root_token
    nodes = ha_nodes(c.nodes[a], tok, n)
    assert len(nodes) == n, nodes
    assert sorted(x["api_address"] for x in nodes) == \
        sorted(s.url for s in c.nodes)
    assert [x["api_address"] for x in nodes] == \
        sorted(x["api_address"] for x in nodes)
    for x in nodes:
        assert x["hostname"] == socket.gethostname()
        assert x["cluster_address"] == ""
        assert x["version"] == "1.14.8"
        if x["api_address"] == c.nodes[a].url:
            assert x["active_node"] is True and x["last_echo"] is None
        else:
            assert x["active_node"] is False
            assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d",
                            x["last_echo"]), x
    b = (a + 1) % n
    via_b = ha_nodes(c.nodes[b], tok, n)
    assert [dict(x, last_echo=None) for x in via_b] == \
        [dict(x, last_echo=None) for x in nodes]
    assert c.nodes[a].api("GET", "sys/ha-status").status_code == 403
    if n == 3:
        c.kill(b)
        left = ha_nodes(c.nodes[a], tok, 2)
        assert sorted(x["api_address"] for x in left) == sorted(
            s.url for i, s in enumerate(c.nodes) if i != b)
    # A new active node starts its list afresh and hears the others.
    assert c.nodes[a].api("PUT", "sys/step-down",
                          token=tok).status_code == 204
    a2 = c.wait_active(not_index=a)
    nodes = ha_nodes(c.nodes[a2], tok, 2 if n == 3 else n)
    assert [x["api_address"] for x in nodes if x["active_node"]] == [
        c.nodes[a2].url]
    assert c.nodes[a].url in [x["api_address"] for x in nodes]


@pytest.mark.private
def test_ha_echo_needs_the_keyring(cluster):
    """An echo without a MAC under the keyring's echo key is refused,
    and the node it names never shows in sys/ha-status."""
    c = cluster(2)
    a = init_cluster(c)
    act = c.nodes[a]
    msg = ('{"node_id":"00000000-0000-4000-8000-000000000000",'
           '"hostname":"forged","api_address":"http://127.0.0.1:9",'
           '"cluster_address":"","version":"1.14.8","time":%d}'
           % int(time.time() * 1000))
    for mac in ("00" * 32, "zz", ""):
        r = act.api("POST", "sys/ha-echo", json={"echo": msg, "mac": mac})
        assert r.status_code == 403, r.text
        assert r.json()["errors"] == ["permission denied"]
    r = act.api("POST", "sys/ha-echo", json={"echo": msg})
    assert r.status_code == 400
    # A standby does not forward echoes.
    r = c.nodes[1 - a].api("POST", "sys/ha-echo",
                           json={"echo": msg, "mac": "00" * 32})
    assert r.status_code == 503, r.text
    nodes = ha_nodes(act, act.root_token, 2)
    assert "forged" not in [x["hostname"] for x in nodes]
    assert "http://127.0.0.1:9" not in [x["api_address"] for x in nodes]


@pytest.mark.private
def test_non_ha_ha_status(make_server):
    srv = make_server()
    srv.init_unseal()
    r = srv.api("GET", "sys/ha-status", token=srv.root_token)
    assert r.status_code == 200, r.text
    nodes = r.json()["nodes"]
    assert len(nodes) == 1 and nodes[0]["active_node"] is True
    assert nodes[0]["last_echo"] is None
    assert r.json()["data"]["nodes"] == nodes


@pytest.mark.private
def test_ha_forwarded_patch(cluster):
    """A merge-patch through a standby keeps its method, body and
    Content-Type: the active merges it; a PATCH the active refuses is
    refused the same way through the standby."""
    c = cluster(2)
    a = init_cluster(c)
    act, sb = c.nodes[a], c.nodes[1 - a]
    tok = act.root_token
    put_secret(act, "p", {"keep": "1", "change": "old", "drop": "x"})
    r = sb.api("PATCH", "secret/data/p", token=tok,
               headers={"Content-Type": "application/merge-patch+json"},
               data='{"data":{"change":"new","drop":null,"add":"2"}}')
    assert r.status_code == 200, r.text
    assert r.json()["data"]["version"] == 2
    assert get_secret(act, "p") == {"keep": "1", "change": "new",
                                    "add": "2"}
    bad = dict(token=tok, headers={"Content-Type": "application/json"},
               data='{"data":{"change":"json"}}')
    ra = act.api("PATCH", "secret/data/p", **bad)
    rs = sb.api("PATCH", "secret/data/p", **bad)
    assert ra.status_code >= 400
    assert (rs.status_code, rs.text) == (ra.status_code, ra.text)
    assert get_secret(act, "p")["change"] == "new"


@pytest.mark.private
def test_ha_writes_during_step_down_never_404(cluster):
    """Writes run through every node while the active steps down twice:
    a request caught by the drain is forwarded to the new active, never
    answered 404 because the old one's mounts are gone."""
    import threading
    import requests
    c = cluster(3)
    a = init_cluster(c)
    token = {"X-Vault-Token": c.nodes[a].root_token}
    stop = threading.Event()
    codes = {}
    lock = threading.Lock()

    def writer(node, w):
        s = requests.Session()
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = s.post("%s/v1/secret/data/w%d-%d" % (node.url, w, i),
                           headers=token, json={"data": {"i": i}},
                           timeout=30)
                code, text = r.status_code, r.text
            except requests.ConnectionError:
                continue
            with lock:
                codes.setdefault(code, text)

    threads = [threading.Thread(target=writer, args=(c.nodes[n], w))
               for w, n in enumerate((0, 1, 2, 0, 1, 2))]
    for t in threads:
        t.start()
    try:
        act = a
        for _ in range(2):
            time.sleep(0.5)
            r = c.nodes[act].api("PUT", "sys/step-down",
                                 token=c.nodes[a].root_token)
            assert r.status_code == 204, r.text
            act = c.wait_active(not_index=act)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert 200 in codes, codes
    assert 404 not in codes, codes[404]


class FakeActive:
    """An HTTP server standing in for the active node: it records what a
    standby forwards and answers with a mark of its own, or holds the
    request until released (a paused active)."""

    def __init__(self):
        import http.server
        import threading
        fake = self
        self.seen = []
        self.hold = threading.Event()
        self.release = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                if self.path.startswith("/v1/sys/ha-echo"):
                    self.send_response(204)
                    self.end_headers()
                    return
                fake.seen.append((self.command, self.path,
                                  self.headers.items(), body))
                if fake.hold.is_set():
                    fake.release.wait(60)
                out = b'{"from":"fake"}'
                self.send_response(299)
                self.send_header("X-Fake-Back", "yes")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
            do_GET = do_PUT = do_POST = do_DELETE = do_LIST = answer

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.srv.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.srv.shutdown()


@pytest.mark.private
def test_ha_forwarding_keeps_every_header(cluster):
    """A standby forwards the client's headers unchanged (less this
    hop's own), adds itself to X-Forwarded-For and the loop guard, and
    relays the answer's status, headers and body; stopping a standby
    with a forward in flight to a paused active does not wait for it."""
    c = cluster(2)
    a = init_cluster(c)
    b = 1 - a
    fake = FakeActive()
    try:
        # b comes back with the fake's address as its api_addr, then
        # becomes active: standbys forward to the fake.
        assert c.kill(b, signal.SIGTERM) == 0
        conf = open(c.nodes[b].conf).read()
        conf = re.sub(r'api_addr = "[^"]*"', 'api_addr = "%s"' % fake.url,
                      conf)
        open(c.nodes[b].conf, "w").write(conf)
        c.start(b)
        c.nodes[b].unseal()
        r = c.nodes[a].api("PUT", "sys/step-down",
                           token=c.nodes[a].root_token)
        assert r.status_code == 204, r.text
        assert c.wait_active(not_index=a) == b
        leader = c.nodes[a].api("GET", "sys/leader").json()
        assert leader["leader_address"] == fake.url

        r = c.nodes[a].api("POST", "secret/data/h?x=1",
                           token=c.nodes[a].root_token,
                           headers={"X-Vault-Wrap-TTL": "5m",
                                    "X-Vault-Request": "true",
                                    "X-Custom": "kept as sent",
                                    "X-Forwarded-For": "10.0.0.9",
                                    "X-Empty": ""},
                           json={"data": {"v": 1}})
        assert r.status_code == 299, r.text
        assert r.headers["X-Fake-Back"] == "yes"
        assert r.json() == {"from": "fake"}
        method, path, headers, body = fake.seen[-1]
        assert (method, path) == ("POST", "/v1/secret/data/h?x=1")
        assert body == b'{"data": {"v": 1}}'
        got = {}
        for k, v in headers:
            got.setdefault(k.lower(), []).append(v)
        assert got["x-vault-wrap-ttl"] == ["5m"]
        assert got["x-vault-request"] == ["true"]
        assert got["x-custom"] == ["kept as sent"]
        assert got["x-empty"] == [""]
        assert got["x-vault-token"] == [c.nodes[a].root_token]
        assert got["x-forwarded-for"] == ["10.0.0.9, 127.0.0.1"]
        assert got["x-coffer-forwarded"] == ["1"]
        # The client's address, signed: "<ms> <mac> <address>".
        ms, mac, addr = got["x-coffer-client"][0].split(" ")
        assert abs(int(ms) - time.time() * 1000) < 60000
        assert len(mac) == 64 and addr == "127.0.0.1"
        assert got["content-type"] == ["application/json"]
        assert got["content-length"] == [str(len(body))]
        assert got["host"] == [fake.url[len("http://"):]]
        assert "expect" not in got

        # A paused active: the forward hangs; SIGTERM still stops the
        # standby promptly rather than after the 90 s forward timeout.
        import threading
        fake.hold.set()
        n = len(fake.seen)
        import requests

        def hanging_read():
            # The standby closes it when it stops: that is the point.
            try:
                c.nodes[a].api("GET", "secret/data/h",
                               token=c.nodes[a].root_token)
            except requests.ConnectionError:
                pass
        t = threading.Thread(target=hanging_read)
        t.daemon = True
        t.start()
        deadline = time.monotonic() + 10
        while len(fake.seen) == n:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        p = c.nodes[a].proc
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=15) == 0
        c.nodes[a].proc = None
    finally:
        fake.close()


def get_from(srv, path, token, source, headers=None):
    """GET /v1/path on srv from the local address source; (status, body)."""
    import http.client
    import json
    host, port = srv.url[len("http://"):].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30,
                                      source_address=(source, 0))
    try:
        h = {"X-Vault-Token": token}
        h.update(headers or {})
        conn.request("GET", "/v1/" + path, headers=h)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"{}")
    finally:
        conn.close()


@pytest.mark.private
def test_ha_cidr_bound_token_through_standby(cluster):
    """A standby forwards the client's address with a MAC under the
    echo key: a token bound to the client's address works through a
    standby (whose own address is another), and a client cannot claim
    an address by sending that header itself."""
    c = cluster(2)
    a = init_cluster(c)
    b = 1 - a
    r = c.nodes[a].api("POST", "auth/token/roles/b",
                       token=c.nodes[a].root_token,
                       json={"token_bound_cidrs": ["127.0.0.2/32"]})
    assert r.status_code in (200, 204), r.text
    r = c.nodes[a].api("POST", "auth/token/create/b",
                       token=c.nodes[a].root_token, json={})
    assert r.status_code == 200, r.text
    tok = r.json()["auth"]["client_token"]

    # Direct to the active node: the binding holds both ways.
    assert get_from(c.nodes[a], "auth/token/lookup-self", tok,
                    "127.0.0.2")[0] == 200
    assert get_from(c.nodes[a], "auth/token/lookup-self", tok,
                    "127.0.0.1")[0] == 403
    # Through the standby (which reaches the active from 127.0.0.1).
    status, body = get_from(c.nodes[b], "auth/token/lookup-self", tok,
                            "127.0.0.2")
    assert status == 200, body
    assert body["data"]["bound_cidrs"] == ["127.0.0.2"]
    assert get_from(c.nodes[b], "auth/token/lookup-self", tok,
                    "127.0.0.1")[0] == 403
    # A forged header, straight to the active node, changes nothing.
    forged = {"X-Coffer-Forwarded": "1",
              "X-Coffer-Client": "%d %s 127.0.0.2" %
              (int(time.time() * 1000), "0" * 64)}
    assert get_from(c.nodes[a], "auth/token/lookup-self", tok,
                    "127.0.0.1", forged)[0] == 403
    # Nor does one sent to the standby: it is replaced, not relayed.
    del forged["X-Coffer-Forwarded"]
    assert get_from(c.nodes[b], "auth/token/lookup-self", tok,
                    "127.0.0.1", forged)[0] == 403
