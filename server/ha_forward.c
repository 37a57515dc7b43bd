/*
 * ha_forward.c -- a standby's forwarding of requests to the active node.
 *
 * libcurl with one share handle for the connection
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
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "ha_node.h"
#include "ha_forward.h"
#include "log.h"
#include "req.h"
#include "router.h"
#include "timeutil.h"

#define HA_TIMEOUT_MS		90000L	/* Vault cancels requests after 90 s */
#define HA_RELAY_MAX		(64LL * 1024 * 1024)
#define HA_FIND_ACTIVE_MS	2000	/* a failover takes milliseconds */
#define HA_FIND_ACTIVE_STEP_MS	10
#define HA_MISDIRECTED		421	/* forwarded to a node not active */

#define NO_ACTIVE	"local node not active but active cluster node not found"

/* Paths a standby answers itself (Vault's list, and the echo). */
static const char *const local_paths[] = {
	"sys/init", "sys/seal-status", "sys/seal", "sys/unseal",
	"sys/leader", "sys/health", "sys/ha-echo"
};

static int
is_local(const char *path)
{
	size_t	 i;

	for (i = 0; i < sizeof(local_paths) / sizeof(local_paths[0]); i++)
		if (strcmp(path, local_paths[i]) == 0)
			return 1;
	return 0;
}

/* 307 to the active node, no body (Vault's answer without forwarding). */
static int
redirect(const char *api, struct request *req, struct response *resp)
{
	struct buf	 url = BUF_INIT;
	int		 rc;

	if ((rc = ha_target_url(api, req, &url)) == CF_OK &&
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
	long long	 ms = time_wall_ms();
	int		 rc;

	if ((rc = ha_node_key(0, key)) != CF_OK)
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
	    llabs(time_wall_ms() - ms) > HA_SKEW_MS)
		goto bad;
	p = end + 1;
	if (strlen(p) <= n || p[n] != ' ')
		goto bad;
	addr = p + n + 1;
	if (*addr == '\0' || strlen(addr) >= sizeof(req->remote_buf) ||
	    ha_node_key(1, key) != CF_OK)
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

	if ((rc = ha_target_url(api, req, &url)) != CF_OK)
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
	if (ha_transfer_setup(c, url.data, HA_TIMEOUT_MS) != CF_OK ||
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
	    CF_ENOTFOUND && time_mono_ms() < deadline && ha_stop_at() == 0 &&
	    core_state() == CORE_UNSEALED && !core_is_active())
		(void)usleep(HA_FIND_ACTIVE_STEP_MS * 1000);
	*self = core_is_active();
	return rc;
}

int
ha_forward(struct request *req, struct response *resp, int probe, int *done)
{
	char		 api[HA_ADDR_MAX], cluster[HA_ADDR_MAX];
	long long	 deadline;
	int		 rc, self = 0, refused;

	*done = 0;
	if (is_local(req->path) ||
	    core_state() != CORE_UNSEALED || core_is_active())
		return CF_OK;
	*done = 1;
	if (probe)
		return CF_OK;
	deadline = time_mono_ms() + HA_FIND_ACTIVE_MS;
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
		if (!refused || time_mono_ms() >= deadline ||
		    ha_stop_at() != 0) {
			if (refused != HA_MISDIRECTED)
				return redirect(api, req, resp);
			resp->status = 500;
			resp->err_public = 1;
			return resp_fail(resp, CF_EINTERNAL, NO_ACTIVE);
		}
		(void)usleep(HA_FIND_ACTIVE_STEP_MS * 1000);
	}
}
