/*
 * kv2_priv.h -- what kv2.c shares with kv2_data.c and kv2_meta.c, the
 * parts of KV version 2; kv.c and other modules use kv2.h only.
 */
#ifndef COFFER_ENGINES_KV2_PRIV_H
#define COFFER_ENGINES_KV2_PRIV_H

#include <pthread.h>
#include <stddef.h>

#include <jansson.h>

struct mount;

/* What a write takes from the mount's config. */
struct kv2_config {
	long long	 max_versions;
	long long	 dva;		/* delete_version_after, seconds */
	int		 cas_required;
};

/* The mutex of the stripe that serializes writers of storage key. */
pthread_mutex_t	*kv2_stripe(const char *key);

/*
 * The mount's config for a write: cached in m->ctx while this node is
 * active, else read (absent: all zero).  CF_OK or a storage error.
 */
int	 kv2_config_get(const struct mount *m, struct kv2_config *out);

/*
 * The metadata at mkey (owned, into *meta) for a writer holding its
 * stripe: what this thread's kv2_meta_exists read if nothing wrote it
 * since, else from storage.  CF_ENOTFOUND if there is none.
 */
int	 kv2_meta_get(const char *mkey, json_t **meta);

/*
 * Version n's metadata as clients see it, copied out of meta (which may
 * be the document cache's); NULL when out of memory.
 */
json_t	*kv2_version_meta(const json_t *meta, long long n);

/* 1 if version record v is destroyed or its deletion time has come. */
int	 kv2_is_deleted(const json_t *v);

/* Seconds as Vault's duration text ("1h2m3s", "0s") into out[cap]. */
void	 kv2_duration_text(long long s, char *out, size_t cap);

#endif /* COFFER_ENGINES_KV2_PRIV_H */
