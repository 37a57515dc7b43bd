/*
 * mount_table.h -- the persistent mount tables: secrets engines and
 * auth methods, stored behind the barrier and loaded into the router.
 *
 * Tables are stored at "core/mounts" and "core/auth".  Each mount's data
 * lives under its own storage view, "logical/<uuid>/" or "auth/<uuid>/",
 * so that no engine can reach another's.  Built-in mounts (sys/,
 * auth/token/) are made by their modules and are not stored here; the
 * token mount's tuned TTLs are kept on their own.  The handlers that
 * change the tables are in mounts.c and mounts_tune.c.
 */
#ifndef COFFER_SERVER_MOUNT_TABLE_H
#define COFFER_SERVER_MOUNT_TABLE_H

#include <stddef.h>

#include <jansson.h>

struct mount;

/*
 * The mutex every change of a table holds, from reading what is
 * published to storing the result.  Lock order: core, this, router.
 */
void	 mount_table_lock(void);
void	 mount_table_unlock(void);

/*
 * A new mount of type at path ("auth/" added for auth), from its stored
 * entry e or, with e NULL, fresh (new uuid and accessor); opened, not
 * yet in the router, owned by the caller.  CF_EINVAL with why filled if
 * type is not available.
 */
int	 mount_table_make(int auth, const char *path, const char *type,
	    json_t *e, struct mount **out, char *why, size_t whylen)
	    __attribute__((warn_unused_result));
/* Store the table of one kind as the router holds it; under the lock. */
int	 mount_table_store(int auth) __attribute__((warn_unused_result));
/* Store what a tune of m changed: its table, or the token mount's TTLs. */
int	 mount_table_store_tune(const struct mount *m, int auth)
	    __attribute__((warn_unused_result));
/* Become-active hook: both tables and the token mount's tune. */
int	 mount_table_load(void) __attribute__((warn_unused_result));

/* The listing form of a mount (sys/mounts, contract 6.1); new reference. */
json_t	*mount_table_listing(const struct mount *);
/* 1 if m is the built-in auth/token/ mount, else 0. */
int	 mount_table_is_token(const struct mount *);
/* "foo/bar" -> "foo/bar/", leading slashes dropped; NULL if no memory. */
char	*mount_table_path_norm(const char *);

#endif /* COFFER_SERVER_MOUNT_TABLE_H */
