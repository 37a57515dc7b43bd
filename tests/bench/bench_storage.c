/*
 * bench_storage.c -- put, get and list throughput of each backend.
 *
 * usage: bench_storage [dir]
 * Prints one line per measurement: "storage BACKEND OP THREADS N ops/s".
 * Puts are durable (each returns after its commit reached the disk), so
 * the 16-thread line shows what LMDB's group commit buys.
 */
#include "config.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "storage.h"

#define NKEYS	2000

struct job {
	struct storage	*st;
	int		 id;
	int		 n;
};

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
putter(void *arg)
{
	struct job	*j = arg;
	char		 key[64], val[256];
	int		 i;

	memset(val, 'v', sizeof(val));
	for (i = 0; i < j->n; i++) {
		snprintf(key, sizeof(key), "bench/t%d/k%d", j->id, i);
		if (storage_put(j->st, key, val, sizeof(val)) != CF_OK)
			abort();
	}
	return NULL;
}

static void *
getter(void *arg)
{
	struct job	*j = arg;
	struct buf	 b = BUF_INIT;
	char		 key[64];
	int		 i;

	for (i = 0; i < j->n; i++) {
		snprintf(key, sizeof(key), "bench/t0/k%d", i % NKEYS);
		if (storage_get(j->st, key, &b) != CF_OK)
			abort();
	}
	buf_free(&b);
	return NULL;
}

static double
run(void *(*fn)(void *), struct storage *st, int threads, int per)
{
	pthread_t	 t[64];
	struct job	 j[64];
	double		 t0 = now();
	int		 i;

	for (i = 0; i < threads; i++) {
		j[i].st = st;
		j[i].id = i;
		j[i].n = per;
		pthread_create(&t[i], NULL, fn, &j[i]);
	}
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return threads * per / (now() - t0);
}

static int
rm_entry(const char *p, const struct stat *sb, int fl, struct FTW *f)
{
	(void)sb;
	(void)fl;
	(void)f;
	return remove(p);
}

int
main(int argc, char **argv)
{
	static const char *const names[] = { "lmdb", "file", "inmem" };
	struct storage_conf	 sc;
	struct storage		*st;
	struct strv		 sv = STRV_INIT;
	char			 dir[512];
	double			 t0;
	size_t			 b;
	int			 i, lists = 200;

	if (sodium_init() < 0)
		return 1;
	log_setlevel(LOG_LVL_ERROR);
	for (b = 0; b < 3; b++) {
		snprintf(dir, sizeof(dir), "%s/bench-%s-XXXXXX",
		    argc > 1 ? argv[1] : "/tmp", names[b]);
		if (mkdtemp(dir) == NULL)
			return 1;
		memset(&sc, 0, sizeof(sc));
		sc.path = dir;
		if (storage_open(names[b], &sc, &st) != CF_OK)
			return 1;
		printf("storage %-5s put  1 thread   %9.0f ops/s\n", names[b],
		    run(putter, st, 1, NKEYS));
		printf("storage %-5s put  16 threads %9.0f ops/s\n", names[b],
		    run(putter, st, 16, NKEYS / 8));
		printf("storage %-5s get  1 thread   %9.0f ops/s\n", names[b],
		    run(getter, st, 1, 100000));
		printf("storage %-5s get  2 threads  %9.0f ops/s\n", names[b],
		    run(getter, st, 2, 100000));
		t0 = now();
		for (i = 0; i < lists; i++) {
			if (storage_list(st, "bench/t0/", &sv) != CF_OK)
				return 1;
			strv_free(&sv);
		}
		printf("storage %-5s list of %d keys %9.0f ops/s\n", names[b],
		    NKEYS, lists / (now() - t0));
		fflush(stdout);
		storage_close(st);
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	return 0;
}
