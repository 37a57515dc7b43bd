/*
 * postgresql_pool.c -- the PostgreSQL backend's connections.
 *
 * A pool of at most max_parallel connections, opened as requests need
 * them and kept open afterwards.  Each new connection prepares every
 * statement once.  A call takes a connection for its whole duration (a
 * batch is one implicit transaction, its statements sent in one round
 * trip in libpq's pipeline mode), so calls never share a session.  A
 * connection that broke is closed when it is handed back, and the next
 * call opens a fresh one: the store reconnects by itself once the
 * database is back.  When a pooled connection turns out to be dead (the
 * database restarted while it was idle), the call is run once more on a
 * fresh connection: every statement here is idempotent (an upsert, a
 * delete), so running a write twice cannot change its outcome.
 * Otherwise a failure is CF_EIO, logged once per outage rather than
 * once per call.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "buf.h"
#include "err.h"
#include "lock.h"
#include "log.h"
#include "postgresql.h"

const char *const pgstore_stmt_names[PG_NSTMT] = {
	"coffer_get", "coffer_put", "coffer_del", "coffer_list",
	"coffer_delprefix", "coffer_flock", "coffer_fence", "coffer_holder"
};

static const int pgstore_stmt_nparams[PG_NSTMT] = {
	2, 4, 2, 2, 1, 1, 2, 3
};

struct pgstore *
pgstore_from(struct storage *st)
{
	if (st->ops != &storage_postgresql_ops)
		CF_BUG("not a postgresql storage");
	return (struct pgstore *)st;
}

static void
pgstore_lock(struct pgstore *ps)
{
	lock_mutex(&ps->mu, LOCK_STORAGE);
}

static void
pgstore_unlock(struct pgstore *ps)
{
	unlock_mutex(&ps->mu);
}

/* The first line of a libpq message, for the log. */
void
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
void
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

void
pgstore_down(struct pgstore *ps)
{
	pgstore_lock(ps);
	ps->down = 1;
	pgstore_unlock(ps);
}

/* Server notices ("already exists, skipping") are not for stderr. */
void
pgstore_notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("postgresql: %.*s", (int)strcspn(msg, "\n"), msg);
}

PGconn *
pgstore_dial(struct pgstore *ps, const char *const *kw,
    const char *const *val, const char *what)
{
	PGconn	*c;

	if ((c = PQconnectdbParams(kw, val, 1)) == NULL) {
		log_warnx("postgresql: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		pgstore_logerr(ps, what, PQerrorMessage(c));
		pgstore_down(ps);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, pgstore_notice, NULL);
	return c;
}

int
pgstore_prepare(struct pgstore *ps, PGconn *c, const char *const *names,
    const char (*sql)[PG_SQL_MAX], const int *nparams, int n)
{
	PGresult	*res;
	int		 i, rc = CF_OK;

	for (i = 0; rc == CF_OK && i < n; i++) {
		res = PQprepare(c, names[i], sql[i], nparams[i], NULL);
		rc = pgstore_check(ps, c, res, PGRES_COMMAND_OK, "prepare");
		PQclear(res);
	}
	return rc;
}

/* A new pooled connection with every statement prepared, or NULL. */
static PGconn *
pgstore_connect(struct pgstore *ps)
{
	/* Later keywords override the URL; earlier ones are defaults. */
	const char *const	 kw[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char		*val[] = { PG_CONNECT_TIMEOUT, "cofferd",
	    ps->conninfo, NULL };
	PGconn			*c;
	char			 sql[128];

	if ((c = pgstore_dial(ps, kw, val, "cannot connect")) == NULL)
		return NULL;
	if (ps->ha) {
		/* A paused holder's open batch must not hold a takeover. */
		snprintf(sql, sizeof(sql), "SET "
		    "idle_in_transaction_session_timeout = %d",
		    ps->timeout_ms);
		if (pgstore_command(ps, c, sql) != CF_OK) {
			PQfinish(c);
			return NULL;
		}
	}
	if (pgstore_prepare(ps, c, pgstore_stmt_names,
	    (const char (*)[PG_SQL_MAX])ps->sql, pgstore_stmt_nparams,
	    (int)ps->nstmt) != CF_OK) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

/*
 * A connection for one call: an idle one (*reused 1), else a new one
 * while fewer than max are open, else wait.  CF_EIO when a new one
 * cannot be opened.
 */
int
pgstore_acquire(struct pgstore *ps, PGconn **out, int *reused)
{
	PGconn	*c;

	pgstore_lock(ps);
	while (ps->nidle == 0 && ps->nopen >= ps->max)
		cond_wait(&ps->cv, &ps->mu);
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
void
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
int
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
int
pgstore_check(struct pgstore *ps, PGconn *c, PGresult *res,
    ExecStatusType want, const char *what)
{
	if (res != NULL && PQresultStatus(res) == want)
		return CF_OK;
	pgstore_logerr(ps, what, res != NULL ?
	    PQresultErrorMessage(res) : PQerrorMessage(c));
	return CF_EIO;
}

/* A plain command (BEGIN, COMMIT, ROLLBACK). */
int
pgstore_command(struct pgstore *ps, PGconn *c, const char *sql)
{
	PGresult	*res;
	int		 rc;

	res = PQexec(c, sql);
	rc = pgstore_check(ps, c, res, PGRES_COMMAND_OK, sql);
	PQclear(res);
	return rc;
}

int
pgstore_cell(struct pgstore *ps, PGconn *c, enum pgstore_stmt st, int n,
    const char *const *params, int fmt, const char *what, struct buf *out)
{
	PGresult	*res;
	int		 rc;

	res = PQexecPrepared(c, pgstore_stmt_names[st], n, params, NULL,
	    NULL, fmt);
	if ((rc = pgstore_check(ps, c, res, PGRES_TUPLES_OK, what)) ==
	    CF_OK) {
		if (PQntuples(res) == 0)
			rc = CF_ENOTFOUND;
		else
			rc = buf_set(out, PQgetvalue(res, 0, 0),
			    (size_t)PQgetlength(res, 0, 0));
	}
	PQclear(res);
	return rc;
}
