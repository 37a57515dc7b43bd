/*
 * http.h -- the HTTP front: civetweb, request parsing, Vault's envelopes.
 *
 * http_start() runs civetweb's worker pool with one handler for every
 * URI (http.c); http_request.c serves each request.  Each /v1/ request
 * is parsed once into a struct request (method to operation, path
 * checks, token header, body up to the listener's limit, JSON or query
 * parameters), handed to router_handle(), and the struct response is
 * written with Vault's success or error envelope.
 * Everything about a request belongs to the worker thread serving it.
 */
#ifndef COFFER_SERVER_HTTP_H
#define COFFER_SERVER_HTTP_H

#include <stddef.h>

#include "http_request.h"	/* struct http_listener */

struct http_conf {
	const struct http_listener *listeners;
	size_t		 nlisteners;
	int		 worker_threads;
};

struct http_server;

/*
 * Start listening and serving.  CF_EINVAL (reason logged) if a listener
 * cannot be set up.  The bound ports are logged at info level as
 * "listening on 127.0.0.1:PORT".
 */
int	 http_start(const struct http_conf *, struct http_server **)
	    __attribute__((warn_unused_result));
/* Stop accepting, finish the requests in flight, free everything. */
void	 http_stop(struct http_server *);
/* The port of the n-th listener (after binding), or -1. */
int	 http_port(const struct http_server *, size_t);

#endif /* COFFER_SERVER_HTTP_H */
