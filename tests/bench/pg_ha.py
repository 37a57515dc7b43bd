#!/usr/bin/python3
"""pg_ha.py -- HA on the postgresql backend: failover and write rate.

Usage: tests/bench/pg_ha.py COFFERD TMPDIR [DURATION [KILLS [STOPS]]]

Starts a private PostgreSQL with tests/pgtest.sh, fsync on (if it cannot start,
prints a line saying why and exits 0: the section is skipped) and three
cofferd nodes on loopback sharing one table (storage "postgresql" with
ha_enabled, ha_session_timeout 2s, the default), initializes, unseals
and mounts KV v2 at secret/.  Then measures, with the writer of
tests/bench/ha.py running through every failover:

  SIGKILL   kill -9 of the active, from just before the signal to the
            first 200 on sys/health from another node (polled every
            2 ms); the killed node is restarted and unsealed;
  SIGSTOP   SIGSTOP of the active, from just before the signal to the
            first 200 from another node; the node is then resumed
            (SIGCONT) and must become a standby (429) on its own.

Every acknowledged write is read back at the end.  Last, on the same
database in the same run: wrk with tests/bench/kv2_write.lua at 32
connections on the active node, and pgbench with a one-row upsert at 32
clients, for DURATION (default 10s) each, in ROUNDS turns of wrk then
pgbench, so that both see the same share of a busy machine's load; the
rates are the means over the turns.  pg_stat_wal, read around each
turn, gives the WAL records and bytes per write of each.

Prints Markdown on stdout and progress on stderr.  Nothing here asserts
a time: it measures.
"""
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import multiprocessing

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ha  # noqa: E402  (tests/bench/ha.py: nodes, polling, the writer)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PGTEST = os.path.join(ROOT, "tests", "pgtest.sh")
TABLE = "bench_kv"
ROUNDS = 3      # turns of wrk then pgbench for the write rates


def log(msg):
    print("bench: pg_ha: " + msg, file=sys.stderr, flush=True)


class PgNode(ha.Node):
    def __init__(self, tmp, i, url):
        super().__init__(tmp, i, os.path.join(tmp, "unused"))
        with open(self.conf, "w") as f:
            f.write('storage "postgresql" {\n  connection_url = "%s"\n'
                    '  table = "%s"\n  max_parallel = "64"\n'
                    '  ha_enabled = "true"\n}\n' % (url, TABLE))
            f.write('listener "tcp" {\n  address = "127.0.0.1:%d"\n'
                    '  tls_disable = true\n}\n' % self.port)
            f.write('disable_mlock = true\nlog_level = "info"\n')
            f.write('api_addr = "http://127.0.0.1:%d"\n' % self.port)


def wait_status(node, want, limit=30.0):
    p = ha.Poller(node.port)
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < limit:
            if p.status() == want:
                return True
            time.sleep(0.01)
        return False
    finally:
        p.close()


def wrk_rps(port, dur, token):
    env = dict(os.environ, BENCH_TOKEN=token)
    r = subprocess.run(["wrk", "-t", "2", "-c", "32", "-d", dur, "-s",
                        os.path.join(ROOT, "tests", "bench",
                                     "kv2_write.lua"),
                        "http://127.0.0.1:%d" % port], env=env,
                       capture_output=True, text=True)
    m = re.search(r"Requests/sec:\s*([0-9.]+)", r.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", r.stdout)
    n = re.search(r"(\d+) requests in", r.stdout)
    return (float(m.group(1)) if m else 0.0,
            int(non2xx.group(1)) if non2xx else 0,
            int(n.group(1)) if n else 0)


def wal(url):
    """pg_stat_wal's (records, bytes) so far."""
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", url, "-c",
                        "SELECT wal_records, wal_bytes FROM pg_stat_wal"],
                       capture_output=True, text=True)
    try:
        rec, nbytes = r.stdout.strip().split("|")
        return int(rec), int(nbytes)
    except ValueError:
        return 0, 0


def pgbench_tps(url, dur, tmp):
    secs = re.sub(r"s$", "", dur)
    subprocess.run(["psql", "-X", "-q", url, "-c",
                    "CREATE TABLE IF NOT EXISTS bench_upsert (k int "
                    "PRIMARY KEY, v text)"], check=True,
                   capture_output=True)
    script = os.path.join(tmp, "upsert.sql")
    with open(script, "w") as f:
        f.write("\\set k random(1, 10000)\n"
                "INSERT INTO bench_upsert VALUES (:k, 'x') "
                "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v;\n")
    r = subprocess.run(["pgbench", "-n", "-c", "32", "-j", "2", "-T", secs,
                        "-f", script, url], capture_output=True, text=True)
    m = re.search(r"tps = ([0-9.]+)", r.stdout)
    n = re.search(r"actually processed: (\d+)", r.stdout)
    if m is None:
        log("pgbench: " + r.stderr.strip()[-300:])
    return float(m.group(1)) if m else 0.0, int(n.group(1)) if n else 0


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cofferd, tmp = sys.argv[1], sys.argv[2]
    dur = sys.argv[3] if len(sys.argv) > 3 else "10s"
    n_kill = int(sys.argv[4]) if len(sys.argv) > 4 else 7
    n_stop = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    pgdir = os.path.join(tmp, "pgha")
    # Durable, as a production database: fsync on.
    r = subprocess.run(["sh", PGTEST, "start", pgdir], capture_output=True,
                       text=True, env=dict(os.environ, PGTEST_FSYNC="on"))
    if r.returncode != 0:
        print("(skipped: PostgreSQL did not start: %s)" %
              r.stderr.strip().replace("\n", " "))
        shutil.rmtree(pgdir, ignore_errors=True)
        return 0
    url = r.stdout.strip()
    nodes = [PgNode(tmp, 10 + i, url) for i in range(3)]
    for k, n in enumerate(nodes):
        n.i = k
    stop = multiprocessing.Event()
    wproc = None
    try:
        for n in nodes:
            n.start(cofferd)
        st, init = ha.request(nodes[0].port, "PUT", "sys/init",
                              {"secret_shares": 1, "secret_threshold": 1})
        if st != 200:
            sys.exit("bench: pg_ha: init: %d %r" % (st, init))
        key, token = init["keys"][0], init["root_token"]
        for n in nodes:
            n.unseal(key)
        a = ha.active_index(nodes)
        st, _ = ha.request(nodes[a].port, "POST", "sys/mounts/secret",
                           {"type": "kv", "options": {"version": "2"}},
                           token=token)
        if st != 204:
            sys.exit("bench: pg_ha: mount: %d" % st)

        acked = os.path.join(tmp, "pg-ha-acked.txt")
        wproc = multiprocessing.Process(
            target=ha.writer, args=([n.port for n in nodes], token, stop,
                                    acked))
        wproc.start()
        time.sleep(0.3)
        kills, stops = [], []
        for k in range(n_kill + n_stop):
            a = ha.active_index(nodes)
            old = nodes[a]
            t0 = time.monotonic()
            if k < n_kill:
                old.proc.send_signal(signal.SIGKILL)
                b, dt = ha.wait_new_active(nodes, a, t0)
                kills.append(dt)
                old.proc.wait()
                old.proc = None
                old.start(cofferd)
                old.unseal(key)
                what = "SIGKILL"
            else:
                old.proc.send_signal(signal.SIGSTOP)
                b, dt = ha.wait_new_active(nodes, a, t0)
                stops.append(dt)
                old.proc.send_signal(signal.SIGCONT)
                if not wait_status(old, 429):
                    sys.exit("bench: pg_ha: resumed node %d is not a "
                             "standby" % a)
                what = "SIGSTOP"
            log("%s %d: node %d -> node %d in %s ms" % (
                what, k + 1, a, b, ha.ms(dt)))
            time.sleep(0.3)
        stop.set()
        wproc.join(timeout=30)

        a = ha.active_index(nodes)
        written, lost, refused = [], [], 0
        with open(acked) as f:
            for line in f:
                k, v = line.split()
                if k == "-":
                    refused += 1
                else:
                    written.append((k, v))
        for k, v in written:
            st, body = ha.request(nodes[a].port, "GET", "secret/data/" + k,
                                  token=token)
            if st != 200 or body["data"]["data"] != {"v": v}:
                lost.append(k)

        turn = "%ds" % max(1, int(re.sub(r"s$", "", dur)) // ROUNDS)
        rpss, tpss, bad = [], [], 0
        # WAL records, bytes and writes of cofferd's and pgbench's turns.
        wc, wp = [0, 0, 0], [0, 0, 0]
        for k in range(ROUNDS):
            log("turn %d: wrk kv2_write.lua, 32 connections, %s" % (k + 1,
                                                                    turn))
            w0 = wal(url)
            r, b, n = wrk_rps(nodes[a].port, turn, token)
            w1 = wal(url)
            rpss.append(r)
            bad += b
            wc = [wc[0] + w1[0] - w0[0], wc[1] + w1[1] - w0[1], wc[2] + n]
            log("turn %d: pgbench one-row upsert, 32 clients, %s" % (
                k + 1, turn))
            t, n = pgbench_tps(url, turn, tmp)
            w2 = wal(url)
            tpss.append(t)
            wp = [wp[0] + w2[0] - w1[0], wp[1] + w2[1] - w1[1], wp[2] + n]
        rps, tps = statistics.mean(rpss), statistics.mean(tpss)
    finally:
        stop.set()
        if wproc is not None and wproc.is_alive():
            wproc.terminate()
        for n in nodes:
            if n.proc is not None:
                n.proc.send_signal(signal.SIGCONT)
            n.stop(signal.SIGKILL)
        subprocess.run(["sh", PGTEST, "stop", pgdir])

    def row(what, xs, target):
        # KILLS or STOPS of 0 (a write-rate run only): no figures.
        if not xs:
            return "| %s | 0 | - | - | - | %s |" % (what, target)
        return "| %s | %d | %s | %s | %s | %s |" % (
            what, len(xs), ha.ms(statistics.median(xs)), ha.ms(min(xs)),
            ha.ms(max(xs)), target)

    print("| failover | n | median | min | max | issue 12 target |")
    print("|---|---|---|---|---|---|")
    print(row("SIGKILL of the active to a standby serving", kills,
              "under 1000 ms"))
    print(row("SIGSTOP of the active to a standby serving", stops,
              "under 3000 ms (timeout 2 s + 1 s)"))
    print()
    print("Write loop through all %d failovers: %d writes acknowledged "
          "(200), each read back at the end: %d lost; %d not "
          "acknowledged (refused or no answer while no node was active)."
          % (len(kills) + len(stops), len(written), len(lost), refused))
    print()
    def per(w):
        # WAL records and bytes per write (the wrk client's count of
        # requests: a turn's last few may have been cut off unanswered).
        if not w[2]:
            return "- | -"
        return "%.1f | %.0f" % (w[0] / w[2], w[1] / w[2])

    print("| writes, 32 connections, %s in %d turns | per second | ratio "
          "| WAL records per write | WAL bytes per write |" % (dur, ROUNDS))
    print("|---|---|---|---|---|")
    print("| pgbench, one-row upsert (INSERT ... ON CONFLICT) | %.0f | 1 | "
          "%s |" % (tps, per(wp)))
    print("| cofferd KV v2 writes (kv2_write.lua; %d non-2xx) | %.0f | "
          "%.2f (target >= 0.4) | %s |" % (bad, rps, rps / tps if tps else 0,
                                          per(wc)))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
