/*
 * http_body.h -- reading a request's body within the server's memory
 * budget for bodies in flight (see http_body.c), for http.c.
 */
#ifndef COFFER_SERVER_HTTP_BODY_H
#define COFFER_SERVER_HTTP_BODY_H

struct mg_connection;
struct mg_request_info;
struct buf;
struct request;
struct response;

/* civetweb's request buffer (http.c sets its max_request_size to it). */
#define HTTP_HEADER_BUF		16384
/* A refused body up to this size is drained to keep the connection. */
#define HTTP_DRAIN_MAX		16384
/*
 * A body is charged HTTP_BODY_COST times its size: its text, the
 * parsed JSON, and what a handler derives from it (the stored copy and
 * its ciphertext for a KV write).
 */
#define HTTP_BODY_COST		4

/* Raise the budget to want bytes if it is less.  From http_start. */
void	 http_body_budget_at_least(long long want);
/* 1 if a body follows: a Content-Length above 0, or chunked. */
int	 http_has_body(const struct mg_connection *,
	    const struct mg_request_info *);
/*
 * Read the whole body into req->body, up to limit bytes, holding *held
 * bytes of the budget (the caller gives them back with http_body_give).
 * A refusal is in resp: 413 too large, 503 no room in time.
 */
int	 http_read_body(struct mg_connection *, const struct mg_request_info *,
	    struct request *, long long limit, long long *held,
	    struct response *);
/* Give back budget taken by http_read_body. */
void	 http_body_give(long long held);
/* Wipe what civetweb kept of body in its own request buffer. */
void	 http_wipe_body_remnant(const struct mg_request_info *,
	    const struct buf *body);

#endif /* COFFER_SERVER_HTTP_BODY_H */
