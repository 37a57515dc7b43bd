#!/bin/sh
# lmdb_commits.sh -- what each LMDB group commit writes and how long its
# sync takes, for bench_storage's stores.
#
# usage: sh tests/bench/lmdb_commits.sh DIR
#
# Runs tests/bench/bench_storage DIR under strace (which slows it, so
# its rates are not the benchmark's) and prints, for each LMDB store
# that made at least 50 commits, over its last 50 (the update phase for
# the 1,000- and 1,000,000-secret stores): the bytes written to
# data.mdb before each fdatasync, and that fdatasync's time.  The
# stores are, in order: put/get/list, then the update stores of
# bench_storage's header (1,000 apart, 1,000,000 apart, 1,000,000
# together).  Divide by the ops per commit (the update ops over the
# commits after the preload) for a figure per write.  Not part of make
# bench: it is how one finds where a large store's write cost goes.
set -eu

dir=${1:?usage: lmdb_commits.sh DIR}
trace=$(mktemp)
trap 'rm -f "$trace"' EXIT INT TERM
strace -f -T -e trace=openat,fdatasync,pwrite64,pwritev -o "$trace" \
    tests/bench/bench_storage "$dir" | grep 'lmdb update' || true
awk '
# the descriptor LMDB writes pages to and syncs
/openat.*data\.mdb.*O_CREAT/ && match($0, /= [0-9]+ </) {
	s++; n[s] = 0; b = 0; fd = substr($0, RSTART + 2, RLENGTH - 4)
	next
}
$2 ~ "^pwrite(64|v)\\(" fd "," && match($0, /= [0-9]+ </) {
	b += substr($0, RSTART + 2, RLENGTH - 4)
}
$2 ~ "^fdatasync\\(" fd "\\)" && match($0, /<[0-9.]+>$/) {
	k = ++n[s]; by[s, k] = b; t[s, k] = substr($0, RSTART + 1, RLENGTH - 2)
	b = 0
}
END {
	for (i = 1; i <= s; i++) {
		if (n[i] < 50)
			continue
		sb = 0; st = 0
		for (k = n[i] - 49; k <= n[i]; k++) {
			sb += by[i, k]; st += t[i, k]
		}
		printf "store %d: %d commits; last 50: %.0f KiB written, %.2f ms fdatasync, per commit\n", i, n[i], sb / 50 / 1024, st / 50 * 1000
	}
}' "$trace"
