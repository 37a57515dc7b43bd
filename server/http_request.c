/*
 * http_request.c -- one request's path: from civetweb's request to the
 * answer.
 *
 * http_request_serve() builds a struct request (its id, the client
 * address as the listener's X-Forwarded-For keys decide it, the token,
 * the path, the body through http_body.c, the parameters), lets
 * router_handle() fill a struct response, and writes that through
 * http_reply.c, which owns the headers and envelopes Vault clients
 * check.  The listeners, civetweb's setup and the count of kept-alive
 * connections are http.c's.
 *
 * Secrets: the token header is copied and then overwritten inside
 * civetweb's request buffer; bodies live in a struct buf that is wiped
 * when freed; response text is wiped after it is written.
 *
 * Threads: civetweb's workers serve requests concurrently; nothing here
 * is shared but the listener's configuration, fixed before the workers
 * start, and each thread's pool of request-id bytes is its own.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <civetweb.h>
#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "cidr.h"
#include "err.h"
#include "http_body.h"
#include "http_reply.h"
#include "http_request.h"
#include "jsonmem.h"
#include "log.h"
#include "ha.h"
#include "ha_forward.h"
#include "metrics.h"
#include "req.h"
#include "reqparse.h"
#include "router.h"
#include "uuid4.h"

/* The seal family's bodies hold a key or a PGP key at most. */
#define HTTP_RAW_BODY_MAX	(1LL << 20)

/*
 * The client address, once per request, as Vault's listener decides
 * it: the TCP peer, unless the listener trusts the peer for
 * X-Forwarded-For.  Then every header line, split on commas and
 * trimmed, is one chain; the entry x_forwarded_for_hop_skips from its
 * end replaces the host, and the peer's port is kept.  The entry is
 * not checked to be an IP: a name there fails every CIDR check later.
 * CF_EINVAL with a 400 in resp where the listener says to reject.
 */
static int
client_address(const struct http_listener *l,
    const struct mg_request_info *ri, struct request *req,
    struct response *resp)
{
	const char			*v, *p, *q, *pick = NULL;
	unsigned char			 a[16];
	size_t				 i, k, lines = 0, count = 0, plen = 0;
	long long			 idx;
	int				 found = 0;

	req->remote_addr = ri->remote_addr;
	req->remote_port = ri->remote_port;
	if (l->nxff_addrs == 0)
		return CF_OK;
	for (i = 0; i < (size_t)ri->num_headers; i++)
		if (strcasecmp(ri->http_headers[i].name,
		    "X-Forwarded-For") == 0)
			lines++;
	if (lines == 0) {
		if (!l->xff_reject_not_present)
			return CF_OK;
		resp->status = 400;
		return resp_fail(resp, CF_EINVAL, "missing x-forwarded-for "
		    "header and configured to reject when not present");
	}
	if (cidr_ip(ri->remote_addr, a) == 0) {
		if (!l->xff_reject_not_present)
			return CF_OK;
		resp->status = 400;
		return resp_fail(resp, CF_EINVAL, "error parsing client "
		    "address: %s", ri->remote_addr);
	}
	for (k = 0; k < l->nxff_addrs && !found; k++)
		found = cidr_contains(&l->xff_addrs[k], ri->remote_addr);
	if (!found) {
		if (!l->xff_reject_not_authorized)
			return CF_OK;
		resp->status = 400;
		return resp_fail(resp, CF_EINVAL, "client address not "
		    "authorized for x-forwarded-for and configured to reject "
		    "connection");
	}
	for (i = 0; i < (size_t)ri->num_headers; i++)
		if (strcasecmp(ri->http_headers[i].name,
		    "X-Forwarded-For") == 0)
			for (v = ri->http_headers[i].value; v != NULL;
			    v = strchr(v, ',') != NULL ? strchr(v, ',') + 1 :
			    NULL)
				count++;
	idx = (long long)count - 1 - l->xff_hop_skips;
	if (idx < 0) {
		resp->status = 400;
		return resp_fail(resp, CF_EINVAL, "malformed x-forwarded-for "
		    "configuration or request, hops to skip (%d) would skip "
		    "before earliest chain link (chain length %zu)",
		    l->xff_hop_skips, lines);
	}
	count = 0;
	for (i = 0; i < (size_t)ri->num_headers && pick == NULL; i++) {
		if (strcasecmp(ri->http_headers[i].name,
		    "X-Forwarded-For") != 0)
			continue;
		for (v = ri->http_headers[i].value; v != NULL; v = q) {
			p = strchr(v, ',');
			q = p != NULL ? p + 1 : NULL;
			if ((long long)count++ != idx)
				continue;
			plen = p != NULL ? (size_t)(p - v) : strlen(v);
			while (plen > 0 && (*v == ' ' || *v == '\t')) {
				v++;
				plen--;
			}
			while (plen > 0 && (v[plen - 1] == ' ' ||
			    v[plen - 1] == '\t'))
				plen--;
			pick = v;
			break;
		}
	}
	if (pick == NULL)
		return CF_OK;
	if (plen >= sizeof(req->remote_buf))
		plen = sizeof(req->remote_buf) - 1;
	memcpy(req->remote_buf, pick, plen);
	req->remote_buf[plen] = '\0';
	req->remote_addr = req->remote_buf;
	return CF_OK;
}

/*
 * Take the token from X-Vault-Token, else "Authorization: Bearer".  The
 * header value inside civetweb's buffer is overwritten after the copy:
 * that buffer is reused without wiping (our one const cast).
 */
static int
take_token(struct mg_connection *conn, struct request *req)
{
	const char	*v;
	size_t		 len;

	v = mg_get_header(conn, "X-Vault-Token");
	if (v == NULL || *v == '\0') {
		v = mg_get_header(conn, "Authorization");
		if (v != NULL && strncasecmp(v, "Bearer ", 7) == 0) {
			sodium_memzero((char *)(uintptr_t)v, 7);
			v += 7;
		} else
			v = NULL;
	}
	if (v == NULL)
		return CF_OK;
	len = strlen(v);
	if (len > 0) {
		if ((req->token = malloc(len + 1)) == NULL)
			return CF_ENOMEM;
		memcpy(req->token, v, len + 1);
	}
	sodium_memzero((char *)(uintptr_t)v, len);
	return CF_OK;
}

int
http_request_op(const char *m, int *op)
{
	if (strcmp(m, "GET") == 0)
		*op = REQ_READ;
	else if (strcmp(m, "HEAD") == 0)
		*op = REQ_HEAD;
	else if (strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0)
		*op = REQ_UPDATE;
	else if (strcmp(m, "DELETE") == 0)
		*op = REQ_DELETE;
	else if (strcmp(m, "LIST") == 0)
		*op = REQ_LIST;
	else if (strcmp(m, "PATCH") == 0)
		*op = REQ_PATCH;
	else
		return CF_EMETHOD;
	return CF_OK;
}

static void
request_fini(struct request *req)
{
	if (req->token != NULL) {
		sodium_memzero(req->token, strlen(req->token));
		free(req->token);
	}
	free(req->path);
	json_decref(req->data);
	buf_free(&req->body);
}

/*
 * A request id: a random (version 4) UUID, as uuid4_random() makes,
 * but with its bytes taken from a per-thread pool refilled every 64
 * requests, so a request costs no getrandom() call.  Request ids are
 * not secrets; what was used is wiped all the same.
 */
#define REQ_ID_POOL	(16 * 64)

static void
request_id(char *out)
{
	static _Thread_local unsigned char	 pool[REQ_ID_POOL];
	static _Thread_local size_t		 used = REQ_ID_POOL;

	if (used == REQ_ID_POOL) {
		randombytes_buf(pool, sizeof(pool));
		used = 0;
	}
	uuid4_format(pool + used, out);
	sodium_memzero(pool + used, 16);
	used += 16;
}

static long long
elapsed_us(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000000LL +
	    (t1.tv_nsec - t0->tv_nsec) / 1000;
}

/*
 * How many bytes the raw URI took in civetweb's buffer: up to the '?'
 * of the query, else up to the space before "HTTP/".  civetweb decodes
 * the URI in place there, so reqparse_path can find a NUL an escape
 * hid.  Falls back to the decoded length when the layout is not that.
 */
static size_t
raw_uri_len(const struct mg_request_info *ri)
{
	const char	*u = ri->request_uri, *end = NULL;
	size_t		 len = strlen(u);

	if (ri->query_string != NULL && ri->query_string > u)
		end = ri->query_string - 1;
	else if (ri->http_version != NULL && ri->http_version > u + 6 &&
	    strncmp(ri->http_version - 5, "HTTP/", 5) == 0)
		end = ri->http_version - 6;
	if (end == NULL || end < u + len || end - u > HTTP_HEADER_BUF)
		return len;
	return (size_t)(end - u);
}int
http_request_serve(struct mg_connection *conn, const struct http_listener *l,
    void (*keep)(struct mg_connection *, const void *), const void *arg)
{
	const struct mg_request_info	*ri = mg_get_request_info(conn);
	struct request			 req;
	struct response			 resp;
	struct timespec			 t0;
	const char			*v;
	long long			 limit, held = 0;
	int				 rc, status, as_list = 0, raw = 0, i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	metrics_http_begin(conn);
	http_reply_start();
	jsonmem_reset();
	memset(&req, 0, sizeof(req));
	resp_init(&resp);
	buf_init(&req.body);
	request_id(req.id);
	req.method = ri->request_method;
	req.query = ri->query_string;
	req.content_type = mg_get_header(conn, "Content-Type");
	req.ns = mg_get_header(conn, "X-Vault-Namespace");
	req.no_forward = (v = mg_get_header(conn,
	    "X-Vault-No-Request-Forwarding")) != NULL && *v != '\0';
	req.forwarded = mg_get_header(conn, REQ_FORWARDED_HEADER) != NULL;
	for (i = 0; i < ri->num_headers && i < REQ_HEADERS_MAX; i++) {
		req.headers[i].name = ri->http_headers[i].name;
		req.headers[i].value = ri->http_headers[i].value;
	}
	req.nheaders = i;
	req.wrap_hdr = mg_get_header(conn, "X-Vault-Wrap-TTL");

	rc = client_address(l, ri, &req, &resp);
	if (rc != CF_OK)
		goto done;
	if ((rc = take_token(conn, &req)) != CF_OK)
		goto done;
	if ((rc = reqparse_path(&req, &resp, ri->request_uri,
	    raw_uri_len(ri))) != CF_OK)
		goto done;
	if (req.forwarded && (v = mg_get_header(conn, HA_CLIENT_HEADER)) !=
	    NULL)
		ha_forwarded_client(&req, v);
	if ((rc = http_request_op(req.method, &req.op)) != CF_OK) {
		resp.err_empty = 1;
		goto done;
	}
	if ((req.data = json_object()) == NULL) {
		rc = CF_ENOMEM;
		goto done;
	}
	limit = l->max_request_size;
	if (http_has_body(conn, ri)) {
		/* What cannot succeed is refused before its body is read. */
		if ((rc = router_precheck(&req, &resp, &raw)) != CF_OK)
			goto done;
		if (raw && limit > HTTP_RAW_BODY_MAX)
			limit = HTTP_RAW_BODY_MAX;
		if ((rc = http_read_body(conn, ri, &req, limit, &held,
		    &resp)) != CF_OK)
			goto done;
		http_wipe_body_remnant(ri, &req.body);
		if ((rc = reqparse_body(&req, &resp)) != CF_OK)
			goto done;
	} else
		req.body_empty = 1;
	if (req.op == REQ_READ || req.op == REQ_HEAD ||
	    req.op == REQ_DELETE || req.op == REQ_LIST) {
		if ((rc = reqparse_query(&req, &resp, &as_list)) != CF_OK)
			goto done;
		if (as_list && req.op == REQ_READ)
			req.op = REQ_LIST;
	}
	if (req.op == REQ_PATCH && (req.content_type == NULL ||
	    strncasecmp(req.content_type, "application/merge-patch+json",
	    28) != 0)) {
		resp.status = 415;
		rc = resp_fail(&resp, CF_EINVAL, "PATCH requires Content-Type "
		    "of application/merge-patch+json, provided %s",
		    req.content_type != NULL ? req.content_type : "");
		goto done;
	}
	rc = router_handle(&req, &resp);
 done:
	/* A JSON allocation failed: what was built may lack members. */
	if (jsonmem_failed() && rc != CF_ENOMEM) {
		resp_fini(&resp);
		resp_init(&resp);
		rc = CF_ENOMEM;
	}
	/* A body left unread is not drained: the connection closes. */
	if (rc != CF_OK && http_has_body(conn, ri) && req.body.len == 0 &&
	    (ri->content_length < 0 || ri->content_length > HTTP_DRAIN_MAX))
		http_close_after(conn);
	else
		keep(conn, arg);
	status = http_reply(conn, &req, rc, &resp);
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("request %s %s %s%s %d %lldus", req.id, req.method,
		    req.path != NULL ? "/v1/" : "-",
		    req.path != NULL ? req.path : "", status,
		    elapsed_us(&t0));
	metrics_http_end(status, &resp);
	request_fini(&req);
	resp_fini(&resp);
	http_body_give(held);
	return status;
}
