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
 * keys.  Each measurement runs for PHASE_SECS (or PHASE_MAX_OPS).
 *
 * For lmdb only, after its lines, durable random updates over a large
 * store, in a new directory per store:
 *
 *	storage lmdb update 64thr Nkeys LAYOUT RATE ops/s
 *	storage lmdb update 1000000keys/1000keys RATIOx
 *	storage lmdb update 1000000keys together/1000keys RATIOx
 *
 * This is the storage-level ceiling for the KV v2 benchmark that writes
 * with 1,000 and then 1,000,000 secrets stored: whatever the engine
 * does, it cannot write faster than this.  N secrets are preloaded, a
 * META_LEN metadata key and a VERSION_LEN version key each; then
 * UPDATE_THREADS threads for UPDATE_SECS each pick a random secret and
 * write what a new version writes, one batch of two puts (new metadata,
 * new version key); an op is one such batch, durable when it returns.
 * Keys are random, so over a large B-tree each write dirties its own
 * leaf and branch pages rather than sharing them with the rest of its
 * group commit, and a commit writes (and syncs) more pages; the ratio
 * is what that costs.  LAYOUT "apart" is KV v2's (metadata under m/,
 * versions under v/); "together" keeps each secret's versions right
 * after its metadata, one leaf per write instead of two, and shows how
 * much of the cost a change of layout could win back.  Preloading
 * 1,000,000 secrets writes about 700 MB, so a whole run takes about
 * 45 s plus the two preloads (some 10 s each).  Nothing here asserts a
 * speed.
 */
#include "config.h"

#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
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

#define UPDATE_SECS	5.0	/* per store size: long enough for many commits */
#define UPDATE_THREADS	64	/* the KV engine's target load */
#define META_LEN	400	/* a KV v2 metadata record, about */
#define VERSION_LEN	200	/* a KV v2 version of a small secret, about */
#define PRELOAD_BATCH	5000	/* secrets per batch: few commits, few syncs */
#define UPDATE_KEY_LEN	96
/* A KV v2 mount's storage prefix: logical/<24-hex mount id>. */
#define KV_PREFIX	"logical/0123456789abcdef01234567"

struct job {
	struct storage	*st;
	int		 id;
	int		 phase;		/* put: keeps each phase's keys apart;
					   update: 1 for secret_keys' together */
	long		 nkeys;		/* get: keys 0..nkeys-1 of thread 0 */
	long		 ops;		/* out */
	double		 end;		/* out: when the thread stopped */
	int		 failed;	/* out */
};

static atomic_int	 stop;

/*
 * A secret's two keys.  Apart, as KV v2 lays them out: metadata under
 * m/, versions under v/, so one write dirties two leaves far apart.
 * Together: the versions right after their metadata ("k1", "k1/2"),
 * so one write dirties one leaf -- the most a layout change could buy.
 */
static void
secret_keys(int together, long i, long version, char *mkey, char *vkey)
{
	if (together) {
		snprintf(mkey, UPDATE_KEY_LEN, KV_PREFIX "/s/big/k%ld", i);
		snprintf(vkey, UPDATE_KEY_LEN, KV_PREFIX "/s/big/k%ld/%ld", i,
		    version);
	} else {
		snprintf(mkey, UPDATE_KEY_LEN, KV_PREFIX "/m/big/k%ld", i);
		snprintf(vkey, UPDATE_KEY_LEN, KV_PREFIX "/v/big/k%ld/%ld", i,
		    version);
	}
}

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
 * One KV v2 write of a new version to a random secret among nkeys, until
 * stopped.  The version number is unique across threads, so every write
 * inserts a new version key as the engine's do, never overwrites one.
 */
static void *
updater(void *arg)
{
	struct job		*j = arg;
	struct storage_op	 ops[2];
	char			 mkey[UPDATE_KEY_LEN], vkey[UPDATE_KEY_LEN];
	unsigned char		 meta[META_LEN], ver[VERSION_LEN];
	uint32_t		 i;

	while (!atomic_load(&stop) && j->ops < PHASE_MAX_OPS) {
		i = randombytes_uniform((uint32_t)j->nkeys);
		secret_keys(j->phase, i, 2 + j->ops * UPDATE_THREADS + j->id,
		    mkey, vkey);
		randombytes_buf(meta, sizeof(meta));
		randombytes_buf(ver, sizeof(ver));
		ops[0].kind = STORAGE_OP_PUT;
		ops[0].key = mkey;
		ops[0].val = meta;
		ops[0].len = sizeof(meta);
		ops[1].kind = STORAGE_OP_PUT;
		ops[1].key = vkey;
		ops[1].val = ver;
		ops[1].len = sizeof(ver);
		if (storage_batch(j->st, ops, 2) != CF_OK) {
			j->failed = 1;
			break;
		}
		j->ops++;
	}
	j->end = test_now();
	return NULL;
}

/*
 * Run fn on n threads for secs; the rate of all of them in *rate.
 * Returns the ops of thread 0, or -1 on failure.
 */
static long
run_threads(const char *backend, const char *what, void *(*fn)(void *),
    struct storage *st, int n, int id, long nkeys, double secs,
    double *rate)
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
	usleep((useconds_t)(secs * 1e6));
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
	*rate = total / (t1 - t0);
	return j[0].ops;
}

/*
 * Run fn on n threads for PHASE_SECS; print the rate.  Returns the ops
 * of thread 0, or -1 on failure.
 */
static long
phase(const char *backend, const char *what, void *(*fn)(void *),
    struct storage *st, int n, int id, long nkeys)
{
	double	 rate;
	long	 ops;

	if ((ops = run_threads(backend, what, fn, st, n, id, nkeys,
	    PHASE_SECS, &rate)) < 0)
		return -1;
	printf("storage %s %s %dthr %.0f ops/s\n", backend, what, n, rate);
	fflush(stdout);
	return ops;
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

/*
 * nsecrets secrets as KV v2 stores them, version 1 of each, with random
 * values (so that nothing compresses or dedups below us).  Batches of
 * PRELOAD_BATCH secrets: one put per key would be one sync per key.
 */
static int
preload(struct storage *st, long nsecrets, int together)
{
	struct storage_op	*ops;
	char			*keys;
	unsigned char		*vals;
	char			*mk, *vk;
	unsigned char		*mv;
	long			 i, k, n;
	int			 rc = -1;

	ops = calloc(2 * PRELOAD_BATCH, sizeof(*ops));
	keys = malloc(2 * PRELOAD_BATCH * UPDATE_KEY_LEN);
	vals = malloc(PRELOAD_BATCH * (META_LEN + VERSION_LEN));
	if (ops == NULL || keys == NULL || vals == NULL) {
		perror("bench_storage: preload");
		goto out;
	}
	for (i = 0; i < nsecrets; i += n) {
		n = nsecrets - i < PRELOAD_BATCH ? nsecrets - i : PRELOAD_BATCH;
		randombytes_buf(vals, n * (META_LEN + VERSION_LEN));
		for (k = 0; k < n; k++) {
			mk = keys + 2 * k * UPDATE_KEY_LEN;
			vk = mk + UPDATE_KEY_LEN;
			mv = vals + k * (META_LEN + VERSION_LEN);
			secret_keys(together, i + k, 1, mk, vk);
			ops[2 * k].kind = STORAGE_OP_PUT;
			ops[2 * k].key = mk;
			ops[2 * k].val = mv;
			ops[2 * k].len = META_LEN;
			ops[2 * k + 1].kind = STORAGE_OP_PUT;
			ops[2 * k + 1].key = vk;
			ops[2 * k + 1].val = mv + META_LEN;
			ops[2 * k + 1].len = VERSION_LEN;
		}
		if (storage_batch(st, ops, 2 * n) != CF_OK) {
			fprintf(stderr, "bench_storage: preload failed\n");
			goto out;
		}
	}
	rc = 0;
 out:
	free(ops);
	free(keys);
	free(vals);
	return rc;
}

/* A new backend store in a new directory under parent (dir: its path). */
static struct storage *
store_open(const char *backend, const char *parent, char *dir, size_t len)
{
	struct storage_conf	 sc;
	struct storage		*st;

	snprintf(dir, len, "%s/bench-%s-XXXXXX", parent, backend);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return NULL;
	}
	memset(&sc, 0, sizeof(sc));
	sc.path = dir;
	if (storage_open(backend, &sc, &st) != CF_OK) {
		fprintf(stderr, "bench_storage: cannot open %s\n", dir);
		test_rmtree(dir);
		return NULL;
	}
	return st;
}

static void
store_close(struct storage *st, const char *dir)
{
	storage_close(st);
	test_rmtree(dir);
}

/*
 * Preload nsecrets into a new lmdb store under parent, then update
 * random ones from UPDATE_THREADS threads; print the rate, store it in
 * *rate.
 */
static int
bench_update(const char *parent, long nsecrets, int together, double *rate)
{
	struct storage		*st;
	char			 dir[512], what[64];
	const char		*layout = together ? "together" : "apart";
	double			 t0;
	int			 rc = -1;

	if ((st = store_open("lmdb", parent, dir, sizeof(dir))) == NULL)
		return -1;
	t0 = test_now();
	if (preload(st, nsecrets, together) != 0)
		goto out;
	printf("# lmdb preload of %ld secrets (%s): %.1f s\n", nsecrets,
	    layout, test_now() - t0);
	snprintf(what, sizeof(what), "update %ldkeys %s", nsecrets, layout);
	if (run_threads("lmdb", what, updater, st, UPDATE_THREADS, together,
	    nsecrets, UPDATE_SECS, rate) < 0)
		goto out;
	printf("storage lmdb update %dthr %ldkeys %s %.0f ops/s\n",
	    UPDATE_THREADS, nsecrets, layout, *rate);
	fflush(stdout);
	rc = 0;
 out:
	store_close(st, dir);
	return rc;
}

/*
 * The update lines: a small store and a large one, as KV v2 lays its
 * keys out, their ratio, and the large one again with each secret's
 * keys together.
 */
static int
bench_updates(const char *parent)
{
	double	 small, large, together;

	printf("# storage lmdb update THREADS Nkeys LAYOUT RATE; an op: one "
	    "durable batch of a %d-byte metadata put and a %d-byte new "
	    "version put to a random one of N secrets\n", META_LEN,
	    VERSION_LEN);
	if (bench_update(parent, 1000, 0, &small) != 0 ||
	    bench_update(parent, 1000000, 0, &large) != 0)
		return -1;
	printf("storage lmdb update 1000000keys/1000keys %.2fx\n",
	    large / small);
	fflush(stdout);
	if (bench_update(parent, 1000000, 1, &together) != 0)
		return -1;
	printf("storage lmdb update 1000000keys together/1000keys %.2fx\n",
	    together / small);
	fflush(stdout);
	return 0;
}

static int
bench(const char *backend, const char *parent)
{
	struct storage		*st;
	char			 dir[512];
	long			 nkeys;
	int			 rc = -1;

	if ((st = store_open(backend, parent, dir, sizeof(dir))) == NULL)
		return -1;
	if ((nkeys = phase(backend, "put", putter, st, 1, 0, 0)) <= 0 ||
	    phase(backend, "put", putter, st, 16, 1, 0) < 0 ||
	    phase(backend, "put", putter, st, 64, 2, 0) < 0 ||
	    phase(backend, "get", getter, st, 1, 0, nkeys) < 0 ||
	    phase(backend, "get", getter, st, 16, 0, nkeys) < 0 ||
	    fill_list(st) != 0 ||
	    phase(backend, "list", lister, st, 1, 0, 0) < 0)
		goto out;
	rc = 0;
 out:
	store_close(st, dir);
	return rc;
}

int
main(int argc, char **argv)
{
	static const char *const names[] = { "lmdb", "file", "inmem" };
	const char		*parent;
	size_t			 i;
	int			 rc = 0;

	if (argc > 2) {
		fprintf(stderr, "usage: bench_storage [dir]\n");
		return 2;
	}
	parent = argc > 1 ? argv[1] : "/tmp";
	if (sodium_init() < 0)
		return 1;
	log_setlevel(LOG_LVL_ERROR);
	printf("# storage BACKEND OP THREADS RATE; put: %d-byte durable "
	    "values; list: a folder of %d keys\n", VALUE_LEN, LIST_KEYS);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (bench(names[i], parent) != 0)
			rc = 1;
		/* Only lmdb: the KV v2 growth benchmark's default backend. */
		if (strcmp(names[i], "lmdb") == 0 &&
		    bench_updates(parent) != 0)
			rc = 1;
	}
	return rc;
}
