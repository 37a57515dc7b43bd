/*
 * ha.c -- high availability: the HA thread, which takes the storage
 * lock and moves this node between standby and active.
 *
 * The HA thread is the only one that takes the storage HA lock, and it
 * never does so while holding the core lock: it waits in short slices
 * (HA_WAIT_MS) so that a seal or a shutdown ends the wait promptly
 * without cancelling it from another thread.  Its flags (stop,
 * step-down, the no-compete deadline) are under ha_mu, a leaf: nothing
 * takes another lock while holding it.
 *
 * Forwarding to the active node is ha_forward.c; the standbys' echo
 * and sys/ha-status are ha_echo.c.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "ha.h"
#include "ha_echo.h"
#include "ha_forward.h"
#include "ha_node.h"
#include "jsonutil.h"
#include "lock.h"
#include "log.h"
#include "req.h"
#include "router.h"
#include "storage.h"
#include "timeutil.h"
#include "uuid4.h"

#define HA_WAIT_MS		200	/* one slice of waiting for the lock */
#define HA_CHECK_MS		250	/* how often the active checks the lock */
#define HA_LOST_PAUSE_MS	1000	/* back-off after losing the lock */
#define HA_FAIL_PAUSE_MS	5000	/* back-off after a failed takeover */

enum leave_why {
	LEAVE_STOP,
	LEAVE_STEPDOWN,
	LEAVE_SEALED,
	LEAVE_LOST,
	LEAVE_FENCED
};

static int		 enabled;
static struct storage	*store;
static pthread_t	 thread;
static int		 running;
static pthread_mutex_t	 ha_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 ha_cv;			/* CLOCK_MONOTONIC */
static int		 stop, stepdown, fenced;	/* under ha_mu */
static long long	 not_before;		/* ms, monotonic; ha_mu */

static void
mu_lock(void)
{
	lock_mutex(&ha_mu, LOCK_LEAF);
}

static void
mu_unlock(void)
{
	unlock_mutex(&ha_mu);
}

/* Sleep on ha_cv for up to ms; under ha_mu. */
static void
cv_wait_ms(long long ms)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	(void)cond_timedwait(&ha_cv, &ha_mu, &ts);
}

/*
 * Core hook: a write was refused by the storage fence, so another node
 * holds the lock; serve_active leaves at once instead of at its next
 * check.  Only ha_mu, a leaf (the caller may hold the core lock).
 */
static int
on_fenced(void)
{
	mu_lock();
	fenced = 1;
	if (pthread_cond_broadcast(&ha_cv) != 0)
		abort();
	mu_unlock();
	return CF_OK;
}

/* Core hook (unseal, seal): the HA thread has something to look at. */
static int
wake(void)
{
	mu_lock();
	if (pthread_cond_broadcast(&ha_cv) != 0)
		abort();
	mu_unlock();
	return CF_OK;
}

/* This node's holder record, with the time it is made. */
static int
holder_record(struct buf *out)
{
	struct timespec	 ts;
	json_t		*j;
	char		 id[REQ_ID_LEN + 1], since[64];
	int		 rc;

	uuid4_random(id);
	clock_gettime(CLOCK_REALTIME, &ts);
	time_format_rfc3339(since, sizeof(since), (long long)ts.tv_sec,
	    ts.tv_nsec);
	if ((j = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "api_addr",
	    ha_self()->api, "cluster_addr", ha_self()->cluster, "since", since)) == NULL)
		return CF_ENOMEM;
	buf_reset(out);
	rc = jsonutil_emit(j, out);
	json_decref(j);
	return rc;
}

/*
 * Serve as the active node until something says to stop: a shutdown,
 * a step-down, a seal, or the storage losing the lock.
 */
static int
serve_active(void)
{
	long long	 next = time_mono_ms() + HA_CHECK_MS;
	int		 why;

	mu_lock();
	for (;;) {
		if (stop) {
			why = LEAVE_STOP;
			break;
		}
		if (stepdown) {
			stepdown = 0;
			why = LEAVE_STEPDOWN;
			break;
		}
		if (fenced) {
			why = LEAVE_FENCED;
			break;
		}
		if (!core_is_active()) {
			why = LEAVE_SEALED;
			break;
		}
		if (time_mono_ms() >= next) {
			mu_unlock();
			why = storage_lock_check(store) == CF_OK ? -1 :
			    LEAVE_LOST;
			mu_lock();
			if (why == LEAVE_LOST)
				break;
			next = time_mono_ms() + HA_CHECK_MS;
		}
		cv_wait_ms(HA_CHECK_MS);
	}
	mu_unlock();
	return why;
}

/*
 * Holding the storage lock: become active, serve, leave, release.
 * Returns 1 when the thread is to stop.
 */
static int
take_over(const char *rec)
{
	long long	 pause = 0;
	int		 rc, why;

	mu_lock();
	stepdown = 0;			/* one sent to the old role */
	fenced = 0;
	mu_unlock();
	core_wrlock();
	rc = core_state() == CORE_UNSEALED ? core_become_active() :
	    CF_ESEALED;
	core_unlock();
	if (rc != CF_OK) {
		if (rc != CF_ESEALED)
			log_warnx("ha: cannot become active: %s",
			    cf_errname(rc));
		(void)storage_lock_release(store);
		mu_lock();
		if (rc != CF_ESEALED)
			not_before = time_mono_ms() + HA_FAIL_PAUSE_MS;
		mu_unlock();
		return 0;
	}
	log_info("ha: active node, holder %s", rec);
	why = serve_active();
	/* Requests in flight finish; then no writer is left in us. */
	core_wrlock();
	if (core_is_active())
		core_leave_active();
	core_unlock();
	(void)storage_lock_release(store);
	switch (why) {
	case LEAVE_STEPDOWN:
		log_info("ha: stepped down; not competing for %d ms",
		    HA_STEPDOWN_PAUSE_MS);
		pause = HA_STEPDOWN_PAUSE_MS;
		break;
	case LEAVE_LOST:
		log_warnx("ha: the storage lock was lost; standby");
		pause = HA_LOST_PAUSE_MS;
		break;
	case LEAVE_FENCED:
		log_warnx("ha: a write was refused by the storage fence "
		    "(another node holds the lock); standby");
		pause = HA_LOST_PAUSE_MS;
		break;
	case LEAVE_SEALED:
		log_info("ha: sealed; storage lock released");
		break;
	default:
		log_info("ha: stopping; storage lock released");
		break;
	}
	mu_lock();
	not_before = time_mono_ms() + pause;
	mu_unlock();
	return why == LEAVE_STOP;
}

static void *
ha_run(void *arg)
{
	struct buf	 rec = BUF_INIT;
	int		 got, rc, said = 0;

	(void)arg;
	for (;;) {
		mu_lock();
		while (!stop && (core_state() != CORE_UNSEALED ||
		    time_mono_ms() < not_before)) {
			said = core_state() == CORE_UNSEALED ? said : 0;
			cv_wait_ms(HA_WAIT_MS);
		}
		if (stop) {
			mu_unlock();
			break;
		}
		mu_unlock();
		if (!said) {
			log_info("ha: standby, waiting for the storage lock");
			said = 1;
		}
		if ((rc = holder_record(&rec)) != CF_OK ||
		    (rc = storage_lock_wait(store, rec.data, HA_WAIT_MS,
		    &got)) != CF_OK) {
			log_warnx("ha: waiting for the storage lock: %s",
			    cf_errname(rc));
			mu_lock();
			not_before = time_mono_ms() + HA_FAIL_PAUSE_MS;
			mu_unlock();
			continue;
		}
		if (!got)
			continue;
		said = 0;
		if (take_over(rec.data))
			break;
	}
	buf_free(&rec);
	return NULL;
}

void
ha_register(int ha_enabled, const char *api_addr, const char *cluster_addr)
{
	ha_node_init(ha_enabled, api_addr, cluster_addr);
	enabled = ha_enabled;
	if (!enabled)
		return;
	router_forward(ha_forward);
	router_raw("sys/ha-echo", 0, ha_echo);
	core_on_unseal(wake);
	core_on_seal(wake);
	core_on_active(ha_echo_forget);
	core_on_standby(ha_echo_forget);
	core_on_fenced(on_fenced);
}

int
ha_start(struct storage *st)
{
	pthread_condattr_t	 ca;

	if (!enabled)
		return CF_OK;
	store = st;
	ha_node_store(st);
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&ha_cv, &ca) != 0)
		return CF_EINTERNAL;
	pthread_condattr_destroy(&ca);
	if (ha_node_start() != CF_OK)
		return CF_ENOMEM;
	if (pthread_create(&thread, NULL, ha_run, NULL) != 0) {
		log_warn("ha: cannot start the HA thread");
		return CF_EINTERNAL;
	}
	pthread_setname_np(thread, "coffer-ha");
	running = 1;
	return ha_echo_start();
}

void
ha_stop(void)
{
	if (!running)
		return;
	ha_node_stopping();
	mu_lock();
	stop = 1;
	if (pthread_cond_broadcast(&ha_cv) != 0)
		abort();
	mu_unlock();
	pthread_join(thread, NULL);
	running = 0;
	ha_echo_stop();
	/* Forwards still in flight end within two seconds (on_progress). */
}

void
ha_step_down(void)
{
	if (!enabled)
		return;
	mu_lock();
	if (stepdown)
		log_warnx("ha: a step-down is already pending");
	stepdown = 1;
	if (pthread_cond_broadcast(&ha_cv) != 0)
		abort();
	mu_unlock();
}

int
ha_init_begin(int *taken)
{
	struct buf	 rec = BUF_INIT;
	int		 rc, got;

	*taken = 0;
	if (!enabled)
		return CF_OK;
	if (storage_lock_check(store) == CF_OK)
		return CF_OK;
	if ((rc = holder_record(&rec)) == CF_OK &&
	    (rc = storage_lock_try(store, rec.data, &got)) == CF_OK) {
		if (got)
			*taken = 1;
		else
			rc = CF_ESTANDBY;
	}
	buf_free(&rec);
	return rc;
}

void
ha_init_end(int taken)
{
	if (taken && !core_is_active())
		(void)storage_lock_release(store);
}
