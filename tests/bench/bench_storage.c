/*
 * bench_storage.c -- put, get and list throughput of each backend.
 *
 * usage: bench_storage [dir]
 *
 * For lmdb, file and inmem in turn, in a new directory under dir (or
 * /tmp), prints one line per measurement on stdout:
 *
 *	storage BACKEND OP Nthr RATE ops/s
 *
 * put: 256-byte values under distinct keys; a put is durable when it
 * returns, so the 16- and 64-thread lines show what LMDB's group commit
 * buys (64 concurrent writers is the KV engine's target load).  get:
 * random reads of keys written before.  list: a folder of LIST_KEYS
 * keys.  Each measurement runs for PHASE_SECS (or PHASE_MAX_OPS), so a
 * whole run takes about 20 s.  Nothing here asserts a speed.
 */
#include "config.h"

#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
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
#include "../testutil.h"

#define PHASE_SECS	1.0
#define PHASE_MAX_OPS	300000	/* per thread: keeps inmem's keys bounded */
#define MAX_THREADS	64
#define LIST_KEYS	1000
#define VALUE_LEN	256

struct job {
	struct storage	*st;
	int		 id;
	int		 phase;		/* keeps each put phase's keys apart */
	long		 nkeys;		/* get: keys 0..nkeys-1 of thread 0 */
	long		 ops;		/* out */
	double		 end;		/* out: when the thread stopped */
	int		 failed;	/* out */
};

static atomic_int	 stop;

static void *
putter(void *arg)
{
	struct job	*j = arg;
	char		 key[64], val[VALUE_LEN];

	memset(val, 'v', sizeof(val));
	while (!atomic_load(&stop) && j->ops < PHASE_MAX_OPS) {
		snprintf(key, sizeof(key), "bench/p%d/t%d/k%ld", j->phase,
		    j->id, j->ops);
		if (storage_put(j->st, key, val, sizeof(val)) != CF_OK) {
			j->failed = 1;
			break;
		}
		j->ops++;
	}
	j->end = test_now();
	return NULL;
}

static void *
getter(void *arg)
{
	struct job	*j = arg;
	struct buf	 b = BUF_INIT;
	char		 key[64];

	while (!atomic_load(&stop) && j->ops < PHASE_MAX_OPS) {
		snprintf(key, sizeof(key), "bench/p0/t0/k%ld",
		    (long)randombytes_uniform((uint32_t)j->nkeys));
		if (storage_get(j->st, key, &b) != CF_OK) {
			j->failed = 1;
			break;
		}
		j->ops++;
	}
	j->end = test_now();
	buf_free(&b);
	return NULL;
}

static void *
lister(void *arg)
{
	struct job	*j = arg;
	struct strv	 sv = STRV_INIT;

	while (!atomic_load(&stop) && j->ops < PHASE_MAX_OPS) {
		if (storage_list(j->st, "bench/list/", &sv) != CF_OK ||
		    sv.n != LIST_KEYS) {
			j->failed = 1;
			break;
		}
		strv_free(&sv);
		j->ops++;
	}
	j->end = test_now();
	strv_free(&sv);
	return NULL;
}

/*
 * Run fn on n threads for PHASE_SECS; print the rate.  Returns the ops
 * of thread 0, or -1 on failure.
 */
static long
phase(const char *backend, const char *what, void *(*fn)(void *),
    struct storage *st, int n, int id, long nkeys)
{
	pthread_t	 t[MAX_THREADS];
	struct job	 j[MAX_THREADS];
	double		 t0, t1;
	long		 total = 0;
	int		 i, failed = 0;

	atomic_store(&stop, 0);
	t0 = test_now();
	for (i = 0; i < n; i++) {
		memset(&j[i], 0, sizeof(j[i]));
		j[i].st = st;
		j[i].id = i;
		j[i].phase = id;
		j[i].nkeys = nkeys;
		if (pthread_create(&t[i], NULL, fn, &j[i]) != 0) {
			fprintf(stderr, "bench_storage: pthread_create\n");
			exit(1);
		}
	}
	usleep((useconds_t)(PHASE_SECS * 1e6));
	atomic_store(&stop, 1);
	/* A thread that reached PHASE_MAX_OPS stopped early: time to it. */
	t1 = t0;
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		total += j[i].ops;
		failed |= j[i].failed;
		if (j[i].end > t1)
			t1 = j[i].end;
	}
	if (failed) {
		fprintf(stderr, "bench_storage: %s %s failed\n", backend, what);
		return -1;
	}
	printf("storage %s %s %dthr %.0f ops/s\n", backend, what, n,
	    total / (t1 - t0));
	fflush(stdout);
	return j[0].ops;
}

/* The folder that list reads: LIST_KEYS keys, in batches of 100. */
static int
fill_list(struct storage *st)
{
	struct storage_op	 ops[100];
	char			 keys[100][32];
	int			 i, k;

	for (i = 0; i < LIST_KEYS; i += 100) {
		for (k = 0; k < 100; k++) {
			snprintf(keys[k], sizeof(keys[k]), "bench/list/k%04d",
			    i + k);
			ops[k].kind = STORAGE_OP_PUT;
			ops[k].key = keys[k];
			ops[k].val = "v";
			ops[k].len = 1;
		}
		if (storage_batch(st, ops, 100) != CF_OK)
			return -1;
	}
	return 0;
}

static int
bench(const char *backend, const char *parent)
{
	struct storage_conf	 sc;
	struct storage		*st;
	char			 dir[512];
	long			 nkeys;
	int			 rc = -1;

	snprintf(dir, sizeof(dir), "%s/bench-%s-XXXXXX", parent, backend);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return -1;
	}
	memset(&sc, 0, sizeof(sc));
	sc.path = dir;
	if (storage_open(backend, &sc, &st) != CF_OK) {
		fprintf(stderr, "bench_storage: cannot open %s\n", dir);
		goto out;
	}
	if ((nkeys = phase(backend, "put", putter, st, 1, 0, 0)) <= 0 ||
	    phase(backend, "put", putter, st, 16, 1, 0) < 0 ||
	    phase(backend, "put", putter, st, 64, 2, 0) < 0 ||
	    phase(backend, "get", getter, st, 1, 0, nkeys) < 0 ||
	    phase(backend, "get", getter, st, 16, 0, nkeys) < 0 ||
	    fill_list(st) != 0 ||
	    phase(backend, "list", lister, st, 1, 0, 0) < 0)
		goto close;
	rc = 0;
 close:
	storage_close(st);
 out:
	test_rmtree(dir);
	return rc;
}

int
main(int argc, char **argv)
{
	static const char *const names[] = { "lmdb", "file", "inmem" };
	size_t			 i;
	int			 rc = 0;

	if (argc > 2) {
		fprintf(stderr, "usage: bench_storage [dir]\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	log_setlevel(LOG_LVL_ERROR);
	printf("# storage BACKEND OP THREADS RATE; put: %d-byte durable "
	    "values; list: a folder of %d keys\n", VALUE_LEN, LIST_KEYS);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bench(names[i], argc > 1 ? argv[1] : "/tmp") != 0)
			rc = 1;
	return rc;
}
