/*
 * transit_store.c -- the transit engine's per-mount key store: each
 * key's record in storage and the cache of loaded keys.
 *
 * Loaded keys are cached per mount (struct tkey_store in m->ctx) so that
 * an encryption costs no storage read and no JSON parsing.  Keys are
 * immutable (transit_keys.c): a change (create, rotate, config, delete)
 * builds a new tkey, writes the record and swaps the cache entry;
 * requests still holding the old one finish with it and the last
 * reference frees (and so wipes) it.  The cache holds at most
 * TR_CACHE_MAX keys per mount, least recently used out first, because
 * every key's sodium_malloc block costs several mappings and the
 * process has a finite number of them.  Sealing unmounts every mount,
 * and tkey_store_free() frees every cached key, so no key material
 * outlives the unsealed state.
 *
 * Threads: tr->mu guards the cache array, tick and reference counts; it
 * is held for a storage read on a cache miss, never for cryptography.
 * tr->wmu serializes changes (read-modify-write of a record) and is
 * taken before tr->mu.  Both rank with the other cache locks (after the
 * core lock, before the storage backends' locks).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core.h"
#include "err.h"
#include "lock.h"
#include "router.h"
#include "transit_keys.h"
#include "transit_store.h"

#define TR_CACHE_MAX	128

struct tkey_store {
	pthread_mutex_t	 mu;		/* cache, refs, tick */
	pthread_mutex_t	 wmu;		/* changes; taken before mu */
	struct tkey	*cache[TR_CACHE_MAX];
	size_t		 n;
	unsigned long	 tick;
};

/* ---- locks ------------------------------------------------------- */

static void
tr_lock(pthread_mutex_t *mu, int level)
{
	lock_mutex(mu, level);
}

static void
tr_unlock(pthread_mutex_t *mu)
{
	unlock_mutex(mu);
}

/* ---- the cache --------------------------------------------------- */

static char *
record_path(const struct mount *m, const char *name)
{
	char	*p = NULL;

	if (asprintf(&p, "%spolicy/%s", m->view, name) == -1)
		return NULL;
	return p;
}

void
tkey_unref(struct tkey_store *tr, struct tkey *k)
{
	int	 last;

	if (k == NULL)
		return;
	tr_lock(&tr->mu, LOCK_TABLE);
	last = --k->refs == 0;
	tr_unlock(&tr->mu);
	if (last)
		tkey_free(k);
}

/* Index of name in the cache, or -1; under tr->mu. */
static int
cache_find(struct tkey_store *tr, const char *name)
{
	size_t	 i;

	for (i = 0; i < tr->n; i++)
		if (strcmp(tr->cache[i]->name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * Drop the cache's reference to entry i; under tr->mu.  The key is
 * returned when that was the last reference, to be freed (which means
 * munmap) after the lock is released.
 */
static struct tkey *
cache_drop(struct tkey_store *tr, size_t i)
{
	struct tkey	*k = tr->cache[i];

	tr->cache[i] = tr->cache[--tr->n];
	return --k->refs == 0 ? k : NULL;
}

/*
 * Put k in the cache (replacing any entry of that name), taking the
 * reference the caller passes in; under tr->mu.  Returns a key to free
 * after unlocking, or NULL.
 */
static struct tkey *
cache_insert(struct tkey_store *tr, struct tkey *k)
{
	struct tkey	*gone = NULL;
	size_t		 i, lru;
	int		 at;

	if ((at = cache_find(tr, k->name)) >= 0)
		gone = cache_drop(tr, (size_t)at);
	else if (tr->n == TR_CACHE_MAX) {
		for (lru = 0, i = 1; i < tr->n; i++)
			if (tr->cache[i]->used < tr->cache[lru]->used)
				lru = i;
		gone = cache_drop(tr, lru);
	}
	k->used = ++tr->tick;
	tr->cache[tr->n++] = k;
	return gone;
}

/*
 * The named key with a reference for the caller (release with
 * tkey_unref).  CF_ENOTFOUND if there is none.  A miss reads storage
 * under tr->mu, so that a concurrent change cannot slip an older record
 * into the cache after its own swap.
 */
int
tkey_get(struct mount *m, const char *name, struct tkey **out)
{
	struct tkey_store	*tr = m->ctx;
	struct tkey	*k = NULL, *gone = NULL;
	json_t		*j = NULL;
	char		*p;
	int		 at, rc;

	*out = NULL;
	tr_lock(&tr->mu, LOCK_TABLE);
	if ((at = cache_find(tr, name)) >= 0) {
		k = tr->cache[at];
		k->refs++;
		k->used = ++tr->tick;
		tr_unlock(&tr->mu);
		*out = k;
		return CF_OK;
	}
	if ((p = record_path(m, name)) == NULL)
		rc = CF_ENOMEM;
	else
		rc = core_get_json(p, &j);
	free(p);
	if (rc == CF_OK && (rc = tkey_parse(name, j, &k)) == CF_OK) {
		k->refs = 2;		/* the cache's and the caller's */
		gone = cache_insert(tr, k);
		*out = k;
	}
	tr_unlock(&tr->mu);
	json_decref(j);			/* wiped by the jansson allocator */
	tkey_free(gone);
	return rc;
}

/*
 * Store k as name's record and make it the cached key, consuming the
 * caller's reference; with out, hand back a new reference to it.
 * Called with tr->wmu held.
 */
int
tkey_commit(struct mount *m, struct tkey *k, struct tkey **out)
{
	struct tkey_store	*tr = m->ctx;
	struct tkey	*gone;
	json_t		*j;
	char		*p = NULL;
	int		 rc;

	if (out != NULL)
		*out = NULL;
	if ((j = tkey_emit(k)) == NULL || (p = record_path(m, k->name)) ==
	    NULL) {
		json_decref(j);
		tkey_free(k);
		return CF_ENOMEM;
	}
	rc = core_put_json(p, j);
	free(p);
	json_decref(j);
	if (rc != CF_OK) {
		tkey_free(k);
		return rc;
	}
	k->refs = out != NULL ? 2 : 1;
	tr_lock(&tr->mu, LOCK_TABLE);
	gone = cache_insert(tr, k);
	tr_unlock(&tr->mu);
	tkey_free(gone);
	if (out != NULL)
		*out = k;
	return CF_OK;
}

/* Forget name (after its record was deleted); tr->wmu held. */
static void
cache_forget(struct tkey_store *tr, const char *name)
{
	struct tkey	*gone = NULL;
	int		 at;

	tr_lock(&tr->mu, LOCK_TABLE);
	if ((at = cache_find(tr, name)) >= 0)
		gone = cache_drop(tr, (size_t)at);
	tr_unlock(&tr->mu);
	tkey_free(gone);
}
int
tkey_del(struct mount *m, const char *name)
{
	char	*p;
	int	 rc;

	if ((p = record_path(m, name)) == NULL)
		return CF_ENOMEM;
	rc = core_del(p);
	free(p);
	if (rc == CF_OK || rc == CF_ENOTFOUND) {
		cache_forget(m->ctx, name);
		rc = CF_OK;
	}
	return rc;
}

int
tkey_list(struct mount *m, json_t **out)
{
	char	*p = NULL;
	int	 rc;

	*out = NULL;
	if (asprintf(&p, "%spolicy/", m->view) == -1)
		return CF_ENOMEM;
	rc = core_list_json(p, out);
	free(p);
	return rc;
}

/* ---- the store --------------------------------------------------- */

struct tkey_store *
tkey_store_new(void)
{
	struct tkey_store	*tr;

	if ((tr = calloc(1, sizeof(*tr))) == NULL)
		return NULL;
	if (pthread_mutex_init(&tr->mu, NULL) != 0) {
		free(tr);
		return NULL;
	}
	if (pthread_mutex_init(&tr->wmu, NULL) != 0) {
		pthread_mutex_destroy(&tr->mu);
		free(tr);
		return NULL;
	}
	return tr;
}

void
tkey_store_free(struct tkey_store *tr)
{
	size_t	 i;

	if (tr == NULL)
		return;
	for (i = 0; i < tr->n; i++)
		tkey_free(tr->cache[i]);
	pthread_mutex_destroy(&tr->mu);
	pthread_mutex_destroy(&tr->wmu);
	free(tr);
}

void
tkey_store_lock(struct tkey_store *tr)
{
	tr_lock(&tr->wmu, LOCK_RECORD);
}

void
tkey_store_unlock(struct tkey_store *tr)
{
	tr_unlock(&tr->wmu);
}
