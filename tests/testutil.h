/*
 * testutil.h -- small helpers the unit tests and the benchmarks share
 * (tests/unit/, tests/bench/): a clock for rates and removing a
 * scratch directory.
 *
 * Unlike a library header, this one defines its functions, static
 * inline: each program includes it from its own .c files and the
 * library has no test code to link them from.
 */
#ifndef COFFER_TESTS_TESTUTIL_H
#define COFFER_TESTS_TESTUTIL_H

#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>
#include <time.h>

/* Seconds on the monotonic clock, to the nanosecond: for rates. */
static inline double
test_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline int
test_rm_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

/* Remove the tree at dir, depth first, not following links; nftw's result. */
static inline int
test_rmtree(const char *dir)
{
	return nftw(dir, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif /* COFFER_TESTS_TESTUTIL_H */
