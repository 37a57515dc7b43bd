/*
 * lmdb_read.c -- the LMDB storage's reads: get, and list with its
 * cursor walk that jumps over each folder.
 *
 * Each runs in a read-only transaction (lmdbstore_txn: the thread's
 * kept one, renewed) and copies what it found out before the
 * transaction ends: LMDB's values point into the map, which a resize
 * may move.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <lmdb.h>

#include "buf.h"
#include "err.h"
#include "lmdbstore.h"
#include "storage.h"

struct lmdbstore_getarg {
	MDB_val		 k;
	struct buf	*val;
};

static int
lmdbstore_get_txn(struct lmdbstore *ls, MDB_txn *txn, void *arg)
{
	struct lmdbstore_getarg	*ga = arg;
	MDB_val			 v;
	int			 rc;

	if ((rc = mdb_get(txn, ls->dbi, &ga->k, &v)) == 0 &&
	    buf_set(ga->val, v.mv_data, v.mv_size) != CF_OK)
		rc = ENOMEM;
	/* The copy is made: v dies with the transaction. */
	return rc;
}

int
lmdbstore_get(struct storage *st, const char *key, struct buf *val)
{
	struct lmdbstore_getarg	 ga;
	int			 rc;

	ga.k.mv_size = strlen(key);
	ga.k.mv_data = (void *)(uintptr_t)key;
	ga.val = val;
	rc = lmdbstore_txn(lmdbstore_from(st), 0, lmdbstore_get_txn, &ga,
	    "get");
	if (rc != CF_OK)
		buf_reset(val);
	return rc;
}

struct lmdbstore_walkarg {
	const char	*prefix;
	struct strv	*out;
};

/* Walk the keys under prefix in txn, appending direct children to out. */
static int
lmdbstore_walk(struct lmdbstore *ls, MDB_txn *txn, void *arg)
{
	struct lmdbstore_walkarg *wa = arg;
	const char	*prefix = wa->prefix;
	struct strv	*out = wa->out;
	MDB_cursor	*cur;
	MDB_val		 k, v;
	MDB_cursor_op	 op;
	char		 bound[STORAGE_KEY_MAX + 2];
	size_t		 plen = strlen(prefix), seg;
	const char	*rest, *slash;
	int		 rc;

	if ((rc = mdb_cursor_open(txn, ls->dbi, &cur)) != 0)
		return rc;
	k.mv_size = plen;
	k.mv_data = (void *)(uintptr_t)prefix;
	op = plen > 0 ? MDB_SET_RANGE : MDB_FIRST;
	while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		rest = (const char *)k.mv_data + plen;
		slash = memchr(rest, '/', k.mv_size - plen);
		seg = slash != NULL ? (size_t)(slash - rest) + 1 :
		    k.mv_size - plen;
		if (strv_pushn(out, rest, seg) != CF_OK) {
			rc = ENOMEM;
			break;
		}
		if (slash == NULL || plen + seg > STORAGE_KEY_MAX)
			continue;
		/*
		 * Jump over the folder: every key under "prefix/name/" sorts
		 * below "prefix/name0", since '0' follows '/'.
		 */
		memcpy(bound, k.mv_data, plen + seg);
		bound[plen + seg - 1] = '/' + 1;
		k.mv_size = plen + seg;
		k.mv_data = bound;
		op = MDB_SET_RANGE;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
lmdbstore_list(struct storage *st, const char *prefix, struct strv *out)
{
	struct lmdbstore_walkarg wa;
	size_t			 n0 = out->n;
	int			 rc;

	wa.prefix = prefix;
	wa.out = out;
	rc = lmdbstore_txn(lmdbstore_from(st), 0, lmdbstore_walk, &wa,
	    "list");
	/*
	 * Keys order "a-b" < "a/x" < "a0", but the entry "a/" must sort as
	 * itself, after "a-b" and "a.b": what we added is sorted again.
	 */
	return strv_list_done(out, n0, rc);
}
