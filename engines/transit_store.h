/*
 * transit_store.h -- the transit engine's per-mount key store: the
 * records of a mount's keys and the cache of loaded ones.
 *
 * A mount's ctx is its struct tkey_store.  Keys come out of it with a
 * reference (tkey_get) that the caller releases (tkey_unref); a change
 * holds the store's change lock across its read-modify-write.  The
 * keys themselves (struct tkey) are transit_keys.h's.
 */
#ifndef COFFER_ENGINES_TRANSIT_STORE_H
#define COFFER_ENGINES_TRANSIT_STORE_H

#include <jansson.h>

struct mount;
struct tkey;
struct tkey_store;

/* ---- the per-mount store ----------------------------------------- */

/* A new, empty store for a mount's ctx, or NULL.  Owned: tkey_store_free. */
struct tkey_store *tkey_store_new(void);

/*
 * Free the store and every cached key (wiping them).  Only when no
 * request can hold one of its keys: the mount is closing.  NULL is fine.
 */
void		 tkey_store_free(struct tkey_store *);

/*
 * The change lock: held across a read-modify-write of a key (tkey_get,
 * then tkey_commit or tkey_del).  Taken before the cache lock.
 */
void		 tkey_store_lock(struct tkey_store *);
void		 tkey_store_unlock(struct tkey_store *);

/*
 * The key named name of mount m (whose ctx is a tkey_store), with a
 * reference for the caller, released with tkey_unref.  CF_ENOTFOUND when
 * there is none; storage and parse errors otherwise.
 */
int		 tkey_get(struct mount *m, const char *name, struct tkey **out)
		    __attribute__((warn_unused_result));

/* Release a reference from tkey_get or tkey_commit; NULL is fine. */
void		 tkey_unref(struct tkey_store *, struct tkey *k);

/*
 * Store the sealed key k as its name's record and cache it, consuming
 * the caller's k whatever the result; with out, *out gets a new
 * reference to it.  Change lock held.  Storage errors, CF_ENOMEM.
 */
int		 tkey_commit(struct mount *m, struct tkey *k, struct tkey **out)
		    __attribute__((warn_unused_result));

/*
 * Delete name's record and drop it from the cache.  Change lock held.
 * CF_OK also when the record was already gone.
 */
int		 tkey_del(struct mount *m, const char *name)
		    __attribute__((warn_unused_result));

/* The mount's key names as a new JSON array (*out, owned; NULL if none). */
int		 tkey_list(struct mount *m, json_t **out)
		    __attribute__((warn_unused_result));

#endif /* COFFER_ENGINES_TRANSIT_STORE_H */
