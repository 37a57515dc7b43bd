/*
 * ha_node.c -- this node and the others, as the HA modules share them:
 * this node's identity, the active node's address (from the storage
 * lock's holder record), the key nodes MAC their messages to each
 * other with, and the HTTP transfers between nodes.
 *
 * The key is derived from the keyring (barrier_derive, HA_NODE_CTX), so
 * only a node that unsealed this store can make or check a MAC.
 * Transfers share one libcurl share handle, so a standby keeps its
 * connections to the active node; its mutexes are leaves.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "barrier.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "ha_node.h"
#include "lock.h"
#include "req.h"
#include "storage.h"
#include "timeutil.h"
#include "uuid4.h"

#define HA_NODE_CTX		"cofecho1"	/* crypto_kdf context */
#define HA_NODE_KEY_ID		1
#define HA_CONNECT_MS		2000L
#define HA_STOP_GRACE_MS	1000	/* forwards in flight at shutdown */

static int		 enabled;
static struct storage	*store;
static struct ha_self	 self = { .api = "", .cluster = "" };
static _Atomic long long stop_at;		/* ms, monotonic; 0: running */
static CURLSH		*share;
static pthread_mutex_t	 share_mu[CURL_LOCK_DATA_LAST];

void
ha_node_init(int ha_enabled, const char *api_addr, const char *cluster_addr)
{
	enabled = ha_enabled;
	self.api = api_addr != NULL ? api_addr : "";
	self.cluster = cluster_addr != NULL ? cluster_addr : "";
	if (gethostname(self.host, sizeof(self.host)) != 0)
		self.host[0] = '\0';
	self.host[sizeof(self.host) - 1] = '\0';
	uuid4_random(self.id);
}

void
ha_node_store(struct storage *st)
{
	store = st;
}

void
ha_node_stopping(void)
{
	atomic_store(&stop_at, time_mono_ms());
}

const struct ha_self *
ha_self(void)
{
	return &self;
}

long long
ha_stop_at(void)
{
	return atomic_load(&stop_at);
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
		strlcpy(api, self.api, apilen);
		strlcpy(cluster, self.cluster, clusterlen);
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
ha_node_key(int want_active, uint8_t key[crypto_auth_KEYBYTES])
{
	int	 rc;

	core_rdlock();
	if (core_state() != CORE_UNSEALED)
		rc = CF_ESEALED;
	else if (core_is_active() != want_active)
		rc = CF_ESTANDBY;
	else
		rc = barrier_derive(core_barrier(), HA_NODE_KEY_ID, HA_NODE_CTX,
		    key, crypto_auth_KEYBYTES);
	core_unlock();
	return rc;
}

static void
share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *arg)
{
	(void)h;
	(void)a;
	(void)arg;
	/* curl nests them: the share, its connection cache, then DNS. */
	lock_mutex(&share_mu[d], d == CURL_LOCK_DATA_SHARE ? LOCK_LEAF :
	    d == CURL_LOCK_DATA_CONNECT ? LOCK_LEAF_INNER : LOCK_LEAF_INNER2);
}

static void
share_unlock(CURL *h, curl_lock_data d, void *arg)
{
	(void)h;
	(void)arg;
	unlock_mutex(&share_mu[d]);
}

int
ha_node_start(void)
{
	size_t	 i;

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
	return CF_OK;
}

/* base (no trailing '/') + "/v1/" + path escaped + "?" + query. */
int
ha_target_url(const char *base, const struct request *req, struct buf *out)
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

/*
 * libcurl calls this at least once a second.  When stopping, transfers
 * get HA_STOP_GRACE_MS to finish, then are aborted, so stopping never
 * waits out a paused active node's timeouts.
 */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	long long	 at = ha_stop_at();

	(void)arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return at != 0 && time_mono_ms() - at > HA_STOP_GRACE_MS;
}

/* Options every transfer to the active node shares. */
int
ha_transfer_setup(CURL *c, const char *url, long timeout_ms)
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
