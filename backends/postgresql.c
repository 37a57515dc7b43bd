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
 * Connections: a pool of at most max_parallel connections, opened as
 * requests need them and kept open afterwards.  Each new connection
 * prepares every statement once.  A call takes a connection for its
 * whole duration (a batch is one transaction: BEGIN, the statements,
 * COMMIT), so calls never share a session.  A connection that broke is
 * closed when it is handed back, and the next call opens a fresh one:
 * the store reconnects by itself once the database is back.  When a
 * pooled connection turns out to be dead (the database restarted while
 * it was idle), the call is run once more on a fresh connection: every
 * statement here is idempotent (an upsert, a delete), so running a
 * write twice cannot change its outcome.  Otherwise a failure is
 * CF_EIO, logged once per outage rather than once per call.
 *
 * Durability is the server's: a call returns after COMMIT returned,
 * which with PostgreSQL's default synchronous_commit means the WAL
 * record is flushed.
 *
 * The connection string may hold a password: it is never logged (libpq
 * error texts name host and port only), and it is wiped on close.
 *
 * The HA lock is not built yet: the lock methods answer CF_ENOTSUP and
 * open refuses ha_enabled.  It will hold a session advisory lock on a
 * connection of its own, outside this pool (XXX issue 12).
 *
 * Threads: mu guards the pool (idle stack, counts, the outage flag); cv
 * wakes a caller waiting for a connection when every one is in use.
 * mu is never held across a round trip to the database.
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
#include "log.h"
#include "storage.h"

#define PG_DEFAULT_TABLE	"vault_kv_store"
#define PG_DEFAULT_HA_TABLE	"vault_ha_locks"
#define PG_DEFAULT_PARALLEL	128	/* Vault's default */
#define PG_MAX_PARALLEL		4096
#define PG_TABLE_MAX		40	/* + "_parent_path_idx" < 64 */
#define PG_CONNECT_TIMEOUT	"5"	/* seconds; the URL may override */
#define PG_ENV_URL		"VAULT_PG_CONNECTION_URL"
#define PG_SQL_MAX		512
#define PG_PATH_MAX		(STORAGE_KEY_MAX + 2)	/* "/" + key + "/" */
/* A LIKE pattern: each byte escaped, then "%". */
#define PG_LIKE_MAX		(2 * PG_PATH_MAX + 2)

enum pgstore_stmt {
	PG_GET,
	PG_PUT,
	PG_DEL,
	PG_LIST,
	PG_DELPREFIX,
	PG_NSTMT
};

static const char *const pgstore_stmt_names[PG_NSTMT] = {
	"coffer_get", "coffer_put", "coffer_del", "coffer_list",
	"coffer_delprefix"
};

static const int pgstore_stmt_nparams[PG_NSTMT] = { 2, 4, 2, 2, 1 };

struct pgstore {
	struct storage	 st;		/* must stay first */
	char		*conninfo;	/* secret: wiped on close */
	char		 sql[PG_NSTMT][PG_SQL_MAX];
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	PGconn		**idle;		/* stack of idle connections; mu */
	size_t		 nidle;		/* mu */
	size_t		 nopen;		/* idle and in use; mu */
	size_t		 max;
	int		 down;		/* in an outage (logged); mu */
};

/* One call's work on a connection; CF_OK or a cf_err. */
typedef int	(*pgstore_fn)(struct pgstore *, PGconn *, void *);

static struct pgstore *
pgstore_from(struct storage *st)
{
	if (st->ops != &storage_postgresql_ops)
		CF_BUG("not a postgresql storage");
	return (struct pgstore *)st;
}

static void
pgstore_lock(struct pgstore *ps)
{
	if (pthread_mutex_lock(&ps->mu) != 0)
		abort();
}

static void
pgstore_unlock(struct pgstore *ps)
{
	if (pthread_mutex_unlock(&ps->mu) != 0)
		abort();
}

/* The first line of a libpq message, for the log. */
static void
pgstore_logerr(struct pgstore *ps, const char *what, const char *msg)
{
	char	 line[256];
	size_t	 n;
	int	 first;

	n = strcspn(msg, "\n");
	snprintf(line, sizeof(line), "%.*s", (int)n, msg);
	pgstore_lock(ps);
	first = !ps->down;
	pgstore_unlock(ps);
	if (first)
		log_warnx("postgresql: %s: %s", what, line);
	else
		log_debug("postgresql: %s: %s", what, line);
}

/* A call succeeded: end an outage, if any. */
static void
pgstore_up(struct pgstore *ps)
{
	int	 was;

	pgstore_lock(ps);
	was = ps->down;
	ps->down = 0;
	pgstore_unlock(ps);
	if (was)
		log_info("postgresql: database reachable again");
}

static void
pgstore_down(struct pgstore *ps)
{
	pgstore_lock(ps);
	ps->down = 1;
	pgstore_unlock(ps);
}

/* Server notices ("already exists, skipping") are not for stderr. */
static void
pgstore_notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("postgresql: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* A new connection with every statement prepared, or NULL. */
static PGconn *
pgstore_connect(struct pgstore *ps)
{
	/* Later keywords override the URL; earlier ones are defaults. */
	const char *const	 kw[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char		*val[] = { PG_CONNECT_TIMEOUT, "cofferd",
	    ps->conninfo, NULL };
	PGconn			*c;
	PGresult		*res;
	int			 i, ok;

	c = PQconnectdbParams(kw, val, 1);
	if (c == NULL) {
		log_warnx("postgresql: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		pgstore_logerr(ps, "cannot connect", PQerrorMessage(c));
		pgstore_down(ps);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, pgstore_notice, NULL);
	for (i = 0; i < PG_NSTMT; i++) {
		res = PQprepare(c, pgstore_stmt_names[i], ps->sql[i],
		    pgstore_stmt_nparams[i], NULL);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok)
			pgstore_logerr(ps, "prepare", PQerrorMessage(c));
		PQclear(res);
		if (!ok) {
			PQfinish(c);
			return NULL;
		}
	}
	return c;
}

/*
 * A connection for one call: an idle one (*reused 1), else a new one
 * while fewer than max are open, else wait.  CF_EIO when a new one
 * cannot be opened.
 */
static int
pgstore_acquire(struct pgstore *ps, PGconn **out, int *reused)
{
	PGconn	*c;

	pgstore_lock(ps);
	while (ps->nidle == 0 && ps->nopen >= ps->max)
		if (pthread_cond_wait(&ps->cv, &ps->mu) != 0)
			abort();
	if (ps->nidle > 0) {
		*out = ps->idle[--ps->nidle];
		*reused = 1;
		pgstore_unlock(ps);
		return CF_OK;
	}
	ps->nopen++;
	pgstore_unlock(ps);
	*reused = 0;
	if ((c = pgstore_connect(ps)) == NULL) {
		pgstore_lock(ps);
		ps->nopen--;
		if (pthread_cond_signal(&ps->cv) != 0)
			abort();
		pgstore_unlock(ps);
		return CF_EIO;
	}
	*out = c;
	return CF_OK;
}

/* Hand a connection back; a broken or mid-transaction one is closed. */
static void
pgstore_release(struct pgstore *ps, PGconn *c)
{
	int	 keep;

	keep = PQstatus(c) == CONNECTION_OK &&
	    PQtransactionStatus(c) == PQTRANS_IDLE;
	if (!keep)
		PQfinish(c);
	pgstore_lock(ps);
	if (keep)
		ps->idle[ps->nidle++] = c;
	else
		ps->nopen--;
	if (pthread_cond_signal(&ps->cv) != 0)
		abort();
	pgstore_unlock(ps);
}

/*
 * Run fn on a pooled connection.  If it failed because a connection
 * taken from the pool was dead, run it once more on a new one (see the
 * top of the file for why that is safe).
 */
static int
pgstore_run(struct pgstore *ps, pgstore_fn fn, void *arg)
{
	PGconn	*c;
	int	 rc, reused, dead, tries;

	for (tries = 0; tries < 2; tries++) {
		if ((rc = pgstore_acquire(ps, &c, &reused)) != CF_OK)
			return rc;
		rc = fn(ps, c, arg);
		dead = PQstatus(c) != CONNECTION_OK;
		pgstore_release(ps, c);
		if (rc == CF_OK || rc == CF_ENOTFOUND) {
			pgstore_up(ps);
			return rc;
		}
		if (!dead || !reused)
			break;
		log_debug("postgresql: pooled connection was closed; "
		    "retrying on a new one");
	}
	if (rc == CF_EIO)
		pgstore_down(ps);
	return rc;
}

/* The status a result must have, else CF_EIO (logged). */
static int
pgstore_check(struct pgstore *ps, PGconn *c, PGresult *res,
    ExecStatusType want, const char *what)
{
	if (res != NULL && PQresultStatus(res) == want)
		return CF_OK;
	pgstore_logerr(ps, what, res != NULL ?
	    PQresultErrorMessage(res) : PQerrorMessage(c));
	return CF_EIO;
}

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
	PGresult		*res;
	int			 rc;

	pgstore_split(a->key, parent, path, &params[1]);
	params[0] = path;
	/* Results in binary: the value's bytes as they are. */
	res = PQexecPrepared(c, pgstore_stmt_names[PG_GET], 2, params, NULL,
	    NULL, 1);
	if ((rc = pgstore_check(ps, c, res, PGRES_TUPLES_OK, "get")) ==
	    CF_OK) {
		if (PQntuples(res) == 0)
			rc = CF_ENOTFOUND;
		else
			rc = buf_set(a->val, PQgetvalue(res, 0, 0),
			    (size_t)PQgetlength(res, 0, 0));
	}
	PQclear(res);
	return rc;
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

/* A plain command (BEGIN, COMMIT, ROLLBACK). */
static int
pgstore_command(struct pgstore *ps, PGconn *c, const char *sql)
{
	PGresult	*res;
	int		 rc;

	res = PQexec(c, sql);
	rc = pgstore_check(ps, c, res, PGRES_COMMAND_OK, sql);
	PQclear(res);
	return rc;
}

struct pgstore_batch_arg {
	const struct storage_op	*ops;
	size_t			 n;
};

static int
pgstore_batch_fn(struct pgstore *ps, PGconn *c, void *arg)
{
	struct pgstore_batch_arg	*a = arg;
	PGresult			*res;
	size_t				 i;
	int				 rc;

	if (a->n == 1)
		return pgstore_exec_op(ps, c, &a->ops[0]);
	if ((rc = pgstore_command(ps, c, "BEGIN")) != CF_OK)
		return rc;
	for (i = 0; i < a->n && rc == CF_OK; i++)
		rc = pgstore_exec_op(ps, c, &a->ops[i]);
	if (rc == CF_OK)
		return pgstore_command(ps, c, "COMMIT");
	/* Nothing of the batch stays; a dead session rolled back anyway. */
	if (PQstatus(c) == CONNECTION_OK) {
		res = PQexec(c, "ROLLBACK");
		PQclear(res);
	}
	return rc;
}

static int
pgstore_batch(struct storage *st, const struct storage_op *ops, size_t n)
{
	struct pgstore_batch_arg	 a = { ops, n };
	size_t				 i;

	for (i = 0; i < n; i++)
		if (ops[i].kind == STORAGE_OP_PUT && ops[i].len > INT32_MAX)
			return CF_ETOOBIG;
	return pgstore_run(pgstore_from(st), pgstore_batch_fn, &a);
}

static int
pgstore_put(struct storage *st, const char *key, const void *val,
    size_t len)
{
	struct storage_op	 op = { STORAGE_OP_PUT, key, val, len };

	return pgstore_batch(st, &op, 1);
}

static int
pgstore_del(struct storage *st, const char *key)
{
	struct storage_op	 op = { STORAGE_OP_DEL, key, NULL, 0 };

	return pgstore_batch(st, &op, 1);
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
pgstore_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
pgstore_list(struct storage *st, const char *prefix, struct strv *out)
{
	struct pgstore_list_arg	 a = { prefix, out };
	size_t			 n0 = out->n;
	int			 rc;

	rc = pgstore_run(pgstore_from(st), pgstore_list_fn, &a);
	if (rc != CF_OK) {
		/* Leave out as we found it. */
		while (out->n > n0)
			free(out->v[--out->n]);
		return rc;
	}
	/* Bytewise, whatever the server's ordering. */
	if (out->n - n0 > 1)
		qsort(out->v + n0, out->n - n0, sizeof(*out->v),
		    pgstore_strcmp);
	return CF_OK;
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
	/* One statement: all of the folder goes, or none of it. */
	return pgstore_run(pgstore_from(st), pgstore_del_prefix_fn,
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

static int
pgstore_conf_check(const char *key, const char *val, char *why,
    size_t whylen)
{
	const char	*errstr;

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
	    "(connection_url, table, ha_table, ha_enabled, max_parallel, "
	    "skip_create_table)", key);
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
	pthread_mutex_destroy(&ps->mu);
	pthread_cond_destroy(&ps->cv);
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

static int
pgstore_open(const struct storage_conf *conf, struct storage **out)
{
	struct pgstore	*ps;
	PGconn		*c = NULL;
	const char	*url, *table, *v, *errstr;
	char		 why[256];
	size_t		 i;
	int		 rc, skip = 0, reused;
	long long	 max = PG_DEFAULT_PARALLEL;

	if (conf->ha_enabled) {
		log_warnx("postgresql: ha_enabled is not supported yet");
		return CF_EINVAL;
	}
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
	if ((v = storage_conf_get(conf, "max_parallel")) != NULL)
		max = strtonum(v, 1, PG_MAX_PARALLEL, &errstr);
	if ((v = storage_conf_get(conf, "skip_create_table")) != NULL)
		skip = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;

	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return CF_ENOMEM;
	if (pthread_mutex_init(&ps->mu, NULL) != 0) {
		free(ps);
		return CF_EINTERNAL;
	}
	if (pthread_cond_init(&ps->cv, NULL) != 0) {
		pthread_mutex_destroy(&ps->mu);
		free(ps);
		return CF_EINTERNAL;
	}
	ps->st.ops = &storage_postgresql_ops;
	ps->max = (size_t)max;
	if ((ps->conninfo = strdup(url)) == NULL ||
	    (ps->idle = calloc(ps->max, sizeof(*ps->idle))) == NULL) {
		pgstore_free(ps);
		return CF_ENOMEM;
	}
	pgstore_sql(ps, table);

	/* One connection now: the table, and whether we can connect. */
	c = PQconnectdbParams((const char *const[]){ "connect_timeout",
	    "application_name", "dbname", NULL }, (const char *const[]){
	    PG_CONNECT_TIMEOUT, "cofferd", ps->conninfo, NULL }, 1);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		pgstore_logerr(ps, "cannot connect", c != NULL ?
		    PQerrorMessage(c) : "out of memory");
		rc = CF_EIO;
		goto out;
	}
	PQsetNoticeProcessor(c, pgstore_notice, NULL);
	if (!skip && (rc = pgstore_create(ps, c, table)) != CF_OK)
		goto out;
	PQfinish(c);
	c = NULL;
	/* The first pooled connection prepares the statements. */
	if ((rc = pgstore_acquire(ps, &c, &reused)) != CF_OK)
		goto out;
	pgstore_release(ps, c);
	c = NULL;
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
	pgstore_free(pgstore_from(st));
}

/* No HA yet (issue 12, round two): open refuses ha_enabled. */
static int
pgstore_lock_try(struct storage *st, const char *holder, int *got)
{
	(void)st;
	(void)holder;
	*got = 0;
	return CF_ENOTSUP;
}

static int
pgstore_lock_wait(struct storage *st, const char *holder, int ms, int *got)
{
	(void)st;
	(void)holder;
	(void)ms;
	*got = 0;
	return CF_ENOTSUP;
}

static int
pgstore_lock_release(struct storage *st)
{
	(void)st;
	return CF_ENOTSUP;
}

static int
pgstore_lock_holder(struct storage *st, struct buf *holder)
{
	(void)st;
	(void)holder;
	return CF_ENOTSUP;
}

static int
pgstore_lock_check(struct storage *st)
{
	(void)st;
	return CF_ENOTSUP;
}

const struct storage_ops storage_postgresql_ops = {
	.name = "postgresql",
	.version = STORAGE_OPS_VERSION,
	.open = pgstore_open,
	.close = pgstore_close,
	.get = pgstore_get,
	.put = pgstore_put,
	.del = pgstore_del,
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
