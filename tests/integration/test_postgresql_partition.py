"""A network partition between the active node and PostgreSQL.

Two HA nodes on one PostgreSQL table, each in a network namespace of
its own, joined to the host (where PostgreSQL and the test run) by a
veth pair.  Setting the host's end of the active node's link down cuts
it off from the database and from clients, as a partition between two
machines would: the cut-off node leaves the active role by itself (its
heartbeats fail), the other node takes over once the database drops
the silent lock session, a write through the new active is kept, and
once the link is back the old node is a standby.  Needs root and
network namespaces (`ip netns`); skips, saying why, without them.
"""
import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

from test_ha import (Cluster, get_secret, init_cluster, put_secret,
                     wait_for)
from test_postgresql import PGTEST, psql

pytestmark = pytest.mark.private

TIMEOUT_MS = 2000	# ha_session_timeout (the default)
PORT = 8200		# each node has a network namespace, so a port, of its own


def free_net():
    """A 10.x/16 that no interface here uses, picked at random so that
    runs at once (or one's leftovers) do not clash."""
    if shutil.which("ip") is None:
        return "10.231"
    used = subprocess.run(["ip", "-br", "addr"], capture_output=True,
                          text=True).stdout
    free = [x for x in range(200, 255) if " 10.%d." % x not in used]
    return "10.%d" % random.choice(free or [231])


NET = free_net()	# node i: host end NET.i.1, node end NET.i.2


def sh(*args, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True,
                       timeout=60)
    if check and r.returncode != 0:
        raise AssertionError("%s: %s" % (" ".join(args), r.stderr))
    return r


def netns_reason():
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "ip (iproute2) is not installed"
    name = "cfprobe" + uuid.uuid4().hex[:6]
    r = sh("ip", "netns", "add", name, check=False)
    if r.returncode != 0:
        return "cannot create a network namespace: " + r.stderr.strip()
    sh("ip", "netns", "del", name, check=False)
    return None


class Net:
    """n namespaces, each joined to the host by a veth pair."""

    def __init__(self, n):
        tag = uuid.uuid4().hex[:5]
        self.ns = ["cf%s%d" % (tag, i) for i in range(n)]
        self.host_if = ["cfh%s%d" % (tag, i) for i in range(n)]
        for i, ns in enumerate(self.ns):
            node_if = "cfn%s%d" % (tag, i)
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", self.host_if[i], "type", "veth",
               "peer", "name", node_if)
            sh("ip", "link", "set", node_if, "netns", ns)
            sh("ip", "addr", "add", "%s.%d.1/24" % (NET, i), "dev",
               self.host_if[i])
            sh("ip", "link", "set", self.host_if[i], "up")
            sh("ip", "netns", "exec", ns, "ip", "addr", "add",
               "%s.%d.2/24" % (NET, i), "dev", node_if)
            sh("ip", "netns", "exec", ns, "ip", "link", "set", node_if, "up")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")

    def cut(self, i):
        sh("ip", "link", "set", self.host_if[i], "down")

    def mend(self, i):
        sh("ip", "link", "set", self.host_if[i], "up")

    def close(self):
        for ns in self.ns:		# a veth goes with its namespace
            sh("ip", "netns", "del", ns, check=False)


class NetnsCluster(Cluster):
    """HA nodes on one PostgreSQL table, node i in namespace net.ns[i],
    reaching the database at the host's end of its link."""

    def __init__(self, tmp_path, pg, net):
        self.tmp = tmp_path
        self.net = net
        self.nodes = []
        table = "t_" + uuid.uuid4().hex[:12]
        for i in range(len(net.ns)):
            url = pg["url"].replace("127.0.0.1", "%s.%d.1" % (NET, i))
            srv = self.add_node('storage "postgresql" {\n'
                                '  connection_url = "%s"\n  table = "%s"\n'
                                '  ha_enabled = "true"\n'
                                '  ha_session_timeout = "%dms"\n}\n' % (
                                    url, table, TIMEOUT_MS),
                                "0.0.0.0:%d" % PORT,
                                "http://%s.%d.2:%d" % (NET, i, PORT))
            srv.ns = net.ns[i]
            self.start(i)

    def start(self, i):
        from conftest import COFFERD, Server
        srv = self.nodes[i]
        with open(srv.logpath, "ab") as log:
            srv.proc = subprocess.Popen(
                ["ip", "netns", "exec", srv.ns, COFFERD, "-config",
                 str(srv.conf), "-v"], stdout=subprocess.DEVNULL,
                stderr=log, env=Server.env(None))
        deadline = time.monotonic() + 20
        while b"listening on" not in open(srv.logpath, "rb").read():
            assert srv.proc.poll() is None and \
                time.monotonic() < deadline, open(srv.logpath).read()
            time.sleep(0.02)


def health(srv):
    try:
        return requests.get(srv.url + "/v1/sys/health", timeout=1).status_code
    except requests.RequestException:
        return None


def health_inside(srv):
    """sys/health asked from inside the node's namespace, which still
    reaches it while the node is cut off from the host."""
    r = sh("ip", "netns", "exec", srv.ns, "curl", "-s", "-o", "/dev/null",
           "-m", "2", "-w", "%{http_code}",
           "http://127.0.0.1:%d/v1/sys/health" % PORT, check=False)
    return int(r.stdout) if r.stdout.isdigit() else None


@pytest.fixture
def netpg():
    """A PostgreSQL that the namespaces reach at their host ends."""
    why = netns_reason()
    if why is not None:
        pytest.skip(why)
    d = os.path.join(tempfile.mkdtemp(prefix="coffer-pgn-"), "pg")
    r = subprocess.run(["sh", PGTEST, "start", d], capture_output=True,
                       text=True, env=dict(os.environ, PGTEST_LISTEN="*"))
    if r.returncode != 0:
        shutil.rmtree(os.path.dirname(d), ignore_errors=True)
        pytest.skip("no test PostgreSQL: " + r.stderr.strip())
    pg = {"dir": d, "url": r.stdout.strip()}
    with open(os.path.join(d, "data", "pg_hba.conf"), "a") as f:
        f.write("host all all %s.0.0/16 trust\n" % NET)
    psql(pg, "SELECT pg_reload_conf()")
    yield pg
    subprocess.run(["sh", PGTEST, "stop", d])
    shutil.rmtree(os.path.dirname(d), ignore_errors=True)


def test_partition_of_the_active_node(tmp_path, netpg):
    net = Net(2)
    c = None
    try:
        c = NetnsCluster(tmp_path, netpg, net)
        a = init_cluster(c)
        act, other = c.nodes[a], c.nodes[1 - a]
        put_secret(act, "part", {"v": "before"})

        net.cut(a)
        t0 = time.monotonic()
        # Cut off, the node misses its heartbeats and leaves the active
        # role by itself after half the session timeout.
        assert wait_for(lambda: health_inside(act) not in (200, None),
                        TIMEOUT_MS / 1000 + 5), health_inside(act)
        left = time.monotonic() - t0
        # The database drops the silent lock session; the other node
        # takes over.
        assert wait_for(lambda: health(other) == 200, 30)
        over = time.monotonic() - t0
        print("partition: cut-off active left after %.0f ms, the other "
              "node active after %.0f ms" % (left * 1000, over * 1000))
        assert left < over, (left, over)
        put_secret(other, "part", {"v": "after"})

        net.mend(a)
        assert wait_for(lambda: health(act) == 429, 30), health(act)
        assert health(other) == 200
        assert get_secret(other, "part") == {"v": "after"}
        assert act.proc.poll() is None and other.proc.poll() is None
    finally:
        if c is not None:
            c.close()
        net.close()
