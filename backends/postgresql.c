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
 * whole duration (a batch is one implicit transaction, its statements
 * sent in one round trip in libpq's pipeline mode), so calls never
 * share a session.  A connection that broke is
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
 * The HA lock (ha_enabled).  Liveness is a session-level advisory lock
 * (pg_advisory_lock on a 64-bit hash of ha_table and table) held on one
 * connection of its own, never a pooled one.  A waiter blocks on it in
 * slices of PG_WAIT_SLICE_MS (a per-statement lock_timeout), so the
 * lock moves the moment the holder's session ends, and lock_release
 * cancels a wait between slices.  That session sets
 * idle_session_timeout, idle_in_transaction_session_timeout,
 * client_connection_check_interval, TCP keepalives and tcp_user_timeout
 * (the server's and libpq's) to ha_session_timeout (T, default 2 s), so
 * the server ends the session of a dead, paused or cut-off holder
 * within T.  The heartbeat thread runs a statement on it every T/4; a
 * holder whose last good heartbeat was sent more than T/2 ago, whose
 * session broke, or whose epoch changed, reports the lock lost
 * (lock_check CF_ESTANDBY) before the server ends its session.
 *
 * Fencing.  ha_table has Vault's layout (ha_key, ha_identity, ha_value,
 * valid_until); our row is ha_key "coffer/<table>", ha_identity the
 * epoch (a decimal count), ha_value the holder record ("" when nobody
 * holds the lock).  Each new holder bumps the epoch in one statement
 * that locks the row FOR UPDATE.  Every write of an HA store reads the
 * row FOR KEY SHARE with our epoch in the same statement (put, del,
 * del_prefix) or transaction (batch) that writes; the two locks
 * conflict, so a deposed holder's write either commits before the bump
 * (which waits for it) or sees the new epoch and writes nothing
 * (CF_ESTANDBY, and lock_check answers CF_ESTANDBY from then on).
 * Pooled sessions of an HA store set idle_in_transaction_session_timeout
 * too, so a paused holder's open batch cannot hold the bump back.
 * lock_holder reads ha_value, only while pg_locks shows the advisory
 * lock granted: a dead holder's record is not shown.
 *
 * Threads: mu guards the pool (idle stack, counts, the outage flag); cv
 * wakes a caller waiting for a connection when every one is in use.
 * mu is never held across a round trip to the database.  lk_mu guards
 * the lock connection and is held across its round trips; ha_mu (a
 * leaf, taken after lk_mu) guards the HA flags, and ha_cv wakes the
 * heartbeat thread and a waiter that lock_release cancels.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
#define PG_SQL_MAX		1024
#define PG_SESSION_DEFAULT	2000	/* ms: ha_session_timeout */
#define PG_SESSION_MIN		1000
#define PG_SESSION_MAX		600000
#define PG_WAIT_SLICE_MS	50	/* one blocking wait for the lock */
#define PG_HA_KEY_MAX		(PG_TABLE_MAX + 8)	/* "coffer/" table */
#define PG_PATH_MAX		(STORAGE_KEY_MAX + 2)	/* "/" + key + "/" */
/* A LIKE pattern: each byte escaped, then "%". */
#define PG_LIKE_MAX		(2 * PG_PATH_MAX + 2)

enum pgstore_stmt {
	PG_GET,
	PG_PUT,
	PG_DEL,
	PG_LIST,
	PG_DELPREFIX,
	PG_NPLAIN,		/* the statements of every store */
	PG_FPUT = PG_NPLAIN,	/* HA stores: fenced writes */
	PG_FDEL,
	PG_FDELPREFIX,
	PG_FENCE,
	PG_HOLDER,
	PG_NSTMT
};

static const char *const pgstore_stmt_names[PG_NSTMT] = {
	"coffer_get", "coffer_put", "coffer_del", "coffer_list",
	"coffer_delprefix", "coffer_fput", "coffer_fdel",
	"coffer_fdelprefix", "coffer_fence", "coffer_holder"
};

static const int pgstore_stmt_nparams[PG_NSTMT] = {
	2, 4, 2, 2, 1, 6, 4, 3, 2, 3
};

/* Statements of the lock connection. */
enum pgstore_hstmt {
	PG_H_WAIT,		/* block up to lock_timeout */
	PG_H_TRY,
	PG_H_ROW,		/* our ha_table row, if missing */
	PG_H_BUMP,		/* a new holder: epoch + 1, record */
	PG_H_BEAT,		/* heartbeat: still our epoch */
	PG_H_CLEAR,		/* release: no record shown */
	PG_H_UNLOCK,
	PG_NHSTMT
};

static const char *const pgstore_hstmt_names[PG_NHSTMT] = {
	"coffer_h_wait", "coffer_h_try", "coffer_h_row", "coffer_h_bump",
	"coffer_h_beat", "coffer_h_clear", "coffer_h_unlock"
};

static const int pgstore_hstmt_nparams[PG_NHSTMT] = { 2, 1, 1, 3, 3, 2, 1 };

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
	size_t		 nstmt;		/* statements prepared per session */
	char		 table[PG_TABLE_MAX + 1];

	/* The HA lock; see the top of the file. */
	int		 ha;		/* opened with ha_enabled */
	int		 timeout_ms;	/* ha_session_timeout */
	char		 ha_key[PG_HA_KEY_MAX];
	char		 lock_id[24];	/* the advisory lock's bigint */
	char		 lock_hi[16], lock_lo[16];	/* as pg_locks shows it */
	char		 hsql[PG_NHSTMT][PG_SQL_MAX];
	pthread_mutex_t	 lk_mu;
	PGconn		*lk;		/* the lock session; lk_mu */
	pthread_mutex_t	 ha_mu;
	pthread_cond_t	 ha_cv;		/* CLOCK_MONOTONIC */
	int		 held;		/* ha_mu */
	int		 lost;		/* held, but no longer ours; ha_mu */
	char		 epoch[24];	/* ours while held; ha_mu */
	long long	 beat_ms;	/* last good heartbeat sent; ha_mu */
	unsigned int	 cancel;	/* bumped by lock_release; ha_mu */
	int		 stop;		/* the heartbeat thread; ha_mu */
	pthread_t	 beat;
	int		 beat_running;
};

static void	*pgstore_beat_run(void *);
static void	 pgstore_lock_key(struct pgstore *, const char *);

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

static void
pgstore_ha_lock(struct pgstore *ps)
{
	if (pthread_mutex_lock(&ps->ha_mu) != 0)
		abort();
}

static void
pgstore_ha_unlock(struct pgstore *ps)
{
	if (pthread_mutex_unlock(&ps->ha_mu) != 0)
		abort();
}

static void
pgstore_lk_lock(struct pgstore *ps)
{
	if (pthread_mutex_lock(&ps->lk_mu) != 0)
		abort();
}

static void
pgstore_lk_unlock(struct pgstore *ps)
{
	if (pthread_mutex_unlock(&ps->lk_mu) != 0)
		abort();
}

/* Milliseconds on the monotonic clock. */
static long long
pgstore_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
	char			 sql[128];
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
	if (ps->ha) {
		/* A paused holder's open batch must not hold a takeover. */
		snprintf(sql, sizeof(sql), "SET "
		    "idle_in_transaction_session_timeout = %d",
		    ps->timeout_ms);
		res = PQexec(c, sql);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok)
			pgstore_logerr(ps, "session settings",
			    PQerrorMessage(c));
		PQclear(res);
		if (!ok) {
			PQfinish(c);
			return NULL;
		}
	}
	for (i = 0; i < (int)ps->nstmt; i++) {
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
	    PQtransactionStatus(c) == PQTRANS_IDLE &&
	    PQpipelineStatus(c) == PQ_PIPELINE_OFF;
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

/*
 * An HA store's epoch while we hold the lock, into out; CF_ESTANDBY
 * when we do not (nothing is sent: only the holder writes).
 */
static int
pgstore_epoch(struct pgstore *ps, char *out, size_t len)
{
	int	 rc = CF_OK;

	pgstore_ha_lock(ps);
	if (!ps->held || ps->lost)
		rc = CF_ESTANDBY;
	else
		strlcpy(out, ps->epoch, len);
	pgstore_ha_unlock(ps);
	return rc;
}

/* A fence check failed: another node took the lock since. */
static int
pgstore_fenced(struct pgstore *ps, const char *epoch)
{
	int	 first;

	pgstore_ha_lock(ps);
	first = ps->held && !ps->lost && strcmp(ps->epoch, epoch) == 0;
	if (first)
		ps->lost = 1;
	pgstore_ha_unlock(ps);
	if (first)
		log_warnx("postgresql: epoch %s is over (another node took "
		    "the HA lock): write refused, lock lost", epoch);
	return CF_ESTANDBY;
}

/*
 * The answer of a fenced statement: the number of fence rows it saw
 * (1: written; 0: fenced, nothing written).
 */
static int
pgstore_fence_result(struct pgstore *ps, PGconn *c, PGresult *res,
    const char *epoch, const char *what)
{
	int	 rc;

	if ((rc = pgstore_check(ps, c, res, PGRES_TUPLES_OK, what)) != CF_OK)
		return rc;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "1") != 0)
		return pgstore_fenced(ps, epoch);
	return CF_OK;
}

/* One put or delete of an HA store, fenced in the same statement. */
static int
pgstore_exec_fenced(struct pgstore *ps, PGconn *c,
    const struct storage_op *op)
{
	char		 parent[PG_PATH_MAX], path[PG_PATH_MAX], epoch[24];
	const char	*params[6], *key;
	int		 lens[6] = { 0, 0, 0, 0, 0, 0 };
	int		 fmts[6] = { 0, 0, 0, 1, 0, 0 };	/* value */
	PGresult	*res;
	int		 rc;

	if ((rc = pgstore_epoch(ps, epoch, sizeof(epoch))) != CF_OK)
		return rc;
	pgstore_split(op->key, parent, path, &key);
	if (op->kind == STORAGE_OP_DEL) {
		params[0] = path;
		params[1] = key;
		params[2] = ps->ha_key;
		params[3] = epoch;
		res = PQexecPrepared(c, pgstore_stmt_names[PG_FDEL], 4,
		    params, NULL, NULL, 0);
		rc = pgstore_fence_result(ps, c, res, epoch, "delete");
		PQclear(res);
		return rc;
	}
	params[0] = parent;
	params[1] = path;
	params[2] = key;
	params[3] = op->len > 0 ? op->val : "";
	lens[3] = (int)op->len;
	params[4] = ps->ha_key;
	params[5] = epoch;
	res = PQexecPrepared(c, pgstore_stmt_names[PG_FPUT], 6, params, lens,
	    fmts, 0);
	rc = pgstore_fence_result(ps, c, res, epoch, "put");
	PQclear(res);
	return rc;
}

struct pgstore_batch_arg {
	const struct storage_op	*ops;
	size_t			 n;
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
 * A batch of several operations is one round trip: in libpq's pipeline
 * mode an HA store's fence, then every statement, then one sync.  What
 * runs before a sync is one implicit transaction, so an error anywhere
 * rolls all of it back; the fence is written to fail (a division by
 * zero) when the epoch is not ours, so a deposed node's batch writes
 * nothing.  One operation is one (fenced) statement already.
 */
static int
pgstore_batch_fn(struct pgstore *ps, PGconn *c, void *arg)
{
	struct pgstore_batch_arg	*a = arg;
	const char			*params[2];
	char				 epoch[24];
	size_t				 i;
	int				 rc = CF_OK;

	if (a->n == 1)
		return ps->ha ? pgstore_exec_fenced(ps, c, &a->ops[0]) :
		    pgstore_exec_op(ps, c, &a->ops[0]);
	if (ps->ha && (rc = pgstore_epoch(ps, epoch, sizeof(epoch))) != CF_OK)
		return rc;
	if (PQenterPipelineMode(c) != 1)
		return pgstore_check(ps, c, NULL, PGRES_COMMAND_OK, "batch");
	if (ps->ha) {
		params[0] = ps->ha_key;
		params[1] = epoch;
		if (PQsendQueryPrepared(c, pgstore_stmt_names[PG_FENCE], 2,
		    params, NULL, NULL, 0) != 1)
			rc = CF_EIO;
	}
	for (i = 0; i < a->n && rc == CF_OK; i++)
		rc = pgstore_send_op(c, &a->ops[i]);
	if (rc != CF_OK || PQpipelineSync(c) != 1)
		/*
		 * Nothing was synced, so nothing commits; the session stays
		 * in pipeline mode and pgstore_release closes it.
		 */
		return pgstore_check(ps, c, NULL, PGRES_COMMAND_OK, "batch");
	return pgstore_batch_results(ps, c, ps->ha ? epoch : NULL);
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
	char		 like[PG_LIKE_MAX], epoch[24];
	const char	*params[3];
	PGresult	*res;
	int		 rc;

	pgstore_like(arg, like);
	params[0] = like;
	if (ps->ha) {
		if ((rc = pgstore_epoch(ps, epoch, sizeof(epoch))) != CF_OK)
			return rc;
		params[1] = ps->ha_key;
		params[2] = epoch;
		res = PQexecPrepared(c, pgstore_stmt_names[PG_FDELPREFIX], 3,
		    params, NULL, NULL, 0);
		rc = pgstore_fence_result(ps, c, res, epoch, "delete prefix");
		PQclear(res);
		return rc;
	}
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

/* Vault's HA table, unless it is there. */
static int
pgstore_create_ha(struct pgstore *ps, PGconn *c, const char *table)
{
	char	 sql[PG_SQL_MAX];

	snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS \"%s\" ("
	    "ha_key TEXT COLLATE \"C\" NOT NULL, "
	    "ha_identity TEXT COLLATE \"C\" NOT NULL, "
	    "ha_value TEXT COLLATE \"C\", "
	    "valid_until TIMESTAMP WITH TIME ZONE NOT NULL, "
	    "PRIMARY KEY (ha_key))", table);
	return pgstore_command(ps, c, sql);
}

/* The statements of an HA store: fenced writes and the lock's. */
static void
pgstore_sql_ha(struct pgstore *ps, const char *t, const char *h)
{
	snprintf(ps->sql[PG_FPUT], PG_SQL_MAX, "WITH f AS (SELECT 1 FROM "
	    "\"%s\" WHERE ha_key = $5 AND ha_identity = $6 FOR KEY SHARE), "
	    "w AS (INSERT INTO \"%s\" (parent_path, path, key, value) "
	    "SELECT $1::text, $2::text, $3::text, $4::bytea FROM f "
	    "ON CONFLICT (path, key) DO UPDATE SET value = EXCLUDED.value) "
	    "SELECT count(*) FROM f", h, t);
	snprintf(ps->sql[PG_FDEL], PG_SQL_MAX, "WITH f AS (SELECT 1 FROM "
	    "\"%s\" WHERE ha_key = $3 AND ha_identity = $4 FOR KEY SHARE), "
	    "d AS (DELETE FROM \"%s\" WHERE path = $1 AND key = $2 AND "
	    "EXISTS (SELECT 1 FROM f)) SELECT count(*) FROM f", h, t);
	snprintf(ps->sql[PG_FDELPREFIX], PG_SQL_MAX, "WITH f AS (SELECT 1 "
	    "FROM \"%s\" WHERE ha_key = $2 AND ha_identity = $3 FOR KEY "
	    "SHARE), d AS (DELETE FROM \"%s\" WHERE path LIKE $1 ESCAPE "
	    "'\\' AND EXISTS (SELECT 1 FROM f)) SELECT count(*) FROM f", h, t);
	/* An error (22012) unless the epoch is ours: see pgstore_batch_fn. */
	snprintf(ps->sql[PG_FENCE], PG_SQL_MAX, "SELECT 1 / count(*)::int "
	    "FROM (SELECT 1 FROM \"%s\" WHERE ha_key = $1 AND ha_identity = "
	    "$2 FOR KEY SHARE) f", h);
	snprintf(ps->sql[PG_HOLDER], PG_SQL_MAX, "SELECT ha_value FROM "
	    "\"%s\" WHERE ha_key = $1 AND ha_value <> '' AND EXISTS (SELECT "
	    "1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
	    "database = (SELECT oid FROM pg_database WHERE datname = "
	    "current_database()) AND classid = $2::oid AND objid = $3::oid "
	    "AND objsubid = 1)", h);

	/* lock_timeout for this statement only, set before the wait. */
	snprintf(ps->hsql[PG_H_WAIT], PG_SQL_MAX, "SELECT "
	    "pg_advisory_lock($1::bigint) FROM (SELECT "
	    "set_config('lock_timeout', $2, true)) s");
	snprintf(ps->hsql[PG_H_TRY], PG_SQL_MAX,
	    "SELECT pg_try_advisory_lock($1::bigint)");
	snprintf(ps->hsql[PG_H_ROW], PG_SQL_MAX, "INSERT INTO \"%s\" "
	    "(ha_key, ha_identity, ha_value, valid_until) VALUES ($1, '0', "
	    "'', now()) ON CONFLICT (ha_key) DO NOTHING", h);
	/* FOR UPDATE: waits for every write fenced by the old epoch. */
	snprintf(ps->hsql[PG_H_BUMP], PG_SQL_MAX, "WITH l AS (SELECT "
	    "ha_identity FROM \"%s\" WHERE ha_key = $1 FOR UPDATE) "
	    "UPDATE \"%s\" h SET ha_identity = (l.ha_identity::bigint + "
	    "1)::text, ha_value = $2, valid_until = now() + $3::int * "
	    "interval '1 millisecond' FROM l WHERE h.ha_key = $1 "
	    "RETURNING h.ha_identity", h, h);
	snprintf(ps->hsql[PG_H_BEAT], PG_SQL_MAX, "UPDATE \"%s\" SET "
	    "valid_until = now() + $3::int * interval '1 millisecond' "
	    "WHERE ha_key = $1 AND ha_identity = $2", h);
	snprintf(ps->hsql[PG_H_CLEAR], PG_SQL_MAX, "UPDATE \"%s\" SET "
	    "ha_value = '' WHERE ha_key = $1 AND ha_identity = $2", h);
	snprintf(ps->hsql[PG_H_UNLOCK], PG_SQL_MAX,
	    "SELECT pg_advisory_unlock($1::bigint)");
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
	if (ok)
		return 0;
 fail:
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
	int		 rc, skip = 0, reused, err;
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
	if (pgstore_sync_init(ps) != 0) {
		free(ps);
		return CF_EINTERNAL;
	}
	ps->st.ops = &storage_postgresql_ops;
	ps->max = (size_t)max;
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
	if (ps->ha) {
		pgstore_sql_ha(ps, table, ha_table);
		pgstore_lock_key(ps, ha_table);
	}

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
		if ((err = pthread_create(&ps->beat, NULL, pgstore_beat_run,
		    ps)) != 0) {
			errno = err;
			log_warn("postgresql: heartbeat thread");
			rc = CF_EINTERNAL;
			goto out;
		}
		ps->beat_running = 1;
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

	if (ps->beat_running) {
		pgstore_ha_lock(ps);
		ps->stop = 1;
		if (pthread_cond_broadcast(&ps->ha_cv) != 0)
			abort();
		pgstore_ha_unlock(ps);
		if (pthread_join(ps->beat, NULL) != 0)
			abort();
	}
	pgstore_free(ps);
}

/*
 * The lock session: its own connection, with the settings that let the
 * server end it within ha_session_timeout when its node dies, pauses
 * or is cut off.  NULL on failure (logged once per outage).
 */
static PGconn *
pgstore_lock_connect(struct pgstore *ps)
{
	char		 t[16], idle[16], beat[16];
	const char	*kw[] = { "connect_timeout", "application_name",
	    "keepalives", "keepalives_idle", "keepalives_interval",
	    "keepalives_count", "tcp_user_timeout", "dbname", NULL };
	const char	*val[] = { PG_CONNECT_TIMEOUT, "cofferd-ha", "1", idle,
	    "1", "2", t, ps->conninfo, NULL };
	char		 sql[PG_SQL_MAX];
	PGconn		*c;
	PGresult	*res;
	int		 i, ok;

	snprintf(t, sizeof(t), "%d", ps->timeout_ms);
	snprintf(idle, sizeof(idle), "%d", ps->timeout_ms / 4000 > 0 ?
	    ps->timeout_ms / 4000 : 1);
	snprintf(beat, sizeof(beat), "%d", ps->timeout_ms / 4);
	if ((c = PQconnectdbParams(kw, val, 1)) == NULL)
		return NULL;
	if (PQstatus(c) != CONNECTION_OK) {
		pgstore_logerr(ps, "HA lock session", PQerrorMessage(c));
		pgstore_down(ps);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, pgstore_notice, NULL);
	snprintf(sql, sizeof(sql), "SET idle_session_timeout = %s; "
	    "SET idle_in_transaction_session_timeout = %s; "
	    "SET client_connection_check_interval = %s; "
	    "SET tcp_keepalives_idle = %s; SET tcp_keepalives_interval = 1; "
	    "SET tcp_keepalives_count = 2; SET tcp_user_timeout = %s",
	    t, t, beat, idle, t);
	res = PQexec(c, sql);
	ok = pgstore_check(ps, c, res, PGRES_COMMAND_OK, "HA session") ==
	    CF_OK;
	PQclear(res);
	for (i = 0; ok && i < PG_NHSTMT; i++) {
		res = PQprepare(c, pgstore_hstmt_names[i], ps->hsql[i],
		    pgstore_hstmt_nparams[i], NULL);
		ok = pgstore_check(ps, c, res, PGRES_COMMAND_OK,
		    "prepare") == CF_OK;
		PQclear(res);
	}
	if (!ok) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Drop the lock session (lk_mu held): the server lets the lock go. */
static void
pgstore_lock_drop(struct pgstore *ps)
{
	if (ps->lk != NULL)
		PQfinish(ps->lk);
	ps->lk = NULL;
	pgstore_ha_lock(ps);
	ps->held = 0;
	ps->lost = 0;
	ps->epoch[0] = '\0';
	pgstore_ha_unlock(ps);
}

/* A lock statement on the session (lk_mu held); NULL if it is gone. */
static PGresult *
pgstore_hexec(struct pgstore *ps, enum pgstore_hstmt st, int n,
    const char *const *params)
{
	return PQexecPrepared(ps->lk, pgstore_hstmt_names[st], n, params, NULL,
	    NULL, 0);
}

/*
 * Granted the advisory lock (lk_mu held): our row, a new epoch, our
 * record.  On failure the session is dropped, and the lock with it.
 */
static int
pgstore_take(struct pgstore *ps, const char *holder)
{
	const char	*params[3];
	char		 t[16];
	PGresult	*res;
	long long	 sent;
	int		 rc;

	snprintf(t, sizeof(t), "%d", ps->timeout_ms);
	params[0] = ps->ha_key;
	params[1] = holder;
	params[2] = t;
	sent = pgstore_now_ms();
	res = pgstore_hexec(ps, PG_H_ROW, 1, params);
	rc = pgstore_check(ps, ps->lk, res, PGRES_COMMAND_OK, "HA row");
	PQclear(res);
	if (rc == CF_OK) {
		res = pgstore_hexec(ps, PG_H_BUMP, 3, params);
		if ((rc = pgstore_check(ps, ps->lk, res, PGRES_TUPLES_OK,
		    "HA epoch")) == CF_OK && PQntuples(res) != 1)
			rc = CF_EIO;
		if (rc == CF_OK) {
			pgstore_ha_lock(ps);
			strlcpy(ps->epoch, PQgetvalue(res, 0, 0),
			    sizeof(ps->epoch));
			ps->held = 1;
			ps->lost = 0;
			ps->beat_ms = sent;
			pgstore_ha_unlock(ps);
		}
		PQclear(res);
	}
	if (rc != CF_OK)
		pgstore_lock_drop(ps);
	else
		log_debug("postgresql: HA lock taken, epoch %s", ps->epoch);
	return rc;
}

/*
 * One attempt (lk_mu held): block up to slice ms (0: try once).  *got
 * 1 once the lock is ours.  A broken session is dropped and *got left
 * 0 (the database may be restarting: the caller waits and tries again).
 */
static int
pgstore_attempt(struct pgstore *ps, const char *holder, int slice,
    int *got)
{
	const char	*params[2];
	char		 ms[16];
	PGresult	*res;
	const char	*state;
	int		 ok;

	*got = 0;
	if (ps->lk == NULL && (ps->lk = pgstore_lock_connect(ps)) == NULL)
		return CF_OK;
	params[0] = ps->lock_id;
	if (slice > 0) {
		snprintf(ms, sizeof(ms), "%d", slice);
		params[1] = ms;
		res = pgstore_hexec(ps, PG_H_WAIT, 2, params);
		ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;
	} else {
		res = pgstore_hexec(ps, PG_H_TRY, 1, params);
		ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1 &&
		    strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		if (!ok && res != NULL &&
		    PQresultStatus(res) == PGRES_TUPLES_OK) {
			PQclear(res);
			return CF_OK;		/* somebody holds it */
		}
	}
	if (!ok) {
		state = res != NULL ? PQresultErrorField(res,
		    PG_DIAG_SQLSTATE) : NULL;
		if (state == NULL || strcmp(state, "55P03") != 0) {
			/* Not a lock timeout: the session is unusable. */
			pgstore_logerr(ps, "HA lock", res != NULL ?
			    PQresultErrorMessage(res) : PQerrorMessage(ps->lk));
			if (PQstatus(ps->lk) != CONNECTION_OK)
				pgstore_lock_drop(ps);
		}
		PQclear(res);
		return CF_OK;
	}
	PQclear(res);
	pgstore_up(ps);
	if (pgstore_take(ps, holder) != CF_OK)
		return CF_EIO;
	*got = 1;
	return CF_OK;
}

/* Held and ours (ha_mu not held). */
static int
pgstore_holding(struct pgstore *ps)
{
	int	 yes;

	pgstore_ha_lock(ps);
	yes = ps->held && !ps->lost;
	pgstore_ha_unlock(ps);
	return yes;
}

static int
pgstore_lock_wait(struct storage *st, const char *holder, int ms, int *got)
{
	struct pgstore	*ps = pgstore_from(st);
	struct timespec	 ts;
	unsigned int	 cancel;
	long long	 deadline, left;
	int		 rc = CF_OK, err, lost;

	*got = 0;
	if (!ps->ha)
		return CF_ENOTSUP;
	deadline = pgstore_now_ms() + (ms > 0 ? ms : 0);
	pgstore_ha_lock(ps);
	cancel = ps->cancel;
	lost = ps->held && ps->lost;
	pgstore_ha_unlock(ps);
	pgstore_lk_lock(ps);
	if (lost)
		pgstore_lock_drop(ps);	/* start afresh */
	for (;;) {
		if (pgstore_holding(ps)) {
			*got = 1;
			break;
		}
		left = deadline - pgstore_now_ms();
		if ((rc = pgstore_attempt(ps, holder, left <= 0 ? 0 :
		    (int)(left < PG_WAIT_SLICE_MS ? left : PG_WAIT_SLICE_MS),
		    got)) != CF_OK || *got)
			break;
		left = deadline - pgstore_now_ms();
		pgstore_ha_lock(ps);
		if (ps->cancel != cancel || left <= 0) {
			pgstore_ha_unlock(ps);
			break;
		}
		if (ps->lk == NULL) {
			/* No session (database down): pause, cancellable. */
			clock_gettime(CLOCK_MONOTONIC, &ts);
			left = left < PG_WAIT_SLICE_MS ? left :
			    PG_WAIT_SLICE_MS;
			ts.tv_nsec += (long)left * 1000000L;
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			err = pthread_cond_timedwait(&ps->ha_cv, &ps->ha_mu,
			    &ts);
			if (err != 0 && err != ETIMEDOUT)
				abort();
		}
		if (ps->cancel != cancel) {
			pgstore_ha_unlock(ps);
			break;
		}
		pgstore_ha_unlock(ps);
	}
	pgstore_lk_unlock(ps);
	return rc;
}

static int
pgstore_lock_try(struct storage *st, const char *holder, int *got)
{
	return pgstore_lock_wait(st, holder, 0, got);
}

static int
pgstore_lock_release(struct storage *st)
{
	struct pgstore	*ps = pgstore_from(st);
	const char	*params[2];
	char		 epoch[24];
	PGresult	*res;
	int		 held, ok;

	if (!ps->ha)
		return CF_ENOTSUP;
	pgstore_ha_lock(ps);
	ps->cancel++;
	if (pthread_cond_broadcast(&ps->ha_cv) != 0)
		abort();
	pgstore_ha_unlock(ps);
	pgstore_lk_lock(ps);
	pgstore_ha_lock(ps);
	held = ps->held;
	strlcpy(epoch, ps->epoch, sizeof(epoch));
	pgstore_ha_unlock(ps);
	if (held && ps->lk != NULL) {
		/* Clear the record, then let go; else end the session. */
		params[0] = ps->ha_key;
		params[1] = epoch;
		res = pgstore_hexec(ps, PG_H_CLEAR, 2, params);
		ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
		if (ok) {
			params[0] = ps->lock_id;
			res = pgstore_hexec(ps, PG_H_UNLOCK, 1, params);
			ok = res != NULL &&
			    PQresultStatus(res) == PGRES_TUPLES_OK &&
			    strcmp(PQgetvalue(res, 0, 0), "t") == 0;
			PQclear(res);
		}
		if (ok) {
			pgstore_ha_lock(ps);
			ps->held = 0;
			ps->lost = 0;
			ps->epoch[0] = '\0';
			pgstore_ha_unlock(ps);
		} else
			pgstore_lock_drop(ps);
	} else if (held)
		pgstore_lock_drop(ps);
	pgstore_lk_unlock(ps);
	return CF_OK;
}

struct pgstore_holder_arg {
	struct buf	*out;
};

static int
pgstore_holder_fn(struct pgstore *ps, PGconn *c, void *arg)
{
	struct pgstore_holder_arg	*a = arg;
	const char			*params[3];
	PGresult			*res;
	int				 rc;

	params[0] = ps->ha_key;
	params[1] = ps->lock_hi;
	params[2] = ps->lock_lo;
	res = PQexecPrepared(c, pgstore_stmt_names[PG_HOLDER], 3, params,
	    NULL, NULL, 0);
	if ((rc = pgstore_check(ps, c, res, PGRES_TUPLES_OK, "HA holder")) ==
	    CF_OK) {
		if (PQntuples(res) == 0)
			rc = CF_ENOTFOUND;
		else
			rc = buf_set(a->out, PQgetvalue(res, 0, 0),
			    (size_t)PQgetlength(res, 0, 0));
	}
	PQclear(res);
	return rc;
}

static int
pgstore_lock_holder(struct storage *st, struct buf *holder)
{
	struct pgstore			*ps = pgstore_from(st);
	struct pgstore_holder_arg	 a = { holder };
	int				 rc;

	if (!ps->ha)
		return CF_ENOTSUP;
	if ((rc = pgstore_run(ps, pgstore_holder_fn, &a)) != CF_OK)
		buf_reset(holder);
	return rc;
}

/*
 * Ours while held, not fenced, and the last good heartbeat was sent
 * less than half the session timeout ago: the server ends a silent
 * session after the whole of it, so we leave first.
 */
static int
pgstore_lock_check(struct storage *st)
{
	struct pgstore	*ps = pgstore_from(st);
	long long	 age = 0;
	int		 rc = CF_OK, say = 0;

	if (!ps->ha)
		return CF_ENOTSUP;
	pgstore_ha_lock(ps);
	if (!ps->held || ps->lost)
		rc = CF_ESTANDBY;
	else if ((age = pgstore_now_ms() - ps->beat_ms) >
	    ps->timeout_ms / 2) {
		ps->lost = 1;
		say = 1;
		rc = CF_ESTANDBY;
	}
	pgstore_ha_unlock(ps);
	if (say)
		log_warnx("postgresql: no heartbeat for %lld ms "
		    "(ha_session_timeout %d ms): HA lock lost", age,
		    ps->timeout_ms);
	return rc;
}

/*
 * The heartbeat thread: every T/4 a statement on the lock session, so
 * that the server keeps it; while held, one that proves our epoch and
 * refreshes valid_until.  A broken session or another epoch is a lost
 * lock at once.
 */
static void *
pgstore_beat_run(void *arg)
{
	struct pgstore	*ps = arg;
	struct timespec	 ts;
	const char	*params[3];
	char		 epoch[24], t[16];
	PGresult	*res;
	long long	 sent;
	int		 held, err, ok, lost;

	snprintf(t, sizeof(t), "%d", ps->timeout_ms);
	pgstore_ha_lock(ps);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)(ps->timeout_ms / 4 % 1000) * 1000000L;
		ts.tv_sec += ps->timeout_ms / 4 / 1000 + ts.tv_nsec /
		    1000000000L;
		ts.tv_nsec %= 1000000000L;
		while (!ps->stop) {
			err = pthread_cond_timedwait(&ps->ha_cv, &ps->ha_mu,
			    &ts);
			if (err == ETIMEDOUT)
				break;
			if (err != 0)
				abort();
		}
		if (ps->stop)
			break;
		pgstore_ha_unlock(ps);

		pgstore_lk_lock(ps);
		pgstore_ha_lock(ps);
		held = ps->held && !ps->lost;
		strlcpy(epoch, ps->epoch, sizeof(epoch));
		pgstore_ha_unlock(ps);
		lost = 0;
		if (ps->lk != NULL && held) {
			params[0] = ps->ha_key;
			params[1] = epoch;
			params[2] = t;
			sent = pgstore_now_ms();
			res = pgstore_hexec(ps, PG_H_BEAT, 3, params);
			ok = res != NULL &&
			    PQresultStatus(res) == PGRES_COMMAND_OK;
			if (ok && strcmp(PQcmdTuples(res), "1") == 0) {
				pgstore_ha_lock(ps);
				if (strcmp(ps->epoch, epoch) == 0)
					ps->beat_ms = sent;
				pgstore_ha_unlock(ps);
			} else if (ok || PQstatus(ps->lk) != CONNECTION_OK)
				lost = 1;	/* another epoch; no session */
			if (!ok)
				pgstore_logerr(ps, "HA heartbeat", res != NULL ?
				    PQresultErrorMessage(res) :
				    PQerrorMessage(ps->lk));
			PQclear(res);
		} else if (ps->lk != NULL) {
			res = PQexec(ps->lk, "SELECT 1");
			ok = res != NULL &&
			    PQresultStatus(res) == PGRES_TUPLES_OK;
			PQclear(res);
			if (!ok)
				pgstore_lock_drop(ps);
		}
		if (lost) {
			pgstore_ha_lock(ps);
			if (ps->held && !ps->lost &&
			    strcmp(ps->epoch, epoch) == 0) {
				ps->lost = 1;
				log_warnx("postgresql: HA lock session lost "
				    "or epoch %s over: HA lock lost", epoch);
			}
			pgstore_ha_unlock(ps);
		}
		pgstore_lk_unlock(ps);
		pgstore_ha_lock(ps);
	}
	pgstore_ha_unlock(ps);
	return NULL;
}

/* FNV-1a, 64 bits: the advisory lock of ha_table's row for table. */
static void
pgstore_lock_key(struct pgstore *ps, const char *ha_table)
{
	const char	*p;
	uint64_t	 h = 14695981039346656037ULL;
	char		 name[2 * PG_HA_KEY_MAX];

	snprintf(ps->ha_key, sizeof(ps->ha_key), "coffer/%s", ps->table);
	snprintf(name, sizeof(name), "%s/%s", ha_table, ps->ha_key);
	for (p = name; *p != '\0'; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	snprintf(ps->lock_id, sizeof(ps->lock_id), "%lld", (long long)h);
	snprintf(ps->lock_hi, sizeof(ps->lock_hi), "%u",
	    (unsigned int)(h >> 32));
	snprintf(ps->lock_lo, sizeof(ps->lock_lo), "%u",
	    (unsigned int)(h & 0xffffffffU));
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
