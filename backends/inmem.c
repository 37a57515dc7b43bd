/*
 * inmem.c -- storage in memory, for -dev and tests.
 *
 * A sorted array of entries: get is a binary search, list a binary
 * search to the prefix followed by a walk that jumps over each
 * sub-folder with one more search, so listing a folder costs its direct
 * children, not every key below it.  An insert shifts the tail, which is
 * a memmove of pointers: cheap for the tens of thousands of keys -dev
 * and tests hold.  Values are wiped when overwritten, deleted or closed.
 * Nothing survives the process.
 *
 * Threads: one rwlock; get and list read, put, del and batch write.
 * Every allocation a write needs is made before the lock is taken, so a
 * write under the lock cannot fail half-way and a batch is all or
 * nothing.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "lock.h"
#include "log.h"
#include "storage.h"

struct memstore_entry {
	char		*key;		/* owned */
	unsigned char	*val;		/* owned, wiped before free */
	size_t		 len;
};

struct memstore {
	struct storage		 st;		/* must stay first */
	pthread_rwlock_t	 lock;
	struct memstore_entry	*e;		/* sorted by strcmp(key) */
	size_t			 n, cap;
};

static struct memstore *
memstore_from(struct storage *st)
{
	if (st->ops != &storage_inmem_ops)
		CF_BUG("not an inmem storage");
	return (struct memstore *)st;
}

static void
memstore_rdlock(struct memstore *ms)
{
	lock_read(&ms->lock, LOCK_STORAGE);
}

static void
memstore_wrlock(struct memstore *ms)
{
	lock_write(&ms->lock, LOCK_STORAGE);
}

static void
memstore_unlock(struct memstore *ms)
{
	unlock_rw(&ms->lock);
}

/* Index of key, or of where it would go (*found 0). */
static size_t
memstore_find(const struct memstore *ms, const char *key, int *found)
{
	size_t	 lo = 0, hi = ms->n, mid;
	int	 c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(ms->e[mid].key, key);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Wipe and free what an entry owns; NULL members are fine. */
static void
memstore_entry_free(struct memstore_entry *e)
{
	if (e->val != NULL) {
		sodium_memzero(e->val, e->len);
		free(e->val);
	}
	free(e->key);
	e->key = NULL;
	e->val = NULL;
	e->len = 0;
}

/* Copy an op's key and value into a new entry, before any lock. */
static int
memstore_entry_make(const struct storage_op *op, struct memstore_entry *e)
{
	e->len = op->len;
	e->key = strdup(op->key);
	/* A zero-length value still gets a block: NULL means "none". */
	e->val = malloc(op->len > 0 ? op->len : 1);
	if (e->key == NULL || e->val == NULL) {
		free(e->key);
		free(e->val);
		e->key = NULL;
		e->val = NULL;
		return CF_ENOMEM;
	}
	if (op->len > 0)
		memcpy(e->val, op->val, op->len);
	return CF_OK;
}

/* Room for n more entries.  Write lock held. */
static int
memstore_reserve(struct memstore *ms, size_t n)
{
	struct memstore_entry	*ne;
	size_t			 ncap;

	if (ms->cap - ms->n >= n)
		return CF_OK;
	ncap = ms->cap > 0 ? ms->cap : 64;
	while (ncap - ms->n < n) {
		if (ncap > SIZE_MAX / 2 / sizeof(*ne))
			return CF_ENOMEM;
		ncap *= 2;
	}
	if ((ne = reallocarray(ms->e, ncap, sizeof(*ne))) == NULL)
		return CF_ENOMEM;
	ms->e = ne;
	ms->cap = ncap;
	return CF_OK;
}

/*
 * Apply one op, taking ownership of *e (a prepared put) and leaving it
 * empty.  Cannot fail: room was reserved.  Write lock held.
 */
static void
memstore_apply(struct memstore *ms, const struct storage_op *op,
    struct memstore_entry *e)
{
	size_t	 i;
	int	 found;

	i = memstore_find(ms, op->key, &found);
	if (op->kind == STORAGE_OP_DEL) {
		if (!found)
			return;
		memstore_entry_free(&ms->e[i]);
		memmove(&ms->e[i], &ms->e[i + 1],
		    (ms->n - i - 1) * sizeof(*ms->e));
		ms->n--;
		return;
	}
	if (found) {
		/* Keep the old key, wipe the old value. */
		free(e->key);
		e->key = ms->e[i].key;
		ms->e[i].key = NULL;
		memstore_entry_free(&ms->e[i]);
	} else {
		memmove(&ms->e[i + 1], &ms->e[i],
		    (ms->n - i) * sizeof(*ms->e));
		ms->n++;
	}
	ms->e[i] = *e;
	e->key = NULL;
	e->val = NULL;
	e->len = 0;
}

static int
memstore_open(const struct storage_conf *conf, struct storage **out)
{
	struct memstore	*ms;

	/* Nothing to configure, not even a path; and no HA (one process). */
	if (conf->ha_enabled) {
		log_warnx("inmem: storage has no HA; remove ha_enabled");
		return CF_EINVAL;
	}
	if ((ms = calloc(1, sizeof(*ms))) == NULL)
		return CF_ENOMEM;
	if (pthread_rwlock_init(&ms->lock, NULL) != 0) {
		free(ms);
		return CF_EINTERNAL;
	}
	ms->st.ops = &storage_inmem_ops;
	*out = &ms->st;
	return CF_OK;
}

static void
memstore_close(struct storage *st)
{
	struct memstore	*ms = memstore_from(st);
	size_t		 i;

	for (i = 0; i < ms->n; i++)
		memstore_entry_free(&ms->e[i]);
	free(ms->e);
	pthread_rwlock_destroy(&ms->lock);
	free(ms);
}

static int
memstore_get(struct storage *st, const char *key, struct buf *val)
{
	struct memstore	*ms = memstore_from(st);
	size_t		 i;
	int		 found, rc;

	memstore_rdlock(ms);
	i = memstore_find(ms, key, &found);
	rc = found ? buf_set(val, ms->e[i].val, ms->e[i].len) : CF_ENOTFOUND;
	memstore_unlock(ms);
	if (rc != CF_OK)
		buf_reset(val);
	return rc;
}

static int
memstore_batch(struct storage *st, const struct storage_op *ops, size_t n)
{
	struct memstore		*ms = memstore_from(st);
	struct memstore_entry	*prep;
	size_t			 i;
	int			 rc = CF_OK;

	if ((prep = calloc(n, sizeof(*prep))) == NULL)
		return CF_ENOMEM;
	for (i = 0; i < n && rc == CF_OK; i++)
		if (ops[i].kind == STORAGE_OP_PUT)
			rc = memstore_entry_make(&ops[i], &prep[i]);
	if (rc != CF_OK)
		goto out;
	memstore_wrlock(ms);
	/* Every put may add an entry; past this point nothing fails. */
	if ((rc = memstore_reserve(ms, n)) == CF_OK)
		for (i = 0; i < n; i++)
			memstore_apply(ms, &ops[i], &prep[i]);
	memstore_unlock(ms);
 out:
	/* Leftovers: a failed batch's copies, or nothing. */
	for (i = 0; i < n; i++)
		memstore_entry_free(&prep[i]);
	free(prep);
	return rc;
}

static int
memstore_list(struct storage *st, const char *prefix, struct strv *out)
{
	struct memstore	*ms = memstore_from(st);
	char		 bound[STORAGE_KEY_MAX + 2];
	size_t		 i, n0 = out->n, plen = strlen(prefix), seg;
	const char	*rest, *slash;
	int		 found, rc = CF_OK;

	memstore_rdlock(ms);
	for (i = memstore_find(ms, prefix, &found); i < ms->n; i++) {
		if (strncmp(ms->e[i].key, prefix, plen) != 0)
			break;
		rest = ms->e[i].key + plen;
		slash = strchr(rest, '/');
		seg = slash != NULL ? (size_t)(slash - rest) + 1 : strlen(rest);
		if ((rc = strv_pushn(out, rest, seg)) != CF_OK)
			break;
		if (slash == NULL)
			continue;
		/*
		 * Jump over the folder: every key under "prefix/name/" sorts
		 * below "prefix/name0", since '0' follows '/'.
		 */
		memcpy(bound, ms->e[i].key, plen + seg);
		bound[plen + seg - 1] = '/' + 1;
		bound[plen + seg] = '\0';
		i = memstore_find(ms, bound, &found) - 1;
	}
	memstore_unlock(ms);
	/*
	 * Keys order "a-b" < "a/x" < "a0", but the entry "a/" must sort as
	 * itself, after "a-b" and "a.b": what we added is sorted again.
	 */
	return strv_list_done(out, n0, rc);
}

static int
memstore_del_prefix(struct storage *st, const char *prefix)
{
	struct memstore	*ms = memstore_from(st);
	size_t		 i, j, plen = strlen(prefix);
	int		 found;

	memstore_wrlock(ms);
	/* Keys under prefix sort together, right from prefix on. */
	i = memstore_find(ms, prefix, &found);
	for (j = i; j < ms->n && strncmp(ms->e[j].key, prefix, plen) == 0;
	    j++)
		memstore_entry_free(&ms->e[j]);
	memmove(&ms->e[i], &ms->e[j], (ms->n - j) * sizeof(*ms->e));
	ms->n -= j - i;
	memstore_unlock(ms);
	return CF_OK;
}

/* Nothing to configure beyond path and ha_enabled. */
static int
memstore_conf_check(const char *key, const char *val, char *why,
    size_t whylen)
{
	(void)val;
	snprintf(why, whylen, "unknown key \"%s\" in storage \"inmem\"",
	    key);
	return CF_EINVAL;
}

/*
 * No HA: a inmem store belongs to one process (configuration refuses
 * ha_enabled here), so there is no lock to share.
 */
static int
memstore_lock_try(struct storage *st, const char *holder, int *got)
{
	(void)st;
	(void)holder;
	*got = 0;
	return CF_ENOTSUP;
}

static int
memstore_lock_wait(struct storage *st, const char *holder, int ms, int *got)
{
	(void)st;
	(void)holder;
	(void)ms;
	*got = 0;
	return CF_ENOTSUP;
}

static int
memstore_lock_release(struct storage *st)
{
	(void)st;
	return CF_ENOTSUP;
}

static int
memstore_lock_holder(struct storage *st, struct buf *holder)
{
	(void)st;
	(void)holder;
	return CF_ENOTSUP;
}

static int
memstore_lock_check(struct storage *st)
{
	(void)st;
	return CF_ENOTSUP;
}

const struct storage_ops storage_inmem_ops = {
	.name = "inmem",
	.version = STORAGE_OPS_VERSION,
	.open = memstore_open,
	.close = memstore_close,
	.get = memstore_get,
	.put = storage_put_by_batch,
	.del = storage_del_by_batch,
	.list = memstore_list,
	.batch = memstore_batch,
	.lock_try = memstore_lock_try,
	.lock_wait = memstore_lock_wait,
	.lock_release = memstore_lock_release,
	.lock_holder = memstore_lock_holder,
	.lock_check = memstore_lock_check,
	.conf_check = memstore_conf_check,
	.del_prefix = memstore_del_prefix,
};
