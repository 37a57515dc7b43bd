/*
 * inmem.c -- storage in memory, for -dev and tests.
 *
 * A sorted array of entries under a rwlock: lookups and list are binary
 * searches, inserts shift the tail (fine for the sizes -dev and tests
 * see).  Values are wiped when overwritten, deleted or closed.  Nothing
 * survives the process.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "storage.h"

struct memstore_entry {
	char		*key;
	unsigned char	*val;
	size_t		 len;
};

struct memstore {
	struct storage		 st;		/* must stay first */
	pthread_rwlock_t	 lock;
	struct memstore_entry	*e;
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
rd(struct memstore *ms)
{
	if (pthread_rwlock_rdlock(&ms->lock) != 0)
		abort();
}

static void
wr(struct memstore *ms)
{
	if (pthread_rwlock_wrlock(&ms->lock) != 0)
		abort();
}

static void
un(struct memstore *ms)
{
	if (pthread_rwlock_unlock(&ms->lock) != 0)
		abort();
}

/* Index of key, or of where it would go (*found 0). */
static size_t
find(const struct memstore *ms, const char *key, int *found)
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

static void
entry_wipe(struct memstore_entry *e)
{
	if (e->val != NULL) {
		sodium_memzero(e->val, e->len);
		free(e->val);
	}
	free(e->key);
}

static int
memstore_open(const struct storage_conf *conf, struct storage **out)
{
	struct memstore	*ms;

	(void)conf;
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
		entry_wipe(&ms->e[i]);
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

	rd(ms);
	i = find(ms, key, &found);
	rc = found ? buf_set(val, ms->e[i].val, ms->e[i].len) : CF_ENOTFOUND;
	un(ms);
	return rc;
}

/* Put with the write lock held. */
static int
put_locked(struct memstore *ms, const char *key, const void *val,
    size_t len)
{
	struct memstore_entry	*ne;
	unsigned char		*copy;
	size_t			 i, ncap;
	int			 found;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		return CF_ENOMEM;
	if (len > 0)
		memcpy(copy, val, len);
	i = find(ms, key, &found);
	if (found) {
		sodium_memzero(ms->e[i].val, ms->e[i].len);
		free(ms->e[i].val);
		ms->e[i].val = copy;
		ms->e[i].len = len;
		return CF_OK;
	}
	if (ms->n == ms->cap) {
		ncap = ms->cap ? ms->cap * 2 : 64;
		if ((ne = reallocarray(ms->e, ncap, sizeof(*ne))) == NULL) {
			free(copy);
			return CF_ENOMEM;
		}
		ms->e = ne;
		ms->cap = ncap;
	}
	memmove(&ms->e[i + 1], &ms->e[i], (ms->n - i) * sizeof(*ms->e));
	if ((ms->e[i].key = strdup(key)) == NULL) {
		memmove(&ms->e[i], &ms->e[i + 1], (ms->n - i) * sizeof(*ms->e));
		free(copy);
		return CF_ENOMEM;
	}
	ms->e[i].val = copy;
	ms->e[i].len = len;
	ms->n++;
	return CF_OK;
}

static void
del_locked(struct memstore *ms, const char *key)
{
	size_t	 i;
	int	 found;

	i = find(ms, key, &found);
	if (!found)
		return;
	entry_wipe(&ms->e[i]);
	memmove(&ms->e[i], &ms->e[i + 1], (ms->n - i - 1) * sizeof(*ms->e));
	ms->n--;
}

static int
memstore_put(struct storage *st, const char *key, const void *val,
    size_t len)
{
	struct memstore	*ms = memstore_from(st);
	int		 rc;

	wr(ms);
	rc = put_locked(ms, key, val, len);
	un(ms);
	return rc;
}

static int
memstore_del(struct storage *st, const char *key)
{
	struct memstore	*ms = memstore_from(st);

	wr(ms);
	del_locked(ms, key);
	un(ms);
	return CF_OK;
}

static int
memstore_list(struct storage *st, const char *prefix, struct strv *out)
{
	struct memstore	*ms = memstore_from(st);
	size_t		 i, plen = strlen(prefix), seglen;
	const char	*rest, *slash;
	char		*last = NULL;
	int		 found, rc = CF_OK;

	rd(ms);
	for (i = find(ms, prefix, &found); i < ms->n; i++) {
		if (strncmp(ms->e[i].key, prefix, plen) != 0)
			break;
		rest = ms->e[i].key + plen;
		slash = strchr(rest, '/');
		seglen = slash != NULL ? (size_t)(slash - rest) + 1 :
		    strlen(rest);
		/* Keys are sorted, so a folder's entries are adjacent. */
		if (last != NULL && strlen(last) == seglen &&
		    strncmp(last, rest, seglen) == 0)
			continue;
		if ((rc = strv_pushn(out, rest, seglen)) != CF_OK)
			break;
		last = out->v[out->n - 1];
	}
	un(ms);
	/*
	 * Keys sort "a-b" < "a/x" < "a0" but the folder entry "a/" must sort
	 * as itself; one bytewise sort of the result settles it.
	 */
	strv_sort(out);
	return rc;
}

static int
memstore_batch(struct storage *st, const struct storage_op *ops, size_t n)
{
	struct memstore	*ms = memstore_from(st);
	size_t		 i;
	int		 rc = CF_OK;

	/*
	 * Reserve room for every put first, so that the only failure left
	 * is a value copy running out of memory.
	 * XXX a copy failing half-way leaves the earlier ops applied.
	 */
	wr(ms);
	if (ms->n + n > ms->cap) {
		struct memstore_entry	*ne;
		size_t			 ncap = ms->n + n + 64;

		if ((ne = reallocarray(ms->e, ncap, sizeof(*ne))) == NULL) {
			un(ms);
			return CF_ENOMEM;
		}
		ms->e = ne;
		ms->cap = ncap;
	}
	for (i = 0; i < n && rc == CF_OK; i++) {
		if (ops[i].kind == STORAGE_OP_PUT)
			rc = put_locked(ms, ops[i].key, ops[i].val,
			    ops[i].len);
		else
			del_locked(ms, ops[i].key);
	}
	un(ms);
	return rc;
}

const struct storage_ops storage_inmem_ops = {
	.name = "inmem",
	.version = STORAGE_OPS_VERSION,
	.open = memstore_open,
	.close = memstore_close,
	.get = memstore_get,
	.put = memstore_put,
	.del = memstore_del,
	.list = memstore_list,
	.batch = memstore_batch,
};
