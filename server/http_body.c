/*
 * http_body.c -- reading a request's body, within one memory budget.
 *
 * Request bodies being read and parsed share one budget, so a burst of
 * large requests cannot take memory without bound: a request waits up
 * to HTTP_BUDGET_WAIT_MS for room, then gets a 503.  The fast path is
 * one atomic add; the mutex and condition are for waiters only.
 *
 * Body bytes civetweb read ahead into its own request buffer together
 * with the headers are wiped there once the body is read
 * (http_wipe_body_remnant).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <civetweb.h>
#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "http_body.h"
#include "http_reply.h"
#include "lock.h"
#include "req.h"

/* Memory for bodies in flight together, unless a listener allows more. */
#define HTTP_BODY_BUDGET	(512LL << 20)
#define HTTP_BUDGET_WAIT_MS	10000

static atomic_llong	 budget_used;
static long long	 budget_max = HTTP_BODY_BUDGET;	/* set at start */
static atomic_int	 budget_waiters;
static pthread_mutex_t	 budget_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 budget_cv = PTHREAD_COND_INITIALIZER;

void
http_body_budget_at_least(long long want)
{
	if (want > budget_max)
		budget_max = want;
}

void
http_body_give(long long n)
{
	if (n <= 0)
		return;
	atomic_fetch_sub(&budget_used, n);
	if (atomic_load(&budget_waiters) > 0) {
		lock_mutex(&budget_mu, LOCK_LEAF);
		pthread_cond_broadcast(&budget_cv);
		unlock_mutex(&budget_mu);
	}
}

static int
body_budget_try(long long n)
{
	if (atomic_fetch_add(&budget_used, n) + n <= budget_max)
		return 1;
	atomic_fetch_sub(&budget_used, n);
	return 0;
}

static int
body_budget_take(long long n)
{
	struct timespec	 until;
	int		 ok, rc = 0;

	if (body_budget_try(n))
		return 1;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += HTTP_BUDGET_WAIT_MS / 1000;
	lock_mutex(&budget_mu, LOCK_LEAF);
	atomic_fetch_add(&budget_waiters, 1);
	while (!(ok = body_budget_try(n)) && rc == 0)
		rc = cond_timedwait(&budget_cv, &budget_mu, &until);
	atomic_fetch_sub(&budget_waiters, 1);
	unlock_mutex(&budget_mu);
	return ok;
}

/*
 * Read the whole body into req->body, up to limit bytes, holding *held
 * bytes of the budget (the caller gives them back).
 */
int
http_read_body(struct mg_connection *conn, const struct mg_request_info *ri,
    struct request *req, long long limit, long long *held,
    struct response *resp)
{
	char		 chunk[16384];
	long long	 more;
	int		 n, rc = CF_OK;

	if (ri->content_length > limit) {
		/* Keep-alive off, or civetweb drains a body we refused. */
		http_close_after(conn);
		return resp_fail(resp, CF_ETOOBIG,
		    "http: request body too large");
	}
	more = HTTP_BODY_COST * (ri->content_length > 0 ?
	    ri->content_length : 65536);
	if (!body_budget_take(more)) {
		http_close_after(conn);
		return resp_fail(resp, CF_EUNAVAIL, "server is busy with other "
		    "large requests; retry later");
	}
	*held = more;
	if (ri->content_length > 0 &&
	    buf_reserve(&req->body, (size_t)ri->content_length) != CF_OK)
		return CF_ENOMEM;
	for (;;) {
		n = mg_read(conn, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		if ((long long)(req->body.len + (size_t)n) > limit) {
			http_close_after(conn);
			rc = resp_fail(resp, CF_ETOOBIG,
			    "http: request body too large");
			break;
		}
		/* A chunked body takes its budget as it grows. */
		if (HTTP_BODY_COST * (long long)(req->body.len + (size_t)n) >
		    *held) {
			more = *held;
			if (!body_budget_take(more)) {
				http_close_after(conn);
				rc = resp_fail(resp, CF_EUNAVAIL, "server is busy "
				    "with other large requests; retry later");
				break;
			}
			*held += more;
		}
		if ((rc = buf_append(&req->body, chunk, (size_t)n)) != CF_OK)
			break;
	}
	sodium_memzero(chunk, sizeof(chunk));
	if (rc == CF_OK && n < 0)
		rc = resp_fail(resp, CF_EINVAL, "error reading body");
	return rc;
}

/*
 * civetweb 1.15 reads the first body bytes into its per-worker request
 * buffer together with the headers, and never wipes that buffer.  The
 * header pointers it hands out point into that buffer, so we can reach
 * it: the body starts right after the last header line.  Wipe the bytes
 * there that match the body we read, staying inside the buffer, whose
 * size is the "max_request_size" option we set (HTTP_HEADER_BUF).
 */
void
http_wipe_body_remnant(const struct mg_request_info *ri, const struct buf *body)
{
	const char	*start = ri->request_method, *end = start, *v, *limit;
	char		*p;
	size_t		 n, i;
	int		 h;

	if (body->len == 0 || start == NULL)
		return;
	limit = start + HTTP_HEADER_BUF - 16;
	for (h = 0; h < ri->num_headers; h++) {
		v = ri->http_headers[h].value;
		if (v != NULL && v >= start && v < limit &&
		    v + strlen(v) > end)
			end = v + strlen(v);
	}
	/* Past the line ends civetweb left as NULs or CR/LF. */
	for (i = 0; i < 4 && end < limit && (*end == '\0' || *end == '\r' ||
	    *end == '\n'); i++)
		end++;
	p = (char *)(uintptr_t)end;
	for (n = 0; n < body->len && p + n < limit &&
	    p[n] == body->data[n]; n++)
		;
	sodium_memzero(p, n);
}

/*
 * A body follows: a Content-Length above 0, or chunked encoding.
 * civetweb reports -1 both for chunked and for no length at all, which
 * on a request means no body.
 */
int
http_has_body(const struct mg_connection *conn, const struct mg_request_info *ri)
{
	const char	*te;

	if (ri->content_length >= 0)
		return ri->content_length > 0;
	te = mg_get_header(conn, "Transfer-Encoding");
	return te != NULL && strcasestr(te, "chunked") != NULL;
}
