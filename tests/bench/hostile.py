#!/usr/bin/python3
"""hostile.py -- what hostile clients cost a cofferd: a measurement, not a test.

Starts `bin/cofferd -dev` on a free loopback port and prints, as Markdown:
  - how long a new client waits for sys/health while 1000 connections sit
    idle (half of them with half a request sent) and 100 keep-alive
    clients hold their connections;
  - the peak resident memory after 16 clients each write a 30 MiB secret
    at once (the body budget at work), beside the memory before.

Usage: /usr/bin/python3 tests/bench/hostile.py [path/to/cofferd]
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def timed_health(url):
    t0 = time.monotonic()
    r = requests.get(url + "/v1/sys/health", timeout=60)
    return r.status_code, (time.monotonic() - t0) * 1000


def main():
    cofferd = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(ROOT, "bin", "cofferd")
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([cofferd, "-dev", "-dev-listen-address=127.0.0.1:%d"
                             % port], stdout=log, stderr=log)
    url = "http://127.0.0.1:%d" % port
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.get(url + "/v1/sys/health", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        log.seek(0)
        token = re.search(rb"hvs\.[A-Za-z0-9]+", log.read()).group(0).decode()

        print("| what | result |")
        print("|---|---|")
        code, ms = timed_health(url)
        print("| sys/health, quiet server | %d in %.1f ms |" % (code, ms))

        socks = [socket.create_connection(("127.0.0.1", port))
                 for _ in range(1000)]
        for s in socks[::2]:
            s.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost:")
        sessions = []
        for _ in range(100):
            s = requests.Session()
            s.get(url + "/v1/sys/health", timeout=30)
            sessions.append(s)
        code, ms = timed_health(url)
        print("| sys/health with 1000 idle or half-sent connections and "
              "100 idle keep-alive clients | %d in %.1f ms |" % (code, ms))
        for s in socks:
            s.close()
        for s in sessions:
            s.close()

        before = status_kb(proc.pid, "VmRSS")
        body = ('{"data":{"a":"' + "x" * (30 << 20) + '"}}').encode()
        codes = []

        def write(i):
            r = requests.put(url + "/v1/secret/data/big%d" % i, data=body,
                             headers={"X-Vault-Token": token}, timeout=300)
            codes.append(r.status_code)

        t0 = time.monotonic()
        threads = [threading.Thread(target=write, args=(i,))
                   for i in range(16)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        stored = 16 * 30
        print("| 16 writes of 30 MiB at once | %s in %.1f s |" % (
            ", ".join("%dx %d" % (codes.count(c), c)
                      for c in sorted(set(codes))),
            time.monotonic() - t0))
        print("| resident memory before / peak / after (inmem storage "
              "now holds %d MiB of them) | %d / %d / %d MiB |" % (
                  stored * codes.count(200) // 16, before // 1024,
                  status_kb(proc.pid, "VmHWM") // 1024,
                  status_kb(proc.pid, "VmRSS") // 1024))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
