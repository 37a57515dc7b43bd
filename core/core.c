/*
 * core.c -- the node's state machine and its barrier-protected storage.
 *
 * State lives in file-scope statics: there is one core per process, as
 * there is one LMDB environment.  They are written only under the write
 * lock and read under the read lock (see core.h for the lock order).
 * The state and the role are also atomics, and the cluster identity has
 * a leaf mutex of its own, so that sys/health, sys/seal-status and
 * sys/leader answer without the core lock while a transition drains.
 *
 * In core/, the request pipeline under auth/ and engines/
 * (tests/layers.py): it includes util/, backends/ and seal/ headers,
 * never those of the layers that register with it.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "barrier.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "jsoncache.h"
#include "jsondoc.h"
#include "jsonutil.h"
#include "lock.h"
#include "log.h"
#include "req.h"
#include "storage.h"

#define CORE_MAX_HOOKS	16

static pthread_rwlock_t	 core_lock;
static atomic_int	 state = CORE_UNINITIALIZED;
static atomic_int	 active;		/* the role, while unsealed */
static atomic_llong	 active_sec, active_nsec;
static struct storage	*store;
static struct barrier	*barrier;
static struct core_conf	 conf;
static core_hook	 unseal_hooks[CORE_MAX_HOOKS];
static core_hook	 seal_hooks[CORE_MAX_HOOKS];
static core_hook	 active_hooks[CORE_MAX_HOOKS];
static core_hook	 standby_hooks[CORE_MAX_HOOKS];
static size_t		 nunseal, nseal, nactive, nstandby;
static core_hook	 fenced_hook;
static pthread_mutex_t	 cluster_mu = PTHREAD_MUTEX_INITIALIZER;
static char		 cluster_name[128];	/* under cluster_mu */
static char		 cluster_id[64];
static atomic_ullong	 op_n[CORE_NOPS], op_ns[CORE_NOPS];	/* telemetry */

/* Stored in clear by keys.c; its presence means "initialized". */
#define SEAL_CONFIG_KEY	"core/seal-config"

int
core_init(struct storage *st, const struct core_conf *cc)
{
	pthread_rwlockattr_t	 attr;
	struct buf		 b = BUF_INIT;
	int			 rc;

	pthread_rwlockattr_init(&attr);
#if HAVE_PTHREAD_RWLOCKATTR_SETKIND_NP
	/* glibc favours readers; a request stream must not starve a seal. */
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
	if (pthread_rwlock_init(&core_lock, &attr) != 0) {
		pthread_rwlockattr_destroy(&attr);
		return CF_EINTERNAL;
	}
	pthread_rwlockattr_destroy(&attr);
	store = st;
	conf = *cc;
	rc = storage_get(st, SEAL_CONFIG_KEY, &b);
	buf_free(&b);
	if (rc == CF_OK)
		atomic_store(&state, CORE_SEALED);
	else if (rc == CF_ENOTFOUND)
		atomic_store(&state, CORE_UNINITIALIZED);
	else
		return rc;
	return CF_OK;
}

void
core_fini(void)
{
	core_wrlock();
	if (atomic_load(&state) == CORE_UNSEALED)
		core_seal();
	core_unlock();
	pthread_rwlock_destroy(&core_lock);
	store = NULL;
}

/* Add fn to one of the hook lists; full is the bug when it is full. */
static void
hook_add(core_hook *hooks, size_t *n, core_hook fn, const char *full)
{
	if (*n == CORE_MAX_HOOKS)
		CF_BUG(full);
	hooks[(*n)++] = fn;
}

void
core_on_unseal(core_hook fn)
{
	hook_add(unseal_hooks, &nunseal, fn, "too many unseal hooks");
}

void
core_on_seal(core_hook fn)
{
	hook_add(seal_hooks, &nseal, fn, "too many seal hooks");
}

void
core_on_active(core_hook fn)
{
	hook_add(active_hooks, &nactive, fn, "too many become-active hooks");
}

void
core_on_standby(core_hook fn)
{
	hook_add(standby_hooks, &nstandby, fn, "too many leave-active hooks");
}

void
core_on_fenced(core_hook fn)
{
	fenced_hook = fn;
}

/*
 * A write the backend refused with CF_ESTANDBY while we were active:
 * its fence saw another node's epoch.  Say so at once, so that this
 * node leaves active now rather than at its next lock check.
 */
static int
fenced(int rc)
{
	if (rc == CF_ESTANDBY && fenced_hook != NULL)
		(void)fenced_hook();
	return rc;
}

void
core_rdlock(void)
{
	lock_read(&core_lock, LOCK_CORE);
}

void
core_wrlock(void)
{
	lock_write(&core_lock, LOCK_CORE);
}

void
core_unlock(void)
{
	unlock_rw(&core_lock);
}

int
core_state(void)
{
	return atomic_load(&state);
}

int
core_is_active(void)
{
	return atomic_load(&active);
}

void
core_active_time(long long *sec, long *nsec)
{
	*sec = atomic_load(&active_sec);
	*nsec = (long)atomic_load(&active_nsec);
}

const struct core_conf *
core_conf(void)
{
	return &conf;
}

struct storage *
core_storage(void)
{
	return store;
}

struct barrier *
core_barrier(void)
{
	return atomic_load(&state) == CORE_UNSEALED ? barrier : NULL;
}

void
core_set_initialized(void)
{
	if (atomic_load(&state) == CORE_UNINITIALIZED)
		atomic_store(&state, CORE_SEALED);
}

void
core_set_uninitialized(void)
{
	if (atomic_load(&state) == CORE_SEALED)
		atomic_store(&state, CORE_UNINITIALIZED);
}

int
core_unseal(struct barrier *b)
{
	size_t	 i;
	int	 rc;

	barrier = b;
	atomic_store(&state, CORE_UNSEALED);
	for (i = 0; i < nunseal; i++) {
		if ((rc = unseal_hooks[i]()) != CF_OK) {
			log_warnx("core: unseal step %zu failed: %s", i,
			    cf_errname(rc));
			core_seal();
			return rc;
		}
	}
	log_info("core: unsealed");
	/* Without HA there is no other node: active at once. */
	if (!conf.ha_enabled && (rc = core_become_active()) != CF_OK) {
		core_seal();
		return rc;
	}
	return CF_OK;
}

int
core_become_active(void)
{
	struct timespec	 ts;
	size_t		 i;
	int		 rc;

	if (atomic_load(&state) != CORE_UNSEALED)
		return CF_ESEALED;
	if (atomic_load(&active))
		return CF_OK;
	/* What was cached when last active may have changed since. */
	jsoncache_clear();
	/* Set first: the hooks write (salt, default policy, cluster). */
	atomic_store(&active, 1);
	for (i = 0; i < nactive; i++) {
		if ((rc = active_hooks[i]()) != CF_OK) {
			log_warnx("core: become-active step %zu failed: %s",
			    i, cf_errname(rc));
			core_leave_active();
			return rc;
		}
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	atomic_store(&active_sec, (long long)ts.tv_sec);
	atomic_store(&active_nsec, (long long)ts.tv_nsec);
	if (conf.ha_enabled)
		log_info("core: active");
	return CF_OK;
}

void
core_leave_active(void)
{
	size_t	 i;
	int	 was = atomic_load(&active);

	/*
	 * Only a node that is (or was becoming) active has anything to
	 * undo: a failed become-active left already, and sealing after it
	 * must not run the hooks again.
	 */
	if (!was)
		return;
	/* Leave-active hooks run in reverse order of registration. */
	for (i = nstandby; i > 0; i--)
		(void)standby_hooks[i - 1]();
	atomic_store(&active, 0);
	jsoncache_clear();
	atomic_store(&active_sec, 0);
	atomic_store(&active_nsec, 0);
	if (was && conf.ha_enabled && atomic_load(&state) == CORE_UNSEALED)
		log_info("core: standby");
}

void
core_seal(void)
{
	size_t	 i;

	core_leave_active();
	/* Seal hooks run in reverse order of registration. */
	for (i = nseal; i > 0; i--)
		(void)seal_hooks[i - 1]();
	barrier_free(barrier);
	barrier = NULL;
	if (atomic_load(&state) == CORE_UNSEALED)
		atomic_store(&state, CORE_SEALED);
	log_info("core: sealed");
}

void
core_set_cluster(const char *name, const char *id)
{
	lock_mutex(&cluster_mu, LOCK_LEAF);
	strlcpy(cluster_name, name, sizeof(cluster_name));
	strlcpy(cluster_id, id, sizeof(cluster_id));
	unlock_mutex(&cluster_mu);
}

void
core_cluster(char *name, size_t namelen, char *id, size_t idlen)
{
	int	 unsealed = atomic_load(&state) == CORE_UNSEALED;

	lock_mutex(&cluster_mu, LOCK_LEAF);
	strlcpy(name, unsealed ? cluster_name : "", namelen);
	strlcpy(id, unsealed ? cluster_id : "", idlen);
	unlock_mutex(&cluster_mu);
}

/* Count one barrier operation begun at t0 and pass its result on. */
static int
op_count(int op, const struct timespec *t0, int rc)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	atomic_fetch_add_explicit(&op_n[op], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&op_ns[op],
	    (unsigned long long)((t1.tv_sec - t0->tv_sec) * 1000000000LL +
	    (t1.tv_nsec - t0->tv_nsec)), memory_order_relaxed);
	return rc;
}

void
core_op_stats(unsigned long long n[CORE_NOPS],
    unsigned long long ns[CORE_NOPS])
{
	int	 i;

	for (i = 0; i < CORE_NOPS; i++) {
		n[i] = atomic_load_explicit(&op_n[i], memory_order_relaxed);
		ns[i] = atomic_load_explicit(&op_ns[i], memory_order_relaxed);
	}
}

int
core_get(const char *key, struct buf *val)
{
	struct timespec	 t0;

	if (atomic_load(&state) != CORE_UNSEALED)
		return CF_ESEALED;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	return op_count(CORE_OP_GET, &t0,
	    barrier_get(barrier, store, key, val));
}

int
core_put(const char *key, const void *val, size_t len)
{
	struct timespec	 t0;
	int		 rc;

	if (atomic_load(&state) != CORE_UNSEALED)
		return CF_ESEALED;
	/* A standby never writes: the active node may be writing. */
	if (!atomic_load(&active))
		return CF_ESTANDBY;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = fenced(op_count(CORE_OP_PUT, &t0,
	    barrier_put(barrier, store, key, val, len)));
	jsoncache_drop(key);
	return rc;
}

int
core_del(const char *key)
{
	struct timespec	 t0;
	int		 rc;

	if (atomic_load(&state) != CORE_UNSEALED)
		return CF_ESEALED;
	/* A standby never writes: the active node may be writing. */
	if (!atomic_load(&active))
		return CF_ESTANDBY;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = fenced(op_count(CORE_OP_DEL, &t0, storage_del(store, key)));
	jsoncache_drop(key);
	return rc;
}

int
core_list(const char *prefix, struct strv *out)
{
	struct timespec	 t0;

	if (atomic_load(&state) != CORE_UNSEALED)
		return CF_ESEALED;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	return op_count(CORE_OP_LIST, &t0, storage_list(store, prefix, out));
}

int
core_batch(const struct storage_op *ops, size_t n)
{
	return core_batch_json(ops, n, NULL, NULL);
}

/* jsoncache_peek's reader for a ticket alone. */
static int
ticket_fn(const json_t *doc, void *arg)
{
	(void)doc;
	(void)arg;
	return CF_OK;
}

int
core_batch_json(const struct storage_op *ops, size_t n, const char *key,
    json_t *doc)
{
	unsigned long long	 ticket = 0;
	size_t			 i, len = 0, seen = 0;
	int			 rc, dummy;

	/* key's one operation, a put; any other shape only drops. */
	for (i = 0; key != NULL && i < n; i++)
		if (strcmp(ops[i].key, key) == 0 && seen++ == 0 &&
		    ops[i].kind == STORAGE_OP_PUT)
			len = ops[i].len;
	if (seen != 1)
		len = 0;
	/*
	 * The ticket before the role check: a clear (seal, standby) after
	 * it makes the write-through below a drop.
	 */
	if (len > 0)
		(void)jsoncache_peek(key, ticket_fn, NULL, &ticket, &dummy);
	if (atomic_load(&state) != CORE_UNSEALED)
		rc = CF_ESEALED;
	/* A standby never writes: the active node may be writing. */
	else if (!atomic_load(&active))
		rc = CF_ESTANDBY;
	else
		rc = fenced(barrier_batch(barrier, store, ops, n));
	for (i = 0; i < n; i++)
		if (rc == CF_OK && len > 0 && strcmp(ops[i].key, key) == 0) {
			jsoncache_write(key, doc, len, ticket);
			doc = NULL;	/* the cache's now */
		} else
			jsoncache_drop(ops[i].key);
	json_decref(doc);
	return rc;
}

/* Only the active node caches documents: a standby's storage changes. */
static int
may_cache(void)
{
	return atomic_load(&active) && atomic_load(&state) == CORE_UNSEALED;
}

/*
 * core_get for a key its caller found valid (storage_key_is_valid):
 * barrier_get without checking the key again.
 */
static int
core_get_checked(const char *key, struct buf *val)
{
	struct timespec	 t0;
	struct buf	 ct = BUF_INIT;
	int		 rc;

	buf_reset(val);
	if (atomic_load(&state) != CORE_UNSEALED)
		return CF_ESEALED;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = storage_get_checked(store, key, &ct)) == CF_OK)
		rc = barrier_decrypt(barrier, key, ct.data, ct.len, val);
	buf_free(&ct);
	return op_count(CORE_OP_GET, &t0, rc);
}

/*
 * A cache miss: read, decrypt and parse key (valid) into *out (the
 * caller's), and offer it to the cache with the miss's ticket when
 * cached.  Only keep's members when keep is not NULL and the cache
 * would not take the document anyway.
 */
static int
load_json(const char *key, int cached, unsigned long long ticket,
    const char *const *keep, json_t **out)
{
	struct buf	 b = BUF_INIT;
	int		 rc, whole;

	whole = keep == NULL || (cached && jsoncache_admits(ticket));
	if ((rc = core_get_checked(key, &b)) == CF_OK) {
		rc = whole ? jsondoc_parse(b.data, b.len, out) :
		    jsondoc_parse_members(b.data, b.len, keep, out);
		if (rc == CF_EINVAL)
			rc = CF_EINTERNAL;
	}
	if (rc == CF_OK && cached && whole)
		jsoncache_put(key, *out, b.len, ticket);
	buf_free(&b);
	return rc;
}

int
core_get_json(const char *key, json_t **out)
{
	unsigned long long	 ticket = 0;
	int			 cached = may_cache();

	*out = NULL;
	if (key == NULL)
		return CF_ENOMEM;
	if (!storage_key_is_valid(key))
		return CF_ENOTFOUND;
	if (cached && (*out = jsoncache_get(key, &ticket)) != NULL)
		return CF_OK;
	return load_json(key, cached, ticket, NULL, out);
}

/* core_read_json, with core_read_json_members's keep. */
static int
read_json(const char *key, const char *const *keep,
    int (*fn)(const json_t *, void *), void *arg)
{
	unsigned long long	 ticket = 0;
	json_t			*j = NULL;
	int			 rc, cached = may_cache();

	if (key == NULL)
		return CF_ENOMEM;
	if (!storage_key_is_valid(key))
		return CF_ENOTFOUND;
	if (cached && jsoncache_peek(key, fn, arg, &ticket, &rc))
		return rc;
	rc = load_json(key, cached, ticket, keep, &j);
	if (rc == CF_OK)
		rc = fn(j, arg);
	json_decref(j);
	return rc;
}

int
core_read_json(const char *key, int (*fn)(const json_t *, void *), void *arg)
{
	return read_json(key, NULL, fn, arg);
}

int
core_read_json_members(const char *key, const char *const *keep,
    int (*fn)(const json_t *, void *), void *arg)
{
	return read_json(key, keep, fn, arg);
}

int
core_take_json(const char *key, json_t **out, unsigned long long *stamp)
{
	unsigned long long	 ticket = 0;
	int			 rc, cached = may_cache();

	*out = NULL;
	*stamp = 0;
	if (key == NULL)
		return CF_ENOMEM;
	if (!storage_key_is_valid(key))
		return CF_ENOTFOUND;
	if (cached && (*out = jsoncache_take(key, &ticket)) != NULL) {
		*stamp = ticket | 1;	/* the low bit: a stamp, not 0 */
		return CF_OK;
	}
	/* Not offered to the cache: the write puts its own. */
	rc = load_json(key, 0, ticket, NULL, out);
	if (cached && (rc == CF_OK || rc == CF_ENOTFOUND))
		*stamp = ticket | 1;
	return rc;
}

int
core_json_is_current(const char *key, unsigned long long stamp)
{
	return stamp != 0 && may_cache() && jsoncache_is_current(key, stamp);
}

int
core_put_json(const char *key, const json_t *j)
{
	struct buf	 b = BUF_INIT;
	int		 rc;

	if (key == NULL)
		return CF_ENOMEM;
	if ((rc = jsonutil_emit(j, &b)) == CF_OK)
		rc = core_put(key, b.data, b.len);
	buf_free(&b);
	return rc;
}

int
core_list_json(const char *prefix, json_t **out)
{
	struct strv	 sv = STRV_INIT;
	size_t		 i;
	int		 rc;

	*out = NULL;
	if (prefix == NULL)
		return CF_ENOMEM;
	if ((rc = core_list(prefix, &sv)) == CF_OK && sv.n > 0) {
		if ((*out = json_array()) == NULL)
			rc = CF_ENOMEM;
		for (i = 0; *out != NULL && i < sv.n; i++)
			json_array_append_new(*out, json_string(sv.v[i]));
	}
	strv_free(&sv);
	return rc;
}

int
core_del_prefix(const char *prefix)
{
	int	 rc;

	if (atomic_load(&state) != CORE_UNSEALED)
		return CF_ESEALED;
	/* A standby never writes: the active node may be writing. */
	if (!atomic_load(&active))
		return CF_ESTANDBY;
	/* One transaction or statement in the backend, not one per key. */
	rc = fenced(storage_del_prefix(store, prefix));
	jsoncache_clear();
	return rc;
}
