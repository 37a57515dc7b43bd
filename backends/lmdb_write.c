/*
 * lmdb_write.c -- the LMDB storage's writes: batches (put and del are
 * batches of one, storage_put_by_batch), the group commit that joins
 * concurrent writers into one transaction, and del_prefix.
 *
 * Group commit: LMDB has one writer at a time and each commit syncs the
 * disk, so a commit per put caps writes at the disk's sync rate.
 * Writers queue instead (group_commit.c, with one leader at a time, as
 * LMDB has one write transaction): the leader applies every queued
 * request in one transaction and commits once.  Requests are validated
 * before they join, so none should fail on its own.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "err.h"
#include "lmdbstore.h"
#include "lock.h"
#include "storage.h"

/* Apply ops in txn; 0 or an LMDB error. */
static int
lmdbstore_apply(struct lmdbstore *ls, MDB_txn *txn,
    const struct storage_op *ops, size_t n)
{
	MDB_val	 k, v;
	size_t	 i;
	int	 rc;

	for (i = 0; i < n; i++) {
		k.mv_size = strlen(ops[i].key);
		k.mv_data = (void *)(uintptr_t)ops[i].key;
		if (ops[i].kind == STORAGE_OP_PUT) {
			v.mv_size = ops[i].len;
			v.mv_data = (void *)(uintptr_t)(ops[i].val != NULL ?
			    ops[i].val : "");
			rc = mdb_put(txn, ls->dbi, &k, &v, 0);
		} else if ((rc = mdb_del(txn, ls->dbi, &k, NULL)) ==
		    MDB_NOTFOUND)
			rc = 0;		/* deleting nothing is fine */
		if (rc != 0)
			return rc;
	}
	return 0;
}

struct lmdbstore_group {
	const struct group_req	*first, *stop;
};

/* Apply the requests first..stop (exclusive) in txn. */
static int
lmdbstore_apply_group(struct lmdbstore *ls, MDB_txn *txn, void *arg)
{
	struct lmdbstore_group	*g = arg;
	const struct group_req	*r;
	int			 rc = 0;

	for (r = g->first; r != g->stop && rc == 0; r = r->next)
		rc = lmdbstore_apply(ls, txn, r->ops, r->n);
	return rc;
}

/*
 * Commit the requests first..stop (exclusive) in one write transaction,
 * growing or adopting the map size as LMDB asks.
 */
int
lmdbstore_commit(void *arg, const struct group_req *first,
    const struct group_req *stop)
{
	struct lmdbstore_group	 g;

	g.first = first;
	g.stop = stop;
	return lmdbstore_txn(arg, 1, lmdbstore_apply_group, &g, "commit");
}

/* Checks LMDB would make inside a transaction, made before joining. */
static int
lmdbstore_check(const struct lmdbstore *ls, const struct storage_op *ops,
    size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (strlen(ops[i].key) > ls->maxkey)
			return CF_EINVAL;
		if (ops[i].kind == STORAGE_OP_PUT &&
		    ops[i].len > LMDB_MAX_VALUE)
			return CF_ETOOBIG;
	}
	return CF_OK;
}

int
lmdbstore_batch(struct storage *st, const struct storage_op *ops, size_t n)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	int			 rc;

	if ((rc = lmdbstore_check(ls, ops, n)) != CF_OK)
		return rc;
	return group_commit_write(&ls->writes, ops, n);
}

/* Delete the keys under prefix in txn with a cursor; 0 or an error. */
static int
lmdbstore_del_walk(struct lmdbstore *ls, MDB_txn *txn, void *arg)
{
	const char	*prefix = arg;
	MDB_cursor	*cur;
	MDB_val		 k, v;
	size_t		 plen = strlen(prefix);
	int		 rc;

	if ((rc = mdb_cursor_open(txn, ls->dbi, &cur)) != 0)
		return rc;
	k.mv_size = plen;
	k.mv_data = (void *)(uintptr_t)prefix;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= plen &&
	    memcmp(k.mv_data, prefix, plen) == 0) {
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		/* Seek again rather than trust the cursor after a delete. */
		k.mv_size = plen;
		k.mv_data = (void *)(uintptr_t)prefix;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * One write transaction of its own, outside the group commit: LMDB
 * serializes it with the group leader's, and it commits (and syncs)
 * once however many keys it removes.
 */
int
lmdbstore_del_prefix(struct storage *st, const char *prefix)
{
	return lmdbstore_txn(lmdbstore_from(st), 1, lmdbstore_del_walk,
	    (void *)(uintptr_t)prefix, "delete prefix");
}
