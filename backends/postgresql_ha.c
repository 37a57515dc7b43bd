/*
 * postgresql_ha.c -- the PostgreSQL backend's HA lock.
 *
 * Liveness is a session-level advisory lock
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
 * holds the lock).  Each new holder bumps the epoch in a transaction
 * that first takes a second advisory lock, the fence's, EXCLUSIVE.
 * Every write of an HA store is one pipelined transaction that takes
 * the fence's lock SHARED, then, in a later statement, reads our epoch,
 * then writes (pgstore_batch_fn says why the order makes it safe); the
 * two locks conflict, so a deposed holder's write either commits before
 * the bump (which waits for it) or sees the new epoch and writes nothing
 * (CF_ESTANDBY, and lock_check answers CF_ESTANDBY from then on).
 * Pooled sessions of an HA store set idle_in_transaction_session_timeout
 * too, so a paused holder's open batch cannot hold the bump back.
 * lock_holder reads ha_value, only while pg_locks shows the advisory
 * lock granted: a dead holder's record is not shown.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
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
#include "timeutil.h"

static const char *const pgstore_hstmt_names[PG_NHSTMT] = {
	"coffer_h_wait", "coffer_h_try", "coffer_h_row", "coffer_h_fence",
	"coffer_h_bump", "coffer_h_beat", "coffer_h_clear", "coffer_h_unlock"
};

static const int pgstore_hstmt_nparams[PG_NHSTMT] = {
	2, 1, 1, 1, 3, 3, 2, 1
};

static void	*pgstore_beat_run(void *);

static void
pgstore_ha_lock(struct pgstore *ps)
{
	lock_mutex(&ps->ha_mu, LOCK_LEAF);
}

static void
pgstore_ha_unlock(struct pgstore *ps)
{
	unlock_mutex(&ps->ha_mu);
}

static void
pgstore_lk_lock(struct pgstore *ps)
{
	lock_mutex(&ps->lk_mu, LOCK_STORAGE_LOCK);
}

static void
pgstore_lk_unlock(struct pgstore *ps)
{
	unlock_mutex(&ps->lk_mu);
}

/*
 * An HA store's epoch while we hold the lock, into out; CF_ESTANDBY
 * when we do not (nothing is sent: only the holder writes).
 */
int
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
int
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

/* Vault's HA table, unless it is there. */
int
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

/* The statements of an HA store: the fence and the lock's. */
static void
pgstore_sql_ha(struct pgstore *ps, const char *h)
{
	/* The fence, two statements: see pgstore_batch_fn. */
	snprintf(ps->sql[PG_FLOCK], PG_SQL_MAX,
	    "SELECT pg_advisory_xact_lock_shared($1::bigint)");
	/* An error (22012) unless the epoch is ours. */
	snprintf(ps->sql[PG_FENCE], PG_SQL_MAX, "SELECT 1 / count(*)::int "
	    "FROM \"%s\" WHERE ha_key = $1 AND ha_identity = $2", h);
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
	/* In the bump's transaction: waits for every fenced write. */
	snprintf(ps->hsql[PG_H_FENCE], PG_SQL_MAX,
	    "SELECT pg_advisory_xact_lock($1::bigint)");
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

/* FNV-1a, 64 bits. */
static uint64_t
pgstore_fnv(const char *s)
{
	uint64_t	 h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * The advisory locks of ha_table's row for table: the HA lock's, and
 * the fence's (pgstore_batch_fn), a hash of the same name + "/fence".
 */
static void
pgstore_lock_key(struct pgstore *ps, const char *ha_table)
{
	uint64_t	 h;
	char		 name[2 * PG_HA_KEY_MAX + 8];

	snprintf(ps->ha_key, sizeof(ps->ha_key), "coffer/%s", ps->table);
	snprintf(name, sizeof(name), "%s/%s/fence", ha_table, ps->ha_key);
	snprintf(ps->fence_id, sizeof(ps->fence_id), "%lld",
	    (long long)pgstore_fnv(name));
	name[strlen(name) - strlen("/fence")] = '\0';
	h = pgstore_fnv(name);
	snprintf(ps->lock_id, sizeof(ps->lock_id), "%lld", (long long)h);
	snprintf(ps->lock_hi, sizeof(ps->lock_hi), "%u",
	    (unsigned int)(h >> 32));
	snprintf(ps->lock_lo, sizeof(ps->lock_lo), "%u",
	    (unsigned int)(h & 0xffffffffU));
}

void
pgstore_ha_setup(struct pgstore *ps, const char *ha_table)
{
	pgstore_sql_ha(ps, ha_table);
	pgstore_lock_key(ps, ha_table);
}

int
pgstore_ha_start(struct pgstore *ps)
{
	int	 err;

	if ((err = pthread_create(&ps->beat, NULL, pgstore_beat_run, ps)) !=
	    0) {
		errno = err;
		log_warn("postgresql: heartbeat thread");
		return CF_EINTERNAL;
	}
	ps->beat_running = 1;
	return CF_OK;
}

void
pgstore_ha_stop(struct pgstore *ps)
{
	if (!ps->beat_running)
		return;
	pgstore_ha_lock(ps);
	ps->stop = 1;
	if (pthread_cond_broadcast(&ps->ha_cv) != 0)
		abort();
	pgstore_ha_unlock(ps);
	if (pthread_join(ps->beat, NULL) != 0)
		abort();
	ps->beat_running = 0;
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

	snprintf(t, sizeof(t), "%d", ps->timeout_ms);
	snprintf(idle, sizeof(idle), "%d", ps->timeout_ms / 4000 > 0 ?
	    ps->timeout_ms / 4000 : 1);
	snprintf(beat, sizeof(beat), "%d", ps->timeout_ms / 4);
	if ((c = pgstore_dial(ps, kw, val, "HA lock session")) == NULL)
		return NULL;
	snprintf(sql, sizeof(sql), "SET idle_session_timeout = %s; "
	    "SET idle_in_transaction_session_timeout = %s; "
	    "SET client_connection_check_interval = %s; "
	    "SET tcp_keepalives_idle = %s; SET tcp_keepalives_interval = 1; "
	    "SET tcp_keepalives_count = 2; SET tcp_user_timeout = %s",
	    t, t, beat, idle, t);
	if (pgstore_command(ps, c, sql) != CF_OK ||
	    pgstore_prepare(ps, c, pgstore_hstmt_names,
	    (const char (*)[PG_SQL_MAX])ps->hsql, pgstore_hstmt_nparams,
	    PG_NHSTMT) != CF_OK) {
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
	char		 t[16], epoch[24];
	PGresult	*res;
	long long	 sent;
	int		 rc;

	snprintf(t, sizeof(t), "%d", ps->timeout_ms);
	params[0] = ps->ha_key;
	params[1] = holder;
	params[2] = t;
	sent = time_mono_ms();
	res = pgstore_hexec(ps, PG_H_ROW, 1, params);
	rc = pgstore_check(ps, ps->lk, res, PGRES_COMMAND_OK, "HA row");
	PQclear(res);
	/*
	 * The bump in a transaction that first takes the fence's lock
	 * EXCLUSIVE: it waits out every write fenced by the old epoch, and
	 * holds back every later one until the new epoch is committed.
	 */
	if (rc == CF_OK)
		rc = pgstore_command(ps, ps->lk, "BEGIN");
	if (rc == CF_OK) {
		res = pgstore_hexec(ps, PG_H_FENCE, 1,
		    (const char *const[]){ ps->fence_id });
		rc = pgstore_check(ps, ps->lk, res, PGRES_TUPLES_OK,
		    "HA fence");
		PQclear(res);
	}
	if (rc == CF_OK) {
		res = pgstore_hexec(ps, PG_H_BUMP, 3, params);
		if ((rc = pgstore_check(ps, ps->lk, res, PGRES_TUPLES_OK,
		    "HA epoch")) == CF_OK && PQntuples(res) != 1)
			rc = CF_EIO;
		if (rc == CF_OK)
			strlcpy(epoch, PQgetvalue(res, 0, 0), sizeof(epoch));
		PQclear(res);
	}
	if (rc == CF_OK)
		rc = pgstore_command(ps, ps->lk, "COMMIT");
	if (rc == CF_OK) {
		pgstore_ha_lock(ps);
		strlcpy(ps->epoch, epoch, sizeof(ps->epoch));
		ps->held = 1;
		ps->lost = 0;
		ps->beat_ms = sent;
		pgstore_ha_unlock(ps);
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

int
pgstore_lock_wait(struct storage *st, const char *holder, int ms, int *got)
{
	struct pgstore	*ps = pgstore_from(st);
	struct timespec	 ts;
	unsigned int	 cancel;
	long long	 deadline, left;
	int		 rc = CF_OK, lost;

	*got = 0;
	if (!ps->ha)
		return CF_ENOTSUP;
	deadline = time_mono_ms() + (ms > 0 ? ms : 0);
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
		left = deadline - time_mono_ms();
		if ((rc = pgstore_attempt(ps, holder, left <= 0 ? 0 :
		    (int)(left < PG_WAIT_SLICE_MS ? left : PG_WAIT_SLICE_MS),
		    got)) != CF_OK || *got)
			break;
		left = deadline - time_mono_ms();
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
			(void)cond_timedwait(&ps->ha_cv, &ps->ha_mu, &ts);
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

int
pgstore_lock_try(struct storage *st, const char *holder, int *got)
{
	return pgstore_lock_wait(st, holder, 0, got);
}

int
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

static int
pgstore_holder_fn(struct pgstore *ps, PGconn *c, void *arg)
{
	const char	*params[3];

	params[0] = ps->ha_key;
	params[1] = ps->lock_hi;
	params[2] = ps->lock_lo;
	return pgstore_cell(ps, c, PG_HOLDER, 3, params, 0, "HA holder", arg);
}

int
pgstore_lock_holder(struct storage *st, struct buf *holder)
{
	struct pgstore	*ps = pgstore_from(st);
	int		 rc;

	if (!ps->ha)
		return CF_ENOTSUP;
	if ((rc = pgstore_run(ps, pgstore_holder_fn, holder)) != CF_OK)
		buf_reset(holder);
	return rc;
}

/*
 * Ours while held, not fenced, and the last good heartbeat was sent
 * less than half the session timeout ago: the server ends a silent
 * session after the whole of it, so we leave first.
 */
int
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
	else if ((age = time_mono_ms() - ps->beat_ms) >
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
	int		 held, ok, lost;

	snprintf(t, sizeof(t), "%d", ps->timeout_ms);
	pgstore_ha_lock(ps);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)(ps->timeout_ms / 4 % 1000) * 1000000L;
		ts.tv_sec += ps->timeout_ms / 4 / 1000 + ts.tv_nsec /
		    1000000000L;
		ts.tv_nsec %= 1000000000L;
		while (!ps->stop) {
			if (cond_timedwait(&ps->ha_cv, &ps->ha_mu, &ts) ==
			    ETIMEDOUT)
				break;
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
			sent = time_mono_ms();
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
