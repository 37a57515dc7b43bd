/*
 * ha_echo.c -- the standbys' echo to the active node, and sys/ha-status.
 *
 * A standby's echo thread posts to the active node's
 * sys/ha-echo every HA_ECHO_MS: its id, host name, addresses, version
 * and clock, as a JSON text with an HMAC (crypto_auth) under a key both
 * nodes derive from the keyring (ha_node_key): no token
 * travels, and only a node that unsealed this store can announce
 * itself.  The active node keeps the nodes it heard from in memory
 * (nodes[], under echo_mu, a leaf), forgets them after
 * HA_ECHO_EXPIRE_MS without an echo and when its role changes, and
 * lists them in sys/ha-status.  An echo whose clock is more than
 * HA_SKEW_MS away, or not newer than the last one of that node, is
 * refused, so a recorded echo cannot be replayed for long.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "ha_echo.h"
#include "ha_node.h"
#include "jsonutil.h"
#include "lock.h"
#include "log.h"
#include "req.h"
#include "timeutil.h"

#define HA_ECHO_MS		5000	/* Vault's heartbeat interval */
#define HA_ECHO_EXPIRE_MS	(3 * HA_ECHO_MS)
#define HA_NODES_MAX		64

/* The echo thread's stop flag, under run_mu; run_cv wakes it. */
static pthread_mutex_t	 run_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 run_cv;		/* CLOCK_MONOTONIC */
static int		 run_stop;
static pthread_t	 echo_thread;
static int		 echo_running;

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

static void
echo_lock(void)
{
	lock_mutex(&echo_mu, LOCK_LEAF);
}

static void
echo_unlock(void)
{
	unlock_mutex(&echo_mu);
}

/* Core hook (become active, leave active): a new role, a new list. */
int
ha_echo_forget(void)
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

	if ((rc = ha_node_key(0, key)) != CF_OK)
		return rc;
	if ((m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "node_id",
	    ha_self()->id, "hostname", ha_self()->host, "api_address", ha_self()->api,
	    "cluster_address", ha_self()->cluster, "version", CORE_VAULT_VERSION,
	    "time", (json_int_t)time_wall_ms())) ==
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
	    strcmp(api, ha_self()->api) == 0)
		return;
	memset(&req, 0, sizeof(req));
	req.path = path;
	if (ha_target_url(api, &req, &url) != CF_OK ||
	    echo_body(&body) != CF_OK ||
	    (hl = curl_slist_append(NULL, "Content-Type: application/json"))
	    == NULL || (c = curl_easy_init()) == NULL)
		goto out;
	if (ha_transfer_setup(c, url.data, (long)HA_ECHO_MS) != CF_OK ||
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
	struct timespec	 ts;
	int		 done;

	(void)arg;
	for (;;) {
		echo_send();
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += HA_ECHO_MS / 1000;
		lock_mutex(&run_mu, LOCK_LEAF);
		while (!run_stop && cond_timedwait(&run_cv, &run_mu, &ts) !=
		    ETIMEDOUT)
			continue;
		done = run_stop;
		unlock_mutex(&run_mu);
		if (done)
			break;
	}
	return NULL;
}

int
ha_echo_start(void)
{
	pthread_condattr_t	 ca;

	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&run_cv, &ca) != 0)
		return CF_EINTERNAL;
	pthread_condattr_destroy(&ca);
	if (pthread_create(&echo_thread, NULL, echo_run, NULL) != 0) {
		log_warn("ha: cannot start the echo thread");
		return CF_EINTERNAL;
	}
	pthread_setname_np(echo_thread, "coffer-echo");
	echo_running = 1;
	return CF_OK;
}

void
ha_echo_stop(void)
{
	if (!echo_running)
		return;
	lock_mutex(&run_mu, LOCK_LEAF);
	run_stop = 1;
	if (pthread_cond_broadcast(&run_cv) != 0)
		abort();
	unlock_mutex(&run_mu);
	pthread_join(echo_thread, NULL);
	echo_running = 0;
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
int
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
	if ((rc = ha_node_key(1, key)) == CF_ESEALED)
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
	if (n.sent_ms < now - HA_SKEW_MS ||
	    n.sent_ms > now + HA_SKEW_MS)
		return resp_fail(resp, CF_EINVAL, "echo clock is %lld ms off",
		    n.sent_ms - now);
	if (strcmp(n.id, ha_self()->id) == 0) {
		resp->status = 204;
		return CF_OK;
	}
	time_format_rfc3339(n.last_echo, sizeof(n.last_echo),
	    (long long)ts.tv_sec, ts.tv_nsec);
	n.seen_ms = time_mono_ms();
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
	strlcpy(list[0].host, ha_self()->host, sizeof(list[0].host));
	strlcpy(list[0].api, ha_self()->api, sizeof(list[0].api));
	strlcpy(list[0].cluster, ha_self()->cluster, sizeof(list[0].cluster));
	n = 1;
	if (core_is_active()) {	/* nodes stays empty without HA */
		echo_lock();
		nodes_expire(time_mono_ms());
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
