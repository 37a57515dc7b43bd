#!/bin/sh
#
# instructions.sh -- user-space instructions per KV v2 read, counted by
# callgrind: repeatable for the same binary whatever else the machine
# is doing, so a change's cost shows even on a loaded machine.
#
# Usage: tests/bench/instructions.sh COFFERD TMPDIR [hit | miss | audit]
#
# hit (the default): starts COFFERD under valgrind --tool=callgrind on
# LMDB in TMPDIR, initializes, unseals, mounts KV v2 at secret/ and
# writes secret/data/bench/k0..k999 (tests/bench/seed_kv.py), then
# reads them all for 5 s (INSTR_WARM=0: not), zeroes the counters and
# runs wrk -t1 -c4 -d10s with tests/bench/kv2_read.lua: the same 1,000
# secrets over and over, each answered from the document cache.
#
# miss: a COFFERD of its own (not under valgrind) stores INSTR_KEYS
# (default 200000) secrets of 100 B under secret/data/g/ at full speed
# (tests/bench/growth.lua, GROWTH_MODE=load) and stops; then COFFERD
# under callgrind serves the same storage, is unsealed, and wrk runs
# GROWTH_MODE=read: keys picked at random among them, twelve times more
# documents (metadata and version per secret) than the document cache
# has slots, so nearly every read misses it and pays LMDB, the barrier
# and the JSON parse.
#
# audit: as hit, with one file audit device (TMPDIR/cg/audit.log)
# enabled before the seeding, so each read also writes both entries.
#
# Prints one line: the instructions of the whole process divided by the
# requests wrk counted.  The profile stays in TMPDIR/cg/callgrind.out.*
# for callgrind_annotate.  Needs valgrind (callgrind_control) and wrk.

set -eu
bin=$1
tmp=$2
mode=${3:-hit}
nkeys=${INSTR_KEYS:-200000}
here=$(dirname "$0")
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rm -rf "$tmp/cg"
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
url=http://127.0.0.1:$port
vpid=
trap '[ -z "$vpid" ] || kill $vpid 2>/dev/null || true' EXIT

# up: wait for the server started as $vpid to answer.
up() {
	i=0
	until curl -s -o /dev/null "$url/v1/sys/health"; do
		kill -0 "$vpid" 2>/dev/null || { cat "$tmp/cg/valgrind.log" >&2; exit 1; }
		i=$((i + 1)); [ $i -gt 600 ] && { cat "$tmp/cg/valgrind.log" >&2; exit 1; }
		sleep 0.1
	done
}

# init_unseal: initialize, unseal and mount KV v2 at secret/.
init_unseal() {
	init=$(curl -s -X PUT -d '{"secret_shares":1,"secret_threshold":1}' "$url/v1/sys/init")
	key=$(echo "$init" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"][0])')
	BENCH_TOKEN=$(echo "$init" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["root_token"])')
	export BENCH_TOKEN
	unseal
	curl -s -o /dev/null -X POST -H "X-Vault-Token: $BENCH_TOKEN" \
	    -d '{"type":"kv","options":{"version":"2"}}' "$url/v1/sys/mounts/secret"
}

unseal() {
	curl -s -o /dev/null -X PUT -d "{\"key\":\"$key\"}" "$url/v1/sys/unseal"
	until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/sys/health")" = 200 ]; do sleep 0.1; done
}

cg() {
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg/callgrind.out" \
	    "$bin" -config "$tmp/cg/cofferd.hcl" 2>"$tmp/cg/valgrind.log" &
	vpid=$!
	up
}

if [ "$mode" = miss ]; then
	"$bin" -config "$tmp/cg/cofferd.hcl" 2>"$tmp/cg/valgrind.log" &
	vpid=$!
	up
	init_unseal
	rm -f "$tmp/cg/mark".*
	GROWTH_MODE=load GROWTH_PREFIX=g GROWTH_KEYS=$nkeys GROWTH_SIZE=100 \
	    GROWTH_THREADS=2 GROWTH_MARK=$tmp/cg/mark \
	    wrk -t2 -c64 -d3600s -s "$here/growth.lua" "$url" >/dev/null &
	wpid=$!
	until [ -e "$tmp/cg/mark.0" ] && [ -e "$tmp/cg/mark.1" ]; do
		kill -0 $wpid 2>/dev/null || break
		sleep 0.2
	done
	kill -INT $wpid 2>/dev/null || true
	wait $wpid || true
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Vault-Token: $BENCH_TOKEN" \
	    "$url/v1/secret/data/g/k$((nkeys - 1))")" = 200 ] ||
	    { echo "instructions: the load of $nkeys secrets did not finish" >&2; exit 1; }
	kill $vpid
	wait $vpid || true
	cg
	unseal
	callgrind_control -z "$vpid" >/dev/null
	n=$(GROWTH_MODE=read GROWTH_PREFIX=g GROWTH_KEYS=$nkeys \
	    wrk -t1 -c4 -d10s -s "$here/growth.lua" "$url" |
	    awk '/requests in/ {print $1}')
	what="KV v2 read, cache misses ($nkeys stored, random keys)"
else
	cg
	init_unseal
	if [ "$mode" = audit ]; then
		curl -s -o /dev/null -X PUT -H "X-Vault-Token: $BENCH_TOKEN" \
		    -d "{\"type\":\"file\",\"options\":{\"file_path\":\"$tmp/cg/audit.log\"}}" \
		    "$url/v1/sys/audit/file"
	fi
	/usr/bin/python3 "$here/seed_kv.py" "$url"
	# Each secret read twice first: the document cache keeps a
	# document on its second miss, so what is counted is hits.
	[ "${INSTR_WARM:-1}" = 0 ] || wrk -t1 -c4 -d5s -s "$here/kv2_read.lua" "$url" >/dev/null
	callgrind_control -z "$vpid" >/dev/null
	n=$(wrk -t1 -c4 -d10s -s "$here/kv2_read.lua" "$url" |
	    awk '/requests in/ {print $1}')
	what="KV v2 read"
	[ "$mode" != audit ] || what="KV v2 read, one file audit device"
fi
callgrind_control -d "$vpid" >/dev/null
sleep 1
ir=$(callgrind_annotate "$tmp/cg/callgrind.out".* 2>/dev/null |
    awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
echo "$n $ir" | awk -v what="$what" '{ printf "%s: %d instructions per request (%d requests under callgrind)\n", what, $2 / $1, $1 }'
