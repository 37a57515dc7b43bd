#!/bin/sh
#
# run.sh -- build and run coffer's libFuzzer targets.  See README.md.
#
#	sh tests/fuzz/run.sh build TARGET...
#	sh tests/fuzz/run.sh fuzz TARGET...	(build, then fuzz each)
#	sh tests/fuzz/run.sh regress TARGET...	(build, then replay corpora)
#
# A target NAME is tests/fuzz/fuzz_NAME.c with its seeds in
# tests/fuzz/corpus/NAME/ and, optionally, a dictionary in
# tests/fuzz/NAME.dict.  The library sources (LIB_SRCS, from the
# Makefile) are compiled with clang and -fsanitize=fuzzer-no-link into
# tests/fuzz/build/, away from the objects of the normal build.
#
# Fuzzing keeps what it learns in tests/fuzz/build/corpus/NAME (not
# committed) and writes a crashing input to tests/fuzz/build/crashes/NAME/.
# Every target runs even when one fails; the exit status is 1 if any
# failed, and each failure prints its reproducer and the command that
# replays it.  To keep a crash as a regression test, copy the reproducer
# into tests/fuzz/corpus/NAME/ once it is fixed.
#
# Environment: FUZZ_CC (clang), CFLAGS, LDADD, LIB_SRCS, FUZZ_SECONDS
# (60, per target), FUZZ_FLAGS (more libFuzzer options).

set -u

FUZZ_CC=${FUZZ_CC:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_FLAGS=${FUZZ_FLAGS:-}
CFLAGS=${CFLAGS:-}
LDADD=${LDADD:-}
LIB_SRCS=${LIB_SRCS:-}

# Stack traces for UBSan reports too.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export UBSAN_OPTIONS

DIR=tests/fuzz
BUILD=$DIR/build
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all \
-fno-omit-frame-pointer -U_FORTIFY_SOURCE"
FLAGS="$CFLAGS $SAN -DCOFFER_FUZZ=1"

usage()
{
	echo "usage: sh $DIR/run.sh build|fuzz|regress target ..." >&2
	exit 2
}

die()
{
	echo "fuzz: $*" >&2
	exit 1
}

# Is $1 missing or older than any of the remaining files?
stale()
{
	out=$1
	shift
	[ -f "$out" ] || return 0
	[ -n "$(find "$@" -newer "$out")" ]
}

build()
{
	command -v "$FUZZ_CC" >/dev/null ||
	    die "$FUZZ_CC is missing: apt-get install clang"
	[ -n "$LIB_SRCS" ] || die "LIB_SRCS is empty; run it from make"
	mkdir -p "$BUILD/obj" || exit 1

	# Other flags or another compiler: start again.
	echo "$FUZZ_CC $FLAGS" | cmp -s - "$BUILD/.flags" || {
		rm -rf "$BUILD/obj" "$BUILD/libcoffer.a"
		mkdir -p "$BUILD/obj" || exit 1
		echo "$FUZZ_CC $FLAGS" > "$BUILD/.flags"
	}

	# Any header or config.h newer than an object rebuilds it.
	hdrs="config.h $(ls util/*.h backends/*.h seal/*.h core/*.h \
	    auth/*.h engines/*.h server/*.h 2>/dev/null)"
	objs=
	for src in $LIB_SRCS; do
		obj=$BUILD/obj/$(echo "${src%.c}" | tr / _).o
		objs="$objs $obj"
		# shellcheck disable=SC2086
		if stale "$obj" "$src" $hdrs; then
			echo "$FUZZ_CC -c $src"
			# shellcheck disable=SC2086
			$FUZZ_CC $FLAGS -fsanitize=fuzzer-no-link -c -o "$obj" \
			    "$src" || exit 1
		fi
	done
	# shellcheck disable=SC2086
	if stale "$BUILD/libcoffer.a" $objs; then
		rm -f "$BUILD/libcoffer.a"
		# shellcheck disable=SC2086
		ar rcs "$BUILD/libcoffer.a" $objs || exit 1
	fi

	for t in $TARGETS; do
		src=$DIR/fuzz_$t.c
		[ -f "$src" ] || die "no $src for target $t"
		# shellcheck disable=SC2086
		if stale "$BUILD/fuzz_$t" "$src" "$DIR/fuzz_driver.h" \
		    "$BUILD/libcoffer.a" $hdrs; then
			echo "$FUZZ_CC -o $BUILD/fuzz_$t"
			# shellcheck disable=SC2086
			$FUZZ_CC $FLAGS -fsanitize=fuzzer -o "$BUILD/fuzz_$t" \
			    "$src" "$BUILD/libcoffer.a" $LDADD || exit 1
		fi
	done
}

# Print why target $1 failed, from its log $2, and where its input is.
report()
{
	t=$1
	log=$2
	repro=$3
	echo "== $t: FAILED (log: $log)"
	grep -E '^(==[0-9]+==|SUMMARY|.*runtime error|.*Assertion|    #[0-9] )' \
	    "$log" | head -n 30
	if [ -n "$repro" ] && [ -f "$repro" ]; then
		echo "reproducer: $repro"
		echo "replay: $BUILD/fuzz_$t $repro"
	fi
}

fuzz()
{
	fail=0
	for t in $TARGETS; do
		seeds=$DIR/corpus/$t
		work=$BUILD/corpus/$t
		crashes=$BUILD/crashes/$t
		log=$BUILD/fuzz_$t.log
		[ -d "$seeds" ] || die "no seed corpus $seeds"
		mkdir -p "$work" "$crashes" || exit 1
		dict=
		[ -f "$DIR/$t.dict" ] && dict=-dict=$DIR/$t.dict
		echo "== $t: fuzzing for ${FUZZ_SECONDS}s"
		# New inputs go to the first directory, never to the seeds.
		# shellcheck disable=SC2086
		if "$BUILD/fuzz_$t" -max_total_time="$FUZZ_SECONDS" \
		    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		    -artifact_prefix="$crashes/" $dict $FUZZ_FLAGS \
		    "$work" "$seeds" >"$log" 2>&1; then
			grep -E '^(Done|stat::number_of_executed_units)' \
			    "$log" | tail -n 1
			grep -E '#[0-9]+.*cov:' "$log" | tail -n 1
		else
			# libFuzzer names the file it wrote.
			repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' \
			    "$log" | tail -n 1)
			report "$t" "$log" "$repro"
			fail=1
		fi
	done
	return $fail
}

regress()
{
	fail=0
	for t in $TARGETS; do
		seeds=$DIR/corpus/$t
		log=$BUILD/regress_$t.log
		[ -d "$seeds" ] || die "no seed corpus $seeds"
		set -- "$seeds"/*
		n=$#
		if "$BUILD/fuzz_$t" "$seeds"/* >"$log" 2>&1; then
			echo "== $t: $n inputs ok"
		else
			repro=$(sed -n 's/^Running: \(.*\)$/\1/p' "$log" |
			    tail -n 1)
			report "$t" "$log" "$repro"
			fail=1
		fi
	done
	return $fail
}

[ $# -ge 2 ] || usage
mode=$1
shift
TARGETS=$*

case $mode in
build)
	build
	;;
fuzz)
	build && fuzz
	;;
regress)
	build && regress
	;;
*)
	usage
	;;
esac
