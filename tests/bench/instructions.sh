#!/bin/sh
#
# instructions.sh -- user-space instructions per KV v2 read, counted by
# callgrind: repeatable for the same binary whatever else the machine
# is doing, so a change's cost shows even on a loaded machine.
#
# Usage: tests/bench/instructions.sh COFFERD TMPDIR
#
# Starts COFFERD under valgrind --tool=callgrind on LMDB in TMPDIR,
# initializes, unseals, mounts KV v2 at secret/ and writes
# secret/data/bench/k0..k999 (tests/bench/seed_kv.py), then zeroes the
# counters, runs wrk -t1 -c4 -d10s with tests/bench/kv2_read.lua and
# prints one line: the instructions of the whole process divided by the
# requests wrk counted.  Needs valgrind (callgrind_control) and wrk.

set -eu
bin=$1
tmp=$2
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/cg"
cat >"$tmp/cg/cofferd.hcl" <<EOC
storage "lmdb" { path = "$tmp/cg/data" }
listener "tcp" {
  address = "127.0.0.1:$port"
  tls_disable = true
}
disable_mlock = true
log_level = "warn"
EOC
valgrind --tool=callgrind --callgrind-out-file="$tmp/cg/callgrind.out" \
    "$bin" -config "$tmp/cg/cofferd.hcl" 2>"$tmp/cg/valgrind.log" &
vpid=$!
trap 'kill $vpid 2>/dev/null || true' EXIT
url=http://127.0.0.1:$port
i=0
until curl -s -o /dev/null "$url/v1/sys/health"; do
	i=$((i + 1)); [ $i -gt 300 ] && { cat "$tmp/cg/valgrind.log" >&2; exit 1; }
	sleep 0.1
done
init=$(curl -s -X PUT -d '{"secret_shares":1,"secret_threshold":1}' "$url/v1/sys/init")
key=$(echo "$init" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"][0])')
BENCH_TOKEN=$(echo "$init" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["root_token"])')
export BENCH_TOKEN
curl -s -o /dev/null -X PUT -d "{\"key\":\"$key\"}" "$url/v1/sys/unseal"
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/sys/health")" = 200 ]; do sleep 0.1; done
curl -s -o /dev/null -X POST -H "X-Vault-Token: $BENCH_TOKEN" \
    -d '{"type":"kv","options":{"version":"2"}}' "$url/v1/sys/mounts/secret"
/usr/bin/python3 tests/bench/seed_kv.py "$url"
callgrind_control -z "$vpid" >/dev/null
n=$(wrk -t1 -c4 -d10s -s tests/bench/kv2_read.lua "$url" |
    awk '/requests in/ {print $1}')
callgrind_control -d "$vpid" >/dev/null
sleep 1
ir=$(callgrind_annotate "$tmp/cg/callgrind.out".* 2>/dev/null |
    awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
echo "$n $ir" | awk '{ printf "KV v2 read: %d instructions per request (%d requests under callgrind)\n", $2 / $1, $1 }'
