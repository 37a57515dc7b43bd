/*
 * kv2.h -- KV version 2's records: data versions, metadata and the
 * mount's config, for kv.c, which routes the HTTP paths to them.
 */
#ifndef COFFER_ENGINES_KV2_H
#define COFFER_ENGINES_KV2_H

#include <stddef.h>

#include <jansson.h>

struct mount;
struct request;
struct response;

/*
 * The storage key <view><a><b>, or <view><a><b>/<n> when n >= 0 (v1
 * uses it too).  Owned (free()); NULL when out of memory.
 */
char	*kv2_key(const struct mount *m, const char *a, const char *b,
	    long long n);

/*
 * The stored metadata of secret k (owned) into *meta, NULL when it has
 * none: CF_OK either way, else the storage's error.
 */
int	 kv2_meta_load(const struct mount *m, const char *k, json_t **meta)
	    __attribute__((warn_unused_result));

/* The current time as Vault's RFC 3339 text, into out[cap]. */
void	 kv2_now(char *out, size_t cap);

/* A fresh metadata record with no versions (owned), or NULL. */
json_t	*kv2_new_meta(void);

/*
 * The kv backend's ops->open and ->close: m->ctx caches the mount's
 * config on the active node (see kv2_forget).
 */
int	 kv2_open(struct mount *m);
void	 kv2_close(struct mount *m);
/*
 * Forget every mount's cached config: after a config write, an upgrade,
 * and on leaving active (a core_on_standby hook; always CF_OK).
 */
int	 kv2_forget(void);

/*
 * The ACL's existence check of a v2 secret: whether metadata/<k>
 * exists.  It remembers what it read, for this thread's next write of k
 * to use instead of a second read while the cache says nothing wrote k
 * since.
 */
int	 kv2_meta_exists(struct mount *m, const char *k, int *exists);

/*
 * The handlers behind kv.c's v2 path table.  Each answers into resp and
 * returns a cf_err as handlers do; k is the secret's key below the
 * mount.  Writers to one key are serialized by a striped mutex, so
 * check-and-set and version numbers are exact.  Called under the core
 * read lock.
 */

/* GET data/<k> (subkeys 0) or subkeys/<k> (subkeys 1). */
int	 kv2_data_read(struct mount *m, struct request *req,
	    struct response *resp, const char *k, int subkeys);

/* POST/PUT data/<k>, or PATCH (patch 1, an RFC 7396 merge). */
int	 kv2_data_write(struct mount *m, struct request *req,
	    struct response *resp, const char *k, int patch);

/* The listed versions of k: delete (what 0), undelete (1), destroy (2). */
int	 kv2_versions_op(struct mount *m, struct request *req,
	    struct response *resp, const char *k, int what);

/* metadata/<k>: read, write, and delete (every version and the record). */
int	 kv2_meta_read(struct mount *m, struct response *resp, const char *k);
int	 kv2_meta_write(struct mount *m, struct request *req,
	    struct response *resp, const char *k);
int	 kv2_meta_delete(struct mount *m, const char *k);

/* config: read or write the mount's max_versions, cas_required, ... */
int	 kv2_config_op(struct mount *m, struct request *req,
	    struct response *resp);

#endif /* COFFER_ENGINES_KV2_H */
