#!/bin/sh
# lmdb_commits.sh -- what each LMDB group commit writes and how long its
# sync takes, for bench_storage's stores.
#
# usage: sh tests/bench/lmdb_commits.sh DIR
#
# Runs tests/bench/bench_storage DIR (built by make bench; run this from
# the project's root) under strace, which slows it, so its rates are not
# the benchmark's.  Prints, for each LMDB store that made at least 50
# commits, over its last 50 (the update phase for the 1,000- and
# 1,000,000-secret stores): the bytes of pages written to data.mdb
# before each commit's sync, and the time of its two syncs (LMDB's
# fdatasync of the pages, then its write of the meta page through a
# second, O_DSYNC descriptor).  The stores are, in order: put/get/list,
# then the update stores of bench_storage's header (1,000 apart,
# 1,000,000 apart, 1,000,000 together).  Divide by the ops per commit
# (the update ops over the commits after the preload) for a figure per
# write.  Not part of make bench: it is how one finds where a large
# store's write cost goes.
set -eu

dir=${1:?usage: lmdb_commits.sh DIR}
if [ ! -x tests/bench/bench_storage ]; then
	echo "lmdb_commits.sh: no tests/bench/bench_storage; run make tests/bench/bench_storage in the project's root" >&2
	exit 2
fi
trace=$(mktemp)
trap 'rm -f "$trace"' EXIT INT TERM
strace -f -T -e trace=openat,fdatasync,pwrite64,pwritev -o "$trace" \
    tests/bench/bench_storage "$dir" | grep 'lmdb update' || true
awk '
# LMDB opens data.mdb twice: pages go to the first descriptor and are
# synced with fdatasync; the meta page goes to the O_DSYNC one.
/openat.*data\.mdb.*O_CREAT/ && match($0, /= [0-9]+ </) {
	s++; n[s] = 0; b = 0; w = 0; fd = substr($0, RSTART + 2, RLENGTH - 4)
	next
}
/openat.*data\.mdb.*O_DSYNC/ && match($0, /= [0-9]+ </) {
	mfd = substr($0, RSTART + 2, RLENGTH - 4)
	next
}
$2 ~ "^pwrite(64|v)\\(" fd "," && match($0, /= [0-9]+ </) {
	b += substr($0, RSTART + 2, RLENGTH - 4)
}
$2 ~ "^fdatasync\\(" fd "\\)" && match($0, /<[0-9.]+>$/) {
	w = substr($0, RSTART + 1, RLENGTH - 2)
}
# the meta page ends the commit
$2 ~ "^pwrite64\\(" mfd "," && match($0, /<[0-9.]+>$/) {
	k = ++n[s]; by[s, k] = b
	t[s, k] = w + substr($0, RSTART + 1, RLENGTH - 2)
	b = 0; w = 0
}
END {
	for (i = 1; i <= s; i++) {
		if (n[i] < 50)
			continue
		sb = 0; st = 0
		for (k = n[i] - 49; k <= n[i]; k++) {
			sb += by[i, k]; st += t[i, k]
		}
		printf "store %d: %d commits; last 50: %.0f KiB written, %.2f ms syncing, per commit\n", i, n[i], sb / 50 / 1024, st / 50 * 1000
	}
}' "$trace"
