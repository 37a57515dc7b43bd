/*
 * jsoncache.c -- the active node's decoded JSON documents, by storage key.
 *
 * core_get_json reads, decrypts and parses a document on each call, and
 * the same documents are read again and again (a KV secret's metadata
 * and versions on every read of it).  This cache keeps their parsed
 * form.  It is direct-mapped on a hash of the key, with one mutex per
 * stripe of slots.  A hit is a deep copy made under the stripe's mutex,
 * so no object is ever shared between threads and the caller may
 * change its copy.
 *
 * core drops a key after every write or delete of it, which bumps the
 * slot's generation; a miss notes the generation before it reads
 * storage and keeps what it read only if no drop happened since, so a
 * document overwritten meanwhile is never cached.  A slot remembers the
 * last key that missed there, and a document is kept only when its key
 * misses there twice in a row: a key read once costs no copy.  A prefix delete, a
 * change of role and a seal clear everything: only the active node
 * caches (a standby's storage changes under it).  Documents over
 * JSONCACHE_DOC_MAX bytes are not kept, nor any once the kept ones'
 * text reaches JSONCACHE_BYTES_MAX, which bounds the memory.  They are
 * freed through jansson's allocator, which wipes them.
 *
 * In core/, the request pipeline (tests/layers.py): util/ headers only.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "jsoncache.h"
#include "lock.h"

#define JSONCACHE_SLOTS		16384
#define JSONCACHE_STRIPES	64

struct jc_slot {
	char			*key;	/* NULL: empty */
	json_t			*doc;
	size_t			 len;	/* of doc's text */
	unsigned long long	 gen;	/* bumped by every drop */
	uint64_t		 missed;	/* hash of the last key missed */
};

static atomic_size_t	 cached_bytes;	/* the len of every kept doc */

static struct jc_slot	 slots[JSONCACHE_SLOTS];
static pthread_mutex_t	 stripe_mu[JSONCACHE_STRIPES] = LOCK_MUTEX64_INIT;
_Static_assert(JSONCACHE_STRIPES == 64, "LOCK_MUTEX64_INIT initialises 64");

static uint64_t
key_hash(const char *key)
{
	uint64_t	 h = 14695981039346656037ULL;	/* FNV-1a */

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ULL;
	}
	return h;
}

static size_t
slot_of(uint64_t h)
{
	return (size_t)(h % JSONCACHE_SLOTS);
}

/*
 * The ticket of a lookup in slot i (locked): its generation, and in the
 * low bit whether a miss now admits the document (its key missed here
 * last time too).
 */
static unsigned long long
ticket_of(size_t i, uint64_t h, int hit)
{
	int	 admit = 0;

	if (!hit) {
		admit = slots[i].missed == h;
		slots[i].missed = h;
	}
	return slots[i].gen << 1 | (unsigned long long)admit;
}

/* The lock of slot i's stripe. */
static pthread_mutex_t *
stripe(size_t i)
{
	return &stripe_mu[i % JSONCACHE_STRIPES];
}

/* Whether slot i (its stripe locked) holds key's document. */
static int
slot_holds(size_t i, const char *key)
{
	return slots[i].key != NULL && strcmp(slots[i].key, key) == 0;
}

/* Empty slot i (its stripe locked); what it held is freed by the caller. */
static void
slot_take(size_t i, char **key, json_t **doc)
{
	*key = slots[i].key;
	*doc = slots[i].doc;
	if (slots[i].key != NULL)
		atomic_fetch_sub(&cached_bytes, slots[i].len);
	slots[i].key = NULL;
	slots[i].doc = NULL;
	slots[i].len = 0;
	slots[i].gen++;
}

json_t *
jsoncache_get(const char *key, unsigned long long *ticket)
{
	uint64_t	 h = key_hash(key);
	size_t	 i = slot_of(h);
	json_t	*copy = NULL;

	lock_mutex(stripe(i), LOCK_LEAF);
	if (slot_holds(i, key))
		copy = json_deep_copy(slots[i].doc);
	*ticket = ticket_of(i, h, copy != NULL);
	unlock_mutex(stripe(i));
	return copy;
}

json_t *
jsoncache_take(const char *key, unsigned long long *ticket)
{
	uint64_t	 h = key_hash(key);
	size_t		 i = slot_of(h);
	char		*k = NULL;
	json_t		*doc = NULL;

	lock_mutex(stripe(i), LOCK_LEAF);
	if (slot_holds(i, key)) {
		slot_take(i, &k, &doc);
		/* As if key missed here: the write's document is admitted. */
		slots[i].missed = h;
		*ticket = slots[i].gen << 1 | 1;
	} else
		*ticket = ticket_of(i, h, 0);
	unlock_mutex(stripe(i));
	free(k);
	return doc;
}

int
jsoncache_peek(const char *key, int (*fn)(const json_t *, void *), void *arg,
    unsigned long long *ticket, int *rc)
{
	uint64_t	 h = key_hash(key);
	size_t	 i = slot_of(h);
	int	 hit;

	lock_mutex(stripe(i), LOCK_LEAF);
	if ((hit = slot_holds(i, key)))
		*rc = fn(slots[i].doc, arg);
	*ticket = ticket_of(i, h, hit);
	unlock_mutex(stripe(i));
	return hit;
}

/*
 * Put key and doc (len bytes) in slot i (its stripe locked), taking
 * *key and *doc; they come back as what the slot held, for the caller
 * to free.
 */
static void
slot_swap(size_t i, char **key, json_t **doc, size_t len)
{
	char	*k = slots[i].key;
	json_t	*d = slots[i].doc;

	if (k != NULL)
		atomic_fetch_sub(&cached_bytes, slots[i].len);
	atomic_fetch_add(&cached_bytes, len);
	slots[i].key = *key;
	slots[i].doc = *doc;
	slots[i].len = len;
	*key = k;
	*doc = d;
}

/* Whether slot i (locked) takes a document of len bytes now. */
static int
slot_takes(size_t i, size_t len, unsigned long long gen)
{
	return slots[i].gen == gen && atomic_load(&cached_bytes) + len -
	    (slots[i].key != NULL ? slots[i].len : 0) <= JSONCACHE_BYTES_MAX;
}

int
jsoncache_admits(unsigned long long ticket)
{
	return (ticket & 1) != 0;
}

void
jsoncache_put(const char *key, const json_t *doc, size_t len,
    unsigned long long ticket)
{
	unsigned long long	 gen = ticket >> 1;
	size_t			 i;
	char			*k;
	json_t			*d;
	int			 takes;

	/* Most misses end here: no hash of the key for them. */
	if (len > JSONCACHE_DOC_MAX || !jsoncache_admits(ticket))
		return;
	i = slot_of(key_hash(key));
	/* Nothing copied for a slot that would refuse it. */
	lock_mutex(stripe(i), LOCK_LEAF);
	takes = slot_takes(i, len, gen);
	unlock_mutex(stripe(i));
	if (!takes)
		return;
	if ((k = strdup(key)) == NULL)
		return;
	if ((d = json_deep_copy(doc)) == NULL) {
		free(k);
		return;
	}
	lock_mutex(stripe(i), LOCK_LEAF);
	if (slot_takes(i, len, gen))
		slot_swap(i, &k, &d, len);
	unlock_mutex(stripe(i));
	free(k);
	json_decref(d);
}

void
jsoncache_drop(const char *key)
{
	size_t	 i = slot_of(key_hash(key));
	char	*k = NULL;
	json_t	*d = NULL;

	lock_mutex(stripe(i), LOCK_LEAF);
	if (slot_holds(i, key))
		slot_take(i, &k, &d);
	else
		slots[i].gen++;		/* a fill in progress is stale */
	unlock_mutex(stripe(i));
	free(k);
	json_decref(d);
}

int
jsoncache_is_current(const char *key, unsigned long long ticket)
{
	size_t	 i = slot_of(key_hash(key));
	int	 cur;

	lock_mutex(stripe(i), LOCK_LEAF);
	cur = slots[i].gen == ticket >> 1;
	unlock_mutex(stripe(i));
	return cur;
}

void
jsoncache_clear(void)
{
	size_t	 i;
	char	*k;
	json_t	*d;

	for (i = 0; i < JSONCACHE_SLOTS; i++) {
		lock_mutex(stripe(i), LOCK_LEAF);
		slot_take(i, &k, &d);
		unlock_mutex(stripe(i));
		free(k);
		json_decref(d);
	}
}

void
jsoncache_write(const char *key, json_t *doc, size_t len,
    unsigned long long ticket)
{
	unsigned long long	 gen = ticket >> 1;
	uint64_t		 h = key_hash(key);
	size_t			 i = slot_of(h);
	char			*k = NULL, *oldk = NULL;
	json_t			*oldd = NULL;

	/* The key's copy first, outside the lock; none for a big document. */
	if (len <= JSONCACHE_DOC_MAX)
		k = strdup(key);
	lock_mutex(stripe(i), LOCK_LEAF);
	if (k != NULL && doc != NULL && slot_takes(i, len, gen) &&
	    (jsoncache_admits(ticket) || slot_holds(i, key))) {
		slot_swap(i, &k, &doc, len);
		slots[i].gen++;		/* a fill that read before is stale */
	} else if (slot_holds(i, key))
		slot_take(i, &oldk, &oldd);
	else
		slots[i].gen++;
	unlock_mutex(stripe(i));
	free(oldk);
	json_decref(oldd);
	free(k);
	json_decref(doc);	/* the one replaced, or the one not kept */
}
