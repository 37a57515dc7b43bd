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
 * body, token, Content-Type and namespace, plus X-Forwarded-For and the
 * loop guard REQ_FORWARDED_HEADER; the answer comes back with its
 * status, headers (less hop-by-hop ones) and body.  Other request
 * headers are not kept (struct request does not carry them).
 * The header copies made for libcurl are wiped; the request text that
 * libcurl builds from them is not (XXX issue 9: wiping allocators for
 * libcurl).
 *
 * Deliberately not here: sys/ha-status and the standbys' echo.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "ha.h"
#include "log.h"
#include "req.h"
#include "router.h"
#include "storage.h"

#define HA_WAIT_MS		200	/* one slice of waiting for the lock */
#define HA_CHECK_MS		250	/* how often the active checks the lock */
#define HA_LOST_PAUSE_MS	1000	/* back-off after losing the lock */
#define HA_FAIL_PAUSE_MS	5000	/* back-off after a failed takeover */
#define HA_CONNECT_MS		2000L
#define HA_TIMEOUT_MS		90000L	/* Vault cancels requests after 90 s */
#define HA_RELAY_MAX		(64LL * 1024 * 1024)

#define NO_ACTIVE	"local node not active but active cluster node not found"

enum leave_why {
	LEAVE_STOP,
	LEAVE_STEPDOWN,
	LEAVE_SEALED,
	LEAVE_LOST
};

static int		 enabled;
static struct storage	*store;
static const char	*self_api = "", *self_cluster = "";
static pthread_t	 thread;
static int		 running;
static pthread_mutex_t	 ha_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 ha_cv;			/* CLOCK_MONOTONIC */
static int		 stop, stepdown;	/* under ha_mu */
static long long	 not_before;		/* ms, monotonic; ha_mu */
static CURLSH		*share;
static pthread_mutex_t	 share_mu[CURL_LOCK_DATA_LAST];

/* Paths a standby answers itself (Vault's list). */
static const char *const local_paths[] = {
	"sys/init", "sys/seal-status", "sys/seal", "sys/unseal",
	"sys/leader", "sys/health"
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

	uuid_generate(id);
	clock_gettime(CLOCK_REALTIME, &ts);
	time_format_rfc3339(since, sizeof(since), (long long)ts.tv_sec,
	    ts.tv_nsec);
	if ((j = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "api_addr",
	    self_api, "cluster_addr", self_cluster, "since", since)) == NULL)
		return CF_ENOMEM;
	buf_reset(out);
	rc = json_emit(j, out);
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

void
ha_register(int ha_enabled)
{
	enabled = ha_enabled;
	if (!enabled)
		return;
	router_forward(ha_forward);
	core_on_unseal(wake);
	core_on_seal(wake);
}

int
ha_start(struct storage *st, const char *api_addr, const char *cluster_addr)
{
	pthread_condattr_t	 ca;
	size_t			 i;

	if (!enabled)
		return CF_OK;
	store = st;
	self_api = api_addr != NULL ? api_addr : "";
	self_cluster = cluster_addr != NULL ? cluster_addr : "";
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
	return CF_OK;
}

void
ha_stop(void)
{
	if (!running)
		return;
	mu_lock();
	stop = 1;
	if (pthread_cond_broadcast(&ha_cv) != 0)
		abort();
	mu_unlock();
	pthread_join(thread, NULL);
	running = 0;
	/* Forwards still in flight end before the share goes. */
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

/* Keep end-to-end headers; drop those of this hop (we set our own). */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	static const char *const hop[] = { "connection", "keep-alive",
	    "transfer-encoding", "content-length", "date", "server",
	    "proxy-connection", "upgrade", "trailer", "te" };
	struct response	*resp = arg;
	size_t		 len = size * n, i, nlen;
	const char	*colon;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		buf_reset(&resp->relay_headers);	/* after a 100 */
		return len;
	}
	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n'))
		len--;
	if (len == 0 || (colon = memchr(p, ':', len)) == NULL)
		return size * n;
	nlen = (size_t)(colon - p);
	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strlen(hop[i]) == nlen && strncasecmp(p, hop[i], nlen) == 0)
			return size * n;
	if (buf_append(&resp->relay_headers, p, len) != CF_OK ||
	    buf_puts(&resp->relay_headers, "\n") != CF_OK)
		return 0;
	return size * n;
}

/*
 * Send req to the active node at api and fill resp with its answer.
 * CF_EUPSTREAM when it could not be reached (the caller redirects).
 */
static int
forward(const char *api, struct request *req, struct response *resp)
{
	struct curl_slist	*hl = NULL, *nl;
	struct buf		 url = BUF_INIT, h = BUF_INIT;
	CURL			*c = NULL;
	CURLcode		 cc;
	long			 status = 0;
	int			 rc;

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
	HDR("X-Forwarded-For: %s", req->remote_addr != NULL ?
	    req->remote_addr : "");
	HDR("Expect:");			/* no 100-continue round trip */
	if (req->token != NULL)
		HDR("X-Vault-Token: %s", req->token);
	if (req->content_type != NULL)
		HDR("Content-Type: %s", req->content_type);
	else
		HDR("Content-Type:");	/* not curl's form default */
	if (req->ns != NULL)
		HDR("X-Vault-Namespace: %s", req->ns);
#undef HDR
	if (curl_easy_setopt(c, CURLOPT_URL, url.data) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SHARE, share) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, HA_CONNECT_MS) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, HA_TIMEOUT_MS) !=
	    CURLE_OK ||
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
		rc = CF_EUPSTREAM;
		goto out;
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
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

static int
ha_forward(struct request *req, struct response *resp, int probe, int *done)
{
	char	 api[HA_ADDR_MAX], cluster[HA_ADDR_MAX];
	int	 rc;

	*done = 0;
	if (!enabled || is_local(req->path) ||
	    core_state() != CORE_UNSEALED || core_is_active())
		return CF_OK;
	*done = 1;
	if (probe)
		return CF_OK;
	if (req->forwarded ||
	    (rc = ha_leader(api, sizeof(api), cluster, sizeof(cluster))) ==
	    CF_ENOTFOUND) {
		/* Came from a standby, or nobody active: one hop only. */
		resp->status = 500;
		resp->err_public = 1;
		return resp_fail(resp, CF_EINTERNAL, NO_ACTIVE);
	}
	if (rc != CF_OK)
		return rc;
	if (req->no_forward)
		return redirect(api, req, resp);
	if ((rc = forward(api, req, resp)) == CF_EUPSTREAM)
		return redirect(api, req, resp);
	return rc;
}
