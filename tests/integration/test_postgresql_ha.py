"""HA nodes on one PostgreSQL database: the advisory lock, the fence.

Two and three cofferd nodes share a table through the postgresql
backend with ha_enabled (ha_session_timeout 2 s, the default): one is
active, the others standby and forward; kill -9 of the
active with a write loop running loses no acknowledged write; a paused
(SIGSTOP) active loses the lock within the session timeout plus 1 s and,
once resumed, lands no write; a restart of PostgreSQL under load fails
requests cleanly, then the cluster serves again by itself.  The module
starts its own PostgreSQL (the pg fixture of test_postgresql.py);
without PostgreSQL installed the tests skip, saying why.
"""
import signal
import subprocess
import threading
import time
import uuid

import pytest
import requests

from test_ha import (Cluster, free_port, get_secret, init_cluster,
                     put_secret, standby_leader, wait_for, wait_log)
from test_postgresql import PGTEST, pg, psql  # noqa: F401 (fixture)

pytestmark = pytest.mark.private

TIMEOUT_S = 2.0		# ha_session_timeout of these clusters (the default)


class PgCluster(Cluster):
    """n HA nodes on one PostgreSQL table, each on a fixed port with its
    api_addr pointing at itself."""

    def __init__(self, tmp_path, pg, n, timeout_ms=None):  # noqa: F811
        self.tmp = tmp_path
        self.pg = pg
        self.table = "t_" + uuid.uuid4().hex[:12]
        self.nodes = []
        for i in range(n):
            port = free_port()
            self.add_node('storage "postgresql" {\n'
                          '  connection_url = "%s"\n  table = "%s"\n'
                          '  max_parallel = "16"\n  ha_enabled = "true"\n'
                          '  ha_session_timeout = "%dms"\n}\n' % (
                              pg["url"], self.table,
                              timeout_ms or int(TIMEOUT_S * 1000)),
                          "127.0.0.1:%d" % port,
                          "http://127.0.0.1:%d" % port)
            self.start(i)


@pytest.fixture
def pgcluster(tmp_path, pg):  # noqa: F811
    made = []

    def make(n, **kw):
        c = PgCluster(tmp_path, pg, n, **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        for srv in c.nodes:
            if srv.proc is not None and srv.proc.poll() is not None:
                continue
            if srv.proc is not None:
                srv.proc.send_signal(signal.SIGCONT)
        c.close()


class Writer:
    """Threads writing secret/data/<tag>-<n> through the given nodes;
    every write answered 200 is recorded as acknowledged."""

    def __init__(self, nodes, token, tag, threads=4):
        self.nodes, self.token, self.tag = nodes, token, tag
        self.acked, self.failed = {}, 0
        self.mu = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(k,))
                        for k in range(threads)]

    def run(self, k):
        s = requests.Session()
        i = 0
        while not self.stop.is_set():
            i += 1
            srv = self.nodes[(k + i) % len(self.nodes)]
            if srv.proc is None:
                continue
            key = "%s-%d-%d" % (self.tag, k, i)
            try:
                r = s.post(srv.url + "/v1/secret/data/" + key,
                           headers={"X-Vault-Token": self.token},
                           json={"data": {"v": key}}, timeout=10)
                ok = r.status_code == 200
            except requests.RequestException:
                ok = False
            with self.mu:
                if ok:
                    self.acked[key] = True
                else:
                    self.failed += 1
            if not ok:
                time.sleep(0.02)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def health(srv):
    try:
        return requests.get(srv.url + "/v1/sys/health", timeout=2).status_code
    except requests.RequestException:
        return None


def test_two_nodes_leader_standby_write_and_kill9(pgcluster, pg):  # noqa
    """One active, one standby naming it (sys/leader from the holder row
    in ha_table); a write through the standby lands; kill -9 of the
    active with writes running through both: the standby serves as
    active within a second or two and every acknowledged write is
    there."""
    c = pgcluster(2)
    a = init_cluster(c)
    act, sb = c.nodes[a], c.nodes[1 - a]
    standby_leader(sb, act)
    row = psql(pg, "SELECT ha_value FROM vault_ha_locks WHERE ha_key = "
               "'coffer/%s'" % c.table)
    assert act.url in row
    put_secret(sb, "via-standby", {"v": "1"})
    assert get_secret(act, "via-standby") == {"v": "1"}

    with Writer(c.nodes, act.root_token, "k9") as w:
        time.sleep(0.5)
        t0 = time.monotonic()
        c.kill(a)
        assert wait_for(lambda: health(sb) == 200, 10)
        failover = time.monotonic() - t0
        time.sleep(0.5)
    print("kill -9 to active: %.0f ms" % (failover * 1000))
    assert failover < 1.0 + TIMEOUT_S, failover
    assert len(w.acked) > 20
    for key in w.acked:
        assert get_secret(sb, key) == {"v": key}
    r = sb.api("GET", "sys/leader").json()
    assert r["is_self"] is True


def test_three_nodes_sigstop_fenced(pgcluster, pg):  # noqa: F811
    """SIGSTOP of the active: another node is active within the session
    timeout plus 1 s; a write sent to the paused node meanwhile is not
    acknowledged by it once it resumes (refused, or redirected to the new
    active), and lands nothing (the new active's value stays); no
    acknowledged write of the loop is lost."""
    c = pgcluster(3)
    a = init_cluster(c)
    act = c.nodes[a]
    tok = act.root_token
    put_secret(act, "fenced", {"v": "before"})
    late = {}

    def late_write():
        # Not forwarded: a 200 would be the paused node's own write.
        try:
            r = requests.post(act.url + "/v1/secret/data/fenced",
                              headers={"X-Vault-Token": tok,
                                       "X-Vault-No-Request-Forwarding":
                                       "true"},
                              json={"data": {"v": "late"}}, timeout=30,
                              allow_redirects=False)
            late["code"] = r.status_code
        except requests.RequestException as e:
            late["code"] = repr(e)

    others = [s for s in c.nodes if s is not act]
    with Writer(others, tok, "st") as w:
        time.sleep(0.3)
        act.proc.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        th = threading.Thread(target=late_write)
        th.start()
        assert wait_for(lambda: any(health(s) == 200 for s in others), 10)
        lost = time.monotonic() - t0
        new = next(s for s in others if health(s) == 200)
        put_secret(new, "fenced", {"v": "new"})
        act.proc.send_signal(signal.SIGCONT)
        th.join(timeout=40)
        time.sleep(0.5)
    print("SIGSTOP to another active: %.0f ms; late write: %r" % (
        lost * 1000, late["code"]))
    assert lost < TIMEOUT_S + 1.0, lost
    assert late["code"] != 200, late
    assert get_secret(new, "fenced") == {"v": "new"}
    # The resumed node is a standby now, and says so.
    assert wait_for(lambda: health(act) == 429, 10)
    # Its heartbeat or its late write's fence, whichever came first.
    assert wait_log(act.logpath, rb"HA lock lost|lock was lost|refused by "
                    rb"the storage fence", act.proc)
    assert len(w.acked) > 10
    for key in w.acked:
        assert get_secret(new, key) == {"v": key}


def test_fenced_write_leaves_active_at_once(pgcluster, pg):  # noqa: F811
    """Another epoch in the HA row, as after a takeover the active did
    not notice: its next write is refused by the fence, and the node
    leaves active at once, saying why, rather than at its next lock
    check; the standby takes over with the value written before.  The
    session timeout is long so that the heartbeat (every T/4) does not
    see the new epoch first."""
    c = pgcluster(2, timeout_ms=30000)
    a = init_cluster(c)
    act, other = c.nodes[a], c.nodes[1 - a]
    tok = act.root_token
    put_secret(act, "fence", {"v": "before"})
    psql(pg, "UPDATE vault_ha_locks SET ha_identity = "
         "(ha_identity::bigint + 1)::text WHERE ha_key = 'coffer/%s'"
         % c.table)
    t0 = time.monotonic()
    r = requests.post(act.url + "/v1/secret/data/fence",
                      headers={"X-Vault-Token": tok,
                               "X-Vault-No-Request-Forwarding": "true"},
                      json={"data": {"v": "late"}}, timeout=30,
                      allow_redirects=False)
    assert r.status_code >= 500, (r.status_code, r.text)
    assert wait_for(lambda: health(act) == 429, 10)
    left = time.monotonic() - t0
    print("fenced write to standby: %.0f ms" % (left * 1000))
    assert wait_log(act.logpath, rb"refused by the storage fence", act.proc)
    assert wait_for(lambda: health(other) == 200, 10)
    assert get_secret(other, "fence") == {"v": "before"}


def test_postgresql_restart_under_load(pgcluster, pg):  # noqa: F811
    """PostgreSQL stopped (as a crash) and started again with writes
    running: requests fail cleanly meanwhile (an answer, not a hang),
    then one node is active again by itself, writes succeed, and no
    acknowledged write is lost."""
    c = pgcluster(2)
    a = init_cluster(c)
    tok = c.nodes[a].root_token
    with Writer(c.nodes, tok, "rs") as w:
        time.sleep(0.5)
        subprocess.run(["sh", PGTEST, "down", pg["dir"]], check=True)
        time.sleep(1.0)
        t = time.monotonic()
        r = requests.post(c.nodes[a].url + "/v1/secret/data/down",
                          headers={"X-Vault-Token": tok},
                          json={"data": {"v": 1}}, timeout=30)
        assert r.status_code >= 500 or r.status_code == 429, r.text
        assert time.monotonic() - t < 15
        subprocess.run(["sh", PGTEST, "up", pg["dir"]], check=True)
        assert wait_for(lambda: sorted(c.health()) == [200, 429], 30), \
            c.health()
        n0 = len(w.acked)
        assert wait_for(lambda: len(w.acked) > n0 + 10, 30)
    assert w.failed > 0
    i = c.wait_active()
    for key in w.acked:
        assert get_secret(c.nodes[i], key) == {"v": key}
