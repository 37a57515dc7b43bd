#!/bin/sh
# run.sh -- make bench: measure coffer and write BENCHMARKS.md.
#
# Starts its own cofferd (LMDB in a temporary directory) and the
# ceiling handler on free loopback ports, drives them with wrk, and runs
# the in-process C drivers.  Numbers, the machine and the commands go to
# BENCHMARKS.md.  Nothing here asserts a time: it measures.
set -eu
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "bench: wrk is missing: apt-get install wrk" >&2; exit 1; }

DUR=${BENCH_DURATION:-10s}
tmp=$(mktemp -d)
out=$tmp/BENCHMARKS.md
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
	i=0
	while ! curl -s -o /dev/null "http://127.0.0.1:$1/"; do
		i=$((i + 1)); [ $i -gt 200 ] && { echo "bench: port $1 never opened" >&2; exit 1; }
		sleep 0.05
	done
}

# wrk_line NAME CONNS URL [SCRIPT]: one Markdown table row.
wrk_line() {
	name=$1 conns=$2 url=$3 script=${4:-}
	threads=2; [ "$conns" -lt 2 ] && threads=1
	if [ -n "$script" ]; then
		res=$(wrk -t$threads -c"$conns" -d"$DUR" --latency -s "$script" "$url")
	else
		res=$(wrk -t$threads -c"$conns" -d"$DUR" --latency "$url")
	fi
	rps=$(echo "$res" | awk '/Requests\/sec/ {print $2}')
	p50=$(echo "$res" | awk '$1=="50%" {print $2}')
	p99=$(echo "$res" | awk '$1=="99%" {print $2}')
	non2xx=$(echo "$res" | awk '/Non-2xx/ {print $NF}')
	echo "| $name | $conns | $rps | $p50 | $p99 | ${non2xx:-0} |" >>"$out"
	echo "bench: $name c=$conns: $rps req/s, p99 $p99" >&2
}

{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` on $(date -u +%Y-%m-%d) ($(git rev-parse --short HEAD 2>/dev/null || echo unknown))."
	echo
	echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)."
	echo "wrk runs for $DUR per row, on the same machine as the server (they share the cores)."
	echo
} >"$out"

# In-process drivers.
for prog in tests/bench/bench_storage tests/bench/bench_barrier tests/bench/bench_acl; do
	[ -x "$prog" ] || continue
	echo "## $(basename "$prog")" >>"$out"
	echo >>"$out"
	echo "Command: \`$prog\`" >>"$out"
	echo >>"$out"
	echo '```' >>"$out"
	"$prog" "$tmp" >>"$out" 2>&1 || echo "($prog failed)" >>"$out"
	echo '```' >>"$out"
	echo >>"$out"
done

# The HTTP ceiling.
cport=$(free_port)
tests/bench/ceiling "$cport" 64 &
pids="$pids $!"
wait_port "$cport"

# cofferd on LMDB.
port=$(free_port)
mkdir -p "$tmp/data"
cat >"$tmp/cofferd.hcl" <<EOC
storage "lmdb" { path = "$tmp/data" }
listener "tcp" {
  address = "127.0.0.1:$port"
  tls_disable = true
}
disable_mlock = true
log_level = "warn"
worker_threads = 128
EOC
bin/cofferd -config "$tmp/cofferd.hcl" 2>"$tmp/cofferd.log" &
pids="$pids $!"
wait_port "$port"
url=http://127.0.0.1:$port
t0=$(date +%s%N)
init=$(curl -s -X PUT -d '{"secret_shares":1,"secret_threshold":1}' "$url/v1/sys/init")
key=$(echo "$init" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"][0])')
export BENCH_TOKEN
BENCH_TOKEN=$(echo "$init" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["root_token"])')
t1=$(date +%s%N)
curl -s -o /dev/null -X PUT -d "{\"key\":\"$key\"}" "$url/v1/sys/unseal"
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/sys/health")" = 200 ]; do :; done
t2=$(date +%s%N)
{
	echo "## Seal"
	echo
	echo "- init (1 share): $(( (t1 - t0) / 1000000 )) ms"
	echo "- last unseal share to serving (sys/health 200, measured with curl): $(( (t2 - t1) / 1000000 )) ms"
	echo
	echo "## HTTP under wrk"
	echo
	echo "Command per row: \`wrk -t2 -cN -d$DUR --latency [-s script] URL\`"
	echo
	echo "| what | connections | req/s | p50 | p99 | non-2xx |"
	echo "|---|---|---|---|---|---|"
} >>"$out"

for c in 1 16 64; do
	wrk_line "ceiling: trivial civetweb handler" $c "http://127.0.0.1:$cport/"
done
# Transit with one key, for transit_encrypt.lua.
curl -s -o /dev/null -X POST -H "X-Vault-Token: $BENCH_TOKEN" \
    -d '{"type":"transit"}' "$url/v1/sys/mounts/transit"
curl -s -o /dev/null -X POST -H "X-Vault-Token: $BENCH_TOKEN" \
    "$url/v1/transit/keys/bench"

# KV v2 on secret/, seeded with the keys the read script asks for.
curl -s -o /dev/null -X POST -H "X-Vault-Token: $BENCH_TOKEN" \
    -d '{"type":"kv","options":{"version":"2"}}' "$url/v1/sys/mounts/secret"
/usr/bin/python3 - "$url" <<'EOP'
import os, sys, requests
s = requests.Session()
h = {"X-Vault-Token": os.environ["BENCH_TOKEN"]}
for i in range(1000):
    s.post("%s/v1/secret/data/bench/k%d" % (sys.argv[1], i), headers=h,
           json={"data": {"user": "app", "password": "s3cr3t-%d" % i}})
EOP

for c in 1 16 64; do
	wrk_line "cofferd sys/health" $c "$url/v1/sys/health"
done
for s in tests/bench/*.lua; do
	[ -f "$s" ] || continue
	for c in 1 16 64; do
		wrk_line "cofferd $(basename "$s" .lua)" $c "$url" "$s"
	done
done

cp "$out" BENCHMARKS.md
echo "bench: wrote BENCHMARKS.md" >&2
