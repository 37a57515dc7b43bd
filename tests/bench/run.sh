#!/bin/sh
# run.sh -- make bench: measure coffer and write BENCHMARKS.md.
#
# Runs the in-process C drivers, then starts the ceiling handler
# (tests/bench/ceiling.c) and a cofferd configured as shipped for
# production (LMDB in a temporary directory, mlock on, log level info,
# default workers) on free loopback ports, and drives both with wrk in
# the same run.  Each cofferd row is shown beside the ceiling's at the
# same connection count, as a ratio.  Every script used is in
# tests/bench/.  Nothing here asserts a time: it measures.
#
# BENCH_DURATION (default 10s) is the length of each wrk run;
# BENCH_ROUNDS (default 3) how many times each ratio to the ceiling is
# measured (the row shows the median round, and the range);
# BENCH_SECRETS (default 1000000) how many secrets tests/bench/growth.py
# stores for its cost-growth rows.
set -eu
cd "$(dirname "$0")/../.."
for t in wrk curl strace; do
	command -v $t >/dev/null || { echo "bench: $t is missing: apt-get install $t" >&2; exit 1; }
done

DUR=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
WORKERS=128			# cofferd's default worker_threads
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

# wrk_run CONNS URL [SCRIPT]: wrk's report in $res, req/s in $rps.
wrk_run() {
	if [ -n "${3:-}" ]; then
		res=$(wrk -t2 -c"$1" -d"$DUR" --latency -s "$3" "$2")
	else
		res=$(wrk -t2 -c"$1" -d"$DUR" --latency "$2")
	fi
	rps=$(echo "$res" | awk '/Requests\/sec/ {print $2}')
}

# measure FILE CEILING: the row's figures from $res and $rps, as one
# tab-separated line (ratio first, so that sort -n orders rounds by it)
# appended to FILE.
measure() {
	p50=$(echo "$res" | awk '$1=="50%" {print $2}')
	p99=$(echo "$res" | awk '$1=="99%" {print $2}')
	non2xx=$(echo "$res" | awk '/Non-2xx/ {print $NF}')
	serr=$(echo "$res" | awk '/Socket errors/ {sub(/.*errors: /, ""); print}')
	ratio=$(awk -v a="$rps" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$ratio" "$rps" "$p50" "$p99" \
	    "${non2xx:-0}" "${serr:-none}" >>"$1"
}

# row NAME CONNS FILE: one Markdown table row for the median round in
# FILE (by ratio to that round's ceiling, then by req/s), with the
# rounds' lowest and highest ratio beside it; the median's req/s is
# left in $row_rps.
row() {
	sort -t "$(printf '\t')" -k1,1n -k2,2n "$3" >"$3.sorted"
	n=$(wc -l <"$3.sorted")
	med=$(sed -n "$(( (n + 1) / 2 ))p" "$3.sorted")
	lo=$(head -1 "$3.sorted" | cut -f1)
	hi=$(tail -1 "$3.sorted" | cut -f1)
	row_rps=$(echo "$med" | cut -f2)
	echo "$med" | awk -F '\t' -v name="$1" -v c="$2" -v lo="$lo" -v hi="$hi" \
	    '{ printf "| %s | %s | %s | %sx | %s-%s | %s | %s | %s | %s |\n", name, c, $2, $1, lo, hi, $3, $4, $5, $6 }' >>"$out"
	echo "bench: $1 c=$2: median $row_rps req/s ($(echo "$med" | cut -f1)x the ceiling; rounds $lo-$hi)" >&2
}

{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` on $(date -u +%Y-%m-%d) ($(git rev-parse --short HEAD 2>/dev/null || echo unknown))."
	echo
	echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1,2)."
	echo "wrk runs on the same machine as the servers: they share the cores."
	echo
} >"$out"

# In-process drivers.
for prog in tests/bench/bench_storage tests/bench/bench_barrier tests/bench/bench_acl; do
	echo "## $(basename "$prog")" >>"$out"
	echo >>"$out"
	echo "Command: \`$prog DIR\`" >>"$out"
	echo >>"$out"
	echo '```' >>"$out"
	"$prog" "$tmp" >>"$out" 2>&1 || echo "($prog failed)" >>"$out"
	echo '```' >>"$out"
	echo >>"$out"
done

# The HTTP ceiling.
cport=$(free_port)
tests/bench/ceiling "$cport" $WORKERS &
pids="$pids $!"
wait_port "$cport"
curl="http://127.0.0.1:$cport/"

# cofferd on LMDB, as shipped for production: mlock on.
port=$(free_port)
mkdir -p "$tmp/data"
mlock=false
start_cofferd() {
	cat >"$tmp/cofferd.hcl" <<EOC
storage "lmdb" { path = "$tmp/data" }
listener "tcp" {
  address = "127.0.0.1:$port"
  tls_disable = true
}
disable_mlock = $mlock
log_level = "info"
EOC
	bin/cofferd -config "$tmp/cofferd.hcl" 2>>"$tmp/cofferd.log" &
	cpid=$!
	i=0
	while ! curl -s -o /dev/null "http://127.0.0.1:$port/"; do
		kill -0 $cpid 2>/dev/null || return 1
		i=$((i + 1)); [ $i -gt 200 ] && return 1
		sleep 0.05
	done
	pids="$pids $cpid"
}
if ! start_cofferd; then
	echo "bench: cofferd cannot lock its memory here; running with disable_mlock = true" >&2
	mlock=true
	start_cofferd || { cat "$tmp/cofferd.log" >&2; exit 1; }
fi
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

# KV v2 on secret/, seeded with the keys kv2_read.lua asks for.
curl -s -o /dev/null -X POST -H "X-Vault-Token: $BENCH_TOKEN" \
    -d '{"type":"kv","options":{"version":"2"}}' "$url/v1/sys/mounts/secret"
/usr/bin/python3 tests/bench/seed_kv.py "$url"

{
	echo "## Seal"
	echo
	echo "- init (1 share): $(( (t1 - t0) / 1000000 )) ms"
	echo "- last unseal share to serving (sys/health 200, measured with curl): $(( (t2 - t1) / 1000000 )) ms"
	echo
	echo "## HTTP under wrk"
	echo
	echo "Servers: \`tests/bench/ceiling PORT $WORKERS\` (the fastest civetweb"
	echo "handler: cofferd's head and a 23-byte body in one \`mg_write\`, same"
	echo "civetweb options) and \`bin/cofferd -config cofferd.hcl\` with"
	echo
	echo '```'
	sed "s|$tmp|TMP|" "$tmp/cofferd.hcl"
	echo '```'
	echo
	echo "Command per row: \`wrk -t2 -cN -d$DUR --latency [-s tests/bench/SCRIPT.lua] URL\`,"
	echo "with BENCH_TOKEN set to the root token.  KV v2 reads cycle over"
	echo "1,000 seeded secrets; writes are new versions of 10,000 keys, each"
	echo "acknowledged only once on disk.  Two cofferd runs of one row"
	echo "can differ by a tenth on this shared machine, so each ratio is"
	echo "measured $ROUNDS times (BENCH_ROUNDS): a round runs the ceiling, then"
	echo "each cofferd row, and divides by that round's ceiling.  A row shows"
	echo "its median round (req/s, ratio, latency) and the lowest and highest"
	echo "ratio of all rounds.  The durable write row is one run."
	echo
	echo "| what | connections | req/s | ratio to ceiling | ratio range | p50 | p99 | non-2xx | socket errors |"
	echo "|---|---|---|---|---|---|---|---|---|"
} >>"$out"

# Each round measures the ceiling, then each cofferd row against it.
names="health kv2_read token_lookup"
for c in 16 64; do
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		r=$((r + 1))
		wrk_run $c "$curl"
		ceil=$rps
		measure "$tmp/rounds.$c.ceiling" "$ceil"
		for n in $names; do
			if [ $n = health ]; then
				wrk_run $c "$url/v1/sys/health"
			else
				wrk_run $c "$url" tests/bench/$n.lua
			fi
			measure "$tmp/rounds.$c.$n" "$ceil"
		done
	done
	row "ceiling (tests/bench/ceiling.c)" $c "$tmp/rounds.$c.ceiling"
	row "cofferd sys/health" $c "$tmp/rounds.$c.health"
	row "cofferd KV v2 read (kv2_read.lua)" $c "$tmp/rounds.$c.kv2_read"
	# kv16: the median KV v2 read rate at 16 connections, for the audit row.
	[ $c = 16 ] && kv16=$row_rps
	row "cofferd token lookup-self (token_lookup.lua)" $c "$tmp/rounds.$c.token_lookup"
done
wrk_run 64 "$url" tests/bench/kv2_write.lua
measure "$tmp/rounds.write" "$ceil"
row "cofferd KV v2 durable write (kv2_write.lua)" 64 "$tmp/rounds.write"

# Writes per fdatasync: the same write load for 5 s under strace.
cpid=${pids##* }
strace -f -qq -c -e trace=fdatasync,fsync -o "$tmp/strace.txt" -p "$cpid" &
spid=$!
sleep 1
res=$(wrk -t2 -c64 -d5s -s tests/bench/kv2_write.lua "$url")
kill -INT $spid; wait $spid 2>/dev/null || true
nreq=$(echo "$res" | awk '/requests in/ {print $1}')
nsync=$(awk '$NF=="fdatasync" || $NF=="fsync" {n += $4} END {print n + 0}' "$tmp/strace.txt")
{
	echo
	echo "Durability: during a 5 s run of kv2_write.lua at 64 connections"
	echo "under \`strace -f -c -e trace=fdatasync,fsync\` (which slows it),"
	echo "cofferd answered $nreq writes with $nsync fdatasync/fsync calls:"
	echo "$(awk -v a="$nreq" -v b="$nsync" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }') acknowledged writes per sync (LMDB group commit)."
} >>"$out"
echo "bench: $nreq writes, $nsync syncs under strace" >&2

# An audit device's cost: the same KV v2 reads with a file device on.
curl -s -o /dev/null -X PUT -H "X-Vault-Token: $BENCH_TOKEN" \
    -d "{\"type\":\"file\",\"options\":{\"file_path\":\"$tmp/audit.log\"}}" \
    "$url/v1/sys/audit/file"
wrk_run 16 "$url" tests/bench/kv2_read.lua
arps=$rps
curl -s -o /dev/null -X DELETE -H "X-Vault-Token: $BENCH_TOKEN" \
    "$url/v1/sys/audit/file"
{
	echo
	echo "Audit: kv2_read.lua at 16 connections with one file audit device"
	echo "(\`PUT sys/audit/file\` with file_path in TMP, every entry written"
	echo "before the answer): $arps req/s, $(awk -v a="$arps" -v b="$kv16" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')x the $kv16 req/s"
	echo "of the same reads without it (issue 13: at least 0.7x)."
} >>"$out"
echo "bench: audit on: $arps req/s against $kv16" >&2

# Instructions per KV v2 read under callgrind (tests/bench/instructions.sh).
if command -v valgrind >/dev/null 2>&1; then
	{
		echo
		echo "Instructions: \`sh tests/bench/instructions.sh bin/cofferd TMP\`"
		echo "(callgrind counts user-space instructions, the same for the"
		echo "same binary however loaded the machine):"
		echo "$(sh tests/bench/instructions.sh bin/cofferd "$tmp" 2>/dev/null | tail -1)."
	} >>"$out"
fi

# HA failover: three nodes on one LMDB directory (tests/bench/ha.py).
{
	echo
	echo "## HA failover"
	echo
	echo "Command: \`/usr/bin/python3 tests/bench/ha.py bin/cofferd TMP 20 7\`"
	echo "(three HA nodes on loopback; from the step-down request or the"
	echo "SIGKILL to the first 200 on sys/health from another node, polled"
	echo "every 2 ms; the node that left is restarted and unsealed after"
	echo "each one; times in ms)."
	echo
	echo "| failover | n | median | min | max | issue 9 target |"
	echo "|---|---|---|---|---|---|"
	/usr/bin/python3 tests/bench/ha.py bin/cofferd "$tmp" 20 7 ||
	    echo "(tests/bench/ha.py failed or lost acknowledged writes)"
} >>"$out"

# HA on postgresql: failover and write rate (tests/bench/pg_ha.py).
{
	echo
	echo "## HA on PostgreSQL"
	echo
	echo "Command: \`/usr/bin/python3 tests/bench/pg_ha.py bin/cofferd TMP $DUR 7 3\`"
	echo "(a private PostgreSQL, fsync on; three HA nodes on one table;"
	echo "from the signal to the first 200 on sys/health from another node,"
	echo "polled every 2 ms; times in ms; then cofferd against pgbench on"
	echo "the same database)."
	echo
	/usr/bin/python3 tests/bench/pg_ha.py bin/cofferd "$tmp" "$DUR" 7 3 ||
	    echo "(tests/bench/pg_ha.py failed or lost acknowledged writes)"
} >>"$out"

# How cost grows: a cofferd of its own, 1,000 and BENCH_SECRETS secrets.
echo >>"$out"
/usr/bin/python3 tests/bench/growth.py bin/cofferd "$tmp" "$DUR" "$mlock" >>"$out" ||
    echo "(tests/bench/growth.py failed)" >>"$out"

cp "$out" BENCHMARKS.md
echo "bench: wrote BENCHMARKS.md" >&2
