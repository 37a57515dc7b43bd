/*
 * postgresql.c -- storage in one PostgreSQL table, through libpq.
 *
 * The table has Vault's layout, so that a table Vault wrote is read as
 * it is: parent_path, path, key (text, collation "C" so that ordering
 * and LIKE prefixes are bytewise), value (bytea), primary key (path,
 * key), an index on parent_path.  A storage key "a/b/c" is the row
 * path "/a/b/", key "c", parent_path "/a/"; a key without a slash has
 * path "/" and parent_path "".  open creates the table and the index
 * unless skip_create_table is set.
 *
 * Durability is the server's: a call returns after COMMIT returned,
 * which with PostgreSQL's default synchronous_commit means the WAL
 * record is flushed.
 *
 * The connection string may hold a password: it is never logged (libpq
 * error texts name host and port only), and it is wiped on close.
 *
 * The pool is postgresql_pool.c, the HA lock and the fencing of writes
 * postgresql_ha.c; postgresql.h holds what they share.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "group_commit.h"
#include "log.h"
#include "postgresql.h"
#include "storage.h"

/*
 * Vault's split of a key into parent_path, path and key: "a/b/c" is
 * "/a/", "/a/b/", "c"; "a/c" is "/", "/a/", "c"; "c" is "", "/", "c".
 */
static void
pgstore_split(const char *full, char *parent, char *path, const char **key)
{
	const char	*last, *prev;
	size_t		 n;

	if ((last = strrchr(full, '/')) == NULL) {
		parent[0] = '\0';
		strlcpy(path, "/", PG_PATH_MAX);
		*key = full;
		return;
	}
	*key = last + 1;
	n = (size_t)(last - full);
	snprintf(path, PG_PATH_MAX, "/%.*s/", (int)n, full);
	for (prev = last; prev > full && prev[-1] != '/'; prev--)
		;
	if (prev == full)
		strlcpy(parent, "/", PG_PATH_MAX);
	else
		snprintf(parent, PG_PATH_MAX, "/%.*s",
		    (int)(prev - full), full);
}

/* "/" + prefix with LIKE's %, _ and \ escaped, then "%". */
static void
pgstore_like(const char *prefix, char *out)
{
	size_t	 o = 0;

	out[o++] = '/';
	for (; *prefix != '\0'; prefix++) {
		if (*prefix == '%' || *prefix == '_' || *prefix == '\\')
			out[o++] = '\\';
		out[o++] = *prefix;
	}
	out[o++] = '%';
	out[o] = '\0';
}

struct pgstore_get_arg {
	const char	*key;
	struct buf	*val;
};

static int
pgstore_get_fn(struct pgstore *ps, PGconn *c, void *arg)
{
	struct pgstore_get_arg	*a = arg;
	char			 parent[PG_PATH_MAX], path[PG_PATH_MAX];
	const char		*params[2];

	pgstore_split(a->key, parent, path, &params[1]);
	params[0] = path;
	/* Results in binary: the value's bytes as they are. */
	return pgstore_cell(ps, c, PG_GET, 2, params, 1, "get", a->val);
}

static int
pgstore_get(struct storage *st, const char *key, struct buf *val)
{
	struct pgstore_get_arg	 a = { key, val };
	int			 rc;

	if ((rc = pgstore_run(pgstore_from(st), pgstore_get_fn, &a)) != CF_OK)
		buf_reset(val);
	return rc;
}

/* One put or delete on c, inside or outside a transaction. */
static int
pgstore_exec_op(struct pgstore *ps, PGconn *c, const struct storage_op *op)
{
	char		 parent[PG_PATH_MAX], path[PG_PATH_MAX];
	const char	*params[4], *key;
	int		 lens[4] = { 0, 0, 0, 0 };
	int		 fmts[4] = { 0, 0, 0, 1 };	/* value: binary */
	PGresult	*res;
	int		 rc;

	pgstore_split(op->key, parent, path, &key);
	if (op->kind == STORAGE_OP_DEL) {
		params[0] = path;
		params[1] = key;
		res = PQexecPrepared(c, pgstore_stmt_names[PG_DEL], 2, params,
		    NULL, NULL, 0);
		rc = pgstore_check(ps, c, res, PGRES_COMMAND_OK, "delete");
		PQclear(res);
		return rc;
	}
	params[0] = parent;
	params[1] = path;
	params[2] = key;
	params[3] = op->len > 0 ? op->val : "";
	lens[3] = (int)op->len;
	res = PQexecPrepared(c, pgstore_stmt_names[PG_PUT], 4, params, lens,
	    fmts, 0);
	rc = pgstore_check(ps, c, res, PGRES_COMMAND_OK, "put");
	PQclear(res);
	return rc;
}

/* An operation of a group, with its place in the group's order. */
struct pgstore_op_at {
	const struct storage_op	*op;
	size_t			 at;
};

struct pgstore_batch_arg {
	const struct pgstore_op_at *ops;	/* in the order to apply */
	size_t			 n;
	const char		*prefix;	/* or delete by this prefix */
};

/* Queue one put or delete of a pipelined batch (unfenced). */
static int
pgstore_send_op(PGconn *c, const struct storage_op *op)
{
	char		 parent[PG_PATH_MAX], path[PG_PATH_MAX];
	const char	*params[4], *key;
	int		 lens[4] = { 0, 0, 0, 0 };
	int		 fmts[4] = { 0, 0, 0, 1 };	/* value: binary */

	/* libpq copies the parameters into its buffer before returning. */
	pgstore_split(op->key, parent, path, &key);
	if (op->kind == STORAGE_OP_DEL) {
		params[0] = path;
		params[1] = key;
		return PQsendQueryPrepared(c, pgstore_stmt_names[PG_DEL], 2,
		    params, NULL, NULL, 0) == 1 ? CF_OK : CF_EIO;
	}
	params[0] = parent;
	params[1] = path;
	params[2] = key;
	params[3] = op->len > 0 ? op->val : "";
	lens[3] = (int)op->len;
	return PQsendQueryPrepared(c, pgstore_stmt_names[PG_PUT], 4, params,
	    lens, fmts, 0) == 1 ? CF_OK : CF_EIO;
}

/*
 * The results of a pipelined batch, up to its sync.  The first error
 * decides: the fence's "division by zero" (another epoch) is
 * CF_ESTANDBY, any other CF_EIO; the statements after it come back
 * aborted and nothing of the batch stays.
 */
static int
pgstore_batch_results(struct pgstore *ps, PGconn *c, const char *epoch)
{
	PGresult	*res;
	const char	*state;
	int		 rc = CF_OK, synced = 0;
	ExecStatusType	 st;

	while (!synced) {
		if ((res = PQgetResult(c)) == NULL) {
			/* The end of one statement's results. */
			if (PQstatus(c) != CONNECTION_OK) {
				if (rc == CF_OK)
					rc = pgstore_check(ps, c, NULL,
					    PGRES_COMMAND_OK, "batch");
				break;
			}
			continue;
		}
		st = PQresultStatus(res);
		if (st == PGRES_PIPELINE_SYNC)
			synced = 1;
		else if (st == PGRES_FATAL_ERROR && rc == CF_OK) {
			state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			if (epoch != NULL && state != NULL &&
			    strcmp(state, "22012") == 0)
				rc = pgstore_fenced(ps, epoch);
			else
				rc = pgstore_check(ps, c, res,
				    PGRES_COMMAND_OK, "batch");
		} else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
		    st != PGRES_PIPELINE_ABORTED && rc == CF_OK)
			rc = pgstore_check(ps, c, res, PGRES_COMMAND_OK,
			    "batch");
		PQclear(res);
	}
	if (PQexitPipelineMode(c) != 1 && rc == CF_OK)
		rc = pgstore_check(ps, c, NULL, PGRES_COMMAND_OK, "batch");
	return rc;
}

/*
 * A write of an HA store, or a batch of several operations, is one
 * round trip: in libpq's pipeline mode the fence (an HA store's), then
 * every statement, then one sync.  What runs before a sync is one
 * implicit transaction, so an error anywhere rolls all of it back.
 *
 * The fence is two statements.  The first takes the fence's advisory
 * lock SHARED for the transaction; a new holder's epoch bump takes it
 * EXCLUSIVE first (postgresql_ha.c), so it waits for every fenced
 * write in flight, and a write that asks after it waits for the bump
 * to commit.  The second reads the epoch, failing (a division by zero)
 * unless it is ours.  It is a later statement, so in READ COMMITTED its
 * snapshot is taken once the lock is granted: either the bump has not
 * got its lock yet (and will not commit before this transaction ends)
 * or it committed before our lock was granted, and we see its epoch.
 * So a deposed node's write either commits before the takeover or
 * writes nothing.  An advisory lock lives in the server's memory:
 * unlike a share lock on the epoch row (a MultiXact and a WAL record
 * per write when writers overlap), it costs no write.
 */
static int
pgstore_batch_fn(struct pgstore *ps, PGconn *c, void *arg)
{
	struct pgstore_batch_arg	*a = arg;
	const char			*params[2];
	char				 epoch[24], like[PG_LIKE_MAX];
	size_t				 i;
	int				 rc = CF_OK;

	if (!ps->ha && a->prefix == NULL && a->n == 1)
		return pgstore_exec_op(ps, c, a->ops[0].op);
	if (ps->ha && (rc = pgstore_epoch(ps, epoch, sizeof(epoch))) != CF_OK)
		return rc;
	if (PQenterPipelineMode(c) != 1)
		return pgstore_check(ps, c, NULL, PGRES_COMMAND_OK, "batch");
	if (ps->ha) {
		params[0] = ps->fence_id;
		if (PQsendQueryPrepared(c, pgstore_stmt_names[PG_FLOCK], 1,
		    params, NULL, NULL, 0) != 1)
			rc = CF_EIO;
		params[0] = ps->ha_key;
		params[1] = epoch;
		if (rc == CF_OK && PQsendQueryPrepared(c,
		    pgstore_stmt_names[PG_FENCE], 2, params, NULL, NULL, 0) != 1)
			rc = CF_EIO;
	}
	if (a->prefix != NULL && rc == CF_OK) {
		pgstore_like(a->prefix, like);
		params[0] = like;
		if (PQsendQueryPrepared(c, pgstore_stmt_names[PG_DELPREFIX], 1,
		    params, NULL, NULL, 0) != 1)
			rc = CF_EIO;
	}
	for (i = 0; i < a->n && rc == CF_OK; i++)
		rc = pgstore_send_op(c, a->ops[i].op);
	if (rc != CF_OK || PQpipelineSync(c) != 1)
		/*
		 * Nothing was synced, so nothing commits; the session stays
		 * in pipeline mode and pgstore_release closes it.
		 */
		return pgstore_check(ps, c, NULL, PGRES_COMMAND_OK, "batch");
	return pgstore_batch_results(ps, c, ps->ha ? epoch : NULL);
}

static int
pgstore_op_cmp(const void *a, const void *b)
{
	const struct pgstore_op_at	*x = a, *y = b;
	int				 c;

	if ((c = strcmp(x->op->key, y->op->key)) != 0)
		return c;
	return x->at < y->at ? -1 : x->at > y->at;
}

/*
 * group_commit_fn: the batches of first..stop (exclusive) as one batch.
 * The operations go in key order (the writes of one key in the order
 * they were made), so that concurrent groups lock their rows in the
 * same order and never deadlock each other.
 */
static int
pgstore_commit(void *arg, const struct group_req *first,
    const struct group_req *stop)
{
	struct pgstore_batch_arg	 a = { NULL, 0, NULL };
	const struct group_req		*r;
	struct pgstore_op_at		*v;
	size_t				 i, n = 0;
	int				 rc;

	for (r = first; r != stop; r = r->next)
		n += r->n;
	if (n == 0)
		return CF_OK;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return CF_ENOMEM;
	for (r = first; r != stop; r = r->next)
		for (i = 0; i < r->n; i++, a.n++) {
			v[a.n].op = &r->ops[i];
			v[a.n].at = a.n;
		}
	if (n > 1)
		qsort(v, n, sizeof(*v), pgstore_op_cmp);
	a.ops = v;
	rc = pgstore_run(arg, pgstore_batch_fn, &a);
	free(v);
	return rc;
}

/*
 * Concurrent writers share transactions (group_commit.c): a round trip,
 * the fence and a commit's WAL flush are paid once per group rather
 * than once per write.
 */
static int
pgstore_batch(struct storage *st, const struct storage_op *ops, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (ops[i].kind == STORAGE_OP_PUT && ops[i].len > INT32_MAX)
			return CF_ETOOBIG;
	return group_commit_write(&pgstore_from(st)->writes, ops, n);
}

struct pgstore_list_arg {
	const char	*prefix;
	struct strv	*out;
};

static int
pgstore_list_fn(struct pgstore *ps, PGconn *c, void *arg)
{
	struct pgstore_list_arg	*a = arg;
	char			 path[PG_PATH_MAX], like[PG_LIKE_MAX];
	const char		*params[2];
	PGresult		*res;
	int			 i, n, rc;

	snprintf(path, sizeof(path), "/%s", a->prefix);
	pgstore_like(a->prefix, like);
	params[0] = path;
	params[1] = like;
	res = PQexecPrepared(c, pgstore_stmt_names[PG_LIST], 2, params, NULL,
	    NULL, 0);
	if ((rc = pgstore_check(ps, c, res, PGRES_TUPLES_OK, "list")) ==
	    CF_OK) {
		n = PQntuples(res);
		for (i = 0; i < n && rc == CF_OK; i++)
			rc = strv_push(a->out, PQgetvalue(res, i, 0));
	}
	PQclear(res);
	return rc;
}

static int
pgstore_list(struct storage *st, const char *prefix, struct strv *out)
{
	struct pgstore_list_arg	 a = { prefix, out };
	size_t			 n0 = out->n;
	int			 rc;

	rc = pgstore_run(pgstore_from(st), pgstore_list_fn, &a);
	/* Bytewise, whatever the server's ordering. */
	return strv_list_done(out, n0, rc);
}

static int
pgstore_del_prefix_fn(struct pgstore *ps, PGconn *c, void *arg)
{
	char		 like[PG_LIKE_MAX];
	const char	*params[1];
	PGresult	*res;
	int		 rc;

	pgstore_like(arg, like);
	params[0] = like;
	res = PQexecPrepared(c, pgstore_stmt_names[PG_DELPREFIX], 1, params,
	    NULL, NULL, 0);
	rc = pgstore_check(ps, c, res, PGRES_COMMAND_OK, "delete prefix");
	PQclear(res);
	return rc;
}

static int
pgstore_del_prefix(struct storage *st, const char *prefix)
{
	struct pgstore			*ps = pgstore_from(st);
	struct pgstore_batch_arg	 a = { NULL, 0, prefix };

	/* One statement: all of the folder goes, or none of it. */
	if (ps->ha)
		return pgstore_run(ps, pgstore_batch_fn, &a);
	return pgstore_run(ps, pgstore_del_prefix_fn,
	    (void *)(uintptr_t)prefix);
}

/* A table name we accept: letters, digits, '_', not too long. */
static int
pgstore_table_is_valid(const char *t)
{
	size_t	 i;

	for (i = 0; t[i] != '\0'; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_')
			return 0;
	return i > 0 && i <= PG_TABLE_MAX;
}

/*
 * A duration in milliseconds: digits and a unit, "ms" or "s" (none is
 * seconds, as in Vault's settings); -1 if not one or out of range.
 */
static long long
pgstore_duration(const char *val)
{
	char		 num[16];
	const char	*errstr;
	size_t		 n;
	long long	 v, mul;

	n = strspn(val, "0123456789");
	if (n == 0 || n >= sizeof(num))
		return -1;
	if (val[n] == '\0' || strcmp(val + n, "s") == 0)
		mul = 1000;
	else if (strcmp(val + n, "ms") == 0)
		mul = 1;
	else
		return -1;
	memcpy(num, val, n);
	num[n] = '\0';
	v = strtonum(num, 1, PG_SESSION_MAX, &errstr);
	if (errstr != NULL || v * mul < PG_SESSION_MIN ||
	    v * mul > PG_SESSION_MAX)
		return -1;
	return v * mul;
}

static int
pgstore_conf_check(const char *key, const char *val, char *why,
    size_t whylen)
{
	const char	*errstr;

	if (strcmp(key, "ha_session_timeout") == 0) {
		if (pgstore_duration(val) < 0) {
			snprintf(why, whylen, "ha_session_timeout must be a "
			    "duration from %dms to %ds (\"2s\", \"1500ms\")",
			    PG_SESSION_MIN, PG_SESSION_MAX / 1000);
			return CF_EINVAL;
		}
		return CF_OK;
	}

	if (strcmp(key, "connection_url") == 0) {
		if (val[0] == '\0') {
			snprintf(why, whylen, "connection_url is empty");
			return CF_EINVAL;
		}
		return CF_OK;
	}
	if (strcmp(key, "table") == 0 || strcmp(key, "ha_table") == 0) {
		if (!pgstore_table_is_valid(val)) {
			snprintf(why, whylen, "%s must be 1 to %d letters, "
			    "digits or '_'", key, PG_TABLE_MAX);
			return CF_EINVAL;
		}
		return CF_OK;
	}
	if (strcmp(key, "max_parallel") == 0) {
		(void)strtonum(val, 1, PG_MAX_PARALLEL, &errstr);
		if (errstr != NULL) {
			snprintf(why, whylen, "max_parallel must be a number "
			    "from 1 to %d", PG_MAX_PARALLEL);
			return CF_EINVAL;
		}
		return CF_OK;
	}
	if (strcmp(key, "skip_create_table") == 0) {
		if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0 &&
		    strcmp(val, "1") != 0 && strcmp(val, "0") != 0) {
			snprintf(why, whylen, "skip_create_table must be "
			    "true or false");
			return CF_EINVAL;
		}
		return CF_OK;
	}
	snprintf(why, whylen, "unknown key \"%s\" in storage \"postgresql\" "
	    "(connection_url, table, ha_table, ha_enabled, "
	    "ha_session_timeout, max_parallel, skip_create_table)", key);
	return CF_EINVAL;
}

static void
pgstore_free(struct pgstore *ps)
{
	size_t	 i;

	for (i = 0; i < ps->nidle; i++)
		PQfinish(ps->idle[i]);
	free(ps->idle);
	if (ps->conninfo != NULL) {
		sodium_memzero(ps->conninfo, strlen(ps->conninfo));
		free(ps->conninfo);
	}
	if (ps->lk != NULL)
		PQfinish(ps->lk);	/* ends the session: the lock goes */
	pthread_mutex_destroy(&ps->mu);
	pthread_cond_destroy(&ps->cv);
	pthread_mutex_destroy(&ps->lk_mu);
	pthread_mutex_destroy(&ps->ha_mu);
	pthread_cond_destroy(&ps->ha_cv);
	group_commit_destroy(&ps->writes);
	free(ps);
}

/* Vault's table and index, unless they are there. */
static int
pgstore_create(struct pgstore *ps, PGconn *c, const char *table)
{
	char	 sql[PG_SQL_MAX];
	int	 rc;

	snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS \"%s\" ("
	    "parent_path TEXT COLLATE \"C\" NOT NULL, "
	    "path TEXT COLLATE \"C\", key TEXT COLLATE \"C\", value BYTEA, "
	    "PRIMARY KEY (path, key))", table);
	if ((rc = pgstore_command(ps, c, sql)) != CF_OK)
		return rc;
	snprintf(sql, sizeof(sql), "CREATE INDEX IF NOT EXISTS "
	    "\"%s_parent_path_idx\" ON \"%s\" (parent_path)", table, table);
	return pgstore_command(ps, c, sql);
}

static void
pgstore_sql(struct pgstore *ps, const char *t)
{
	snprintf(ps->sql[PG_GET], PG_SQL_MAX,
	    "SELECT value FROM \"%s\" WHERE path = $1 AND key = $2", t);
	snprintf(ps->sql[PG_PUT], PG_SQL_MAX,
	    "INSERT INTO \"%s\" (parent_path, path, key, value) "
	    "VALUES ($1, $2, $3, $4) "
	    "ON CONFLICT (path, key) DO UPDATE SET value = $4", t);
	snprintf(ps->sql[PG_DEL], PG_SQL_MAX,
	    "DELETE FROM \"%s\" WHERE path = $1 AND key = $2", t);
	/* Leaves of the folder, then the first segment below it. */
	snprintf(ps->sql[PG_LIST], PG_SQL_MAX,
	    "SELECT key FROM \"%s\" WHERE path = $1 "
	    "UNION ALL SELECT DISTINCT substring(substr(path, "
	    "length($1) + 1) from '^[^/]*/') FROM \"%s\" "
	    "WHERE parent_path LIKE $2 ESCAPE '\\'", t, t);
	snprintf(ps->sql[PG_DELPREFIX], PG_SQL_MAX,
	    "DELETE FROM \"%s\" WHERE path LIKE $1 ESCAPE '\\'", t);
}

/* The mutexes and condition variables; 0 or -1 (none left made). */
static int
pgstore_sync_init(struct pgstore *ps)
{
	pthread_condattr_t	 cattr;
	int			 n = 0, ok;

	if (pthread_mutex_init(&ps->mu, NULL) != 0)
		return -1;
	n++;
	if (pthread_cond_init(&ps->cv, NULL) != 0)
		goto fail;
	n++;
	if (pthread_mutex_init(&ps->lk_mu, NULL) != 0)
		goto fail;
	n++;
	if (pthread_mutex_init(&ps->ha_mu, NULL) != 0)
		goto fail;
	n++;
	if (pthread_condattr_init(&cattr) != 0)
		goto fail;
	ok = pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&ps->ha_cv, &cattr) == 0;
	pthread_condattr_destroy(&cattr);
	if (!ok)
		goto fail;
	n++;
	if (group_commit_init(&ps->writes, ps->max < PG_WRITE_GROUPS ?
	    (int)ps->max : PG_WRITE_GROUPS, PG_GROUP_OPS, pgstore_commit,
	    ps) == CF_OK)
		return 0;
 fail:
	if (n > 4)
		pthread_cond_destroy(&ps->ha_cv);
	if (n > 3)
		pthread_mutex_destroy(&ps->ha_mu);
	if (n > 2)
		pthread_mutex_destroy(&ps->lk_mu);
	if (n > 1)
		pthread_cond_destroy(&ps->cv);
	pthread_mutex_destroy(&ps->mu);
	return -1;
}

static int
pgstore_open(const struct storage_conf *conf, struct storage **out)
{
	struct pgstore	*ps;
	PGconn		*c = NULL;
	const char	*url, *table, *ha_table, *v, *errstr;
	char		 why[256];
	size_t		 i;
	int		 rc, skip = 0, reused;
	long long	 max = PG_DEFAULT_PARALLEL, timeout = PG_SESSION_DEFAULT;

	if (conf->path != NULL) {
		log_warnx("postgresql: storage takes connection_url, not path");
		return CF_EINVAL;
	}
	for (i = 0; i < conf->nopts; i++)
		if (pgstore_conf_check(conf->opts[i].key, conf->opts[i].val,
		    why, sizeof(why)) != CF_OK) {
			log_warnx("postgresql: %s", why);
			return CF_EINVAL;
		}
	url = getenv(PG_ENV_URL);
	if (url == NULL || url[0] == '\0')
		url = storage_conf_get(conf, "connection_url");
	if (url == NULL) {
		log_warnx("postgresql: storage needs connection_url (or %s "
		    "in the environment)", PG_ENV_URL);
		return CF_EINVAL;
	}
	if ((table = storage_conf_get(conf, "table")) == NULL)
		table = PG_DEFAULT_TABLE;
	if ((ha_table = storage_conf_get(conf, "ha_table")) == NULL)
		ha_table = PG_DEFAULT_HA_TABLE;
	if ((v = storage_conf_get(conf, "max_parallel")) != NULL)
		max = strtonum(v, 1, PG_MAX_PARALLEL, &errstr);
	if ((v = storage_conf_get(conf, "skip_create_table")) != NULL)
		skip = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
	if ((v = storage_conf_get(conf, "ha_session_timeout")) != NULL)
		timeout = pgstore_duration(v);

	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return CF_ENOMEM;
	ps->max = (size_t)max;
	if (pgstore_sync_init(ps) != 0) {
		free(ps);
		return CF_EINTERNAL;
	}
	ps->st.ops = &storage_postgresql_ops;
	ps->ha = conf->ha_enabled;
	ps->timeout_ms = (int)timeout;
	ps->nstmt = ps->ha ? PG_NSTMT : PG_NPLAIN;
	strlcpy(ps->table, table, sizeof(ps->table));
	if ((ps->conninfo = strdup(url)) == NULL ||
	    (ps->idle = calloc(ps->max, sizeof(*ps->idle))) == NULL) {
		pgstore_free(ps);
		return CF_ENOMEM;
	}
	pgstore_sql(ps, table);
	if (ps->ha)
		pgstore_ha_setup(ps, ha_table);

	/* One connection now: the table, and whether we can connect. */
	if ((c = pgstore_dial(ps, (const char *const[]){ "connect_timeout",
	    "application_name", "dbname", NULL }, (const char *const[]){
	    PG_CONNECT_TIMEOUT, "cofferd", ps->conninfo, NULL },
	    "cannot connect")) == NULL) {
		rc = CF_EIO;
		goto out;
	}
	if (!skip && (rc = pgstore_create(ps, c, table)) != CF_OK)
		goto out;
	if (!skip && ps->ha && (rc = pgstore_create_ha(ps, c, ha_table)) !=
	    CF_OK)
		goto out;
	PQfinish(c);
	c = NULL;
	/* The first pooled connection prepares the statements. */
	if ((rc = pgstore_acquire(ps, &c, &reused)) != CF_OK)
		goto out;
	pgstore_release(ps, c);
	c = NULL;
	if (ps->ha) {
		if ((rc = pgstore_ha_start(ps)) != CF_OK)
			goto out;
		log_info("postgresql: HA on table \"%s\", session timeout "
		    "%d ms", ha_table, ps->timeout_ms);
	}
	log_info("postgresql: table \"%s\", up to %zu connections", table,
	    ps->max);
	*out = &ps->st;
	return CF_OK;
 out:
	if (c != NULL)
		PQfinish(c);
	pgstore_free(ps);
	return rc;
}

static void
pgstore_close(struct storage *st)
{
	struct pgstore	*ps = pgstore_from(st);

	pgstore_ha_stop(ps);
	pgstore_free(ps);
}

const struct storage_ops storage_postgresql_ops = {
	.name = "postgresql",
	.version = STORAGE_OPS_VERSION,
	.open = pgstore_open,
	.close = pgstore_close,
	.get = pgstore_get,
	.put = storage_put_by_batch,
	.del = storage_del_by_batch,
	.list = pgstore_list,
	.batch = pgstore_batch,
	.lock_try = pgstore_lock_try,
	.lock_wait = pgstore_lock_wait,
	.lock_release = pgstore_lock_release,
	.lock_holder = pgstore_lock_holder,
	.lock_check = pgstore_lock_check,
	.conf_check = pgstore_conf_check,
	.del_prefix = pgstore_del_prefix,
};
