#!/usr/bin/python3
"""seed_kv.py -- write the secrets tests/bench/kv2_read.lua reads.

Usage: tests/bench/seed_kv.py URL   (BENCH_TOKEN in the environment)

Writes secret/data/bench/k0 .. k999 on the cofferd at URL (KV v2 at
secret/), each {"user": "app", "password": "s3cr3t-N"}; exits non-zero
on the first answer that is not 200.
"""
import http.client
import json
import os
import sys

host, port = sys.argv[1].rsplit("/", 1)[1].split(":")
c = http.client.HTTPConnection(host, int(port))
h = {"X-Vault-Token": os.environ["BENCH_TOKEN"],
     "Content-Type": "application/json"}
for i in range(1000):
    c.request("POST", "/v1/secret/data/bench/k%d" % i, headers=h,
              body=json.dumps({"data": {"user": "app",
                                        "password": "s3cr3t-%d" % i}}))
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("bench: seeding answered %d" % r.status)
