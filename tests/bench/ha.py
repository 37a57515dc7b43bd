#!/usr/bin/python3
"""ha.py -- failover times of three HA cofferd nodes on one LMDB directory.

Usage: tests/bench/ha.py COFFERD TMPDIR [STEPDOWNS [KILLS]]

Starts three nodes on loopback (storage "lmdb" with ha_enabled, each
api_addr pointing at itself), initializes through one, unseals all with
the same share and mounts KV v2 at secret/.  Then measures:

  step-down   PUT sys/step-down on the active, from just before the
              request is sent to the first 200 on sys/health from another
              node (each candidate polled every 2 ms on a kept-alive
              connection);
  SIGKILL     kill -9 of the active, from just before the signal to the
              first 200 from another node.

After each failover the node that left is started again and unsealed
(SIGTERM first after a step-down): a node that stepped down does not
compete for 10 s, and restarting it keeps two competing standbys for
every measurement instead of waiting out that pause.

A writer process runs through every failover: new KV v2 keys, one at a
time, sent round-robin to the three nodes (standbys forward).  Every key
whose write answered 200 is read back at the end; a missing or different
value is a lost acknowledged write.

Prints Markdown rows on stdout and progress on stderr.  Nothing here
asserts a time: it measures.
"""
import http.client
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

POLL_S = 0.002


def log(msg):
    print("bench: ha: " + msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def request(port, method, path, body=None, token=None, timeout=10):
    """One request on a new connection: (status, parsed body or None)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = {}
        if token:
            h["X-Vault-Token"] = token
        data = None
        if body is not None:
            data = json.dumps(body)
            h["Content-Type"] = "application/json"
        c.request(method, "/v1/" + path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        try:
            return r.status, json.loads(raw) if raw else None
        except ValueError:
            return r.status, None
    finally:
        c.close()


class Node:
    def __init__(self, tmp, i, data):
        self.i = i
        self.port = free_port()
        self.conf = os.path.join(tmp, "ha%d.hcl" % i)
        self.logpath = os.path.join(tmp, "ha%d.log" % i)
        self.proc = None
        with open(self.conf, "w") as f:
            f.write('storage "lmdb" {\n  path = "%s"\n'
                    '  ha_enabled = true\n}\n' % data)
            f.write('listener "tcp" {\n  address = "127.0.0.1:%d"\n'
                    '  tls_disable = true\n}\n' % self.port)
            f.write('disable_mlock = true\nlog_level = "info"\n')
            f.write('api_addr = "http://127.0.0.1:%d"\n' % self.port)

    def start(self, cofferd):
        with open(self.logpath, "ab") as logf:
            self.proc = subprocess.Popen([cofferd, "-config", self.conf],
                                         stdout=subprocess.DEVNULL,
                                         stderr=logf)
        deadline = time.monotonic() + 20
        while True:
            try:
                request(self.port, "GET", "sys/seal-status", timeout=1)
                return
            except OSError:
                pass
            if self.proc.poll() is not None or \
                    time.monotonic() > deadline:
                sys.exit("bench: ha: node %d did not start:\n%s" % (
                    self.i, open(self.logpath).read()[-4000:]))
            time.sleep(0.01)

    def unseal(self, key):
        st, body = request(self.port, "PUT", "sys/unseal", {"key": key})
        if st != 200 or body["sealed"]:
            sys.exit("bench: ha: unseal of node %d: %d %r" % (
                self.i, st, body))

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=60)
        self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class Poller:
    """sys/health on a kept-alive connection, reconnecting on error."""

    def __init__(self, port):
        self.port = port
        self.c = None

    def status(self):
        try:
            if self.c is None:
                self.c = http.client.HTTPConnection("127.0.0.1",
                                                    self.port, timeout=2)
            self.c.request("GET", "/v1/sys/health")
            r = self.c.getresponse()
            r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return r.status
        except (OSError, http.client.HTTPException):
            self.close()
            return None

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


def wait_new_active(nodes, old, t0, limit=30.0):
    """Poll every node but old until one answers 200; return (index,
    seconds since t0)."""
    polls = [(n.i, Poller(n.port)) for n in nodes if n.i != old]
    try:
        while True:
            for i, p in polls:
                if p.status() == 200:
                    return i, time.monotonic() - t0
            if time.monotonic() - t0 > limit:
                sys.exit("bench: ha: no new active after %.0f s" % limit)
            time.sleep(POLL_S)
    finally:
        for _, p in polls:
            p.close()


def active_index(nodes, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        codes = []
        for n in nodes:
            try:
                codes.append(request(n.port, "GET", "sys/health",
                                     timeout=2)[0])
            except OSError:
                codes.append(None)
        if codes.count(200) == 1 and codes.count(429) == len(nodes) - 1:
            return codes.index(200)
        time.sleep(0.01)
    sys.exit("bench: ha: no single active node: %r" % (codes,))


def writer(ports, token, stop, path):
    """Write new keys round-robin through the nodes until stop is set;
    append each acknowledged key and value to path."""
    n = 0
    conns = {}
    with open(path, "w") as out:
        while not stop.is_set():
            port = ports[n % len(ports)]
            key = "ha/w%06d" % n
            val = "v%d-%d" % (n, port)
            n += 1
            body = json.dumps({"data": {"v": val}})
            try:
                c = conns.get(port)
                if c is None:
                    c = conns[port] = http.client.HTTPConnection(
                        "127.0.0.1", port, timeout=5)
                c.request("POST", "/v1/secret/data/" + key, body=body,
                          headers={"X-Vault-Token": token,
                                   "Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
                status = r.status
                if r.getheader("Connection", "").lower() == "close":
                    c.close()
                    conns.pop(port, None)
            except (OSError, http.client.HTTPException):
                status = None
                conns.pop(port, None)
            if status == 200:
                out.write("%s %s\n" % (key, val))
                out.flush()
            else:
                out.write("- %s\n" % status)
                if status not in (None, 500, 503):
                    print("bench: ha: write %s via %d: %s" % (key, port, status), file=sys.stderr, flush=True)
                out.flush()
                time.sleep(0.005)


def ms(x):
    return "%.1f" % (x * 1000)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cofferd, tmp = sys.argv[1], sys.argv[2]
    n_step = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    n_kill = int(sys.argv[4]) if len(sys.argv) > 4 else 7
    data = os.path.join(tmp, "hadata")
    os.makedirs(data, exist_ok=True)
    nodes = [Node(tmp, i, data) for i in range(3)]
    stop = multiprocessing.Event()
    wproc = None
    t_start = time.monotonic()
    try:
        for n in nodes:
            n.start(cofferd)
        st, init = request(nodes[0].port, "PUT", "sys/init",
                           {"secret_shares": 1, "secret_threshold": 1})
        if st != 200:
            sys.exit("bench: ha: init: %d %r" % (st, init))
        key, token = init["keys"][0], init["root_token"]
        for n in nodes:
            n.unseal(key)
        a = active_index(nodes)
        st, _ = request(nodes[a].port, "POST", "sys/mounts/secret",
                        {"type": "kv", "options": {"version": "2"}},
                        token=token)
        if st != 204:
            sys.exit("bench: ha: mount: %d" % st)

        acked = os.path.join(tmp, "ha-acked.txt")
        wproc = multiprocessing.Process(
            target=writer, args=([n.port for n in nodes], token, stop,
                                 acked))
        wproc.start()
        time.sleep(0.3)

        steps, kills = [], []
        for k in range(n_step + n_kill):
            a = active_index(nodes)
            old = nodes[a]
            if k < n_step:
                t0 = time.monotonic()
                st, _ = request(old.port, "PUT", "sys/step-down",
                                token=token)
                if st != 204:
                    sys.exit("bench: ha: step-down answered %d" % st)
                b, dt = wait_new_active(nodes, a, t0)
                steps.append(dt)
                what = "step-down"
                old.stop(signal.SIGTERM)
            else:
                t0 = time.monotonic()
                old.proc.send_signal(signal.SIGKILL)
                b, dt = wait_new_active(nodes, a, t0)
                kills.append(dt)
                what = "SIGKILL"
                old.proc.wait()
                old.proc = None
            log("%s %d: node %d -> node %d in %s ms" % (
                what, k + 1, a, b, ms(dt)))
            old.start(cofferd)
            old.unseal(key)
            time.sleep(0.1)      # writes through a settled cluster too

        time.sleep(0.3)
        stop.set()
        wproc.join(timeout=30)

        a = active_index(nodes)
        written, failed, lost = [], {}, []
        with open(acked) as f:
            for line in f:
                k, v = line.split()
                if k == "-":
                    v = "no answer" if v == "None" else v
                    failed[v] = failed.get(v, 0) + 1
                else:
                    written.append((k, v))
        for k, v in written:
            st, body = request(nodes[a].port, "GET", "secret/data/" + k,
                               token=token)
            if st != 200 or body["data"]["data"] != {"v": v}:
                lost.append(k)
        elapsed = time.monotonic() - t_start
    finally:
        stop.set()
        if wproc is not None and wproc.is_alive():
            wproc.terminate()
        for n in nodes:
            n.stop(signal.SIGKILL)

    log("step-down median %s ms, max %s ms; SIGKILL median %s ms, "
        "max %s ms; %d writes acknowledged, %d lost, %d refused; %.0f s" % (
            ms(statistics.median(steps)), ms(max(steps)),
            ms(statistics.median(kills)), ms(max(kills)),
            len(written), len(lost), sum(failed.values()), elapsed))
    if lost:
        log("lost: " + " ".join(lost[:20]))
    print("| step-down on the active to a standby serving | %d | %s | %s "
          "| %s | under 200 ms (median) |" % (
              len(steps), ms(statistics.median(steps)), ms(min(steps)),
              ms(max(steps))))
    print("| SIGKILL of the active to a standby serving | %d | %s | %s "
          "| %s | under 500 ms |" % (
              len(kills), ms(statistics.median(kills)), ms(min(kills)),
              ms(max(kills))))
    print()
    print("Write loop through all %d failovers: %d writes acknowledged "
          "(200), each read back at the end: %d lost.  Not acknowledged "
          "(so not counted), while a node restarted or no node was "
          "active: %s.  Whole run: %.0f s." % (
              len(steps) + len(kills), len(written), len(lost),
              ", ".join("%d %s" % (n, st) for st, n in
                        sorted(failed.items())) or "none",
              elapsed))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
