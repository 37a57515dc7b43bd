/*
 * token_cache.h -- the token store's cache of decoded token entries,
 * keyed by the salted hash.  token.c is the only caller; see
 * token_cache.c for the rules that keep it coherent with storage.
 */
#ifndef COFFER_AUTH_TOKEN_CACHE_H
#define COFFER_AUTH_TOKEN_CACHE_H

#include <stdatomic.h>

#include <jansson.h>

/* The length of a salted token hash in hex (TOKEN_HASH_LEN). */
#define TCACHE_HASH_LEN	64

/* A cached entry: read-only, freed with its last reference. */
struct tentry {
	atomic_uint	 refs;
	json_t		*json;		/* read-only */
};

/* Drop one reference; the last one frees the entry.  NULL is fine. */
void	 tentry_unref(struct tentry *);
/* A reference to the cached entry for hash (read-only), or NULL. */
struct tentry	*tcache_get(const char *hash);
/*
 * The generation to note before reading an entry from storage, to pass
 * to tcache_put: it changes with every drop.
 */
unsigned long long tcache_generation(void);
/* Keep a copy of e for hash unless an entry was dropped since gen. */
void	 tcache_put(const char *hash, const json_t *e, unsigned long long gen);
/* Forget hash's entry: its storage just changed. */
void	 tcache_drop(const char *hash);
/* Forget every entry (the node became or left active, or sealed). */
void	 tcache_clear(void);

#endif /* COFFER_AUTH_TOKEN_CACHE_H */
