/*
 * http_request.h -- one request's path, from civetweb's request to the
 * answer written back.
 *
 * http.c owns the listeners, civetweb's setup and the connections; for
 * each request its handler picks the listener the request came in on
 * and calls http_request_serve(), which owns everything after: the
 * request id, the client address (X-Forwarded-For, as the listener's
 * keys say), the token, path, method, body and parameters, the router,
 * the reply and the debug log line.
 */
#ifndef COFFER_SERVER_HTTP_REQUEST_H
#define COFFER_SERVER_HTTP_REQUEST_H

#include <stddef.h>

struct cidr;
struct mg_connection;

/*
 * One listener's settings, from its listener block (main.c fills them
 * for http_start()).  Here, not in http.h, because both sides read
 * them: http.c binds the address with TLS, this module applies the
 * body limit and the X-Forwarded-For keys to each request.
 */
struct http_listener {
	const char	*address;	/* "127.0.0.1:8200" (port 0: any) */
	int		 tls;
	const char	*cert_file;
	const char	*key_file;
	long long	 max_request_size;	/* body limit in bytes */
	/*
	 * X-Forwarded-For is read only from peers inside xff_addrs
	 * (borrowed; none: never), as Vault's listener keys say.
	 */
	const struct cidr *xff_addrs;
	size_t		 nxff_addrs;
	int		 xff_hop_skips;
	int		 xff_reject_not_authorized;
	int		 xff_reject_not_present;
};

/*
 * Serve the request waiting on conn, which came in on listener l, and
 * return the status written.  keep(conn, arg) is called once, just
 * before the answer is written, when the connection may stay open for
 * another request (it decides whether it does); a connection whose
 * body was left unread is closed instead.
 */
int	 http_request_serve(struct mg_connection *,
	    const struct http_listener *,
	    void (*)(struct mg_connection *, const void *), const void *);
/*
 * The operation (REQ_READ, ...) of an HTTP method name in *op;
 * CF_EMETHOD for a method the API does not know.
 */
int	 http_request_op(const char *, int *);

#endif /* COFFER_SERVER_HTTP_REQUEST_H */
