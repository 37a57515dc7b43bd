/*
 * http.c -- the HTTP front: the listeners, civetweb's setup and the
 * connections.
 *
 * http_start() starts civetweb on every listener (TLS with one
 * certificate for all) with one handler for every URI, which picks the
 * listener a request came in on and hands the request to
 * http_request_serve() (http_request.c: the request's whole path, from
 * its id to the answer).  Here too: the count of kept-alive
 * connections, the answers to requests civetweb cannot parse, and
 * stopping.  civetfix.c fills civetweb's gaps (the LIST method, worker
 * stacks); gate.c holds idle connections away from the workers.
 *
 * Threads: civetweb's workers call http_handler() concurrently; nothing
 * here is shared but the server's configuration, fixed before the
 * workers start, and the count of kept-alive connections (an atomic).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "err.h"
#include "civetfix.h"
#include "gate.h"
#include "http_body.h"
#include "http_reply.h"
#include "http.h"
#include "http_request.h"
#include "log.h"

#define HTTP_MAX_LISTENERS	16
#define STRINGIFY_(x)		#x
#define STRINGIFY(x)		STRINGIFY_(x)

struct http_server {
	struct mg_context	*ctx;
	struct http_listener	 listeners[HTTP_MAX_LISTENERS];
	atomic_int		 ports[HTTP_MAX_LISTENERS];
	size_t			 n;
	const char		*cert_file;	/* one TLS identity for all */
	const char		*key_file;
	atomic_int		 stopped;
	int			 workers;
	int			 gated;
};

/*
 * Keep-alive connections waiting for their next request each hold a
 * worker; at most half the workers do, so new clients always find one.
 * A connection counted here carries &kept_mark as its user data.
 */
static atomic_int	 kept;
static char		 kept_mark;

static int	 http_handler(struct mg_connection *, void *);

/*
 * civetweb answers requests it cannot parse (a bad request line, headers
 * too large, an unknown method, a bad Content-Length) by itself, in
 * text/plain, and 1.15 copies the request's version text into its status
 * line.  Answer them here instead: Vault's envelope, a status line and
 * text of our own with nothing taken from the request, and the
 * connection closed, since its framing cannot be trusted.
 */
static int
http_error(struct mg_connection *conn, int status, const char *msg)
{
	const struct mg_request_info	*ri;
	char				 out[512];
	const char			*text;
	int				 n, op;

	(void)msg;			/* it may quote the request */
	if (status < 400 || status > 599)
		status = 400;
	/*
	 * An unknown method is refused as a 400 before a handler runs;
	 * the API answers 405.  The method text, if civetweb got that far,
	 * is in the connection's own buffer.
	 */
	ri = mg_get_request_info(conn);
	if (status == 400 && ri != NULL && ri->request_method != NULL &&
	    http_request_op(ri->request_method, &op) != CF_OK &&
	    strspn(ri->request_method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") ==
	    strlen(ri->request_method) && ri->request_method[0] != '\0')
		status = 405;
	log_debug("http: refused a malformed request: %d", status);
	text = status == 405 ? "unsupported operation" :
	    http_reason_phrase(status);
	n = snprintf(out, sizeof(out), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n"
	    "Content-Length: %zu\r\n\r\n"
	    "{\"errors\":[\"%s\"]}\n", status, http_reason_phrase(status),
	    strlen(text) + 16, text);
	if (n > 0 && (size_t)n < sizeof(out))
		mg_write(conn, out, (size_t)n);
	return 0;
}

static void
http_connection_close(const struct mg_connection *conn)
{
	if (mg_get_user_connection_data(conn) == &kept_mark)
		atomic_fetch_sub(&kept, 1);
}

/*
 * Count this connection as kept alive, or close it after this answer
 * (http_request_serve's keep, with the server as its argument).
 */
static void
keepalive_decide(struct mg_connection *conn, const void *arg)
{
	const struct http_server	*srv = arg;

	if (atomic_fetch_add(&kept, 1) < srv->workers / 2) {
		mg_set_user_connection_data(conn, &kept_mark);
		return;
	}
	atomic_fetch_sub(&kept, 1);
	http_close_after(conn);
}

/* Load Vault-style separate certificate and key files. */
static int
http_init_ssl(void *ssl_ctx, void *user_data)
{
	struct http_server	*srv = user_data;
	SSL_CTX			*sc = ssl_ctx;

	if (SSL_CTX_use_certificate_chain_file(sc, srv->cert_file) != 1) {
		log_warnx("http: cannot load tls_cert_file %s", srv->cert_file);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(sc, srv->key_file,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(sc) != 1) {
		log_warnx("http: cannot load tls_key_file %s", srv->key_file);
		return -1;
	}
	SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION);
	return 1;
}

/*
 * Every request is ours to authorize (by its token, in the router).
 * Without this handler civetweb 1.15 looks for a ".htpasswd" file
 * before each request: one failed stat per request.
 */
static int
http_authorize(struct mg_connection *conn, void *arg)
{
	(void)conn;
	(void)arg;
	return 1;
}

static int
http_log_message(const struct mg_connection *conn, const char *msg)
{
	(void)conn;
	log_debug("civetweb: %s", msg);
	return 1;
}

/*
 * Find civetweb's listening sockets by their ports and put the gate in
 * front of them (see gate.h).  Without it, idle connections can hold
 * every worker; that is logged, not fatal.
 */
static void
gate_listeners(struct http_server *srv)
{
	struct sockaddr_in	 sin;
	socklen_t		 len;
	int			 fds[HTTP_MAX_LISTENERS], tls[HTTP_MAX_LISTENERS];
	int			 fd, on, found = 0;
	size_t			 i;

	for (i = 0; i < srv->n; i++)
		fds[i] = -1;
	for (fd = 0; fd < 4096 && found < (int)srv->n; fd++) {
		len = sizeof(on);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) ==
		    -1 || !on)
			continue;
		len = sizeof(sin);
		if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1 ||
		    sin.sin_family != AF_INET)
			continue;
		for (i = 0; i < srv->n; i++)
			if (fds[i] == -1 && atomic_load(&srv->ports[i]) ==
			    ntohs(sin.sin_port)) {
				fds[i] = fd;
				tls[i] = srv->listeners[i].tls;
				found++;
				break;
			}
	}
	if (found != (int)srv->n || gate_start(fds, tls, found) != CF_OK) {
		log_warnx("http: connections are not gated; idle clients "
		    "can hold workers");
		return;
	}
	srv->gated = 1;
}

/* The port in "host:port", or -1 for port 0 or none. */
static int
listener_port(const struct http_listener *l)
{
	const char	*colon = strrchr(l->address, ':'), *errstr;
	long long	 port;

	if (colon == NULL)
		return -1;
	port = strtonum(colon + 1, 1, 65535, &errstr);
	return port > 0 ? (int)port : -1;
}

/*
 * civetweb accepts as soon as mg_start2 has started its threads, before
 * http_start can register the handler; a request taken in between
 * would get civetweb's own 404.  Each request waits here until the
 * handler is in place (a few microseconds at most, once per process).
 */
static atomic_int	 handler_ready;

static int
http_begin_request(struct mg_connection *conn)
{
	(void)conn;
	while (!atomic_load(&handler_ready))
		(void)usleep(100);
	return 0;			/* go on to the handler */
}

int
http_start(const struct http_conf *hc, struct http_server **out)
{
	struct http_server	*srv = NULL;
	struct mg_callbacks	 cb;
	struct mg_init_data	 init;
	struct mg_error_data	 errd;
	struct mg_server_port	 ports[HTTP_MAX_LISTENERS];
	char			 errtxt[256], threads[16];
	struct buf		 lp = BUF_INIT;
	const char		*opts[24];
	size_t			 i;
	long long		 want;
	int			 np, rc = CF_EINVAL, o = 0, tls = 0;

	if (hc->nlisteners == 0 || hc->nlisteners > HTTP_MAX_LISTENERS) {
		log_warnx("http: between 1 and %d listeners are supported",
		    HTTP_MAX_LISTENERS);
		return CF_EINVAL;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return CF_ENOMEM;
	srv->n = hc->nlisteners;
	for (i = 0; i < hc->nlisteners; i++) {
		srv->listeners[i] = hc->listeners[i];
		/* Known before the workers start, unless it is port 0. */
		atomic_init(&srv->ports[i], listener_port(&hc->listeners[i]));
		/* Room for two of the largest bodies ("no limit": no budget). */
		want = hc->listeners[i].max_request_size > (1LL << 40) ?
		    (1LL << 60) :
		    2 * HTTP_BODY_COST * hc->listeners[i].max_request_size;
		http_body_budget_at_least(want);
		if (i > 0 && buf_puts(&lp, ",") != CF_OK)
			goto nomem;
		if (buf_puts(&lp, hc->listeners[i].address) != CF_OK ||
		    (hc->listeners[i].tls && buf_puts(&lp, "s") != CF_OK))
			goto nomem;
		if (hc->listeners[i].tls) {
			if (tls && (strcmp(srv->cert_file,
			    hc->listeners[i].cert_file) != 0 ||
			    strcmp(srv->key_file,
			    hc->listeners[i].key_file) != 0)) {
				log_warnx("http: all TLS listeners must use "
				    "the same certificate and key");
				goto out;
			}
			tls = 1;
			srv->cert_file = hc->listeners[i].cert_file;
			srv->key_file = hc->listeners[i].key_file;
		}
	}
	if (tls && !mg_check_feature(2)) {
		log_warnx("http: this civetweb was built without TLS");
		goto out;
	}
	/* Read by workers from their first request: set before they run. */
	srv->workers = hc->worker_threads;
	snprintf(threads, sizeof(threads), "%d", hc->worker_threads);
	opts[o++] = "listening_ports";
	opts[o++] = lp.data;
	opts[o++] = "num_threads";
	opts[o++] = threads;
	opts[o++] = "enable_keep_alive";
	opts[o++] = "yes";
	/* The gate gives headers 10 s; this bounds each read after. */
	opts[o++] = "request_timeout_ms";
	opts[o++] = "30000";
	opts[o++] = "keep_alive_timeout_ms";
	opts[o++] = "5000";
	opts[o++] = "listen_backlog";
	opts[o++] = "1024";
	/* An answer is one write; no Nagle delay behind the one before. */
	opts[o++] = "tcp_nodelay";
	opts[o++] = "1";
	opts[o++] = "max_request_size";
	opts[o++] = STRINGIFY(HTTP_HEADER_BUF);
	opts[o] = NULL;

	memset(&cb, 0, sizeof(cb));
	cb.begin_request = http_begin_request;
	cb.log_message = http_log_message;
	cb.http_error = http_error;
	cb.connection_close = http_connection_close;
	if (tls)
		cb.init_ssl = http_init_ssl;
	memset(&init, 0, sizeof(init));
	init.callbacks = &cb;
	init.user_data = srv;
	init.configuration_options = opts;
	memset(&errd, 0, sizeof(errd));
	errtxt[0] = '\0';
	errd.text = errtxt;
	errd.text_buffer_size = sizeof(errtxt);

	civetfix_enable_list();
	/*
	 * Large bodies straight from mmap, and back to the system when
	 * freed: otherwise glibc keeps each worker's freed bodies in that
	 * worker's arena, and the budget above would not bound the
	 * process's memory.
	 */
	if (mallopt(M_MMAP_THRESHOLD, 1 << 20) != 1)
		log_warnx("http: cannot set malloc's mmap threshold");
	/* civetweb 1.15 leaves errd.code at 0 on port failures: test ctx. */
	if ((srv->ctx = mg_start2(&init, &errd)) == NULL) {
		log_warnx("http: cannot start listeners %s: %s", lp.data,
		    errtxt[0] != '\0' ? errtxt : "unknown error");
		/* See server/tlsshim.c: without it, this is the symptom. */
		if (tls)
			log_warnx("http: civetweb could not load OpenSSL; is "
			    "lib/coffer/tls/libssl.so installed beside "
			    "cofferd?");
		goto out;
	}
	mg_set_request_handler(srv->ctx, "/", http_handler, srv);
	mg_set_auth_handler(srv->ctx, "/", http_authorize, NULL);
	atomic_store(&handler_ready, 1);
	np = mg_get_server_ports(srv->ctx, HTTP_MAX_LISTENERS, ports);
	for (i = 0; np > 0 && i < (size_t)np && i < srv->n; i++) {
		atomic_store(&srv->ports[i], ports[i].port);
		log_info("listening on %.*s:%d%s",
		    (int)strcspn(srv->listeners[i].address, ":"),
		    srv->listeners[i].address, ports[i].port,
		    ports[i].is_ssl ? " (tls)" : "");
	}
	gate_listeners(srv);
	*out = srv;
	srv = NULL;
	rc = CF_OK;
	goto out;
 nomem:
	rc = CF_ENOMEM;
 out:
	buf_free(&lp);
	if (srv != NULL) {
		if (srv->ctx != NULL)
			mg_stop(srv->ctx);
		free(srv);
	}
	return rc;
}

/*
 * civetweb's accept loop polls its sockets in 2-second quanta before it
 * looks at the stop flag; a connection to each of our ports wakes it at
 * once, so stopping takes milliseconds instead of up to two seconds.
 */
static void *
wake_listeners(void *arg)
{
	struct http_server	*srv = arg;
	struct sockaddr_in	 sin;
	size_t			 i;
	int			 s, round;

	for (round = 0; round < 50 && !atomic_load(&srv->stopped); round++) {
		usleep(10000);
		for (i = 0; i < srv->n; i++) {
			if (srv->ports[i] <= 0 ||
			    (s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
				continue;
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_port = htons((uint16_t)srv->ports[i]);
			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			(void)connect(s, (struct sockaddr *)&sin, sizeof(sin));
			close(s);
		}
	}
	return NULL;
}

void
http_stop(struct http_server *srv)
{
	pthread_t	 waker;
	int		 have_waker;

	if (srv == NULL)
		return;
	if (srv->gated)
		gate_stop();
	have_waker = pthread_create(&waker, NULL, wake_listeners, srv) == 0;
	mg_stop(srv->ctx);
	gate_free();
	atomic_store(&srv->stopped, 1);
	if (have_waker)
		pthread_join(waker, NULL);
	free(srv);
}

int
http_port(const struct http_server *srv, size_t i)
{
	return i < srv->n ? atomic_load(&srv->ports[i]) : -1;
}

/* The listener a request came in on, by its local port. */
static const struct http_listener *
listener_for(const struct http_server *srv, int port)
{
	size_t	 i;

	for (i = 0; i < srv->n; i++)
		if (atomic_load(&srv->ports[i]) == port)
			return &srv->listeners[i];
	return &srv->listeners[0];
}

static int
http_handler(struct mg_connection *conn, void *arg)
{
	const struct http_server	*srv = arg;
	const struct mg_request_info	*ri = mg_get_request_info(conn);

	/* A kept connection is busy again. */
	if (mg_get_user_connection_data(conn) == &kept_mark) {
		mg_set_user_connection_data(conn, NULL);
		atomic_fetch_sub(&kept, 1);
	}
	return http_request_serve(conn, listener_for(srv, ri->server_port),
	    keepalive_decide, srv);
}
