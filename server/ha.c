/*
 * ha.c -- high availability: the HA thread and standby forwarding.
 *
 * The HA thread is the only one that takes the storage HA lock, and it
 * never does so while holding the core lock: it waits in short slices
 * (HA_WAIT_MS) so that a seal or a shutdown ends the wait promptly
 * without cancelling it from another thread.  Its flags (stop,
 * step-down, the no-compete deadline) are under ha_mu, a leaf: nothing
 * takes another lock while holding it.
 *
 * Forwarding uses libcurl with one share handle for the connection
 * cache, so a standby keeps its connections to the active node.  The
 * active node's address is read from the lock's holder record for each
 * request (a few system calls), so a takeover is seen at once; no core
 * lock is held during the call, and a connect timeout bounds the wait
 * on a dead node.  The request goes out with its method, path, query,
 * body and every header as sent (less hop-by-hop ones), the token as
 * X-Vault-Token, the client's address appended to X-Forwarded-For, and
 * the loop guard REQ_FORWARDED_HEADER; the answer comes back with its
 * status, headers (less hop-by-hop ones) and body.
 * The header copies made for libcurl are wiped, and libcurl allocates
 * through jsonmem's wiping allocator (main), so the request text it
 * builds from them is wiped when freed too.
 *
 * The echo.  A standby's echo thread posts to the active node's
 * sys/ha-echo every HA_ECHO_MS: its id, host name, addresses, version
 * and clock, as a JSON text with an HMAC (crypto_auth) under a key both
 * nodes derive from the keyring (barrier_derive, HA_ECHO_CTX): no token
 * travels, and only a node that unsealed this store can announce
 * itself.  The active node keeps the nodes it heard from in memory
 * (nodes[], under echo_mu, a leaf), forgets them after
 * HA_ECHO_EXPIRE_MS without an echo and when its role changes, and
 * lists them in sys/ha-status.  An echo whose clock is more than
 * HA_ECHO_SKEW_MS away, or not newer than the last one of that node, is
 * refused, so a recorded echo cannot be replayed for long.
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

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "barrier.h"
#include "ha.h"
#include "jsonutil.h"
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
#define HA_CONNECT_MS		2000L
#define HA_TIMEOUT_MS		90000L	/* Vault cancels requests after 90 s */
#define HA_RELAY_MAX		(64LL * 1024 * 1024)
#define HA_FIND_ACTIVE_MS	2000	/* a failover takes milliseconds */
#define HA_FIND_ACTIVE_STEP_MS	10
#define HA_MISDIRECTED		421	/* forwarded to a node not active */
#define HA_STOP_GRACE_MS	1000	/* forwards in flight at shutdown */

#define HA_ECHO_MS		5000	/* Vault's heartbeat interval */
#define HA_ECHO_EXPIRE_MS	(3 * HA_ECHO_MS)
#define HA_ECHO_SKEW_MS		60000LL
#define HA_ECHO_CTX		"cofecho1"	/* crypto_kdf context */
#define HA_ECHO_ID		1
#define HA_NODES_MAX		64
#define HA_HOST_MAX		256

#define NO_ACTIVE	"local node not active but active cluster node not found"

enum leave_why {
	LEAVE_STOP,
	LEAVE_STEPDOWN,
	LEAVE_SEALED,
	LEAVE_LOST,
	LEAVE_FENCED
};

static int		 enabled;
static struct storage	*store;
static const char	*self_api = "", *self_cluster = "";
static pthread_t	 thread;
static int		 running;
static pthread_mutex_t	 ha_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 ha_cv;			/* CLOCK_MONOTONIC */
static int		 stop, stepdown, fenced;	/* under ha_mu */
static long long	 not_before;		/* ms, monotonic; ha_mu */
static _Atomic long long stop_at;		/* ms, monotonic; 0: running */
static CURLSH		*share;
static pthread_mutex_t	 share_mu[CURL_LOCK_DATA_LAST];

static pthread_t	 echo_thread;
static int		 echo_running;
static char		 self_id[REQ_ID_LEN + 1];
static char		 self_host[HA_HOST_MAX];

/* The standbys the active node heard from; under echo_mu. */
struct ha_node {
	char		 id[REQ_ID_LEN + 1];
	char		 host[HA_HOST_MAX];
	char		 api[HA_ADDR_MAX];
	char		 cluster[HA_ADDR_MAX];
	char		 version[32];
	char		 last_echo[64];		/* RFC 3339, when received */
	long long	 seen_ms;		/* monotonic, when received */
	long long	 sent_ms;		/* the sender's clock */
};
static pthread_mutex_t	 echo_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ha_node	 nodes[HA_NODES_MAX];
static size_t		 nnodes;

/* Paths a standby answers itself (Vault's list, and the echo). */
static const char *const local_paths[] = {
	"sys/init", "sys/seal-status", "sys/seal", "sys/unseal",
	"sys/leader", "sys/health", "sys/ha-echo"
};

static void
mu_lock(void)
{
	if (pthread_mutex_lock(&ha_mu) != 0)
		abort();
}

static void
mu_unlock(void)
{
	if (pthread_mutex_unlock(&ha_mu) != 0)
		abort();
}

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The wall clock in ms: what two nodes can compare. */
static long long
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep on ha_cv for up to ms; under ha_mu. */
static void
cv_wait_ms(long long ms)
{
	struct timespec	 ts;
	int		 err;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	err = pthread_cond_timedwait(&ha_cv, &ha_mu, &ts);
	if (err != 0 && err != ETIMEDOUT)
		abort();
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
	    self_api, "cluster_addr", self_cluster, "since", since)) == NULL)
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
	long long	 next = now_ms() + HA_CHECK_MS;
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
		if (now_ms() >= next) {
			mu_unlock();
			why = storage_lock_check(store) == CF_OK ? -1 :
			    LEAVE_LOST;
			mu_lock();
			if (why == LEAVE_LOST)
				break;
			next = now_ms() + HA_CHECK_MS;
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
			not_before = now_ms() + HA_FAIL_PAUSE_MS;
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
	not_before = now_ms() + pause;
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
		    now_ms() < not_before)) {
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
			not_before = now_ms() + HA_FAIL_PAUSE_MS;
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

static void
share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *arg)
{
	(void)h;
	(void)a;
	(void)arg;
	if (pthread_mutex_lock(&share_mu[d]) != 0)
		abort();
}

static void
share_unlock(CURL *h, curl_lock_data d, void *arg)
{
	(void)h;
	(void)arg;
	if (pthread_mutex_unlock(&share_mu[d]) != 0)
		abort();
}

/* Forwarding: see router_forward_fn. */
static int ha_forward(struct request *, struct response *, int, int *);
static int ha_echo(struct request *, struct response *);
static int nodes_forget(void);
static void *echo_run(void *);

void
ha_register(int ha_enabled, const char *api_addr, const char *cluster_addr)
{
	self_api = api_addr != NULL ? api_addr : "";
	self_cluster = cluster_addr != NULL ? cluster_addr : "";
	if (gethostname(self_host, sizeof(self_host)) != 0)
		self_host[0] = '\0';
	self_host[sizeof(self_host) - 1] = '\0';
	enabled = ha_enabled;
	if (!enabled)
		return;
	uuid4_random(self_id);
	router_forward(ha_forward);
	router_raw("sys/ha-echo", 0, ha_echo);
	core_on_unseal(wake);
	core_on_seal(wake);
	core_on_active(nodes_forget);
	core_on_standby(nodes_forget);
	core_on_fenced(on_fenced);
}

int
ha_start(struct storage *st)
{
	pthread_condattr_t	 ca;
	size_t			 i;

	if (!enabled)
		return CF_OK;
	store = st;
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&ha_cv, &ca) != 0)
		return CF_EINTERNAL;
	pthread_condattr_destroy(&ca);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		if (pthread_mutex_init(&share_mu[i], NULL) != 0)
			return CF_EINTERNAL;
	if ((share = curl_share_init()) == NULL ||
	    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock) !=
	    CURLSHE_OK ||
	    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock) !=
	    CURLSHE_OK ||
	    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) !=
	    CURLSHE_OK ||
	    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
	    CURLSHE_OK)
		return CF_ENOMEM;
	if (pthread_create(&thread, NULL, ha_run, NULL) != 0) {
		log_warn("ha: cannot start the HA thread");
		return CF_EINTERNAL;
	}
	pthread_setname_np(thread, "coffer-ha");
	running = 1;
	if (pthread_create(&echo_thread, NULL, echo_run, NULL) != 0) {
		log_warn("ha: cannot start the echo thread");
		return CF_EINTERNAL;
	}
	pthread_setname_np(echo_thread, "coffer-echo");
	echo_running = 1;
	return CF_OK;
}

void
ha_stop(void)
{
	if (!running)
		return;
	atomic_store(&stop_at, now_ms());
	mu_lock();
	stop = 1;
	if (pthread_cond_broadcast(&ha_cv) != 0)
		abort();
	mu_unlock();
	pthread_join(thread, NULL);
	running = 0;
	if (echo_running)
		pthread_join(echo_thread, NULL);
	echo_running = 0;
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
ha_leader(char *api, size_t apilen, char *cluster, size_t clusterlen)
{
	struct buf	 b = BUF_INIT;
	json_t		*j = NULL;
	json_error_t	 e;
	const char	*a, *c;
	int		 rc;

	api[0] = cluster[0] = '\0';
	if (!enabled)
		return CF_ENOTFOUND;
	if (core_is_active()) {
		strlcpy(api, self_api, apilen);
		strlcpy(cluster, self_cluster, clusterlen);
		return CF_OK;
	}
	if ((rc = storage_lock_holder(store, &b)) != CF_OK)
		goto out;
	if ((j = json_loadb(b.data, b.len, 0, &e)) == NULL) {
		rc = CF_ENOTFOUND;	/* being written: nobody yet */
		goto out;
	}
	a = json_string_value(json_object_get(j, "api_addr"));
	c = json_string_value(json_object_get(j, "cluster_addr"));
	strlcpy(api, a != NULL ? a : "", apilen);
	strlcpy(cluster, c != NULL ? c : "", clusterlen);
	rc = api[0] != '\0' ? CF_OK : CF_ENOTFOUND;
 out:
	json_decref(j);
	buf_free(&b);
	return rc == CF_OK || rc == CF_ENOTFOUND ? rc : CF_EIO;
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

static int
is_local(const char *path)
{
	size_t	 i;

	for (i = 0; i < sizeof(local_paths) / sizeof(local_paths[0]); i++)
		if (strcmp(path, local_paths[i]) == 0)
			return 1;
	return 0;
}

/* base (no trailing '/') + "/v1/" + path escaped + "?" + query. */
static int
target_url(const char *base, const struct request *req, struct buf *out)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 blen = strlen(base);
	const unsigned char	*p;
	char			 esc[3];
	int			 rc;

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (strstr(base, "://") == NULL && (rc = buf_puts(out, "https://")) !=
	    CF_OK)
		return rc;
	if ((rc = buf_append(out, base, blen)) != CF_OK ||
	    (rc = buf_puts(out, "/v1/")) != CF_OK)
		return rc;
	for (p = (const unsigned char *)req->path; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/:@!$&'()*+,;=",
		    *p) != NULL)
			rc = buf_append(out, p, 1);
		else {
			esc[0] = '%';
			esc[1] = hex[*p >> 4];
			esc[2] = hex[*p & 15];
			rc = buf_append(out, esc, 3);
		}
		if (rc != CF_OK)
			return rc;
	}
	if (req->query != NULL && *req->query != '\0' &&
	    ((rc = buf_puts(out, "?")) != CF_OK ||
	    (rc = buf_puts(out, req->query)) != CF_OK))
		return rc;
	return CF_OK;
}

/* 307 to the active node, no body (Vault's answer without forwarding). */
static int
redirect(const char *api, struct request *req, struct response *resp)
{
	struct buf	 url = BUF_INIT;
	int		 rc;

	if ((rc = target_url(api, req, &url)) == CF_OK &&
	    (rc = buf_printf(&resp->relay_headers, "Location: %s\n",
	    url.data)) == CF_OK) {
		resp->relay = 1;
		resp->status = 307;
	}
	buf_free(&url);
	return rc;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct response	*resp = arg;

	if ((long long)(resp->relay_body.len + n) > HA_RELAY_MAX ||
	    buf_append(&resp->relay_body, p, size * n) != CF_OK)
		return 0;
	return size * n;
}

/*
 * Headers of one hop, which each hop sets for itself (RFC 9110 7.6.1,
 * plus the framing and identity headers libcurl and civetweb write).
 */
static int
hop_header(const char *name, size_t len)
{
	static const char *const hop[] = { "connection", "keep-alive",
	    "transfer-encoding", "content-length", "date", "server", "host",
	    "expect", "proxy-connection", "upgrade", "trailer", "te" };
	size_t	 i;

	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strlen(hop[i]) == len && strncasecmp(name, hop[i], len) ==
		    0)
			return 1;
	return 0;
}

/* Keep the answer's end-to-end headers; we set this hop's own. */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct response	*resp = arg;
	size_t		 len = size * n;
	const char	*colon;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		buf_reset(&resp->relay_headers);	/* after a 100 */
		return len;
	}
	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n'))
		len--;
	if (len == 0 || (colon = memchr(p, ':', len)) == NULL ||
	    hop_header(p, (size_t)(colon - p)))
		return size * n;
	if (buf_append(&resp->relay_headers, p, len) != CF_OK ||
	    buf_puts(&resp->relay_headers, "\n") != CF_OK)
		return 0;
	return size * n;
}

/*
 * libcurl calls this at least once a second.  When stopping, transfers
 * get HA_STOP_GRACE_MS to finish, then are aborted, so stopping never
 * waits out a paused active node's timeouts.
 */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	long long	 at = atomic_load(&stop_at);

	(void)arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return at != 0 && now_ms() - at > HA_STOP_GRACE_MS;
}

/* Options every transfer to the active node shares. */
static int
transfer_setup(CURL *c, const char *url, long timeout_ms)
{
	return curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SHARE, share) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, HA_CONNECT_MS) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) !=
	    CURLE_OK ? CF_EINTERNAL : CF_OK;
}

/* The echo key, under the core read lock.  CF_ESEALED, CF_ESTANDBY. */
static int
echo_key(int want_active, uint8_t key[crypto_auth_KEYBYTES])
{
	int	 rc;

	core_rdlock();
	if (core_state() != CORE_UNSEALED)
		rc = CF_ESEALED;
	else if (core_is_active() != want_active)
		rc = CF_ESTANDBY;
	else
		rc = barrier_derive(core_barrier(), HA_ECHO_ID, HA_ECHO_CTX,
		    key, crypto_auth_KEYBYTES);
	core_unlock();
	return rc;
}

/*
 * The MAC of HA_CLIENT_HEADER, as hex into out: over the address, the
 * time in ms and the request's method and path, so the header is of no
 * use on another request.
 */
static int
client_mac(const uint8_t key[crypto_auth_KEYBYTES], const char *addr,
    long long ms, const struct request *req,
    char out[crypto_auth_BYTES * 2 + 1])
{
	uint8_t		 mac[crypto_auth_BYTES];
	struct buf	 msg = BUF_INIT;
	int		 rc;

	if ((rc = buf_printf(&msg, "%s\n%lld\n%s %s", addr, ms,
	    req->method != NULL ? req->method : "",
	    req->path != NULL ? req->path : "")) == CF_OK) {
		crypto_auth(mac, (const unsigned char *)msg.data, msg.len,
		    key);
		sodium_bin2hex(out, crypto_auth_BYTES * 2 + 1, mac,
		    sizeof(mac));
	}
	buf_free(&msg);
	return rc;
}

/* "<ms> <mac> <addr>" into h, for the request a standby forwards. */
static int
client_header(const struct request *req, struct buf *h)
{
	uint8_t		 key[crypto_auth_KEYBYTES];
	char		 hex[crypto_auth_BYTES * 2 + 1];
	long long	 ms = wall_ms();
	int		 rc;

	if ((rc = echo_key(0, key)) != CF_OK)
		return rc;
	rc = client_mac(key, req->remote_addr, ms, req, hex);
	sodium_memzero(key, sizeof(key));
	if (rc == CF_OK)
		rc = buf_printf(h, "%s: %lld %s %s", HA_CLIENT_HEADER, ms, hex,
		    req->remote_addr);
	return rc;
}

void
ha_forwarded_client(struct request *req, const char *value)
{
	uint8_t		 key[crypto_auth_KEYBYTES];
	char		 want[crypto_auth_BYTES * 2 + 1];
	const char	*p, *addr;
	char		*end;
	long long	 ms;
	size_t		 n = sizeof(want) - 1;

	errno = 0;
	ms = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != ' ' ||
	    llabs(wall_ms() - ms) > HA_ECHO_SKEW_MS)
		goto bad;
	p = end + 1;
	if (strlen(p) <= n || p[n] != ' ')
		goto bad;
	addr = p + n + 1;
	if (*addr == '\0' || strlen(addr) >= sizeof(req->remote_buf) ||
	    echo_key(1, key) != CF_OK)
		goto bad;
	if (client_mac(key, addr, ms, req, want) != CF_OK ||
	    sodium_memcmp(want, p, n) != 0) {
		sodium_memzero(key, sizeof(key));
		goto bad;
	}
	sodium_memzero(key, sizeof(key));
	strlcpy(req->remote_buf, addr, sizeof(req->remote_buf));
	req->remote_addr = req->remote_buf;
	return;
 bad:
	log_debug("ha: request %s: %s from %s not verified; the client "
	    "address stays the peer's", req->id, HA_CLIENT_HEADER,
	    req->remote_addr != NULL ? req->remote_addr : "?");
}

/*
 * Send req to the active node at api and fill resp with its answer.
 * CF_EUPSTREAM when it could not be reached (the caller redirects);
 * *refused is then 1 if the connection was refused, or HA_MISDIRECTED
 * if that node answered it is not active: either way nothing was done
 * with the request, and it may be sent again.
 */
static int
forward(const char *api, struct request *req, struct response *resp,
    int *refused)
{
	struct curl_slist	*hl = NULL, *nl;
	struct buf		 url = BUF_INIT, h = BUF_INIT;
	CURL			*c = NULL;
	CURLcode		 cc;
	const char		*name, *value, *xff = NULL;
	long			 status = 0;
	int			 rc, i;

	if ((rc = target_url(api, req, &url)) != CF_OK)
		goto out;
	if ((c = curl_easy_init()) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
#define HDR(...) do {							\
	buf_reset(&h);							\
	if ((rc = buf_printf(&h, __VA_ARGS__)) != CF_OK)		\
		goto out;						\
	if ((nl = curl_slist_append(hl, h.data)) == NULL) {		\
		rc = CF_ENOMEM;						\
		goto out;						\
	}								\
	hl = nl;							\
} while (0)
	HDR("%s: 1", REQ_FORWARDED_HEADER);
	HDR("Expect:");			/* no 100-continue round trip */
	if (req->token != NULL)
		HDR("X-Vault-Token: %s", req->token);
	if (req->content_type == NULL)
		HDR("Content-Type:");	/* not curl's form default */
	for (i = 0; i < req->nheaders; i++) {
		name = req->headers[i].name;
		value = req->headers[i].value;
		if (strcasecmp(name, "X-Forwarded-For") == 0)
			xff = value;
		else if (!hop_header(name, strlen(name)) &&
		    strcasecmp(name, "X-Vault-Token") != 0 &&
		    strcasecmp(name, REQ_FORWARDED_HEADER) != 0 &&
		    strcasecmp(name, HA_CLIENT_HEADER) != 0) {
			/* "Name;" is how curl sends an empty header. */
			if (*value == '\0')
				HDR("%s;", name);
			else
				HDR("%s: %s", name, value);
		}
	}
	HDR("X-Forwarded-For: %s%s%s", xff != NULL ? xff : "",
	    xff != NULL ? ", " : "",
	    req->remote_addr != NULL ? req->remote_addr : "");
	/* Without the echo key (sealed again) the standby is the client. */
	buf_reset(&h);
	if (req->remote_addr != NULL && client_header(req, &h) == CF_OK) {
		if ((nl = curl_slist_append(hl, h.data)) == NULL) {
			rc = CF_ENOMEM;
			goto out;
		}
		hl = nl;
	}
#undef HDR
	if (transfer_setup(c, url.data, HA_TIMEOUT_MS) != CF_OK ||
	    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, resp) != CURLE_OK) {
		rc = CF_EINTERNAL;
		goto out;
	}
	if (req->op == REQ_HEAD)
		(void)curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (req->body.len > 0 &&
	    (curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)req->body.len) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body.data) !=
	    CURLE_OK)) {
		rc = CF_EINTERNAL;
		goto out;
	}
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		log_warnx("ha: request %s: forwarding to %s: %s", req->id, api,
		    curl_easy_strerror(cc));
		buf_reset(&resp->relay_headers);
		buf_reset(&resp->relay_body);
		*refused = cc == CURLE_COULDNT_CONNECT;
		rc = CF_EUPSTREAM;
		goto out;
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status == HA_MISDIRECTED) {
		/* That node is not active (see ha_forward): not an answer. */
		buf_reset(&resp->relay_headers);
		buf_reset(&resp->relay_body);
		*refused = HA_MISDIRECTED;
		rc = CF_EUPSTREAM;
		goto out;
	}
	resp->relay = 1;
	resp->status = (int)status;
	resp->wipe = 1;
	rc = CF_OK;
 out:
	curl_easy_cleanup(c);
	/* The token is in one of these copies. */
	for (nl = hl; nl != NULL; nl = nl->next)
		sodium_memzero(nl->data, strlen(nl->data));
	curl_slist_free_all(hl);
	buf_free(&h);
	buf_free(&url);
	return rc;
}

/*
 * The active node's addresses.  Between one active leaving and the
 * next taking over there is none for a few milliseconds: wait for one
 * up to HA_FIND_ACTIVE_MS, so that a request caught in a failover is
 * served rather than refused.  *self is 1 when this node became active
 * meanwhile (it serves the request itself).
 */
static int
find_active(char *api, size_t apilen, char *cluster, size_t clusterlen,
    long long deadline, int *self)
{
	int	 rc;

	while ((rc = ha_leader(api, apilen, cluster, clusterlen)) ==
	    CF_ENOTFOUND && now_ms() < deadline && atomic_load(&stop_at) == 0 &&
	    core_state() == CORE_UNSEALED && !core_is_active())
		(void)usleep(HA_FIND_ACTIVE_STEP_MS * 1000);
	*self = core_is_active();
	return rc;
}

static int
ha_forward(struct request *req, struct response *resp, int probe, int *done)
{
	char		 api[HA_ADDR_MAX], cluster[HA_ADDR_MAX];
	long long	 deadline;
	int		 rc, self = 0, refused;

	*done = 0;
	if (!enabled || is_local(req->path) ||
	    core_state() != CORE_UNSEALED || core_is_active())
		return CF_OK;
	*done = 1;
	if (probe)
		return CF_OK;
	deadline = now_ms() + HA_FIND_ACTIVE_MS;
	for (;;) {
		rc = req->forwarded ? CF_ENOTFOUND : find_active(api,
		    sizeof(api), cluster, sizeof(cluster), deadline, &self);
		if (self) {
			*done = 0;	/* active now: served here */
			return CF_OK;
		}
		if (rc == CF_ENOTFOUND) {
			/*
			 * Nobody active; or forwarded here by a standby that
			 * took this node for the active one: a request goes
			 * one hop only, and 421 tells that standby to look
			 * for the active node again (this one did nothing).
			 */
			resp->status = req->forwarded ? HA_MISDIRECTED : 500;
			resp->err_public = 1;
			return resp_fail(resp, CF_EINTERNAL, NO_ACTIVE);
		}
		if (rc != CF_OK)
			return rc;
		if (req->no_forward)
			return redirect(api, req, resp);
		refused = 0;
		if ((rc = forward(api, req, resp, &refused)) != CF_EUPSTREAM)
			return rc;
		/*
		 * Refused, or answered 421: the node named in the lock's
		 * record has died or stepped down and the next active may
		 * not have written its own record yet.  Nothing was done
		 * there, so ask again while the failover window lasts.
		 */
		if (!refused || now_ms() >= deadline ||
		    atomic_load(&stop_at) != 0) {
			if (refused != HA_MISDIRECTED)
				return redirect(api, req, resp);
			resp->status = 500;
			resp->err_public = 1;
			return resp_fail(resp, CF_EINTERNAL, NO_ACTIVE);
		}
		(void)usleep(HA_FIND_ACTIVE_STEP_MS * 1000);
	}
}

static void
echo_lock(void)
{
	if (pthread_mutex_lock(&echo_mu) != 0)
		abort();
}

static void
echo_unlock(void)
{
	if (pthread_mutex_unlock(&echo_mu) != 0)
		abort();
}

/* Core hook (become active, leave active): a new role, a new list. */
static int
nodes_forget(void)
{
	echo_lock();
	sodium_memzero(nodes, sizeof(nodes));
	nnodes = 0;
	echo_unlock();
	return CF_OK;
}

/* Drop the nodes not heard from for HA_ECHO_EXPIRE_MS.  Under echo_mu. */
static void
nodes_expire(long long now)
{
	size_t	 i = 0;

	while (i < nnodes) {
		if (now - nodes[i].seen_ms > HA_ECHO_EXPIRE_MS)
			nodes[i] = nodes[--nnodes];
		else
			i++;
	}
}

/* {"echo": text, "mac": hex HMAC of text}, text a JSON object. */
static int
echo_body(struct buf *out)
{
	uint8_t		 key[crypto_auth_KEYBYTES], mac[crypto_auth_BYTES];
	char		 hex[crypto_auth_BYTES * 2 + 1];
	struct buf	 msg = BUF_INIT;
	json_t		*m = NULL, *env = NULL;
	int		 rc;

	if ((rc = echo_key(0, key)) != CF_OK)
		return rc;
	if ((m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "node_id",
	    self_id, "hostname", self_host, "api_address", self_api,
	    "cluster_address", self_cluster, "version", CORE_VAULT_VERSION,
	    "time", (json_int_t)wall_ms())) ==
	    NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = jsonutil_emit(m, &msg)) != CF_OK)
		goto out;
	crypto_auth(mac, (const unsigned char *)msg.data, msg.len, key);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	if ((env = json_pack("{s:s%, s:s}", "echo", msg.data, msg.len, "mac",
	    hex)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	buf_reset(out);
	rc = jsonutil_emit(env, out);
 out:
	sodium_memzero(key, sizeof(key));
	json_decref(env);
	json_decref(m);
	buf_free(&msg);
	return rc;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* One echo to the active node, if this node is a standby. */
static void
echo_send(void)
{
	char		 api[HA_ADDR_MAX], cluster[HA_ADDR_MAX];
	char		 path[] = "sys/ha-echo";
	struct request	 req;
	struct curl_slist *hl = NULL;
	struct buf	 url = BUF_INIT, body = BUF_INIT;
	CURL		*c = NULL;
	CURLcode	 cc;
	long		 status = 0;

	if (core_state() != CORE_UNSEALED || core_is_active() ||
	    ha_leader(api, sizeof(api), cluster, sizeof(cluster)) != CF_OK ||
	    strcmp(api, self_api) == 0)
		return;
	memset(&req, 0, sizeof(req));
	req.path = path;
	if (target_url(api, &req, &url) != CF_OK ||
	    echo_body(&body) != CF_OK ||
	    (hl = curl_slist_append(NULL, "Content-Type: application/json"))
	    == NULL || (c = curl_easy_init()) == NULL)
		goto out;
	if (transfer_setup(c, url.data, (long)HA_ECHO_MS) != CF_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)body.len) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK)
		goto out;
	if ((cc = curl_easy_perform(c)) != CURLE_OK)
		log_debug("ha: echo to %s: %s", api, curl_easy_strerror(cc));
	else if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) ==
	    CURLE_OK && status != 204)
		log_warnx("ha: echo to %s: status %ld", api, status);
 out:
	curl_easy_cleanup(c);
	curl_slist_free_all(hl);
	buf_free(&body);
	buf_free(&url);
}

static void *
echo_run(void *arg)
{
	int	 done;

	(void)arg;
	for (;;) {
		echo_send();
		mu_lock();
		if (!stop)
			cv_wait_ms(HA_ECHO_MS);
		done = stop;
		mu_unlock();
		if (done)
			break;
	}
	return NULL;
}

static int
echo_str(json_t *m, const char *k, char *out, size_t len)
{
	const char	*v = json_string_value(json_object_get(m, k));

	if (v == NULL || strlen(v) >= len)
		return CF_EINVAL;
	strlcpy(out, v, len);
	return CF_OK;
}

/* POST sys/ha-echo: a standby announces itself to the active node. */
static int
ha_echo(struct request *req, struct response *resp)
{
	uint8_t		 key[crypto_auth_KEYBYTES], mac[crypto_auth_BYTES];
	struct ha_node	 n;
	struct timespec	 ts;
	json_t		*m = NULL;
	json_error_t	 e;
	const char	*text, *hex;
	size_t		 maclen, i;
	long long	 now;
	int		 rc;

	if (req->op != REQ_UPDATE && req->op != REQ_CREATE) {
		resp->err_empty = 1;
		return CF_EMETHOD;
	}
	text = json_string_value(json_object_get(req->data, "echo"));
	hex = json_string_value(json_object_get(req->data, "mac"));
	if (text == NULL || hex == NULL)
		return resp_fail(resp, CF_EINVAL, "missing echo or mac");
	if ((rc = echo_key(1, key)) == CF_ESEALED)
		return resp_fail(resp, CF_ESEALED, "Vault is sealed");
	if (rc == CF_ESTANDBY)
		return resp_fail(resp, CF_EUNAVAIL, "node is not active");
	if (rc != CF_OK)
		return rc;
	rc = sodium_hex2bin(mac, sizeof(mac), hex, strlen(hex), NULL, &maclen,
	    NULL) != 0 || maclen != sizeof(mac) ||
	    crypto_auth_verify(mac, (const unsigned char *)text, strlen(text),
	    key) != 0 ? CF_EDENIED : CF_OK;
	sodium_memzero(key, sizeof(key));
	if (rc != CF_OK)
		return resp_fail(resp, rc, "permission denied");
	memset(&n, 0, sizeof(n));
	if ((m = json_loads(text, 0, &e)) == NULL ||
	    echo_str(m, "node_id", n.id, sizeof(n.id)) != CF_OK ||
	    echo_str(m, "hostname", n.host, sizeof(n.host)) != CF_OK ||
	    echo_str(m, "api_address", n.api, sizeof(n.api)) != CF_OK ||
	    echo_str(m, "cluster_address", n.cluster, sizeof(n.cluster)) !=
	    CF_OK ||
	    echo_str(m, "version", n.version, sizeof(n.version)) != CF_OK ||
	    !json_is_integer(json_object_get(m, "time"))) {
		json_decref(m);
		return resp_fail(resp, CF_EINVAL, "malformed echo");
	}
	n.sent_ms = json_integer_value(json_object_get(m, "time"));
	json_decref(m);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (n.sent_ms < now - HA_ECHO_SKEW_MS ||
	    n.sent_ms > now + HA_ECHO_SKEW_MS)
		return resp_fail(resp, CF_EINVAL, "echo clock is %lld ms off",
		    n.sent_ms - now);
	if (strcmp(n.id, self_id) == 0) {
		resp->status = 204;
		return CF_OK;
	}
	time_format_rfc3339(n.last_echo, sizeof(n.last_echo),
	    (long long)ts.tv_sec, ts.tv_nsec);
	n.seen_ms = now_ms();
	rc = CF_OK;
	echo_lock();
	nodes_expire(n.seen_ms);
	for (i = 0; i < nnodes; i++)
		if (strcmp(nodes[i].id, n.id) == 0)
			break;
	if (i < nnodes && n.sent_ms <= nodes[i].sent_ms)
		rc = CF_EINVAL;			/* a replay */
	else if (i == nnodes && nnodes == HA_NODES_MAX)
		rc = CF_EUNAVAIL;
	else {
		nodes[i] = n;
		if (i == nnodes)
			nnodes++;
	}
	echo_unlock();
	if (rc == CF_EINVAL)
		return resp_fail(resp, rc, "echo is not newer than the last");
	if (rc != CF_OK)
		return resp_fail(resp, rc, "too many standby nodes");
	resp->status = 204;
	return CF_OK;
}

static json_t *
node_json(const char *host, const char *api, const char *cluster,
    int active, const char *echo, const char *version)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:s}", "hostname", host,
	    "api_address", api, "cluster_address", cluster, "active_node",
	    active, "last_echo", echo != NULL ? json_string(echo) :
	    json_null(), "version", version);
}

static int
node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ha_node *)a)->api,
	    ((const struct ha_node *)b)->api);
}

int
ha_status(json_t **out)
{
	struct ha_node	*list;
	json_t		*arr, *o;
	size_t		 i, n = 0;
	int		 rc = CF_OK;

	*out = NULL;
	if ((list = calloc(HA_NODES_MAX + 1, sizeof(*list))) == NULL ||
	    (arr = json_array()) == NULL) {
		free(list);
		return CF_ENOMEM;
	}
	strlcpy(list[0].host, self_host, sizeof(list[0].host));
	strlcpy(list[0].api, self_api, sizeof(list[0].api));
	strlcpy(list[0].cluster, self_cluster, sizeof(list[0].cluster));
	n = 1;
	if (enabled && core_is_active()) {
		echo_lock();
		nodes_expire(now_ms());
		memcpy(&list[1], nodes, nnodes * sizeof(*nodes));
		n += nnodes;
		echo_unlock();
	}
	qsort(list, n, sizeof(*list), node_cmp);
	for (i = 0; i < n && rc == CF_OK; i++) {
		/* The answering node is the one without a last echo. */
		if ((o = list[i].seen_ms == 0 ? node_json(list[i].host,
		    list[i].api, list[i].cluster, 1, NULL,
		    CORE_VAULT_VERSION) : node_json(list[i].host,
		    list[i].api, list[i].cluster, 0, list[i].last_echo,
		    list[i].version)) == NULL ||
		    json_array_append_new(arr, o) != 0)
			rc = CF_ENOMEM;
	}
	free(list);
	if (rc != CF_OK) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return CF_OK;
}
