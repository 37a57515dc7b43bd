#!/bin/sh
#
# pgtest.sh -- a private PostgreSQL for the tests, on a free loopback port.
#
# Usage: tests/pgtest.sh run COMMAND [ARG ...]
#        tests/pgtest.sh start DIR | stop DIR | down DIR | up DIR
#
# run starts a server in a new temporary directory, runs COMMAND with
# COFFER_TEST_PG_URL set to its address, then stops it and removes the
# directory; it exits with COMMAND's status.  If the server cannot start,
# COMMAND runs without the variable (the tests that need it skip, saying
# why) and the reason is printed.  start initialises DIR (which must not
# exist) and prints the URL; stop stops it and removes DIR; down stops
# the server (at once, as a crash would) and up starts it again.
#
# PostgreSQL refuses to run as root, so as root the server runs as the
# postgres user (or nobody).  It trusts loopback connections and runs
# without fsync (it holds nothing but test data) unless PGTEST_FSYNC=on,
# as the benchmarks set it.  It listens on 127.0.0.1 unless PGTEST_LISTEN
# names other addresses (the partition test's, which also adds its
# networks to pg_hba.conf).

set -u

pg_bindir() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
	return 1
}

pg_user() {
	[ "$(id -u)" != 0 ] && return 0
	if id postgres >/dev/null 2>&1; then echo postgres; else echo nobody; fi
}

# as CMD...: run as the server's user.
as() {
	u=$(pg_user)
	if [ -n "$u" ]; then
		runuser -u "$u" -- "$@"
	else
		"$@"
	fi
}

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_start() {
	dir=$1
	bin=$(pg_bindir) || { echo "pgtest: PostgreSQL is not installed (apt-get install postgresql)" >&2; return 1; }
	mkdir -p "$dir" || return 1
	chmod 0755 "$dir"
	# The server's user must reach DIR (mkdtemp parents are 0700).
	chmod o+x "$(dirname "$dir")" 2>/dev/null
	u=$(pg_user)
	[ -n "$u" ] && chown "$u" "$dir"
	echo "$bin" >"$dir/bindir"
	free_port >"$dir/port" || return 1
	as "$bin/initdb" -D "$dir/data" -U coffer -A trust -E UTF8 \
	    --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
		echo "pgtest: initdb failed; see $dir/initdb.log" >&2
		cat "$dir/initdb.log" >&2
		return 1
	}
	pg_ctl_start "$dir"
}

pg_ctl_start() {
	dir=$1
	bin=$(cat "$dir/bindir")
	port=$(cat "$dir/port")
	as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
	    -o "-p $port -k $dir -c listen_addresses=${PGTEST_LISTEN:-127.0.0.1} -c fsync=${PGTEST_FSYNC:-off} -c max_connections=400" \
	    start >/dev/null || {
		echo "pgtest: the server did not start; see $dir/server.log" >&2
		tail -5 "$dir/server.log" >&2
		return 1
	}
	echo "postgres://coffer@127.0.0.1:$port/postgres?sslmode=disable"
}

pg_stop() {
	dir=$1
	[ -f "$dir/bindir" ] || return 0
	as "$(cat "$dir/bindir")/pg_ctl" -D "$dir/data" -m immediate -w stop \
	    >/dev/null 2>&1
	return 0
}

verb=${1:-}
[ $# -gt 0 ] && shift
case "$verb" in
start)	pg_start "$1" ;;
stop)	pg_stop "$1"; rm -rf "$1" ;;
down)	pg_stop "$1" ;;
up)	pg_ctl_start "$1" >/dev/null ;;
run)
	dir=$(mktemp -d /tmp/coffer-pg-XXXXXX) || exit 1
	rmdir "$dir"
	trap 'pg_stop "$dir"; rm -rf "$dir"' EXIT
	trap 'exit 130' INT TERM
	if url=$(pg_start "$dir"); then
		COFFER_TEST_PG_URL=$url
		export COFFER_TEST_PG_URL
	else
		echo "pgtest: no test database; PostgreSQL tests will skip" >&2
	fi
	"$@"
	;;
*)	echo "usage: pgtest.sh run COMMAND ... | start|stop|down|up DIR" >&2
	exit 2 ;;
esac
