/*
 * postgresql.h -- what the PostgreSQL backend's three files share: the
 * store, its statements, the pool (postgresql_pool.c) and the HA lock
 * (postgresql_ha.c).  Only storage.h's storage_postgresql_ops leaves
 * the backend; nothing outside backends/postgresql*.c includes this.
 *
 * Threads: mu guards the pool (idle stack, counts, the outage flag); cv
 * wakes a caller waiting for a connection when every one is in use.
 * mu is never held across a round trip to the database.  lk_mu guards
 * the lock connection and is held across its round trips; ha_mu (a
 * leaf, taken after lk_mu) guards the HA flags, and ha_cv wakes the
 * heartbeat thread and a waiter that lock_release cancels.
 */
#ifndef COFFER_BACKENDS_POSTGRESQL_H
#define COFFER_BACKENDS_POSTGRESQL_H

#include <pthread.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "buf.h"
#include "group_commit.h"
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
/*
 * Writes in flight at once, each a group of concurrent writers' batches
 * (group_commit.h) of at most PG_GROUP_OPS operations: enough to keep
 * the database busy while one group waits for its WAL flush, few enough
 * that a busy server's writers share transactions.
 */
#define PG_WRITE_GROUPS		4
#define PG_GROUP_OPS		256
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
	PG_FLOCK = PG_NPLAIN,	/* HA stores: the fence's shared lock */
	PG_FENCE,		/* then the epoch check */
	PG_HOLDER,
	PG_NSTMT
};

/* Statements of the lock connection. */
enum pgstore_hstmt {
	PG_H_WAIT,		/* block up to lock_timeout */
	PG_H_TRY,
	PG_H_ROW,		/* our ha_table row, if missing */
	PG_H_FENCE,		/* the fence's exclusive lock, for a bump */
	PG_H_BUMP,		/* a new holder: epoch + 1, record */
	PG_H_BEAT,		/* heartbeat: still our epoch */
	PG_H_CLEAR,		/* release: no record shown */
	PG_H_UNLOCK,
	PG_NHSTMT
};

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
	struct group_commit writes;	/* batches share transactions */
	char		 table[PG_TABLE_MAX + 1];

	/* The HA lock; see postgresql_ha.c. */
	int		 ha;		/* opened with ha_enabled */
	int		 timeout_ms;	/* ha_session_timeout */
	char		 ha_key[PG_HA_KEY_MAX];
	char		 lock_id[24];	/* the advisory lock's bigint */
	char		 fence_id[24];	/* the fence's advisory lock */
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

/* One call's work on a connection; CF_OK or a cf_err. */
typedef int	(*pgstore_fn)(struct pgstore *, PGconn *, void *);

/* postgresql_pool.c: the connections of the pool. */
extern const char *const pgstore_stmt_names[PG_NSTMT];
struct pgstore	*pgstore_from(struct storage *);
/* Log the first line of msg: a warning once per outage, then debug. */
void		 pgstore_logerr(struct pgstore *, const char *what,
		    const char *msg);
void		 pgstore_up(struct pgstore *);
void		 pgstore_down(struct pgstore *);
void		 pgstore_notice(void *, const char *);
/*
 * A new session with kw/val (libpq's keyword arrays), notices to the
 * debug log; NULL on failure (logged, what names it, outage noted).
 */
PGconn		*pgstore_dial(struct pgstore *, const char *const *kw,
		    const char *const *val, const char *what);
/* Prepare n statements on c; CF_OK or CF_EIO (logged). */
int		 pgstore_prepare(struct pgstore *, PGconn *,
		    const char *const *names, const char (*sql)[PG_SQL_MAX],
		    const int *nparams, int n);
int		 pgstore_acquire(struct pgstore *, PGconn **, int *reused);
void		 pgstore_release(struct pgstore *, PGconn *);
int		 pgstore_run(struct pgstore *, pgstore_fn, void *);
int		 pgstore_check(struct pgstore *, PGconn *, PGresult *,
		    ExecStatusType want, const char *what);
int		 pgstore_command(struct pgstore *, PGconn *, const char *sql);
/*
 * Prepared statement st with n text parameters, results in format fmt
 * (1: binary): the first column of its first row into out, or
 * CF_ENOTFOUND when there is no row.
 */
int		 pgstore_cell(struct pgstore *, PGconn *, enum pgstore_stmt st,
		    int n, const char *const *params, int fmt, const char *what,
		    struct buf *out);

/* postgresql_ha.c: the HA lock and its heartbeat. */
/* The statements of an HA store and the advisory lock's key. */
void		 pgstore_ha_setup(struct pgstore *, const char *ha_table);
int		 pgstore_create_ha(struct pgstore *, PGconn *,
		    const char *ha_table);
/* Start and stop the heartbeat thread; CF_OK or CF_EINTERNAL. */
int		 pgstore_ha_start(struct pgstore *);
void		 pgstore_ha_stop(struct pgstore *);
int		 pgstore_epoch(struct pgstore *, char *out, size_t len);
int		 pgstore_fenced(struct pgstore *, const char *epoch);
int		 pgstore_lock_try(struct storage *, const char *, int *);
int		 pgstore_lock_wait(struct storage *, const char *, int, int *);
int		 pgstore_lock_release(struct storage *);
int		 pgstore_lock_holder(struct storage *, struct buf *);
int		 pgstore_lock_check(struct storage *);

#endif
