/*
 * storage.h -- the storage vtable: one interface, several backends.
 *
 * Seal state and every secret go through these functions.  A backend is
 * a const struct storage_ops found by name; its handle embeds struct
 * storage as the first member.  Callers use only the storage_*()
 * wrappers below, which check keys once so that backends may assume
 * valid keys; nobody calls st->ops directly.
 *
 * Contract shared by every backend:
 * - Results: CF_OK or a cf_err.  A missing key is CF_ENOTFOUND, which is
 *   not a failure and is not logged.  Output buffers belong to the
 *   caller, receive copies, and are left empty on failure.
 * - Keys: 1..STORAGE_KEY_MAX bytes, no NUL or other control byte, no empty segment ("a//b"),
 *   no leading or trailing '/', no "." or ".." segment.  Any other byte
 *   (spaces, '%', UTF-8) is allowed and must round-trip.
 * - list(prefix) returns the direct children of prefix, sorted bytewise,
 *   each sub-folder once with a trailing '/'.  prefix is "" or ends in
 *   '/'.  An empty result is CF_OK with no entries.
 * - batch applies all of its puts and deletes or none.
 * - Threads: any method may run on any thread at any time; backends
 *   lock as they need.  close runs once, after every call returned.
 * - Durability: a write that returned CF_OK survives kill -9 (and, for
 *   lmdb and file, power loss).
 * - Lifecycle: a failed open leaves *out untouched with nothing to close.
 * - One process per store unless ha_enabled: open fails with CF_EIO,
 *   logging "in use by another process", on a store that another process
 *   holds, and an HA open fails on a store that a non-HA process holds.
 *   Processes share a store only as HA nodes, and then only the holder
 *   of the HA lock may write (enforced above storage, in core_put and
 *   friends, not here).
 *
 * Version 3 appended two methods:
 * - conf_check(key, val, why, whylen): CF_OK if the backend takes key
 *   with this value in its storage block, else CF_EINVAL with the reason
 *   in why.  Called at configuration time (cofferd -n) for every key but
 *   path and ha_enabled, which every backend shares; open checks again.
 * - del_prefix(prefix): delete every key that starts with prefix (which
 *   is not empty and ends in '/'), all of them or none, in one
 *   transaction or statement.  Nothing under the prefix is CF_OK.
 *
 * The HA lock (methods appended in version 2).  One holder among the
 * processes that opened a store with ha_enabled; the kernel (lmdb)
 * drops it the moment its holder dies.  Backends without HA (file,
 * inmem) answer CF_ENOTSUP to every lock method.
 * - lock_try: take it if free; *got 1 if taken (or already ours), else 0.
 *   holder is the record others read (a NUL-terminated string; cofferd
 *   writes JSON {"id","api_addr","cluster_addr","since"}), at most
 *   STORAGE_HOLDER_MAX bytes.
 * - lock_wait: as lock_try, waiting up to ms milliseconds (ms <= 0 tries
 *   once).  *got 0 when the time ran out, or when lock_release was called
 *   on this handle meanwhile (how shutdown cancels a wait).
 * - lock_check: CF_OK while this handle holds the lock, CF_ESTANDBY when
 *   it does not (never taken, released, or lost: the lock file was
 *   removed or replaced under us).
 * - lock_release: drop it (CF_OK also when not held); the holder record
 *   is no longer shown.
 * - lock_holder: the current holder's record, readable by every node
 *   without the barrier; CF_ENOTFOUND when nobody holds the lock.
 */
#ifndef COFFER_BACKENDS_STORAGE_H
#define COFFER_BACKENDS_STORAGE_H

#include <stddef.h>

struct buf;
struct strv;

#define STORAGE_OPS_VERSION	3
#define STORAGE_KEY_MAX		511	/* LMDB's largest key */
#define STORAGE_HOLDER_MAX	4096	/* bytes of an HA holder record */

/* A backend's own key in the storage block, as written (text). */
struct storage_kv {
	const char	*key;
	const char	*val;
};

/* Settings from the storage block of the configuration. */
struct storage_conf {
	const char	*path;		/* directory; NULL for inmem */
	int		 ha_enabled;
	const struct storage_kv *opts;	/* other keys, checked by conf_check */
	size_t		 nopts;
};

struct storage;

enum storage_op_kind {
	STORAGE_OP_PUT,
	STORAGE_OP_DEL
};

/* One put or delete inside a batch; val/len unused for a delete. */
struct storage_op {
	enum storage_op_kind	 kind;
	const char		*key;
	const void		*val;
	size_t			 len;
};

struct storage_ops {
	const char	*name;		/* "lmdb", "file", "inmem" */
	unsigned int	 version;	/* STORAGE_OPS_VERSION it was built for */
	int	(*open)(const struct storage_conf *, struct storage **);
	void	(*close)(struct storage *);
	int	(*get)(struct storage *, const char *, struct buf *);
	int	(*put)(struct storage *, const char *, const void *, size_t);
	int	(*del)(struct storage *, const char *);
	int	(*list)(struct storage *, const char *, struct strv *);
	int	(*batch)(struct storage *, const struct storage_op *, size_t);
	/* Version 2: the HA lock. */
	int	(*lock_try)(struct storage *, const char *, int *);
	int	(*lock_wait)(struct storage *, const char *, int, int *);
	int	(*lock_release)(struct storage *);
	int	(*lock_holder)(struct storage *, struct buf *);
	int	(*lock_check)(struct storage *);
	/* Version 3: configuration keys, and delete by prefix. */
	int	(*conf_check)(const char *, const char *, char *, size_t);
	int	(*del_prefix)(struct storage *, const char *);
};

struct storage {
	const struct storage_ops *ops;	/* must stay the first member */
};

extern const struct storage_ops storage_lmdb_ops;
extern const struct storage_ops storage_file_ops;
extern const struct storage_ops storage_inmem_ops;
extern const struct storage_ops storage_postgresql_ops;

/* The backend called name, or NULL. */
const struct storage_ops *storage_ops_lookup(const char *);

/* 1 if key is acceptable to every backend, else 0. */
int	storage_key_is_valid(const char *);

/*
 * Check one key of backend's storage block (not path or ha_enabled):
 * CF_OK, or CF_EINVAL with the reason in why (NUL-terminated) for an
 * unknown backend, an unknown key or a bad value.
 */
int	storage_conf_check(const char *backend, const char *key,
	    const char *val, char *why, size_t whylen)
	    __attribute__((warn_unused_result));
/* The value of key among conf's opts (the last one given), or NULL. */
const char *storage_conf_get(const struct storage_conf *, const char *);

/*
 * Open the named backend.  CF_EINVAL for an unknown name or a bad
 * setting (reason logged), CF_EIO when the store cannot be opened.
 */
int	storage_open(const char *, const struct storage_conf *,
	    struct storage **) __attribute__((warn_unused_result));
void	storage_close(struct storage *);
/* Name of the backend behind a handle ("lmdb", ...). */
const char *storage_name(const struct storage *);

/* val is reset then filled.  CF_ENOTFOUND if absent. */
int	storage_get(struct storage *, const char *, struct buf *)
	    __attribute__((warn_unused_result));
/*
 * storage_get for a key the caller has just found valid with
 * storage_key_is_valid: the hot read path checks each key once.
 */
int	storage_get_checked(struct storage *, const char *, struct buf *)
	    __attribute__((warn_unused_result));
int	storage_put(struct storage *, const char *, const void *, size_t)
	    __attribute__((warn_unused_result));
/* Deleting a missing key is CF_OK. */
int	storage_del(struct storage *, const char *)
	    __attribute__((warn_unused_result));
/* out is appended to (callers pass an empty strv). */
int	storage_list(struct storage *, const char *, struct strv *)
	    __attribute__((warn_unused_result));
int	storage_batch(struct storage *, const struct storage_op *, size_t)
	    __attribute__((warn_unused_result));
/*
 * For a backend whose put and del are its batch of one operation: its
 * vtable's put and del (they call ops->batch directly).
 */
int	storage_put_by_batch(struct storage *, const char *, const void *,
	    size_t);
int	storage_del_by_batch(struct storage *, const char *);
/*
 * Delete every key under prefix, which must be a valid list prefix
 * other than "" (CF_EINVAL): all or none.
 */
int	storage_del_prefix(struct storage *, const char *)
	    __attribute__((warn_unused_result));

/*
 * The HA lock (see above).  holder is checked here: non-empty, at most
 * STORAGE_HOLDER_MAX bytes; *got is set on every path.
 */
int	storage_lock_try(struct storage *, const char *, int *)
	    __attribute__((warn_unused_result));
int	storage_lock_wait(struct storage *, const char *, int, int *)
	    __attribute__((warn_unused_result));
int	storage_lock_release(struct storage *);
/* holder is reset then filled.  CF_ENOTFOUND if nobody holds the lock. */
int	storage_lock_holder(struct storage *, struct buf *)
	    __attribute__((warn_unused_result));
int	storage_lock_check(struct storage *)
	    __attribute__((warn_unused_result));

#endif /* COFFER_BACKENDS_STORAGE_H */
