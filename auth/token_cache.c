/*
 * token_cache.c -- the token store's cache of decoded entries.
 *
 * Decoded entries of the tokens in use, so that a request does not read,
 * decrypt and parse its token's entry each time.  Keyed by the salted
 * hash (never the token), direct-mapped on it, one mutex per stripe of
 * slots.  The cache keeps its own copy in a struct tentry and hands out
 * counted references to it: a cached entry is read-only for everyone,
 * never changed in place, only replaced, and freed by whoever drops the
 * last reference.  The count is ours, not jansson's, so that the free
 * is ordered after every reader's use where ThreadSanitizer can see
 * it.  Responses built from an entry copy it (lookup_data).  Every
 * write or delete of a token's entry
 * drops its slot after the storage call and bumps the generation; a
 * miss notes the generation before reading storage and keeps what it
 * read only if no drop happened since, so an entry revoked meanwhile
 * is never cached again.  Tokens with num_uses and batch tokens are not
 * cached.  The whole cache goes when the node becomes or leaves active.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "lock.h"
#include "token_cache.h"

#define TCACHE_SLOTS	4096
#define TCACHE_STRIPES	64

struct tcache_slot {
	char		 hash[TCACHE_HASH_LEN + 1];
	struct tentry	*te;		/* NULL: empty */
};

static struct tcache_slot	 tcache[TCACHE_SLOTS];
static pthread_mutex_t		 tcache_mu[TCACHE_STRIPES] = LOCK_MUTEX64_INIT;
_Static_assert(TCACHE_STRIPES == 64, "LOCK_MUTEX64_INIT initialises 64");
static atomic_ullong		 tcache_gen;

static size_t
tcache_index(const char *hash)
{
	size_t	 i, h = 0;

	/* The hash is an HMAC in hex: its first digits are uniform. */
	for (i = 0; i < 4; i++)
		h = h * 16 + (size_t)(hash[i] <= '9' ? hash[i] - '0' :
		    (hash[i] | 0x20) - 'a' + 10);
	return h % TCACHE_SLOTS;
}

/* The lock of slot i's stripe. */
static pthread_mutex_t *
tcache_stripe(size_t i)
{
	return &tcache_mu[i % TCACHE_STRIPES];
}

static int
tcache_is(const struct tcache_slot *sl, const char *hash)
{
	return sl->te != NULL && sodium_memcmp(sl->hash, hash,
	    TCACHE_HASH_LEN) == 0;
}

/* Drop one reference; the last one frees the entry. */
void
tentry_unref(struct tentry *te)
{
	if (te == NULL || atomic_fetch_sub(&te->refs, 1) != 1)
		return;
	json_decref(te->json);
	free(te);
}

/* A reference to the cached entry for hash (read-only), or NULL. */
struct tentry *
tcache_get(const char *hash)
{
	size_t		 i = tcache_index(hash);
	struct tentry	*te = NULL;

	lock_mutex(tcache_stripe(i), LOCK_TABLE);
	if (tcache_is(&tcache[i], hash)) {
		te = tcache[i].te;
		atomic_fetch_add(&te->refs, 1);
	}
	unlock_mutex(tcache_stripe(i));
	return te;
}

/* Keep a copy of e for hash unless an entry was dropped since gen. */
void
tcache_put(const char *hash, const json_t *e, unsigned long long gen)
{
	size_t		 i = tcache_index(hash);
	struct tentry	*te, *old = NULL;

	if ((te = malloc(sizeof(*te))) == NULL)
		return;			/* not cached: read from storage */
	if ((te->json = json_deep_copy(e)) == NULL) {
		free(te);
		return;
	}
	atomic_init(&te->refs, 1);	/* the cache's */
	lock_mutex(tcache_stripe(i), LOCK_TABLE);
	if (atomic_load(&tcache_gen) == gen) {
		old = tcache[i].te;
		memcpy(tcache[i].hash, hash, TCACHE_HASH_LEN + 1);
		tcache[i].te = te;
		te = NULL;
	}
	unlock_mutex(tcache_stripe(i));
	tentry_unref(old);
	tentry_unref(te);
}

/* Forget hash's entry: its storage just changed. */
void
tcache_drop(const char *hash)
{
	size_t		 i = tcache_index(hash);
	struct tentry	*old = NULL;

	lock_mutex(tcache_stripe(i), LOCK_TABLE);
	atomic_fetch_add(&tcache_gen, 1);
	if (tcache_is(&tcache[i], hash)) {
		old = tcache[i].te;
		tcache[i].te = NULL;
		sodium_memzero(tcache[i].hash, sizeof(tcache[i].hash));
	}
	unlock_mutex(tcache_stripe(i));
	tentry_unref(old);
}

void
tcache_clear(void)
{
	struct tentry	*old;
	size_t		 i;

	atomic_fetch_add(&tcache_gen, 1);
	for (i = 0; i < TCACHE_SLOTS; i++) {
		lock_mutex(tcache_stripe(i), LOCK_TABLE);
		old = tcache[i].te;
		tcache[i].te = NULL;
		sodium_memzero(tcache[i].hash, sizeof(tcache[i].hash));
		unlock_mutex(tcache_stripe(i));
		tentry_unref(old);
	}
}

unsigned long long
tcache_generation(void)
{
	return atomic_load(&tcache_gen);
}
