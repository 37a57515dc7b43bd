#!/usr/bin/python3
"""growth.py -- make bench: how coffer's costs grow with what it stores.

Usage: growth.py COFFERD TMPDIR DURATION MLOCK

Starts a cofferd on LMDB in TMPDIR (disable_mlock = MLOCK, as run.sh
found it works here), then measures with wrk and tests/bench/growth.lua:
start to serving, idle RSS, KV v2 read and write rates with 1,000 and
with BENCH_SECRETS (default 1,000,000) stored secrets, values of 100 B,
10 KiB and 1 MiB, LIST of 10,000 keys, the time and RSS of the big load,
and a restart's start-to-serving and unseal-to-serving with everything
stored.  Writes Markdown on stdout, progress on stderr.  Nothing here
asserts a time: it measures.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "growth.lua")
CONNS = 64


def log(msg):
    print("bench: growth: " + msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kib(pid):
    """VmRSS and RssAnon of pid, in KiB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0])
    return out


def mib(kib):
    return "%.1f MiB" % (kib / 1024.0)


def fmt_rss(r):
    return "%s (anonymous %s, file-backed %s)" % (
        mib(r["VmRSS"]), mib(r["RssAnon"]), mib(r.get("RssFile", 0)))


class Cofferd:
    def __init__(self, binary, tmp, mlock):
        self.binary = binary
        self.tmp = tmp
        self.port = free_port()
        self.conf = os.path.join(tmp, "growth.hcl")
        os.makedirs(os.path.join(tmp, "growth-data"), exist_ok=True)
        with open(self.conf, "w") as f:
            f.write('storage "lmdb" { path = "%s/growth-data" }\n'
                    'listener "tcp" {\n'
                    '  address = "127.0.0.1:%d"\n'
                    '  tls_disable = true\n'
                    '}\n'
                    'disable_mlock = %s\n'
                    'log_level = "info"\n' % (tmp, self.port, mlock))
        self.proc = None
        self.token = None

    def request(self, method, path, body=None, token=True):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {}
        if token and self.token:
            h["X-Vault-Token"] = self.token
        if body is not None:
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, (json.loads(data) if data else None)

    def start(self):
        """Start; return ms from spawn to the first HTTP answer."""
        log_f = open(os.path.join(self.tmp, "growth.log"), "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([self.binary, "-config", self.conf],
                                     stdout=log_f, stderr=log_f)
        while True:
            if self.proc.poll() is not None:
                sys.exit("bench: growth: cofferd exited %d" %
                         self.proc.returncode)
            try:
                s = socket.create_connection(("127.0.0.1", self.port), 1)
                s.sendall(b"GET /v1/sys/health HTTP/1.0\r\n\r\n")
                if s.recv(16):
                    s.close()
                    break
                s.close()
            except OSError:
                time.sleep(0.001)
                continue
        return (time.monotonic() - t0) * 1000.0

    def unseal(self, key):
        """Unseal; return ms from the unseal request to the first KV read
        answered 200 (or sys/health 200 when nothing is mounted)."""
        t0 = time.monotonic()
        st, _ = self.request("PUT", "/v1/sys/unseal", {"key": key}, False)
        if st != 200:
            sys.exit("bench: growth: unseal answered %d" % st)
        while self.request("GET", "/v1/sys/health", token=False)[0] != 200:
            pass
        t1 = time.monotonic()
        return (t1 - t0) * 1000.0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


def wrk(srv, mode, prefix, nkeys, size, dur, conns=CONNS, threads=2):
    mark = os.path.join(srv.tmp, "growth-mark-" + prefix)
    env = dict(os.environ, BENCH_TOKEN=srv.token, GROWTH_MODE=mode,
               GROWTH_PREFIX=prefix, GROWTH_KEYS=str(nkeys),
               GROWTH_SIZE=str(size), GROWTH_THREADS=str(threads),
               GROWTH_MARK=mark)
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d" + dur,
           "--latency", "-s", LUA, "http://127.0.0.1:%d" % srv.port]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    if mode == "load":
        marks = ["%s.%d" % (mark, i) for i in range(threads)]
        while p.poll() is None and \
                not all(os.path.exists(m) for m in marks):
            time.sleep(0.01)
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    out = p.communicate()[0]
    if p.returncode != 0:
        sys.exit("bench: growth: wrk exited %d" % p.returncode)
    m = re.search(r"growth: answered (\d+) failed (\d+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"\s99%\s+(\S+)", out)
    return {"answered": int(m.group(1)), "failed": int(m.group(2)),
            "rps": float(rps.group(1)) if rps else 0.0,
            "p99": p99.group(1) if p99 else "-"}


def load(srv, prefix, nkeys, size):
    """Write nkeys secrets once each at 64 connections; return seconds."""
    t0 = time.monotonic()
    r = wrk(srv, "load", prefix, nkeys, size, "3600s")
    secs = time.monotonic() - t0
    if r["failed"] or r["answered"] < nkeys:
        sys.exit("bench: growth: loading %s: %d answered, %d failed" %
                 (prefix, r["answered"], r["failed"]))
    for k in (0, 1, nkeys // 2, nkeys - 2, nkeys - 1):
        p = "/v1/secret/data/%s/k%d" % (prefix, k)
        if srv.request("GET", p)[0] != 200:
            sys.exit("bench: growth: %s missing after the load" % p)
    return secs


def main():
    binary, tmp, dur, mlock = sys.argv[1:5]
    big = int(os.environ.get("BENCH_SECRETS", "1000000"))
    srv = Cofferd(binary, tmp, mlock)
    rows = []
    try:
        start_ms = srv.start()
        time.sleep(1)
        rss_sealed = rss_kib(srv.proc.pid)
        st, init = srv.request("PUT", "/v1/sys/init",
                               {"secret_shares": 1, "secret_threshold": 1})
        key = init["keys"][0]
        srv.token = init["root_token"]
        srv.unseal(key)
        srv.request("POST", "/v1/sys/mounts/secret",
                    {"type": "kv", "options": {"version": "2"}})
        time.sleep(1)
        rss_idle = rss_kib(srv.proc.pid)
        log("start to serving %.1f ms, idle RSS %s" %
            (start_ms, mib(rss_idle["VmRSS"])))

        # 1,000 stored secrets of 100 B.
        small_s = load(srv, "small", 1000, 100)
        r = wrk(srv, "read", "small", 1000, 100, dur)
        rows.append(("KV v2 read, 1,000 stored, 100 B", r))
        w = wrk(srv, "write", "small", 1000, 100, dur)
        rows.append(("KV v2 write, 1,000 stored, 100 B", w))
        read1k, write1k = r["rps"], w["rps"]
        log("1,000 stored: read %.0f/s, write %.0f/s" % (read1k, write1k))

        # Value sizes: 100 keys each, 16 connections.
        sizes = []
        for size, name in ((100, "100 B"), (10240, "10 KiB"),
                           (1048576, "1 MiB")):
            p = "v%d" % size
            load(srv, p, 100, size)
            w = wrk(srv, "write", p, 100, size, dur, conns=16)
            r = wrk(srv, "read", p, 100, size, dur, conns=16)
            sizes.append((name, size, w, r))
            log("%s: write %.0f/s, read %.0f/s" % (name, w["rps"], r["rps"]))

        # LIST of 10,000 keys.
        list_s = load(srv, "list", 10000, 16)
        lst = wrk(srv, "list", "list", 10000, 16, dur, conns=16)
        log("LIST of 10,000: %.0f/s" % lst["rps"])

        # The big load.
        log("loading %d secrets" % big)
        big_s = load(srv, "big", big, 100)
        time.sleep(1)
        rss_big = rss_kib(srv.proc.pid)
        log("loaded %d in %.1f s, RSS %s" % (big, big_s, mib(rss_big["VmRSS"])))
        r = wrk(srv, "read", "big", big, 100, dur)
        rows.append(("KV v2 read, %s stored, 100 B" % format(big, ","), r))
        w = wrk(srv, "write", "big", big, 100, dur)
        rows.append(("KV v2 write, %s stored, 100 B" % format(big, ","), w))
        readbig, writebig = r["rps"], w["rps"]

        # Restart with everything stored.
        srv.stop()
        restart_ms = srv.start()
        unseal_ms = srv.unseal(key)
        t0 = time.monotonic()
        st, _ = srv.request("GET", "/v1/secret/data/big/k%d" % (big // 2))
        first_read_ms = (time.monotonic() - t0) * 1000.0
        if st != 200:
            sys.exit("bench: growth: read after restart answered %d" % st)
    finally:
        srv.stop()

    stored = 3 * 100 + 1000 + 10000 + big
    out = []
    out.append("## How cost grows")
    out.append("")
    out.append("Command: `/usr/bin/python3 tests/bench/growth.py bin/cofferd "
               "TMP %s %s` with BENCH_SECRETS=%d; each rate row is `wrk -t2 "
               "-cN -d%s --latency -s tests/bench/growth.lua` (GROWTH_MODE "
               "read or write: keys picked at random among those stored "
               "under the prefix; writes are new versions, acknowledged "
               "once on disk), on a cofferd of its own configured as above."
               % (dur, mlock, big, dur))
    out.append("")
    out.append("| what | connections | req/s | p99 | failed |")
    out.append("|---|---|---|---|---|")
    for name, r in rows:
        out.append("| %s | %d | %.0f | %s | %d |" %
                   (name, CONNS, r["rps"], r["p99"], r["failed"]))
    out.append("")
    out.append("With %s stored, reads run at %.2fx and writes at %.2fx the "
               "rate with 1,000 stored.  The same writes on LMDB alone, "
               "without cofferd, are bench_storage's update lines above, "
               "for the store's own ratio." %
               (format(big, ","), readbig / read1k if read1k else 0,
                writebig / write1k if write1k else 0))
    out.append("")
    out.append("Value sizes (100 keys each, 16 connections; MB/s counts the "
               "value's bytes only; the barrier alone does the MiB/s in "
               "bench_barrier above):")
    out.append("")
    out.append("| value | write req/s | write MB/s | read req/s | read MB/s "
               "| failed |")
    out.append("|---|---|---|---|---|---|")
    for name, size, w, r in sizes:
        out.append("| %s | %.0f | %.1f | %.0f | %.1f | %d |" % (
            name, w["rps"], w["rps"] * size / 1e6, r["rps"],
            r["rps"] * size / 1e6, w["failed"] + r["failed"]))
    out.append("")
    out.append("- LIST of 10,000 keys (`GROWTH_MODE=list`: GET ?list=true, 16 connections): "
               "%.0f req/s, p99 %s, %d failed" %
               (lst["rps"], lst["p99"], lst["failed"]))
    out.append("- start to serving (spawn to the first HTTP answer, sealed, "
               "empty storage): %.1f ms" % start_ms)
    out.append("- idle RSS: %s sealed; %s unsealed with secret/ mounted" %
               (fmt_rss(rss_sealed), fmt_rss(rss_idle)))
    out.append("- loading %s secrets of 100 B (`GROWTH_MODE=load`, 64 "
               "connections, each write durable): %.1f s, %.0f writes/s; "
               "RSS after it: %s" % (format(big, ","), big_s, big / big_s,
                                    fmt_rss(rss_big)))
    out.append("- restart with %s secrets stored: start to serving %.1f ms; "
               "unseal request to sys/health 200 %.1f ms; then the first KV "
               "read %.1f ms" % (format(stored, ","), restart_ms, unseal_ms,
                                 first_read_ms))
    print("\n".join(out))


if __name__ == "__main__":
    main()
